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
    "are exported by this action itself for the Vault/OpenBao login, so a secret would break or redirect it";
const OUTPUT: &str = "are this action's own step output (`policies`, the token's policies), so a secret exported under \
     that name would silently replace it";
const TOFU: &str = "change how OpenTofu loads its CLI config, providers, arguments or logs, so a secret could run code, alter the plan or leak values";
const UNDERSCORE: &str = "are overwritten by the shell after every command, so the value would be lost";

/// Builds the flat table from groups sharing one reason.
macro_rules! table {
    ($($why:ident => [$($rule:literal),+ $(,)?]),+ $(,)?) => {
        &[$($(Reserved { rule: $rule, why: $why },)+)+]
    };
}

/// Names a secret may never be exported as. A trailing `*` marks a prefix.
///
/// Chosen as "could hijack later steps or the runner": shell start-up and
/// command lookup, dynamic loaders, interpreter option/library variables, TLS
/// trust, git, the runner's own variables (`GITHUB_*`, `RUNNER_*`,
/// `ACTIONS_*`, and `INPUT_*`/`STATE_*` used by actions), OpenTofu's CLI
/// controls, and what this action exports itself (env vars, and the
/// `policies` step output: every secret is also an output of its name, and
/// the other outputs, `token-accessor` and `expires-at`, cannot clash since
/// names hold no `-`). Proxy variables
/// (`HTTPS_PROXY`) and `DOCKER_HOST` are deliberately allowed: they often
/// carry credentials and are a legitimate reason to read Vault. `TF_TOKEN_*`
/// (registry credentials) and `TF_VAR_*` are allowed for the same reason.
static RESERVED: &[Reserved] = table! {
    SHELL => ["PATH", "BASH_ENV", "ENV", "IFS", "PS1", "PS2", "PS4", "SHELLOPTS", "BASHOPTS",
        "HOME", "SHELL", "CDPATH", "PROMPT_COMMAND", "GLOBIGNORE", "BASH_XTRACEFD", "ZDOTDIR",
        "TMPDIR", "BASH_FUNC_*"],
    LOADER => ["LD_*", "DYLD_*", "GCONV_PATH", "HOSTALIASES", "LOCALDOMAIN", "RES_OPTIONS",
        "NLSPATH"],
    INTERPRETER => ["NODE_OPTIONS", "NODE_PATH", "PYTHON*", "PERL5OPT", "PERL5LIB", "PERLLIB",
        "PERL5DB", "RUBYOPT", "RUBYLIB", "JAVA_TOOL_OPTIONS", "_JAVA_OPTIONS",
        "JDK_JAVA_OPTIONS", "CLASSPATH", "NPM_CONFIG_*"],
    TLS => ["NODE_TLS_REJECT_UNAUTHORIZED", "NODE_EXTRA_CA_CERTS", "SSL_CERT_FILE",
        "SSL_CERT_DIR", "CURL_CA_BUNDLE", "REQUESTS_CA_BUNDLE"],
    GIT => ["GIT_*"],
    RUNNER => ["GITHUB_*", "GITEA_*", "FORGEJO_*", "RUNNER_*", "ACTIONS_*", "INPUT_*",
        "STATE_*"],
    OWN => ["VAULT_ADDR", "VAULT_TOKEN", "VAULT_NAMESPACE", "VAULT_CACERT", "BAO_ADDR",
        "BAO_TOKEN", "BAO_NAMESPACE", "BAO_CACERT", "TERRAFORM_VAULT_SKIP_CHILD_TOKEN"],
    OUTPUT => ["POLICIES"],
    TOFU => ["TF_CLI_*", "TF_PLUGIN_CACHE_DIR", "TF_DATA_DIR", "TF_LOG", "TF_LOG_PATH",
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
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn problem(name: &str) -> Problem {
        check(name).unwrap_err().problem
    }

    impl NameError {
        /// Well-formed but reserved: only another name fixes it.
        fn is_reserved(&self) -> bool {
            matches!(self.problem, Problem::Reserved { .. })
        }
    }

    // --- Naming input ---

    #[test]
    fn naming_parses_both_values() {
        assert_eq!("default".parse::<Naming>().unwrap(), Naming::Default);
        assert_eq!("vault-action".parse::<Naming>().unwrap(), Naming::VaultAction);
        assert_eq!(" vault-action\n".parse::<Naming>().unwrap(), Naming::VaultAction);
        assert_eq!(Naming::default(), Naming::Default);
    }

    #[test]
    fn naming_error_names_the_input() {
        let err = "x".parse::<Naming>().unwrap_err();
        assert_eq!(err.to_string(), "input `naming`: expected `default` or `vault-action`, got `x`");
        for bad in ["", "Default", "vault_action", "vaultaction"] {
            assert!(bad.parse::<Naming>().is_err(), "{bad:?}");
        }
    }

    #[test]
    fn naming_error_escapes_and_shortens() {
        let err = "a\nb".parse::<Naming>().unwrap_err().to_string();
        assert!(err.ends_with("got `a\\nb`"), "{err}");
        let long = "y".repeat(500);
        let err = long.parse::<Naming>().unwrap_err().to_string();
        assert!(err.len() < 200 && err.ends_with("…`"), "{err}");
    }

    // --- default naming ---

    #[test]
    fn default_upper_cases_and_replaces() {
        let n = |k| default_name(k, Naming::Default);
        assert_eq!(n("db_host"), "DB_HOST");
        assert_eq!(n("db-host"), "DB_HOST");
        assert_eq!(n("api.key"), "API_KEY");
        assert_eq!(n("a.b.c"), "A_B_C");
        assert_eq!(n("with space/slash"), "WITH_SPACE_SLASH");
        assert_eq!(n("Already_UPPER9"), "ALREADY_UPPER9");
    }

    #[test]
    fn default_prefixes_a_leading_digit() {
        assert_eq!(default_name("1password", Naming::Default), "_1PASSWORD");
        assert_eq!(default_name("9", Naming::Default), "_9");
    }

    #[test]
    fn default_replaces_each_non_ascii_char() {
        assert_eq!(default_name("clé", Naming::Default), "CL_");
        assert_eq!(default_name("测试", Naming::Default), "__");
        // `ß` would upper-case to `SS` under Unicode rules; names stay ASCII.
        assert_eq!(default_name("straße", Naming::Default), "STRA_E");
    }

    #[test]
    fn empty_key_gives_refused_underscore() {
        assert_eq!(default_name("", Naming::Default), "_");
        assert_eq!(default_name("", Naming::VaultAction), "_");
        assert!(check("_").unwrap_err().is_reserved());
    }

    #[test]
    fn wildcard_prefix_keeps_key_case() {
        let n = |p, k| prefixed_name(p, k, Naming::Default);
        assert_eq!(n("TF_VAR_", "db-host"), "TF_VAR_db_host");
        assert_eq!(n("TF_VAR_", "DbHost"), "TF_VAR_DbHost");
        assert_eq!(n("TF_VAR_", "1st"), "TF_VAR_1st");
        assert_eq!(n("TF_VAR_", "clé"), "TF_VAR_cl_");
        assert_eq!(n("TF_VAR_", ""), "TF_VAR_");
    }

    #[test]
    fn wildcard_without_prefix_is_default_naming() {
        for key in ["db-host", "DbHost", "1st", "a.b", ""] {
            assert_eq!(prefixed_name("", key, Naming::Default), default_name(key, Naming::Default));
        }
    }

    #[test]
    fn prefixed_name_is_total_for_bad_prefixes() {
        assert_eq!(prefixed_name("1-", "x", Naming::Default), "_1_x");
    }

    // --- vault-action naming (expectations from vault-action's own tests and issues) ---

    #[test]
    fn vault_action_simple_keys() {
        let n = |k| default_name(k, Naming::VaultAction);
        // src/action.test.js: `test key` -> env `KEY`; README: npmToken -> NPMTOKEN.
        assert_eq!(n("key"), "KEY");
        assert_eq!(n("npmToken"), "NPMTOKEN");
        // src/action.test.js "nested secret retrieval": `key.value` -> `KEY__VALUE`.
        assert_eq!(n("key.value"), "KEY__VALUE");
    }

    #[test]
    fn vault_action_only_first_dot_becomes_double_underscore() {
        // Issue #579: `my.secret.value` -> `MY__SECRETVALUE` in v3.3.0.
        assert_eq!(default_name("my.secret.value", Naming::VaultAction), "MY__SECRETVALUE");
    }

    #[test]
    fn vault_action_drops_hyphens_and_punctuation() {
        // Issue #577: `test-123` -> `test123` (upper-cased for env).
        assert_eq!(default_name("test-123", Naming::VaultAction), "TEST123");
        assert_eq!(default_name("db-host", Naming::VaultAction), "DBHOST");
        assert_eq!(default_name("a b/c*d\"e", Naming::VaultAction), "ABCDE");
        assert_eq!(default_name("under_score", Naming::VaultAction), "UNDER_SCORE");
    }

    #[test]
    fn vault_action_non_ascii_and_digits() {
        assert_eq!(default_name("测试", Naming::VaultAction), "__");
        assert_eq!(default_name("1key", Naming::VaultAction), "_1KEY");
        assert_eq!(default_name("-1", Naming::VaultAction), "_1");
        assert_eq!(default_name("---", Naming::VaultAction), "_");
    }

    #[test]
    fn vault_action_wildcard_upper_cases_prefix_and_key() {
        // Issue #536: `secret/data/ci/aws * | MYAPP_` exports `MYAPP_ACCESSKEY`.
        assert_eq!(prefixed_name("MYAPP_", "accessKey", Naming::VaultAction), "MYAPP_ACCESSKEY");
        assert_eq!(prefixed_name("TF_VAR_", "db-host", Naming::VaultAction), "TF_VAR_DBHOST");
        assert_eq!(prefixed_name("tf_", "a.b.c", Naming::VaultAction), "TF_A__BC");
        // `path *`: the request name is empty, so each key alone is normalized.
        assert_eq!(prefixed_name("", "accessKey", Naming::VaultAction), "ACCESSKEY");
    }

    // --- check: syntax ---

    #[test]
    fn check_accepts_valid_names() {
        for name in ["DB_HOST", "_private", "a", "TF_VAR_db_host", "x9", "PATHS", "MY_PATH"] {
            assert_eq!(check(name), Ok(()), "{name}");
        }
        assert_eq!(check(&"A".repeat(MAX_NAME_LEN)), Ok(()));
    }

    #[test]
    fn check_refuses_empty() {
        assert_eq!(problem(""), Problem::Empty);
    }

    #[test]
    fn check_refuses_invalid_chars() {
        assert_eq!(problem("db-host"), Problem::InvalidChar('-'));
        assert_eq!(problem("a b"), Problem::InvalidChar(' '));
        assert_eq!(problem("clé"), Problem::InvalidChar('é'));
        assert_eq!(problem("a=b"), Problem::InvalidChar('='));
        assert_eq!(problem("a\nb"), Problem::InvalidChar('\n'));
    }

    #[test]
    fn check_refuses_leading_digit() {
        assert_eq!(problem("1X"), Problem::LeadingDigit);
    }

    #[test]
    fn check_refuses_too_long() {
        assert_eq!(problem(&"A".repeat(256)), Problem::TooLong(256));
    }

    // --- check: reserved ---

    #[test]
    fn check_refuses_every_exact_name_in_the_brief() {
        for name in [
            "PATH",
            "BASH_ENV",
            "ENV",
            "NODE_OPTIONS",
            "NODE_PATH",
            "IFS",
            "PS4",
            "SHELLOPTS",
            "BASHOPTS",
            "HOME",
            "SHELL",
            "CDPATH",
            "PROMPT_COMMAND",
            "PERL5OPT",
            "PERL5LIB",
            "RUBYOPT",
            "RUBYLIB",
            "JAVA_TOOL_OPTIONS",
            "_JAVA_OPTIONS",
            "VAULT_ADDR",
            "VAULT_TOKEN",
            "VAULT_NAMESPACE",
            "VAULT_CACERT",
            "BAO_ADDR",
            "BAO_TOKEN",
            "BAO_NAMESPACE",
            "BAO_CACERT",
            "TERRAFORM_VAULT_SKIP_CHILD_TOKEN",
        ] {
            let err = check(name).unwrap_err();
            assert!(err.is_reserved(), "{name}: {err}");
        }
    }

    #[test]
    fn check_refuses_every_prefix_in_the_brief() {
        for name in [
            "LD_PRELOAD",
            "DYLD_INSERT_LIBRARIES",
            "PYTHONPATH",
            "PYTHONSTARTUP",
            "GITHUB_ENV",
            "GITHUB_PATH",
            "GITEA_TOKEN",
            "FORGEJO_TOKEN",
            "RUNNER_TEMP",
            "ACTIONS_RUNTIME_TOKEN",
            "INPUT_SECRETS",
            "STATE_X",
            "GIT_SSH_COMMAND",
            "GIT_CONFIG_COUNT",
        ] {
            let err = check(name).unwrap_err();
            assert!(err.is_reserved(), "{name}: {err}");
        }
    }

    #[test]
    fn check_refuses_extra_hijack_vectors() {
        for name in [
            "PS1",
            "GLOBIGNORE",
            "BASH_XTRACEFD",
            "ZDOTDIR",
            "TMPDIR",
            "BASH_FUNC_X",
            "GCONV_PATH",
            "HOSTALIASES",
            "PERLLIB",
            "PERL5DB",
            "JDK_JAVA_OPTIONS",
            "CLASSPATH",
            "NPM_CONFIG_REGISTRY",
            "NODE_TLS_REJECT_UNAUTHORIZED",
            "NODE_EXTRA_CA_CERTS",
            "SSL_CERT_FILE",
            "CURL_CA_BUNDLE",
            "REQUESTS_CA_BUNDLE",
            "TF_CLI_ARGS",
            "TF_CLI_ARGS_plan",
            "TF_CLI_CONFIG_FILE",
            "TF_PLUGIN_CACHE_DIR",
            "TF_LOG",
            "TF_LOG_PATH",
            "_",
        ] {
            assert!(check(name).unwrap_err().is_reserved(), "{name}");
        }
    }

    #[test]
    fn check_reserved_ignores_case() {
        for name in ["path", "Path", "ld_preload", "Github_Env", "vault_token", "tf_cli_args"] {
            assert!(check(name).unwrap_err().is_reserved(), "{name}");
        }
    }

    #[test]
    fn check_allows_useful_neighbours() {
        for name in [
            "TF_VAR_path",
            "TF_TOKEN_app_terraform_io",
            "HTTPS_PROXY",
            "DOCKER_HOST",
            "PATH_TO_X",
            "MY_GITHUB_TOKEN",
            "AWS_ACCESS_KEY_ID",
            "PGPASSWORD",
            "VAULT_ROLE",
            "__",
        ] {
            assert_eq!(check(name), Ok(()), "{name}");
        }
    }

    #[test]
    fn check_refuses_the_actions_own_output_name() {
        for name in ["policies", "POLICIES", "Policies"] {
            let err = check(name).unwrap_err();
            assert_eq!(err.problem, Problem::Reserved { rule: "POLICIES", why: OUTPUT }, "{name}");
            let msg = err.to_string();
            assert!(msg.contains("this action's own step output (`policies`"), "{msg}");
        }
        for name in ["POLICIES_X", "MY_POLICIES", "POLICY"] {
            assert_eq!(check(name), Ok(()), "{name}");
        }
        assert_eq!(check_prefix("POLICIES"), Ok(()), "a prefix only yields longer names");
    }

    // --- messages ---

    #[test]
    fn reserved_message_says_which_why_and_fix() {
        let msg = check("ld_preload").unwrap_err().to_string();
        assert!(msg.starts_with("export name `ld_preload` is refused: names matching `LD_*`"), "{msg}");
        assert!(msg.contains("compared ignoring case"), "{msg}");
        assert!(msg.contains("inject code"), "{msg}");
        assert!(msg.ends_with("; choose another name with \"| NAME\""), "{msg}");
    }

    #[test]
    fn syntax_messages_say_which_why_and_fix() {
        assert_eq!(
            check("db-host").unwrap_err().to_string(),
            "export name `db-host` contains `-`, but a variable name may only hold ASCII \
             letters, digits and `_`; choose another name with \"| NAME\""
        );
        assert_eq!(
            check("").unwrap_err().to_string(),
            "export name `` is empty; a variable name needs at least one character; \
             choose another name with \"| NAME\""
        );
        let msg = check("1X").unwrap_err().to_string();
        assert!(msg.contains("`1X` starts with a digit"), "{msg}");
        let msg = check(&"A".repeat(300)).unwrap_err().to_string();
        assert!(msg.contains("300 characters long, more than the 255 allowed"), "{msg}");
        assert!(msg.len() < 300, "the name is shortened: {msg}");
    }

    #[test]
    fn messages_escape_control_characters() {
        let msg = check("A\n::add-mask::x").unwrap_err().to_string();
        assert!(!msg.contains('\n'), "{msg}");
        assert!(msg.contains("`A\\n::add-mask::x`"), "{msg}");
    }

    // --- check_prefix ---

    #[test]
    fn prefix_check_accepts_normal_prefixes() {
        for prefix in ["TF_VAR_", "MYAPP_", "_", "PATH", "A"] {
            assert_eq!(check_prefix(prefix), Ok(()), "{prefix}");
        }
    }

    #[test]
    fn prefix_check_refuses_reserved_prefixes() {
        let err = check_prefix("github_x").unwrap_err();
        assert!(err.is_reserved());
        assert_eq!(err.subject, Subject::Prefix);
        assert!(err.to_string().starts_with("name prefix `github_x` is refused"));
        assert!(err.to_string().ends_with("choose another prefix with \"* | PREFIX\""));
        assert!(check_prefix("LD_").unwrap_err().is_reserved());
        assert!(check_prefix("PYTHONX").unwrap_err().is_reserved());
    }

    #[test]
    fn prefix_check_refuses_bad_syntax() {
        assert_eq!(check_prefix("TF-VAR").unwrap_err().problem, Problem::InvalidChar('-'));
        assert_eq!(check_prefix("1_").unwrap_err().problem, Problem::LeadingDigit);
        assert_eq!(check_prefix("").unwrap_err().problem, Problem::Empty);
    }

    // --- properties ---

    fn is_shell_name(name: &str) -> bool {
        let mut chars = name.chars();
        chars.next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
            && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
    }

    /// Derived names always have a valid shape; `check` can refuse them only
    /// as reserved, or as too long when the key itself is very long.
    fn assert_usable(name: &str) -> Result<(), TestCaseError> {
        prop_assert!(is_shell_name(name), "not a shell name: {:?}", name);
        match check(name) {
            Ok(()) => {}
            Err(err) => match err.problem {
                Problem::Reserved { .. } => {}
                Problem::TooLong(len) => prop_assert!(len > MAX_NAME_LEN),
                other => prop_assert!(false, "{:?} refused for {:?}", name, other),
            },
        }
        Ok(())
    }

    fn naming() -> impl Strategy<Value = Naming> {
        prop_oneof![Just(Naming::Default), Just(Naming::VaultAction)]
    }

    fn key() -> impl Strategy<Value = String> {
        prop_oneof![any::<String>(), "[a-zA-Z0-9_.\\-]{0,40}", "[ -~]{0,40}", "\\PC{0,300}",]
    }

    fn prefix() -> impl Strategy<Value = String> {
        prop_oneof![Just(String::new()), "[A-Za-z_][A-Za-z0-9_]{0,12}"]
    }

    proptest! {
        #[test]
        fn default_names_are_always_usable(key in key(), naming in naming()) {
            assert_usable(&default_name(&key, naming))?;
        }

        #[test]
        fn prefixed_names_are_always_usable(
            prefix in prefix(),
            key in key(),
            naming in naming(),
        ) {
            assert_usable(&prefixed_name(&prefix, &key, naming))?;
        }

        #[test]
        fn default_prefix_is_kept_verbatim(prefix in "[A-Za-z_][A-Za-z0-9_]{0,12}", key in key()) {
            prop_assert!(prefixed_name(&prefix, &key, Naming::Default).starts_with(&prefix));
        }

        #[test]
        fn valid_explicit_names_pass_unless_reserved(name in "[A-Za-z_][A-Za-z0-9_]{0,254}") {
            match check(&name) {
                Ok(()) => {}
                Err(err) => prop_assert!(err.is_reserved(), "{}", err),
            }
        }

        #[test]
        fn check_never_panics_and_messages_are_one_line(name in any::<String>()) {
            if let Err(err) = check(&name) {
                prop_assert!(!err.to_string().contains('\n'));
            }
        }
    }
}
