//! Inputs and runner environment -> a validated [`Config`].
//!
//! The process environment is read once, in `main`, and handed here as a list of pairs, so every rule
//! below is testable without touching the real environment.

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::Duration;

use secrecy::SecretString;
use url::Url;

use crate::forge::Forge;
use crate::inputs::Inputs;
use crate::names::Naming;
use crate::proxy::Proxies;
use crate::runner::FileCommands;
use crate::spec::{self, Request};
use crate::tls::TlsSettings;
pub use job::JobContext;
use repository::Repository;
use runner::job_context;
pub use runner::{RunnerVars, job_from_env};
use values::{bounded, mount, namespace, naming, short};
pub use values::{duration, flag};

mod addr;
mod job;
mod repository;
mod runner;
mod values;

/// A problem with the step's inputs or environment, found before anything is sent anywhere.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// An input has a value that cannot be used.
    #[error("input `{input}`: {problem}")]
    Invalid { input: &'static str, problem: String },
    /// A required input has no value and no default applies.
    #[error("input `{input}` is required: {hint}")]
    Missing { input: &'static str, hint: &'static str },
    /// A message that already names its input.
    #[error("{0}")]
    Message(String),
    /// The runner gave the step no way to request an ID token.
    #[error(
        "this job cannot request an OIDC ID token: ACTIONS_ID_TOKEN_REQUEST_URL and \
         ACTIONS_ID_TOKEN_REQUEST_TOKEN are not set. To enable ID tokens for the job, {}",
        crate::forge::id_token_opt_in(*.0)
    )]
    NoIdToken(Option<Forge>),
    /// The `secrets` input does not parse.
    #[error(transparent)]
    Secrets(#[from] spec::SpecError),
    /// Two `secrets` requests would export under one name, or a name is refused.
    #[error(transparent)]
    Names(#[from] crate::export_names::ExportNameError),
    /// The environment itself could not be read (not expected from a runner).
    #[error("cannot read the step's environment: {0}")]
    Environment(envy::Error),
}

/// Where the JWT presented to Vault comes from.
pub enum JwtSource {
    /// The `jwt` input.
    Given(SecretString),
    /// The runner's ID-token endpoint.
    Oidc { request_url: Url, request_token: SecretString },
    /// A fake token minted locally (dry run).
    Fake,
    /// No login: `exec --use-vault-token` runs with the `VAULT_TOKEN` of the environment, as it is.
    ExistingToken(SecretString),
}

/// Everything the main step needs, validated.
pub struct Config {
    pub dry_run: bool,
    /// `install-only`: put the binary on PATH, nothing else (no address or ID token needed).
    pub install_only: bool,
    pub in_ci: bool,
    pub debug: bool,
    pub addr: Url,
    /// True when `addr` came from no input at all (dry run placeholder).
    pub addr_is_placeholder: bool,
    pub namespace: Option<String>,
    pub app: String,
    pub role: String,
    pub mount: String,
    pub audience: String,
    pub jwt: JwtSource,
    pub secrets: Vec<Request>,
    pub naming: Naming,
    pub export_token: bool,
    pub export_env: bool,
    pub revoke: bool,
    pub ignore_not_found: bool,
    pub min_lease_ttl: Option<Duration>,
    pub tofu_skip_child_token: bool,
    pub bao_env: bool,
    pub timeout: Duration,
    /// How to verify Vault and prove ourselves to it (`ca-certificate`, `client-*`, `tls-skip-verify`).
    pub tls: TlsSettings,
    /// `HTTPS_PROXY`, `NO_PROXY`, ...: the proxy towards Vault and the forge, saved for the post step.
    pub proxies: Proxies,
    /// `wait-for-unseal`: how long to wait for a sealed Vault to be unsealed; `None` fails at once.
    pub wait_for_unseal: Option<Duration>,
    /// `RUNNER_TEMP` (else `TMPDIR`, else `/tmp`), where the CA file exported as `VAULT_CACERT` is written.
    pub runner_temp: PathBuf,
    pub files: FileCommands,
    pub job: JobContext,
}

const DEFAULT_MOUNT: &str = "jwt";
const DEFAULT_AUDIENCE: &str = "vault";
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(60);

impl Config {
    /// The Vault address as people write it (no trailing `/`): for messages and `VAULT_ADDR`.
    pub fn addr_text(&self) -> &str {
        self.addr.as_str().trim_end_matches('/')
    }

    /// Builds the config from the process environment and the CLI's flags (flags win over `INPUT_*`, and
    /// `job` flags over `GITHUB_*`). `local` is asked for the job's context only in a dry run outside CI.
    pub fn from_env(
        env: &[(String, String)],
        flags: Inputs,
        job: JobContext,
        local: impl FnOnce() -> JobContext,
    ) -> Result<Self, ConfigError> {
        let inputs = merge(flags, read_inputs(env)?);
        Self::load(env, inputs, job, local, false)
    }

    /// [`Config::from_env`] for `exec`, a later step of the job: what the action left in the job's
    /// environment fills what flags do not say, and `use_vault_token` takes the environment's
    /// `VAULT_TOKEN` instead of a login.
    pub fn for_exec(
        env: &[(String, String)],
        flags: Inputs,
        job: JobContext,
        local: impl FnOnce() -> JobContext,
        use_vault_token: bool,
    ) -> Result<Self, ConfigError> {
        let inputs = merge(merge(flags, read_inputs(env)?), left_by_the_action(env));
        Self::load(env, inputs, job, local, use_vault_token)
    }

    fn load(
        env: &[(String, String)],
        inputs: Inputs,
        job: JobContext,
        local: impl FnOnce() -> JobContext,
        use_vault_token: bool,
    ) -> Result<Self, ConfigError> {
        let mut vars = RunnerVars::from_env(env)?;
        vars.vault_token = match (use_vault_token, vars.vault_token) {
            (false, _) => None,
            (true, token) => Some(token.unwrap_or_default()),
        };
        Self::build(inputs, vars, Proxies::from_env(env), job, local)
    }

    fn build(
        inputs: Inputs,
        vars: RunnerVars,
        proxies: Proxies,
        job: JobContext,
        local: impl FnOnce() -> JobContext,
    ) -> Result<Self, ConfigError> {
        let install_only = flag("install-only", inputs.install_only.as_deref(), false)?;
        let dry_run = flag("dry-run", inputs.dry_run.as_deref(), false)? || install_only;
        let in_ci = vars.in_ci();
        let mut job = job.or(job_context(&vars));
        if dry_run && !in_ci {
            job = job.or(local());
        }
        let (addr, addr_is_placeholder) = addr::addr(inputs.url.as_deref(), vars.vault_addr.as_deref(), dry_run)?;
        let jwt = jwt_source(&inputs, &vars, dry_run)?;
        let repository = repository::resolve(job.repository.as_deref(), &jwt);
        if let Repository::Known(known) = &repository {
            job.repository = Some(known.clone());
        }
        let app = app(inputs.app.as_deref(), repository)?;
        let role = inputs.role.clone().unwrap_or_else(|| format!("gitea_cicd_{app}"));
        short("role", &role)?;
        let mount = mount(inputs.mount.as_deref())?;
        let audience = inputs.audience.clone().unwrap_or_else(|| DEFAULT_AUDIENCE.to_owned());
        short("audience", &audience)?;
        let secrets = spec::parse(inputs.secrets.as_deref().unwrap_or(""))?;
        let naming = naming(inputs.naming.as_deref())?;
        crate::export_names::check_names(&secrets, naming)?;
        Ok(Self {
            dry_run: dry_run && !install_only,
            install_only,
            in_ci,
            debug: vars.debug(),
            jwt,
            addr,
            addr_is_placeholder,
            namespace: inputs.namespace.as_deref().map(namespace).transpose()?,
            app,
            role,
            mount,
            audience,
            secrets,
            naming,
            export_token: flag("export-token", inputs.export_token.as_deref(), true)?,
            export_env: flag("export-env", inputs.export_env.as_deref(), true)?,
            revoke: flag("revoke", inputs.revoke.as_deref(), true)?,
            ignore_not_found: flag("ignore-not-found", inputs.ignore_not_found.as_deref(), false)?,
            min_lease_ttl: inputs.min_lease_ttl.as_deref().map(|v| duration("min-lease-ttl", v)).transpose()?,
            tofu_skip_child_token: flag("tofu-skip-child-token", inputs.tofu_skip_child_token.as_deref(), false)?,
            bao_env: flag("bao-env", inputs.bao_env.as_deref(), false)?,
            timeout: inputs.timeout.as_deref().map(|v| bounded("timeout", v)).transpose()?.unwrap_or(DEFAULT_TIMEOUT),
            tls: tls(&inputs, &vars)?,
            proxies,
            wait_for_unseal: inputs
                .wait_for_unseal
                .as_deref()
                .map(|v| bounded("wait-for-unseal", v))
                .transpose()?
                .filter(|wait| !wait.is_zero()),
            runner_temp: non_empty(vars.runner_temp.clone())
                .or_else(|| non_empty(vars.tmpdir.clone()))
                .unwrap_or_else(|| PathBuf::from("/tmp")),
            files: FileCommands {
                env: non_empty(vars.github_env),
                output: non_empty(vars.github_output),
                state: non_empty(vars.github_state),
                summary: non_empty(vars.github_step_summary),
                path: non_empty(vars.github_path),
            },
            job,
        })
    }
}

/// Reads `INPUT_*` with act's naming (`INPUT_EXPORT-TOKEN`); an empty value counts as unset, since runners
/// pass every declared input, empty when the workflow gave none.
pub fn read_inputs(env: &[(String, String)]) -> Result<Inputs, ConfigError> {
    let pairs = env.iter().filter(|(_, v)| !v.trim().is_empty()).cloned();
    envy::prefixed("INPUT_").from_iter(pairs).map_err(ConfigError::Environment)
}

/// What an earlier run of the action left in the job's environment for `exec` (see
/// [`crate::install`]): the role, mount and audience it used, and the namespace.
fn left_by_the_action(env: &[(String, String)]) -> Inputs {
    let var = |name: &str| env.iter().find(|(k, v)| k == name && !v.is_empty()).map(|(_, v)| v.clone());
    Inputs {
        role: var("VAULT_LOGIN_ROLE"),
        mount: var("VAULT_LOGIN_MOUNT"),
        audience: var("VAULT_LOGIN_AUDIENCE"),
        namespace: var("VAULT_NAMESPACE"),
        ..Inputs::default()
    }
}

/// Overlays `top` on `base`, field by field.
fn merge(top: Inputs, base: Inputs) -> Inputs {
    let as_map = |inputs: &Inputs| -> HashMap<String, serde_json::Value> {
        serde_json::to_value(inputs).ok().and_then(|v| serde_json::from_value(v).ok()).unwrap_or_default()
    };
    let mut merged = as_map(&base);
    merged.extend(as_map(&top));
    serde_json::to_value(merged).ok().and_then(|v| serde_json::from_value(v).ok()).unwrap_or_default()
}

fn app(input: Option<&str>, repository: Repository) -> Result<String, ConfigError> {
    let from_repo = match (input, repository) {
        (Some(_), _) => None,
        (None, Repository::Known(known)) => known.rsplit('/').next().map(str::to_owned),
        (None, Repository::Unusable(value)) => {
            let problem = format!(
                "GITHUB_REPOSITORY is `{}`, not `owner/name` (nektos/act without `--github-instance` sets the \
                 remote's URL), and no `repository` claim of a `jwt` input replaces it; set `app: <your app \
                 slug>`, or run act with `--github-instance <forge host>`",
                crate::names::shown(&value)
            );
            return Err(ConfigError::Invalid { input: "app", problem });
        }
        (None, Repository::Absent) => None,
    };
    let app = input.or(from_repo.as_deref()).ok_or(ConfigError::Missing {
        input: "app",
        hint: "no repository name to default to (GITHUB_REPOSITORY is unset); set `app: <your app slug>`",
    })?;
    short("app", app)?;
    if app.chars().all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c)) {
        Ok(app.to_owned())
    } else {
        Err(ConfigError::Invalid {
            input: "app",
            problem: format!("`{app}` may only contain letters, digits, `-`, `_` and `.`"),
        })
    }
}

/// Runners set every file-command variable; an empty one means there is no such file, not a file named "".
fn non_empty(path: Option<PathBuf>) -> Option<PathBuf> {
    path.filter(|p| !p.as_os_str().is_empty())
}

fn jwt_source(inputs: &Inputs, vars: &RunnerVars, dry_run: bool) -> Result<JwtSource, ConfigError> {
    if let Some(jwt) = &inputs.jwt {
        return Ok(JwtSource::Given(SecretString::from(jwt.trim().to_owned())));
    }
    if let Some(token) = vars.vault_token.as_deref() {
        return match token.trim() {
            "" => Err(ConfigError::Missing {
                input: "VAULT_TOKEN",
                hint: "log in first (`bao login`), or drop --use-vault-token",
            }),
            token => Ok(JwtSource::ExistingToken(SecretString::from(token.to_owned()))),
        };
    }
    if dry_run {
        return Ok(JwtSource::Fake);
    }
    match (&vars.actions_id_token_request_url, &vars.actions_id_token_request_token) {
        (Some(url), Some(token)) if !url.is_empty() && !token.is_empty() => Ok(JwtSource::Oidc {
            request_url: Url::parse(url).map_err(|e| ConfigError::Invalid {
                input: "ACTIONS_ID_TOKEN_REQUEST_URL (set by the runner)",
                problem: format!("not a URL ({e})"),
            })?,
            request_token: SecretString::from(token.clone()),
        }),
        _ => Err(ConfigError::NoIdToken(vars.forge())),
    }
}

/// The TLS inputs; `ca-certificate` falls back to `VAULT_CACERT`, as the Vault CLI and OpenTofu read it.
fn tls(inputs: &Inputs, vars: &RunnerVars) -> Result<TlsSettings, ConfigError> {
    let ca = inputs.ca_certificate.as_deref().or(vars.vault_cacert.as_deref().filter(|v| !v.trim().is_empty()));
    let skip_verify = flag("tls-skip-verify", inputs.tls_skip_verify.as_deref(), false)?;
    let bundle = vars.system_bundle();
    TlsSettings::from_inputs(ca, inputs.client_certificate.as_deref(), inputs.client_key.as_deref(), skip_verify)
        .map(|settings| settings.with_system_bundle(bundle))
        .map_err(|e| ConfigError::Invalid { input: e.input, problem: e.problem })
}

#[cfg(test)]
mod tests;
