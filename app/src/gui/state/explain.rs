//! The Explain view's state: the text, the last explanation, and the job that reads and explains off the UI
//! thread (a named thread whose result comes back over a channel that wakes the UI).

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::mpsc::{Receiver, TryRecvError, sync_channel};

use eframe::egui;
use mailpath_core::explain::{Context, Explanation, explain};

/// Bytes read from a file at most (as `mailpath explain`).
pub const MAX_FILE: u64 = 10 * 1024 * 1024;
/// Characters of a loaded file shown in the text box (the explanation reads all of it).
const MAX_SHOWN: usize = 256 * 1024;

/// Everything the Explain view shows.
#[derive(Debug, Default)]
pub struct ExplainState {
    /// The pasted (or loaded) text.
    pub text: String,
    /// A path typed to open.
    pub path: String,
    /// Where the text came from.
    pub source: Option<String>,
    /// The last explanation.
    pub explanation: Option<Explanation>,
    /// Why the last input could not be read.
    pub error: Option<String>,
    /// The bytes last explained (a loaded file may be longer than the text box shows).
    pub(crate) input: Option<Arc<Vec<u8>>>,
    /// The evidence the explanation was ranked by (the diagnosis's address, 0 for none), to re-rank
    /// when another diagnosis arrives.
    pub(crate) ranked_with: usize,
    /// A job running on the explain thread.
    job: Option<Receiver<JobDone>>,
    /// Explain the text at the next frame (set from another view: a relay refusal).
    pub(crate) queued: bool,
}

/// What the explain thread does.
#[derive(Debug)]
pub(crate) enum Job {
    /// Explain these bytes.
    Bytes(Arc<Vec<u8>>),
    /// Read this file (bounded), then explain it.
    File(PathBuf),
    /// Ask for a file with the dialog, then read and explain it.
    Dialog,
}

#[derive(Debug)]
struct JobDone {
    /// The file read (for the text box and the source label), when the job read one.
    loaded: Option<(String, Arc<Vec<u8>>)>,
    result: Result<Option<Explanation>, String>,
    ranked_with: usize,
}

impl ExplainState {
    /// Whether a job runs.
    pub fn busy(&self) -> bool {
        self.job.is_some()
    }

    /// Take `text` from elsewhere (a relay session's refusal) and explain it when the view next shows.
    pub fn queue(&mut self, text: String, source: &str) {
        self.text = text;
        self.source = Some(source.to_string());
        self.input = None;
        self.queued = true;
    }

    /// The hops the explanation pins its main failure on, and its code (for the Path view).
    pub fn highlight(&self) -> Option<(&[String], &str)> {
        let main = self.explanation.as_ref()?.main()?;
        Some((main.hops.as_slice(), main.code.as_str()))
    }

    pub(crate) fn start(&mut self, job: Job, ctx: Context, ranked_with: usize, egui_ctx: &egui::Context) {
        let (tx, rx) = sync_channel(1);
        let waker = egui_ctx.clone();
        let spawned = std::thread::Builder::new()
            .name("mailpath-explain".into())
            .spawn(move || {
                let done = run_job(job, &ctx, ranked_with);
                // Send, then wake the UI (it drains the channel in the next frame).
                let _ = tx.send(done);
                waker.request_repaint();
            });
        match spawned {
            Ok(_) => {
                self.job = Some(rx);
                self.error = None;
            }
            Err(e) => self.error = Some(format!("could not start the explanation: {e}")),
        }
    }

    /// Take a finished job's result, if one finished.
    pub(crate) fn poll(&mut self) {
        let Some(rx) = &self.job else { return };
        let done = match rx.try_recv() {
            Ok(done) => done,
            Err(TryRecvError::Empty) => return,
            Err(TryRecvError::Disconnected) => {
                self.job = None;
                self.error = Some("the explanation stopped unexpectedly".into());
                return;
            }
        };
        self.job = None;
        if let Some((source, bytes)) = done.loaded {
            let shown = String::from_utf8_lossy(&bytes);
            self.text = shown.chars().take(MAX_SHOWN).collect();
            self.source = Some(source);
            self.input = Some(bytes);
        }
        match done.result {
            Ok(Some(e)) => {
                self.explanation = Some(e);
                self.ranked_with = done.ranked_with;
                self.error = None;
            }
            Ok(None) => {}
            Err(e) => {
                self.explanation = None;
                self.error = Some(e);
            }
        }
    }
}

fn run_job(job: Job, ctx: &Context, ranked_with: usize) -> JobDone {
    let done = |loaded, result| JobDone {
        loaded,
        result,
        ranked_with,
    };
    let path = match job {
        Job::Bytes(bytes) => return done(None, Ok(Some(explain(&bytes, ctx)))),
        Job::File(path) => path,
        Job::Dialog => {
            let picked = rfd::FileDialog::new()
                .set_title("Open an NDR, a queue error, a message trace or a protocol log")
                .add_filter(
                    "NDRs, logs and text",
                    &["eml", "msg", "txt", "log", "html", "htm", "csv"],
                )
                .add_filter("All files", &["*"])
                .pick_file();
            let Some(path) = picked else {
                return done(None, Ok(None));
            };
            path
        }
    };
    match read_bounded(&path) {
        Ok(bytes) => {
            let e = explain(&bytes, ctx);
            done(Some((path.display().to_string(), bytes)), Ok(Some(e)))
        }
        Err(e) => done(None, Err(e)),
    }
}

fn read_bounded(path: &std::path::Path) -> Result<Arc<Vec<u8>>, String> {
    use std::io::Read as _;
    let mut data = Vec::new();
    std::fs::File::open(path)
        .and_then(|f| f.take(MAX_FILE).read_to_end(&mut data))
        .map_err(|e| format!("could not read {}: {e}", path.display()))?;
    Ok(Arc::new(data))
}
