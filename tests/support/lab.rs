//! OpenBao and PostgreSQL set up exactly as docs/vault-setup.md says, for the example workflows: the app
//! `webapp` of `arcodange/webapp`, on the default `jwt` mount.

use serde_json::json;
use tokio::sync::{Mutex, MutexGuard};

use super::emulator::{Runner, repo_root};
use super::{Issuer, JobClaims, Services, random_hex};

/// The app of the examples and of docs/vault-setup.md.
pub const APP: &str = "webapp";
pub const REPOSITORY: &str = "arcodange/webapp";

/// The documented setup uses the default `jwt` mount, which one test at a time can configure.
static JWT_MOUNT: Mutex<()> = Mutex::const_new(());

/// OpenBao and PostgreSQL set up as docs/vault-setup.md says, for the forge `issuer`.
pub struct Lab {
    pub services: Services,
    pub issuer: Issuer,
    pub api_key: String,
    _mount: MutexGuard<'static, ()>,
}

impl Lab {
    pub async fn start() -> Lab {
        let mount = JWT_MOUNT.lock().await;
        let services = Services::from_env();
        let issuer = Issuer::start().await;
        let (bao, pg) = (&services.bao, &services.pg);
        bao.ensure_shared_mounts().await;
        bao.call("DELETE", "sys/auth/jwt", None).await;
        // Written afresh: an update would keep statements an older setup wrote.
        bao.call("DELETE", &format!("postgres/roles/{APP}"), None).await;
        if !pg.role_exists(&format!("{APP}_owner")).await {
            pg.sql(&documented_block("sql")).await;
        }
        let api_key = format!("api-key-{}", random_hex(12));
        let config = json!({ "db_host": "localhost", "db_port": pg.port.to_string(), "api_key": api_key });
        bao.kv2_put("kvv2", &format!("{APP}/config"), config).await;
        run_documented_setup(&services, &issuer).await;
        Lab { services, issuer, api_key, _mount: mount }
    }

    /// A push to main of arcodange/webapp, with the configuration variable VAULT_ADDR.
    pub fn runner(&self) -> Runner {
        Runner::new(&self.issuer, JobClaims::for_repository(REPOSITORY)).var("VAULT_ADDR", self.services.bao.addr())
    }
}

/// The first ```` ```lang ```` block after a `<!-- tested:` marker of docs/vault-setup.md: `sql` (the database's
/// prerequisites, run once per server as the superuser) or `sh` (the Vault setup).
fn documented_block(lang: &str) -> String {
    let doc = std::fs::read_to_string(repo_root().join("docs/vault-setup.md")).expect("docs/vault-setup.md");
    let opening = format!("```{lang}\n");
    let block =
        doc.split("<!-- tested:").skip(1).filter_map(|after| after.split_once("-->\n")?.1.strip_prefix(&opening));
    let block = block.into_iter().next().unwrap_or_else(|| panic!("docs/vault-setup.md: no tested ```{lang} block"));
    block.split_once("\n```").expect("the end of the block").0.to_owned()
}

/// Runs the tested block of docs/vault-setup.md with this lab's issuer and database in its variables. Vault
/// connects as the documented `vault` role, with its documented password: the SQL block created it.
async fn run_documented_setup(services: &Services, issuer: &Issuer) {
    let block = documented_block("sh");
    let pg = &services.pg;
    let values =
        [("REPOSITORY", REPOSITORY.to_owned()), ("ISSUER", issuer.issuer_url()), ("DB_URL", pg.vault_connection_url())];
    assert!(block.lines().any(|l| l.starts_with(&format!("APP={APP} "))), "the documented APP is {APP}");
    let mut script = block.to_owned();
    for (name, value) in values {
        let line = script.lines().find(|l| l.starts_with(&format!("{name}="))).map(str::to_owned);
        let line = line.unwrap_or_else(|| panic!("docs/vault-setup.md: no `{name}=` line in the tested block"));
        script = script.replace(&line, &format!("{name}='{}'", value.replace('\'', r"'\''")));
    }
    let bao_dir = services.bao_bin.parent().expect("bao's folder").display().to_string();
    let out = tokio::process::Command::new("bash")
        .args(["-euo", "pipefail", "-c", &script])
        .env("PATH", format!("{bao_dir}:{}", std::env::var("PATH").unwrap_or_default()))
        .env("BAO_ADDR", services.bao.addr())
        .env("BAO_TOKEN", services.bao.token())
        .output()
        .await
        .expect("run bash");
    let log = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "the documented Vault setup failed:\n{log}\n--- script ---\n{script}");
}
