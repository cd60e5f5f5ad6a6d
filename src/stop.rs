//! Signals that end what the binary is doing. The main step, told to stop (SIGTERM, SIGINT or SIGHUP from
//! the runner through the shim, or the shim itself gone: the kernel sends SIGTERM then, see
//! [`Stop::listen`]), writes nothing more to the file commands and revokes the token it holds, including
//! one whose login answer was in flight when the signal came: a login is never abandoned halfway, so its
//! token is never lost. `exec` listens to the same way, to pass the signals on to its command.

use std::io;

use rustix::process::{Signal, getppid, set_parent_process_death_signal};
use tokio::signal::unix::{SignalKind, signal};

/// A signal to listen to: tokio's kind, the number to pass on, the name for the log.
pub type Listened = (SignalKind, Signal, &'static str);

/// Streams of the given signals, from the moment they were created.
pub struct Signals(Vec<(tokio::signal::unix::Signal, Signal, &'static str)>);

impl Signals {
    pub fn listen(kinds: &[Listened]) -> io::Result<Self> {
        kinds
            .iter()
            .map(|(kind, number, name)| Ok((signal(*kind)?, *number, *name)))
            .collect::<io::Result<_>>()
            .map(Self)
    }

    /// The first signal received (at once if one came already), and its name.
    pub async fn recv(&mut self) -> (Signal, &'static str) {
        let waits = self.0.iter_mut().map(|(stream, number, name)| {
            let (number, name) = (*number, *name);
            Box::pin(async move {
                stream.recv().await;
                (number, name)
            })
        });
        futures_util::future::select_all(waits).await.0
    }
}

/// The main step's stop signals, listened to from its start.
pub struct Stop(Signals);

impl Stop {
    /// Listens for the stop signals, and asks the kernel for a SIGTERM should the parent (the shim) die,
    /// so that the step never runs on, reparented, after the shim was killed.
    pub fn listen() -> io::Result<Self> {
        let signals = Signals::listen(&[
            (SignalKind::terminate(), Signal::TERM, "SIGTERM"),
            (SignalKind::interrupt(), Signal::INT, "SIGINT"),
            (SignalKind::hangup(), Signal::HUP, "SIGHUP"),
        ])?;
        let parent = getppid();
        set_parent_process_death_signal(Some(Signal::TERM))?;
        if getppid() != parent {
            // The parent died before the request took effect: stop as the signal would have made it.
            rustix::process::kill_process(rustix::process::getpid(), Signal::TERM)?;
        }
        Ok(Self(signals))
    }

    /// The name of the first stop signal received (at once if one came already).
    pub async fn wait(&mut self) -> &'static str {
        self.0.recv().await.1
    }
}
