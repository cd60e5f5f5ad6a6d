//! The action's inputs: one struct that is both the `INPUT_*` contract and the CLI flags.
//!
//! Keeping both views in one type means `action.yml`, `--help` and the runner's environment cannot drift
//! apart: a test compares this struct's names with `action.yml`.

use clap::Args;
use serde::{Deserialize, Serialize};

/// Every action input. All values are raw strings: validation happens in [`crate::config`], so that each
/// error can name the input and say what would be accepted.
#[derive(Args, Deserialize, Serialize, Default, Clone)]
#[serde(rename_all = "kebab-case", default)]
pub struct Inputs {
    /// Vault or OpenBao address, e.g. https://vault.example.org [default: $VAULT_ADDR]
    #[arg(long, value_name = "URL")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,

    /// Application slug; names the role and appears in paths [default: the repository's name]
    #[arg(long, value_name = "APP")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub app: Option<String>,

    /// JWT auth role to log in as [default: gitea_cicd_<app>]
    #[arg(long, value_name = "ROLE")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,

    /// Path the JWT auth method is mounted at [default: jwt]
    #[arg(long, value_name = "PATH")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mount: Option<String>,

    /// Audience requested for the ID token; must be in the role's bound_audiences [default: vault]
    #[arg(long, value_name = "AUD")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub audience: Option<String>,

    /// Vault Enterprise / OpenBao namespace, sent as X-Vault-Namespace
    #[arg(long, value_name = "NS")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,

    /// Use this JWT instead of requesting the job's ID token (prefer the INPUT_JWT variable to a flag)
    #[arg(long, value_name = "JWT")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub jwt: Option<String>,

    /// Secrets to read, one per line: `<path>[@version] <key>|* [| NAME]` (see README)
    #[arg(long, value_name = "SPEC")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secrets: Option<String>,

    /// Export VAULT_TOKEN to later steps [default: true]
    #[arg(long, value_name = "BOOL")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub export_token: Option<String>,

    /// Export the secrets as environment variables (they are always step outputs) [default: true]
    #[arg(long, value_name = "BOOL")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub export_env: Option<String>,

    /// Revoke the token (and every lease it created) in the post step [default: true]
    #[arg(long, value_name = "BOOL")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub revoke: Option<String>,

    /// Export names: `default` or `vault-action` (hashicorp/vault-action's rules) [default: default]
    #[arg(long, value_name = "RULES")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub naming: Option<String>,

    /// Skip missing paths and keys with a warning instead of failing [default: false]
    #[arg(long, value_name = "BOOL")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ignore_not_found: Option<String>,

    /// Warn when a dynamic credential's lease is shorter than this, e.g. 10m
    #[arg(long, value_name = "DURATION")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub min_lease_ttl: Option<String>,

    /// Export TERRAFORM_VAULT_SKIP_CHILD_TOKEN=true for OpenTofu's Vault provider [default: false]
    #[arg(long, value_name = "BOOL")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tofu_skip_child_token: Option<String>,

    /// Also export BAO_ADDR / BAO_TOKEN / BAO_NAMESPACE for the OpenBao CLI [default: false]
    #[arg(long, value_name = "BOOL")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bao_env: Option<String>,

    /// Only put `vault-login` on later steps' PATH, for `vault-login exec`; log in to nothing
    /// [default: false]
    #[arg(long, value_name = "BOOL", num_args = 0..=1, default_missing_value = "true")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub install_only: Option<String>,

    /// Show the plan with a fake token; contact nothing, write nothing [default: false]
    #[arg(long, value_name = "BOOL", num_args = 0..=1, default_missing_value = "true")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dry_run: Option<String>,

    /// Overall deadline for the step's Vault requests, e.g. 60s [default: 60s]
    #[arg(long, value_name = "DURATION")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timeout: Option<String>,

    /// Extra CA certificate(s) to trust for Vault: PEM text, base64-encoded PEM, or a file path
    /// [default: $VAULT_CACERT]
    #[arg(long, value_name = "PEM")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ca_certificate: Option<String>,

    /// Client certificate for Vaults that require mTLS: PEM text, base64-encoded PEM, or a file path
    #[arg(long, value_name = "PEM")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_certificate: Option<String>,

    /// Private key of `client-certificate`: PEM text, base64-encoded PEM, or a file path (prefer a path
    /// or the INPUT_CLIENT-KEY variable to pasting a key into a flag)
    #[arg(long, value_name = "PEM")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_key: Option<String>,

    /// Do not verify Vault's TLS certificate (insecure; warned about on every run) [default: false]
    #[arg(long, value_name = "BOOL")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tls_skip_verify: Option<String>,

    /// If Vault is sealed, wait up to this long for someone to unseal it, e.g. 10m [default: fail at once]
    #[arg(long, value_name = "DURATION")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub wait_for_unseal: Option<String>,
}
