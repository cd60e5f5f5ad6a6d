//! Which variable each request exports as, and the conflicts between them: checked before anything is
//! sent for single keys, and again after the reads for the keys a wildcard found.

use std::collections::HashMap;

use crate::names::{self, Naming};
use crate::spec::{Request, Selector, Target};

/// Where a value comes from.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Source {
    pub path: String,
    pub version: Option<u64>,
    pub key: String,
}

impl std::fmt::Display for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.version {
            Some(v) => write!(f, "{}@{v} {}", self.path, self.key),
            None => write!(f, "{} {}", self.path, self.key),
        }
    }
}

/// A name that cannot be exported.
#[derive(Debug, thiserror::Error)]
pub enum ExportNameError {
    #[error("secrets input, line {line}: {error}")]
    Name { line: usize, error: names::NameError },
    #[error(
        "export name `{name}` would come from both `{first}` and `{second}`; give one of them another name with `| NAME`"
    )]
    Conflict { name: String, first: String, second: String },
}

/// Checks, before anything is sent, that no two requests for single keys export under one name. Wildcards
/// are checked after the read, when their keys are known.
pub fn check_names(requests: &[Request], naming: Naming) -> Result<(), ExportNameError> {
    let mut names: HashMap<String, Source> = HashMap::new();
    for request in requests {
        let Selector::Key(key) = &request.selector else { continue };
        let name = export_name(request, key, naming)?;
        let source = Source { path: request.path.clone(), version: request.version, key: key.clone() };
        match names.get(&name) {
            Some(first) if *first != source => {
                return Err(ExportNameError::Conflict { name, first: first.to_string(), second: source.to_string() });
            }
            _ => names.insert(name, source),
        };
    }
    Ok(())
}

/// The export name of `key` read by `request`, checked.
pub fn export_name(request: &Request, key: &str, naming: Naming) -> Result<String, ExportNameError> {
    let name = match (&request.selector, &request.target) {
        (_, Target::Name(name)) => name.clone(),
        (Selector::All, Target::Prefix(prefix)) => names::prefixed_name(prefix, key, naming),
        (Selector::All, _) => names::prefixed_name("", key, naming),
        (Selector::Key(_), _) => names::default_name(key, naming),
    };
    names::check(&name).map_err(|error| ExportNameError::Name { line: request.line, error })?;
    Ok(name)
}
