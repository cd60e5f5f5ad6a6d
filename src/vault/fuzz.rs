//! Every decoder of an answer from the network, fed arbitrary JSON, numbers and bytes: none may panic,
//! every number that reaches arithmetic is bounded, and no error text carries the answer's content
//! unescaped. Answers are untrusted (a hostile or broken Vault, a proxy, a wrong forge URL).

use proptest::prelude::*;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use url::Url;

use super::answer::{MAX_TTL_SECS, interpret};
use super::auth::decode_login;
use super::seal::SealStatus;
use super::secrets::{Mount, decode_mount, decode_read};

/// Numbers at the edges: what overflowed the expiry arithmetic (10^18) and the type limits.
fn number() -> BoxedStrategy<Value> {
    prop_oneof![
        any::<u64>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_filter("JSON has no NaN or infinity", |f| f.is_finite()).prop_map(Value::from),
        Just(json!(1_000_000_000_000_000_000_u64)),
        Just(json!(u64::MAX)),
        Just(json!(-1)),
    ]
    .boxed()
}

/// Object keys: mostly the fields the decoders look for, so that their paths are reached.
fn key() -> impl Strategy<Value = String> {
    const KNOWN: [&str; 18] = [
        "auth",
        "client_token",
        "lease_duration",
        "policies",
        "accessor",
        "data",
        "path",
        "type",
        "options",
        "version",
        "metadata",
        "lease_id",
        "renewable",
        "errors",
        "value",
        "sealed",
        "t",
        "progress",
    ];
    prop_oneof![4 => proptest::sample::select(&KNOWN[..]).prop_map(str::to_owned), 1 => "[a-z]{1,6}"]
}

fn json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        number(),
        "(.|\n|\r){0,24}".prop_map(Value::from),
    ];
    leaf.prop_recursive(4, 48, 5, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
            proptest::collection::btree_map(key(), inner, 0..5).prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// The login answer's shape with arbitrary values where Vault's would be.
fn login_shaped() -> impl Strategy<Value = Value> {
    (json(), number(), json()).prop_map(|(policies, lease, accessor)| {
        json!({"auth": {"client_token": "s.token", "lease_duration": lease, "policies": policies, "accessor": accessor}})
    })
}

fn mounts() -> [Mount; 3] {
    let mount = |kind: &str, kv_version| Mount { path: "m/".into(), kind: kind.into(), kv_version };
    [mount("kv", Some(1)), mount("kv", Some(2)), mount("database", None)]
}

proptest! {
    #[test]
    fn login_answers_decode_without_panics_and_with_bounded_ttls(answer in prop_oneof![json(), login_shaped()]) {
        if let Ok(login) = decode_login(Some(answer)) {
            prop_assert!(login.lease_duration <= MAX_TTL_SECS);
            let now = time::OffsetDateTime::now_utc();
            prop_assert!(!crate::exports::expires_at(now, login.lease_duration).is_empty());
            let _ = humantime::format_duration(std::time::Duration::from_secs(login.lease_duration)).to_string();
        }
    }

    #[test]
    fn mount_lookups_and_reads_decode_without_panics(answer in json(), lease in number()) {
        if let Ok(mount) = decode_mount(&answer) {
            prop_assert!(mount.path.ends_with('/'));
        }
        let mut with_lease = answer.clone();
        if let Value::Object(map) = &mut with_lease {
            map.insert("lease_id".into(), json!("database/creds/x/abc"));
            map.insert("lease_duration".into(), lease);
        }
        for mount in mounts() {
            for candidate in [answer.clone(), with_lease.clone()] {
                if let Ok(Some(read)) = decode_read(candidate, &mount) {
                    prop_assert!(read.lease.is_none_or(|l| l.duration <= MAX_TTL_SECS));
                }
            }
        }
    }

    #[test]
    fn seal_status_decodes_without_panics(answer in json()) {
        if let Ok(status) = serde_json::from_value::<SealStatus>(answer) {
            let _ = status.describe();
        }
    }

    #[test]
    fn any_status_and_body_is_interpreted_without_panics(
        status in 100u16..600,
        body in prop_oneof![json().prop_map(|v| v.to_string().into_bytes()), proptest::collection::vec(any::<u8>(), 0..300)],
    ) {
        let status = StatusCode::from_u16(status).expect("a status in range");
        let addr = Url::parse("http://vault:8200").expect("a URL");
        if let Err(error) = interpret(status, &body, &addr, &Method::GET, "kv/data/x") {
            let messages = error.messages();
            prop_assert!(messages.len() <= 8, "{messages:?}");
            for message in messages {
                prop_assert!(!message.chars().any(char::is_control), "{message:?}");
                prop_assert!(message.chars().count() <= 301 + "(not a Vault answer) ".len(), "{message:?}");
            }
        }
    }

    #[test]
    fn id_token_answers_decode_without_echoing_them(body in prop_oneof![
        json().prop_map(|v| v.to_string().into_bytes()),
        "[A-Za-z0-9]{16,40}".prop_map(|t| format!("\"{t}\"").into_bytes()),
        proptest::collection::vec(any::<u8>(), 0..300),
    ]) {
        if let Err(error) = crate::oidc::decode_answer(&body) {
            let text = String::from_utf8_lossy(&body);
            let inner = text.trim_matches('"');
            prop_assert!(inner.len() < 16 || !error.to_string().contains(inner), "{error}");
        }
    }
}

#[test]
fn a_century_long_lease_is_read_as_a_century_not_an_overflow() {
    let login =
        decode_login(Some(json!({"auth": {"client_token": "s.t", "lease_duration": 1_000_000_000_000_000_000_u64}})));
    let login = login.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(login.lease_duration, MAX_TTL_SECS);
    let odd = decode_login(Some(json!({"auth": {"client_token": "s.t", "lease_duration": -5, "policies": [1, "p"]}})));
    let odd = odd.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!((odd.lease_duration, odd.policies), (0, vec!["p".to_owned()]));
}
