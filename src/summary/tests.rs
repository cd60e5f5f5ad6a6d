use pulldown_cmark::{Event, Options, Parser, Tag, TagEnd};
use secrecy::SecretString;

use super::*;
use crate::config::JobContext;
use crate::export_names::Source;
use crate::fetch::Secret;
use crate::inputs::Inputs;

/// Key names an attacker with write access to one KV path could choose.
const HOSTILE: [&str; 8] = [
    "db\r# pwned",
    "[x](http://evil.example)",
    "<img src=x onerror=alert(1)>",
    "a|b",
    "`code` and ``two``",
    "*bold* _em_ ~~strike~~ &amp; \\| !",
    "http://evil.example/autolink",
    "bidi\u{202e}gpj.exe\u{1b}[31m\n| x | y |",
];

fn config(role: &str) -> Config {
    let env: Vec<(String, String)> = [
        ("INPUT_DRY-RUN", "true"),
        ("INPUT_APP", "webapp"),
        ("INPUT_URL", "https://vault.example.org"),
        ("INPUT_ROLE", role),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    Config::from_env(&env, Inputs::default(), JobContext::default(), JobContext::default).unwrap()
}

fn login(policies: &[&str]) -> Login {
    Login {
        token: SecretString::from("s.token"),
        accessor: "acc".into(),
        policies: policies.iter().map(|p| p.to_string()).collect(),
        lease_duration: 900,
    }
}

/// One secret per hostile text, used as the path and as the key, and a skipped entry for each.
fn hostile_summary() -> String {
    let secret = |i: usize, text: &str| Secret {
        name: format!("NAME_{i}"),
        source: Source { path: format!("kvv2/{text}"), version: None, key: text.to_owned() },
        value: SecretString::from("value"),
        lease: None,
        version: Some(1),
    };
    let fetched = Fetched {
        secrets: HOSTILE.iter().enumerate().map(|(i, t)| secret(i, t)).collect(),
        skipped: HOSTILE.iter().map(|t| Skipped { path: format!("kvv2/{t}"), key: Some(t.to_string()) }).collect(),
        credentials: Vec::new(),
    };
    render(&config("role-<b>"), &login(&["default", "[p](http://evil.example)"]), &fetched, OffsetDateTime::UNIX_EPOCH)
}

#[test]
fn control_characters_are_shown_as_escapes() {
    assert_eq!(visible("db\r# pwned"), "db\\r# pwned");
    assert_eq!(visible("a\nb\tc\u{1b}[0m\u{202e}\u{200b}"), "a\\nb\\tc\\u{1b}[0m\\u{202e}\\u{200b}");
    assert_eq!(
        visible("back\\r slash, \"quotes\" and 'ticks', é 日本"),
        "back\\\\r slash, \"quotes\" and 'ticks', é 日本"
    );
}

#[test]
fn every_text_is_one_code_span() {
    assert_eq!(code("kvv2/webapp/config"), "`kvv2/webapp/config`");
    assert_eq!(code("[x](http://evil)"), "`[x](http://evil)`");
    assert_eq!(code("<img src=x>"), "`<img src=x>`");
    assert_eq!(code("a``b`c"), "```a``b`c```");
    assert_eq!(code("`x`"), "`` `x` ``");
    assert_eq!(code("db\r# pwned"), "`db\\r# pwned`");
    assert_eq!(cell("a|b"), "`a\\|b`");
    assert_eq!(cell("a\\|b"), "`a\\\\\\|b`", "a backslash before `|` is doubled, so `\\|` stays the cell's escape");
}

#[test]
fn hostile_names_keep_the_table_and_add_no_markup() {
    let md = hostile_summary();
    assert!(!md.contains(['\r', '\u{1b}', '\u{202e}']), "{md}");
    let table_rows = md.lines().filter(|l| l.starts_with("| ")).count();
    assert_eq!(table_rows, 1 + HOSTILE.len(), "one header and one row per secret:\n{md}");
    let (mut headings, mut cells, mut code, mut html, mut links, mut text_outside_code) =
        (0, 0, 0, 0, 0, String::new());
    for event in Parser::new_ext(&md, Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH) {
        match event {
            Event::Start(Tag::Heading { .. }) => headings += 1,
            Event::Start(Tag::TableCell) => cells += 1,
            Event::Start(Tag::Link { .. } | Tag::Image { .. } | Tag::Emphasis | Tag::Strong | Tag::Strikethrough) => {
                links += 1
            }
            Event::Html(_) | Event::InlineHtml(_) => html += 1,
            Event::Code(_) => code += 1,
            Event::Text(text) => text_outside_code.push_str(&text),
            Event::End(TagEnd::TableCell) => text_outside_code.push('|'),
            _ => {}
        }
    }
    assert_eq!((headings, links, html), (1, 0, 0), "only `### vault-login` is markup:\n{md}");
    assert_eq!(cells, 5 * (1 + HOSTILE.len()), "no cell split or merged:\n{md}");
    // Name, path and key per row; path and key per skipped line; address, role, two policies, accessor.
    assert_eq!(code, 3 * HOSTILE.len() + 2 * HOSTILE.len() + 5, "{md}");
    assert!(!text_outside_code.contains("evil"), "hostile text outside code spans: {text_outside_code}");
}

#[test]
fn hostile_texts_read_back_exactly() {
    let md = hostile_summary();
    let spans: Vec<String> = Parser::new_ext(&md, Options::ENABLE_TABLES)
        .filter_map(|e| match e {
            Event::Code(text) => Some(text.into_string()),
            _ => None,
        })
        .collect();
    for text in HOSTILE {
        assert!(spans.contains(&visible(text)), "{text:?} not shown as {:?} in {spans:#?}", visible(text));
    }
    assert!(spans.contains(&"role-<b>".to_owned()) && spans.contains(&"[p](http://evil.example)".to_owned()));
}
