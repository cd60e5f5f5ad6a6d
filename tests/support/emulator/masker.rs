//! What the runner does to a step's output before anyone sees it: workflow commands are parsed from every
//! complete line (stdout and stderr share one stream), `::add-mask::` registers a value and is dropped,
//! `::stop-commands::<t>` … `::<t>::` turns command parsing off, and every later line of the job has each
//! registered value replaced by `***`.

/// How a runner family registers an `::add-mask::` value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Registration {
    /// GitHub and Gitea runner ≥ v3: the value is un-escaped (`%25`, `%0D`, `%0A`) first.
    Unescaped,
    /// Legacy Gitea act_runner and Forgejo: the value is registered as written.
    Raw,
}

/// The masks of one job, as one runner family keeps them.
pub struct Masker {
    registration: Registration,
    masks: Vec<String>,
    stopped_until: Option<String>,
    /// Commands a runner would choke on (an empty mask garbles the whole log on legacy Gitea).
    pub problems: Vec<String>,
}

/// Masks under 2 characters (after trimming) are ignored, as Gitea runner ≥ v1.0.7 does.
const MIN_MASK: usize = 2;

impl Masker {
    pub fn new(registration: Registration) -> Masker {
        Masker { registration, masks: Vec::new(), stopped_until: None, problems: Vec::new() }
    }

    /// Registers a value the runner masks on its own (the job's secrets, the ID-token request token).
    pub fn add(&mut self, value: &str) {
        let lines = value.split('\n').map(|l| l.trim_end_matches('\r'));
        for candidate in std::iter::once(value).chain(lines) {
            if candidate.trim().chars().count() >= MIN_MASK && !self.masks.iter().any(|m| m == candidate) {
                self.masks.push(candidate.to_owned());
            }
        }
        self.masks.sort_by_key(|m| std::cmp::Reverse(m.len()));
    }

    /// Processes one stage's output; returns the lines a user would see.
    pub fn process(&mut self, output: &str) -> String {
        let mut shown = String::new();
        for line in output.split_inclusive('\n') {
            let complete = line.ends_with('\n');
            let text = line.trim_end_matches('\n').trim_end_matches('\r');
            if let Some(visible) = self.line(text, complete) {
                shown.push_str(&visible);
                shown.push('\n');
            }
        }
        shown
    }

    fn line(&mut self, text: &str, complete: bool) -> Option<String> {
        if let Some(token) = &self.stopped_until {
            if text == format!("::{token}::") {
                self.stopped_until = None;
                return None;
            }
            return Some(self.mask(text));
        }
        // act only parses a command from a line that ends with a newline.
        if complete && let Some(value) = text.strip_prefix("::add-mask::") {
            let value = match self.registration {
                Registration::Unescaped => value.replace("%0D", "\r").replace("%0A", "\n").replace("%25", "%"),
                Registration::Raw => value.to_owned(),
            };
            if value.trim().is_empty() {
                self.problems.push("an empty ::add-mask:: (legacy Gitea then masks every position)".into());
            }
            self.add(&value);
            return None;
        }
        if complete && let Some(token) = text.strip_prefix("::stop-commands::") {
            self.stopped_until = Some(token.to_owned());
            return None;
        }
        Some(self.mask(text))
    }

    fn mask(&self, text: &str) -> String {
        self.masks.iter().fold(text.to_owned(), |line, mask| line.replace(mask.as_str(), "***"))
    }
}
