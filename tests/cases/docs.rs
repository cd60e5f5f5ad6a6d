//! The docs keep up with the code: the inputs table is generated from `action.yml`, every error message
//! of the binary has a troubleshooting entry, and relative links point at files that exist.
//! `VAULT_LOGIN_BLESS=1 cargo test --test cli docs::` rewrites the generated part of docs/inputs.md.

use std::path::{Path, PathBuf};

use crate::support::emulator::{Action, repo_root};

const BEGIN: &str = "<!-- generated from action.yml by tests/cases/docs.rs: begin -->\n";
const END: &str = "<!-- generated: end -->\n";

/// A table cell: one line, pipes escaped (GitHub's tables accept `\|`, even in code spans).
fn cell(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ").replace('|', "\\|")
}

/// The inputs and outputs tables, from `action.yml`.
fn tables(action: &Action) -> String {
    let mut md = String::from("| Input | Default | Description |\n|---|---|---|\n");
    for input in &action.inputs {
        let default = match input.default.as_deref() {
            None | Some("") => String::new(),
            Some(value) => format!("`{}`", cell(value)),
        };
        let description = cell(input.description.as_deref().unwrap_or_default());
        md.push_str(&format!("| `{}` | {default} | {description} |\n", input.name));
    }
    md.push_str("\n| Output | Description |\n|---|---|\n");
    for output in &action.outputs {
        md.push_str(&format!("| `{}` | {} |\n", output.name, cell(output.description.as_deref().unwrap_or_default())));
    }
    md
}

#[test]
fn inputs_md_is_generated_from_action_yml() {
    let action = Action::load(&repo_root()).expect("action.yml");
    let path = repo_root().join("docs/inputs.md");
    let doc = std::fs::read_to_string(&path).expect("docs/inputs.md");
    let (head, rest) = doc.split_once(BEGIN).expect("the begin marker in docs/inputs.md");
    let (current, tail) = rest.split_once(END).expect("the end marker in docs/inputs.md");
    let expected = tables(&action);
    if current == expected {
        return;
    }
    if std::env::var_os("VAULT_LOGIN_BLESS").is_some() {
        std::fs::write(&path, format!("{head}{BEGIN}{expected}{END}{tail}")).expect("write docs/inputs.md");
        return;
    }
    panic!("docs/inputs.md is stale: run `VAULT_LOGIN_BLESS=1 cargo test --test cli docs::`. Expected:\n{expected}");
}

#[test]
fn every_input_is_in_the_table_once() {
    let action = Action::load(&repo_root()).expect("action.yml");
    let table = tables(&action);
    for input in &action.inputs {
        let rows = table.lines().filter(|l| l.starts_with(&format!("| `{}` |", input.name))).count();
        assert_eq!(rows, 1, "{}", input.name);
    }
    assert!(table.contains("| `url` |  |"), "an empty default shows as an empty cell:\n{table}");
    assert!(table.contains("| `mount` | `jwt` |"), "{table}");
}

/// The string literal of each `#[error("...")]` under `src/`, continuation lines joined.
fn error_messages(dir: &Path) -> Vec<(PathBuf, String)> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).expect("src/") {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            found.extend(error_messages(&path));
            continue;
        }
        if path.extension().is_none_or(|e| e != "rs") {
            continue;
        }
        let text = std::fs::read_to_string(&path).expect("source");
        for (at, _) in text.match_indices("#[error(") {
            let after = text[at + 8..].trim_start();
            if let Some(literal) = after.strip_prefix('"').and_then(string_literal) {
                found.push((path.clone(), literal));
            }
        }
    }
    found
}

/// The body of a Rust string literal (the text after its opening quote), `\`-newline continuations joined.
fn string_literal(text: &str) -> Option<String> {
    let mut out = String::new();
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        match c {
            '"' => return Some(out),
            '\\' => match chars.next()? {
                '\n' => {
                    let rest: String = chars.clone().collect();
                    let skipped = rest.len() - rest.trim_start().len();
                    chars = text[text.len() - rest.len() + skipped..].chars();
                }
                'n' => out.push('\n'),
                other => out.push(other),
            },
            c => out.push(c),
        }
    }
    None
}

/// The longest fixed part of a message (between `{...}` placeholders): what a user can search for.
fn fixed_part(message: &str) -> String {
    let mut parts = vec![String::new()];
    let mut chars = message.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '{' if chars.peek() == Some(&'{') => {
                chars.next();
                parts.last_mut().expect("a part").push('{');
            }
            '}' if chars.peek() == Some(&'}') => {
                chars.next();
                parts.last_mut().expect("a part").push('}');
            }
            '{' => {
                chars.by_ref().take_while(|&c| c != '}').for_each(drop);
                parts.push(String::new());
            }
            c => parts.last_mut().expect("a part").push(c),
        }
    }
    let longest = parts.into_iter().max_by_key(|p| p.trim().len()).unwrap_or_default();
    longest.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[test]
fn troubleshooting_has_every_error_message() {
    let doc = std::fs::read_to_string(repo_root().join("docs/troubleshooting.md")).expect("docs/troubleshooting.md");
    let doc = doc.split_whitespace().collect::<Vec<_>>().join(" ");
    let messages = error_messages(&repo_root().join("src"));
    assert!(messages.len() > 20, "the scan finds the error messages: {messages:?}");
    let missing: Vec<String> = messages
        .iter()
        .map(|(file, message)| (file, fixed_part(message)))
        .filter(|(_, fixed)| fixed.len() >= 12 && !doc.contains(fixed.as_str()))
        .map(|(file, fixed)| format!("{}: {fixed:?}", file.strip_prefix(repo_root()).unwrap_or(file).display()))
        .collect();
    assert!(missing.is_empty(), "docs/troubleshooting.md lacks these messages:\n  {}", missing.join("\n  "));
}

#[test]
fn the_fixed_part_of_a_message_is_what_users_search_for() {
    assert_eq!(fixed_part("secret `{path}` not found (read at `{api_path}`); check"), "` not found (read at `");
    assert_eq!(fixed_part("input `{input}` is required: {hint}"), "` is required:");
    assert_eq!(fixed_part("add `path {{ x }}` to the policy"), "add `path { x }` to the policy");
    assert_eq!(string_literal("a \\\n    b\"rest"), Some("a b".to_owned()));
}

/// `[text](target)` links of a Markdown text that point into the repository.
fn relative_links(text: &str) -> Vec<String> {
    let mut links = Vec::new();
    for (at, _) in text.match_indices("](") {
        let rest = &text[at + 2..];
        let Some(end) = rest.find(')') else { continue };
        let target = rest[..end].split('#').next().unwrap_or_default();
        if !target.is_empty() && !target.contains("://") && !target.starts_with("mailto:") {
            links.push(target.to_owned());
        }
    }
    links
}

#[test]
fn relative_links_resolve() {
    let docs = std::fs::read_dir(repo_root().join("docs")).expect("docs/");
    let mut files: Vec<PathBuf> =
        docs.map(|e| e.expect("entry").path()).filter(|p| p.extension().is_some_and(|e| e == "md")).collect();
    files.extend(["README.md", "CHANGELOG.md"].map(|f| repo_root().join(f)));
    let mut broken = Vec::new();
    for file in files.iter().filter(|f| f.exists()) {
        let text = std::fs::read_to_string(file).expect("markdown");
        for link in relative_links(&text) {
            if !file.parent().expect("a folder").join(&link).exists() {
                broken.push(format!("{}: {link}", file.display()));
            }
        }
    }
    assert!(broken.is_empty(), "links to missing files:\n  {}", broken.join("\n  "));
}
