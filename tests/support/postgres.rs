//! PostgreSQL checks through the `psql` CLI (no extra crate): role existence, membership, real logins.

use tokio::process::Command;

/// Superuser access to the test PostgreSQL over TCP (password auth is enforced there).
#[derive(Clone, Debug)]
pub struct Pg {
    pub host: String,
    pub port: u16,
    pub user: String,
    pub password: String,
}

/// `"name"` with inner quotes doubled.
pub fn ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// `'text'` with inner quotes doubled.
pub fn literal(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

impl Pg {
    /// Runs `psql -c <sql>` as `user`/`password`; `Ok(stdout)` or `Err(stderr)`.
    async fn psql_as(&self, user: &str, password: &str, sql: &str) -> Result<String, String> {
        let out = Command::new("psql")
            .args(["-X", "-w", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-d", "postgres"])
            .args(["-h", &self.host, "-p", &self.port.to_string(), "-U", user, "-c", sql])
            .env("PGPASSWORD", password)
            .env("PGCONNECT_TIMEOUT", "10")
            .env("PGSSLMODE", "disable")
            .kill_on_drop(true)
            .output()
            .await
            .expect("run psql (is the PostgreSQL client installed?)");
        let stdout = String::from_utf8_lossy(&out.stdout).trim().to_owned();
        let stderr = String::from_utf8_lossy(&out.stderr).trim().to_owned();
        if out.status.success() { Ok(stdout) } else { Err(stderr) }
    }

    /// Runs SQL as the superuser; panics on error; returns the unaligned output.
    pub async fn sql(&self, sql: &str) -> String {
        self.try_sql(sql).await.unwrap_or_else(|e| panic!("psql {sql:?}: {e}"))
    }

    /// Runs SQL as the superuser: `Ok(output)` or `Err(psql's stderr)`.
    pub async fn try_sql(&self, sql: &str) -> Result<String, String> {
        self.psql_as(&self.user, &self.password, sql).await
    }

    /// The URL Vault's database plugin uses, with `{{username}}`/`{{password}}` templating.
    pub fn vault_connection_url(&self) -> String {
        format!("postgresql://{{{{username}}}}:{{{{password}}}}@{}:{}/postgres?sslmode=disable", self.host, self.port)
    }

    pub async fn create_nologin_role(&self, name: &str) {
        self.sql(&format!("CREATE ROLE {} NOLOGIN", ident(name))).await;
    }

    pub async fn role_exists(&self, name: &str) -> bool {
        self.sql(&format!("SELECT count(*) FROM pg_roles WHERE rolname = {}", literal(name))).await == "1"
    }

    /// Whether role `name` is gone from `pg_roles` within 60 s (polled: the event, with a deadline generous enough
    /// for a loaded machine). Vault revokes a token's leases in the background, so the
    /// database user of a revoked token lingers a moment after `revoke-self` has returned.
    pub async fn role_gone(&self, name: &str) -> bool {
        self.eventually_zero(&format!("SELECT count(*) FROM pg_roles WHERE rolname = {}", literal(name))).await
    }

    /// Whether group role `role` has no members left within 60 s (see [`Pg::role_gone`]).
    pub async fn members_gone(&self, role: &str) -> bool {
        let sql = format!(
            "SELECT count(*) FROM pg_auth_members m JOIN pg_roles r ON r.oid = m.roleid WHERE r.rolname = {}",
            literal(role)
        );
        self.eventually_zero(&sql).await
    }

    /// Whether `count_sql` counts zero within 60 s: the event a background revocation ends with.
    pub async fn eventually_zero(&self, count_sql: &str) -> bool {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        while self.sql(count_sql).await != "0" {
            if std::time::Instant::now() > deadline {
                return false;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        true
    }

    /// Whether `user` is a direct member of `role`.
    pub async fn member_of(&self, user: &str, role: &str) -> bool {
        let sql = format!(
            "SELECT count(*) FROM pg_auth_members m JOIN pg_roles r ON r.oid = m.roleid \
             JOIN pg_roles u ON u.oid = m.member WHERE u.rolname = {} AND r.rolname = {}",
            literal(user),
            literal(role)
        );
        self.sql(&sql).await == "1"
    }

    /// A real TCP login with this password: `true` if it works, `false` if PostgreSQL refuses it
    /// (bad password, unknown or expired role); panics on any other failure (server down...).
    pub async fn login_works(&self, user: &str, password: &str) -> bool {
        match self.psql_as(user, password, "SELECT 1").await {
            Ok(out) => out == "1",
            Err(e) if e.contains("authentication failed") || e.contains("does not exist") => false,
            Err(e) if e.contains("not permitted to log in") => false,
            Err(e) => panic!("psql login as {user:?} failed unexpectedly: {e}"),
        }
    }
}
