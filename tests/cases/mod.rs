//! One module per concern; each file says what it covers in its first lines.

mod act;
mod core_flow;
mod diagnose;
mod docs;
mod dry_run;
mod emulator;
mod envfile_roundtrip;
mod exec;
mod faults;
mod forges;
mod ha;
mod harness;
mod hostile;
mod load;
mod login_failures;
mod sandbox;
mod secrets;
mod shim;
mod signals;
mod terraform;
mod tls;
