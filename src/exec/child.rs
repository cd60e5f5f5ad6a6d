//! The command `exec` runs: started in its own process group, so that a signal `exec` receives reaches
//! the command and everything it started; killed when it outlives the grace period after one.
//!
//! When stdin is a terminal the command stays in `exec`'s group instead: a background group could not
//! read the terminal, and Ctrl-C already reaches the whole foreground group, so only what was sent to
//! `exec` alone (SIGTERM, SIGHUP) is passed on.

use std::io::IsTerminal;
use std::os::unix::process::ExitStatusExt;
use std::process::ExitStatus;
use std::time::Duration;

use rustix::process::{Pid, Signal, kill_process, kill_process_group};
use tokio::signal::unix::SignalKind;

use crate::stop::Listened;

/// How long the command may take to exit after a forwarded signal before it is killed.
pub const GRACE: Duration = Duration::from_secs(10);

/// The signals `exec` passes on.
pub const FORWARDED: [Listened; 4] = [
    (SignalKind::interrupt(), Signal::INT, "SIGINT"),
    (SignalKind::terminate(), Signal::TERM, "SIGTERM"),
    (SignalKind::hangup(), Signal::HUP, "SIGHUP"),
    (SignalKind::quit(), Signal::QUIT, "SIGQUIT"),
];

/// A started command.
pub struct Command {
    child: tokio::process::Child,
    pid: Pid,
    /// In its own process group (no terminal).
    grouped: bool,
}

/// Why the command could not start, with the exit status a shell would give.
pub struct SpawnError {
    pub message: String,
    pub status: u8,
}

impl Command {
    /// Starts `argv` with `env` added to `exec`'s own environment; stdin, stdout and stderr are shared.
    pub fn spawn<'a>(argv: &[String], env: impl Iterator<Item = (&'a str, &'a str)>) -> Result<Self, SpawnError> {
        let grouped = !std::io::stdin().is_terminal();
        let mut command = tokio::process::Command::new(&argv[0]);
        command.args(&argv[1..]).envs(env);
        if grouped {
            command.process_group(0);
        }
        let child = command.spawn().map_err(|e| SpawnError {
            message: format!("cannot start `{}`: {e}", crate::names::shown(&argv[0])),
            status: if e.kind() == std::io::ErrorKind::NotFound { 127 } else { 126 },
        })?;
        let raw = child.id().and_then(|id| i32::try_from(id).ok()).and_then(Pid::from_raw);
        let pid = raw
            .ok_or_else(|| SpawnError { message: "the command exited before it could be watched".into(), status: 1 })?;
        Ok(Self { child, pid, grouped })
    }

    pub async fn wait(&mut self) -> std::io::Result<ExitStatus> {
        self.child.wait().await
    }

    /// Passes `signal` on: to the whole group, or to the command alone when it shares a terminal (which
    /// already told it of Ctrl-C and Ctrl-\\). A failure means it has exited already, which is the goal.
    pub fn forward(&self, signal: Signal) {
        if self.grouped {
            kill_process_group(self.pid, signal).ok();
        } else if !matches!(signal, Signal::INT | Signal::QUIT) {
            kill_process(self.pid, signal).ok();
        }
    }

    /// Ends the command (and its group) for good.
    pub fn kill(&self) {
        self.forward(Signal::KILL);
    }
}

/// The status a shell reports: the command's exit code, or 128 + N when signal N ended it.
pub fn exit_status(status: ExitStatus) -> u8 {
    match (status.code(), status.signal()) {
        (Some(code), _) => u8::try_from(code & 0xff).unwrap_or(1),
        (None, Some(signal)) => u8::try_from(128 + signal).unwrap_or(255),
        (None, None) => 1,
    }
}
