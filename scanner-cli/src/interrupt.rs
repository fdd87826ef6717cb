//! Ctrl-C (SIGINT) and SIGTERM: the command stops at once with exit code 130 and reports
//! nothing, so a scan cut short is never read as a complete one. Once a finished report is
//! being written, a first interrupt lets it finish (that takes milliseconds) and the command
//! ends as it would have; a second one stops at once.

use std::io::Write;
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};

const RUNNING: u8 = 0;
const WRITING: u8 = 1;
const WRITING_INTERRUPTED: u8 = 2;
const STOPPING: u8 = 3;

static STATE: AtomicU8 = AtomicU8::new(RUNNING);
/// A watch has no report to lose: an interrupt is how it is meant to end.
static WATCHING: AtomicBool = AtomicBool::new(false);

/// An exporter (`upcheck serve`) holds no report that an interrupt could cut short: stopping
/// is its normal end, so it exits 0.
static SERVING: AtomicBool = AtomicBool::new(false);

/// Marks the command as an exporter: an interrupt (SIGTERM from the kubelet) ends it with 0.
pub fn serving() {
    SERVING.store(true, Ordering::SeqCst);
}

/// Marks the command as a watch (`snapshot watch`): an interrupt ends it with 130 and says so
/// plainly.
pub fn watching() {
    WATCHING.store(true, Ordering::SeqCst);
}

/// Installs the handler. Failing to install one (a host that already did) leaves the default
/// behaviour, which also stops without a report.
pub fn install() {
    let _ = ctrlc::set_handler(on_interrupt);
}

fn on_interrupt() {
    // One atomic step decides, so the main thread cannot start writing between the check and
    // the exit.
    let before = STATE.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |s| match s {
        RUNNING | WRITING_INTERRUPTED => Some(STOPPING),
        WRITING => Some(WRITING_INTERRUPTED),
        _ => None,
    });
    if before == Ok(RUNNING) && SERVING.load(Ordering::SeqCst) {
        let _ = writeln!(std::io::stderr(), "upcheck: interrupted; stopped serving");
        std::process::exit(i32::from(crate::exit::OK));
    }
    let message = match before {
        Ok(RUNNING) if WATCHING.load(Ordering::SeqCst) => "upcheck: interrupted; stopped watching",
        Ok(RUNNING) => "upcheck: interrupted; the scan was stopped and nothing was reported",
        Ok(WRITING_INTERRUPTED) => "upcheck: interrupted again while writing the report",
        // The first interrupt while writing lets the report finish; one while already
        // stopping has nothing to add.
        Ok(_) | Err(_) => return,
    };
    let _ = writeln!(std::io::stderr(), "{message}");
    std::process::exit(i32::from(crate::exit::INTERRUPTED));
}

/// Marks the start of writing a finished report. When an interrupt is already stopping the
/// process, this waits for it to end rather than write anything.
pub fn begin_output() {
    if let Err(STOPPING) =
        STATE.compare_exchange(RUNNING, WRITING, Ordering::SeqCst, Ordering::SeqCst)
    {
        loop {
            // The handler thread is exiting the process.
            std::thread::park();
        }
    }
}
