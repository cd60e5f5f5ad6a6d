//! Reads right after a login, on a cluster whose standby nodes answer reads themselves.
//!
//! OpenBao ≥ 2.5 on Integrated Storage serves reads on standbys, eventually consistent (docs/failure-modes.md,
//! "A real HA cluster"). A standby that has not yet applied the login refuses the fresh token with 403, as a
//! policy would. The token's own lookup tells the two apart: a node that does not know the token refuses
//! that too, and is asked again after a short wait. A node that knows it is asked once more at once (it may
//! have learned the token since it refused), and what it answers then is final: a policy's refusal does not
//! change with waiting.

use std::future::Future;
use std::time::Duration;

use secrecy::SecretString;

use super::{Progress, Vault, VaultError};

/// The waits between tries while the token is unknown: 3.15 s in all, far more than a healthy cluster
/// takes to replicate a login (milliseconds), short enough that a role without `lookup-self` rights (which
/// looks the same) is not held long.
const WAITS: [Duration; 6] = [
    Duration::from_millis(50),
    Duration::from_millis(100),
    Duration::from_millis(200),
    Duration::from_millis(400),
    Duration::from_millis(800),
    Duration::from_millis(1600),
];

/// What the progress line calls this wait.
const BUDGET: &str = "the wait for Vault's nodes to learn the new token";

/// Runs `request`, again after a wait each time it is refused (403) by a node that does not know `token` yet.
pub async fn once_token_is_known<T, F, Fut>(vault: &Vault, token: &SecretString, request: F) -> Result<T, VaultError>
where
    F: Fn() -> Fut,
    Fut: Future<Output = Result<T, VaultError>>,
{
    retry_with(&WAITS, vault, token, request).await
}

async fn retry_with<T, F, Fut>(
    waits: &[Duration],
    vault: &Vault,
    token: &SecretString,
    request: F,
) -> Result<T, VaultError>
where
    F: Fn() -> Fut,
    Fut: Future<Output = Result<T, VaultError>>,
{
    let mut left: Duration = waits.iter().sum();
    for &wait in waits {
        match request().await {
            Err(error) if error.status() == Some(403) => {
                if token_known(vault, token).await {
                    return request().await;
                }
                vault.notify(Progress::Retry { error: &error, wait, left, budget: BUDGET });
                tokio::time::sleep(wait).await;
                left = left.saturating_sub(wait);
            }
            other => return other,
        }
    }
    request().await
}

/// Whether the node that answers knows `token`: its lookup is allowed to every token holding the `default`
/// policy, so a refusal means the token is unknown there (or, on a role without `default`, not allowed to
/// look itself up, which then costs the waits above).
async fn token_known(vault: &Vault, token: &SecretString) -> bool {
    !matches!(vault.get("auth/token/lookup-self", token).await, Err(e) if e.status() == Some(403))
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use url::Url;
    use wiremock::matchers::{method, path};
    use wiremock::{Mock, MockServer, ResponseTemplate};

    use super::*;

    fn denied() -> ResponseTemplate {
        ResponseTemplate::new(403).set_body_json(serde_json::json!({ "errors": ["permission denied"] }))
    }

    /// A node that refuses the token `unknown_for` times, then knows it; the secret's read is refused
    /// while the token is unknown, and also after when `policy_refuses`.
    async fn node(unknown_for: u64, policy_refuses: bool) -> (MockServer, Vault, Arc<AtomicUsize>) {
        let server = MockServer::start().await;
        let ok = |body| ResponseTemplate::new(200).set_body_json(body);
        let read = if policy_refuses { denied() } else { ok(serde_json::json!({ "data": {} })) };
        let lookup = ok(serde_json::json!({ "data": { "policies": ["default"] } }));
        for (at, known) in [("/v1/auth/token/lookup-self", lookup), ("/v1/kv/app", read)] {
            if unknown_for > 0 {
                let unknown = Mock::given(method("GET")).and(path(at)).respond_with(denied());
                unknown.up_to_n_times(unknown_for).mount(&server).await;
            }
            Mock::given(method("GET")).and(path(at)).respond_with(known).mount(&server).await;
        }
        let retries = Arc::new(AtomicUsize::new(0));
        let counted = retries.clone();
        let notice: super::super::Notice = Arc::new(move |_| {
            counted.fetch_add(1, Ordering::SeqCst);
        });
        let http = crate::tls::client_builder().build().unwrap();
        let vault = Vault::new(http, Url::parse(&server.uri()).unwrap(), None, Duration::from_secs(10), notice);
        (server, vault, retries)
    }

    /// The waits' count without their time: the tests count tries, not seconds.
    const NO_WAITS: [Duration; WAITS.len()] = [Duration::ZERO; WAITS.len()];

    async fn reads(server: &MockServer) -> usize {
        let all = server.received_requests().await.unwrap();
        all.iter().filter(|r| r.url.path() == "/v1/kv/app").count()
    }

    #[tokio::test]
    async fn a_node_that_learns_the_token_late_is_asked_again() {
        let (server, vault, retries) = node(2, false).await;
        let token = SecretString::from("s.fresh");
        retry_with(&NO_WAITS, &vault, &token, || vault.get("kv/app", &token)).await.unwrap();
        assert_eq!((reads(&server).await, retries.load(Ordering::SeqCst)), (3, 2));
    }

    #[tokio::test]
    async fn a_policy_s_refusal_is_final_on_the_second_try() {
        let (server, vault, retries) = node(0, true).await;
        let token = SecretString::from("s.known");
        let error = retry_with(&NO_WAITS, &vault, &token, || vault.get("kv/app", &token)).await.unwrap_err();
        assert_eq!(error.status(), Some(403));
        assert_eq!((reads(&server).await, retries.load(Ordering::SeqCst)), (2, 0));
    }

    #[tokio::test]
    async fn a_token_never_learned_is_given_up_after_the_waits() {
        let (server, vault, retries) = node(u64::MAX, false).await;
        let token = SecretString::from("s.lost");
        let error = retry_with(&NO_WAITS, &vault, &token, || vault.get("kv/app", &token)).await.unwrap_err();
        assert_eq!(error.status(), Some(403));
        assert_eq!((reads(&server).await, retries.load(Ordering::SeqCst)), (WAITS.len() + 1, WAITS.len()));
    }
}
