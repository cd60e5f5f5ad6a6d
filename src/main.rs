//! `vault-login`: see `vault_login::cli` for the modes, and README.md for the action.

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = vault_login::cli::Cli::parse();
    let env: Vec<(String, String)> = std::env::vars().collect();
    vault_login::cli::run(cli, &env)
}
