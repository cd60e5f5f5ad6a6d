//! What the main step leaves for the post step: written to `GITHUB_STATE`, read back as `STATE_*` (the
//! runner passes it to this action's post step and to no other step). One definition for both sides,
//! so that a field cannot be written under one name and read under another.
//!
//! The post step reads only this: inputs can be wrong in a post step (a GitHub bug with nested actions),
//! and variables exported after the main step (a proxy, a CA bundle) must not change where the token goes.

use std::path::PathBuf;

use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

use crate::proxy::Proxies;
use crate::runner::{FileCommandError, FileCommands};
use crate::tls::TlsSettings;

/// Every field is optional: the main step saves what it has as soon as it has it, so a step killed
/// halfway still leaves what is needed to clean up. No `Debug`: it holds the token and the client key.
#[derive(Deserialize, Default)]
#[serde(default)]
pub struct State {
    pub vault_addr: Option<String>,
    pub vault_namespace: Option<String>,
    pub vault_token: Option<SecretString>,
    /// Names the token in the post step's receipt; not a credential.
    pub vault_accessor: Option<String>,
    pub vault_ca_pem: Option<String>,
    pub vault_client_cert: Option<String>,
    pub vault_client_key: Option<SecretString>,
    pub vault_tls_skip_verify: bool,
    pub vault_http_proxy: Option<String>,
    pub vault_https_proxy: Option<String>,
    pub vault_all_proxy: Option<String>,
    pub vault_no_proxy: Option<String>,
    /// The CA file written in `RUNNER_TEMP` for `VAULT_CACERT`.
    pub vault_cacert_file: Option<PathBuf>,
    /// The main step revoked the token itself, after a failure: the post step has nothing to revoke.
    pub vault_token_revoked: bool,
}

/// `(field name, value)` for each field that is set; the names are the fields', as serde reads them.
macro_rules! entries {
    ($state:ident: $($field:ident => $value:expr),+ $(,)?) => {
        [$((stringify!($field), $state.$field.as_ref().map($value))),+]
    };
}

impl State {
    /// How the main step reaches Vault, for the post step to do the same.
    pub fn connection(addr: &str, namespace: Option<&str>, tls: &TlsSettings, proxies: &Proxies) -> Self {
        Self {
            vault_addr: Some(addr.to_owned()),
            vault_namespace: namespace.map(str::to_owned),
            vault_ca_pem: tls.ca_pem.clone(),
            vault_client_cert: tls.client.as_ref().map(|c| c.cert_pem.clone()),
            vault_client_key: tls.client.as_ref().map(|c| c.key_pem.clone()),
            vault_tls_skip_verify: tls.skip_verify,
            vault_http_proxy: proxies.http.clone(),
            vault_https_proxy: proxies.https.clone(),
            vault_all_proxy: proxies.all.clone(),
            vault_no_proxy: proxies.no.clone(),
            ..Self::default()
        }
    }

    /// Reads `STATE_*` (the runner keeps the names' case); an empty value is an unset one.
    pub fn from_env(env: &[(String, String)]) -> Result<Self, envy::Error> {
        let set = env.iter().filter(|(k, v)| k.starts_with("STATE_") && !v.is_empty()).cloned();
        envy::prefixed("STATE_").from_iter(set)
    }

    /// Appends the fields that are set to `GITHUB_STATE`; a later entry of a name replaces an earlier one.
    pub fn write(&self, files: &FileCommands) -> Result<bool, FileCommandError> {
        let owned = self.entries();
        let pairs: Vec<(&str, &str)> = owned.iter().map(|(k, v)| (*k, v.as_str())).collect();
        files.write_state(&pairs)
    }

    fn entries(&self) -> Vec<(&'static str, String)> {
        let text = |v: &String| v.clone();
        let secret = |v: &SecretString| v.expose_secret().to_owned();
        let flags =
            [("vault_tls_skip_verify", self.vault_tls_skip_verify), ("vault_token_revoked", self.vault_token_revoked)];
        let fields = entries!(self:
            vault_addr => text,
            vault_namespace => text,
            vault_token => secret,
            vault_accessor => text,
            vault_ca_pem => text,
            vault_client_cert => text,
            vault_client_key => secret,
            vault_http_proxy => text,
            vault_https_proxy => text,
            vault_all_proxy => text,
            vault_no_proxy => text,
            vault_cacert_file => |p: &PathBuf| p.display().to_string(),
        );
        let flags = flags.into_iter().map(|(name, on)| (name, on.then(|| "true".to_owned())));
        fields.into_iter().chain(flags).filter_map(|(name, value)| value.map(|v| (name, v))).collect()
    }

    /// The proxies the main step used.
    pub fn proxies(&self) -> Proxies {
        Proxies {
            http: self.vault_http_proxy.clone(),
            https: self.vault_https_proxy.clone(),
            all: self.vault_all_proxy.clone(),
            no: self.vault_no_proxy.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn as_env(state: &State) -> Vec<(String, String)> {
        state.entries().into_iter().map(|(k, v)| (format!("STATE_{k}"), v)).collect()
    }

    #[test]
    fn every_field_written_is_read_back_under_its_name() {
        let state = State {
            vault_addr: Some("https://vault:8200/".into()),
            vault_namespace: Some("team".into()),
            vault_token: Some(SecretString::from("s.token")),
            vault_accessor: Some("acc".into()),
            vault_ca_pem: Some("CA".into()),
            vault_client_cert: Some("CERT".into()),
            vault_client_key: Some(SecretString::from("KEY")),
            vault_tls_skip_verify: true,
            vault_http_proxy: Some("http://p:1".into()),
            vault_https_proxy: Some("http://p:2".into()),
            vault_all_proxy: Some("http://p:3".into()),
            vault_no_proxy: Some("localhost".into()),
            vault_cacert_file: Some(PathBuf::from("/tmp/vault-login-ca-1.pem")),
            vault_token_revoked: true,
        };
        let env = as_env(&state);
        assert_eq!(env.len(), 14, "one entry per field: {:?}", env.iter().map(|(k, _)| k).collect::<Vec<_>>());
        let back = State::from_env(&env).unwrap();
        assert_eq!(as_env(&back), env);
    }

    #[test]
    fn unset_and_empty_fields_are_absent() {
        assert!(as_env(&State::default()).is_empty());
        let env = [("STATE_vault_token".to_owned(), String::new()), ("OTHER".to_owned(), "x".to_owned())];
        let state = State::from_env(&env).unwrap();
        assert!(state.vault_token.is_none() && !state.vault_token_revoked);
    }
}
