//! Counters a live scan advances as it goes, for a progress display the caller draws.

use std::sync::atomic::{AtomicU64, Ordering};

/// How far a live scan has come. Share it (in an `Arc`) through
/// [`LiveSettings::progress`](super::LiveSettings::progress) and read it from another thread
/// or task while the scan runs.
#[derive(Debug, Default)]
pub struct Progress {
    total: AtomicU64,
    done: AtomicU64,
    objects: AtomicU64,
}

impl Progress {
    /// Counters at zero.
    pub fn new() -> Self {
        Self::default()
    }

    pub(crate) fn set_total(&self, n: u64) {
        self.total.store(n, Ordering::Relaxed);
    }

    pub(crate) fn resource_done(&self) {
        self.done.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn add_objects(&self, n: u64) {
        self.objects.fetch_add(n, Ordering::Relaxed);
    }

    /// Resources the scan will list for evidence (known once discovery is done).
    pub fn total(&self) -> u64 {
        self.total.load(Ordering::Relaxed)
    }

    /// Resources listed completely so far.
    pub fn done(&self) -> u64 {
        self.done.load(Ordering::Relaxed)
    }

    /// Objects read so far.
    pub fn objects(&self) -> u64 {
        self.objects.load(Ordering::Relaxed)
    }
}
