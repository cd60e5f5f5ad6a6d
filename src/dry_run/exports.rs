//! The dry run's exports: the names a real run would export, each with a placeholder naming its source.

use std::path::Path;

use anyhow::{Context, Result};

use crate::config::Config;
use crate::export_names::{self, ExportNameError};
use crate::names;
use crate::runner;
use crate::spec::{Request, Selector, Target};

/// Stands for the path of the CA file a real run writes (its name is random).
const CA_FILE_PLACEHOLDER: &str = "<file in RUNNER_TEMP holding ca-certificate>";

/// One export of the plan: its name (or a pattern) and the placeholder standing for its value.
pub struct Planned {
    /// `env` or `output`.
    pub kind: &'static str,
    pub name: String,
    pub placeholder: String,
    /// A `*` request: the name is a pattern, since the keys are only known to Vault.
    pub wildcard: bool,
}

/// The exports of a run with `config` and `requests`, in the order a real run writes them
/// (see [`crate::exports::Exports::build`]). Export names are checked exactly as a real run checks them.
pub fn plan(config: &Config, requests: &[Request]) -> Result<Vec<Planned>> {
    let login = format!("auth/{}/login", config.mount);
    let mut env = vec![plain("VAULT_ADDR", config.addr_text())];
    if config.export_token {
        env.push(plain("VAULT_TOKEN", &format!("<client_token from {login}>")));
    }
    if let Some(namespace) = &config.namespace {
        env.push(plain("VAULT_NAMESPACE", namespace));
    }
    if config.bao_env {
        let mirrors: Vec<Planned> = env
            .iter()
            .map(|p| entry("env", p.name.replacen("VAULT_", "BAO_", 1), p.placeholder.clone(), false))
            .collect();
        env.extend(mirrors);
    }
    if config.tofu_skip_child_token {
        env.push(plain("TERRAFORM_VAULT_SKIP_CHILD_TOKEN", "true"));
    }
    let mut outputs: Vec<Planned> = ["token-accessor", "policies", "expires-at"]
        .into_iter()
        .map(|name| entry("output", name.to_owned(), format!("<{name} from {login}>"), false))
        .collect();
    for request in requests {
        let (name, placeholder) = secret_plan(request, config.naming)?;
        let wildcard = request.selector == Selector::All;
        if config.export_env {
            env.push(entry("env", name.clone(), placeholder.clone(), wildcard));
        }
        outputs.push(entry("output", name, placeholder, wildcard));
    }
    if config.tls.ca_pem.is_some() {
        env.extend(ca_file(config));
    }
    env.extend(outputs);
    Ok(env)
}

/// Writes the plan's exports as a runner would receive them, into `dir/env` and `dir/output`. Wildcard
/// entries are left out (their names are patterns); returns how many were.
pub fn write_to(dir: &Path, planned: &[Planned]) -> Result<usize> {
    std::fs::create_dir_all(dir).with_context(|| format!("--write-to: creating {}", dir.display()))?;
    for kind in ["env", "output"] {
        let pairs: Vec<(&str, &str)> = planned
            .iter()
            .filter(|p| p.kind == kind && !p.wildcard)
            .map(|p| (p.name.as_str(), p.placeholder.as_str()))
            .collect();
        let path = dir.join(kind);
        runner::append(&path, &runner::render_entries(&pairs)?)
            .with_context(|| format!("--write-to: writing {}", path.display()))?;
    }
    Ok(planned.iter().filter(|p| p.wildcard).count())
}

/// `VAULT_CACERT` (and `BAO_CACERT`), as [`crate::exports::Exports::add_ca_file`] adds them after the
/// secrets: the CA file a real run writes for later steps.
fn ca_file(config: &Config) -> Vec<Planned> {
    let names: &[&str] = if config.bao_env { &["VAULT_CACERT", "BAO_CACERT"] } else { &["VAULT_CACERT"] };
    names.iter().map(|name| plain(name, CA_FILE_PLACEHOLDER)).collect()
}

fn plain(name: &str, value: &str) -> Planned {
    entry("env", name.to_owned(), value.to_owned(), false)
}

fn entry(kind: &'static str, name: String, placeholder: String, wildcard: bool) -> Planned {
    Planned { kind, name, placeholder, wildcard }
}

/// The export name and placeholder for one request, the name derived and checked by the real run's
/// [`fetch::export_name`]. A wildcard's names depend on keys only Vault knows: a pattern stands for them.
fn secret_plan(request: &Request, naming: names::Naming) -> Result<(String, String), ExportNameError> {
    let at = |key: &str| match request.version {
        Some(v) => format!("<{}@{v} {key}>", request.path),
        None => format!("<{} {key}>", request.path),
    };
    Ok(match (&request.selector, &request.target) {
        (Selector::Key(key), _) => (export_names::export_name(request, key, naming)?, at(key)),
        (Selector::All, Target::Prefix(prefix)) => (format!("{prefix}<KEY>"), at("<each key>")),
        (Selector::All, _) => ("<KEY>".to_owned(), at("<each key>")),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::JobContext;
    use crate::export_names::Source;
    use crate::fetch::{Fetched, Secret};
    use crate::inputs::Inputs;
    use crate::spec;
    use crate::vault::Login;
    use secrecy::SecretString;

    fn config(extra: &[(&str, &str)]) -> Config {
        let mut env: Vec<(String, String)> =
            vec![("INPUT_DRY-RUN".into(), "true".into()), ("INPUT_APP".into(), "webapp".into())];
        env.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        Config::from_env(&env, Inputs::default(), JobContext::default(), JobContext::default).unwrap()
    }

    /// Guards against drift: the plan names what [`crate::exports::Exports`] would export, in order.
    #[test]
    fn names_match_a_real_runs_exports() {
        let ca = rcgen::generate_simple_self_signed(vec!["vault.example.org".to_owned()]).unwrap().cert.pem();
        for extra in [
            &[][..],
            &[("INPUT_BAO-ENV", "true"), ("INPUT_NAMESPACE", "team"), ("INPUT_TOFU-SKIP-CHILD-TOKEN", "true")][..],
            &[("INPUT_EXPORT-TOKEN", "false"), ("INPUT_EXPORT-ENV", "false")][..],
            &[("INPUT_CA-CERTIFICATE", ca.as_str())][..],
            &[("INPUT_CA-CERTIFICATE", ca.as_str()), ("INPUT_BAO-ENV", "true")][..],
        ] {
            let config = config(extra);
            let requests = spec::parse("kvv2/webapp/config db_host\nkv/webapp/flat token | FLAT").unwrap();
            let planned = plan(&config, &requests).unwrap();
            let login = Login {
                token: SecretString::from("s.token"),
                accessor: "acc".into(),
                policies: vec!["default".into()],
                lease_duration: 900,
            };
            let secrets = requests
                .iter()
                .map(|r| {
                    let (name, _) = secret_plan(r, config.naming).unwrap();
                    let source = Source { path: r.path.clone(), version: None, key: "k".into() };
                    Secret { name, source, value: SecretString::from("v"), lease: None, version: None }
                })
                .collect();
            let fetched = Fetched { secrets, ..Fetched::default() };
            let mut real = crate::exports::Exports::build(&config, &login, &fetched, time::OffsetDateTime::UNIX_EPOCH);
            // As the step does once it has written the CA file.
            if config.tls.ca_pem.is_some() {
                real.add_ca_file(&config, "/runner/temp/vault-login-ca-x.pem");
            }
            let names = |kind| planned.iter().filter(|p| p.kind == kind).map(|p| p.name.as_str()).collect::<Vec<_>>();
            let ours = format!("Exported env: {}. Outputs: {}.", names("env").join(", "), names("output").join(", "));
            assert_eq!(ours, real.describe());
            let ca_given = extra.iter().any(|(input, _)| *input == "INPUT_CA-CERTIFICATE");
            assert_eq!(ours.contains("VAULT_CACERT"), ca_given, "{ours}");
        }
    }

    #[test]
    fn wildcards_are_patterns_and_left_out_of_files() {
        let config = config(&[]);
        let requests = spec::parse("kvv2/webapp/config * | TF_VAR_\nkvv2/webapp/config db_host").unwrap();
        let planned = plan(&config, &requests).unwrap();
        assert!(planned.iter().any(|p| p.wildcard && p.name == "TF_VAR_<KEY>"));
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(write_to(dir.path(), &planned).unwrap(), 2);
        let env = std::fs::read_to_string(dir.path().join("env")).unwrap();
        assert!(env.contains("DB_HOST<<") && !env.contains("TF_VAR_"), "{env}");
    }

    #[test]
    fn reserved_names_fail_as_in_a_real_run() {
        let requests = spec::parse("kvv2/webapp/config ld_preload").unwrap();
        let error = plan(&config(&[]), &requests).err().unwrap();
        assert!(error.to_string().starts_with("secrets input, line 1: "), "{error}");
    }
}
