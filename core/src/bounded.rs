//! Reading files with a size cap. Every file mailpath reads (profiles, certificates and keys, CA files,
//! saved diagnoses, password files, message headers) goes through here, so that a huge or endless input
//! (`mailpath cert /dev/zero`, a multi-gigabyte file picked by mistake) ends in a clear error after at most
//! `limit + 1` bytes instead of eating memory.

use std::io::{ErrorKind, Read};
use std::path::Path;

/// What a file is read as, and the most mailpath reads of it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limit {
    /// What the file is, for messages ("a profile").
    pub what: &'static str,
    /// The most bytes read.
    pub bytes: u64,
}

impl Limit {
    /// A hybrid profile (TOML): 1 MiB, a hundred times the largest real one.
    pub const PROFILE: Limit = Limit {
        what: "a profile",
        bytes: 1024 * 1024,
    };
    /// A certificate, CA, private key or PKCS#12 file: 10 MiB (a full system CA bundle is about 200 KiB).
    pub const CERT_FILE: Limit = Limit {
        what: "a certificate or key file",
        bytes: 10 * 1024 * 1024,
    };
    /// A saved diagnosis (JSON): 64 MiB.
    pub const DIAGNOSIS: Limit = Limit {
        what: "a saved diagnosis",
        bytes: 64 * 1024 * 1024,
    };
    /// A file holding a password: 64 KiB.
    pub const PASSWORD_FILE: Limit = Limit {
        what: "a password file",
        bytes: 64 * 1024,
    };
    /// A message (or its headers) to analyse: 16 MiB are read, the header block must end within them.
    pub const MESSAGE: Limit = Limit {
        what: "a message",
        bytes: 16 * 1024 * 1024,
    };
    /// An Exchange configuration export (JSON): 64 MiB (a large organisation's export is a few MB).
    pub const EXPORT: Limit = Limit {
        what: "an Exchange configuration export",
        bytes: 64 * 1024 * 1024,
    };
    /// A text to explain (an NDR, a queue error, message-trace lines): 10 MiB are read.
    pub const EXPLAIN_INPUT: Limit = Limit {
        what: "a text to explain",
        bytes: 10 * 1024 * 1024,
    };
}

/// Why a file could not be read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ReadError {
    /// Opening or reading failed.
    #[error("{0}")]
    Io(#[from] std::io::Error),
    /// The file is larger than its limit (nothing beyond the limit was read).
    #[error("larger than {}, the most mailpath reads for {}", human_size(limit.bytes), limit.what)]
    TooLarge {
        /// The limit that was exceeded.
        limit: Limit,
    },
    /// The file was expected to be text and is not UTF-8.
    #[error("{} must be UTF-8 text (invalid byte at offset {offset})", limit.what)]
    NotText {
        /// What the file was read as.
        limit: Limit,
        /// Where the first invalid byte is.
        offset: usize,
    },
}

impl From<ReadError> for std::io::Error {
    /// For errors that carry an `io::Error`: the OS error as it was, the others as `FileTooLarge` or
    /// `InvalidData` wrapping the [`ReadError`] (recoverable with `get_ref().downcast_ref()`).
    fn from(error: ReadError) -> Self {
        match error {
            ReadError::Io(e) => e,
            e @ ReadError::TooLarge { .. } => std::io::Error::new(ErrorKind::FileTooLarge, e),
            e @ ReadError::NotText { .. } => std::io::Error::new(ErrorKind::InvalidData, e),
        }
    }
}

/// `1 MiB`, `64 KiB`, `512 bytes`.
pub fn human_size(bytes: u64) -> String {
    const KIB: u64 = 1024;
    const MIB: u64 = 1024 * 1024;
    if bytes >= MIB && bytes.is_multiple_of(MIB) {
        format!("{} MiB", bytes / MIB)
    } else if bytes >= KIB && bytes.is_multiple_of(KIB) {
        format!("{} KiB", bytes / KIB)
    } else {
        format!("{bytes} bytes")
    }
}

/// The whole file at `path`, or [`ReadError::TooLarge`] when it holds more than `limit.bytes`. At most
/// `limit.bytes + 1` bytes are ever read (devices and pipes included).
///
/// # Errors
/// The file cannot be opened or read, or is larger than the limit.
pub fn read(path: &Path, limit: Limit) -> Result<Vec<u8>, ReadError> {
    let file = std::fs::File::open(path)?;
    // A regular file that is already too large fails before anything is read.
    if let Ok(meta) = file.metadata()
        && meta.is_file()
        && meta.len() > limit.bytes
    {
        return Err(ReadError::TooLarge { limit });
    }
    let (data, complete) = read_prefix(file, limit)?;
    if complete {
        Ok(data)
    } else {
        Err(ReadError::TooLarge { limit })
    }
}

/// The whole file at `path` as UTF-8 text, within `limit`.
///
/// # Errors
/// As [`read`], and [`ReadError::NotText`] when the file is not UTF-8.
pub fn read_to_string(path: &Path, limit: Limit) -> Result<String, ReadError> {
    String::from_utf8(read(path, limit)?).map_err(|e| ReadError::NotText {
        limit,
        offset: e.utf8_error().valid_up_to(),
    })
}

/// The first `limit.bytes` of the file at `path`, and whether that was all of it: for inputs of which
/// only the start matters (the header block of a message).
///
/// # Errors
/// The file cannot be opened or read.
pub fn read_start(path: &Path, limit: Limit) -> Result<(Vec<u8>, bool), ReadError> {
    Ok(read_prefix(std::fs::File::open(path)?, limit)?)
}

/// At most `limit.bytes` from `reader`, and whether that was all of it (`false`: more was there; one
/// byte beyond the limit has been read to know).
///
/// # Errors
/// When reading fails.
pub fn read_prefix(reader: impl Read, limit: Limit) -> std::io::Result<(Vec<u8>, bool)> {
    let mut data = Vec::new();
    reader
        .take(limit.bytes.saturating_add(1))
        .read_to_end(&mut data)?;
    let cap = usize::try_from(limit.bytes).unwrap_or(usize::MAX);
    if data.len() > cap {
        data.truncate(cap);
        Ok((data, false))
    } else {
        Ok((data, true))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    const TINY: Limit = Limit {
        what: "a test file",
        bytes: 16,
    };

    #[test]
    fn within_the_limit_reads_everything() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        std::fs::write(&path, b"0123456789abcdef").unwrap();
        assert_eq!(read(&path, TINY).unwrap(), b"0123456789abcdef");
        assert_eq!(read_to_string(&path, TINY).unwrap(), "0123456789abcdef");
    }

    #[test]
    fn one_byte_over_is_refused_with_the_limit_named() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        std::fs::write(&path, b"0123456789abcdefg").unwrap();
        let err = read(&path, TINY).unwrap_err();
        assert!(matches!(err, ReadError::TooLarge { .. }), "{err:?}");
        assert_eq!(
            err.to_string(),
            "larger than 16 bytes, the most mailpath reads for a test file"
        );
        let io: std::io::Error = err.into();
        assert_eq!(io.kind(), ErrorKind::FileTooLarge);
    }

    #[cfg(unix)]
    #[test]
    fn an_endless_device_stops_at_the_limit() {
        let err = read(Path::new("/dev/zero"), Limit::PROFILE).unwrap_err();
        assert!(matches!(err, ReadError::TooLarge { .. }), "{err:?}");
        assert!(err.to_string().contains("1 MiB"), "{err}");
        let (prefix, complete) = read_prefix(std::fs::File::open("/dev/zero").unwrap(), TINY).unwrap();
        assert_eq!((prefix.len(), complete), (16, false));
    }

    #[test]
    fn not_text_and_missing_files_say_so() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        std::fs::write(&path, b"ab\xffcd").unwrap();
        let err = read_to_string(&path, TINY).unwrap_err();
        assert!(matches!(err, ReadError::NotText { offset: 2, .. }), "{err:?}");
        let missing = read(&dir.path().join("missing"), TINY).unwrap_err();
        assert!(
            matches!(&missing, ReadError::Io(e) if e.kind() == ErrorKind::NotFound),
            "{missing:?}"
        );
    }

    #[test]
    fn sizes_read_as_people_write_them() {
        assert_eq!(human_size(1024 * 1024), "1 MiB");
        assert_eq!(human_size(64 * 1024), "64 KiB");
        assert_eq!(human_size(1500), "1500 bytes");
    }
}
