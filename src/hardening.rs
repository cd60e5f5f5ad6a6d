//! What the process forbids itself first, before it fetches anything secret.
//!
//! It will hold the job's ID token, a Vault token and secret values. A crash with core dumps enabled
//! (and the release build aborts on panic) would write all of them to a core file on the runner, where
//! later steps of the job can read it. So core dumps are turned off at start, both by the limit and by
//! marking the process not dumpable, which also keeps other processes of the same user from attaching to
//! it (ptrace) or reading its memory through `/proc`.

use rustix::process::{DumpableBehavior, Resource, Rlimit, set_dumpable_behavior, setrlimit};

/// Turns core dumps off for this process and its children; an error says which step failed.
pub fn forbid_core_dumps() -> Result<(), String> {
    setrlimit(Resource::Core, Rlimit { current: Some(0), maximum: Some(0) })
        .map_err(|e| format!("cannot set the core-file size limit to 0 ({e})"))?;
    set_dumpable_behavior(DumpableBehavior::NotDumpable)
        .map_err(|e| format!("cannot mark the process not dumpable ({e})"))
}
