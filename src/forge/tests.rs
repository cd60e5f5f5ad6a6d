use super::*;

fn job(environment: Option<&'static str>, event: &'static str) -> TokenJob<'static> {
    TokenJob {
        owner: "arcodange",
        name: "webapp",
        git_ref: "refs/heads/main",
        sha: "abc",
        event,
        workflow: "deploy",
        workflow_file: "deploy.yml",
        run_id: "7",
        actor: "ci-bot",
        base_ref: "",
        head_ref: "",
        owner_id: "3",
        repository_id: "42",
        actor_id: "5",
        environment,
        issued_at: 1000,
    }
}

#[test]
fn each_runner_is_told_apart_by_its_own_variable() {
    assert_eq!(Forge::detect(true, true, true), Some(Forge::Forgejo));
    assert_eq!(Forge::detect(true, true, false), Some(Forge::Gitea));
    assert_eq!(Forge::detect(true, false, false), Some(Forge::GitHub));
    assert_eq!(Forge::detect(false, false, false), None);
    assert_eq!(Forge::assumed(Some("https://github.com/")), Forge::GitHub);
    assert_eq!(Forge::assumed(Some("https://gitea.example")), Forge::Gitea);
    assert_eq!(Forge::assumed(None), Forge::Gitea);
}

#[test]
fn the_opt_in_is_the_forge_s_own_or_every_one() {
    assert!(id_token_opt_in(Some(Forge::Gitea)).contains("on Gitea add `permissions: id-token: write`"));
    assert!(id_token_opt_in(Some(Forge::Forgejo)).contains("`enable-openid-connect: true`"));
    let every = id_token_opt_in(None);
    for forge in ["on GitHub", "on Forgejo", "on Gitea"] {
        assert!(every.contains(forge), "{every}");
    }
}

#[test]
fn issuers_and_key_sets_follow_each_forge_and_keep_a_sub_path() {
    let cases = [
        (Forge::Gitea, "https://lab.example/git/", "https://lab.example/git/api/actions/oidc", "/jwks"),
        (Forge::Forgejo, "https://lab.example/git", "https://lab.example/git/api/actions", "/.well-known/keys"),
        (Forge::GitHub, "https://github.com", "https://token.actions.githubusercontent.com", "/.well-known/jwks"),
        (Forge::GitHub, "https://ghe.example", "https://ghe.example/_services/token", "/.well-known/jwks"),
    ];
    for (forge, server, issuer, jwks) in cases {
        let dialect = forge.dialect();
        assert_eq!(dialect.issuer(server), issuer);
        assert_eq!(dialect.jwks_url(issuer), format!("{issuer}{jwks}"));
        assert_eq!(dialect.discovery_url(issuer), format!("{issuer}/.well-known/openid-configuration"));
    }
}

#[test]
fn sub_forms_are_each_forge_s() {
    let push = job(None, "push");
    let cases = [
        (Forge::Gitea, SubForm::Ids, "repo:arcodange@3/webapp@42:ref:refs/heads/main"),
        (Forge::Gitea, SubForm::IdsOnly, "repo:3/42:ref:refs/heads/main"),
        (Forge::Forgejo, SubForm::Names, "repo:arcodange/webapp:ref:refs/heads/main"),
        (Forge::Forgejo, SubForm::Ids, "repo:arcodange-3/webapp-42:ref:refs/heads/main"),
        (Forge::GitHub, SubForm::Names, "repo:arcodange/webapp:ref:refs/heads/main"),
        (Forge::GitHub, SubForm::Ids, "repo:arcodange@3/webapp@42:ref:refs/heads/main"),
    ];
    for (forge, form, sub) in cases {
        assert_eq!(forge.dialect().sub(&push, form), sub);
    }
    let github = Forge::GitHub.dialect();
    assert_eq!(github.sub(&job(None, "pull_request"), SubForm::Names), "repo:arcodange/webapp:pull_request");
    assert_eq!(github.sub(&job(Some("prod"), "push"), SubForm::Names), "repo:arcodange/webapp:environment:prod");
    assert_eq!(Forge::Gitea.dialect().sub_form(None), Ok(SubForm::Ids));
    let refused = Forge::Forgejo.dialect().sub_form(Some(SubForm::IdsOnly)).unwrap_err();
    assert_eq!(refused, "Forgejo sends no `ids-only` sub; its forms are: names, ids");
}

#[test]
fn claim_sets_are_each_forge_s() {
    let push = job(None, "push");
    let has = |forge: Forge, form, claim: &str| forge.dialect().claims(&push, form).contains_key(claim);
    for claim in ["repository_id", "repository_owner_id", "actor_id", "jti", "job_workflow_ref"] {
        assert!(has(Forge::Gitea, SubForm::Ids, claim) && has(Forge::GitHub, SubForm::Names, claim), "{claim}");
    }
    assert!(has(Forge::Gitea, SubForm::Ids, "runner_environment") && !has(Forge::Gitea, SubForm::Ids, "environment"));
    assert!(!has(Forge::Forgejo, SubForm::Names, "repository_id") && !has(Forge::Forgejo, SubForm::Names, "jti"));
    assert!(has(Forge::Forgejo, SubForm::Ids, "repository_id"), "Forgejo's ids come with its ids form");
    let forgejo = Forge::Forgejo.dialect().claims(&push, SubForm::Names);
    assert_eq!(forgejo["workflow"], "deploy.yml");
    assert_eq!(forgejo["workflow_ref"], "arcodange/webapp/.forgejo/workflows/deploy.yml@refs/heads/main");
    let gitea = Forge::Gitea.dialect().claims(&push, SubForm::Ids);
    assert_eq!((&gitea["workflow"], &gitea["repository_id"]), (&"deploy".into(), &"42".into()));
    let environment = Forge::GitHub.dialect().claims(&job(Some("prod"), "push"), SubForm::Names);
    assert_eq!(environment["environment"], "prod");
}
