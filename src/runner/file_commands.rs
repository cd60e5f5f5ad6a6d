//! File commands: `GITHUB_ENV`, `GITHUB_OUTPUT`, `GITHUB_STATE` and
//! `GITHUB_STEP_SUMMARY`.
//!
//! The strictest reader of ENV/OUTPUT/STATE is act's `parseEnvFile` as
//! shipped in legacy Gitea act_runner and Forgejo (docs/runner-facts.md §1):
//! it reads lines with Go's `bufio.ScanLines` (split on `\n`, strip one
//! trailing `\r`), takes `NAME=value` or `NAME<<DELIM`, joins heredoc lines
//! with `if content != "" { content += "\n" }; content += line`, and fails on
//! any other line, including a blank one. GitHub's runner instead cuts the
//! value out of the file text verbatim. [`render_entries`] only produces files
//! that both read back to exactly the rendered entries:
//!
//! - **Empty value** → `NAME=`. The heredoc `NAME<<d`, empty line, `d` also
//!   reads back as `""` in act (the empty line leaves `content` empty) and in
//!   GitHub, but `NAME=` needs no blank line at all, so no parser can
//!   misread it.
//! - **Value starting with `\n`** → error. act never appends the separator
//!   while `content` is still empty, so leading empty lines vanish.
//! - **Value ending with `\n`** → allowed, rendered as is. The last value
//!   line is then empty, and act appends `"\n" + ""` because `content` is
//!   non-empty by then; GitHub keeps the text up to the newline before the
//!   delimiter line. Both give the value back, as do interior empty lines.
//! - **Value containing `\r`** → error. `ScanLines` strips a `\r` before
//!   every `\n`, and the format has no escape, so there is no faithful
//!   encoding of CRLF text. A lone `\r` elsewhere would survive act, but
//!   GitHub's Windows runner splits on `\r\n` too, and one simple rule is
//!   easier to explain; the caller can base64 such values itself.
//! - **Value containing NUL** → error: ENV and STATE values become process
//!   environment variables of later steps, which cannot hold NUL, and the
//!   failure would surface far from its cause.
//! - **Lines of 64 KiB or more**: see [`LEGACY_LINE_LIMIT`].

use std::fs::OpenOptions;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// Line length, in bytes without the `\n`, from which legacy Gitea
/// act_runner (< v1.0.4) and Forgejo v12 stop reading the file.
///
/// They use `bufio.Scanner`'s default 64 KiB buffer without checking
/// `Scanner.Err()`, so a line of this length or more silently ends parsing
/// (docs/runner-facts.md §1). Since such a line is always inside a heredoc
/// value here, the step then fails with "delimiter … not found", after the
/// earlier entries were applied. Check values with [`has_long_line`] and
/// warn.
pub const LEGACY_LINE_LIMIT: usize = 65536;

/// How many delimiters to draw before concluding the random source is broken.
const MAX_DELIMITER_DRAWS: usize = 8;

/// Whether `value` has a line that legacy runners cannot read (see
/// [`LEGACY_LINE_LIMIT`]), so the caller can warn before writing it.
pub fn has_long_line(value: &str) -> bool {
    value.split('\n').any(|line| line.len() >= LEGACY_LINE_LIMIT)
}

/// Why entries cannot be written as file commands. Messages never include a
/// value, since values are usually secrets.
#[derive(Debug, thiserror::Error)]
pub enum FileCommandError {
    /// The name is empty (act would accept it; GitHub rejects it).
    #[error("file command name is empty")]
    EmptyName,
    /// The name would break the `NAME<<DELIM` / `NAME=` line.
    #[error("file command name {name:?} {reason}")]
    BadName {
        /// The offending name.
        name: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// The value contains `\r`, which act-based runners strip before `\n`.
    #[error(
        "value for {name:?} contains a carriage return (\\r), which act-based runners \
         (Gitea, Forgejo) cannot read back; convert it to LF or base64-encode it"
    )]
    CarriageReturn {
        /// Name of the entry.
        name: String,
    },
    /// The value begins with `\n`, which act-based runners drop.
    #[error(
        "value for {name:?} starts with an empty line, which act-based runners \
         (Gitea, Forgejo) silently drop; strip leading newlines"
    )]
    LeadingNewline {
        /// Name of the entry.
        name: String,
    },
    /// The value contains a NUL byte, which no environment variable can hold.
    #[error("value for {name:?} contains a NUL byte, which cannot be passed to later steps")]
    Nul {
        /// Name of the entry.
        name: String,
    },
    /// The OS random source failed, so no safe delimiter could be drawn.
    #[error("cannot draw a random heredoc delimiter: {0}")]
    Random(#[from] getrandom::Error),
    /// Every drawn delimiter occurred in the value: the random source is
    /// broken, since a collision is otherwise a 2^-128 event.
    #[error("every random heredoc delimiter drawn occurs in the value for {name:?}")]
    DelimiterCollision {
        /// Name of the entry.
        name: String,
    },
    /// Appending to the runner's file failed.
    #[error("cannot append to {}: {source}", path.display())]
    Io {
        /// The file command file.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: io::Error,
    },
}

/// Renders `(name, value)` entries for an env-style file command.
///
/// Each non-empty value becomes `NAME<<ghadelimiter_<32 hex>`, the value,
/// and the delimiter line, with a fresh random delimiter per entry that is
/// re-drawn if the value contains it (the @actions/core guard against
/// delimiter injection, CVE-2022-35954). Empty values become `NAME=`. LF
/// only, no blank line outside a value; see the module docs for the rules.
/// Nothing is rendered unless every entry is valid.
pub fn render_entries(entries: &[(&str, &str)]) -> Result<String, FileCommandError> {
    render_with(entries, &mut random_delimiter)
}

/// [`render_entries`] with an injected delimiter source, for tests.
fn render_with(
    entries: &[(&str, &str)],
    next_delimiter: &mut dyn FnMut() -> Result<String, FileCommandError>,
) -> Result<String, FileCommandError> {
    let mut text = String::new();
    for &(name, value) in entries {
        text.push_str(&render_entry(name, value, next_delimiter)?);
    }
    Ok(text)
}

fn render_entry(
    name: &str,
    value: &str,
    next_delimiter: &mut dyn FnMut() -> Result<String, FileCommandError>,
) -> Result<String, FileCommandError> {
    check_name(name)?;
    check_value(name, value)?;
    if value.is_empty() {
        return Ok(format!("{name}=\n"));
    }
    let delimiter = pick_delimiter(name, value, next_delimiter)?;
    Ok(format!("{name}<<{delimiter}\n{value}\n{delimiter}\n"))
}

fn random_delimiter() -> Result<String, FileCommandError> {
    Ok(format!("ghadelimiter_{}", super::random_token()?))
}

/// Draws delimiters until one occurs in neither the name nor the value.
fn pick_delimiter(
    name: &str,
    value: &str,
    next_delimiter: &mut dyn FnMut() -> Result<String, FileCommandError>,
) -> Result<String, FileCommandError> {
    for _ in 0..MAX_DELIMITER_DRAWS {
        let delimiter = next_delimiter()?;
        if !value.contains(&delimiter) && !name.contains(&delimiter) {
            return Ok(delimiter);
        }
    }
    Err(FileCommandError::DelimiterCollision { name: name.to_owned() })
}

/// Format safety only: the names module does the policy checks.
///
/// With no `=` and no `<<` in the name, and no trailing `<` (which would
/// merge with the heredoc marker), the first `<<` of the header line is ours
/// and there is no `=` before it, so every parser splits it where we meant.
fn check_name(name: &str) -> Result<(), FileCommandError> {
    let bad = |reason| FileCommandError::BadName { name: name.to_owned(), reason };
    if name.is_empty() {
        Err(FileCommandError::EmptyName)
    } else if name.contains('=') {
        Err(bad("contains '='"))
    } else if name.contains("<<") {
        Err(bad("contains '<<'"))
    } else if name.ends_with('<') {
        Err(bad("ends with '<', which would merge with the '<<' heredoc marker"))
    } else if name.contains(['\n', '\r', '\0']) {
        Err(bad("contains a line break or NUL"))
    } else if name.starts_with('\u{feff}') {
        Err(bad("starts with a byte order mark, which some runners strip"))
    } else {
        Ok(())
    }
}

fn check_value(name: &str, value: &str) -> Result<(), FileCommandError> {
    let name = name.to_owned();
    if value.contains('\r') {
        Err(FileCommandError::CarriageReturn { name })
    } else if value.starts_with('\n') {
        Err(FileCommandError::LeadingNewline { name })
    } else if value.contains('\0') {
        Err(FileCommandError::Nul { name })
    } else {
        Ok(())
    }
}

/// Appends `text` to a file command file in one `write_all`.
///
/// `O_APPEND` keeps earlier commands of the same step, and one write keeps
/// the block together as far as the OS allows. No BOM is written: legacy
/// Gitea and Forgejo would read it as part of the first name.
pub fn append(path: &Path, text: &str) -> io::Result<()> {
    let mut file = OpenOptions::new().append(true).create(true).open(path)?;
    file.write_all(text.as_bytes())
}

/// Paths of the runner's file command files; `None` when the runner did not
/// set the variable (e.g. a local run), so the caller can warn.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FileCommands {
    /// `GITHUB_ENV`: environment of later steps.
    pub env: Option<PathBuf>,
    /// `GITHUB_OUTPUT`: `steps.<id>.outputs`.
    pub output: Option<PathBuf>,
    /// `GITHUB_STATE`: `STATE_<name>` in this action's post step.
    pub state: Option<PathBuf>,
    /// `GITHUB_STEP_SUMMARY`: Markdown shown on the run page (GitHub and
    /// Gitea ≥ v2 only).
    pub summary: Option<PathBuf>,
    /// `GITHUB_PATH`: directories put in front of later steps' `PATH`.
    pub path: Option<PathBuf>,
}

impl FileCommands {
    /// Exports entries to later steps; `Ok(false)` if there is no env file.
    pub fn write_env(&self, entries: &[(&str, &str)]) -> Result<bool, FileCommandError> {
        write_entries(self.env.as_deref(), entries)
    }

    /// Sets step outputs; `Ok(false)` if there is no output file.
    pub fn write_output(&self, entries: &[(&str, &str)]) -> Result<bool, FileCommandError> {
        write_entries(self.output.as_deref(), entries)
    }

    /// Saves state for the post step; `Ok(false)` if there is no state file.
    pub fn write_state(&self, entries: &[(&str, &str)]) -> Result<bool, FileCommandError> {
        write_entries(self.state.as_deref(), entries)
    }

    /// Puts `dir` in front of later steps' `PATH`; `Ok(false)` if there is no path file. A directory
    /// whose name holds a line break would add another line, so it is refused.
    pub fn write_path(&self, dir: &Path) -> Result<bool, FileCommandError> {
        let text = dir.to_str().filter(|t| !t.contains(['\n', '\r'])).ok_or_else(|| FileCommandError::Io {
            path: dir.to_owned(),
            source: std::io::Error::other("not a single line of UTF-8, which GITHUB_PATH cannot hold"),
        })?;
        write_text(self.path.as_deref(), &format!("{text}\n"))
    }

    /// Appends Markdown verbatim; `Ok(false)` if there is no summary file.
    pub fn write_summary(&self, markdown: &str) -> Result<bool, FileCommandError> {
        write_text(self.summary.as_deref(), markdown)
    }
}

/// Renders all entries first, so an invalid one writes nothing.
fn write_entries(path: Option<&Path>, entries: &[(&str, &str)]) -> Result<bool, FileCommandError> {
    match path {
        None => Ok(false),
        Some(path) => write_text(Some(path), &render_entries(entries)?),
    }
}

fn write_text(path: Option<&Path>, text: &str) -> Result<bool, FileCommandError> {
    let Some(path) = path else { return Ok(false) };
    if !text.is_empty() {
        append(path, text).map_err(|source| FileCommandError::Io { path: path.to_owned(), source })?;
    }
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A delimiter source that returns the scripted delimiters in order.
    fn scripted(list: &[&str]) -> impl FnMut() -> Result<String, FileCommandError> {
        let mut items: Vec<String> = list.iter().rev().map(|s| (*s).to_owned()).collect();
        move || Ok(items.pop().unwrap_or_else(|| "fallback".to_owned()))
    }

    #[test]
    fn renders_heredoc_with_random_delimiter() -> Result<(), FileCommandError> {
        let text = render_entries(&[("VAULT_TOKEN", "s.abc")])?;
        let (header, rest) = text.split_once('\n').unwrap_or_default();
        let delimiter = header.strip_prefix("VAULT_TOKEN<<").unwrap_or_default();
        assert_eq!(delimiter.len(), "ghadelimiter_".len() + 32);
        assert!(delimiter.starts_with("ghadelimiter_"));
        assert_eq!(rest, format!("s.abc\n{delimiter}\n"));
        Ok(())
    }

    #[test]
    fn each_entry_gets_a_fresh_delimiter() -> Result<(), FileCommandError> {
        let text = render_entries(&[("A", "1"), ("B", "2")])?;
        let headers: Vec<&str> = text.lines().filter(|l| l.contains("<<")).collect();
        assert_eq!(headers.len(), 2);
        assert_ne!(headers[0][3..], headers[1][3..]);
        Ok(())
    }

    #[test]
    fn redraws_a_delimiter_found_in_the_value() -> Result<(), FileCommandError> {
        let mut source = scripted(&["EOF", "xEOFx", "D2"]);
        let text = render_with(&[("N", "a\nEOF\nb xEOFx")], &mut source)?;
        assert_eq!(text, "N<<D2\na\nEOF\nb xEOFx\nD2\n");
        Ok(())
    }

    #[test]
    fn gives_up_when_the_source_keeps_colliding() {
        let mut source = || Ok("same".to_owned());
        let err = render_with(&[("N", "same")], &mut source);
        assert!(matches!(err, Err(FileCommandError::DelimiterCollision { .. })));
    }

    #[test]
    fn empty_value_uses_equals_form() -> Result<(), FileCommandError> {
        assert_eq!(render_entries(&[("EMPTY", "")])?, "EMPTY=\n");
        Ok(())
    }

    #[test]
    fn trailing_newline_is_kept_inside_the_heredoc() -> Result<(), FileCommandError> {
        let mut source = scripted(&["D"]);
        assert_eq!(render_with(&[("N", "a\n")], &mut source)?, "N<<D\na\n\nD\n");
        Ok(())
    }

    #[test]
    fn refuses_values_act_cannot_read_back() {
        let cases = [("a\r\nb", "carriage"), ("x\r", "carriage"), ("\nx", "empty line"), ("a\0b", "NUL")];
        for (value, needle) in cases {
            let err = render_entries(&[("N", value)]).map(|_| ()).unwrap_err().to_string();
            assert!(err.contains(needle) && err.contains("\"N\""), "{err}");
            assert!(!err.contains(value), "error must not echo the value: {err}");
        }
    }

    #[test]
    fn refuses_names_that_break_the_header() {
        for name in ["", "A=B", "A<<B", "A<", "A\nB", "A\rB", "A\0B", "\u{feff}A"] {
            assert!(render_entries(&[(name, "v")]).is_err(), "{name:?}");
            assert!(render_entries(&[(name, "")]).is_err(), "{name:?}");
        }
        assert!(render_entries(&[("A<B", "v"), ("a.b-c", "v")]).is_ok());
    }

    #[test]
    fn one_bad_entry_renders_nothing() {
        assert!(render_entries(&[("GOOD", "v"), ("BAD", "\r")]).is_err());
    }

    #[test]
    fn long_line_detection_boundary() {
        assert!(!has_long_line(&"x".repeat(LEGACY_LINE_LIMIT - 1)));
        assert!(has_long_line(&"x".repeat(LEGACY_LINE_LIMIT)));
        assert!(has_long_line(&format!("short\n{}\n", "y".repeat(LEGACY_LINE_LIMIT + 5))));
        assert!(!has_long_line(&format!("{0}\n{0}", "z".repeat(40_000))));
    }

    #[test]
    fn append_creates_then_appends() -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("env");
        append(&path, "A=1\n")?;
        append(&path, "B=2\n")?;
        assert_eq!(std::fs::read_to_string(&path)?, "A=1\nB=2\n");
        Ok(())
    }

    #[test]
    fn file_commands_write_to_set_paths_only() -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let files = FileCommands {
            output: Some(dir.path().join("out")),
            summary: Some(dir.path().join("summary.md")),
            ..FileCommands::default()
        };
        assert!(!files.write_env(&[("A", "1")])?);
        assert!(!files.write_state(&[("A", "1")])?);
        assert!(files.write_output(&[("A", "")])?);
        assert!(files.write_summary("# Vault\n")?);
        assert_eq!(std::fs::read_to_string(dir.path().join("out"))?, "A=\n");
        assert_eq!(std::fs::read_to_string(dir.path().join("summary.md"))?, "# Vault\n");
        Ok(())
    }

    #[test]
    fn invalid_entries_do_not_touch_the_file() -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let files = FileCommands { env: Some(dir.path().join("env")), ..FileCommands::default() };
        assert!(files.write_env(&[("OK", "v"), ("BAD", "\nv")]).is_err());
        assert!(!dir.path().join("env").exists());
        Ok(())
    }

    #[test]
    fn io_errors_name_the_file() {
        let files = FileCommands { state: Some(PathBuf::from("/nonexistent-dir/state")), ..FileCommands::default() };
        let err = files.write_state(&[("A", "1")]).map(|_| ()).unwrap_err();
        assert!(err.to_string().contains("/nonexistent-dir/state"), "{err}");
    }
}
