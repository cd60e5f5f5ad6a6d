//! The pinned Terraform 1.0.3 that `scripts/install-deps` puts in `.tools/terraform/` (OpenTofu's ancestor;
//! no registry ships `tofu`), a per-test working directory, and the environment it runs with: no network
//! (the null provider comes from the filesystem mirror alone), no checkpoint calls, no prompts.

use std::path::{Path, PathBuf};

use super::emulator::repo_root;

/// A configuration whose state lives in PostgreSQL through `backend "pg"`, with one sensitive variable.
pub const CONFIG: &str = r#"terraform {
  backend "pg" {}
}

variable "api_key" {
  type      = string
  sensitive = true
}

resource "null_resource" "config" {
  triggers = { api_key_sha256 = sha256(var.api_key) }
}
"#;

/// A Terraform working directory with its CLI config and data dir.
pub struct Workspace {
    dir: tempfile::TempDir,
}

impl Workspace {
    /// A fresh directory holding `main.tf` = `config`.
    pub fn new(config: &str) -> Workspace {
        let dir = tempfile::tempdir().expect("terraform dir");
        std::fs::write(dir.path().join("main.tf"), config).expect("main.tf");
        let mirror = tools().join("mirror");
        let cli = format!(
            "provider_installation {{\n  filesystem_mirror {{\n    path    = {mirror:?}\n    include = [\"registry.terraform.io/hashicorp/*\"]\n  }}\n}}\n",
            mirror = mirror.display().to_string()
        );
        std::fs::write(dir.path().join("cli.tfrc"), cli).expect("cli config");
        Workspace { dir }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// The environment Terraform runs with, for data dir `name` (one per job: each job inits afresh).
    pub fn env(&self, name: &str) -> Vec<(String, String)> {
        let path = std::env::var("PATH").unwrap_or_default();
        [
            ("PATH", format!("{}:{path}", tools().display())),
            ("TF_CLI_CONFIG_FILE", self.path().join("cli.tfrc").display().to_string()),
            ("TF_DATA_DIR", self.path().join(name).display().to_string()),
            ("TF_IN_AUTOMATION", "1".to_owned()),
            ("TF_INPUT", "0".to_owned()),
            ("CHECKPOINT_DISABLE", "1".to_owned()),
            ("PGSSLMODE", "disable".to_owned()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect()
    }
}

/// `.tools/terraform/`, checked to hold the pinned binary.
fn tools() -> PathBuf {
    let dir = repo_root().join(".tools/terraform");
    assert!(dir.join("terraform").is_file(), "{} has no terraform: run scripts/install-deps", dir.display());
    dir
}

/// `init`'s `conn_str` (Terraform 1.0.3 requires it; user and password come from `PGUSER`/`PGPASSWORD`).
pub fn conn_str_arg() -> &'static str {
    r#"-backend-config=conn_str=postgres://$PGHOST:$PGPORT/postgres?sslmode=disable"#
}
