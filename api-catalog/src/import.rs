//! Turns the reviewed lifecycle CSV files into the embedded catalog YAML.
//!
//! The CSV files under `data/source/` are the facts as collected (see `data/SCHEMA.md` for
//! their provenance). The embedded `data/kubernetes.yaml` is generated from them, so that every
//! derived value (replacement availability, links) is computed one way and reviewed as data.
//! Regenerate with `cargo run -p api-catalog --example regenerate`; a test fails when the
//! committed file is stale.

use std::collections::HashMap;
use std::fmt::Write as _;

use crate::error::ImportError;
use crate::version::KubeVersion;

/// Releases whose removals the official Deprecated API Migration Guide documents in a section
/// of their own (anchor `#v1-NN`).
const GUIDE_RELEASES: &[KubeVersion] = &[
    KubeVersion::new(1, 16),
    KubeVersion::new(1, 22),
    KubeVersion::new(1, 25),
    KubeVersion::new(1, 26),
    KubeVersion::new(1, 27),
    KubeVersion::new(1, 29),
    KubeVersion::new(1, 32),
];
const GUIDE: &str = "https://kubernetes.io/docs/reference/using-api/deprecation-guide/";
const POLICY: &str = "https://kubernetes.io/docs/reference/using-api/deprecation-policy/";
const REFERENCE: &str = "https://kubernetes.io/docs/reference/kubernetes-api/";

/// The source files of the built-in Kubernetes catalog.
#[derive(Debug, Clone, Copy)]
pub struct KubernetesSources<'a> {
    /// `kubernetes-apis.csv`: one row per group/version/kind.
    pub apis_csv: &'a str,
    /// `kubernetes-releases.csv`: release and end-of-life dates per minor.
    pub releases_csv: &'a str,
    /// `served-without-lifecycle.csv`: group/versions served without lifecycle data, which
    /// must not be reported as unknown.
    pub served_without_lifecycle_csv: &'a str,
    /// The catalog data version to stamp into the output.
    pub data_version: &'a str,
}

struct Row<'a> {
    group: &'a str,
    version: &'a str,
    kind: &'a str,
    introduced: Option<KubeVersion>,
    deprecated: Option<KubeVersion>,
    removed: Option<KubeVersion>,
    replacement: Option<(String, &'a str)>,
    source: &'a str,
}

fn api_version(group: &str, version: &str) -> String {
    if group.is_empty() {
        version.to_owned()
    } else {
        format!("{group}/{version}")
    }
}

fn parse_version(
    origin: &str,
    line: usize,
    field: &str,
    cell: &str,
) -> Result<Option<KubeVersion>, ImportError> {
    if cell.is_empty() {
        return Ok(None);
    }
    cell.parse().map(Some).map_err(|e| ImportError {
        origin: origin.to_owned(),
        line,
        reason: format!("column {field}: {e}"),
    })
}

/// Splits a header-checked CSV (no quoting, as `data/SCHEMA.md` specifies) into rows of cells.
fn csv_rows<'a>(
    origin: &str,
    text: &'a str,
    header: &str,
) -> Result<Vec<(usize, Vec<&'a str>)>, ImportError> {
    let mut lines = text.lines().enumerate();
    let columns = header.split(',').count();
    match lines.next() {
        Some((_, first)) if first.trim_end_matches('\r') == header => {}
        _ => {
            return Err(ImportError {
                origin: origin.to_owned(),
                line: 1,
                reason: format!("expected the header {header:?}"),
            });
        }
    }
    let mut rows = Vec::new();
    for (i, line) in lines {
        let line = line.trim_end_matches('\r');
        if line.is_empty() {
            continue;
        }
        let cells: Vec<&str> = line.split(',').collect();
        if cells.len() != columns {
            return Err(ImportError {
                origin: origin.to_owned(),
                line: i + 1,
                reason: format!("expected {columns} cells, found {}", cells.len()),
            });
        }
        rows.push((i + 1, cells));
    }
    Ok(rows)
}

fn link_for(row: &Row<'_>) -> &'static str {
    match row.removed {
        Some(r) if GUIDE_RELEASES.contains(&r) && !row.version.contains("alpha") => guide_anchor(r),
        _ if row.deprecated.is_some() || row.removed.is_some() => {
            if row.source == "migration-guide" {
                GUIDE
            } else {
                POLICY
            }
        }
        _ => REFERENCE,
    }
}

fn guide_anchor(release: KubeVersion) -> &'static str {
    match (release.major, release.minor) {
        (1, 16) => "https://kubernetes.io/docs/reference/using-api/deprecation-guide/#v1-16",
        (1, 22) => "https://kubernetes.io/docs/reference/using-api/deprecation-guide/#v1-22",
        (1, 25) => "https://kubernetes.io/docs/reference/using-api/deprecation-guide/#v1-25",
        (1, 26) => "https://kubernetes.io/docs/reference/using-api/deprecation-guide/#v1-26",
        (1, 27) => "https://kubernetes.io/docs/reference/using-api/deprecation-guide/#v1-27",
        (1, 29) => "https://kubernetes.io/docs/reference/using-api/deprecation-guide/#v1-29",
        (1, 32) => "https://kubernetes.io/docs/reference/using-api/deprecation-guide/#v1-32",
        _ => GUIDE,
    }
}

/// Generates the embedded catalog YAML for the built-in Kubernetes APIs.
///
/// Deterministic: the same sources always give the same bytes.
pub fn kubernetes_catalog_yaml(src: KubernetesSources<'_>) -> Result<String, ImportError> {
    const APIS: &str = "kubernetes-apis.csv";
    const RELEASES: &str = "kubernetes-releases.csv";
    let mut rows = Vec::new();
    for (line, c) in csv_rows(
        APIS,
        src.apis_csv,
        "group,version,kind,introduced,deprecated,removed,replacement_group,replacement_version,replacement_kind,source",
    )? {
        let replacement = match (c[6], c[7], c[8]) {
            ("", "", "") => None,
            (g, v, k) if !v.is_empty() && !k.is_empty() => Some((api_version(g, v), k)),
            _ => {
                return Err(ImportError {
                    origin: APIS.into(),
                    line,
                    reason:
                        "replacement_version and replacement_kind must both be set or both be empty"
                            .into(),
                });
            }
        };
        rows.push((
            line,
            Row {
                group: c[0],
                version: c[1],
                kind: c[2],
                introduced: parse_version(APIS, line, "introduced", c[3])?,
                deprecated: parse_version(APIS, line, "deprecated", c[4])?,
                removed: parse_version(APIS, line, "removed", c[5])?,
                replacement,
                source: c[9],
            },
        ));
    }
    let introduced: HashMap<(String, &str), Option<KubeVersion>> = rows
        .iter()
        .map(|(_, r)| ((api_version(r.group, r.version), r.kind), r.introduced))
        .collect();
    if introduced.len() != rows.len() {
        return Err(ImportError {
            origin: APIS.into(),
            line: 0,
            reason: "a group/version/kind is listed more than once".into(),
        });
    }

    let mut newest_release = None;
    for (line, c) in csv_rows(
        RELEASES,
        src.releases_csv,
        "minor,release_date,end_of_life,notes",
    )? {
        let minor = parse_version(RELEASES, line, "minor", c[0])?;
        if !c[1].is_empty() {
            newest_release = newest_release.max(minor);
        }
    }
    let newest_release = newest_release.ok_or_else(|| ImportError {
        origin: RELEASES.into(),
        line: 0,
        reason: "no released minor (a row with a release_date) found".into(),
    })?;

    let mut served = Vec::new();
    for (_, c) in csv_rows(
        "served-without-lifecycle.csv",
        src.served_without_lifecycle_csv,
        "group,version,note",
    )? {
        served.push(api_version(c[0], c[1]));
    }
    served.sort();

    let mut sorted: Vec<&Row<'_>> = rows.iter().map(|(_, r)| r).collect();
    sorted.sort_by(|a, b| (a.group, a.version, a.kind).cmp(&(b.group, b.version, b.kind)));

    let mut out = String::with_capacity(64 * 1024);
    out.push_str(
        "# Built-in Kubernetes API lifecycles, embedded in upcheck at compile time.\n\
         # GENERATED from the CSV files in data/source/.\n\
         # Do not edit: change the CSV, then run `cargo run -p api-catalog --example regenerate`.\n\
         # Field reference: api-catalog/data/SCHEMA.md\n",
    );
    let _ = writeln!(out, "schema_version: {}", crate::file::SCHEMA_VERSION);
    let _ = writeln!(out, "data_version: \"{}\"", src.data_version);
    out.push_str("components:\n");
    out.push_str("  - name: k8s\n    title: Kubernetes\n    complete: true\n");
    let _ = writeln!(out, "    newest_release: \"{newest_release}\"");
    if !served.is_empty() {
        out.push_str("    served_without_lifecycle:\n");
        for gv in &served {
            let _ = writeln!(out, "      - {gv}");
        }
    }
    out.push_str("apis:\n");
    for r in sorted {
        let _ = writeln!(out, "  - component: k8s");
        let _ = writeln!(out, "    api_version: {}", api_version(r.group, r.version));
        let _ = writeln!(out, "    kind: {}", r.kind);
        for (key, v) in [
            ("introduced", r.introduced),
            ("deprecated", r.deprecated),
            ("removed", r.removed),
        ] {
            if let Some(v) = v {
                let _ = writeln!(out, "    {key}: \"{v}\"");
            }
        }
        if let Some((rep_api_version, rep_kind)) = &r.replacement {
            let _ = write!(
                out,
                "    replacement: {{api_version: {rep_api_version}, kind: {rep_kind}"
            );
            if let Some(Some(a)) = introduced.get(&(rep_api_version.clone(), *rep_kind)) {
                let _ = write!(out, ", available: \"{a}\"");
            }
            out.push_str("}\n");
        }
        let _ = writeln!(out, "    link: {}", link_for(r));
        let _ = writeln!(out, "    source: {}", r.source);
    }
    Ok(out)
}
