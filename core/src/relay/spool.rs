//! The durable spool: every message the relay acknowledges is on disk first.
//!
//! Layout under the spool directory (directories 0700, files 0600 on Unix; nothing is written
//! through a symbolic link, see [`super::files`]):
//!
//! - `tmp/`: messages too large for memory while they arrive. Whatever is here at start is an
//!   unacknowledged leftover and is deleted (a directory there is reported and left alone).
//! - `messages/ID.eml`: the message exactly as received (dot-unstuffed).
//! - `journal/*.log`: the commit records, one JSON line per message (its [`MessageMeta`]: envelope,
//!   session, TLS, client certificate chain, received time, delivery state), appended a batch at a
//!   time.
//! - `messages/ID.json`: a message's metadata once it changed after it was stored (forwarding
//!   progress); it supersedes the message's journal record.
//! - `delivery.log`: one JSON line per delivery attempt, for every message (append-only).
//!
//! Receiving ([`SpoolSink`]): a session's content is staged in memory up to [`STAGE_MAX`] bytes,
//! within a global budget ([`MEMORY_BUDGET`]) shared by all sessions; past that it streams to
//! `tmp/ID.eml` as it arrives. So a session holds a bounded amount of memory whatever the size of
//! the message.
//!
//! Storing ([`Spool::store`], and every message a session completes): one committer thread takes
//! every message waiting at that moment as one batch (group commit across sessions). It writes each
//! message to `messages/ID.eml` (a streamed one is renamed there from `tmp/`), makes the data and
//! the directory entries of the whole batch durable, then hands the batch to the journal writer
//! thread, which appends its records to the journal with one write and syncs that one file (while
//! the committer already makes the next batch durable). Only then does a session get its id, which the server
//! turns into `250 2.6.0 <id> Queued`. So a message costs one new file, and a batch under load two
//! flushes to the disk whatever its size: on Linux a batch of [`SYNCFS_MIN_BATCH`] messages or more
//! is made durable by one `syncfs` of the spool's file system ([`SyncMode::Batched`]); a smaller one,
//! and every batch elsewhere, by syncing each message file (in parallel, so the file system can join
//! them) and then `messages/` ([`SyncMode::PerFile`]; Windows has no directory fsync and NTFS
//! journals the entries).
//!
//! The journal record is the commit: at start ([`Spool::open`]) an `.eml` without a record (or an
//! `ID.json`) was never acknowledged and is removed; a record without its `.eml` cannot come from
//! this code and is kept in `damaged/`; a torn last line (a write cut short by a crash, never
//! acknowledged) is dropped. The records still current are then rewritten into one new journal
//! file and the old files removed, so the journal does not grow across restarts.
//!
//! Metadata updates ([`Spool::update`]) write `ID.json` beside the message (write, sync, rename,
//! directory sync); their directory fsyncs are shared: a writer whose rename happened before a
//! running fsync started waits for that fsync instead of issuing its own.

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
    /// Messages without a commit record removed (written but never acknowledged).
    pub removed_partial: usize,
    /// Metadata files or journal records without a message (or journal lines that do not parse),
    /// kept in `damaged/`.
    pub damaged: usize,
    /// Journal records cut short by a crash (their batch was never acknowledged), dropped.
    #[serde(default)]
    pub torn: usize,
    /// Entries of `tmp/` and `messages/` that are not regular files (directories, sockets), left
    /// alone: their names, relative to the spool.
    #[serde(default)]
    pub skipped: Vec<String>,
}

/// How the committer makes a batch's message files durable before it writes their records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum SyncMode {
    /// One `syncfs` of the spool's file system for the whole batch (Linux): one flush to the disk
    /// however many messages the batch holds. It also writes out whatever else is waiting on that
    /// file system.
    FileSystem,
    /// Sync each message file (in parallel), then the `messages/` directory: every platform.
    PerFile,
    /// [`SyncMode::FileSystem`] for a batch of [`SYNCFS_MIN_BATCH`] messages or more (under load,
    /// where one flush instead of one per file is what keeps up), [`SyncMode::PerFile`] for a smaller
    /// one (a `syncfs` also waits for whatever else is being written on that file system, which costs
    /// more than a few file syncs when the relay is not busy).
    Batched,
}

/// The smallest batch [`SyncMode::Batched`] syncs with one `syncfs`.
pub const SYNCFS_MIN_BATCH: usize = 8;

impl SyncMode {
    /// [`SyncMode::Batched`] where the platform has `syncfs` (Linux), else [`SyncMode::PerFile`].
    pub fn platform() -> SyncMode {
        if cfg!(target_os = "linux") {
            SyncMode::Batched
        } else {
            SyncMode::PerFile
        }
    }
}

/// A spool directory.
#[derive(Debug)]
pub struct Spool {
    root: PathBuf,
    tmp: PathBuf,
    messages: PathBuf,
    log_lock: Mutex<()>,
    dir_sync: Arc<DirSync>,
    journal: Arc<Journal>,
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
        Spool::open_with(root, MEMORY_BUDGET, SyncMode::platform())
    }

    /// [`Spool::open`] with another global in-memory budget for content being received.
    ///
    /// # Errors
    /// As [`Spool::open`].
    pub fn open_with_budget(root: &Path, budget: usize) -> Result<(Spool, Recovery), SpoolError> {
        Spool::open_with(root, budget, SyncMode::platform())
    }

    /// [`Spool::open`] with a memory budget and a way of syncing batches.
    ///
    /// # Errors
    /// As [`Spool::open`].
    pub fn open_with(root: &Path, budget: usize, sync: SyncMode) -> Result<(Spool, Recovery), SpoolError> {
        let tmp = root.join("tmp");
        let messages = root.join("messages");
        let journal_dir = root.join("journal");
        root_dir(root).map_err(io_error("create", root))?;
        for dir in [&tmp, &messages, &journal_dir] {
            files::private_dir(dir).map_err(io_error("create", dir))?;
        }
        let dir_sync = Arc::new(DirSync::new(messages.clone()));
        let pid = std::process::id();
        let journal = Arc::new(Journal::new(journal_dir, pid));
        let (tx, rx) = mpsc::channel();
        // syncfs is Linux's: elsewhere every file is synced.
        let sync = if cfg!(target_os = "linux") {
            sync
        } else {
            SyncMode::PerFile
        };
        let pool = SyncPool::start(SYNC_THREADS).map_err(io_error("start the sync threads of", root))?;
        let (journal_tx, journal_rx) = mpsc::sync_channel(2);
        let committer = Committer {
            messages: messages.clone(),
            dir_sync: Arc::clone(&dir_sync),
            pool,
            sync,
            journal_tx,
        };
        let mut writer = JournalWriter {
            journal: Arc::clone(&journal),
            segment: None,
        };
        let spool = Spool {
            root: root.to_path_buf(),
            tmp,
            messages,
            log_lock: Mutex::new(()),
            dir_sync,
            journal,
            next: AtomicU64::new(0),
            budget: Budget::new(budget),
            committer: Mutex::new(tx),
            pid,
        };
        let recovery = spool.recover()?;
        std::thread::Builder::new()
            .name("mailpath-spool-journal".into())
            .spawn(move || writer.run(&journal_rx))
            .map_err(io_error("start the journal writer of", root))?;
        std::thread::Builder::new()
            .name("mailpath-spool".into())
            .spawn(move || committer.run(&rx))
            .map_err(io_error("start the committer of", root))?;
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
        let damaged_dir = self.root.join("damaged");
        let damaged = |recovery: &mut Recovery| -> Result<(), SpoolError> {
            recovery.damaged += 1;
            files::private_dir(&damaged_dir).map_err(io_error("create", &damaged_dir))
        };
        // The journal: every record, the latest per id.
        let read = self.journal.read_all()?;
        recovery.torn += read.torn;
        if !read.unreadable.is_empty() {
            damaged(&mut recovery)?;
            let path = damaged_dir.join("journal-lines.log");
            files::open_append(&path)
                .and_then(|mut f| f.write_all(&read.unreadable))
                .map_err(io_error("write", &path))?;
        }
        let records = read.records;
        for id in emls
            .iter()
            .filter(|id| !jsons.contains(*id) && !records.contains_key(*id))
        {
            let path = self.messages.join(format!("{id}.eml"));
            std::fs::remove_file(&path).map_err(io_error("remove", &path))?;
            recovery.removed_partial += 1;
        }
        for id in jsons.difference(&emls) {
            damaged(&mut recovery)?;
            let from = self.messages.join(format!("{id}.json"));
            let to = damaged_dir.join(format!("{id}.json"));
            std::fs::rename(&from, &to).map_err(io_error("move", &from))?;
        }
        let mut live = Vec::new();
        for (id, (line, queued)) in records {
            if jsons.contains(&id) {
                continue;
            }
            if emls.contains(&id) {
                // Counted from the record as read (not read again from the compacted journal).
                recovery.messages += 1;
                if queued {
                    recovery.queued.push(id.clone());
                }
                live.push((id, line));
            } else {
                damaged(&mut recovery)?;
                let to = damaged_dir.join(format!("{id}.json"));
                files::replace(&to, &line).map_err(io_error("write", &to))?;
            }
        }
        self.journal.compact(live, &read.segments)?;
        for id in emls.intersection(&jsons) {
            recovery.messages += 1;
            match self.meta(id) {
                Ok(meta) if meta.delivery.state == DeliveryState::Queued => recovery.queued.push(id.clone()),
                Ok(_) => {}
                Err(error) => tracing::warn!(%error, "unreadable spool metadata"),
            }
        }
        recovery.queued.sort();
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
        // One line of the journal (JSON escapes every line break inside strings).
        let json = serde_json::to_vec(meta).map_err(|source| SpoolError::Meta {
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

    /// Replace a message's metadata atomically (write `ID.json`, sync, rename, directory sync).
    ///
    /// # Errors
    /// When the write, sync or rename fails; the old metadata stays in place then.
    pub fn update(&self, meta: &MessageMeta) -> Result<(), SpoolError> {
        Spool::check_id(&meta.id)?;
        let final_json = self.messages.join(format!("{}.json", meta.id));
        if !self.journal.has(&meta.id) && !final_json.exists() {
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
        self.dir_sync.sync()?;
        // ID.json supersedes the journal record from now on.
        self.journal.forget(&meta.id);
        Ok(())
    }

    /// A message's metadata.
    ///
    /// # Errors
    /// When there is no such message or its metadata does not parse.
    pub fn meta(&self, id: &str) -> Result<MessageMeta, SpoolError> {
        Spool::check_id(id)?;
        let path = self.messages.join(format!("{id}.json"));
        match std::fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes).map_err(|source| SpoolError::Meta { path, source }),
            Err(source) if source.kind() == std::io::ErrorKind::NotFound => self
                .journal
                .meta(id)?
                .ok_or_else(|| SpoolError::NotFound(id.to_string())),
            Err(source) => Err(SpoolError::Io {
                what: "read",
                path,
                source,
            }),
        }
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
        let mut ids = self.journal.ids();
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
        ids.dedup();
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
/// runs on it: nothing is recovered or removed). Only journal and metadata files modified at or after
/// `since` are read.
pub fn find_tracking(root: &Path, tracking_id: &str, since: std::time::SystemTime) -> Option<MessageMeta> {
    let recent = |entry: &std::fs::DirEntry| {
        entry
            .metadata()
            .and_then(|m| m.modified())
            .is_ok_and(|modified| modified >= since)
    };
    let matches = |bytes: &[u8]| {
        serde_json::from_slice::<MessageMeta>(bytes)
            .ok()
            .filter(|meta| meta.tracking_id.as_deref() == Some(tracking_id))
    };
    // Updated metadata first (it supersedes a record), then the journal's records.
    let dir = root.join("messages");
    for entry in std::fs::read_dir(&dir).ok()?.flatten() {
        let path = entry.path();
        if path.extension().and_then(|e| e.to_str()) != Some("json") || !recent(&entry) {
            continue;
        }
        let Ok(bytes) = std::fs::read(&path) else { continue };
        if let Some(meta) = matches(&bytes) {
            return Some(meta);
        }
    }
    let journal = root.join("journal");
    for entry in std::fs::read_dir(&journal).ok()?.flatten() {
        let path = entry.path();
        if path.extension().and_then(|e| e.to_str()) != Some("log") || !recent(&entry) {
            continue;
        }
        let Ok(bytes) = std::fs::read(&path) else { continue };
        let needle = tracking_id.as_bytes();
        if memchr::memmem::find(&bytes, needle).is_none() {
            continue;
        }
        let found = complete_records(&bytes).find(|meta| meta.tracking_id.as_deref() == Some(tracking_id));
        if found.is_some() {
            return found;
        }
    }
    None
}

/// Every complete message in the spool at `root`, read-only (safe while a relay runs on it: a record
/// being written is not read, nothing is recovered or removed), by id: its current metadata (the
/// updated `ID.json`, else its journal record) when its `.eml` is there.
pub fn scan(root: &Path) -> std::collections::BTreeMap<String, MessageMeta> {
    let messages = root.join("messages");
    let mut found = std::collections::BTreeMap::new();
    let mut journal: Vec<PathBuf> = std::fs::read_dir(root.join("journal"))
        .map(|entries| {
            entries
                .flatten()
                .map(|e| e.path())
                .filter(|p| p.extension().and_then(|e| e.to_str()) == Some("log"))
                .collect()
        })
        .unwrap_or_default();
    journal.sort();
    for path in journal {
        let Ok(bytes) = std::fs::read(&path) else { continue };
        for meta in complete_records(&bytes) {
            found.insert(meta.id.clone(), meta);
        }
    }
    for entry in std::fs::read_dir(&messages).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.extension().and_then(|e| e.to_str()) != Some("json") {
            continue;
        }
        let meta = std::fs::read(&path)
            .ok()
            .and_then(|b| serde_json::from_slice::<MessageMeta>(&b).ok());
        if let Some(meta) = meta {
            found.insert(meta.id.clone(), meta);
        }
    }
    found.retain(|id, _| Spool::check_id(id).is_ok() && messages.join(format!("{id}.eml")).is_file());
    found
}

/// The records of a journal file that are complete lines and parse.
fn complete_records(bytes: &[u8]) -> impl Iterator<Item = MessageMeta> + '_ {
    bytes
        .split_inclusive(|&b| b == b'\n')
        .filter_map(|line| line.strip_suffix(b"\n"))
        .filter_map(|record| serde_json::from_slice::<MessageMeta>(record).ok())
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
    /// The metadata: its journal record, on one line.
    json: Vec<u8>,
    /// The outcome, with `tail` given back.
    reply: tokio::sync::oneshot::Sender<Result<Vec<u8>, SpoolError>>,
}

/// The group-commit thread: every commit waiting when it wakes up is one batch.
struct Committer {
    messages: PathBuf,
    dir_sync: Arc<DirSync>,
    /// Threads syncing files one by one ([`SyncMode::PerFile`]).
    pool: SyncPool,
    sync: SyncMode,
    /// Batches whose files are durable, to the [`JournalWriter`] (a bounded queue: the committer
    /// waits when the journal falls behind).
    journal_tx: mpsc::SyncSender<Vec<Staged>>,
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
    /// `messages/ID.eml`, removed when dropped unless the batch was committed.
    file: Option<TmpFile>,
    outcome: Result<(), SpoolError>,
}

/// The same failure for every message of a batch.
fn batch_error(what: &'static str, path: &Path, error: &SpoolError) -> SpoolError {
    SpoolError::Io {
        what,
        path: path.to_path_buf(),
        source: std::io::Error::other(error.to_string()),
    }
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
        // 1. Each message into messages/ID.eml (not durable yet, not committed: no record).
        let mut staged: Vec<Staged> = batch
            .into_iter()
            .map(|mut commit| {
                let (file, outcome) = match self.write(&mut commit) {
                    Ok(file) => (Some(file), Ok(())),
                    Err(e) => (None, Err(e)),
                };
                Staged {
                    commit,
                    file,
                    outcome,
                }
            })
            .collect();
        // 2. Their data and directory entries durable.
        self.make_durable(&mut staged);
        // 3. To the journal writer, which commits them while this thread takes the next batch.
        if let Err(mpsc::SendError(staged)) = self.journal_tx.send(staged) {
            for s in staged {
                let error = SpoolError::Io {
                    what: "commit to",
                    path: self.messages.clone(),
                    source: std::io::Error::other("the spool's journal writer is gone"),
                };
                let _ = s.commit.reply.send(Err(error));
            }
        }
    }

    /// `messages/ID.eml` complete (a streamed message renamed there from `tmp/`), not synced yet.
    fn write(&self, commit: &mut Commit) -> Result<TmpFile, SpoolError> {
        let final_eml = self.messages.join(format!("{}.eml", commit.id));
        match commit.eml.take() {
            Some(mut eml) => {
                eml.write(&commit.tail)?;
                std::fs::rename(&eml.path, &final_eml).map_err(io_error("rename", &eml.path))?;
                eml.path = final_eml;
                Ok(eml)
            }
            None => {
                let mut eml = TmpFile::create(final_eml)?;
                eml.write(&commit.tail)?;
                Ok(eml)
            }
        }
    }

    /// Make the data and the directory entries of the batch's files durable; a message whose file
    /// could not be made durable fails.
    fn make_durable(&self, staged: &mut [Staged]) {
        let count = staged.iter().filter(|s| s.outcome.is_ok()).count();
        let whole = match self.sync {
            SyncMode::FileSystem => true,
            SyncMode::PerFile => false,
            SyncMode::Batched => count >= SYNCFS_MIN_BATCH,
        };
        if count == 0 {
            return;
        }
        if whole {
            if let Err(error) = sync_file_system(&self.messages) {
                tracing::error!(%error, "spool file system sync failed");
                for s in staged.iter_mut().filter(|s| s.outcome.is_ok()) {
                    s.outcome = Err(batch_error("sync", &self.messages, &error));
                }
            }
            return;
        }
        let files: Vec<(usize, TmpFile)> = staged
            .iter_mut()
            .enumerate()
            .filter(|(_, s)| s.outcome.is_ok())
            .filter_map(|(at, s)| s.file.take().map(|f| (at, f)))
            .collect();
        for (at, file, synced) in self.pool.sync(files) {
            staged[at].outcome = synced;
            staged[at].file = Some(file);
        }
        if staged.iter().any(|s| s.outcome.is_ok())
            && let Err(error) = self.dir_sync.sync()
        {
            tracing::error!(%error, "spool directory sync failed");
            for s in staged.iter_mut().filter(|s| s.outcome.is_ok()) {
                s.outcome = Err(batch_error("sync", &self.messages, &error));
            }
        }
    }
}

/// The journal writer: appends a batch's records (their files already durable) with one write and
/// syncs the journal, then acknowledges the batch. It runs beside the committer, so that one batch's
/// journal sync and the next batch's data sync are in flight together.
struct JournalWriter {
    journal: Arc<Journal>,
    /// The journal file records are appended to (opened with the first batch).
    segment: Option<Segment>,
}

impl JournalWriter {
    fn run(&mut self, rx: &mpsc::Receiver<Vec<Staged>>) {
        while let Ok(staged) = rx.recv() {
            self.commit(staged);
        }
    }

    fn commit(&mut self, mut staged: Vec<Staged>) {
        // Their records appended to the journal with one write, and that file synced: committed.
        let mut records = Vec::new();
        let mut spans = Vec::new();
        for (at, s) in staged.iter().enumerate() {
            if s.outcome.is_ok() {
                spans.push((at, records.len(), s.commit.json.len()));
                records.extend_from_slice(&s.commit.json);
                records.push(b'\n');
            }
        }
        if !spans.is_empty() {
            match self.append(&records) {
                Ok((segment, base)) => {
                    let entries = spans.iter().map(|&(at, offset, len)| {
                        let loc = Loc {
                            segment,
                            offset: base + offset as u64,
                            len,
                        };
                        (staged[at].commit.id.clone(), loc)
                    });
                    self.journal.insert(entries);
                    for &(at, _, _) in &spans {
                        if let Some(file) = staged[at].file.as_mut() {
                            file.keep = true;
                        }
                    }
                }
                Err(error) => {
                    // Not known to be durable: not acknowledged, so not kept (the client will retry).
                    tracing::error!(%error, "spool journal append failed");
                    for &(at, _, _) in &spans {
                        staged[at].outcome = Err(batch_error("commit to", self.journal.dir(), &error));
                    }
                }
            }
        }
        for s in staged {
            let Staged {
                commit,
                outcome,
                file,
            } = s;
            // A message not committed is removed here (its file is dropped unkept).
            drop(file);
            let _ = commit.reply.send(outcome.map(|()| commit.tail));
        }
    }

    /// Append `records` to the journal and sync it; where they start (segment, offset).
    fn append(&mut self, records: &[u8]) -> Result<(u32, u64), SpoolError> {
        let segment = match &mut self.segment {
            Some(segment) if segment.len < SEGMENT_MAX => segment,
            slot => slot.insert(self.journal.new_segment()?),
        };
        let base = segment.len;
        let written = segment
            .file
            .write_all(records)
            .and_then(|()| segment.file.sync_data());
        match written {
            Ok(()) => {
                segment.len += records.len() as u64;
                Ok((segment.index, base))
            }
            Err(e) => {
                // Take back what may have been written; the next batch starts a new file.
                let _ = segment.file.set_len(base);
                let error = io_error("append to", &segment.path)(e);
                self.segment = None;
                Err(error)
            }
        }
    }
}

/// Most bytes of one journal file before the committer starts the next.
const SEGMENT_MAX: u64 = 8 * 1024 * 1024;

/// Where a message's record is.
#[derive(Debug, Clone, Copy)]
struct Loc {
    segment: u32,
    offset: u64,
    len: usize,
}

/// The journal file being appended to.
struct Segment {
    index: u32,
    path: PathBuf,
    file: File,
    len: u64,
}

/// The journal directory and an index of the records still current (messages not updated since).
#[derive(Debug)]
struct Journal {
    dir: PathBuf,
    /// This process, in the names of the files it writes.
    pid: u32,
    index: Mutex<JournalIndex>,
    next: AtomicU64,
}

#[derive(Debug, Default)]
struct JournalIndex {
    segments: Vec<PathBuf>,
    records: std::collections::HashMap<String, Loc>,
}

/// Everything the journal files hold, as [`Journal::read_all`] found it.
struct JournalRead {
    /// The record of each id, and whether it is queued for forwarding.
    records: std::collections::BTreeMap<String, (Vec<u8>, bool)>,
    /// The files read.
    segments: Vec<PathBuf>,
    /// Last lines without their line end (a write cut short).
    torn: usize,
    /// Complete lines that are not records, each with its line end.
    unreadable: Vec<u8>,
}

impl Journal {
    fn new(dir: PathBuf, pid: u32) -> Journal {
        Journal {
            dir,
            pid,
            index: Mutex::new(JournalIndex::default()),
            next: AtomicU64::new(0),
        }
    }

    fn dir(&self) -> &Path {
        &self.dir
    }

    fn lock(&self) -> MutexGuard<'_, JournalIndex> {
        self.index
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn has(&self, id: &str) -> bool {
        self.lock().records.contains_key(id)
    }

    fn ids(&self) -> Vec<String> {
        self.lock().records.keys().cloned().collect()
    }

    fn insert(&self, entries: impl Iterator<Item = (String, Loc)>) {
        self.lock().records.extend(entries);
    }

    fn forget(&self, id: &str) {
        self.lock().records.remove(id);
    }

    /// The record of `id`, if the journal holds the current one.
    fn meta(&self, id: &str) -> Result<Option<MessageMeta>, SpoolError> {
        use std::io::{Read as _, Seek as _};
        let (path, loc) = {
            let index = self.lock();
            let Some(loc) = index.records.get(id).copied() else {
                return Ok(None);
            };
            let Some(path) = index.segments.get(loc.segment as usize).cloned() else {
                return Ok(None);
            };
            (path, loc)
        };
        let mut bytes = vec![0; loc.len];
        File::open(&path)
            .and_then(|mut f| {
                f.seek(std::io::SeekFrom::Start(loc.offset))?;
                f.read_exact(&mut bytes)
            })
            .map_err(io_error("read", &path))?;
        serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|source| SpoolError::Meta { path, source })
    }

    /// A fresh name: time, process, counter (they sort in the order they were made).
    fn new_name(&self) -> PathBuf {
        let micros = OffsetDateTime::now_utc().unix_timestamp_nanos() / 1000;
        let n = self.next.fetch_add(1, Ordering::Relaxed);
        self.dir.join(format!("{micros:016x}-{:x}-{n:x}.log", self.pid))
    }

    /// A new, empty journal file, its directory entry durable.
    fn new_segment(&self) -> Result<Segment, SpoolError> {
        let path = self.new_name();
        let file = files::create_new(&path).map_err(io_error("create", &path))?;
        sync_dir(&self.dir)?;
        let mut index = self.lock();
        let n = u32::try_from(index.segments.len()).unwrap_or(u32::MAX);
        index.segments.push(path.clone());
        Ok(Segment {
            index: n,
            path,
            file,
            len: 0,
        })
    }

    /// Read every journal file (at start, before the committer runs).
    fn read_all(&self) -> Result<JournalRead, SpoolError> {
        let mut segments = Vec::new();
        for entry in std::fs::read_dir(&self.dir).map_err(io_error("read", &self.dir))? {
            let entry = entry.map_err(io_error("read", &self.dir))?;
            let path = entry.path();
            if entry.file_type().is_ok_and(|t| t.is_file())
                && path.extension().and_then(|e| e.to_str()) == Some("log")
            {
                segments.push(path);
            } else {
                tracing::warn!(path = %path.display(), "not a journal file in the spool's journal/: left alone");
            }
        }
        segments.sort();
        let mut read = JournalRead {
            records: std::collections::BTreeMap::new(),
            segments,
            torn: 0,
            unreadable: Vec::new(),
        };
        for path in &read.segments {
            let bytes = std::fs::read(path).map_err(io_error("read", path))?;
            for line in bytes.split_inclusive(|&b| b == b'\n') {
                let Some(record) = line.strip_suffix(b"\n") else {
                    read.torn += 1;
                    continue;
                };
                if record.is_empty() {
                    continue;
                }
                let meta = serde_json::from_slice::<MessageMeta>(record)
                    .ok()
                    .filter(|m| Spool::check_id(&m.id).is_ok());
                match meta {
                    Some(meta) => {
                        let queued = meta.delivery.state == DeliveryState::Queued;
                        read.records.insert(meta.id, (record.to_vec(), queued));
                    }
                    None => read.unreadable.extend_from_slice(line),
                }
            }
        }
        Ok(read)
    }

    /// Rewrite the records still current into one new file, durable, and remove the old files
    /// (a crash in between leaves the same records twice, which reads the same).
    fn compact(&self, live: Vec<(String, Vec<u8>)>, old: &[PathBuf]) -> Result<(), SpoolError> {
        let mut index = JournalIndex::default();
        if !live.is_empty() {
            let path = self.new_name();
            let mut bytes = Vec::new();
            for (id, record) in live {
                let loc = Loc {
                    segment: 0,
                    offset: bytes.len() as u64,
                    len: record.len(),
                };
                bytes.extend_from_slice(&record);
                bytes.push(b'\n');
                index.records.insert(id, loc);
            }
            files::write_new(&path, &bytes).map_err(io_error("write", &path))?;
            index.segments.push(path);
        }
        if !old.is_empty() {
            sync_dir(&self.dir)?;
            for path in old {
                std::fs::remove_file(path).map_err(io_error("remove", path))?;
            }
            sync_dir(&self.dir)?;
        }
        *self.lock() = index;
        Ok(())
    }
}

/// Write out everything waiting on the file system that holds `dir`, and flush the disk's cache:
/// one flush for a whole batch.
#[cfg(target_os = "linux")]
fn sync_file_system(dir: &Path) -> Result<(), SpoolError> {
    std::fs::File::open(dir)
        .and_then(|d| rustix::fs::syncfs(&d).map_err(std::io::Error::from))
        .map_err(io_error("sync the file system of", dir))
}

#[cfg(not(target_os = "linux"))]
fn sync_file_system(dir: &Path) -> Result<(), SpoolError> {
    Err(SpoolError::Io {
        what: "sync the file system of",
        path: dir.to_path_buf(),
        source: std::io::Error::from(std::io::ErrorKind::Unsupported),
    })
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
        for mode in [SyncMode::FileSystem, SyncMode::PerFile, SyncMode::Batched] {
            acknowledged_with(mode).await;
        }
    }

    async fn acknowledged_with(mode: SyncMode) {
        let dir = tempfile::tempdir().unwrap();
        let (spool, recovery) = Spool::open_with(dir.path(), MEMORY_BUDGET, mode).unwrap();
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
        // One new file per message; the records are in the journal, and survive a restart.
        let files = std::fs::read_dir(dir.path().join("messages")).unwrap().count();
        assert_eq!(files, 20, "{mode:?}");
        drop(spool);
        let (spool, recovery) = Spool::open(dir.path()).unwrap();
        assert_eq!((recovery.messages, recovery.queued.len()), (20, 20), "{mode:?}");
        assert_eq!(spool.meta(&ids[7]).unwrap().subject.as_deref(), Some("hello"));
    }

    /// A journal as a crash can leave it, and as only damage can.
    #[test]
    fn journal_recovery_keeps_records_drops_torn_writes_and_compacts() {
        let dir = tempfile::tempdir().unwrap();
        let (spool, _) = Spool::open(dir.path()).unwrap();
        let data = b"Subject: x\r\nX-Mailpath-Tracking: mp-journal\r\n\r\nx\r\n";
        let msg = message(data);
        let mut ids = Vec::new();
        for _ in 0..3 {
            let meta = meta_for(spool.new_id(), &msg, data, Delivery::queued(&msg.rcpt_to));
            spool.store(&meta, data).unwrap();
            ids.push(meta.id);
        }
        // Found by tracking id while it is only a journal record.
        let since = std::time::SystemTime::now() - std::time::Duration::from_secs(60);
        let found = find_tracking(dir.path(), "mp-journal", since).unwrap();
        assert!(ids.contains(&found.id));
        // The first message is updated: ID.json supersedes its record.
        let mut first = spool.meta(&ids[0]).unwrap();
        first.delivery.state = DeliveryState::Delivered;
        spool.update(&first).unwrap();
        drop(spool);
        let journal = dir.path().join("journal");
        let segment = std::fs::read_dir(&journal)
            .unwrap()
            .flatten()
            .next()
            .unwrap()
            .path();
        let mut bytes = std::fs::read(&segment).unwrap();
        // A record whose message is gone (only damage does that), a line that is not a record,
        // and a batch cut short by a crash (never acknowledged: its message goes too).
        let mut ghost = spool_line(&msg, "ghost");
        ghost.push(b'\n');
        bytes.extend_from_slice(&ghost);
        bytes.extend_from_slice(b"not json\n");
        let torn = spool_line(&msg, "torn");
        bytes.extend_from_slice(&torn[..torn.len() / 2]);
        std::fs::write(&segment, bytes).unwrap();
        std::fs::write(dir.path().join("messages/torn.eml"), data).unwrap();

        let (spool, recovery) = Spool::open(dir.path()).unwrap();
        assert_eq!(recovery.messages, 3);
        assert_eq!(recovery.queued, ids[1..].to_vec());
        assert_eq!(
            (recovery.torn, recovery.removed_partial, recovery.damaged),
            (1, 1, 2)
        );
        assert!(dir.path().join("damaged/ghost.json").exists());
        assert_eq!(
            std::fs::read(dir.path().join("damaged/journal-lines.log")).unwrap(),
            b"not json\n"
        );
        assert!(!dir.path().join("messages/torn.eml").exists());
        assert_eq!(
            spool.meta(&ids[0]).unwrap().delivery.state,
            DeliveryState::Delivered
        );
        assert_eq!(spool.meta(&ids[2]).unwrap().delivery.state, DeliveryState::Queued);
        assert!(matches!(spool.meta("ghost"), Err(SpoolError::NotFound(_))));
        // Compacted: one journal file with the two records still current, and nothing else.
        let segments: Vec<_> = std::fs::read_dir(&journal)
            .unwrap()
            .flatten()
            .map(|e| e.path())
            .collect();
        assert_eq!(segments.len(), 1);
        assert_ne!(segments[0], segment);
        let text = std::fs::read_to_string(&segments[0]).unwrap();
        assert_eq!(text.lines().count(), 2, "{text}");
        assert!(!text.contains(&ids[0]));
        // And a second start finds the same, with nothing to repair.
        drop(spool);
        let (_, again) = Spool::open(dir.path()).unwrap();
        assert_eq!(
            (again.messages, again.damaged, again.torn, again.removed_partial),
            (3, 0, 0, 0)
        );
    }

    /// A journal record for `id`, on one line.
    fn spool_line(msg: &ReceivedMessage, id: &str) -> Vec<u8> {
        serde_json::to_vec(&meta_for(id.into(), msg, b"", Delivery::queued(&msg.rcpt_to))).unwrap()
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
                torn: 0,
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
            for journal in std::fs::read_dir(dir.path().join("journal")).unwrap().flatten() {
                assert_eq!(mode(&journal.path()), 0o600);
            }
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
        std::os::unix::fs::symlink(&victim, dir.path().join("messages/planted.eml")).unwrap();
        assert!(spool.store(&meta, b"x\r\n").is_err());
        assert_eq!(std::fs::read(&victim).unwrap(), b"precious");
    }
}
