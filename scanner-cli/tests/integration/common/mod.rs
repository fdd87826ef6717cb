//! Runs the `upcheck` binary for the end-to-end tests.
#![allow(dead_code, clippy::unwrap_used)] // each test file uses part of it; tests fail loudly

pub mod readiness;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// What a run printed and returned.
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    /// Exit code, stdout and stderr together, for snapshots.
    pub fn transcript(&self) -> String {
        format!(
            "exit: {}\n--- stdout\n{}--- stderr\n{}",
            self.code, self.stdout, self.stderr
        )
    }
}

/// The workspace root: fixture paths are given relative to it, so they print relative.
pub fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

/// A cache directory no test writes to, so no run sees a catalog fetched by someone else.
pub fn empty_cache() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).join("no-catalog-cache")
}

/// The first retry backoff of every run, in ms (200 by default): the recorded cluster has an
/// aggregated API that answers 503 in every scan, and full backoff cost each scan a second.
pub const RETRY_BACKOFF_MS: u64 = 20;

/// The date every run is told is today (`UPCHECK_TODAY`): support windows (PATH003) and the
/// plan's end-of-life notes depend on it, and tests must not change with the calendar.
pub const TODAY: &str = "2026-12-01";

/// Runs upcheck in `dir` with `args`, optional stdin, and extra environment variables.
pub fn upcheck_with(dir: &Path, args: &[&str], stdin: Option<&str>, env: &[(&str, &Path)]) -> Run {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_upcheck"));
    cmd.args(args)
        .current_dir(dir)
        .env_remove("NO_COLOR")
        .env_remove("UPCHECK_LOG")
        .env("COLUMNS", "80")
        .env("UPCHECK_CACHE_DIR", empty_cache())
        .env("UPCHECK_TODAY", crate::common::TODAY)
        .env("UPCHECK_RETRY_BACKOFF_MS", RETRY_BACKOFF_MS.to_string())
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().expect("upcheck runs");
    if let Some(input) = stdin {
        // upcheck may stop reading early (a stdin over --max-file-size): that is not a failure.
        if let Err(e) = child.stdin.take().unwrap().write_all(input.as_bytes()) {
            assert_eq!(e.kind(), std::io::ErrorKind::BrokenPipe, "{e}");
        }
    }
    let out = child.wait_with_output().unwrap();
    Run {
        code: out.status.code().expect("exited normally"),
        stdout: String::from_utf8(out.stdout).unwrap(),
        stderr: String::from_utf8(out.stderr).unwrap(),
    }
}

/// Runs upcheck from the workspace root.
pub fn upcheck(args: &[&str]) -> Run {
    upcheck_with(&workspace(), args, None, &[])
}

/// Starts upcheck with `args` (stdin kept open and empty), waits until `ready(pid)` says it is
/// busy (the handler is installed by then), sends it SIGINT, and returns how it ended and how
/// long it took to stop once signalled.
pub fn interrupted(args: &[&str], ready: &dyn Fn(u32) -> bool) -> (Run, std::time::Duration) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_upcheck"))
        .args(args)
        .current_dir(workspace())
        .env("UPCHECK_CACHE_DIR", empty_cache())
        .env("UPCHECK_TODAY", crate::common::TODAY)
        .env("UPCHECK_RETRY_BACKOFF_MS", RETRY_BACKOFF_MS.to_string())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("upcheck runs");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while !ready(child.id()) {
        assert!(
            std::time::Instant::now() < deadline,
            "upcheck never got busy"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let signalled = std::time::Instant::now();
    let kill = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(kill.success());
    let stdin = child.stdin.take();
    let out = child.wait_with_output().unwrap();
    drop(stdin);
    (
        Run {
            code: out.status.code().expect("exited, not killed by the signal"),
            stdout: String::from_utf8(out.stdout).unwrap(),
            stderr: String::from_utf8(out.stderr).unwrap(),
        },
        signalled.elapsed(),
    )
}

/// Whether process `pid` is blocked reading a pipe (its stdin).
pub fn reading_a_pipe(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/wchan")).is_ok_and(|w| w.contains("pipe"))
}

/// Every `code` in a JSON output is a code of the one registry, so `upcheck explain` answers
/// for it. Returns how many codes were seen (callers assert there were some).
pub fn assert_codes_registered(v: &serde_json::Value) -> usize {
    fn walk(v: &serde_json::Value, seen: &mut usize) {
        match v {
            serde_json::Value::Object(m) => {
                for (k, x) in m {
                    if k == "code"
                        && let Some(code) = x.as_str()
                    {
                        assert!(
                            scanner_core::registry::find(code).is_some(),
                            "{code} is emitted but not in the registry: upcheck explain {code} fails"
                        );
                        *seen += 1;
                    }
                    walk(x, seen);
                }
            }
            serde_json::Value::Array(a) => a.iter().for_each(|x| walk(x, seen)),
            _ => {}
        }
    }
    let mut seen = 0;
    walk(v, &mut seen);
    seen
}
