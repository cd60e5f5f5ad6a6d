//! vault-login: a CI step that trades the job's OIDC ID token for a short-lived Vault token, exports the
//! secrets a workflow asks for, and revokes the token at job end.
//!
//! The main step, module by module: [`config`] reads inputs and the environment once; [`step`] runs the
//! flow: [`oidc`] gets the ID token (or [`fake_token`] mints one for a dry run), [`vault`] logs in
//! ([`login_hints`] explains a refusal), [`fetch`] turns the [`spec`] requests into values under
//! [`export_names`], [`exports`] masks them ([`mask`]) and writes them through the [`runner`]'s file
//! commands, [`state`] is saved for the post step and [`install`] puts the binary on PATH. The post step:
//! [`post`] revokes. `vault-login exec`: [`exec`]. Around them: [`stop`] (signals), [`hardening`],
//! [`tls`], [`proxy`]; the [`dry_run`] and `vault-login` [`diagnose`] explain without logging in.
#![deny(unsafe_code)]

pub mod claims;
pub mod cli;
pub mod config;
pub mod diagnose;
pub mod dry_run;
pub mod exec;
pub mod export_names;
pub mod exports;
pub mod fake_token;
pub mod fetch;
pub mod forge;
pub mod hardening;
pub mod inputs;
pub mod install;
pub mod local_git;
pub mod login_hints;
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
