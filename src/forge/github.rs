//! GitHub's dialect: issuer `https://token.actions.githubusercontent.com` (`<server>/_services/token` on
//! GitHub Enterprise Server), keys at `<issuer>/.well-known/jwks`, `nbf` 5 minutes before `iat`, `sub` with
//! names, or with ids for repositories created since 2026-07-15, or the deployment environment.

use std::time::Duration;

use serde_json::{Map, Value, json};

use super::{Dialect, SubForm, TokenJob, object};

const GITHUB_COM: &str = "https://github.com";

pub static DIALECT: Dialect = Dialect {
    name: "GitHub",
    issuer: |server| match server {
        GITHUB_COM => "https://token.actions.githubusercontent.com".to_owned(),
        enterprise => format!("{enterprise}/_services/token"),
    },
    jwks_path: "/.well-known/jwks",
    lifetime: Duration::from_secs(300),
    nbf_backdate: Duration::from_secs(300),
    sub_forms: &[SubForm::Names, SubForm::Ids],
    opt_in: "add `permissions: id-token: write` to the workflow or job (a job's own `permissions` replace \
             the workflow's)",
    claims,
    sub,
};

fn sub(job: &TokenJob, form: SubForm) -> String {
    let who = match form {
        SubForm::Ids => format!("{}@{}/{}@{}", job.owner, job.owner_id, job.name, job.repository_id),
        _ => job.repository(),
    };
    format!("repo:{who}:{}", job.sub_context())
}

fn claims(job: &TokenJob, _: SubForm) -> Map<String, Value> {
    let workflow_ref = job.workflow_ref(".github/workflows");
    let mut claims = object(json!({
        "jti": format!("fake-{}", job.issued_at),
        "actor": job.actor,
        "actor_id": job.actor_id,
        "base_ref": job.base_ref,
        "event_name": job.event,
        "head_ref": job.head_ref,
        "job_workflow_ref": workflow_ref,
        "job_workflow_sha": job.sha,
        "ref": job.git_ref,
        "ref_protected": "false",
        "ref_type": job.ref_type(),
        "repository": job.repository(),
        "repository_id": job.repository_id,
        "repository_owner": job.owner,
        "repository_owner_id": job.owner_id,
        "repository_visibility": "private",
        "run_attempt": "1",
        "run_id": job.run_id,
        "run_number": "1",
        "runner_environment": "github-hosted",
        "sha": job.sha,
        "workflow": job.workflow,
        "workflow_ref": workflow_ref,
        "workflow_sha": job.sha,
    }));
    if let Some(environment) = job.environment {
        claims.insert("environment".into(), environment.into());
    }
    claims
}
