//! The integration tests, one binary (as xh and hyperfine do): the built `vault-login` run exactly as a
//! runner runs it, against real OpenBao and PostgreSQL servers that `scripts/test` starts. Run one module
//! with `scripts/test -- secrets::`, one test with its name.

mod cases;
mod support;
