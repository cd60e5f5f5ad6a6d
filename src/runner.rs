//! Talking to the runner: workflow commands on stdout and file commands.
//!
//! Every supported runner (GitHub, Gitea act_runner old and new, Forgejo)
//! reads the same two channels, with different parsers. This module writes
//! the subset that all of them parse the same way; the details and the
//! reasons are in `commands` (stdout) and `file_commands` (GITHUB_ENV & co).

mod commands;
mod file_commands;

pub use commands::{Log, MaskOutcome, escape_data};
pub use file_commands::{FileCommandError, FileCommands, LEGACY_LINE_LIMIT, append, has_long_line, render_entries};

/// 32 lowercase hex characters from the OS random source.
///
/// Used for heredoc delimiters and stop-commands tokens, which must be
/// unguessable by whoever controls the text they fence (a secret value, a
/// server message).
fn random_token() -> Result<String, getrandom::Error> {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes)?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn random_token_is_32_hex_and_fresh() -> Result<(), getrandom::Error> {
        let (a, b) = (random_token()?, random_token()?);
        assert_eq!(a.len(), 32);
        assert!(a.bytes().all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase()));
        assert_ne!(a, b);
        Ok(())
    }
}
