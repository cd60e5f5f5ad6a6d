//! The command line: modes, flags, and how an error reaches the user.

use std::io::{self, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::{Args, Parser, Subcommand};

use crate::config::{Config, JobContext, RunnerVars};
use crate::forge::{Forge, SubForm};
use crate::inputs::Inputs;
use crate::runner::Log;
use crate::{dry_run, fake_token, local_git, post, step};

/// Trade the job's OIDC ID token for a short-lived Vault token, export secrets, revoke at job end.
///
/// In a workflow the action runs this binary with `INPUT_*` variables; every input is also a flag here.
#[derive(Parser)]
#[command(name = "vault-login", version = crate::VERSION, about, long_about)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    #[command(flatten)]
    pub inputs: Inputs,
    #[command(flatten)]
    pub job: JobFlags,
    /// With --dry-run: also write the env and output files a runner would get, into this directory
    #[arg(long, value_name = "DIR")]
    pub write_to: Option<PathBuf>,
}

/// Modes besides the main step.
#[derive(Subcommand)]
pub enum Command {
    /// The action's post step: revoke the token saved in STATE_* (never fails the job)
    Post,
    /// Print a token shaped like this job's (unsigned, or signed for a sandbox Vault)
    FakeToken(FakeTokenArgs),
    /// Run one command with the secrets in its environment only; renew the token while it runs, revoke it
    /// when it ends (`vault-login exec --secrets '...' -- tofu apply`)
    Exec(Box<crate::exec::ExecArgs>),
    /// Explain a refused login: compare the role (read with an admin VAULT_TOKEN) with a token's claims,
    /// and check the role's read rights on every `secrets` path
    Diagnose(Box<crate::diagnose::DiagnoseArgs>),
}

/// What a runner would say about the job; for local runs (defaults come from git, then GITHUB_*).
#[derive(Args, Default)]
pub struct JobFlags {
    /// Repository as owner/name [default: GITHUB_REPOSITORY, or the origin remote]
    #[arg(long, value_name = "OWNER/NAME", global = true)]
    pub repository: Option<String>,
    /// Git ref, e.g. refs/heads/main [default: GITHUB_REF, or the current branch]
    #[arg(long = "ref", value_name = "REF", global = true)]
    pub git_ref: Option<String>,
    /// Commit sha [default: GITHUB_SHA, or HEAD]
    #[arg(long, value_name = "SHA", global = true)]
    pub sha: Option<String>,
    /// Event name, e.g. push or pull_request [default: push]
    #[arg(long, value_name = "EVENT", global = true)]
    pub event: Option<String>,
    /// Workflow [default: ci.yml]
    #[arg(long, value_name = "NAME", global = true)]
    pub workflow: Option<String>,
    /// Actor [default: local]
    #[arg(long, value_name = "USER", global = true)]
    pub actor: Option<String>,
    /// Forge root URL (Gitea's ROOT_URL, sub-path included); the issuer follows from it and the forge
    /// [default: GITHUB_SERVER_URL, or the origin remote's host over https]
    #[arg(long, value_name = "URL", global = true)]
    pub server_url: Option<String>,
    /// Forge whose token to imitate [default: the runner's; locally github for github.com, else gitea]
    #[arg(long, value_enum, global = true)]
    pub forge: Option<Forge>,
    /// Which of the forge's `sub` forms the repository gets [default: the forge's form for new repositories]
    #[arg(long, value_enum, value_name = "FORM", global = true)]
    pub sub_format: Option<SubForm>,
    /// Repository id [default: GITHUB_REPOSITORY_ID, or a placeholder]
    #[arg(long, value_name = "ID", global = true)]
    pub repository_id: Option<String>,
    /// Repository owner's id [default: GITHUB_REPOSITORY_OWNER_ID, or a placeholder]
    #[arg(long, value_name = "ID", global = true)]
    pub owner_id: Option<String>,
    /// Actor's id [default: GITHUB_ACTOR_ID, or a placeholder]
    #[arg(long, value_name = "ID", global = true)]
    pub actor_id: Option<String>,
    /// GitHub deployment environment of the job (it then appears in `sub` and `environment`)
    #[arg(long, value_name = "NAME", global = true)]
    pub environment: Option<String>,
}

/// `fake-token` options.
#[derive(Args)]
pub struct FakeTokenArgs {
    /// Sign with this PEM private key (RSA -> RS256, P-256 -> ES256) instead of leaving the token unsigned
    #[arg(long, value_name = "PEM")]
    pub sign_with: Option<PathBuf>,
    /// Print the signing key's public half as a JWKS document instead of a token
    #[arg(long, requires = "sign_with")]
    pub print_jwks: bool,
    /// Print the signing key's public half as PEM, for the auth method's `jwt_validation_pubkeys`
    #[arg(long, requires = "sign_with", conflicts_with = "print_jwks")]
    pub print_public_key: bool,
    /// Print the issuer the token would carry (the auth method's `bound_issuer`) instead of a token
    #[arg(long, conflicts_with_all = ["print_jwks", "print_public_key"])]
    pub print_issuer: bool,
    /// Audience of the token
    #[arg(long, value_name = "AUD", default_value = "vault")]
    pub audience: String,
}

impl From<JobFlags> for JobContext {
    fn from(flags: JobFlags) -> Self {
        Self {
            repository: flags.repository,
            git_ref: flags.git_ref,
            sha: flags.sha,
            workflow: flags.workflow,
            event_name: flags.event,
            actor: flags.actor,
            server_url: flags.server_url,
            forge: flags.forge,
            sub_form: flags.sub_format,
            repository_id: flags.repository_id,
            owner_id: flags.owner_id,
            actor_id: flags.actor_id,
            environment: flags.environment,
            run_id: None,
            workflow_file: None,
            base_ref: None,
            head_ref: None,
        }
    }
}

/// Runs the mode `cli` asks for with the process environment `env`, and reports any error.
pub fn run(cli: Cli, env: &[(String, String)]) -> ExitCode {
    // Unreadable runner variables are reported by the mode that needs them; here they mean "not CI".
    let runner = RunnerVars::from_env(env).unwrap_or_default();
    let in_ci = runner.in_ci();
    let mut log = Log::new(io::stdout(), runner.debug());
    if let Err(e) = crate::hardening::forbid_core_dumps() {
        log.warning(&format!("vault-login: {e}; a crash could leave a core file holding secrets"));
    }
    let result = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")
        .and_then(|runtime| runtime.block_on(dispatch(cli, env, &mut log)));
    match result {
        Ok(code) => code,
        Err(error) if in_ci => {
            report(&mut log, &format!("{error:#}"));
            ExitCode::FAILURE
        }
        Err(error) => {
            let _ = writeln!(io::stderr(), "error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

/// The first line becomes the `::error::` annotation; detail lines follow as plain log lines, which every
/// runner shows as they are (not every runner un-escapes a multi-line annotation).
fn report(log: &mut Log<io::Stdout>, message: &str) {
    let mut lines = message.lines();
    log.error(lines.next().unwrap_or("failed"));
    for line in lines {
        log.info(line);
    }
}

async fn dispatch(cli: Cli, env: &[(String, String)], log: &mut Log<io::Stdout>) -> Result<ExitCode> {
    let done = |result: Result<()>| result.map(|()| ExitCode::SUCCESS);
    match cli.command {
        Some(Command::Post) => {
            let post = post::PostStep::from_env(env)?;
            post::run(post, log).await;
            Ok(ExitCode::SUCCESS)
        }
        Some(Command::FakeToken(args)) => done(fake_token_command(args, cli.job.into(), env)),
        Some(Command::Diagnose(args)) => done(crate::diagnose::run(*args, cli.job.into(), env, local_job, log).await),
        Some(Command::Exec(args)) => crate::exec::run(*args, cli.job.into(), env, local_job, log).await,
        None => {
            let config = Config::from_env(env, cli.inputs.clone(), cli.job.into(), local_job)?;
            if config.install_only {
                return done(crate::install::install(&config, log));
            }
            if config.dry_run {
                return done(dry_run::run(&config, cli.inputs.secrets.is_some(), cli.write_to.as_deref(), log));
            }
            done(step::run(&config, log).await)
        }
    }
}

/// The job's context as the local git checkout (in the working directory) describes it. Asked only outside
/// CI, where no runner says what the job is; this is the one place that reads the working directory.
fn local_job() -> JobContext {
    std::env::current_dir().map(|dir| local_git::detect(&dir)).unwrap_or_default()
}

/// `fake-token`'s job context, by [`Config`]'s rule: flags, then `GITHUB_*`, then (only outside CI) git.
fn fake_token_job(flags: JobContext, env: &[(String, String)], local: impl FnOnce() -> JobContext) -> JobContext {
    let job = flags.or(crate::config::job_from_env(env));
    if RunnerVars::from_env(env).unwrap_or_default().in_ci() { job } else { job.or(local()) }
}

fn fake_token_command(args: FakeTokenArgs, flags: JobContext, env: &[(String, String)]) -> Result<()> {
    let job = fake_token_job(flags, env, local_job);
    let fake = fake_token::FakeJob::new(&job)?;
    if args.print_issuer {
        println!("{}", fake.issuer());
        return Ok(());
    }
    let claims = fake.claims(&args.audience, time::OffsetDateTime::now_utc().unix_timestamp());
    let key = match &args.sign_with {
        Some(path) => {
            let pem = std::fs::read(path).with_context(|| format!("reading the signing key {}", path.display()))?;
            Some(fake_token::SigningKey::from_pem(&pem).with_context(|| format!("--sign-with {}", path.display()))?)
        }
        None => None,
    };
    match key {
        Some(key) if args.print_jwks => println!("{}", serde_json::to_string_pretty(&key.jwks())?),
        Some(key) if args.print_public_key => print!("{}", key.public_key_pem()),
        key => {
            // What Vault must trust goes to stderr: stdout holds only the token, for a pipe.
            let (issuer, dialect) = (fake.issuer(), fake.forge.dialect());
            let _ = writeln!(
                io::stderr(),
                "{} token: issuer {issuer}, keys at {}, sub form `{}`",
                dialect.name,
                dialect.jwks_url(&issuer),
                fake.sub_form.name()
            );
            let token = match key {
                Some(key) => key.sign(&claims)?,
                None => fake_token::unsigned(&claims),
            };
            println!("{token}");
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn git() -> JobContext {
        JobContext { repository: Some("o/from-git".into()), sha: Some("abc".into()), ..JobContext::default() }
    }

    #[test]
    fn fake_token_asks_git_only_outside_ci_and_after_flags_and_runner() {
        let env =
            [("GITHUB_ACTIONS".to_owned(), "true".to_owned()), ("GITHUB_REPOSITORY".to_owned(), "o/ci".to_owned())];
        let job = fake_token_job(JobContext::default(), &env, || panic!("git is never asked in CI"));
        assert_eq!(job.repository.as_deref(), Some("o/ci"));

        let flags = JobContext { repository: Some("o/flag".into()), ..JobContext::default() };
        let job = fake_token_job(flags, &[], git);
        assert_eq!((job.repository.as_deref(), job.sha.as_deref()), (Some("o/flag"), Some("abc")));
    }
}
