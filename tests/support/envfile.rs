//! PLACEHOLDER (written by the harness helper; the envfile helper replaces it): parses a runner env file
//! (`GITHUB_ENV`/`GITHUB_OUTPUT`/`GITHUB_STATE`) like act's `parseEnvFile`.

/// `NAME=value` lines and `NAME<<DELIM` heredocs, in file order.
pub fn parse_env_file(text: &str) -> Result<Vec<(String, String)>, String> {
    let mut pairs = Vec::new();
    let mut lines = text.lines();
    while let Some(line) = lines.next() {
        let (eq, heredoc) = (line.find('='), line.find("<<"));
        match (eq, heredoc) {
            (Some(i), j) if j.is_none_or(|j| i < j) => pairs.push((line[..i].to_owned(), line[i + 1..].to_owned())),
            (_, Some(j)) => {
                let (name, delim) = (&line[..j], &line[j + 2..]);
                let mut value: Vec<&str> = Vec::new();
                loop {
                    match lines.next() {
                        Some(l) if l == delim => break,
                        Some(l) => value.push(l),
                        None => return Err(format!("invalid format delimiter '{delim}' not found before end of file")),
                    }
                }
                pairs.push((name.to_owned(), value.join("\n")));
            }
            _ => return Err(format!("invalid format '{line}', expected a line with '=' or '<<'")),
        }
    }
    Ok(pairs)
}
