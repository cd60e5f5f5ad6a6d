//! `vault-login exec [options] -- CMD [ARGS...]`: the secrets go to one command's environment and nowhere
//! else, and the token lives exactly as long as that command.
//!
//! The flow is the main step's up to the masks (log in, read, mask every value before anything can print
//! it), then: start the command with the secrets in its environment only (nothing is written to
//! `GITHUB_ENV`, `GITHUB_OUTPUT` or any file), renew the token and its leases while it runs, pass on the
//! signals `exec` receives, and revoke the token (with it every lease) once the command has exited,
//! however it exited. If `exec` itself is killed, nothing renews the token, which then dies at its TTL:
//! with `exec`, a role's `token_ttl` can be minutes for a job that runs an hour.

mod child;
mod receipt;
mod renew;

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::Args;
use secrecy::{ExposeSecret, SecretString};
use time::OffsetDateTime;
use tokio::time::{Instant, sleep_until};

use crate::config::{Config, JobContext, JwtSource};
use crate::exports::Exports;
use crate::fetch::{self, Fetched};
use crate::inputs::Inputs;
use crate::runner::Log;
use crate::stop::Signals;
use crate::vault::{self, Login, Vault};
use crate::{step, tls};
use child::Command;
use receipt::Receipt;
use renew::{Renewer, TrackedLease};

/// `exec` options: the action's inputs, and how to authenticate outside a job.
#[derive(Args)]
pub struct ExecArgs {
    #[command(flatten)]
    pub inputs: Inputs,
    /// Log in with the JWT in this file (a token obtained elsewhere) instead of the job's ID token
    #[arg(long, value_name = "FILE", conflicts_with = "jwt")]
    pub jwt_file: Option<PathBuf>,
    /// Use the VAULT_TOKEN of the environment as it is (e.g. after `bao login`): no login, and the token is
    /// neither renewed nor revoked, since it is not this command's
    #[arg(long, conflicts_with_all = ["jwt", "jwt_file"])]
    pub use_vault_token: bool,
    /// The command and its arguments
    #[arg(last = true, required = true, value_name = "CMD")]
    pub command: Vec<String>,
}

/// What `exec` holds while the command runs.
struct Session {
    vault: Vault,
    login: Login,
    /// Logged in here, so revoked here; a token given as it is stays its owner's.
    owned: bool,
    fetched: Fetched,
    exports: Exports,
    ca_file: Option<PathBuf>,
    issued: OffsetDateTime,
}

/// Runs the command with the secrets; its exit status is the command's.
pub async fn run<W: Write>(
    mut args: ExecArgs,
    job: JobContext,
    env: &[(String, String)],
    local: impl FnOnce() -> JobContext,
    log: &mut Log<W>,
) -> Result<ExitCode> {
    if let Some(path) = &args.jwt_file {
        let jwt = std::fs::read_to_string(path).with_context(|| format!("--jwt-file {}", path.display()))?;
        args.inputs.jwt = Some(jwt.trim().to_owned());
    }
    let config = Config::for_exec(env, args.inputs.clone(), job, local, args.use_vault_token)?;
    if config.dry_run {
        crate::dry_run::run(&config, args.inputs.secrets.is_some(), None, log)?;
        log.info(&format!("exec would then run: {}", shown_command(&args.command)));
        return Ok(ExitCode::SUCCESS);
    }
    let session = open(&config, log).await?;
    let status = supervise(&session, &args.command, log).await;
    close(&config, session, status.renewals, log).await;
    Ok(ExitCode::from(status.code))
}

/// Logs in (or takes the token as it is), reads, masks. All or nothing, as in the main step: whatever fails
/// after the login revokes the token, and the command does not start.
async fn open<W: Write>(config: &Config, log: &mut Log<W>) -> Result<Session> {
    let (vault, forge) = step::connect(config, log)?;
    let (login, issued, owned) = match &config.jwt {
        JwtSource::ExistingToken(token) => {
            step::mask_token(log, token.expose_secret())?;
            let login = vault::lookup_self(&vault, token).await.context("looking up VAULT_TOKEN")?;
            (login, OffsetDateTime::now_utc(), false)
        }
        _ => {
            let (login, issued) = step::log_in(config, &vault, &forge, log).await?;
            step::mask_token(log, login.token.expose_secret())?;
            (login, issued, true)
        }
    };
    match read(config, &vault, &login, issued, log).await {
        Ok((fetched, exports, ca_file)) => Ok(Session { vault, login, owned, fetched, exports, ca_file, issued }),
        Err(error) => {
            if owned {
                match step::revoke_now(&vault, &login.token).await {
                    Ok(()) => log.info("The command was not started; the Vault token was revoked."),
                    Err(e) => log.warning(&format!(
                        "vault-login exec: the command was not started, but revoking the Vault token failed \
                         ({e}); it expires with its TTL"
                    )),
                }
            }
            Err(error)
        }
    }
}

async fn read<W: Write>(
    config: &Config,
    vault: &Vault,
    login: &Login,
    now: OffsetDateTime,
    log: &mut Log<W>,
) -> Result<(Fetched, Exports, Option<PathBuf>)> {
    let fetched =
        fetch::fetch(vault, &login.token, &config.secrets, config.naming, config.ignore_not_found, &login.policies)
            .await?;
    let mut exports = Exports::build(config, login, &fetched, now);
    let ca_file = match &config.tls.ca_pem {
        Some(pem) => {
            let path = tls::ca_file_path(&config.runner_temp)?;
            std::fs::create_dir_all(&config.runner_temp)?;
            std::fs::write(&path, pem).context("writing the CA file for VAULT_CACERT")?;
            exports.add_ca_file(config, &path.display().to_string());
            Some(path)
        }
        None => None,
    };
    exports.mask(log, &[login.token.expose_secret()])?;
    Ok((fetched, exports, ca_file))
}

/// How the command ended.
struct Ended {
    code: u8,
    renewals: usize,
}

/// Runs the command to its end, renewing what it uses and passing on signals.
async fn supervise<W: Write>(session: &Session, argv: &[String], log: &mut Log<W>) -> Ended {
    let leases = session.fetched.secrets.iter().filter_map(|s| {
        let lease = s.lease.as_ref().filter(|l| l.renewable)?;
        Some(TrackedLease { id: lease.id.clone(), path: s.source.path.clone(), duration: lease.duration })
    });
    let mut leases: Vec<TrackedLease> = leases.collect();
    leases.dedup_by(|a, b| a.id == b.id);
    let token_ttl = session.owned.then_some(session.login.lease_duration);
    let token = SecretString::from(session.login.token.expose_secret().to_owned());
    let mut renewer = Renewer::new(session.vault.clone(), token, token_ttl, leases);
    let mut signals = match Signals::listen(&child::FORWARDED) {
        Ok(signals) => signals,
        Err(e) => {
            log.error(&format!("vault-login exec: cannot listen for signals ({e}); the command was not started"));
            return Ended { code: 1, renewals: 0 };
        }
    };
    let mut command = match Command::spawn(argv, session.exports.env()) {
        Ok(command) => command,
        Err(e) => {
            log.error(&format!("vault-login exec: {}", e.message));
            return Ended { code: e.status, renewals: 0 };
        }
    };
    log.debug(&format!("exec started {} with {}", shown_command(argv), session.exports.describe()));
    let mut kill_at: Option<Instant> = None;
    let code = loop {
        let renew_at = if kill_at.is_none() { renewer.next_due() } else { None };
        tokio::select! {
            status = command.wait() => break status.map(child::exit_status).unwrap_or(1),
            (signal, name) = signals.recv() => {
                log.info(&format!("vault-login exec: received {name}; passing it on to the command"));
                command.forward(signal);
                kill_at.get_or_insert(Instant::now() + child::GRACE);
            }
            () = sleep_until_some(kill_at) => {
                log.warning(&format!("vault-login exec: the command did not exit within {}s of the signal; killing it", child::GRACE.as_secs()));
                command.kill();
            }
            () = sleep_until_some(renew_at) => renewer.renew_due(log).await,
        }
    };
    Ended { code, renewals: renewer.renewals() }
}

/// Sleeps until `at`, or forever when there is nothing to wait for.
async fn sleep_until_some(at: Option<Instant>) {
    match at {
        Some(at) => sleep_until(at).await,
        None => std::future::pending().await,
    }
}

/// Revokes what `exec` owns, removes the CA file, and gives the receipt.
async fn close<W: Write>(config: &Config, session: Session, renewals: usize, log: &mut Log<W>) {
    let revoked = if session.owned {
        match step::revoke_now(&session.vault, &session.login.token).await {
            Ok(()) => Some(OffsetDateTime::now_utc()),
            Err(e) => {
                log.warning(&format!(
                    "vault-login exec: could not revoke the Vault token ({e}); it expires with its TTL"
                ));
                None
            }
        }
    } else {
        None
    };
    if let Some(path) = &session.ca_file {
        let _ = tls::remove_ca_file(path);
    }
    let receipt = Receipt::new(&session.login, &session.fetched, session.issued, renewals, session.owned, revoked);
    for line in receipt.lines() {
        log.info(&line);
    }
    if let Err(e) = config.files.write_summary(&receipt.markdown()) {
        log.warning(&format!("could not write the step summary (GITHUB_STEP_SUMMARY): {e}"));
    }
}

fn shown_command(argv: &[String]) -> String {
    argv.iter().map(|a| crate::names::shown(a)).collect::<Vec<_>>().join(" ")
}
