//! The proxy between the step and Vault, read once from the job's environment.
//!
//! reqwest would read the proxy variables itself, whenever a client is built. The main step reads them
//! here instead, and saves them for the post step (see [`crate::state`]): a later step can export
//! `HTTPS_PROXY`, and the post step, which sends the token, must not follow it there.

use reqwest::{ClientBuilder, NoProxy, Proxy};

/// The variables curl and reqwest read, upper-case first (reqwest's order); an empty one is unset.
/// No `Debug`: a proxy URL may carry a password.
#[derive(Clone, Default)]
pub struct Proxies {
    pub http: Option<String>,
    pub https: Option<String>,
    pub all: Option<String>,
    pub no: Option<String>,
}

impl Proxies {
    /// From the job's environment.
    pub fn from_env(env: &[(String, String)]) -> Self {
        let var = |names: [&str; 2]| {
            names.iter().find_map(|name| env.iter().find(|(k, v)| k == name && !v.is_empty()).map(|(_, v)| v.clone()))
        };
        Self {
            http: var(["HTTP_PROXY", "http_proxy"]),
            https: var(["HTTPS_PROXY", "https_proxy"]),
            all: var(["ALL_PROXY", "all_proxy"]),
            no: var(["NO_PROXY", "no_proxy"]),
        }
    }

    /// Uses exactly these proxies, whatever the process environment says: `ALL_PROXY` for a scheme that
    /// has none of its own, `NO_PROXY` for both.
    pub fn apply(&self, builder: ClientBuilder) -> reqwest::Result<ClientBuilder> {
        let mut builder = builder.no_proxy();
        let no_proxy = || self.no.as_deref().and_then(NoProxy::from_string);
        if let Some(http) = self.http.as_ref().or(self.all.as_ref()) {
            builder = builder.proxy(Proxy::http(http)?.no_proxy(no_proxy()));
        }
        if let Some(https) = self.https.as_ref().or(self.all.as_ref()) {
            builder = builder.proxy(Proxy::https(https)?.no_proxy(no_proxy()));
        }
        Ok(builder)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
    }

    #[test]
    fn upper_case_wins_and_empty_means_unset() {
        let proxies = Proxies::from_env(&env(&[
            ("http_proxy", "http://lower:1"),
            ("HTTP_PROXY", "http://upper:1"),
            ("HTTPS_PROXY", ""),
            ("https_proxy", "http://lower:2"),
            ("no_proxy", "localhost"),
        ]));
        assert_eq!(proxies.http.as_deref(), Some("http://upper:1"));
        assert_eq!(proxies.https.as_deref(), Some("http://lower:2"));
        assert_eq!((proxies.all, proxies.no.as_deref()), (None, Some("localhost")));
    }

    #[test]
    fn a_proxy_that_is_not_a_url_fails_the_client() {
        let bad = Proxies { https: Some("http://[::1".into()), ..Proxies::default() };
        assert!(bad.apply(reqwest::Client::builder()).is_err());
        assert!(Proxies::default().apply(reqwest::Client::builder()).is_ok());
    }
}
