//! A one-line progress indicator on stderr, for long scans on a terminal only.

use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, mpsc};
use std::time::Duration;

use scanner_core::live::Progress as Counters;

/// The scan's counters, shown on one line, redrawn at most a few times a second.
#[derive(Debug, Default)]
pub struct Progress {
    enabled: bool,
    counters: Arc<Counters>,
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

    /// The counters the scan advances (give them to `LiveSettings::progress`).
    pub fn counters(&self) -> Arc<Counters> {
        Arc::clone(&self.counters)
    }

    /// Runs `work` while a thread redraws the line every 200 ms, then erases it, so the
    /// report and diagnostics start on a clean line.
    pub fn while_running<T>(&self, work: impl FnOnce() -> T) -> T {
        if !self.enabled {
            return work();
        }
        let (stop, stopped) = mpsc::channel::<()>();
        let result = std::thread::scope(|s| {
            s.spawn(move || {
                loop {
                    self.draw();
                    match stopped.recv_timeout(Duration::from_millis(200)) {
                        Err(mpsc::RecvTimeoutError::Timeout) => {}
                        _ => break,
                    }
                }
            });
            let result = work();
            let _ = stop.send(());
            result
        });
        self.clear();
        result
    }

    /// Redraws the line.
    fn draw(&self) {
        let mut err = std::io::stderr().lock();
        let _ = write!(
            err,
            "\r\x1b[2Kupcheck: {}/{} resources listed, {} objects read",
            self.counters.done(),
            self.counters.total(),
            self.counters.objects()
        );
        let _ = err.flush();
        self.drawn.store(true, Ordering::Relaxed);
    }

    /// Erases the line.
    fn clear(&self) {
        if self.drawn.load(Ordering::Relaxed) {
            let mut err = std::io::stderr().lock();
            let _ = write!(err, "\r\x1b[2K");
            let _ = err.flush();
        }
    }
}
