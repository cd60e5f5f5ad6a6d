//! The few YAML reads the emulator needs, on top of saphyr (YAML 1.2, like the runners' parsers).

use saphyr::{LoadableYamlNode, Scalar, Yaml};

/// The first document of `text`; `what` names the file in errors.
pub fn load(text: &str, what: &str) -> Result<Yaml<'static>, String> {
    let docs = Yaml::load_from_str(text).map_err(|e| format!("{what}: invalid YAML: {e}"))?;
    let doc = docs.into_iter().next().ok_or_else(|| format!("{what}: empty YAML document"))?;
    Ok(doc)
}

/// A scalar as the runners read it into a string field (`true` → `"true"`, `5` → `"5"`, null → `""`).
/// `None` for a mapping or a sequence.
pub fn scalar(node: &Yaml) -> Option<String> {
    match node {
        Yaml::Value(Scalar::String(s)) => Some(s.to_string()),
        Yaml::Value(Scalar::Boolean(b)) => Some(b.to_string()),
        Yaml::Value(Scalar::Integer(i)) => Some(i.to_string()),
        Yaml::Value(Scalar::FloatingPoint(f)) => Some(f.to_string()),
        Yaml::Value(Scalar::Null) => Some(String::new()),
        Yaml::Representation(s, _, _) => Some(s.to_string()),
        _ => None,
    }
}

/// The `(key, value)` pairs of a mapping, in document order; an error for anything else.
pub fn entries<'a>(node: &'a Yaml<'a>, what: &str) -> Result<Vec<(String, &'a Yaml<'a>)>, String> {
    if node.is_null() {
        return Ok(Vec::new());
    }
    let map = node.as_mapping().ok_or_else(|| format!("{what}: expected a mapping"))?;
    map.iter().map(|(k, v)| scalar(k).map(|k| (k, v)).ok_or_else(|| format!("{what}: a key is not a scalar"))).collect()
}

/// `key: value` string pairs (`env:`, `with:`), with scalar values only.
pub fn string_map(node: Option<&Yaml>, what: &str) -> Result<Vec<(String, String)>, String> {
    let Some(node) = node else { return Ok(Vec::new()) };
    entries(node, what)?
        .into_iter()
        .map(|(k, v)| scalar(v).map(|v| (k.clone(), v)).ok_or_else(|| format!("{what}.{k}: expected a scalar")))
        .collect()
}

/// A string field, `None` when absent.
pub fn string(node: &Yaml, key: &str, what: &str) -> Result<Option<String>, String> {
    match node.as_mapping_get(key) {
        None => Ok(None),
        Some(v) => scalar(v).map(Some).ok_or_else(|| format!("{what}.{key}: expected a scalar")),
    }
}
