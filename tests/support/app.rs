//! One application per test, isolated on the shared OpenBao: its own JWT auth mount, role, policy,
//! secrets under `<app>/`, and optionally a PostgreSQL database connection and role.

use serde_json::{Map, Value, json};

use super::postgres::ident;
use super::{Bao, BaoReply, Issuer, Job, JobClaims, Services};

/// The forge owner of every test app's repository.
pub const OWNER: &str = "arcodange";

/// What to provision besides the auth mount, role and policy.
#[derive(Clone, Debug, Default)]
pub struct AppOptions {
    kv2: Vec<(String, Value)>,
    kv1: Vec<(String, Value)>,
    database: bool,
    database_ttl: Option<String>,
    bound_claims: Option<Value>,
    role_fields: Map<String, Value>,
}

impl AppOptions {
    pub fn new() -> Self {
        Self::default()
    }

    /// Writes `kvv2/data/<app>/<path>`; calling it again for the same path adds a version (in order).
    pub fn kv2(mut self, path: &str, data: Value) -> Self {
        self.kv2.push((path.to_owned(), data));
        self
    }

    /// Writes `kv/<app>/<path>` (KV v1).
    pub fn kv1(mut self, path: &str, data: Value) -> Self {
        self.kv1.push((path.to_owned(), data));
        self
    }

    /// Configures `postgres/config/<app>` and `postgres/roles/<app>` (group role `<app>_role`).
    pub fn database(mut self) -> Self {
        self.database = true;
        self
    }

    /// The database role's `default_ttl` (default: 5m), for tests of lease renewal.
    pub fn database_ttl(mut self, ttl: &str) -> Self {
        self.database = true;
        self.database_ttl = Some(ttl.to_owned());
        self
    }

    /// Replaces the role's `bound_claims` (default: `{repository: "<owner>/<app>", ref: "refs/heads/*"}`).
    pub fn bound_claims(mut self, claims: Value) -> Self {
        self.bound_claims = Some(claims);
        self
    }

    /// Sets (or, with `Value::Null`, removes) any other field of the JWT role body.
    pub fn role_field(mut self, name: &str, value: Value) -> Self {
        self.role_fields.insert(name.to_owned(), value);
        self
    }
}

/// A provisioned app. Names: app `webapp-<hex>`, auth mount `jwt-<app>`, role `gitea_cicd_<app>`,
/// policy `<app>-ops`, PostgreSQL group role `<app>_role`. Dropping it removes all of that (leases,
/// tokens and PostgreSQL users included) unless `VAULT_LOGIN_TEST_KEEP` is set.
pub struct App {
    pub name: String,
    pub mount: String,
    pub role: String,
    pub policy: String,
    pub pg_group_role: String,
    /// KV v2 paths (relative to `<app>/`) → latest version written.
    pub kv2_versions: std::collections::BTreeMap<String, u64>,
    kv1_paths: Vec<String>,
    pub services: Services,
    pub issuer: Issuer,
}

impl App {
    pub async fn provision(services: &Services, issuer: &Issuer, options: AppOptions) -> App {
        let name = format!("webapp-{}", super::random_hex(5));
        let bao = &services.bao;
        bao.ensure_shared_mounts().await;
        let mut app = App {
            mount: format!("jwt-{name}"),
            role: format!("gitea_cicd_{name}"),
            policy: format!("{name}-ops"),
            pg_group_role: format!("{name}_role"),
            kv2_versions: Default::default(),
            kv1_paths: options.kv1.iter().map(|(p, _)| p.clone()).collect(),
            services: services.clone(),
            issuer: issuer.clone(),
            name,
        };
        bao.enable_auth(&app.mount, "jwt").await;
        let iss = issuer.issuer_url();
        let mut config = json!({ "oidc_discovery_url": iss, "bound_issuer": iss });
        if let Some(ca) = issuer.ca_pem() {
            config["oidc_discovery_ca_pem"] = ca.into();
        }
        bao.write(&format!("auth/{}/config", app.mount), config).await;
        bao.put_policy(&app.policy, &app.policy_hcl()).await;
        let role = app.role_body(&options);
        bao.write(&format!("auth/{}/role/{}", app.mount, app.role), role).await;
        for (path, data) in &options.kv2 {
            let version = bao.kv2_put("kvv2", &format!("{}/{path}", app.name), data.clone()).await;
            app.kv2_versions.insert(path.clone(), version);
        }
        for (path, data) in &options.kv1 {
            bao.write(&format!("kv/{}/{path}", app.name), data.clone()).await;
        }
        if options.database {
            app.provision_database(&options).await;
        }
        app
    }

    fn policy_hcl(&self) -> String {
        let a = &self.name;
        format!(
            "path \"kvv2/data/{a}/*\" {{ capabilities = [\"read\"] }}\n\
             path \"kvv2/metadata/{a}/*\" {{ capabilities = [\"read\"] }}\n\
             path \"kv/{a}/*\" {{ capabilities = [\"read\"] }}\n\
             path \"postgres/creds/{a}\" {{ capabilities = [\"read\"] }}\n"
        )
    }

    fn role_body(&self, options: &AppOptions) -> Value {
        let bound = options
            .bound_claims
            .clone()
            .unwrap_or_else(|| json!({ "repository": self.repository(), "ref": "refs/heads/*" }));
        let mut role = json!({
            "role_type": "jwt", "user_claim": "sub", "bound_audiences": ["vault"],
            "bound_claims_type": "glob", "bound_claims": bound, "token_policies": [self.policy],
            "token_ttl": "15m", "token_max_ttl": "1h",
        });
        let map = role.as_object_mut().expect("object");
        for (k, v) in &options.role_fields {
            match v {
                Value::Null => map.remove(k),
                v => map.insert(k.clone(), v.clone()),
            };
        }
        role
    }

    async fn provision_database(&self, options: &AppOptions) {
        let (bao, pg) = (&self.services.bao, &self.services.pg);
        pg.create_nologin_role(&self.pg_group_role).await;
        let config = json!({
            "plugin_name": "postgresql-database-plugin",
            "connection_url": pg.vault_connection_url(),
            "username": pg.user, "password": pg.password,
            "allowed_roles": self.name, "verify_connection": true,
            // Many apps share one PostgreSQL: keep each connection pool small.
            "max_open_connections": 2, "max_idle_connections": 1, "max_connection_lifetime": "30s",
        });
        bao.write(&format!("postgres/config/{}", self.name), config).await;
        let creation = format!(
            "CREATE ROLE \"{{{{name}}}}\" WITH LOGIN PASSWORD '{{{{password}}}}' \
             VALID UNTIL '{{{{expiration}}}}' IN ROLE {};",
            ident(&self.pg_group_role)
        );
        let role = json!({
            "db_name": self.name, "creation_statements": [creation],
            "default_ttl": options.database_ttl.as_deref().unwrap_or("5m"), "max_ttl": "1h",
        });
        bao.write(&format!("postgres/roles/{}", self.name), role).await;
    }

    /// `arcodange/<app>`.
    pub fn repository(&self) -> String {
        format!("{OWNER}/{}", self.name)
    }

    /// Claims of a push to `refs/heads/main` of this app's repository (the role accepts them).
    pub fn claims(&self) -> JobClaims {
        JobClaims::for_repository(&self.repository())
    }

    /// A job of this app's repository, ready to run the binary.
    pub fn job(&self) -> Job {
        Job::new(self)
    }

    /// A job whose `url` and `mount` inputs point at this app's Vault and auth mount.
    pub fn vault_job(&self) -> Job {
        self.job().input("url", self.services.bao.addr()).input("mount", &self.mount)
    }

    /// An ID token for this app (default claims, audience `vault`).
    pub fn mint(&self) -> String {
        self.issuer.mint(&self.claims(), "vault")
    }

    /// Logs in directly (`POST /v1/auth/<mount>/login`), bypassing the binary.
    pub async fn login(&self, jwt: &str) -> BaoReply {
        self.services.bao.login_jwt(&self.mount, &self.role, jwt).await
    }

    /// A client acting with `token` on the same server.
    pub fn client(&self, token: &str) -> Bao {
        self.services.bao.with_token(token)
    }

    /// Lookups (`lookup-accessor` data) of the live tokens issued through this app's auth mount.
    /// Parallel-safe, unlike counting all the server's accessors.
    pub async fn live_tokens(&self) -> Vec<Value> {
        let bao = &self.services.bao;
        let prefix = format!("auth/{}/", self.mount);
        let mut live = Vec::new();
        for accessor in bao.list_accessors().await {
            if let Some(data) = bao.lookup_accessor(&accessor).await
                && data["path"].as_str().is_some_and(|p| p.starts_with(&prefix))
            {
                live.push(data);
            }
        }
        live
    }
}

impl Drop for App {
    fn drop(&mut self) {
        if std::env::var_os("VAULT_LOGIN_TEST_KEEP").is_some() {
            return;
        }
        // A fresh client on a fresh runtime in its own thread: the test's runtime may be single-threaded
        // and is blocked here. Errors are ignored: this is tidying, and the dev server is thrown away.
        let (addr, token) = (self.services.bao.addr().to_owned(), self.services.bao.token().to_owned());
        let (pg, name, mount, policy) =
            (self.services.pg.clone(), self.name.clone(), self.mount.clone(), self.policy.clone());
        let mut paths = vec![
            format!("sys/auth/{mount}"),
            format!("postgres/roles/{name}"),
            format!("postgres/config/{name}"),
            format!("sys/policies/acl/{policy}"),
        ];
        paths.extend(self.kv2_versions.keys().map(|p| format!("kvv2/metadata/{name}/{p}")));
        paths.extend(self.kv1_paths.iter().map(|p| format!("kv/{name}/{p}")));
        let cleanup = async move {
            let bao = Bao::new(&addr, &token);
            bao.call("PUT", &format!("sys/leases/revoke-prefix/postgres/creds/{name}"), None).await;
            for path in paths {
                bao.call("DELETE", &path, None).await;
            }
            let _ = pg.try_sql(&format!("DROP ROLE IF EXISTS {}", ident(&format!("{name}_role")))).await;
        };
        let thread = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build();
            runtime.map(|rt| rt.block_on(cleanup))
        });
        let _ = thread.join();
    }
}
