//! The Helm release decoder on arbitrary input, at three depths chosen by the first byte:
//! the storage object itself (JSON), the release JSON inside a well-formed Secret, and the
//! payload bytes (gzip or not) inside a well-formed Secret or ConfigMap.
//!
//! Oracles: nothing panics or allocates without bound (gzip bombs stop at the limit); a
//! well-formed release with a name and a revision always decodes to them.
#![no_main]

use std::io::Write;

use base64::Engine;
use libfuzzer_sys::fuzz_target;
use scanner_core::live::helm::{Storage, decode_release, is_release_record};
use serde_json::{Value, json};

fn secret(payload: &[u8]) -> Value {
    let b64 = base64::engine::general_purpose::STANDARD;
    json!({
        "kind": "Secret",
        "type": "helm.sh/release.v1",
        "metadata": {"name": "sh.helm.release.v1.web.v1", "namespace": "apps",
                     "labels": {"owner": "helm", "name": "web", "version": "1"}},
        "data": {"release": b64.encode(b64.encode(payload))},
    })
}

fn configmap(payload: &[u8]) -> Value {
    let b64 = base64::engine::general_purpose::STANDARD;
    json!({
        "kind": "ConfigMap",
        "metadata": {"name": "web.v1", "namespace": "apps",
                     "labels": {"owner": "helm", "name": "web", "version": "1"}},
        "data": {"release": b64.encode(payload)},
    })
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    encoder.write_all(bytes).expect("in memory");
    encoder.finish().expect("in memory")
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    match mode % 4 {
        0 => {
            let Ok(object) = serde_json::from_slice::<Value>(rest) else {
                return;
            };
            if let Some(storage) = is_release_record(&object) {
                let _ = decode_release(&object, storage);
            }
            let _ = decode_release(&object, Storage::Secret);
            let _ = decode_release(&object, Storage::ConfigMap);
        }
        1 => {
            let decoded = decode_release(&secret(&gzip(rest)), Storage::Secret);
            // A release that names itself and its revision decodes to them.
            if let Ok(Value::Object(raw)) = serde_json::from_slice::<Value>(rest)
                && let (Some(Value::String(name)), Some(version)) =
                    (raw.get("name"), raw.get("version").and_then(Value::as_u64))
                && serde_json::from_slice::<serde_json::Map<String, Value>>(rest).is_ok()
            {
                if let Ok(release) = &decoded {
                    assert_eq!(&release.name, name);
                    assert_eq!(u64::from(release.revision), version);
                }
            }
        }
        2 => {
            let _ = decode_release(&secret(rest), Storage::Secret);
        }
        _ => {
            let _ = decode_release(&configmap(rest), Storage::ConfigMap);
        }
    }
});
