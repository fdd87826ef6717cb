//! Inputs: paths walked into files, stdin, in-memory text; and reading them into text.

use std::io::{self, Read};
use std::path::{Component, Path, PathBuf};

use globset::{Glob, GlobSet, GlobSetBuilder};

use crate::report::{ErrorKind, ScanError, ScanWarning, WarningKind};

/// Something to scan.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Input {
    /// A file or a directory. Directories are walked recursively; files are read whatever
    /// their extension.
    Path(PathBuf),
    /// Bytes already read (for example stdin), under a display name.
    Bytes {
        /// Name shown in reports (`<stdin>`).
        name: String,
        /// The content.
        bytes: Vec<u8>,
    },
}

impl Input {
    /// Reads all of stdin into an input named `<stdin>`.
    pub fn stdin() -> io::Result<Self> {
        Self::stdin_up_to(u64::MAX)
    }

    /// Reads stdin into an input named `<stdin>`, stopping one byte past `max_bytes`: the
    /// scan then reports it as too large instead of holding an endless stream in memory.
    pub fn stdin_up_to(max_bytes: u64) -> io::Result<Self> {
        let mut bytes = Vec::new();
        io::stdin()
            .lock()
            .take(max_bytes.saturating_add(1))
            .read_to_end(&mut bytes)?;
        Ok(Self::Bytes {
            name: "<stdin>".into(),
            bytes,
        })
    }
}

/// How directories are walked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WalkOptions {
    /// Files and directories not to walk into (paths named explicitly are still read).
    pub exclude: Option<std::sync::Arc<Exclude>>,
    /// Honour `.gitignore`, `.ignore` and `.upcheckignore` files (default: yes).
    pub respect_ignore_files: bool,
    /// Walk hidden files and directories (default: yes: `.tekton/` or `.argo-ci/` hold
    /// manifests too). Version-control directories (`.git`, `.hg`, `.svn`) are never walked.
    pub hidden: bool,
    /// Follow symbolic links (default: yes; loops are detected and not followed twice).
    pub follow_symlinks: bool,
    /// The most bytes one file may hold; a larger one is an error and is not read, so a
    /// hostile or runaway file cannot exhaust memory (default [`DEFAULT_MAX_FILE_BYTES`]).
    pub max_file_bytes: u64,
    /// How long a pipe, FIFO or device named explicitly may take to deliver all its data
    /// (default 60 s; zero for no limit): a FIFO nobody writes to would otherwise block the
    /// scan forever.
    pub pipe_timeout: std::time::Duration,
}

/// The default limit on one file: 64 MiB. The largest real manifests (CRD bundles) are a few
/// MB; rendered charts of whole platforms stay well under this.
pub const DEFAULT_MAX_FILE_BYTES: u64 = 64 << 20;

impl Default for WalkOptions {
    fn default() -> Self {
        Self {
            exclude: None,
            respect_ignore_files: true,
            hidden: true,
            follow_symlinks: true,
            max_file_bytes: DEFAULT_MAX_FILE_BYTES,
            pipe_timeout: std::time::Duration::from_mins(1),
        }
    }
}

/// A file to read: the name to show and where it is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum FileJob {
    Path { display: String, path: PathBuf },
    Bytes { display: String, bytes: Vec<u8> },
}

impl FileJob {
    pub fn display(&self) -> &str {
        match self {
            Self::Path { display, .. } | Self::Bytes { display, .. } => display,
        }
    }
}

/// Extensions scanned in directories. Files named explicitly are read whatever their name.
fn is_manifest_name(path: &Path) -> bool {
    // Not `Path::extension`: a file named just `.yaml` has no extension for it.
    path.file_name()
        .and_then(|n| n.to_str())
        .and_then(|n| n.rsplit_once('.'))
        .is_some_and(|(_, e)| {
            ["yaml", "yml", "json"]
                .iter()
                .any(|x| e.eq_ignore_ascii_case(x))
        })
}

pub(crate) fn display_path(path: &Path) -> String {
    path.to_string_lossy().into_owned()
}

fn io_kind(e: &io::Error) -> ErrorKind {
    match e.kind() {
        io::ErrorKind::NotFound => ErrorKind::NotFound,
        io::ErrorKind::PermissionDenied => ErrorKind::PermissionDenied,
        _ => ErrorKind::Io,
    }
}

pub(crate) fn io_error(path: String, e: &io::Error) -> ScanError {
    let message = match e.kind() {
        io::ErrorKind::NotFound => "no such file or directory".to_owned(),
        io::ErrorKind::PermissionDenied => "permission denied".to_owned(),
        _ => format!("cannot read: {e}"),
    };
    ScanError {
        path,
        document: None,
        line: None,
        column: None,
        kind: io_kind(e),
        message,
    }
}

/// What collecting inputs produced besides the files: paths that could not be walked, and
/// notices.
#[derive(Debug, Default)]
pub(crate) struct Collected {
    pub errors: Vec<ScanError>,
    pub warnings: Vec<ScanWarning>,
}

/// Files are handed to the readers in batches: one channel message per file would cost a
/// thread wake-up per small file.
const BATCH: usize = 64;

/// Where collected files go: a channel to the parallel readers, so that reading starts while
/// directories are still being walked. The same file named twice (or reached twice) is sent
/// once.
pub(crate) struct JobSink<'a> {
    tx: &'a std::sync::mpsc::SyncSender<Vec<FileJob>>,
    batch: Vec<FileJob>,
    seen: std::collections::HashSet<String>,
}

impl JobSink<'_> {
    fn push(&mut self, job: FileJob) {
        if self.seen.insert(job.display().to_owned()) {
            self.batch.push(job);
            if self.batch.len() >= BATCH {
                self.flush();
            }
        }
    }

    fn flush(&mut self) {
        if !self.batch.is_empty() {
            // The receiver only goes away when the scan itself is gone.
            let _ = self.tx.send(std::mem::replace(
                &mut self.batch,
                Vec::with_capacity(BATCH),
            ));
        }
    }
}

/// Turns inputs into files to read (sent to `tx` in batches): walks directories, checks paths
/// exist.
pub(crate) fn collect(
    inputs: Vec<Input>,
    walk: &WalkOptions,
    tx: &std::sync::mpsc::SyncSender<Vec<FileJob>>,
) -> Collected {
    let mut out = Collected::default();
    let mut sink = JobSink {
        tx,
        batch: Vec::with_capacity(BATCH),
        seen: std::collections::HashSet::new(),
    };
    for input in inputs {
        match input {
            Input::Bytes { name, bytes } => sink.push(FileJob::Bytes {
                display: name,
                bytes,
            }),
            Input::Path(path) => collect_path(&path, walk, &mut sink, &mut out),
        }
    }
    sink.flush();
    out
}

fn collect_path(path: &Path, walk: &WalkOptions, sink: &mut JobSink<'_>, out: &mut Collected) {
    let display = display_path(path);
    let meta = match std::fs::metadata(path) {
        Ok(m) => m,
        Err(e) => {
            out.errors.push(io_error(display, &e));
            return;
        }
    };
    if !meta.is_dir() {
        // Named explicitly: read it whatever it is (`<(helm template ...)` gives a pipe).
        sink.push(FileJob::Path {
            display,
            path: path.to_path_buf(),
        });
        return;
    }
    let mut builder = ignore::WalkBuilder::new(path);
    builder
        .standard_filters(walk.respect_ignore_files)
        .hidden(!walk.hidden)
        .follow_links(walk.follow_symlinks)
        // .gitignore files are honoured in any directory, not only inside a git checkout.
        .require_git(false)
        .sort_by_file_name(std::cmp::Ord::cmp)
        .filter_entry({
            let exclude = walk.exclude.clone();
            move |e| {
                !matches!(e.file_name().to_str(), Some(".git" | ".hg" | ".svn"))
                    && !exclude.as_ref().is_some_and(|x| x.excludes(e.path()))
            }
        });
    if walk.respect_ignore_files {
        builder.add_custom_ignore_filename(".upcheckignore");
    }
    let mut found = false;
    for entry in builder.build() {
        match entry {
            Ok(entry) => {
                let Some(ft) = entry.file_type() else {
                    continue;
                };
                if ft.is_dir() || !is_manifest_name(entry.path()) {
                    continue;
                }
                if ft.is_file() {
                    found = true;
                    sink.push(FileJob::Path {
                        display: display_path(entry.path()),
                        path: entry.into_path(),
                    });
                } else if !ft.is_symlink() {
                    out.warnings.push(ScanWarning {
                        path: display_path(entry.path()),
                        document: None,
                        line: None,
                        kind: WarningKind::NotRegularFile,
                        message: "not a regular file (FIFO, socket or device); skipped. Name it on the command line to read it".into(),
                    });
                }
            }
            Err(e) => walk_error(&display, &e, out),
        }
    }
    if !found {
        out.warnings.push(ScanWarning {
            path: display,
            document: None,
            line: None,
            kind: WarningKind::NoManifests,
            message: "no .yaml, .yml or .json file found in this directory (files matched by .gitignore, .ignore or .upcheckignore are skipped)".into(),
        });
    }
}

fn walk_error(root: &str, e: &ignore::Error, out: &mut Collected) {
    // ignore wraps errors in path/depth context; find the innermost one.
    let mut path = None;
    let mut err = e;
    loop {
        match err {
            ignore::Error::WithPath {
                path: p,
                err: inner,
            } => {
                path = Some(display_path(p));
                err = inner;
            }
            ignore::Error::WithDepth { err: inner, .. }
            | ignore::Error::WithLineNumber { err: inner, .. } => {
                err = inner;
            }
            _ => break,
        }
    }
    match err {
        ignore::Error::Loop { ancestor, child } => out.warnings.push(ScanWarning {
            path: display_path(child),
            document: None,
            line: None,
            kind: WarningKind::SymlinkLoop,
            message: format!(
                "symbolic link loop back to {}; not followed again (its files are scanned once)",
                display_path(ancestor)
            ),
        }),
        ignore::Error::Io(io) => out
            .errors
            .push(io_error(path.unwrap_or_else(|| root.to_owned()), io)),
        other => out.errors.push(ScanError {
            path: path.unwrap_or_else(|| root.to_owned()),
            document: None,
            line: None,
            column: None,
            kind: ErrorKind::Walk,
            message: other.to_string(),
        }),
    }
}

/// A file's content as text, and how faithfully offsets map back to its bytes.
#[derive(Debug)]
pub(crate) struct Decoded {
    pub text: String,
    /// Bytes before `text` starts in the file (a UTF-8 byte-order mark).
    pub base: usize,
    /// Whether `text` offsets (plus `base`) are the file's byte offsets.
    pub exact: bool,
    /// A problem that did not stop reading (invalid UTF-8 replaced).
    pub error: Option<ScanError>,
}

/// Decodes file bytes: UTF-8 (with or without BOM), UTF-16 with a BOM. NUL bytes elsewhere mean
/// a binary file.
pub(crate) fn decode(display: &str, bytes: Vec<u8>) -> Result<Decoded, ScanError> {
    let err = |kind, line: Option<u32>, message: String| ScanError {
        path: display.to_owned(),
        document: None,
        line,
        column: None,
        kind,
        message,
    };
    if let Some(rest) = bytes
        .strip_prefix(&[0xFF, 0xFE])
        .or_else(|| bytes.strip_prefix(&[0xFE, 0xFF]))
    {
        let little = bytes[0] == 0xFF;
        if rest.len() % 2 != 0 {
            return Err(err(
                ErrorKind::Encoding,
                None,
                "UTF-16 file with an odd number of bytes".into(),
            ));
        }
        let units = rest.chunks_exact(2).map(|c| {
            if little {
                u16::from_le_bytes([c[0], c[1]])
            } else {
                u16::from_be_bytes([c[0], c[1]])
            }
        });
        let text: String = char::decode_utf16(units)
            .collect::<Result<_, _>>()
            .map_err(|e| err(ErrorKind::Encoding, None, format!("invalid UTF-16: {e}")))?;
        return Ok(Decoded {
            text,
            base: 0,
            exact: false,
            error: None,
        });
    }
    if let Some(nul) = memchr::memchr(0, &bytes) {
        return Err(err(
            ErrorKind::Binary,
            None,
            format!("binary file (NUL byte at offset {nul}); not a manifest"),
        ));
    }
    let base = if bytes.starts_with(&[0xEF, 0xBB, 0xBF]) {
        3
    } else {
        0
    };
    match String::from_utf8(bytes) {
        Ok(mut text) => {
            text.drain(..base);
            Ok(Decoded {
                text,
                base,
                exact: true,
                error: None,
            })
        }
        Err(e) => {
            let bad = e.utf8_error().valid_up_to();
            let bytes = e.into_bytes();
            let line = u32::try_from(memchr::memchr_iter(b'\n', &bytes[..bad]).count() + 1).ok();
            let text = String::from_utf8_lossy(&bytes[base..]).into_owned();
            Ok(Decoded {
                text,
                base,
                exact: false,
                error: Some(err(
                    ErrorKind::Encoding,
                    line,
                    format!(
                        "not valid UTF-8 (first bad byte at offset {bad}); invalid bytes were replaced and the rest of the file was scanned"
                    ),
                )),
            })
        }
    }
}

/// Reads a FIFO, pipe or device on a helper thread, so that one that never delivers (opening a
/// FIFO without a writer blocks) costs the scan `timeout`, not forever. A helper still blocked
/// when the time is up is left behind and ends with the process.
fn read_special(
    display: &str,
    path: PathBuf,
    max_bytes: u64,
    timeout: std::time::Duration,
) -> Result<Vec<u8>, ScanError> {
    use std::sync::atomic::{AtomicBool, Ordering};
    let opened = std::sync::Arc::new(AtomicBool::new(false));
    let (tx, rx) = std::sync::mpsc::channel();
    let flag = std::sync::Arc::clone(&opened);
    let spawned = std::thread::Builder::new()
        .name("upcheck-pipe".into())
        .spawn(move || {
            let result = std::fs::File::open(&path).and_then(|file| {
                flag.store(true, Ordering::SeqCst);
                let mut bytes = Vec::new();
                file.take(max_bytes.saturating_add(1))
                    .read_to_end(&mut bytes)
                    .map(|_| bytes)
            });
            let _ = tx.send(result);
        });
    if let Err(e) = spawned {
        return Err(io_error(display.to_owned(), &e));
    }
    // A zero timeout means no limit, as for the other timeouts.
    let received = if timeout.is_zero() {
        rx.recv()
            .map_err(|_| std::sync::mpsc::RecvTimeoutError::Disconnected)
    } else {
        rx.recv_timeout(timeout)
    };
    match received {
        Ok(Ok(bytes)) => Ok(bytes),
        Ok(Err(e)) => Err(io_error(display.to_owned(), &e)),
        Err(_) => Err(ScanError {
            path: display.to_owned(),
            document: None,
            line: None,
            column: None,
            kind: ErrorKind::Timeout,
            message: if opened.load(Ordering::SeqCst) {
                format!(
                    "a pipe or device still sending after {} s; not read (raise --pipe-timeout)",
                    timeout.as_secs()
                )
            } else {
                format!(
                    "a FIFO that nothing wrote to within {} s; not read (raise --pipe-timeout)",
                    timeout.as_secs()
                )
            },
        }),
    }
}

/// Reads a job's bytes.
pub(crate) fn read(job: FileJob, walk: &WalkOptions) -> Result<(String, Vec<u8>), ScanError> {
    let max_bytes = walk.max_file_bytes;
    let too_large = |display: String, size: Option<u64>| {
        // Tenths of a MiB, in integers: `1024.0`, `2.3`, `64.0`.
        let mib = |n: u64| {
            let tenths = (u128::from(n) * 10 + (1 << 19)) >> 20;
            format!("{}.{}", tenths / 10, tenths % 10)
        };
        ScanError {
            path: display,
            document: None,
            line: None,
            column: None,
            kind: ErrorKind::TooLarge,
            message: match size {
                Some(n) => format!(
                    "{} MiB, over the {} MiB limit on one file; not read (raise it with --max-file-size)",
                    mib(n),
                    mib(max_bytes)
                ),
                None => format!(
                    "more than the {} MiB limit on one file; not read (raise it with --max-file-size)",
                    mib(max_bytes)
                ),
            },
        }
    };
    match job {
        FileJob::Bytes { display, bytes } => {
            let len = bytes.len() as u64;
            if len > max_bytes {
                // One byte over is where a bounded stdin read stopped: its size is unknown.
                let size = (len != max_bytes.saturating_add(1)).then_some(len);
                return Err(too_large(display, size));
            }
            Ok((display, bytes))
        }
        FileJob::Path { display, path } => {
            // One `stat` tells both what the path is and, for a regular file, its size.
            let meta = std::fs::metadata(&path).map_err(|e| io_error(display.clone(), &e))?;
            let bytes = if meta.is_file() || meta.is_dir() {
                // A regular file says its size up front: refuse it before reading a byte.
                if meta.is_file() && meta.len() > max_bytes {
                    return Err(too_large(display, Some(meta.len())));
                }
                let file = std::fs::File::open(&path).map_err(|e| io_error(display.clone(), &e))?;
                // Files that grow while read: never hold more than the limit.
                let capacity = usize::try_from(meta.len()).unwrap_or(0).saturating_add(1);
                let mut bytes = Vec::with_capacity(capacity);
                file.take(max_bytes.saturating_add(1))
                    .read_to_end(&mut bytes)
                    .map_err(|e| io_error(display.clone(), &e))?;
                bytes
            } else {
                read_special(&display, path, max_bytes, walk.pipe_timeout)?
            };
            if bytes.len() as u64 > max_bytes {
                return Err(too_large(display, None));
            }
            Ok((display, bytes))
        }
    }
}

/// A glob pattern that cannot be compiled.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("invalid glob {pattern:?}: {reason}")]
pub struct GlobError {
    /// The pattern as written.
    pub pattern: String,
    /// What is wrong with it.
    pub reason: String,
}

impl GlobError {
    pub(crate) fn new(pattern: &str, e: &globset::Error) -> Self {
        Self {
            pattern: pattern.to_owned(),
            reason: e.to_string(),
        }
    }
}

/// Paths to leave out of directory walks: globs relative to a root (the config file's
/// directory).
#[derive(Clone, Debug)]
pub struct Exclude {
    root: PathBuf,
    cwd: PathBuf,
    patterns: Vec<String>,
    set: GlobSet,
}

impl PartialEq for Exclude {
    fn eq(&self, other: &Self) -> bool {
        (&self.root, &self.cwd, &self.patterns) == (&other.root, &other.cwd, &other.patterns)
    }
}

impl Eq for Exclude {}

impl Exclude {
    /// Globs relative to `root`; relative paths met while walking are relative to `cwd`.
    pub fn new(root: &Path, cwd: &Path, patterns: &[String]) -> Result<Self, GlobError> {
        let mut b = GlobSetBuilder::new();
        for p in patterns {
            b.add(Glob::new(p).map_err(|e| GlobError::new(p, &e))?);
        }
        Ok(Self {
            root: root.to_path_buf(),
            cwd: cwd.to_path_buf(),
            patterns: patterns.to_vec(),
            set: b
                .build()
                .map_err(|e| GlobError::new(&patterns.join(", "), &e))?,
        })
    }

    /// Whether `path` (as walked) is excluded.
    pub fn excludes(&self, path: &Path) -> bool {
        relative_to(&self.root, &self.cwd, path).is_some_and(|rel| self.set.is_match(rel))
    }
}

/// `path` (relative to `cwd`, or absolute) relative to `root`, with `/` separators;
/// `None` when it lies outside `root`. Purely lexical: symbolic links are not resolved.
pub fn relative_to(root: &Path, cwd: &Path, path: &Path) -> Option<String> {
    let full = normalize(&cwd.join(path));
    let rel = full.strip_prefix(normalize(root)).ok()?;
    let parts: Vec<String> = rel
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    Some(parts.join("/"))
}

fn normalize(p: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in p.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                out.pop();
            }
            other => out.push(other.as_os_str()),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)] // tests fail loudly on purpose
    use super::*;

    fn job(path: &Path) -> FileJob {
        FileJob::Path {
            display: display_path(path),
            path: path.to_path_buf(),
        }
    }

    /// A file listed by the walk and gone when its turn to be read comes.
    #[test]
    fn a_file_that_vanished_is_a_not_found_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("gone.yaml");
        std::fs::write(&path, "apiVersion: v1\n").unwrap();
        let listed = job(&path);
        std::fs::remove_file(&path).unwrap();
        let e = read(listed, &WalkOptions::default()).unwrap_err();
        assert_eq!(e.kind, ErrorKind::NotFound);
        assert_eq!(e.message, "no such file or directory");
        assert_eq!(e.path, display_path(&path));
    }

    /// A file that grew past the limit after its size was taken (a device says 0 and never
    /// ends): reading stops one byte past the limit.
    #[test]
    fn a_file_that_grows_past_the_limit_is_cut_off() {
        let walk = WalkOptions {
            max_file_bytes: 1000,
            ..WalkOptions::default()
        };
        let e = read(job(Path::new("/dev/zero")), &walk).unwrap_err();
        assert_eq!(e.kind, ErrorKind::TooLarge);
        assert_eq!(
            e.message,
            "more than the 0.0 MiB limit on one file; not read (raise it with --max-file-size)"
        );
        // A file that grows while it is read is bounded the same way.
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("growing.yaml");
        std::fs::write(&path, "# x\n".repeat(100)).unwrap();
        let writer = {
            let path = path.clone();
            std::thread::spawn(move || {
                use std::io::Write;
                let mut f = std::fs::OpenOptions::new().append(true).open(path).unwrap();
                for _ in 0..2000 {
                    f.write_all(&[b'#'; 512]).unwrap();
                }
            })
        };
        let result = read(job(&path), &walk);
        writer.join().unwrap();
        match result {
            Ok((_, bytes)) => assert!(bytes.len() <= 1000),
            Err(e) => assert_eq!(e.kind, ErrorKind::TooLarge),
        }
    }
}
