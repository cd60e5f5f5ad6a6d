//! Plain-text tables: one row per check, columns padded so that what Vault expects and what the token
//! carries read side by side.

use std::fmt::Write as _;

/// The outcome of one comparison.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Vault would accept this part.
    Ok,
    /// Vault would refuse the login (or the read) because of this part.
    Fail,
    /// Worth knowing, not a cause of refusal.
    Note,
}

impl Verdict {
    fn label(self) -> &'static str {
        match self {
            Self::Ok => "ok",
            Self::Fail => "FAIL",
            Self::Note => "note",
        }
    }
}

/// One row: what is checked, what Vault is configured with, what the token (or policy) has, the verdict.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Row {
    pub check: String,
    pub vault: String,
    pub actual: String,
    pub verdict: Verdict,
}

impl Row {
    pub fn new(
        check: impl Into<String>,
        vault: impl Into<String>,
        actual: impl Into<String>,
        verdict: Verdict,
    ) -> Self {
        Self { check: check.into(), vault: vault.into(), actual: actual.into(), verdict }
    }
}

/// Renders `rows` under `headers` (check, Vault side, token side, result), two spaces between columns.
pub fn render(headers: [&str; 4], rows: &[Row]) -> String {
    let cells: Vec<[&str; 4]> = rows.iter().map(|r| [&*r.check, &*r.vault, &*r.actual, r.verdict.label()]).collect();
    let mut widths = headers.map(|h| h.chars().count());
    for row in &cells {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    for row in std::iter::once(headers).chain(cells) {
        let mut line = String::from(" ");
        for (i, cell) in row.iter().enumerate() {
            let _ = write!(line, " {cell:width$} ", width = if i == 3 { 0 } else { widths[i] });
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_line_up() {
        let rows = [
            Row::new("role_type", "jwt", "-", Verdict::Ok),
            Row::new("bound_claims.ref", "refs/heads/* (glob)", "refs/tags/v1", Verdict::Fail),
        ];
        let text = render(["CHECK", "VAULT", "TOKEN", "RESULT"], &rows);
        assert_eq!(
            text,
            "  CHECK             VAULT                TOKEN         RESULT\n\
             \x20 role_type         jwt                  -             ok\n\
             \x20 bound_claims.ref  refs/heads/* (glob)  refs/tags/v1  FAIL\n"
        );
    }
}
