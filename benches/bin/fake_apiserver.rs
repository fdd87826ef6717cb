//! Serves a generated cluster for measuring `upcheck cluster` from outside (peak memory with
//! `/usr/bin/time`): `fake-apiserver OBJECTS DIR` writes DIR/kubeconfig, prints it, and serves
//! until killed.
#![allow(clippy::print_stderr, clippy::print_stdout)] // a command-line tool: the path on stdout, usage on stderr

use std::path::PathBuf;

use upcheck_test_server::{Scenario, Server};

fn main() -> std::io::Result<()> {
    let mut args = std::env::args().skip(1);
    let (Some(objects), Some(dir)) = (args.next(), args.next()) else {
        eprintln!("usage: fake-apiserver OBJECTS DIR");
        std::process::exit(2);
    };
    let Ok(objects) = objects.parse::<usize>() else {
        eprintln!("fake-apiserver: OBJECTS must be a number, not {objects:?}");
        std::process::exit(2);
    };
    let dir = PathBuf::from(dir);
    std::fs::create_dir_all(&dir)?;
    let server = Server::generated(objects, Scenario::default())?;
    let kubeconfig = server.kubeconfig(&dir)?;
    println!("{}", kubeconfig.display());
    loop {
        std::thread::park();
    }
}
