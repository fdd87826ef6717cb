//! Helm 3 release records.
//!
//! Helm stores each revision of a release as a Secret of type `helm.sh/release.v1` (the
//! default driver) or a `ConfigMap` labelled `owner=helm`. The record is
//! `base64(gzip(JSON))`; in a Secret those bytes are the Secret's data, so the API shows them
//! base64-encoded once more. Only the release's identity and its rendered manifest are kept:
//! values, chart files and notes may hold secrets and never leave this module, not even in
//! error messages.

use std::io::Read as _;

use base64::Engine as _;
use serde::{Deserialize, Serialize};
use serde_json::Value;

pub use crate::report::Storage;

/// The Secret `type` of Helm 3 release records.
pub const HELM_SECRET_TYPE: &str = "helm.sh/release.v1";

/// Largest decompressed release record accepted. Helm records live in one Secret (at most
/// 1 MiB, compressed); a record that inflates past this is not a release but a gzip bomb.
pub const MAX_RELEASE_BYTES: u64 = 64 * 1024 * 1024;

/// One revision of a Helm release.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct HelmRelease {
    /// Release name.
    pub name: String,
    /// Namespace the release was installed into.
    pub namespace: String,
    /// Revision number (`helm history`).
    pub revision: u64,
    /// `deployed`, `superseded`, `failed`, `uninstalled`, `pending-upgrade`, ...
    pub status: String,
    /// `chart-version`, as `helm list` shows it, when the record has chart metadata.
    pub chart: Option<String>,
    /// The chart's `appVersion`, when set.
    pub app_version: Option<String>,
    /// The storage object: kind and `namespace/name`.
    pub storage: Storage,
    /// `namespace/name` of the storage object.
    pub storage_object: String,
    /// The rendered manifest Helm applied.
    #[serde(skip)]
    pub manifest: String,
}

/// Why a release record could not be read. Names the storage object, never its content.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("Helm release record {object}: {reason}")]
pub struct HelmError {
    /// `namespace/name` of the Secret or `ConfigMap`.
    pub object: String,
    /// What was wrong.
    pub reason: String,
}

#[derive(Deserialize)]
struct RawRelease {
    name: Option<String>,
    namespace: Option<String>,
    version: Option<u64>,
    info: Option<RawInfo>,
    chart: Option<RawChart>,
    manifest: Option<String>,
}

#[derive(Deserialize)]
struct RawInfo {
    status: Option<String>,
}

#[derive(Deserialize)]
struct RawChart {
    metadata: Option<RawChartMeta>,
}

#[derive(Deserialize)]
struct RawChartMeta {
    name: Option<String>,
    version: Option<String>,
    #[serde(rename = "appVersion")]
    app_version: Option<String>,
}

/// Whether a Secret or `ConfigMap` (as JSON from the API) is a Helm release record.
pub fn is_release_record(object: &Value) -> Option<Storage> {
    let kind = object.get("kind").and_then(Value::as_str);
    let secret_type = object.get("type").and_then(Value::as_str);
    let owner = object
        .pointer("/metadata/labels/owner")
        .and_then(Value::as_str);
    if secret_type == Some(HELM_SECRET_TYPE) {
        return Some(Storage::Secret);
    }
    // List items carry no kind; a ConfigMap has no `type`, a Secret always has one.
    if owner == Some("helm") && secret_type.is_none() && kind.is_none_or(|k| k == "ConfigMap") {
        return Some(Storage::ConfigMap);
    }
    None
}

/// Decodes one release record (a Secret or `ConfigMap` as returned by the API).
pub fn decode_release(object: &Value, storage: Storage) -> Result<HelmRelease, HelmError> {
    let meta = |key: &str| {
        object
            .get("metadata")
            .and_then(|m| m.get(key))
            .and_then(Value::as_str)
            .unwrap_or("")
    };
    let storage_object = format!("{}/{}", meta("namespace"), meta("name"));
    let fail = |reason: String| HelmError {
        object: storage_object.clone(),
        reason,
    };

    let field = object
        .pointer("/data/release")
        .and_then(Value::as_str)
        .ok_or_else(|| fail("no data.release".to_owned()))?;
    let engine = base64::engine::general_purpose::STANDARD;
    let payload = match storage {
        // Secret data is base64 on the wire; the bytes inside are Helm's own base64 text.
        Storage::Secret => {
            let inner = engine
                .decode(field)
                .map_err(|_| fail("data.release is not base64".to_owned()))?;
            engine
                .decode(inner.trim_ascii())
                .map_err(|_| fail("the release payload is not base64".to_owned()))?
        }
        Storage::ConfigMap => engine
            .decode(field.trim())
            .map_err(|_| fail("data.release is not base64".to_owned()))?,
    };
    let json = inflate(&payload).map_err(fail)?;
    let raw: RawRelease = serde_json::from_slice(&json).map_err(|e| {
        fail(format!(
            "the release is not Helm 3 JSON ({})",
            json_error_kind(&e)
        ))
    })?;

    let label = |key: &str| {
        object
            .pointer(&format!("/metadata/labels/{key}"))
            .and_then(Value::as_str)
            .map(str::to_owned)
    };
    let name = raw
        .name
        .or_else(|| label("name"))
        .ok_or_else(|| fail("the release has no name".to_owned()))?;
    let revision = raw
        .version
        .or_else(|| label("version").and_then(|v| v.parse().ok()))
        .ok_or_else(|| fail("the release has no revision".to_owned()))?;
    let namespace = raw
        .namespace
        .filter(|n| !n.is_empty())
        .unwrap_or_else(|| meta("namespace").to_owned());
    let status = raw
        .info
        .and_then(|i| i.status)
        .or_else(|| label("status"))
        .unwrap_or_else(|| "unknown".to_owned());
    let chart_meta = raw.chart.and_then(|c| c.metadata);
    let chart = chart_meta
        .as_ref()
        .and_then(|m| match (&m.name, &m.version) {
            (Some(n), Some(v)) => Some(format!("{n}-{v}")),
            (Some(n), None) => Some(n.clone()),
            _ => None,
        });
    Ok(HelmRelease {
        name,
        namespace,
        revision,
        status,
        chart,
        app_version: chart_meta.and_then(|m| m.app_version),
        storage,
        storage_object: storage_object.clone(),
        manifest: raw.manifest.unwrap_or_default(),
    })
}

/// Keeps the revisions a scan should look at: by default, per release, the newest deployed
/// revision (or the newest revision when none is deployed, e.g. a failed first install);
/// with `all_revisions`, every one. Sorted by namespace, name, revision.
pub fn select_revisions(mut releases: Vec<HelmRelease>, all_revisions: bool) -> Vec<HelmRelease> {
    releases.sort_by(|a, b| {
        (&a.namespace, &a.name, a.revision, a.storage).cmp(&(
            &b.namespace,
            &b.name,
            b.revision,
            b.storage,
        ))
    });
    if all_revisions {
        return releases;
    }
    let mut kept: Vec<HelmRelease> = Vec::new();
    let mut group: Vec<HelmRelease> = Vec::new();
    let flush = |group: &mut Vec<HelmRelease>, kept: &mut Vec<HelmRelease>| {
        let pick = group
            .iter()
            .rposition(|r| r.status == "deployed")
            .unwrap_or(group.len().saturating_sub(1));
        if let Some(r) = group.drain(..).nth(pick) {
            kept.push(r);
        }
    };
    for r in releases {
        if group
            .last()
            .is_some_and(|g| g.namespace != r.namespace || g.name != r.name)
        {
            flush(&mut group, &mut kept);
        }
        group.push(r);
    }
    flush(&mut group, &mut kept);
    kept
}

/// Gunzips a payload (Helm writes gzip; very old records may be plain JSON), bounded by
/// [`MAX_RELEASE_BYTES`].
fn inflate(payload: &[u8]) -> Result<Vec<u8>, String> {
    if !payload.starts_with(&[0x1f, 0x8b]) {
        return Ok(payload.to_vec());
    }
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(payload)
        .take(MAX_RELEASE_BYTES + 1)
        .read_to_end(&mut out)
        .map_err(|e| format!("the release payload is not valid gzip ({e})"))?;
    if out.len() as u64 > MAX_RELEASE_BYTES {
        return Err(format!(
            "the release inflates past {} MiB",
            MAX_RELEASE_BYTES / 1024 / 1024
        ));
    }
    Ok(out)
}

/// The category of a JSON error: its own text can quote the payload, which may hold secrets.
fn json_error_kind(e: &serde_json::Error) -> &'static str {
    match e.classify() {
        serde_json::error::Category::Io => "I/O error",
        serde_json::error::Category::Syntax => "syntax error",
        serde_json::error::Category::Data => "unexpected field types",
        serde_json::error::Category::Eof => "truncated",
    }
}
