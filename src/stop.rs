//! A main step told to stop: SIGTERM, SIGINT or SIGHUP from the runner (through the shim), or the shim
//! itself gone (the kernel sends SIGTERM then, see [`Stop::listen`]). From then on the step writes nothing
//! more to the file commands and revokes the token it holds, including one whose login answer was in
//! flight when the signal came: a login is never abandoned halfway, so its token is never lost.

use std::io;

use rustix::process::{Signal, getppid, set_parent_process_death_signal};
use tokio::signal::unix::{SignalKind, signal};

/// The stop signals, listened to from the start of the step.
pub struct Stop {
    streams: Vec<(tokio::signal::unix::Signal, &'static str)>,
}

impl Stop {
    /// Listens for the stop signals, and asks the kernel for a SIGTERM should the parent (the shim) die,
    /// so that the step never runs on, reparented, after the shim was killed.
    pub fn listen() -> io::Result<Self> {
        let kinds = [
            (SignalKind::terminate(), "SIGTERM"),
            (SignalKind::interrupt(), "SIGINT"),
            (SignalKind::hangup(), "SIGHUP"),
        ];
        let streams = kinds.into_iter().map(|(kind, name)| Ok((signal(kind)?, name))).collect::<io::Result<_>>()?;
        let parent = getppid();
        set_parent_process_death_signal(Some(Signal::TERM))?;
        if getppid() != parent {
            // The parent died before the request took effect: stop as the signal would have made it.
            rustix::process::kill_process(rustix::process::getpid(), Signal::TERM)?;
        }
        Ok(Self { streams })
    }

    /// The name of the first stop signal received (at once if one came already).
    pub async fn wait(&mut self) -> &'static str {
        let waits = self.streams.iter_mut().map(|(stream, name)| {
            let name = *name;
            Box::pin(async move {
                stream.recv().await;
                name
            })
        });
        futures_util::future::select_all(waits).await.0
    }
}
