//! The Pluto `versions.yaml` reader (`--additional-versions`) on arbitrary text, on top of
//! the embedded catalog as the CLI uses it.
//!
//! Oracles: nothing panics; a file that is accepted builds a catalog whose verdicts are
//! monotonic in the target version.
#![no_main]

use std::sync::OnceLock;

use api_catalog::CatalogBuilder;
use libfuzzer_sys::fuzz_target;

#[path = "../monotonic.rs"]
mod monotonic;

fn embedded() -> &'static CatalogBuilder {
    static BUILDER: OnceLock<CatalogBuilder> = OnceLock::new();
    BUILDER.get_or_init(CatalogBuilder::embedded)
}

fn embedded_catalog() -> &'static api_catalog::Catalog {
    static CATALOG: OnceLock<api_catalog::Catalog> = OnceLock::new();
    CATALOG.get_or_init(|| {
        embedded()
            .clone()
            .build()
            .expect("the embedded catalog builds")
    })
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let mut builder = embedded().clone();
    if builder.add_pluto("versions.yaml", text).is_err() {
        return;
    }
    if let Ok(catalog) = builder.build() {
        // Only the rows the file added or replaced: the embedded ones have their own tests.
        let base = embedded_catalog();
        monotonic::check(&catalog, |e| {
            base.entry(&e.gvk.api_version, &e.gvk.kind) != Some(e)
        });
    }
});
