//! The durable spool: every message the relay acknowledges is on disk first.
//!
//! Layout under the spool directory:
//!
//! - `tmp/`: files being written. Whatever is here at start is an unacknowledged leftover and is
//!   deleted.
//! - `messages/ID.eml`: the message exactly as received (dot-unstuffed);
//!   `messages/ID.json`: its [`MessageMeta`] (envelope, session, TLS, client certificate chain,
//!   received time, delivery state and log).
//! - `delivery.log`: one JSON line per delivery attempt, for every message (append-only).
//!
//! Storing a message ([`Spool::store`]): write `tmp/ID.eml` and `tmp/ID.json`, `sync_all` both, rename
//! the `.eml` then the `.json` into `messages/`, then fsync `messages/` (on Unix; Windows has no
//! directory fsync and the renames are journaled by NTFS). Only then does [`SpoolSink`] return the
//! id, which the server turns into `250 2.6.0 <id> Queued`. The `.json` is the commit record: at start
//! ([`Spool::open`]) an `.eml` without its `.json` was never acknowledged and is removed; a `.json`
//! without its `.eml` cannot come from this code and is moved to `damaged/`.
//!
//! Directory fsyncs are shared between concurrent writers (group commit): a writer whose rename
//! happened before a running fsync started waits for that fsync instead of issuing its own.

use std::fs::OpenOptions;
use std::future::Future;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::smtp::server::{MessageSink, ReceivedMessage, SessionInfo};

/// The schema tag of a message's metadata file.
pub const META_SCHEMA: &str = "mailpath/spool-message/1";
/// Delivery attempts kept in a message's metadata (the full history is in `delivery.log`).
pub const MAX_LOG_IN_META: usize = 20;

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
}

/// A spool directory.
#[derive(Debug)]
pub struct Spool {
    root: PathBuf,
    tmp: PathBuf,
    messages: PathBuf,
    log_lock: Mutex<()>,
    dir_sync: DirSync,
    next: AtomicU64,
}

impl Spool {
    /// Open (creating if needed) the spool at `root` and recover it: remove unacknowledged leftovers,
    /// keep every complete message.
    ///
    /// # Errors
    /// When the directories cannot be created or read.
    pub fn open(root: &Path) -> Result<(Spool, Recovery), SpoolError> {
        let tmp = root.join("tmp");
        let messages = root.join("messages");
        for dir in [root, &tmp, &messages] {
            std::fs::create_dir_all(dir).map_err(io_error("create", dir))?;
        }
        let spool = Spool {
            root: root.to_path_buf(),
            tmp: tmp.clone(),
            messages: messages.clone(),
            log_lock: Mutex::new(()),
            dir_sync: DirSync::new(messages.clone()),
            next: AtomicU64::new(0),
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
            let path = entry.map_err(io_error("read", &self.tmp))?.path();
            std::fs::remove_file(&path).map_err(io_error("remove", &path))?;
            recovery.removed_tmp += 1;
        }
        let mut emls = std::collections::BTreeSet::new();
        let mut jsons = std::collections::BTreeSet::new();
        for entry in std::fs::read_dir(&self.messages).map_err(io_error("read", &self.messages))? {
            let path = entry.map_err(io_error("read", &self.messages))?.path();
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
            std::fs::create_dir_all(&damaged_dir).map_err(io_error("create", &damaged_dir))?;
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
        format!("{micros:x}-{:x}-{n:x}", std::process::id())
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

    /// Store a message durably (blocking: call it from a blocking thread). When this returns `Ok`,
    /// the message and its metadata are synced to disk and renamed into `messages/`, and that
    /// directory is synced.
    ///
    /// # Errors
    /// When a write, sync or rename fails; nothing is left in `messages/` for this id then.
    pub fn store(&self, meta: &MessageMeta, data: &[u8]) -> Result<(), SpoolError> {
        Spool::check_id(&meta.id)?;
        let json = serde_json::to_vec_pretty(meta).map_err(|source| SpoolError::Meta {
            path: self.messages.join(format!("{}.json", meta.id)),
            source,
        })?;
        let tmp_eml = self.tmp.join(format!("{}.eml", meta.id));
        let tmp_json = self.tmp.join(format!("{}.json", meta.id));
        let result = (|| {
            write_synced(&tmp_eml, data)?;
            write_synced(&tmp_json, &json)?;
            let eml = self.messages.join(format!("{}.eml", meta.id));
            std::fs::rename(&tmp_eml, &eml).map_err(io_error("rename", &tmp_eml))?;
            let final_json = self.messages.join(format!("{}.json", meta.id));
            if let Err(e) = std::fs::rename(&tmp_json, &final_json) {
                let _ = std::fs::remove_file(&eml);
                return Err(io_error("rename", &tmp_json)(e));
            }
            self.dir_sync.sync()
        })();
        if result.is_err() {
            let _ = std::fs::remove_file(&tmp_eml);
            let _ = std::fs::remove_file(&tmp_json);
        }
        result
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
        write_synced(&tmp, &json)?;
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
        let written = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .and_then(|mut f| f.write_all(&line));
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

fn write_synced(path: &Path, bytes: &[u8]) -> Result<(), SpoolError> {
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
        .map_err(io_error("create", path))?;
    file.write_all(bytes).map_err(io_error("write", path))?;
    file.sync_all().map_err(io_error("sync", path))
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

/// Header values the spool keeps in the metadata.
fn header_value(data: &[u8], name: &str) -> Option<String> {
    crate::headers::first_header(data, name).map(|v| v.chars().take(998).collect())
}

/// Build the metadata of a freshly received message.
pub fn meta_for(id: String, message: &ReceivedMessage, delivery: Delivery) -> MessageMeta {
    MessageMeta {
        schema: META_SCHEMA.to_string(),
        id,
        received_at: message.received_at,
        mail_from: message.mail_from.clone(),
        rcpt_to: message.rcpt_to.clone(),
        size: message.data.len(),
        session: message.session.clone(),
        subject: header_value(&message.data, "Subject"),
        message_id: header_value(&message.data, "Message-ID"),
        tracking_id: header_value(&message.data, crate::headers::TRACKING_HEADER),
        delivery,
    }
}

/// What the sink does with a message once it is on disk (header analysis, forwarding): it must not
/// block.
pub trait StoredHook: Send + Sync {
    /// A message was stored and is about to be acknowledged.
    fn stored(&self, meta: &MessageMeta, data: Arc<Vec<u8>>);
}

/// A [`MessageSink`] that acknowledges only what the [`Spool`] has durably stored.
pub struct SpoolSink {
    spool: Arc<Spool>,
    hostname: String,
    forwarding: bool,
    hook: Option<Arc<dyn StoredHook>>,
}

impl std::fmt::Debug for SpoolSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SpoolSink")
            .field("spool", &self.spool.root)
            .field("hostname", &self.hostname)
            .field("forwarding", &self.forwarding)
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
            spool,
            hostname: hostname.into(),
            forwarding,
            hook,
        }
    }
}

impl MessageSink for SpoolSink {
    fn accept(
        &self,
        message: ReceivedMessage,
    ) -> Pin<Box<dyn Future<Output = Result<String, String>> + Send + '_>> {
        Box::pin(async move {
            let id = self.spool.new_id();
            let delivery = if self.forwarding {
                Delivery::queued(&message.rcpt_to)
            } else {
                Delivery::captured()
            };
            let meta = meta_for(id.clone(), &message, delivery);
            let data = Arc::new(message.data);
            let spool = Arc::clone(&self.spool);
            let to_disk = Arc::clone(&data);
            let meta = tokio::task::spawn_blocking(move || spool.store(&meta, &to_disk).map(|()| meta))
                .await
                .map_err(|e| format!("spool task failed: {e}"))?
                .map_err(|e| {
                    tracing::error!(error = %e, "could not spool a message");
                    "Temporary spool failure, try again later".to_string()
                })?;
            if let Some(hook) = &self.hook {
                hook.stored(&meta, data);
            }
            Ok(format!("{id}@{}", self.hostname))
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
            data: data.to_vec(),
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
            let queued = sink.accept(message(data)).await.unwrap();
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
        let kept = meta_for(spool.new_id(), &msg, Delivery::queued(&msg.rcpt_to));
        spool.store(&kept, &msg.data).unwrap();
        let captured = meta_for(spool.new_id(), &msg, Delivery::captured());
        spool.store(&captured, &msg.data).unwrap();
        // A crash mid-write, a crash between the two renames, a stray metadata file.
        std::fs::write(dir.path().join("tmp/abc.eml"), b"half").unwrap();
        std::fs::write(dir.path().join("messages/partial.eml"), b"never acked").unwrap();
        std::fs::write(dir.path().join("messages/orphan.json"), b"{}").unwrap();
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
        assert!(
            std::fs::read_dir(dir.path().join("tmp"))
                .unwrap()
                .next()
                .is_none()
        );
        assert!(matches!(spool.meta("../etc"), Err(SpoolError::BadId(_))));
    }
}
