//! Workflow commands (`::add-mask::`, `::error::`, `::debug::`, …) on stdout.
//!
//! act parses a command only from a complete line ending in `\n`
//! (docs/runner-facts.md §2), so every command is written as one full line
//! with a single `write_all` and flushed at once. Message data is escaped the
//! way @actions/core does, which is also what every runner un-escapes.

use std::io::Write;

use crate::mask::{Unmaskable, check_mask};

/// Escapes workflow-command data like @actions/core (`%`, `\r`, `\n`).
///
/// This keeps a message on one line, so text we do not control (a server
/// error, a path) can never start a second, injected command line.
pub fn escape_data(data: &str) -> String {
    data.replace('%', "%25").replace('\r', "%0D").replace('\n', "%0A")
}

/// What [`Log::mask`] did with a value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MaskOutcome {
    /// Emitted in forms that every runner family registers as the value.
    Masked,
    /// Emitted escaped only. The value contains `%25`, `%0A` or `%0D`, so an
    /// unescaped copy would be decoded into a different string by GitHub and
    /// Gitea ≥ v3; runners that register the data without un-escaping it
    /// (legacy Gitea act_runner, Forgejo) will therefore not mask it.
    MaskedEscapedOnly,
    /// Not emitted: empty or whitespace only.
    SkippedBlank,
    /// Not emitted: fewer than [`crate::mask::MIN_MASK_CHARS`] characters.
    SkippedTooShort,
    /// Not emitted: contains a line break; emit each line instead.
    SkippedMultiLine,
    /// Writing the command failed (stdout is gone); stop before using the
    /// value.
    WriteFailed,
}

impl MaskOutcome {
    /// Whether the runner got the mask, in at least one form.
    pub fn is_emitted(self) -> bool {
        matches!(self, Self::Masked | Self::MaskedEscapedOnly)
    }
}

/// Workflow-command writer over any `Write`, so tests capture the output.
///
/// The caller passes stdout in production and decides `debug` from
/// `RUNNER_DEBUG=1`. Methods do not return write errors: the log is the
/// only place to report them, so there is nothing useful a caller could do
/// per line. Only [`Log::mask`] reports a failure, as
/// [`MaskOutcome::WriteFailed`], since a mask that did not reach the runner
/// must stop the caller.
pub struct Log<W: Write> {
    out: W,
    debug: bool,
}

impl<W: Write> Log<W> {
    /// Wraps `out`; `debug` enables [`Log::debug`] lines.
    pub fn new(out: W, debug: bool) -> Self {
        Self { out, debug }
    }

    /// Whether debug lines are emitted (the runner has step debug on).
    pub fn debug_enabled(&self) -> bool {
        self.debug
    }

    /// Gives back the writer (tests read the captured bytes from it).
    pub fn into_inner(self) -> W {
        self.out
    }

    /// Registers one single-line value with the runner's log masker.
    ///
    /// The value is trimmed (a trimmed mask hides strictly more) and must be
    /// one line of at least 3 characters; otherwise nothing is written, since
    /// an empty mask garbles the whole log on legacy Gitea and a 1–2
    /// character one hides common text everywhere. Use
    /// [`crate::mask::mask_forms`] to get the lines and encodings of a secret.
    ///
    /// A value containing `::` is still emitted: the Gitea reporters parse
    /// `::add-mask::a::b` correctly, only act's local console log does not.
    ///
    /// When the value contains `%`, the escaped line is what GitHub and Gitea
    /// ≥ v3 decode back to the value, but legacy act_runner and Forgejo
    /// register the data as written, i.e. still escaped. So the value is then
    /// also written unescaped, unless it contains one of the three escape
    /// sequences, which the un-escaping runners would decode into some other
    /// string (see [`MaskOutcome::MaskedEscapedOnly`]).
    pub fn mask(&mut self, value: &str) -> MaskOutcome {
        let mask = match check_mask(value) {
            Ok(mask) => mask,
            Err(Unmaskable::Blank) => return MaskOutcome::SkippedBlank,
            Err(Unmaskable::TooShort) => return MaskOutcome::SkippedTooShort,
            Err(Unmaskable::MultiLine) => return MaskOutcome::SkippedMultiLine,
        };
        let escaped_only = ["%25", "%0A", "%0D"].iter().any(|seq| mask.contains(seq));
        let mut written = self.command("add-mask", mask);
        if mask.contains('%') && !escaped_only {
            written = written && self.line(&format!("::add-mask::{mask}"));
        }
        match (written, escaped_only) {
            (false, _) => MaskOutcome::WriteFailed,
            (true, false) => MaskOutcome::Masked,
            (true, true) => MaskOutcome::MaskedEscapedOnly,
        }
    }

    /// `::debug::`, written only when debug is on (shown only then anyway,
    /// and skipping it keeps large debug dumps out of normal runs).
    pub fn debug(&mut self, message: &str) {
        if self.debug {
            self.command("debug", message);
        }
    }

    /// `::notice::` annotation (a log line on Gitea and Forgejo).
    pub fn notice(&mut self, message: &str) {
        self.command("notice", message);
    }

    /// `::warning::` annotation (a highlighted log line on Gitea and Forgejo).
    pub fn warning(&mut self, message: &str) {
        self.command("warning", message);
    }

    /// `::error::` annotation. It does not fail the step: exit non-zero.
    pub fn error(&mut self, message: &str) {
        self.command("error", message);
    }

    /// Plain log text, written as is (it may span several lines).
    ///
    /// If any line would be parsed as a workflow command (starts with `::`
    /// after leading whitespace, or contains `##[`), the text is fenced with
    /// `::stop-commands::<random>` … `::<random>::`, which every runner
    /// honours. Legacy Gitea still accepts `::set-env`, so an unfenced line
    /// from a server message could otherwise inject environment variables.
    /// If no random token can be drawn, the text is written escaped instead.
    pub fn info(&mut self, message: &str) {
        if !looks_like_command(message) {
            self.line(message);
            return;
        }
        match super::random_token() {
            Ok(token) => self.line(&format!("::stop-commands::{token}\n{message}\n::{token}::")),
            Err(_) => self.line(&escape_data(message)),
        };
    }

    /// Writes `::name::data` with the data escaped; false if it failed.
    fn command(&mut self, name: &str, data: &str) -> bool {
        self.line(&format!("::{name}::{}", escape_data(data)))
    }

    /// Writes `text` plus `\n` in one call and flushes, so a runner never
    /// sees half a command line. Returns false if that failed.
    fn line(&mut self, text: &str) -> bool {
        let mut bytes = Vec::with_capacity(text.len() + 1);
        bytes.extend_from_slice(text.as_bytes());
        bytes.push(b'\n');
        self.out.write_all(&bytes).and_then(|()| self.out.flush()).is_ok()
    }
}

/// Whether some line of `text` would be taken as a workflow command by one of
/// the runners: GitHub trims leading whitespace before looking for `::` and
/// finds `##[` anywhere; act and Gitea anchor both at the line start.
fn looks_like_command(text: &str) -> bool {
    text.split(['\n', '\r']).any(|line| line.trim_start().starts_with("::") || line.contains("##["))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io;

    fn log(debug: bool) -> Log<Vec<u8>> {
        Log::new(Vec::new(), debug)
    }

    fn output(log: Log<Vec<u8>>) -> String {
        String::from_utf8_lossy(&log.into_inner()).into_owned()
    }

    #[test]
    fn escape_data_matches_actions_core() {
        assert_eq!(escape_data("100% a\r\nb"), "100%25 a%0D%0Ab");
        assert_eq!(escape_data("%0A"), "%250A");
        assert_eq!(escape_data("a::b,c:d"), "a::b,c:d");
    }

    #[test]
    fn annotations_are_single_escaped_lines() {
        let mut log = log(false);
        log.notice("n");
        log.warning("w1\nw2");
        log.error("50% done");
        assert_eq!(output(log), "::notice::n\n::warning::w1%0Aw2\n::error::50%25 done\n");
    }

    #[test]
    fn debug_only_when_enabled() {
        let mut quiet = log(false);
        quiet.debug("hidden");
        assert_eq!(output(quiet), "");
        let mut loud = log(true);
        assert!(loud.debug_enabled());
        loud.debug("shown\nhere");
        assert_eq!(output(loud), "::debug::shown%0Ahere\n");
    }

    #[test]
    fn info_is_plain() {
        let mut log = log(false);
        log.info("Logged in to https://vault:8200 (role ci)");
        log.info("two\nlines: a::b");
        assert_eq!(output(log), "Logged in to https://vault:8200 (role ci)\ntwo\nlines: a::b\n");
    }

    #[test]
    fn info_fences_command_lookalikes() {
        for text in ["ok\n  ::set-env name=X::y", "::error::x", "see ##[add-mask]v"] {
            let mut log = log(false);
            log.info(text);
            let out = output(log);
            let lines: Vec<&str> = out.lines().collect();
            let token = lines[0].strip_prefix("::stop-commands::").unwrap_or_default();
            assert_eq!(token.len(), 32, "{out}");
            assert_eq!(lines[lines.len() - 1], format!("::{token}::"));
            assert_eq!(lines[1..lines.len() - 1].join("\n"), text);
        }
    }

    #[test]
    fn mask_emits_trimmed_value() {
        let mut log = log(false);
        assert_eq!(log.mask("  s3cr3t \n"), MaskOutcome::Masked);
        assert_eq!(output(log), "::add-mask::s3cr3t\n");
    }

    #[test]
    fn mask_skips_unsafe_values() {
        let mut log = log(false);
        assert_eq!(log.mask(""), MaskOutcome::SkippedBlank);
        assert_eq!(log.mask(" \t "), MaskOutcome::SkippedBlank);
        assert_eq!(log.mask("ab"), MaskOutcome::SkippedTooShort);
        assert_eq!(log.mask(" x "), MaskOutcome::SkippedTooShort);
        assert_eq!(log.mask("abc\ndef"), MaskOutcome::SkippedMultiLine);
        assert_eq!(log.mask("abc\rdef"), MaskOutcome::SkippedMultiLine);
        assert!(!MaskOutcome::SkippedTooShort.is_emitted());
        assert_eq!(output(log), "");
    }

    #[test]
    fn mask_keeps_double_colons() {
        let mut log = log(false);
        assert_eq!(log.mask("a::b::c"), MaskOutcome::Masked);
        assert_eq!(output(log), "::add-mask::a::b::c\n");
    }

    #[test]
    fn mask_with_percent_is_also_emitted_raw() {
        let mut log = log(false);
        assert_eq!(log.mask("p%ss%41w"), MaskOutcome::Masked);
        assert_eq!(output(log), "::add-mask::p%25ss%2541w\n::add-mask::p%ss%41w\n");
    }

    #[test]
    fn mask_with_escape_sequence_is_escaped_only() {
        for value in ["ab%25cd", "ab%0Acd", "ab%0Dcd"] {
            let mut log = log(false);
            let outcome = log.mask(value);
            assert_eq!(outcome, MaskOutcome::MaskedEscapedOnly);
            assert!(outcome.is_emitted());
            assert_eq!(output(log), format!("::add-mask::{}\n", escape_data(value)));
        }
    }

    /// Records writes and flushes, to check one write per line.
    #[derive(Default)]
    struct Recorder {
        writes: Vec<Vec<u8>>,
        flushes: usize,
    }

    impl Write for Recorder {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.writes.push(buf.to_vec());
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            self.flushes += 1;
            Ok(())
        }
    }

    #[test]
    fn each_command_is_one_write_then_flush() {
        let mut log = Log::new(Recorder::default(), false);
        log.error("boom");
        log.info("done");
        let rec = log.into_inner();
        assert_eq!(rec.writes, vec![b"::error::boom\n".to_vec(), b"done\n".to_vec()]);
        assert_eq!(rec.flushes, 2);
    }

    /// A writer whose every write fails, like a closed stdout.
    struct Broken;

    impl Write for Broken {
        fn write(&mut self, _: &[u8]) -> io::Result<usize> {
            Err(io::Error::from(io::ErrorKind::BrokenPipe))
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn write_failures_are_reported() {
        let mut log = Log::new(Broken, false);
        log.warning("lost");
        assert_eq!(log.mask("s3cr3t"), MaskOutcome::WriteFailed);
        assert_eq!(log.mask("p%ss%41w"), MaskOutcome::WriteFailed);
        assert!(!MaskOutcome::WriteFailed.is_emitted());
    }
}
