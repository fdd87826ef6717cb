//! `upcheck version`: the tool version and what the catalog in use covers.

use std::io::Write;

use anyhow::Result;

use crate::args::VersionArgs;
use crate::{Stderr, exit, setup};

pub fn run(args: &VersionArgs, err: &mut Stderr) -> Result<u8> {
    let loaded = setup::load(&args.catalog)?;
    let catalog = &*loaded.catalog;
    let mut out = std::io::stdout().lock();
    writeln!(out, "upcheck {}", env!("CARGO_PKG_VERSION"))?;
    writeln!(
        out,
        "catalog {} ({})",
        catalog.meta().data_version,
        catalog.meta().sources.join(", ")
    )?;
    for c in &catalog.meta().components {
        let rows: Vec<_> = catalog
            .entries()
            .iter()
            .filter(|e| e.component == c.name)
            .collect();
        let planned = rows.iter().filter_map(|e| e.removed_in).max();
        let newest = c
            .newest_release
            .map_or_else(|| "unknown".to_owned(), |v| v.to_string());
        match planned {
            Some(p) if c.newest_release.is_some_and(|n| p > n) => {
                writeln!(
                    out,
                    "  {} ({}): releases up to {newest}, planned removals up to {p}, {} rows",
                    c.title,
                    c.name,
                    rows.len()
                )?;
            }
            _ => writeln!(
                out,
                "  {} ({}): up to {newest}, {} rows",
                c.title,
                c.name,
                rows.len()
            )?,
        }
    }
    for n in &loaded.notes {
        err.note(n);
    }
    Ok(exit::OK)
}
