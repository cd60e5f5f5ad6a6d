//! Properties of the parser over arbitrary and grammar-shaped input.

use super::*;

// --- properties ---

/// Text drawn mostly from the grammar's own characters, so that both
/// valid requests and every kind of mistake come up.
fn grammarish() -> impl Strategy<Value = String> {
    proptest::collection::vec(
        prop_oneof![
            4 => "[a-z]{1,4}",
            1 => Just("/".to_owned()),
            1 => Just(" ".to_owned()),
            1 => Just("\t".to_owned()),
            1 => Just("|".to_owned()),
            1 => Just(";".to_owned()),
            1 => Just("#".to_owned()),
            1 => Just("@".to_owned()),
            1 => Just("*".to_owned()),
            1 => Just("\n".to_owned()),
            1 => Just("\r\n".to_owned()),
            1 => "[0-9]{1,3}",
            1 => "[A-Z_]{1,5}",
            1 => "[é测\u{a0}\u{1}\u{2028}.\\-]",
        ],
        0..40,
    )
    .prop_map(|parts| parts.concat())
}

/// Lines that are mostly valid requests, mixed with grammar-ish noise,
/// so that `Ok` results (and late-in-the-line errors) are common.
fn requestish() -> impl Strategy<Value = String> {
    let line = "[ \t]{0,2}[a-z]{1,3}(/[a-z][a-z.]{0,2}){0,2}(@[0-9]{1,2})?[ \t]{1,2}\
                    ([a-z_é]{1,4}|\\*)([ \t]{0,2}\\|[ \t]{0,2}[A-Za-z_][A-Za-z0-9_]{0,4})?\
                    [ \t]{0,2}(#[^\n]{0,5}|;)?";
    proptest::collection::vec(prop_oneof![4 => line.boxed(), 1 => grammarish().boxed()], 0..5)
        .prop_map(|lines| lines.join("\n"))
}

fn arbitrary_input() -> impl Strategy<Value = String> {
    prop_oneof![any::<String>(), grammarish(), requestish(), requestish(), "\\PC{0,2000}", ".{0,200}",]
}

/// The `line`-th line (1-based) of the input, as `parse` splits it.
fn nth_line(input: &str, line: usize) -> Option<&str> {
    input.split('\n').nth(line.checked_sub(1)?)
}

proptest! {
    #[test]
    fn parse_never_panics(input in arbitrary_input()) {
        let _ = parse(&input);
    }

    #[test]
    fn positions_point_into_the_input(input in arbitrary_input()) {
        match parse(&input) {
            Ok(requests) => {
                for request in requests {
                    let line = nth_line(&input, request.line);
                    prop_assert!(line.is_some(), "line {} outside {:?}", request.line, input);
                    let rest: String = line
                        .unwrap_or_default()
                        .chars()
                        .skip(request.column - 1)
                        .collect();
                    prop_assert!(
                        rest.starts_with(&request.path),
                        "{:?} at {}:{} does not start with {:?}",
                        input, request.line, request.column, request.path
                    );
                }
            }
            Err(err) => {
                let line = nth_line(&input, err.line);
                prop_assert!(line.is_some(), "error line {} outside {:?}", err.line, input);
                let width = line.unwrap_or_default().chars().count();
                prop_assert!(err.column >= 1 && err.column <= width + 1, "{}", err);
                prop_assert!(!err.to_string().contains('\n'), "{}", err);
            }
        }
    }

    #[test]
    fn rendered_requests_parse_back(
        requests in proptest::collection::vec(parts(), 1..6),
        layout in proptest::collection::vec(layout(), 6),
    ) {
        let (input, positions) = render(&requests, &layout);
        let parsed = parse(&input);
        prop_assert!(parsed.is_ok(), "{:?}: {:?}", input, parsed);
        let parsed = parsed.unwrap_or_default();
        prop_assert_eq!(parsed.len(), requests.len(), "{:?}", input);
        for ((request, expected), position) in parsed.iter().zip(&requests).zip(&positions) {
            prop_assert_eq!(&request.path, &expected.path);
            prop_assert_eq!(request.version, expected.version);
            prop_assert_eq!(&request.selector, &expected.selector);
            prop_assert_eq!(&request.target, &expected.target);
            prop_assert_eq!((request.line, request.column), *position, "{:?}", input);
        }
    }
}

/// The parts of one valid request.
#[derive(Debug, Clone)]
struct Parts {
    path: String,
    version: Option<u64>,
    selector: Selector,
    target: Target,
}

/// How one request is laid out: whitespace choices, how it is separated
/// from the next one, and whether a comment follows.
#[derive(Debug, Clone)]
struct Layout {
    before: String,
    between: String,
    around_bar: (String, String),
    after: String,
    semicolon: bool,
    comment: bool,
    blank_lines: usize,
}

fn parts() -> impl Strategy<Value = Parts> {
    let segment = "[A-Za-z0-9_+=:\\-][A-Za-z0-9_.+=:\\-]{0,8}";
    let path = proptest::collection::vec(segment, 1..4).prop_map(|s| s.join("/"));
    let version = proptest::option::of(1..=u64::MAX);
    let selector = prop_oneof![
        1 => Just(Selector::All),
        3 => prop_oneof!["[A-Za-z0-9_.\\-]{1,12}", "\\p{L}{1,6}", "[!-~&&[^*|;#]]{1,8}"]
            .prop_map(Selector::Key),
    ];
    (path, version, selector).prop_flat_map(|(path, version, selector)| {
        let name = "[A-Za-z_][A-Za-z0-9_]{0,12}";
        let target = match selector {
            Selector::All => {
                name.prop_filter("usable prefix", |p| names::check_prefix(p).is_ok()).prop_map(Target::Prefix).boxed()
            }
            Selector::Key(_) => prop_oneof![
                Just(Target::Default),
                name.prop_filter("usable name", |n| names::check(n).is_ok()).prop_map(Target::Name),
            ]
            .boxed(),
        };
        (Just(path), Just(version), Just(selector), target).prop_map(|(path, version, selector, target)| Parts {
            path,
            version,
            selector,
            target,
        })
    })
}

fn layout() -> impl Strategy<Value = Layout> {
    let maybe = "[ \t]{0,3}";
    let some = "[ \t]{1,3}";
    (maybe, some, (maybe, maybe), maybe, any::<bool>(), any::<bool>(), 0..3usize).prop_map(
        |(before, between, around_bar, after, semicolon, comment, blank_lines)| Layout {
            before,
            between,
            around_bar,
            after,
            semicolon,
            comment,
            blank_lines,
        },
    )
}

/// Writes the requests out and records where each path starts.
fn render(requests: &[Parts], layouts: &[Layout]) -> (String, Vec<(usize, usize)>) {
    let mut input = String::new();
    let mut positions = Vec::new();
    for (parts, layout) in requests.iter().zip(layouts.iter().cycle()) {
        input.push_str(&layout.before);
        let line = input.matches('\n').count() + 1;
        let column = input.rsplit('\n').next().unwrap_or_default().chars().count() + 1;
        positions.push((line, column));
        input.push_str(&parts.path);
        if let Some(version) = parts.version {
            input.push_str(&format!("@{version}"));
        }
        input.push_str(&layout.between);
        input.push_str(match &parts.selector {
            Selector::All => "*",
            Selector::Key(k) => k,
        });
        if let Target::Name(name) | Target::Prefix(name) = &parts.target {
            input.push_str(&format!("{}|{}{name}", layout.around_bar.0, layout.around_bar.1));
        }
        input.push_str(&layout.after);
        if layout.semicolon {
            input.push(';');
        } else {
            if layout.comment {
                input.push_str(" # a comment; with | symbols * @0");
            }
            input.push_str(&"\n".repeat(layout.blank_lines + 1));
        }
    }
    (input, positions)
}
