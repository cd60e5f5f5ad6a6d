//! `${{ ... }}` with the only expressions the example workflows use: property paths into the contexts
//! `github` (the keys of [`Contexts::github`], plus `github.event.repository.name`), `vars`, `secrets`,
//! `env`, `runner.temp` and `steps.<id>.outputs.<name>`. A missing variable, secret, env value or output is
//! the empty string, as on the runners; a `github` property the emulator does not set, an operator, a
//! function call or an unknown context is an error, so an example that needs more fails loudly instead of
//! being half-evaluated.

use std::collections::BTreeMap;

/// The values the expressions can reach.
#[derive(Clone, Debug, Default)]
pub struct Contexts {
    /// `github.<key>`: repository, repository_owner, ref, ref_name, sha, server_url, event_name, workflow,
    /// run_id, actor, workspace; and `event.repository.name`.
    pub github: BTreeMap<String, String>,
    pub vars: BTreeMap<String, String>,
    pub secrets: BTreeMap<String, String>,
    pub env: BTreeMap<String, String>,
    pub runner_temp: String,
    /// `steps.<id>.outputs.<name>`.
    pub steps: BTreeMap<String, BTreeMap<String, String>>,
}

impl Contexts {
    /// Replaces every `${{ expr }}` in `text`.
    pub fn interpolate(&self, text: &str) -> Result<String, String> {
        let mut out = String::new();
        let mut rest = text;
        while let Some(start) = rest.find("${{") {
            out.push_str(&rest[..start]);
            let after = &rest[start + 3..];
            let end = after.find("}}").ok_or_else(|| format!("unterminated `${{{{` in {text:?}"))?;
            out.push_str(&self.evaluate(after[..end].trim())?);
            rest = &after[end + 2..];
        }
        out.push_str(rest);
        Ok(out)
    }

    fn evaluate(&self, expr: &str) -> Result<String, String> {
        let path: Vec<&str> = expr.split('.').collect();
        let valid =
            path.iter().all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_alphanumeric() || "_-".contains(c)));
        if !valid || path.len() < 2 {
            return Err(format!("`${{{{ {expr} }}}}`: the emulator evaluates property paths only (see expr.rs)"));
        }
        let get = |map: &BTreeMap<String, String>, key: &str| map.get(key).cloned().unwrap_or_default();
        Ok(match path.as_slice() {
            ["github", "event", "repository", "name"] => {
                let repo = get(&self.github, "repository");
                repo.rsplit('/').next().unwrap_or_default().to_owned()
            }
            ["github", key] => self.github.get(*key).cloned().ok_or_else(|| {
                format!("`${{{{ {expr} }}}}` is not one of the expressions the emulator knows (see expr.rs)")
            })?,
            ["vars", key] => get(&self.vars, key),
            ["secrets", key] => get(&self.secrets, key),
            ["env", key] => get(&self.env, key),
            ["runner", "temp"] => self.runner_temp.clone(),
            ["steps", id, "outputs", name] => self.steps.get(*id).map(|o| get(o, name)).unwrap_or_default(),
            _ => {
                return Err(format!(
                    "`${{{{ {expr} }}}}` is not one of the expressions the emulator knows (see expr.rs)"
                ));
            }
        })
    }
}
