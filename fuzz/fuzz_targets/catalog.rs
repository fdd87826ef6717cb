//! The catalog loader (`--catalog FILE`) on arbitrary text.
//!
//! Oracles: nothing panics; a file that loads can be exported and loaded again to the same
//! rows (what `upcheck catalog export` writes, `--catalog` reads back); and for every row the
//! verdict never goes back from removed to deprecated to served as the target version grows.
#![no_main]

use api_catalog::Catalog;
use libfuzzer_sys::fuzz_target;

#[path = "../monotonic.rs"]
mod monotonic;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(catalog) = Catalog::from_yaml("fuzz.yaml", text) else {
        return;
    };
    let exported = serde_json::to_string(&catalog.export(|_| true)).expect("export serializes");
    let again = Catalog::from_yaml("fuzz.yaml", &exported)
        .unwrap_or_else(|e| panic!("an exported catalog must load again: {e}\n{exported}"));
    assert_eq!(catalog.entries(), again.entries());

    monotonic::check(&catalog, |_| true);
});
