//! Gitea's dialect, from the latest revision of its Actions OIDC proposal (go-gitea/gitea#39052; no release
//! has it yet): issuer `<ROOT_URL>api/actions/oidc`, keys at `<issuer>/jwks`, RS256, 5 minutes with `nbf`
//! backdated 5 minutes, ids as strings, no `environment`.

use std::time::Duration;

use serde_json::{Map, Value, json};

use super::{Dialect, SubForm, TokenJob, object};

pub static DIALECT: Dialect = Dialect {
    name: "Gitea",
    issuer: |server| format!("{server}/api/actions/oidc"),
    jwks_path: "/jwks",
    lifetime: Duration::from_secs(300),
    nbf_backdate: Duration::from_secs(300),
    sub_forms: &[SubForm::Ids, SubForm::IdsOnly],
    opt_in: "add `permissions: id-token: write` to the workflow or job (the repository's and owner's maximum \
             Actions permissions can cap it); only a Gitea built with Actions OIDC hands tokens out \
             (go-gitea/gitea#39052, in no release yet: an administrator can tell). Without it, pass a token you \
             obtained elsewhere in the `jwt` input",
    claims,
    sub,
};

fn sub(job: &TokenJob, form: SubForm) -> String {
    let who = match form {
        SubForm::IdsOnly => format!("{}/{}", job.owner_id, job.repository_id),
        _ => format!("{}@{}/{}@{}", job.owner, job.owner_id, job.name, job.repository_id),
    };
    format!("repo:{who}:{}", job.sub_context())
}

fn claims(job: &TokenJob, _: SubForm) -> Map<String, Value> {
    let workflow_ref = job.workflow_ref(".gitea/workflows");
    object(json!({
        "jti": format!("fake-{}", job.issued_at),
        "actor": job.actor,
        "actor_id": job.actor_id,
        "repository": job.repository(),
        "repository_id": job.repository_id,
        "repository_owner": job.owner,
        "repository_owner_id": job.owner_id,
        "repository_visibility": "private",
        "run_id": job.run_id,
        "run_number": "1",
        "run_attempt": "1",
        "event_name": job.event,
        "ref": job.git_ref,
        "ref_type": job.ref_type(),
        "ref_protected": "false",
        "sha": job.sha,
        "base_ref": job.base_ref,
        "head_ref": job.head_ref,
        "workflow": job.workflow,
        "workflow_ref": workflow_ref,
        "workflow_sha": job.sha,
        "job_workflow_ref": workflow_ref,
        "job_workflow_sha": job.sha,
        "runner_environment": "self-hosted",
    }))
}
