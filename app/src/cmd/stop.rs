//! Waiting for the end of a long-running command (`lab`, `relay`): SIGINT (Ctrl+C), SIGTERM, or the end of
//! standard input. The signal handlers are installed by [`StopSignals::listen`], before the command says it
//! is ready, so that a supervisor that signals right after the ready line is never met by the default
//! action (killed, with nothing cleaned up).

use tokio::sync::mpsc;

/// How a long-running command says it can be stopped.
pub fn serving_until(ignore_stdin: bool) -> &'static str {
    if ignore_stdin {
        "Serving until Ctrl+C."
    } else {
        "Serving until Ctrl+C (or close stdin)."
    }
}

/// Stop requests, listened for since [`StopSignals::listen`].
pub struct StopSignals {
    rx: mpsc::Receiver<&'static str>,
}

impl StopSignals {
    /// Install the handlers now. Must run inside the tokio runtime.
    pub fn listen(ignore_stdin: bool) -> StopSignals {
        let (tx, rx) = mpsc::channel::<&'static str>(4);
        if !ignore_stdin {
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
