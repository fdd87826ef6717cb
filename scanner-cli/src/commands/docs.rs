//! `upcheck completions` and `upcheck man`: generated from the clap definitions, so they never
//! drift from the real flags.

use anyhow::{Context, Result};
use clap::CommandFactory;

use crate::args::{Cli, CompletionsArgs, ManArgs};

pub fn completions(args: &CompletionsArgs) -> Result<u8> {
    let mut out = Vec::new();
    clap_complete::generate(args.shell, &mut Cli::command(), "upcheck", &mut out);
    write_stdout(&out)
}

pub fn man(args: &ManArgs) -> Result<u8> {
    let cmd = Cli::command();
    if let Some(dir) = &args.dir {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
        clap_mangen::generate_to(cmd, dir)
            .with_context(|| format!("cannot write man pages to {}", dir.display()))?;
        return Ok(crate::exit::OK);
    }
    let mut out = Vec::new();
    clap_mangen::Man::new(cmd)
        .render(&mut out)
        .context("cannot render the man page")?;
    write_stdout(&out)
}

fn write_stdout(bytes: &[u8]) -> Result<u8> {
    super::write_stdout(bytes)?;
    Ok(crate::exit::OK)
}
