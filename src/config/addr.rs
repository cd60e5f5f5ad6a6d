//! The `url` input (or `VAULT_ADDR`): Vault's base address, checked before any request.
//!
//! The address is printed in every log line and exported as `VAULT_ADDR`, so a value that carries a
//! credential, or one that is not an address at all, is refused without being echoed whole.

use url::Url;

use super::ConfigError;

/// Where the dry run pretends Vault is when no address was given.
const DRY_RUN_ADDR: &str = "https://vault.example.org";

/// Longer than any real address (a host name is at most 253 characters); the limit keeps a pasted
/// document out of every message and request.
const MAX_ADDR_CHARS: usize = 2048;

/// How much of a rejected address a message quotes.
const EXCERPT_CHARS: usize = 80;

/// The address to use, and whether it is the dry run's placeholder.
pub(super) fn addr(input: Option<&str>, env: Option<&str>, dry_run: bool) -> Result<(Url, bool), ConfigError> {
    let (raw, placeholder) = match (input, env.filter(|v| !v.is_empty())) {
        (Some(v), _) | (None, Some(v)) => (v, false),
        (None, None) if dry_run => (DRY_RUN_ADDR, true),
        (None, None) => {
            return Err(ConfigError::Missing {
                input: "url",
                hint: "set `url: https://vault.example.org` in the step's `with:` or VAULT_ADDR in the job's env",
            });
        }
    };
    parse(raw.trim()).map(|url| (url, placeholder)).map_err(|problem| ConfigError::Invalid { input: "url", problem })
}

fn parse(raw: &str) -> Result<Url, String> {
    let length = raw.chars().count();
    if length > MAX_ADDR_CHARS {
        return Err(format!("is {length} characters long; an address has at most {MAX_ADDR_CHARS}"));
    }
    let shown = excerpt(raw);
    let url = Url::parse(raw).map_err(|e| format!("`{shown}` is not a URL ({e})"))?;
    if !matches!(url.scheme(), "http" | "https") || url.host().is_none() {
        return Err(format!("`{shown}` must be an http:// or https:// address with a host"));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(format!("`{shown}` must not carry a query or fragment"));
    }
    if !url.username().is_empty() || url.password().is_some() {
        // Said without echoing the value: it holds a credential, which would land in every log line.
        return Err("must not carry a user or password (`user:pass@`): Vault does not read them, and the \
                    address is printed and exported as VAULT_ADDR"
            .into());
    }
    if url.path_segments().is_some_and(|mut segments| segments.any(|s| s == "v1")) {
        // Every request appends `/v1/...` itself; a pasted API prefix turns the login into
        // `/v1/v1/auth/jwt/login`, which Vault answers with a 403 that reads like a policy problem.
        return Err(format!(
            "`{shown}` contains the API prefix `/v1`: give Vault's base address (`{}`), the way \
             VAULT_ADDR is written; the step adds `/v1/` to every request itself",
            without_api_prefix(&url)
        ));
    }
    Ok(url)
}

/// The address a user most likely meant: everything before the `/v1` segment.
fn without_api_prefix(url: &Url) -> String {
    let mut base = url.clone();
    let kept: Vec<&str> = url.path_segments().into_iter().flatten().take_while(|s| *s != "v1").collect();
    base.set_path(&kept.join("/"));
    base.as_str().trim_end_matches('/').to_owned()
}

fn excerpt(raw: &str) -> String {
    match raw.char_indices().nth(EXCERPT_CHARS) {
        Some((end, _)) => format!("{}...", &raw[..end]),
        None => raw.to_owned(),
    }
}
