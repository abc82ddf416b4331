//! Waiting for the end of a long-running command (`lab`, `relay`): SIGINT (Ctrl+C), SIGTERM, or the end of
//! standard input when standard input is a pipe. The signal handlers are installed by
//! [`StopSignals::listen`], before the command says it is ready, so that a supervisor that signals right
//! after the ready line is never met by the default action (killed, with nothing cleaned up).
//!
//! Standard input is watched only when it is a pipe (or a socket): that is what a supervisor or a test
//! harness holds open and closes to say "stop". A terminal is never read (a background job that reads its
//! terminal is stopped by SIGTTIN: `mailpath lab &` must keep serving), and `/dev/null` (systemd, nohup)
//! or a closed standard input end at once without anyone asking for a stop.

use tokio::sync::mpsc;

/// Whether the end of standard input should stop the command: it is a pipe or a socket, and
/// `--ignore-stdin` was not given.
pub fn watch_stdin(ignore_stdin: bool) -> bool {
    !ignore_stdin && stdin_is_pipe()
}

/// Whether standard input is a pipe or a socket (not a terminal, a file, a device such as `/dev/null`,
/// nor closed).
#[cfg(unix)]
pub fn stdin_is_pipe() -> bool {
    use std::os::fd::AsFd as _;
    use std::os::unix::fs::FileTypeExt as _;
    // A duplicate of descriptor 0, to ask what it is; failing means it is closed.
    let Ok(fd) = std::io::stdin().as_fd().try_clone_to_owned() else {
        return false;
    };
    std::fs::File::from(fd)
        .metadata()
        .is_ok_and(|m| m.file_type().is_fifo() || m.file_type().is_socket())
}

/// Whether standard input is a pipe: elsewhere than Unix, anything but a console.
#[cfg(not(unix))]
pub fn stdin_is_pipe() -> bool {
    use std::io::IsTerminal as _;
    !std::io::stdin().is_terminal()
}

/// How a long-running command says it can be stopped.
pub fn serving_until(watch_stdin: bool) -> &'static str {
    if watch_stdin {
        "Serving until Ctrl+C (or close stdin)."
    } else {
        "Serving until Ctrl+C."
    }
}

/// Stop requests, listened for since [`StopSignals::listen`].
pub struct StopSignals {
    rx: mpsc::Receiver<&'static str>,
}

impl StopSignals {
    /// Install the handlers now, and watch standard input when `watch_stdin` (see [`watch_stdin`]).
    /// Must run inside the tokio runtime.
    pub fn listen(watch_stdin: bool) -> StopSignals {
        let (tx, rx) = mpsc::channel::<&'static str>(4);
        if watch_stdin {
            let tx = tx.clone();
            // Reading stdin blocks; a named thread owns it.
            let _ = std::thread::Builder::new()
                .name("mailpath-stdin".into())
                .spawn(move || {
                    let mut sink = [0u8; 1024];
                    let mut stdin = std::io::stdin().lock();
                    loop {
                        match std::io::Read::read(&mut stdin, &mut sink) {
                            Ok(0) | Err(_) => break,
                            Ok(_) => {}
                        }
                    }
                    let _ = tx.blocking_send("stdin closed");
                });
        }
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            for (kind, name) in [
                (SignalKind::interrupt(), "SIGINT"),
                (SignalKind::terminate(), "SIGTERM"),
            ] {
                // Registered here, synchronously; only the waiting happens in the task.
                if let Ok(mut stream) = signal(kind) {
                    let tx = tx.clone();
                    tokio::spawn(async move {
                        if stream.recv().await.is_some() {
                            let _ = tx.send(name).await;
                        }
                    });
                }
            }
        }
        #[cfg(windows)]
        {
            if let Ok(mut stream) = tokio::signal::windows::ctrl_c() {
                let tx = tx.clone();
                tokio::spawn(async move {
                    if stream.recv().await.is_some() {
                        let _ = tx.send("Ctrl+C").await;
                    }
                });
            }
        }
        #[cfg(not(any(unix, windows)))]
        {
            let tx = tx.clone();
            tokio::spawn(async move {
                if tokio::signal::ctrl_c().await.is_ok() {
                    let _ = tx.send("Ctrl+C").await;
                }
            });
        }
        drop(tx);
        StopSignals { rx }
    }

    /// Wait for the first stop request; what it was (`None` when nothing can ask any more).
    pub async fn wait(mut self) -> Option<&'static str> {
        self.rx.recv().await
    }
}
