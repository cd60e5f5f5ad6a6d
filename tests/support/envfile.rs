//! Reference parsers for runner env files (`GITHUB_ENV`/`GITHUB_OUTPUT`/`GITHUB_STATE`), faithful to the
//! runners' own code, quirks included, so tests can check what a runner would really read back.
//!
//! - [`parse_env_file`]: act's `parseEnvFile` as in legacy Gitea (gitea/act v0.261.x) and Forgejo v12,
//!   without the line-length limit (nektos reads lines up to 1 GiB and Gitea ≥ v1.0.4 up to 16 MiB).
//! - [`parse_env_file_legacy_buffer`]: the same with legacy `bufio.Scanner`'s 64 KiB buffer, whose
//!   overflow silently ends the scan (legacy code never checks `s.Err()`).
//! - [`parse_env_file_github`]: actions/runner `SetEnvFileCommand` on Linux.
//!
//! Each returns the assignments in file order, duplicates included (the runners keep the last one).

/// `bufio.Scanner`'s default maximum token size (`bufio.MaxScanTokenSize`).
const GO_MAX_SCAN_TOKEN_SIZE: usize = 64 * 1024;

/// act's `parseEnvFile`, line for line:
///
/// ```go
/// for s.Scan() {
///     line := s.Text()
///     singleLineEnv := strings.Index(line, "=")
///     multiLineEnv := strings.Index(line, "<<")
///     if singleLineEnv != -1 && (multiLineEnv == -1 || singleLineEnv < multiLineEnv) {
///         localEnv[line[:singleLineEnv]] = line[singleLineEnv+1:]
///     } else if multiLineEnv != -1 {
///         multiLineEnvContent := ""
///         multiLineEnvDelimiter := line[multiLineEnv+2:]
///         delimiterFound := false
///         for s.Scan() {
///             content := s.Text()
///             if content == multiLineEnvDelimiter { delimiterFound = true; break }
///             if multiLineEnvContent != "" { multiLineEnvContent += "\n" }
///             multiLineEnvContent += content
///         }
///         if !delimiterFound { return fmt.Errorf("invalid format delimiter '%v' not found before end of file", …) }
///         localEnv[line[:multiLineEnv]] = multiLineEnvContent
///     } else {
///         return fmt.Errorf("invalid format '%v', expected a line with '=' or '<<'", line)
///     }
/// }
/// ```
///
/// Quirks kept: lines split on `\n` with one trailing `\r` stripped (`bufio.ScanLines`); no trimming; `=`
/// wins over `<<` when it comes first; leading empty lines of a heredoc value are dropped (the `!= ""`
/// test); a blank line outside a value is an error; EOF before the delimiter is an error.
pub fn parse_env_file(text: &str) -> Result<Vec<(String, String)>, String> {
    parse_act(scan_lines(text, None))
}

/// [`parse_env_file`] as legacy Gitea act_runner (< v1.0.4) and Forgejo v12 run it: a line of 64 KiB or
/// more (without its `\n`) does not fit the scanner buffer, so scanning stops there without an error, and
/// only an unterminated heredoc turns that into one.
pub fn parse_env_file_legacy_buffer(text: &str) -> Result<Vec<(String, String)>, String> {
    parse_act(scan_lines(text, Some(GO_MAX_SCAN_TOKEN_SIZE)))
}

/// Go's `bufio.ScanLines` tokens: split on `\n`, drop one trailing `\r`, no token for the empty rest after a
/// final `\n`. With `max_token`, stop at the first line that cannot fit the buffer together with its
/// terminator (the scanner needs the `\n` in the buffer to end a token; at EOF a line of `max_token` bytes
/// also fails, because the buffer fills before EOF is seen).
fn scan_lines(text: &str, max_token: Option<usize>) -> Vec<&str> {
    let mut lines: Vec<&str> = text.split('\n').collect();
    if text.is_empty() || text.ends_with('\n') {
        lines.pop();
    }
    if let Some(max) = max_token
        && let Some(too_long) = lines.iter().position(|line| line.len() >= max)
    {
        lines.truncate(too_long);
    }
    lines.into_iter().map(|line| line.strip_suffix('\r').unwrap_or(line)).collect()
}

fn parse_act(lines: Vec<&str>) -> Result<Vec<(String, String)>, String> {
    let mut pairs = Vec::new();
    let mut lines = lines.into_iter();
    while let Some(line) = lines.next() {
        match (line.find('='), line.find("<<")) {
            (Some(i), j) if j.is_none_or(|j| i < j) => pairs.push((line[..i].to_owned(), line[i + 1..].to_owned())),
            (_, Some(j)) => {
                let delimiter = &line[j + 2..];
                let mut content = String::new();
                let mut found = false;
                for content_line in lines.by_ref() {
                    if content_line == delimiter {
                        found = true;
                        break;
                    }
                    if !content.is_empty() {
                        content.push('\n');
                    }
                    content.push_str(content_line);
                }
                if !found {
                    return Err(format!("invalid format delimiter '{delimiter}' not found before end of file"));
                }
                pairs.push((line[..j].to_owned(), content));
            }
            _ => return Err(format!("invalid format '{line}', expected a line with '=' or '<<'")),
        }
    }
    Ok(pairs)
}

/// actions/runner `SetEnvFileCommand.ProcessCommand` (Linux build): empty lines outside a value are
/// skipped; a heredoc value is the file text from after the header line up to the newline that precedes the
/// delimiter line, kept verbatim (no `\r` stripping, no dropped empty lines); name and delimiter must be
/// non-empty.
pub fn parse_env_file_github(text: &str) -> Result<Vec<(String, String)>, String> {
    let mut pairs = Vec::new();
    let mut index = 0;
    while let Some((line, _)) = read_line(text, &mut index) {
        if line.is_empty() {
            continue;
        }
        match (line.find('='), line.find("<<")) {
            (Some(i), j) if j.is_none_or(|j| i < j) => pairs.push((line[..i].to_owned(), line[i + 1..].to_owned())),
            (_, Some(j)) => {
                let (name, delimiter) = (&line[..j], &line[j + 2..]);
                if name.is_empty() || delimiter.is_empty() {
                    return Err(format!(
                        "Invalid format '{line}'. Name must not be empty and delimiter must not be empty"
                    ));
                }
                let start = index;
                let mut end = index;
                loop {
                    match read_line(text, &mut index) {
                        None => return Err(format!("Invalid value. Matching delimiter not found '{delimiter}'")),
                        Some((l, _)) if l == delimiter => break,
                        Some((_, newline_len)) => end = index - newline_len,
                    }
                }
                pairs.push((name.to_owned(), text[start..end.max(start)].to_owned()));
            }
            _ => return Err(format!("Invalid format '{line}'")),
        }
    }
    Ok(pairs)
}

/// GitHub's `ReadLine`: the text up to the next `\n` and the length of the newline consumed (0 at EOF).
fn read_line<'a>(text: &'a str, index: &mut usize) -> Option<(&'a str, usize)> {
    let rest = text.get(*index..).filter(|rest| !rest.is_empty())?;
    match rest.find('\n') {
        Some(lf) => {
            *index += lf + 1;
            Some((&rest[..lf], 1))
        }
        None => {
            *index = text.len();
            Some((rest, 0))
        }
    }
}
