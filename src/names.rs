//! Environment variable names for exported secrets.
//!
//! Every secret ends up as an environment variable that later steps (and
//! OpenTofu) read. Two things can go wrong with the name: it can be unusable
//! (a shell cannot read `db-host`), or it can be dangerous (a Vault key called
//! `LD_PRELOAD` or `BASH_ENV` would let whoever writes to Vault run code in
//! every later step). This module derives names from Vault keys and refuses
//! both kinds of bad name before anything is exported.
//!
//! Names are always ASCII: a derived name replaces each non-ASCII character of
//! the key with `_`, so a name never depends on Unicode case rules.

use std::fmt;
use std::str::FromStr;

/// Longest name accepted. Linux allows longer, but a longer name is almost
/// certainly a mistake and Windows runners cap variable names near this size.
pub const MAX_NAME_LEN: usize = 255;

/// How names are derived from Vault keys when the request gives no explicit
/// name (input `naming: default | vault-action`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Naming {
    /// Readable names: `db-host` -> `DB_HOST`, and with `* | TF_VAR_` the
    /// key's case is kept (`TF_VAR_db_host`), which is what OpenTofu's
    /// `TF_VAR_<variable name>` convention needs.
    #[default]
    Default,
    /// hashicorp/vault-action v3's names, so a workflow migrating from it
    /// keeps the variable names its later steps already use.
    VaultAction,
}

/// The `naming` input held something other than the two accepted values.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("input `naming`: expected `default` or `vault-action`, got `{}`", shown(.got))]
pub struct NamingError {
    /// The value as given (shown escaped and shortened in the message).
    pub got: String,
}

impl FromStr for Naming {
    type Err = NamingError;

    /// Accepts exactly `default` or `vault-action` (surrounding whitespace is
    /// ignored, since YAML block values often carry it; case is not, so the
    /// documented spelling is the only one).
    fn from_str(input: &str) -> Result<Self, Self::Err> {
        match input.trim() {
            "default" => Ok(Naming::Default),
            "vault-action" => Ok(Naming::VaultAction),
            _ => Err(NamingError { got: input.to_owned() }),
        }
    }
}

/// Name for `path key` when the request has no `| NAME`.
///
/// - [`Naming::Default`]: the key upper-cased; every character outside
///   `[A-Za-z0-9_]` becomes `_`; a leading digit gets a `_` in front
///   (`db-host` -> `DB_HOST`, `1st` -> `_1ST`).
/// - [`Naming::VaultAction`]: see `vault_action_name` in this module.
///
/// The result is always syntactically valid; it can still be refused by
/// [`check`] when it lands on a reserved name, so the caller must check it.
#[must_use]
pub fn default_name(key: &str, naming: Naming) -> String {
    match naming {
        Naming::Default => finish(sanitize(key, Case::Upper)),
        Naming::VaultAction => vault_action_name(key),
    }
}

/// Name for one key of `path * | PREFIX` (and of `path *`, with `prefix` "").
///
/// - [`Naming::Default`] with a prefix: the prefix followed by the key with
///   its case kept, invalid characters replaced by `_`
///   (`TF_VAR_` + `db-host` -> `TF_VAR_db_host`), because OpenTofu variable
///   names are case-sensitive and usually lower-case.
/// - [`Naming::Default`] without a prefix: same as [`default_name`].
/// - [`Naming::VaultAction`]: vault-action's `*` rule, which normalizes and
///   upper-cases prefix and key together (`MYAPP_` + `accessKey` ->
///   `MYAPP_ACCESSKEY`); see `vault_action_name` in this module.
#[must_use]
pub fn prefixed_name(prefix: &str, key: &str, naming: Naming) -> String {
    match naming {
        Naming::Default if prefix.is_empty() => default_name(key, naming),
        // Sanitizing the prefix too keeps this total for any input; a prefix
        // that passed `check_prefix` is left unchanged by it.
        Naming::Default => finish(sanitize(&format!("{prefix}{key}"), Case::Keep)),
        Naming::VaultAction => vault_action_name(&format!("{prefix}{key}")),
    }
}

/// hashicorp/vault-action v3's env var name for a key (or, for `*`, for
/// prefix + key), made ASCII and shell-safe.
///
/// What vault-action v3 does (`normalizeOutputKey(dataKey, true)` in
/// `src/utils.js`, called from `parseSecretsInput` in `src/action.js` and,
/// for wildcards, from `getSecrets` in `src/secrets.js`; read at commit
/// 77efb36ae332b47f07acf52c37a69f5ba6363e2f, the file linked from
/// vault-action issue #536 about v3):
///
/// ```js
/// dataKey.replace(".", "__")            // only the FIRST dot (JS string replace)
///        .replace(new RegExp("-", "g"), "")  // every `-` is removed
///        .replace(/[^\p{L}\p{N}_-]/gu, "")  // every other non letter/number/_ is removed
///        .toUpperCase()                 // env var names only
/// ```
///
/// - `.`: the first dot becomes `__`, later dots are dropped
///   (`a.b.c` -> `A__BC`; reported upstream as issue #579 against v3.3.0).
/// - `-`: dropped (`db-host` -> `DBHOST`; issue #577 against v3.2.0).
/// - other punctuation, spaces, `*`: dropped.
/// - `path *`: the request's name is `normalizeOutputKey("*")`, i.e. empty, so
///   each key becomes `normalizeOutputKey("" + key, true)`: `accessKey` ->
///   `ACCESSKEY`.
/// - `path * | MYAPP_`: each key becomes
///   `normalizeOutputKey("MYAPP_" + key, true)`, so the whole name is
///   upper-cased: `MYAPP_ACCESSKEY` (issue #536). vault-action later added
///   `**` (PR #545) to keep the case; that is what [`Naming::Default`] does
///   with a prefix, so this crate has no `**`.
/// - `path key | NAME`: `NAME` is used as written (here it goes through
///   [`check`]).
///
/// Where this deliberately differs, because the name must be usable:
/// - vault-action keeps non-ASCII letters and digits (`测试` stays `测试`);
///   here every non-ASCII character becomes `_`.
/// - a name starting with a digit gets a `_` in front, and an empty result
///   (a key made only of dropped characters) becomes `_` (which [`check`]
///   then refuses), where vault-action would export an unusable name.
///
/// The upstream default branch has since changed `src/utils.js` (2026,
/// commit 58173150a3b4bd679c0e11deb5004000b2e8812c) to replace every dot and
/// keep `-`; names with `-` are not valid shell names, so the v3 release
/// behaviour above is the one reproduced.
fn vault_action_name(key: &str) -> String {
    let dotted = key.replacen('.', "__", 1);
    let kept: String = dotted
        .chars()
        .filter_map(|c| match c {
            c if !c.is_ascii() => Some('_'),
            c if c.is_ascii_alphanumeric() || c == '_' => Some(c.to_ascii_uppercase()),
            _ => None,
        })
        .collect();
    finish(kept)
}

/// Whether [`sanitize`] upper-cases the letters it keeps.
#[derive(Clone, Copy)]
enum Case {
    Upper,
    Keep,
}

/// Replaces every character outside `[A-Za-z0-9_]` with `_` (one per
/// character, so distinct keys of equal length stay distinct more often).
fn sanitize(text: &str, case: Case) -> String {
    text.chars()
        .map(|c| match (c.is_ascii_alphanumeric() || c == '_', case) {
            (false, _) => '_',
            (true, Case::Upper) => c.to_ascii_uppercase(),
            (true, Case::Keep) => c,
        })
        .collect()
}

/// Makes a sanitized name start like a shell name: `_` before a leading
/// digit, and `_` for an empty name so the caller gets a clear refusal from
/// [`check`] instead of an empty variable.
fn finish(name: String) -> String {
    match name.chars().next() {
        None => "_".to_owned(),
        Some(c) if c.is_ascii_digit() => format!("_{name}"),
        Some(_) => name,
    }
}

/// What the checked text is, so the fix in the message names the right syntax.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Subject {
    /// A full variable name (explicit `| NAME` or derived).
    Name,
    /// The prefix of `* | PREFIX`.
    Prefix,
}

impl Subject {
    fn label(self) -> &'static str {
        match self {
            Subject::Name => "export name",
            Subject::Prefix => "name prefix",
        }
    }

    fn fix(self) -> &'static str {
        match self {
            Subject::Name => "choose another name with \"| NAME\"",
            Subject::Prefix => "choose another prefix with \"* | PREFIX\"",
        }
    }
}

/// Why a name was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Problem {
    /// Nothing to export under.
    Empty,
    /// A character shells cannot use in a variable name.
    InvalidChar(char),
    /// Starts with a digit, which shells read as something else.
    LeadingDigit,
    /// Longer than [`MAX_NAME_LEN`] characters (the count is given).
    TooLong(usize),
    /// Matches a reserved name or prefix (`rule`), for the reason in `why`.
    Reserved {
        /// The reserved entry matched, e.g. `PATH` or `LD_*`.
        rule: &'static str,
        /// What setting it would let a secret do.
        why: &'static str,
    },
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Problem::Empty => write!(f, "is empty; a variable name needs at least one character"),
            Problem::InvalidChar(c) => write!(
                f,
                "contains `{}`, but a variable name may only hold ASCII letters, digits and `_`",
                c.escape_debug()
            ),
            Problem::LeadingDigit => {
                write!(f, "starts with a digit, which shells cannot read as a variable")
            }
            Problem::TooLong(len) => {
                write!(f, "is {len} characters long, more than the {MAX_NAME_LEN} allowed")
            }
            Problem::Reserved { rule, why } => {
                write!(f, "is refused: names matching `{rule}` (compared ignoring case, as on Windows runners) {why}")
            }
        }
    }
}

/// A name that must not be exported, with the reason and the fix.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{} `{}` {problem}; {}", .subject.label(), shown(.name), .subject.fix())]
pub struct NameError {
    /// The refused name (escaped and shortened when displayed).
    pub name: String,
    /// Whether it was a full name or a `* | PREFIX` prefix.
    pub subject: Subject,
    /// Why it was refused.
    pub problem: Problem,
}

/// Validates a name before export: explicit `| NAME`s and every derived name.
///
/// A name must match `[A-Za-z_][A-Za-z0-9_]*`, be at most
/// [`MAX_NAME_LEN`] characters, and not be one of the reserved names or
/// prefixes listed in this module's `RESERVED` table, compared ignoring ASCII case (Windows runners treat
/// `Path` and `PATH` as the same variable).
pub fn check(name: &str) -> Result<(), NameError> {
    check_as(name, Subject::Name)
}

/// Validates the `PREFIX` of `* | PREFIX` up front, so a prefix under which
/// every derived name would be refused (`GITHUB_`, `LD_`) is reported once,
/// at its place in the input, instead of once per key.
///
/// Exact reserved names are not refused here: `PATH` as a prefix only
/// produces longer names such as `PATHX`. The full names still go through
/// [`check`].
pub fn check_prefix(prefix: &str) -> Result<(), NameError> {
    check_syntax(prefix, Subject::Prefix)?;
    let upper = prefix.to_ascii_uppercase();
    match RESERVED.iter().find(|entry| entry.is_prefix() && upper.starts_with(entry.stem())) {
        Some(entry) => Err(entry.refuse(prefix, Subject::Prefix)),
        None => Ok(()),
    }
}

fn check_as(name: &str, subject: Subject) -> Result<(), NameError> {
    check_syntax(name, subject)?;
    let upper = name.to_ascii_uppercase();
    match RESERVED.iter().find(|entry| entry.matches(&upper)) {
        Some(entry) => Err(entry.refuse(name, subject)),
        None => Ok(()),
    }
}

/// The shape rules: non-empty, shell-name characters, no leading digit, and
/// the length limit.
fn check_syntax(name: &str, subject: Subject) -> Result<(), NameError> {
    let refuse = |problem| NameError { name: name.to_owned(), subject, problem };
    let Some(first) = name.chars().next() else {
        return Err(refuse(Problem::Empty));
    };
    if let Some(bad) = name.chars().find(|c| !(c.is_ascii_alphanumeric() || *c == '_')) {
        return Err(refuse(Problem::InvalidChar(bad)));
    }
    if first.is_ascii_digit() {
        return Err(refuse(Problem::LeadingDigit));
    }
    // All characters are ASCII here, so bytes == characters.
    if name.len() > MAX_NAME_LEN {
        return Err(refuse(Problem::TooLong(name.len())));
    }
    Ok(())
}

/// One reserved name (`PATH`) or prefix (`LD_*`), stored upper-case.
struct Reserved {
    rule: &'static str,
    why: &'static str,
}

impl Reserved {
    fn is_prefix(&self) -> bool {
        self.rule.ends_with('*')
    }

    fn stem(&self) -> &'static str {
        self.rule.trim_end_matches('*')
    }

    fn matches(&self, upper: &str) -> bool {
        if self.is_prefix() { upper.starts_with(self.stem()) } else { upper == self.rule }
    }

    fn refuse(&self, name: &str, subject: Subject) -> NameError {
        NameError { name: name.to_owned(), subject, problem: Problem::Reserved { rule: self.rule, why: self.why } }
    }
}

const SHELL: &str =
    "change how later steps' shells start, find programs or run commands, so a secret could run code there";
const LOADER: &str = "make the system's loaders inject code or files into every later process";
const INTERPRETER: &str =
    "make Node.js, Python, Perl, Ruby, Java or npm load code or options, so a secret could run code in later steps";
const TLS: &str = "change which TLS certificates later tools trust, so a secret could enable interception";
const GIT: &str = "change how git runs (config, hooks, ssh command), so a secret could run code in later steps";
const RUNNER: &str =
    "belong to the CI runner and its workflow commands, so a secret could take over later steps or the runner";
const OWN: &str =
    "are exported or read by this action itself (its Vault login, its binary), so a secret would break or redirect it";
const OUTPUT: &str = "are this action's own step output (`policies`, the token's policies), so a secret exported under \
     that name would silently replace it";
const TOFU: &str = "change how OpenTofu loads its CLI config, providers, plugins, arguments or logs, so a secret could run code, alter the plan or leak values";
const TOOLCHAIN: &str = "configure package managers and toolchains (index, proxy, wrapper, flags), so a secret could choose the code later steps download or run";
const ASKPASS: &str = "name programs that tools start on their own (to ask for a password, edit or page), so a secret could run code in later steps";
const UNDERSCORE: &str = "are overwritten by the shell after every command, so the value would be lost";

/// Builds the flat table from groups sharing one reason.
macro_rules! table {
    ($($why:ident => [$($rule:literal),+ $(,)?]),+ $(,)?) => {
        &[$($(Reserved { rule: $rule, why: $why },)+)+]
    };
}

/// Names a secret may never be exported as. A trailing `*` marks a prefix.
///
/// The one rule: a name is reserved when setting it lets a value run code, change what code runs or
/// where it comes from, or redirect credentials, in a later step or in the runner. That covers shell
/// start-up and command lookup, dynamic loaders, interpreter option/library variables, package managers'
/// and toolchains' configuration (where a value picks the index, proxy, wrapper or plugin that runs),
/// programs that tools start to ask for a password, TLS trust, git, the runner's own variables
/// (`GITHUB_*`, `RUNNER_*`, `ACTIONS_*`, and `INPUT_*`/`STATE_*` used by actions), OpenTofu's CLI, plugin
/// and provider controls, and what this action exports or reads itself (`VAULT_LOGIN_*`, and the
/// `policies` step output: every secret is also an output of its name, and the other outputs,
/// `token-accessor` and `expires-at`, cannot clash since names hold no `-`).
///
/// A list cannot name every variable every tool reads, so it is not the only guard: names that come
/// from Vault data (a `*`'s keys) always carry a prefix the workflow chose (see the `spec` module), and
/// the post step reaches Vault through the proxy settings the main step saved, never through variables
/// exported after it. Proxy variables (`HTTPS_PROXY`) and `DOCKER_HOST` are deliberately allowed as
/// explicit names: they often carry credentials and are a legitimate reason to read Vault. `TF_TOKEN_*`
/// (registry credentials) and `TF_VAR_*` are allowed for the same reason.
static RESERVED: &[Reserved] = table! {
    SHELL => ["PATH", "BASH_ENV", "ENV", "IFS", "PS1", "PS2", "PS4", "SHELLOPTS", "BASHOPTS",
        "HOME", "SHELL", "CDPATH", "PROMPT_COMMAND", "GLOBIGNORE", "BASH_XTRACEFD", "ZDOTDIR",
        "TMPDIR", "BASH_FUNC_*"],
    LOADER => ["LD_*", "DYLD_*", "GCONV_PATH", "HOSTALIASES", "LOCALDOMAIN", "RES_OPTIONS",
        "NLSPATH"],
    INTERPRETER => ["NODE_OPTIONS", "NODE_PATH", "PYTHON*", "PERL5OPT", "PERL5LIB", "PERLLIB",
        "PERL5DB", "RUBYOPT", "RUBYLIB", "JAVA_TOOL_OPTIONS", "_JAVA_OPTIONS",
        "JDK_JAVA_OPTIONS", "CLASSPATH", "MAVEN_OPTS", "GRADLE_OPTS"],
    TOOLCHAIN => ["NPM_CONFIG_*", "YARN_*", "PNPM_*", "COREPACK_*", "PIP_*", "UV_*", "PIPX_*",
        "POETRY_*", "CARGO_*", "RUSTC", "RUSTC_WRAPPER", "RUSTC_WORKSPACE_WRAPPER", "RUSTFLAGS",
        "RUSTDOCFLAGS", "RUSTUP_*", "GOFLAGS", "GOPROXY", "GOSUMDB", "GONOSUMDB", "GONOSUMCHECK",
        "GOINSECURE", "GOPRIVATE", "GONOPROXY", "GOTOOLCHAIN", "GOENV", "GEM_*", "BUNDLE_*"],
    ASKPASS => ["SSH_ASKPASS", "SSH_ASKPASS_REQUIRE", "SUDO_ASKPASS", "EDITOR", "VISUAL", "PAGER",
        "LESSOPEN", "LESSCLOSE", "BROWSER"],
    TLS => ["NODE_TLS_REJECT_UNAUTHORIZED", "NODE_EXTRA_CA_CERTS", "SSL_CERT_FILE",
        "SSL_CERT_DIR", "CURL_CA_BUNDLE", "REQUESTS_CA_BUNDLE"],
    GIT => ["GIT_*"],
    RUNNER => ["GITHUB_*", "GITEA_*", "FORGEJO_*", "RUNNER_*", "ACTIONS_*", "INPUT_*",
        "STATE_*"],
    OWN => ["VAULT_ADDR", "VAULT_TOKEN", "VAULT_NAMESPACE", "VAULT_CACERT", "BAO_ADDR",
        "BAO_TOKEN", "BAO_NAMESPACE", "BAO_CACERT", "TERRAFORM_VAULT_SKIP_CHILD_TOKEN", "VAULT_LOGIN_*"],
    OUTPUT => ["POLICIES"],
    TOFU => ["TF_CLI_*", "TF_PLUGIN*", "TF_REATTACH_PROVIDERS", "TF_DATA_DIR", "TF_LOG", "TF_LOG_PATH",
        "TF_LOG_CORE", "TF_LOG_PROVIDER"],
    UNDERSCORE => ["_"],
};

/// Shows user text safely inside a message: control characters and quotes
/// escaped (a newline in a key must not start a new log line, which could be
/// read as a workflow command), and long text shortened.
pub(crate) fn shown(text: &str) -> String {
    const LIMIT: usize = 64;
    let mut out: String = text.chars().take(LIMIT).flat_map(char::escape_debug).collect();
    if text.chars().nth(LIMIT).is_some() {
        out.push('…');
    }
    out
}

#[cfg(test)]
mod tests;
