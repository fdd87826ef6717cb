//! The document reader on arbitrary bytes.
//!
//! Oracles: nothing panics or hangs; the fast line-based reader and the full YAML parser give
//! the same documents (objects with their apiVersion, kind, name, namespace, item and line,
//! spans, errors and warnings); every span lies inside the text; and a full scan of the same
//! bytes (encoding detection, BOMs, NULs, invalid UTF-8) reports instead of failing.
#![no_main]

use libfuzzer_sys::fuzz_target;
use scanner_core::parse::{parse_documents, parse_documents_full};
use scanner_core::{Catalog, Input, KubeVersion, ScanSettings, Scanner, Targets};

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let fast = parse_documents(text);
        let full = parse_documents_full(text);
        assert!(
            fast == full,
            "fast and full readers disagree\nfast: {fast:#?}\nfull: {full:#?}\ntext: {text:?}"
        );
        for doc in &fast {
            assert!(doc.span.start <= doc.span.end && doc.span.end <= text.len());
            for object in &doc.objects {
                assert!(object.line >= 1);
                if let Some(span) = &object.api_version_span {
                    // The span is what an in-place rewrite replaces: it must be the value.
                    assert!(span.start <= span.end && span.end <= text.len());
                    assert_eq!(text.get(span.clone()), Some(object.api_version.as_str()));
                }
            }
        }
    }
    // The whole path a file takes, bytes first.
    let settings = ScanSettings::new(Targets::kubernetes(KubeVersion::new(1, 25), None));
    let report = Scanner::new(Catalog::embedded(), settings).scan(vec![Input::Bytes {
        name: "fuzz.yaml".into(),
        bytes: data.to_vec(),
    }]);
    for finding in &report.findings {
        assert_eq!(finding.location.path, "fuzz.yaml");
    }
});
