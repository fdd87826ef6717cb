//! A one-line progress indicator on stderr, for long scans on a terminal only.

use std::io::Write;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

/// Counters shown on one line, redrawn at most a few times a second.
#[derive(Debug, Default)]
pub struct Progress {
    enabled: bool,
    total: AtomicU64,
    done: AtomicU64,
    objects: AtomicU64,
    drawn: AtomicBool,
}

impl Progress {
    /// A progress line, drawn only when `enabled`.
    pub fn new(enabled: bool) -> Self {
        Self {
            enabled,
            ..Self::default()
        }
    }

    pub fn set_total(&self, n: u64) {
        self.total.store(n, Ordering::Relaxed);
    }

    pub fn resource_done(&self) {
        self.done.fetch_add(1, Ordering::Relaxed);
    }

    pub fn objects(&self, n: u64) {
        self.objects.fetch_add(n, Ordering::Relaxed);
    }

    /// Redraws the line.
    pub fn draw(&self) {
        if !self.enabled {
            return;
        }
        let mut err = std::io::stderr().lock();
        let _ = write!(
            err,
            "\r\x1b[2Kupcheck: {}/{} resources listed, {} objects read",
            self.done.load(Ordering::Relaxed),
            self.total.load(Ordering::Relaxed),
            self.objects.load(Ordering::Relaxed)
        );
        let _ = err.flush();
        self.drawn.store(true, Ordering::Relaxed);
    }

    /// Erases the line, so the report and diagnostics start on a clean line.
    pub fn clear(&self) {
        if self.enabled && self.drawn.load(Ordering::Relaxed) {
            let mut err = std::io::stderr().lock();
            let _ = write!(err, "\r\x1b[2K");
            let _ = err.flush();
        }
    }

    pub fn enabled(&self) -> bool {
        self.enabled
    }
}
