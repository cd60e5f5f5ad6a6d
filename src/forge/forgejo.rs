//! Forgejo's dialect, since v15.0: issuer `<ROOT_URL>api/actions`, keys at `<issuer>/.well-known/keys`, RS256,
//! one hour, `workflow` the file name, no `jti`. Forgejo PR #12355 (after v15) adds the three ids and gives
//! new repositories a `sub` with them, joined by `-`; the fake token carries the ids with that form only.

use std::time::Duration;

use serde_json::{Map, Value, json};

use super::{Dialect, SubForm, TokenJob, object};

pub static DIALECT: Dialect = Dialect {
    name: "Forgejo",
    issuer: |server| format!("{server}/api/actions"),
    jwks_path: "/.well-known/keys",
    lifetime: Duration::from_secs(3600),
    nbf_backdate: Duration::ZERO,
    sub_forms: &[SubForm::Names, SubForm::Ids],
    opt_in: "(v15+) add `enable-openid-connect: true` to the workflow or job (refused to `pull_request` \
             from forks, granted to `pull_request_target`)",
    claims,
    sub,
};

fn sub(job: &TokenJob, form: SubForm) -> String {
    let who = match form {
        SubForm::Ids => format!("{}-{}/{}-{}", job.owner, job.owner_id, job.name, job.repository_id),
        _ => job.repository(),
    };
    format!("repo:{who}:{}", job.sub_context())
}

fn claims(job: &TokenJob, form: SubForm) -> Map<String, Value> {
    let mut claims = object(json!({
        "actor": job.actor,
        "base_ref": job.base_ref,
        "event_name": job.event,
        "head_ref": job.head_ref,
        "ref": job.git_ref,
        "ref_protected": "false",
        "ref_type": job.ref_type(),
        "repository": job.repository(),
        "repository_owner": job.owner,
        "run_attempt": "1",
        "run_id": job.run_id,
        "run_number": "1",
        "sha": job.sha,
        "workflow": job.workflow_file,
        "workflow_ref": job.workflow_ref(".forgejo/workflows"),
    }));
    if form == SubForm::Ids {
        claims.insert("actor_id".into(), job.actor_id.into());
        claims.insert("repository_id".into(), job.repository_id.into());
        claims.insert("repository_owner_id".into(), job.owner_id.into());
    }
    claims
}
