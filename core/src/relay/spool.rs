//! The durable spool: every message the relay acknowledges is on disk first.
//!
//! Layout under the spool directory (directories 0700, files 0600 on Unix; nothing is written
//! through a symbolic link, see [`super::files`]):
//!
//! - `tmp/`: files being written. Whatever is here at start is an unacknowledged leftover and is
//!   deleted (a directory there is reported and left alone).
//! - `messages/ID.eml`: the message exactly as received (dot-unstuffed);
//!   `messages/ID.json`: its [`MessageMeta`] (envelope, session, TLS, client certificate chain,
//!   received time, delivery state and log).
//! - `delivery.log`: one JSON line per delivery attempt, for every message (append-only).
//!
//! Receiving ([`SpoolSink`]): a session's content is staged in memory up to [`STAGE_MAX`] bytes,
//! within a global budget ([`MEMORY_BUDGET`]) shared by all sessions; past that it streams to
//! `tmp/ID.eml` as it arrives. So a session holds a bounded amount of memory whatever the size of
//! the message.
//!
//! Storing ([`Spool::store`], and every message a session completes): one committer thread takes
//! every message waiting at that moment as one batch (group commit across sessions): it writes the
//! rest of each `tmp/ID.eml` and `tmp/ID.json`, syncs the data of all of them (in parallel, so the
//! file system joins them into one journal commit), renames each `.eml` then its `.json` into
//! `messages/`, and syncs `messages/` once for the whole batch (on Unix; Windows has no directory
//! fsync and the renames are journaled by NTFS). Only then does a session get its id, which the
//! server turns into `250 2.6.0 <id> Queued`. The `.json` is the commit record: at start
//! ([`Spool::open`]) an `.eml` without its `.json` was never acknowledged and is removed; a `.json`
//! without its `.eml` cannot come from this code and is moved to `damaged/`.
//!
//! Directory fsyncs are also shared with metadata updates ([`Spool::update`]): a writer whose rename
//! happened before a running fsync started waits for that fsync instead of issuing its own.

use std::fs::File;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, mpsc};

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::files;
use crate::smtp::server::{MessageSink, MessageWriter, ReceivedMessage, SessionInfo, SinkFuture};

/// The schema tag of a message's metadata file.
pub const META_SCHEMA: &str = "mailpath/spool-message/1";
/// Delivery attempts kept in a message's metadata (the full history is in `delivery.log`).
pub const MAX_LOG_IN_META: usize = 20;
/// Content a session keeps in memory before it streams the message to `tmp/`.
pub const STAGE_MAX: usize = 128 * 1024;
/// Content all sessions together keep in memory; past it, sessions stream to `tmp/` sooner.
pub const MEMORY_BUDGET: usize = 16 * 1024 * 1024;
/// How much of a streamed message's start is kept in memory for its metadata and header analysis.
pub const HEAD_MAX: usize = 64 * 1024;
/// Most messages in one group commit.
const MAX_BATCH: usize = 512;
/// Threads that sync the files of a batch in parallel (started once, with the spool).
const SYNC_THREADS: usize = 4;

/// Why the spool could not do something.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SpoolError {
    /// A file system operation failed.
    #[error("{what} {}: {source}", path.display())]
    Io {
        /// What was being done.
        what: &'static str,
        /// The file or directory.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// A metadata file does not parse.
    #[error("metadata {} does not parse: {source}", path.display())]
    Meta {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: serde_json::Error,
    },
    /// No message with this id.
    #[error("no message {0} in the spool")]
    NotFound(String),
    /// An id that cannot be a spool id (path separators, dots).
    #[error("{0:?} is not a spool message id")]
    BadId(String),
}

fn io_error<'a>(what: &'static str, path: &'a Path) -> impl FnOnce(std::io::Error) -> SpoolError + use<'a> {
    move |source| SpoolError::Io {
        what,
        path: path.to_path_buf(),
        source,
    }
}

/// Where a message stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum DeliveryState {
    /// Captured only: no forwarding is configured.
    Captured,
    /// Waiting for a (further) forwarding attempt.
    Queued,
    /// Every recipient was accepted by the smart host.
    Delivered,
    /// Given up on (some) recipients; a bounce was generated when there was a sender to tell.
    Failed,
}

/// A recipient the smart host refused for good, or that ran out of retries.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecipientFailure {
    /// The recipient.
    pub rcpt: String,
    /// Why (the smart host's reply or the last error).
    pub reason: String,
}

/// One delivery attempt.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attempt {
    /// When it started.
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    /// The smart host (`host:port`).
    pub host: String,
    /// `delivered`, `deferred`, `failed`.
    pub outcome: String,
    /// The reply or error that decided it.
    pub detail: String,
    /// The TLS version and cipher used, when TLS was used.
    pub tls: Option<String>,
    /// Milliseconds the attempt took.
    pub ms: u64,
}

/// The delivery side of a message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Delivery {
    /// Where it stands.
    pub state: DeliveryState,
    /// Attempts made so far.
    pub attempts: u32,
    /// When the next attempt is due (queued messages).
    #[serde(with = "time::serde::rfc3339::option", default)]
    pub next_attempt: Option<OffsetDateTime>,
    /// Recipients still to deliver.
    pub pending: Vec<String>,
    /// Recipients the smart host accepted.
    pub delivered: Vec<String>,
    /// Recipients given up on.
    pub failed: Vec<RecipientFailure>,
    /// The latest attempts (at most [`MAX_LOG_IN_META`]).
    pub log: Vec<Attempt>,
    /// The id of the bounce generated for this message, if any.
    pub bounce_id: Option<String>,
}

impl Delivery {
    /// A captured message that will not be forwarded.
    pub fn captured() -> Delivery {
        Delivery {
            state: DeliveryState::Captured,
            attempts: 0,
            next_attempt: None,
            pending: Vec::new(),
            delivered: Vec::new(),
            failed: Vec::new(),
            log: Vec::new(),
            bounce_id: None,
        }
    }

    /// A message queued for forwarding to every recipient in `rcpt_to`, due now.
    pub fn queued(rcpt_to: &[String]) -> Delivery {
        Delivery {
            state: DeliveryState::Queued,
            pending: rcpt_to.to_vec(),
            ..Delivery::captured()
        }
    }
}

/// Everything known about a spooled message except its bytes (`ID.json`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MessageMeta {
    /// [`META_SCHEMA`].
    pub schema: String,
    /// The spool id (also the file stem).
    pub id: String,
    /// When the end of data arrived.
    #[serde(with = "time::serde::rfc3339")]
    pub received_at: OffsetDateTime,
    /// The reverse path (empty for a bounce).
    pub mail_from: String,
    /// The forward paths.
    pub rcpt_to: Vec<String>,
    /// Message size in bytes.
    pub size: usize,
    /// The session it arrived in: client, EHLO name, TLS version/cipher/SNI, client certificate
    /// chain (base64 DER).
    pub session: SessionInfo,
    /// The `Subject:` header, when present (for lists).
    pub subject: Option<String>,
    /// The `Message-ID:` header, when present.
    pub message_id: Option<String>,
    /// The `X-Mailpath-Tracking:` header of a `mailpath relay send` test message.
    pub tracking_id: Option<String>,
    /// Forwarding.
    pub delivery: Delivery,
}

/// What [`Spool::open`] found.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Recovery {
    /// Complete messages in the spool.
    pub messages: usize,
    /// Of those, queued for forwarding.
    pub queued: Vec<String>,
    /// Files in `tmp/` removed (writes interrupted before they were acknowledged).
    pub removed_tmp: usize,
    /// Messages without their metadata removed (renamed but never acknowledged).
    pub removed_partial: usize,
    /// Metadata files without a message, moved to `damaged/`.
    pub damaged: usize,
    /// Entries of `tmp/` and `messages/` that are not regular files (directories, sockets), left
    /// alone: their names, relative to the spool.
    #[serde(default)]
    pub skipped: Vec<String>,
}

/// A spool directory.
#[derive(Debug)]
pub struct Spool {
    root: PathBuf,
    tmp: PathBuf,
    messages: PathBuf,
    log_lock: Mutex<()>,
    dir_sync: Arc<DirSync>,
    next: AtomicU64,
    budget: Budget,
    committer: Mutex<mpsc::Sender<Commit>>,
    pid: u32,
}

impl Spool {
    /// Open (creating if needed) the spool at `root` and recover it: remove unacknowledged leftovers,
    /// keep every complete message.
    ///
    /// # Errors
    /// When the directories cannot be created or read.
    pub fn open(root: &Path) -> Result<(Spool, Recovery), SpoolError> {
        Spool::open_with_budget(root, MEMORY_BUDGET)
    }

    /// [`Spool::open`] with another global in-memory budget for content being received.
    ///
    /// # Errors
    /// As [`Spool::open`].
    pub fn open_with_budget(root: &Path, budget: usize) -> Result<(Spool, Recovery), SpoolError> {
        let tmp = root.join("tmp");
        let messages = root.join("messages");
        root_dir(root).map_err(io_error("create", root))?;
        for dir in [&tmp, &messages] {
            files::private_dir(dir).map_err(io_error("create", dir))?;
        }
        let dir_sync = Arc::new(DirSync::new(messages.clone()));
        let (tx, rx) = mpsc::channel();
        let committer = Committer {
            tmp: tmp.clone(),
            messages: messages.clone(),
            dir_sync: Arc::clone(&dir_sync),
            pool: SyncPool::start(SYNC_THREADS).map_err(io_error("start the sync threads of", root))?,
        };
        std::thread::Builder::new()
            .name("mailpath-spool".into())
            .spawn(move || committer.run(&rx))
            .map_err(io_error("start the committer of", root))?;
        let spool = Spool {
            root: root.to_path_buf(),
            tmp,
            messages,
            log_lock: Mutex::new(()),
            dir_sync,
            next: AtomicU64::new(0),
            budget: Budget::new(budget),
            committer: Mutex::new(tx),
            pid: std::process::id(),
        };
        let recovery = spool.recover()?;
        Ok((spool, recovery))
    }

    /// The spool directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    fn recover(&self) -> Result<Recovery, SpoolError> {
        let mut recovery = Recovery::default();
        for entry in std::fs::read_dir(&self.tmp).map_err(io_error("read", &self.tmp))? {
            let entry = entry.map_err(io_error("read", &self.tmp))?;
            let path = entry.path();
            if entry.file_type().is_ok_and(|t| t.is_dir()) {
                tracing::warn!(path = %path.display(), "a directory in the spool's tmp/: left alone");
                recovery
                    .skipped
                    .push(format!("tmp/{}", entry.file_name().to_string_lossy()));
                continue;
            }
            std::fs::remove_file(&path).map_err(io_error("remove", &path))?;
            recovery.removed_tmp += 1;
        }
        let mut emls = std::collections::BTreeSet::new();
        let mut jsons = std::collections::BTreeSet::new();
        for entry in std::fs::read_dir(&self.messages).map_err(io_error("read", &self.messages))? {
            let entry = entry.map_err(io_error("read", &self.messages))?;
            let path = entry.path();
            if !entry.file_type().is_ok_and(|t| t.is_file()) {
                tracing::warn!(path = %path.display(), "not a regular file in the spool's messages/: left alone");
                recovery
                    .skipped
                    .push(format!("messages/{}", entry.file_name().to_string_lossy()));
                continue;
            }
            let (Some(stem), Some(ext)) = (
                path.file_stem().and_then(|s| s.to_str()),
                path.extension().and_then(|s| s.to_str()),
            ) else {
                continue;
            };
            match ext {
                "eml" => emls.insert(stem.to_string()),
                "json" => jsons.insert(stem.to_string()),
                _ => false,
            };
        }
        for id in emls.difference(&jsons) {
            let path = self.messages.join(format!("{id}.eml"));
            std::fs::remove_file(&path).map_err(io_error("remove", &path))?;
            recovery.removed_partial += 1;
        }
        let damaged_dir = self.root.join("damaged");
        for id in jsons.difference(&emls) {
            files::private_dir(&damaged_dir).map_err(io_error("create", &damaged_dir))?;
            let from = self.messages.join(format!("{id}.json"));
            let to = damaged_dir.join(format!("{id}.json"));
            std::fs::rename(&from, &to).map_err(io_error("move", &from))?;
            recovery.damaged += 1;
        }
        for id in emls.intersection(&jsons) {
            recovery.messages += 1;
            match self.meta(id) {
                Ok(meta) if meta.delivery.state == DeliveryState::Queued => recovery.queued.push(id.clone()),
                Ok(_) => {}
                Err(error) => tracing::warn!(%error, "unreadable spool metadata"),
            }
        }
        if recovery.removed_partial + recovery.damaged > 0 {
            self.dir_sync.sync()?;
        }
        Ok(recovery)
    }

    /// A new unique id: time in microseconds, process id, a counter.
    pub fn new_id(&self) -> String {
        let micros = OffsetDateTime::now_utc().unix_timestamp_nanos() / 1000;
        let n = self.next.fetch_add(1, Ordering::Relaxed);
        format!("{micros:x}-{:x}-{n:x}", self.pid)
    }

    fn check_id(id: &str) -> Result<(), SpoolError> {
        let ok = !id.is_empty()
            && id.len() <= 64
            && id
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        if ok {
            Ok(())
        } else {
            Err(SpoolError::BadId(id.to_string()))
        }
    }

    /// Store a message durably (blocking: call it from a blocking thread, not from async code).
    /// When this returns `Ok`, the message and its metadata are synced to disk and renamed into
    /// `messages/`, and that directory is synced.
    ///
    /// # Errors
    /// When a write, sync or rename fails; nothing is left in `messages/` for this id then.
    pub fn store(&self, meta: &MessageMeta, data: &[u8]) -> Result<(), SpoolError> {
        let reply = self.submit(meta, None, data.to_vec())?;
        reply
            .blocking_recv()
            .map_err(|_| self.committer_gone())?
            .map(drop)
    }

    /// Hand a message to the committer; the receiver gets the outcome (and the content buffer back).
    fn submit(
        &self,
        meta: &MessageMeta,
        eml: Option<TmpFile>,
        tail: Vec<u8>,
    ) -> Result<tokio::sync::oneshot::Receiver<Result<Vec<u8>, SpoolError>>, SpoolError> {
        Spool::check_id(&meta.id)?;
        let json = serde_json::to_vec_pretty(meta).map_err(|source| SpoolError::Meta {
            path: self.messages.join(format!("{}.json", meta.id)),
            source,
        })?;
        let (tx, rx) = tokio::sync::oneshot::channel();
        let commit = Commit {
            id: meta.id.clone(),
            eml,
            tail,
            json,
            reply: tx,
        };
        let sent = self
            .committer
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .send(commit);
        sent.map_err(|_| self.committer_gone())?;
        Ok(rx)
    }

    fn committer_gone(&self) -> SpoolError {
        SpoolError::Io {
            what: "commit to",
            path: self.messages.clone(),
            source: std::io::Error::other("the spool's committer thread is gone"),
        }
    }

    /// A new file `tmp/ID.eml` for content that does not fit in memory (0600, never through a link).
    fn create_tmp(&self, id: &str) -> Result<TmpFile, SpoolError> {
        Spool::check_id(id)?;
        TmpFile::create(self.tmp.join(format!("{id}.eml")))
    }

    /// Replace a message's metadata atomically (write, sync, rename, directory sync).
    ///
    /// # Errors
    /// When the write, sync or rename fails; the old metadata stays in place then.
    pub fn update(&self, meta: &MessageMeta) -> Result<(), SpoolError> {
        Spool::check_id(&meta.id)?;
        let final_json = self.messages.join(format!("{}.json", meta.id));
        if !final_json.exists() {
            return Err(SpoolError::NotFound(meta.id.clone()));
        }
        let json = serde_json::to_vec_pretty(meta).map_err(|source| SpoolError::Meta {
            path: final_json.clone(),
            source,
        })?;
        let n = self.next.fetch_add(1, Ordering::Relaxed);
        let tmp = self.tmp.join(format!("{}.{n}.json", meta.id));
        files::write_new(&tmp, &json).map_err(io_error("write", &tmp))?;
        std::fs::rename(&tmp, &final_json).map_err(io_error("rename", &tmp))?;
        self.dir_sync.sync()
    }

    /// A message's metadata.
    ///
    /// # Errors
    /// When there is no such message or its metadata does not parse.
    pub fn meta(&self, id: &str) -> Result<MessageMeta, SpoolError> {
        Spool::check_id(id)?;
        let path = self.messages.join(format!("{id}.json"));
        let bytes = std::fs::read(&path).map_err(|source| {
            if source.kind() == std::io::ErrorKind::NotFound {
                SpoolError::NotFound(id.to_string())
            } else {
                SpoolError::Io {
                    what: "read",
                    path: path.clone(),
                    source,
                }
            }
        })?;
        serde_json::from_slice(&bytes).map_err(|source| SpoolError::Meta { path, source })
    }

    /// A message's bytes, as received.
    ///
    /// # Errors
    /// When there is no such message.
    pub fn data(&self, id: &str) -> Result<Vec<u8>, SpoolError> {
        Spool::check_id(id)?;
        let path = self.messages.join(format!("{id}.eml"));
        std::fs::read(&path).map_err(io_error("read", &path))
    }

    /// The path of a message's `.eml` file.
    pub fn eml_path(&self, id: &str) -> PathBuf {
        self.messages.join(format!("{id}.eml"))
    }

    /// The ids of every complete message, oldest first.
    ///
    /// # Errors
    /// When the directory cannot be read.
    pub fn ids(&self) -> Result<Vec<String>, SpoolError> {
        let mut ids = Vec::new();
        for entry in std::fs::read_dir(&self.messages).map_err(io_error("read", &self.messages))? {
            let path = entry.map_err(io_error("read", &self.messages))?.path();
            if path.extension().and_then(|e| e.to_str()) == Some("json")
                && let Some(stem) = path.file_stem().and_then(|s| s.to_str())
                && self.messages.join(format!("{stem}.eml")).exists()
            {
                ids.push(stem.to_string());
            }
        }
        ids.sort();
        Ok(ids)
    }

    /// Append one line to `delivery.log` (best effort: the metadata is the record that counts).
    pub fn log_attempt(&self, id: &str, attempt: &Attempt) {
        #[derive(Serialize)]
        struct Line<'a> {
            id: &'a str,
            #[serde(flatten)]
            attempt: &'a Attempt,
        }
        let Ok(mut line) = serde_json::to_vec(&Line { id, attempt }) else {
            return;
        };
        line.push(b'\n');
        let _guard = self
            .log_lock
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let path = self.root.join("delivery.log");
        let written = files::open_append(&path).and_then(|mut f| f.write_all(&line));
        if let Err(error) = written {
            tracing::warn!(%error, path = %path.display(), "could not append to the delivery log");
        }
    }
}

/// Look for a message carrying `tracking_id` in the spool at `root`, read-only (safe while a relay
/// runs on it: nothing is recovered or removed). Only metadata files modified at or after `since`
/// are read.
pub fn find_tracking(root: &Path, tracking_id: &str, since: std::time::SystemTime) -> Option<MessageMeta> {
    let dir = root.join("messages");
    let entries = std::fs::read_dir(&dir).ok()?;
    for entry in entries.flatten() {
        let path = entry.path();
        if path.extension().and_then(|e| e.to_str()) != Some("json") {
            continue;
        }
        let recent = entry
            .metadata()
            .and_then(|m| m.modified())
            .is_ok_and(|modified| modified >= since);
        if !recent {
            continue;
        }
        let Ok(bytes) = std::fs::read(&path) else { continue };
        let Ok(meta) = serde_json::from_slice::<MessageMeta>(&bytes) else {
            continue;
        };
        if meta.tracking_id.as_deref() == Some(tracking_id) {
            return Some(meta);
        }
    }
    None
}

/// The spool's own directory: created 0700 when missing. It may be a symbolic link the user chose
/// (`--spool`), but it must lead to a directory; the directories inside it may not be links.
fn root_dir(root: &Path) -> std::io::Result<()> {
    match std::fs::symlink_metadata(root) {
        Ok(meta) if meta.file_type().is_symlink() => {
            if std::fs::metadata(root)?.is_dir() {
                Ok(())
            } else {
                Err(std::io::Error::other("not a directory"))
            }
        }
        _ => files::private_dir(root),
    }
}

/// Group commit of directory fsyncs.
#[derive(Debug)]
struct DirSync {
    dir: PathBuf,
    state: Mutex<SyncState>,
    done: Condvar,
}

#[derive(Debug, Default)]
struct SyncState {
    /// Tickets handed out (one per caller, taken after its rename).
    requested: u64,
    /// Every ticket up to this one is covered by a completed fsync.
    synced: u64,
    /// An fsync is in progress.
    running: bool,
}

impl DirSync {
    fn new(dir: PathBuf) -> DirSync {
        DirSync {
            dir,
            state: Mutex::new(SyncState::default()),
            done: Condvar::new(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, SyncState> {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Return once a directory fsync that started after this call has completed.
    fn sync(&self) -> Result<(), SpoolError> {
        let mut state = self.lock();
        state.requested += 1;
        let ticket = state.requested;
        loop {
            if state.synced >= ticket {
                return Ok(());
            }
            if state.running {
                state = self
                    .done
                    .wait(state)
                    .unwrap_or_else(std::sync::PoisonError::into_inner);
                continue;
            }
            state.running = true;
            let covers = state.requested;
            drop(state);
            let result = sync_dir(&self.dir);
            state = self.lock();
            state.running = false;
            if result.is_ok() {
                state.synced = state.synced.max(covers);
            }
            self.done.notify_all();
            result?;
        }
    }
}

#[cfg(unix)]
fn sync_dir(dir: &Path) -> Result<(), SpoolError> {
    std::fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(io_error("sync", dir))
}

#[cfg(not(unix))]
fn sync_dir(_dir: &Path) -> Result<(), SpoolError> {
    // Windows cannot open a directory for fsync without unsafe code; NTFS journals the renames.
    Ok(())
}

/// Header values the spool keeps in the metadata (line breaks and other controls as spaces: they
/// go into lists, events and bounce headers).
fn header_value(data: &[u8], name: &str) -> Option<String> {
    crate::headers::first_header(data, name).map(|v| {
        v.chars()
            .take(998)
            .map(|c| if c.is_control() { ' ' } else { c })
            .collect()
    })
}

/// Build the metadata of a freshly received message; `head` is the start of its content (at least
/// its header section, or [`HEAD_MAX`] bytes of it).
pub fn meta_for(id: String, message: &ReceivedMessage, head: &[u8], delivery: Delivery) -> MessageMeta {
    MessageMeta {
        schema: META_SCHEMA.to_string(),
        id,
        received_at: message.received_at,
        mail_from: message.mail_from.clone(),
        rcpt_to: message.rcpt_to.clone(),
        size: message.size,
        session: message.session.clone(),
        subject: header_value(head, "Subject"),
        message_id: header_value(head, "Message-ID"),
        tracking_id: header_value(head, crate::headers::TRACKING_HEADER),
        delivery,
    }
}

/// The global in-memory budget for content being received.
#[derive(Debug)]
struct Budget {
    used: AtomicUsize,
    cap: usize,
}

impl Budget {
    fn new(cap: usize) -> Budget {
        Budget {
            used: AtomicUsize::new(0),
            cap,
        }
    }

    /// Take `n` bytes of the budget, if they are left.
    fn take(&self, n: usize) -> bool {
        self.used
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |used| {
                used.checked_add(n).filter(|&total| total <= self.cap)
            })
            .is_ok()
    }

    fn give(&self, n: usize) {
        self.used.fetch_sub(n, Ordering::AcqRel);
    }
}

/// A file in `tmp/`, removed when dropped unless it was renamed into `messages/`.
#[derive(Debug)]
struct TmpFile {
    path: PathBuf,
    file: File,
    keep: bool,
}

impl TmpFile {
    fn create(path: PathBuf) -> Result<TmpFile, SpoolError> {
        let file = files::create_new(&path).map_err(io_error("create", &path))?;
        Ok(TmpFile {
            path,
            file,
            keep: false,
        })
    }

    fn write(&mut self, bytes: &[u8]) -> Result<(), SpoolError> {
        self.file.write_all(bytes).map_err(io_error("write", &self.path))
    }
}

impl Drop for TmpFile {
    fn drop(&mut self) {
        if !self.keep {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

/// One message for the committer.
struct Commit {
    id: String,
    /// `tmp/ID.eml` with the content streamed so far, if any was.
    eml: Option<TmpFile>,
    /// Content not written yet.
    tail: Vec<u8>,
    /// The metadata.
    json: Vec<u8>,
    /// The outcome, with `tail` given back.
    reply: tokio::sync::oneshot::Sender<Result<Vec<u8>, SpoolError>>,
}

/// The group-commit thread: every commit waiting when it wakes up is one batch.
struct Committer {
    tmp: PathBuf,
    messages: PathBuf,
    dir_sync: Arc<DirSync>,
    pool: SyncPool,
}

/// A file synced (or not), with its place in the batch.
type Synced = (usize, TmpFile, Result<(), SpoolError>);

/// Files to sync, each with its place in the batch, and where to send them back.
struct SyncJob {
    files: Vec<(usize, TmpFile)>,
    done: mpsc::Sender<Vec<Synced>>,
}

/// Threads that sync files for the committer, so that the syncs of a batch run at once (the file
/// system joins them in one journal commit) without starting threads per batch.
struct SyncPool {
    workers: Vec<mpsc::Sender<SyncJob>>,
}

impl SyncPool {
    fn start(threads: usize) -> std::io::Result<SyncPool> {
        let mut workers = Vec::with_capacity(threads);
        for _ in 0..threads {
            let (tx, rx) = mpsc::channel::<SyncJob>();
            std::thread::Builder::new()
                .name("mailpath-spool-sync".into())
                .spawn(move || {
                    while let Ok(job) = rx.recv() {
                        let synced = job.files.into_iter().map(|(at, file)| {
                            let result = sync_data(&file);
                            (at, file, result)
                        });
                        let _ = job.done.send(synced.collect());
                    }
                })?;
            workers.push(tx);
        }
        Ok(SyncPool { workers })
    }

    /// Sync the data of every file, spread over the threads; the files come back in their order.
    fn sync(&self, files: Vec<(usize, TmpFile)>) -> Vec<Synced> {
        let per_worker = files.len().div_ceil(self.workers.len().max(1)).max(1);
        let (done, results) = mpsc::channel();
        let mut out = Vec::with_capacity(files.len());
        let mut files = files.into_iter();
        let mut jobs = 0;
        for worker in &self.workers {
            let part: Vec<_> = files.by_ref().take(per_worker).collect();
            if part.is_empty() {
                break;
            }
            let job = SyncJob {
                files: part,
                done: done.clone(),
            };
            match worker.send(job) {
                Ok(()) => jobs += 1,
                // A sync thread is gone: do its share here.
                Err(mpsc::SendError(job)) => out.extend(job.files.into_iter().map(|(at, file)| {
                    let result = sync_data(&file);
                    (at, file, result)
                })),
            }
        }
        out.extend(files.map(|(at, file)| {
            let result = sync_data(&file);
            (at, file, result)
        }));
        for _ in 0..jobs {
            if let Ok(part) = results.recv() {
                out.extend(part);
            }
        }
        out.sort_by_key(|(at, _, _)| *at);
        out
    }
}

fn sync_data(file: &TmpFile) -> Result<(), SpoolError> {
    file.file.sync_data().map_err(io_error("sync", &file.path))
}

/// A message of a batch on its way through the committer.
struct Staged {
    commit: Commit,
    files: Option<(TmpFile, TmpFile)>,
    outcome: Result<(), SpoolError>,
}

impl Committer {
    fn run(&self, rx: &mpsc::Receiver<Commit>) {
        while let Ok(first) = rx.recv() {
            let mut batch = vec![first];
            while batch.len() < MAX_BATCH {
                match rx.try_recv() {
                    Ok(commit) => batch.push(commit),
                    Err(_) => break,
                }
            }
            self.commit(batch);
        }
    }

    fn commit(&self, batch: Vec<Commit>) {
        // Write what is still in memory, and the metadata, to tmp/.
        let mut staged: Vec<Staged> = batch
            .into_iter()
            .map(|mut commit| {
                let written = self.write(&mut commit);
                let (files, outcome) = match written {
                    Ok(files) => (Some(files), Ok(())),
                    Err(e) => (None, Err(e)),
                };
                Staged {
                    commit,
                    files,
                    outcome,
                }
            })
            .collect();
        // Sync the data of every file of the batch, in parallel: the file system joins the syncs.
        let mut files = Vec::new();
        for (at, s) in staged.iter_mut().enumerate() {
            if let Some((eml, json)) = s.files.take() {
                files.push((2 * at, eml));
                files.push((2 * at + 1, json));
            }
        }
        let mut synced = self.pool.sync(files).into_iter().peekable();
        while let Some((at, eml, eml_synced)) = synced.next() {
            let Some((_, json, json_synced)) = synced.next_if(|(next, _, _)| *next == at + 1) else {
                // Cannot happen: both files of a message are synced together.
                staged[at / 2].outcome = Err(SpoolError::Io {
                    what: "sync",
                    path: eml.path.clone(),
                    source: std::io::Error::other("its metadata went missing"),
                });
                continue;
            };
            let s = &mut staged[at / 2];
            s.outcome = eml_synced.and(json_synced);
            s.files = Some((eml, json));
        }
        // The message, then its commit record, into messages/; one directory sync for all.
        let mut renamed = Vec::new();
        for s in &mut staged {
            if s.outcome.is_ok()
                && let Some((eml, json)) = s.files.as_mut()
            {
                s.outcome = self.rename(&s.commit.id, eml, json);
                if s.outcome.is_ok() {
                    renamed.push(s.commit.id.clone());
                }
            }
        }
        if !renamed.is_empty()
            && let Err(error) = self.dir_sync.sync()
        {
            // Not known to be durable: not acknowledged, so not kept (the client will retry).
            tracing::error!(%error, "spool directory sync failed");
            for id in &renamed {
                let _ = std::fs::remove_file(self.messages.join(format!("{id}.json")));
                let _ = std::fs::remove_file(self.messages.join(format!("{id}.eml")));
            }
            for s in &mut staged {
                if s.outcome.is_ok() {
                    s.outcome = Err(SpoolError::Io {
                        what: "sync",
                        path: self.messages.clone(),
                        source: std::io::Error::other(error.to_string()),
                    });
                }
            }
        }
        for s in staged {
            let Staged { commit, outcome, .. } = s;
            let _ = commit.reply.send(outcome.map(|()| commit.tail));
        }
    }

    /// `tmp/ID.eml` complete and `tmp/ID.json` written (not synced yet).
    fn write(&self, commit: &mut Commit) -> Result<(TmpFile, TmpFile), SpoolError> {
        let mut eml = match commit.eml.take() {
            Some(eml) => eml,
            None => TmpFile::create(self.tmp.join(format!("{}.eml", commit.id)))?,
        };
        eml.write(&commit.tail)?;
        let mut json = TmpFile::create(self.tmp.join(format!("{}.json", commit.id)))?;
        json.write(&commit.json)?;
        Ok((eml, json))
    }

    fn rename(&self, id: &str, eml: &mut TmpFile, json: &mut TmpFile) -> Result<(), SpoolError> {
        let final_eml = self.messages.join(format!("{id}.eml"));
        std::fs::rename(&eml.path, &final_eml).map_err(io_error("rename", &eml.path))?;
        eml.keep = true;
        let final_json = self.messages.join(format!("{id}.json"));
        if let Err(e) = std::fs::rename(&json.path, &final_json) {
            let _ = std::fs::remove_file(&final_eml);
            return Err(io_error("rename", &json.path)(e));
        }
        json.keep = true;
        Ok(())
    }
}

/// What the sink does with a message once it is on disk (header analysis, forwarding): it must not
/// block. `head` is the start of the content (the whole of a small message, [`HEAD_MAX`] bytes of a
/// large one): enough for its header section.
pub trait StoredHook: Send + Sync {
    /// A message was stored and is about to be acknowledged.
    fn stored(&self, meta: &MessageMeta, head: Arc<Vec<u8>>);
}

/// A [`MessageSink`] that acknowledges only what the [`Spool`] has durably stored.
pub struct SpoolSink {
    shared: Arc<SinkShared>,
}

struct SinkShared {
    spool: Arc<Spool>,
    hostname: String,
    forwarding: bool,
    hook: Option<Arc<dyn StoredHook>>,
}

impl std::fmt::Debug for SpoolSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SpoolSink")
            .field("spool", &self.shared.spool.root)
            .field("hostname", &self.shared.hostname)
            .field("forwarding", &self.shared.forwarding)
            .finish_non_exhaustive()
    }
}

impl SpoolSink {
    /// A sink into `spool`; `forwarding` marks new messages queued (else captured); `hostname` goes
    /// into the queue id of the 250 reply.
    pub fn new(
        spool: Arc<Spool>,
        hostname: impl Into<String>,
        forwarding: bool,
        hook: Option<Arc<dyn StoredHook>>,
    ) -> SpoolSink {
        SpoolSink {
            shared: Arc::new(SinkShared {
                spool,
                hostname: hostname.into(),
                forwarding,
                hook,
            }),
        }
    }
}

impl MessageSink for SpoolSink {
    fn writer(&self) -> Box<dyn MessageWriter> {
        Box::new(SpoolWriter {
            shared: Arc::clone(&self.shared),
            staged: Vec::new(),
            charged: 0,
            head: Vec::new(),
            tmp: None,
        })
    }
}

/// One message's content on its way into the spool: in memory while it is small, then in `tmp/`.
struct SpoolWriter {
    shared: Arc<SinkShared>,
    /// Content not written to `tmp/` yet.
    staged: Vec<u8>,
    /// Budget taken for `staged`.
    charged: usize,
    /// The start of the content, once it streams to `tmp/`.
    head: Vec<u8>,
    /// The id and `tmp/ID.eml`, once the content streams there.
    tmp: Option<(String, TmpFile)>,
}

impl SpoolWriter {
    fn release(&mut self) {
        self.shared.spool.budget.give(self.charged);
        self.charged = 0;
    }

    /// Write `staged` (and `more`) to `tmp/ID.eml`, creating it first if needed.
    async fn spill(&mut self, more: &[u8]) -> Result<(), String> {
        let spool = Arc::clone(&self.shared.spool);
        if self.head.len() < HEAD_MAX {
            let start = self.staged.iter().chain(more).take(HEAD_MAX - self.head.len());
            self.head.extend(start);
        }
        self.staged.extend_from_slice(more);
        let mut staged = std::mem::take(&mut self.staged);
        let tmp = self.tmp.take();
        let (tmp, staged) = tokio::task::spawn_blocking(move || {
            let result = (|| {
                let (id, mut file) = match tmp {
                    Some(tmp) => tmp,
                    None => {
                        let id = spool.new_id();
                        let file = spool.create_tmp(&id)?;
                        (id, file)
                    }
                };
                file.write(&staged)?;
                Ok::<_, SpoolError>((id, file))
            })();
            staged.clear();
            (result, staged)
        })
        .await
        .map_err(|e| format!("spool task failed: {e}"))?;
        self.release();
        // Keep the buffer only while it is small: a streaming session holds at most STAGE_MAX.
        self.staged = staged;
        self.staged.shrink_to(STAGE_MAX);
        let tmp = tmp.map_err(|e| {
            tracing::error!(error = %e, "could not write a message to the spool");
            "Temporary spool failure, try again later".to_string()
        })?;
        self.tmp = Some(tmp);
        Ok(())
    }
}

impl Drop for SpoolWriter {
    fn drop(&mut self) {
        self.release();
    }
}

impl MessageWriter for SpoolWriter {
    fn write<'a>(&'a mut self, bytes: &'a [u8]) -> SinkFuture<'a, ()> {
        Box::pin(async move {
            let fits = self.staged.len() + bytes.len() <= STAGE_MAX;
            if fits && self.shared.spool.budget.take(bytes.len()) {
                self.staged.extend_from_slice(bytes);
                self.charged += bytes.len();
                return Ok(());
            }
            self.spill(bytes).await
        })
    }

    fn commit(mut self: Box<Self>, message: ReceivedMessage) -> SinkFuture<'static, String> {
        Box::pin(async move {
            let shared = Arc::clone(&self.shared);
            let (id, eml) = match self.tmp.take() {
                Some((id, file)) => (id, Some(file)),
                None => (shared.spool.new_id(), None),
            };
            let delivery = if shared.forwarding {
                Delivery::queued(&message.rcpt_to)
            } else {
                Delivery::captured()
            };
            let streamed = eml.is_some();
            let meta = {
                let head = if streamed { &self.head } else { &self.staged };
                meta_for(id.clone(), &message, &head[..head.len().min(HEAD_MAX)], delivery)
            };
            let tail = std::mem::take(&mut self.staged);
            let failed = |e: SpoolError| {
                tracing::error!(error = %e, "could not spool a message");
                "Temporary spool failure, try again later".to_string()
            };
            let reply = shared.spool.submit(&meta, eml, tail).map_err(failed)?;
            let outcome = reply.await.map_err(|_| failed(shared.spool.committer_gone()));
            // The content is on disk (or not): its memory is free either way.
            self.release();
            let tail = outcome?.map_err(failed)?;
            if let Some(hook) = &shared.hook {
                let head = if streamed {
                    std::mem::take(&mut self.head)
                } else {
                    tail
                };
                hook.stored(&meta, Arc::new(head));
            }
            Ok(format!("{id}@{}", shared.hostname))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(data: &[u8]) -> ReceivedMessage {
        let peer = "127.0.0.1:40000".parse().unwrap();
        ReceivedMessage {
            peer,
            helo: "client".into(),
            tls: false,
            mail_from: "a@x.test".into(),
            rcpt_to: vec!["b@contoso.com".into()],
            size: data.len(),
            session: SessionInfo {
                id: "S1".into(),
                peer,
                local: "127.0.0.1:25".parse().unwrap(),
                started: OffsetDateTime::UNIX_EPOCH,
                helo: Some("client".into()),
                tls: None,
            },
            received_at: OffsetDateTime::UNIX_EPOCH,
        }
    }

    #[tokio::test]
    async fn acknowledged_messages_are_on_disk_with_their_metadata() {
        let dir = tempfile::tempdir().unwrap();
        let (spool, recovery) = Spool::open(dir.path()).unwrap();
        assert_eq!(recovery, Recovery::default());
        let spool = Arc::new(spool);
        let sink = SpoolSink::new(Arc::clone(&spool), "relay.test", true, None);
        let data = b"Subject: hello\r\nX-Mailpath-Tracking: mp-123\r\n\r\nbody\r\n";
        let mut ids = Vec::new();
        for _ in 0..20 {
            let mut writer = sink.writer();
            writer.write(&data[..10]).await.unwrap();
            writer.write(&data[10..]).await.unwrap();
            let queued = writer.commit(message(data)).await.unwrap();
            let id = queued.strip_suffix("@relay.test").unwrap().to_string();
            ids.push(id);
        }
        let unique: std::collections::BTreeSet<_> = ids.iter().collect();
        assert_eq!(unique.len(), 20);
        for id in &ids {
            assert_eq!(spool.data(id).unwrap(), data.as_slice());
            let meta = spool.meta(id).unwrap();
            assert_eq!(meta.subject.as_deref(), Some("hello"));
            assert_eq!(meta.tracking_id.as_deref(), Some("mp-123"));
            assert_eq!(meta.delivery.state, DeliveryState::Queued);
            assert_eq!(meta.delivery.pending, ["b@contoso.com"]);
        }
        assert_eq!(spool.ids().unwrap().len(), 20);
    }

    #[test]
    fn recovery_keeps_complete_messages_and_drops_leftovers() {
        let dir = tempfile::tempdir().unwrap();
        let (spool, _) = Spool::open(dir.path()).unwrap();
        let msg = message(b"Subject: x\r\n\r\nx\r\n");
        let data = b"Subject: x\r\n\r\nx\r\n";
        let kept = meta_for(spool.new_id(), &msg, data, Delivery::queued(&msg.rcpt_to));
        spool.store(&kept, data).unwrap();
        let captured = meta_for(spool.new_id(), &msg, data, Delivery::captured());
        spool.store(&captured, data).unwrap();
        // A crash mid-write, a crash between the two renames, a stray metadata file.
        std::fs::write(dir.path().join("tmp/abc.eml"), b"half").unwrap();
        std::fs::write(dir.path().join("messages/partial.eml"), b"never acked").unwrap();
        std::fs::write(dir.path().join("messages/orphan.json"), b"{}").unwrap();
        // A stray directory in tmp/ (and one in messages/): reported and left alone, not fatal.
        std::fs::create_dir(dir.path().join("tmp/stray")).unwrap();
        std::fs::create_dir(dir.path().join("messages/odd.eml")).unwrap();
        drop(spool);
        let (spool, recovery) = Spool::open(dir.path()).unwrap();
        assert_eq!(
            recovery,
            Recovery {
                messages: 2,
                queued: vec![kept.id.clone()],
                removed_tmp: 1,
                removed_partial: 1,
                damaged: 1,
                skipped: vec!["tmp/stray".into(), "messages/odd.eml".into()],
            }
        );
        assert_eq!(spool.ids().unwrap(), {
            let mut ids = vec![kept.id.clone(), captured.id.clone()];
            ids.sort();
            ids
        });
        assert!(dir.path().join("damaged/orphan.json").exists());
        // Metadata updates replace the file atomically.
        let mut meta = spool.meta(&kept.id).unwrap();
        meta.delivery.state = DeliveryState::Delivered;
        spool.update(&meta).unwrap();
        assert_eq!(
            spool.meta(&kept.id).unwrap().delivery.state,
            DeliveryState::Delivered
        );
        let left: Vec<_> = std::fs::read_dir(dir.path().join("tmp"))
            .unwrap()
            .flatten()
            .map(|e| e.file_name())
            .collect();
        assert_eq!(left, ["stray"]);
        assert!(matches!(spool.meta("../etc"), Err(SpoolError::BadId(_))));
    }

    #[cfg(unix)]
    fn mode(path: &Path) -> u32 {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::symlink_metadata(path).unwrap().permissions().mode() & 0o777
    }

    /// Feed `data` to a writer in pieces as a session would.
    async fn receive(sink: &SpoolSink, data: &[u8]) -> Result<String, String> {
        let mut writer = sink.writer();
        for piece in data.chunks(16 * 1024) {
            writer.write(piece).await?;
        }
        let mut msg = message(b"");
        msg.size = data.len();
        writer.commit(msg).await
    }

    #[tokio::test]
    async fn large_messages_stream_to_tmp_within_the_memory_budget() {
        let dir = tempfile::tempdir().unwrap();
        // A budget smaller than one stage: every session streams almost at once.
        let (spool, _) = Spool::open_with_budget(dir.path(), 40 * 1024).unwrap();
        let spool = Arc::new(spool);
        let sink = SpoolSink::new(Arc::clone(&spool), "relay.test", false, None);
        let mut big = b"Subject: big\r\n\r\n".to_vec();
        while big.len() < 3 * STAGE_MAX + 100 {
            big.extend_from_slice(b"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcde\r\n");
        }
        // While it arrives, the content is in tmp/ and the budget holds what is in memory.
        let mut writer = sink.writer();
        for piece in big.chunks(16 * 1024) {
            writer.write(piece).await.unwrap();
            assert!(spool.budget.used.load(Ordering::Acquire) <= 40 * 1024);
        }
        let in_tmp: Vec<_> = std::fs::read_dir(dir.path().join("tmp"))
            .unwrap()
            .flatten()
            .collect();
        assert_eq!(in_tmp.len(), 1, "{in_tmp:?}");
        assert!(in_tmp[0].metadata().unwrap().len() >= 2 * STAGE_MAX as u64);
        // A client that goes away leaves nothing behind, and gives its budget back.
        drop(writer);
        assert_eq!(std::fs::read_dir(dir.path().join("tmp")).unwrap().count(), 0);
        assert_eq!(spool.budget.used.load(Ordering::Acquire), 0);

        let id = receive(&sink, &big).await.unwrap();
        let id = id.strip_suffix("@relay.test").unwrap();
        assert_eq!(spool.data(id).unwrap(), big);
        let meta = spool.meta(id).unwrap();
        assert_eq!((meta.size, meta.subject.as_deref()), (big.len(), Some("big")));
        assert_eq!(spool.budget.used.load(Ordering::Acquire), 0);
        #[cfg(unix)]
        {
            for d in ["", "tmp", "messages"] {
                assert_eq!(mode(&dir.path().join(d)), 0o700, "{d}");
            }
            assert_eq!(mode(&spool.eml_path(id)), 0o600);
            assert_eq!(mode(&dir.path().join(format!("messages/{id}.json"))), 0o600);
        }
    }

    #[tokio::test]
    async fn concurrent_messages_are_committed_together_and_all_kept() {
        let dir = tempfile::tempdir().unwrap();
        let (spool, _) = Spool::open(dir.path()).unwrap();
        let spool = Arc::new(spool);
        let sink = Arc::new(SpoolSink::new(Arc::clone(&spool), "relay.test", true, None));
        let tasks: Vec<_> = (0..64)
            .map(|n| {
                let sink = Arc::clone(&sink);
                tokio::spawn(async move {
                    let data = format!("Subject: n{n}\r\n\r\nbody {n}\r\n").into_bytes();
                    (receive(&sink, &data).await.unwrap(), data)
                })
            })
            .collect();
        for task in tasks {
            let (id, data) = task.await.unwrap();
            assert_eq!(spool.data(id.strip_suffix("@relay.test").unwrap()).unwrap(), data);
        }
        assert_eq!(spool.ids().unwrap().len(), 64);
        assert_eq!(std::fs::read_dir(dir.path().join("tmp")).unwrap().count(), 0);
    }

    #[cfg(unix)]
    #[test]
    fn links_planted_in_the_spool_are_not_followed() {
        let dir = tempfile::tempdir().unwrap();
        let elsewhere = tempfile::tempdir().unwrap();
        // messages/ as a link to another directory: refused.
        std::os::unix::fs::symlink(elsewhere.path(), dir.path().join("messages")).unwrap();
        assert!(Spool::open(dir.path()).is_err());
        std::fs::remove_file(dir.path().join("messages")).unwrap();
        // delivery.log as a link to a file elsewhere: nothing is appended through it.
        let victim = elsewhere.path().join("victim");
        std::fs::write(&victim, b"precious").unwrap();
        std::os::unix::fs::symlink(&victim, dir.path().join("delivery.log")).unwrap();
        let (spool, _) = Spool::open(dir.path()).unwrap();
        let attempt = Attempt {
            at: OffsetDateTime::UNIX_EPOCH,
            host: "h:25".into(),
            outcome: "delivered".into(),
            detail: "250".into(),
            tls: None,
            ms: 1,
        };
        spool.log_attempt("x", &attempt);
        assert_eq!(std::fs::read(&victim).unwrap(), b"precious");
        // A link waiting where a message will be written: the write fails, nothing is followed.
        let msg = message(b"x\r\n");
        let meta = meta_for("planted".into(), &msg, b"", Delivery::captured());
        std::os::unix::fs::symlink(&victim, dir.path().join("tmp/planted.eml")).unwrap();
        assert!(spool.store(&meta, b"x\r\n").is_err());
        assert_eq!(std::fs::read(&victim).unwrap(), b"precious");
    }
}
