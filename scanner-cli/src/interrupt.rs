//! Ctrl-C (SIGINT) and SIGTERM: the command stops at once and reports nothing, so a scan cut
//! short is never read as a complete one. Once the report is being written, a first interrupt
//! lets it finish (that takes milliseconds) and the exit code still says "interrupted"; a
//! second one stops at once.

use std::io::Write;
use std::sync::atomic::{AtomicU8, Ordering};

const RUNNING: u8 = 0;
const WRITING: u8 = 1;
const STOPPING: u8 = 2;
const INTERRUPTED_WHILE_WRITING: u8 = 3;

static STATE: AtomicU8 = AtomicU8::new(RUNNING);

/// Installs the handler. Failing to install one (a host that already did) leaves the default
/// behaviour, which also stops without a report.
pub fn install() {
    let _ = ctrlc::set_handler(on_interrupt);
}

fn on_interrupt() {
    if STATE
        .compare_exchange(
            WRITING,
            INTERRUPTED_WHILE_WRITING,
            Ordering::SeqCst,
            Ordering::SeqCst,
        )
        .is_ok()
    {
        return;
    }
    STATE.store(STOPPING, Ordering::SeqCst);
    let _ = writeln!(
        std::io::stderr(),
        "upcheck: interrupted; the scan was stopped and nothing was reported"
    );
    std::process::exit(i32::from(crate::exit::INTERRUPTED));
}

/// Marks the start of writing results. When an interrupt is already stopping the process,
/// this waits for it to end rather than write a partial report.
pub fn begin_output() {
    match STATE.compare_exchange(RUNNING, WRITING, Ordering::SeqCst, Ordering::SeqCst) {
        Ok(_) | Err(WRITING | INTERRUPTED_WHILE_WRITING) => {}
        Err(_) => loop {
            // The handler thread is exiting the process.
            std::thread::park();
        },
    }
}

/// Whether an interrupt arrived while the results were being written.
pub fn interrupted() -> bool {
    STATE.load(Ordering::SeqCst) == INTERRUPTED_WHILE_WRITING
}
