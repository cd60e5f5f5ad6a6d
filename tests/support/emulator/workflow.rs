//! A workflow file, reduced to what the emulator runs: env, the ID-token opt-ins, jobs and their steps.
//! Keys that would change what runs (`if:`, `needs:`, `strategy:`, `container:`...) are refused rather than
//! ignored, so a test never passes by skipping something a runner would do.

use saphyr::Yaml;

use super::yaml;

#[derive(Clone, Debug)]
pub struct Workflow {
    pub env: Vec<(String, String)>,
    /// Whether the job may request an ID token: `permissions: id-token: write` (GitHub, Gitea's proposal) or
    /// `enable-openid-connect: true` (Forgejo); `None` when the workflow level says nothing.
    pub id_token: Option<bool>,
    pub jobs: Vec<JobDef>,
}

#[derive(Clone, Debug)]
pub struct JobDef {
    pub env: Vec<(String, String)>,
    /// As [`Workflow::id_token`], for the job (it wins over the workflow's).
    pub id_token: Option<bool>,
    pub steps: Vec<StepDef>,
}

#[derive(Clone, Debug)]
pub struct StepDef {
    pub id: Option<String>,
    pub name: Option<String>,
    pub env: Vec<(String, String)>,
    pub kind: StepKind,
}

#[derive(Clone, Debug)]
pub enum StepKind {
    /// `uses:` with its `with:` inputs, values as written (expressions not yet evaluated).
    Uses { uses: String, with: Vec<(String, String)> },
    /// `run:` (bash).
    Run { script: String },
}

const JOB_KEYS: [&str; 7] =
    ["name", "runs-on", "env", "steps", "permissions", "enable-openid-connect", "timeout-minutes"];
const STEP_KEYS: [&str; 7] = ["id", "name", "env", "uses", "with", "run", "shell"];

impl Workflow {
    pub fn parse(text: &str, what: &str) -> Result<Workflow, String> {
        let doc = yaml::load(text, what)?;
        let jobs_node = doc.as_mapping_get("jobs").ok_or_else(|| format!("{what}: no `jobs:`"))?;
        let mut jobs = Vec::new();
        for (id, job) in yaml::entries(jobs_node, "jobs")? {
            jobs.push(parse_job(&id, job, what)?);
        }
        Ok(Workflow { env: yaml::string_map(doc.as_mapping_get("env"), "env")?, id_token: id_token(&doc, what)?, jobs })
    }

    /// Whether the runner hands `job` the `ACTIONS_ID_TOKEN_REQUEST_*` variables.
    pub fn grants_id_token(&self, job: &JobDef) -> bool {
        job.id_token.or(self.id_token).unwrap_or(false)
    }
}

impl StepDef {
    /// How the step is named in the log: `id`, else `name`, else what it runs.
    pub fn label(&self) -> String {
        let what = match &self.kind {
            StepKind::Uses { uses, .. } => uses.clone(),
            StepKind::Run { script } => script.lines().next().unwrap_or_default().to_owned(),
        };
        self.name.clone().or_else(|| self.id.clone()).unwrap_or(what)
    }
}

fn parse_job(id: &str, job: &Yaml, what: &str) -> Result<JobDef, String> {
    let at = format!("{what}: jobs.{id}");
    refuse_unknown(job, &JOB_KEYS, &at)?;
    let steps_node = job.as_mapping_get("steps").and_then(Yaml::as_sequence).ok_or(format!("{at}: no steps"))?;
    let mut steps = Vec::new();
    for (n, step) in steps_node.iter().enumerate() {
        steps.push(parse_step(step, &format!("{at}.steps[{n}]"))?);
    }
    Ok(JobDef {
        env: yaml::string_map(job.as_mapping_get("env"), &format!("{at}.env"))?,
        id_token: id_token(job, &at)?,
        steps,
    })
}

fn parse_step(step: &Yaml, at: &str) -> Result<StepDef, String> {
    refuse_unknown(step, &STEP_KEYS, at)?;
    if let Some(shell) = yaml::string(step, "shell", at)?.filter(|s| s != "bash") {
        return Err(format!("{at}: shell `{shell}`: the emulator runs bash only"));
    }
    let kind = match (yaml::string(step, "uses", at)?, yaml::string(step, "run", at)?) {
        (Some(uses), None) => StepKind::Uses { uses, with: yaml::string_map(step.as_mapping_get("with"), at)? },
        (None, Some(script)) => StepKind::Run { script },
        _ => return Err(format!("{at}: a step has exactly one of `uses:` and `run:`")),
    };
    Ok(StepDef {
        id: yaml::string(step, "id", at)?,
        name: yaml::string(step, "name", at)?,
        env: yaml::string_map(step.as_mapping_get("env"), &format!("{at}.env"))?,
        kind,
    })
}

fn refuse_unknown(node: &Yaml, known: &[&str], at: &str) -> Result<(), String> {
    for (key, _) in yaml::entries(node, at)? {
        if !known.contains(&key.as_str()) {
            return Err(format!("{at}: `{key}:` is not modelled by the emulator (it knows {known:?})"));
        }
    }
    Ok(())
}

/// The ID-token opt-in at one level: `enable-openid-connect` or `permissions` (`write-all` or
/// `id-token: write`; a `permissions:` block without it denies, as on GitHub).
fn id_token(node: &Yaml, at: &str) -> Result<Option<bool>, String> {
    if let Some(flag) = yaml::string(node, "enable-openid-connect", at)? {
        return Ok(Some(flag == "true"));
    }
    let Some(permissions) = node.as_mapping_get("permissions") else { return Ok(None) };
    if let Some(all) = yaml::scalar(permissions) {
        return Ok(Some(all == "write-all"));
    }
    Ok(Some(yaml::string(permissions, "id-token", at)?.as_deref() == Some("write")))
}
