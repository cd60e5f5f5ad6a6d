//! vault-login: a CI step that trades the job's OIDC ID token for a short-lived Vault token, exports the
//! secrets a workflow asks for, and revokes the token at job end.
//!
//! The flow, module by module: [`config`] reads inputs once; [`oidc`] gets the ID token (or [`fake_token`]
//! mints one for a dry run); [`vault`] logs in and reads; [`fetch`] turns the [`spec`] requests into
//! values; [`exports`] masks and writes them through the [`runner`]'s file commands; [`post`] revokes.
#![deny(unsafe_code)]

pub mod claims;
pub mod cli;
pub mod config;
pub mod diagnose;
pub mod dry_run;
pub mod exec;
pub mod exports;
pub mod fake_token;
pub mod fetch;
pub mod hardening;
pub mod inputs;
pub mod inspect;
pub mod install;
pub mod local_git;
pub mod mask;
pub mod names;
pub mod oidc;
pub mod post;
pub mod progress;
pub mod proxy;
pub mod runner;
pub mod spec;
pub mod state;
pub mod step;
pub mod stop;
pub mod summary;
pub mod tls;
pub mod vault;

/// `--version`: the crate version and the commit it was built from.
pub const VERSION: &str = concat!(env!("CARGO_PKG_VERSION"), " (", env!("VAULT_LOGIN_COMMIT"), ")");
