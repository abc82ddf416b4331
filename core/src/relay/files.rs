//! Private files and directories for what the relay and the lab write (spool, generated CA, keys):
//! on Unix directories are 0700 and files 0600, and nothing written follows a symbolic link (a link
//! planted in the spool cannot redirect a write elsewhere). On Windows the same functions refuse
//! reparse points (symbolic links, junctions) and rely on the ACLs the parent directory passes on.
//!
//! Every `cfg(windows)` branch has a Unix twin that the tests exercise: the two differ only in the
//! flags given to the operating system.

use std::fs::{File, OpenOptions};
use std::io::Write as _;
use std::path::Path;

#[cfg(windows)]
/// `FILE_FLAG_OPEN_REPARSE_POINT`: open a symbolic link or junction itself, never its target.
const FILE_FLAG_OPEN_REPARSE_POINT: u32 = 0x0020_0000;

/// Options for a file that must not exist yet: created 0600 (Unix), never through a link.
fn new_file_options() -> OpenOptions {
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    restrict(&mut options);
    options
}

#[cfg(unix)]
fn restrict(options: &mut OpenOptions) {
    use std::os::unix::fs::OpenOptionsExt as _;
    options
        .mode(0o600)
        .custom_flags(rustix::fs::OFlags::NOFOLLOW.bits().cast_signed());
}

#[cfg(windows)]
fn restrict(options: &mut OpenOptions) {
    use std::os::windows::fs::OpenOptionsExt as _;
    options.custom_flags(FILE_FLAG_OPEN_REPARSE_POINT);
}

#[cfg(not(any(unix, windows)))]
fn restrict(_options: &mut OpenOptions) {}

/// Create `path`, which must not exist (`O_CREAT|O_EXCL|O_NOFOLLOW`, mode 0600).
///
/// # Errors
/// When it exists (as a file, a directory or a link) or cannot be created.
pub fn create_new(path: &Path) -> std::io::Result<File> {
    new_file_options().open(path)
}

/// Open `path` for appending, creating it 0600 when missing; a symbolic link is refused.
///
/// # Errors
/// When `path` is a link or cannot be opened.
pub fn open_append(path: &Path) -> std::io::Result<File> {
    let mut options = OpenOptions::new();
    options.append(true).create(true);
    restrict(&mut options);
    let file = options.open(path)?;
    if !file.metadata()?.is_file() {
        return Err(std::io::Error::other(format!(
            "{} is not a regular file",
            path.display()
        )));
    }
    Ok(file)
}

/// Write `bytes` to `path` as a new private file (see [`create_new`]), synced.
///
/// # Errors
/// When the file exists or cannot be written.
pub fn write_new(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut file = create_new(path)?;
    file.write_all(bytes)?;
    file.sync_all()
}

/// Replace `path` with a private file holding `bytes`: written to a fresh name beside it, then
/// renamed over it (a rename replaces a link; it never writes through one).
///
/// # Errors
/// When the file cannot be written or renamed; `path` is unchanged then.
pub fn replace(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = path.with_file_name(format!(".{name}.{}.{}.tmp", std::process::id(), unique()));
    let result = write_new(&tmp, bytes).and_then(|()| std::fs::rename(&tmp, path));
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

fn unique() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(0);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

/// Make sure `dir` is a private directory: created 0700 when missing (parents too), made 0700 when
/// it exists. A symbolic link is refused.
///
/// # Errors
/// When it is a link or not a directory, or cannot be created.
pub fn private_dir(dir: &Path) -> std::io::Result<()> {
    match std::fs::symlink_metadata(dir) {
        Ok(meta) if meta.file_type().is_symlink() => Err(std::io::Error::other(format!(
            "{} is a symbolic link; refusing to write through it",
            dir.display()
        ))),
        Ok(meta) if !meta.is_dir() => Err(std::io::Error::other(format!(
            "{} is not a directory",
            dir.display()
        ))),
        Ok(_) => set_private(dir),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let mut builder = std::fs::DirBuilder::new();
            builder.recursive(true);
            #[cfg(unix)]
            {
                use std::os::unix::fs::DirBuilderExt as _;
                builder.mode(0o700);
            }
            builder.create(dir)?;
            set_private(dir)
        }
        Err(e) => Err(e),
    }
}

#[cfg(unix)]
fn set_private(dir: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
}

#[cfg(not(unix))]
fn set_private(_dir: &Path) -> std::io::Result<()> {
    // Windows: the directory inherits the ACL of its parent (the user's profile).
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(unix)]
    fn mode(path: &Path) -> u32 {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::symlink_metadata(path).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn files_are_private_and_links_are_never_followed() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("a/b");
        private_dir(&root).unwrap();
        let file = root.join("x");
        write_new(&file, b"one").unwrap();
        assert!(write_new(&file, b"two").is_err(), "never overwrites");
        replace(&file, b"three").unwrap();
        assert_eq!(std::fs::read(&file).unwrap(), b"three");
        let mut log = open_append(&root.join("log")).unwrap();
        log.write_all(b"line\n").unwrap();
        #[cfg(unix)]
        {
            assert_eq!(mode(&root), 0o700);
            assert_eq!(mode(&file), 0o600);
            assert_eq!(mode(&root.join("log")), 0o600);
            // An existing directory is tightened.
            let open = dir.path().join("open");
            std::fs::create_dir(&open).unwrap();
            std::fs::set_permissions(&open, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
            private_dir(&open).unwrap();
            assert_eq!(mode(&open), 0o700);

            // Links planted where mailpath writes: refused, or replaced, never written through.
            let victim = dir.path().join("victim");
            std::fs::write(&victim, b"precious").unwrap();
            let link = root.join("link");
            std::os::unix::fs::symlink(&victim, &link).unwrap();
            assert!(create_new(&link).is_err());
            assert!(open_append(&link).is_err());
            replace(&link, b"new").unwrap();
            assert_eq!(std::fs::read(&victim).unwrap(), b"precious");
            assert!(!std::fs::symlink_metadata(&link).unwrap().file_type().is_symlink());
            let dir_link = dir.path().join("dirlink");
            std::os::unix::fs::symlink(&root, &dir_link).unwrap();
            assert!(private_dir(&dir_link).is_err());
        }
        assert!(private_dir(&file).is_err(), "a file is not a directory");
        assert!(
            std::fs::read_dir(&root)
                .unwrap()
                .flatten()
                .all(|e| !e.file_name().to_string_lossy().ends_with(".tmp")),
            "no temporary file left behind"
        );
    }
}
