//! Turns the reviewed source files under `data/source/` into the embedded catalog YAML.
//!
//! The CSV files are the facts as collected (see `data/SCHEMA.md` for their provenance). The
//! embedded `data/kubernetes.yaml` and `data/components.yaml` are generated from them, so that
//! every derived value (replacement availability, replacements the upstream data leaves out,
//! links, migration notes) is computed one way and reviewed as data. Regenerate with
//! `cargo run -p api-catalog --example regenerate`; a test fails when a committed file is stale.

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;

use crate::error::ImportError;
use crate::version::KubeVersion;

/// Releases whose removals the official Deprecated API Migration Guide documents in a section
/// of their own (anchor `#v1-NN`).
const GUIDE_RELEASES: &[u16] = &[16, 22, 25, 26, 27, 29, 32];
const GUIDE: &str = "https://kubernetes.io/docs/reference/using-api/deprecation-guide/";
const POLICY: &str = "https://kubernetes.io/docs/reference/using-api/deprecation-policy/";
const REFERENCE: &str = "https://kubernetes.io/docs/reference/kubernetes-api/";

/// The header of `kubernetes-apis.csv`.
pub const KUBERNETES_HEADER: &str = "group,version,kind,introduced,deprecated,removed,replacement_group,replacement_version,replacement_kind,source";
/// The header of `component-releases.csv`.
pub const COMPONENT_RELEASES_HEADER: &str = "component,version,source";
/// The header of `component-apis.csv`.
pub const COMPONENTS_HEADER: &str = "component,group,version,kind,introduced,deprecated,removed,replacement_group,replacement_version,replacement_kind,source";

/// The source files of the embedded catalog.
#[derive(Debug, Clone, Copy)]
pub struct Sources<'a> {
    /// `kubernetes-apis.csv`: one row per built-in group/version/kind.
    pub apis_csv: &'a str,
    /// `kubernetes-releases.csv`: release and end-of-life dates per minor.
    pub releases_csv: &'a str,
    /// `served-without-lifecycle.csv`: group/versions served without lifecycle data, which
    /// must not be reported as unknown.
    pub served_without_lifecycle_csv: &'a str,
    /// `component-apis.csv`: deprecated and removed APIs of add-ons.
    pub components_csv: &'a str,
    /// `component-releases.csv`: every released minor of each add-on (those that removed
    /// nothing too), so a target on a release the data covers gets no "not known" note.
    pub component_releases_csv: &'a str,
    /// `migrations.yaml`: what changes in an object when it moves to the replacement.
    pub migrations_yaml: &'a str,
    /// The catalog data version to stamp into the output.
    pub data_version: &'a str,
}

/// The generated files.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Generated {
    /// `data/kubernetes.yaml`.
    pub kubernetes_yaml: String,
    /// `data/components.yaml`.
    pub components_yaml: String,
}

/// A row of either CSV.
#[derive(Debug, Clone)]
struct Row<'a> {
    component: &'a str,
    group: &'a str,
    version: &'a str,
    kind: &'a str,
    introduced: Option<KubeVersion>,
    deprecated: Option<KubeVersion>,
    removed: Option<KubeVersion>,
    /// apiVersion and kind (the kind may be empty: no single successor).
    replacement: Option<(String, &'a str)>,
    derived: bool,
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

/// Parses the lifecycle cells shared by both CSVs (from `group` on).
fn row<'a>(
    origin: &str,
    line: usize,
    component: &'a str,
    c: &[&'a str],
) -> Result<Row<'a>, ImportError> {
    let replacement = match (c[6], c[7], c[8]) {
        ("", "", "") => None,
        (g, v, k) if !v.is_empty() => Some((api_version(g, v), k)),
        _ => {
            return Err(ImportError {
                origin: origin.into(),
                line,
                reason: "a replacement needs at least its version".into(),
            });
        }
    };
    Ok(Row {
        component,
        group: c[0],
        version: c[1],
        kind: c[2],
        introduced: parse_version(origin, line, "introduced", c[3])?,
        deprecated: parse_version(origin, line, "deprecated", c[4])?,
        removed: parse_version(origin, line, "removed", c[5])?,
        replacement,
        derived: false,
        source: c[9],
    })
}

pub use crate::gvk::version_priority;

/// Fills the replacements the upstream data leaves out: a deprecated or removed row without one
/// gets the most preferred other version of the same kind in the same group, when that version
/// ranks above it and outlives it. Rows without such a version keep "no replacement" (as
/// `policy/v1beta1 PodSecurityPolicy` must).
fn derive_replacements(rows: &mut [Row<'_>]) {
    let snapshot: Vec<(String, String, String, Option<KubeVersion>)> = rows
        .iter()
        .map(|r| {
            (
                r.group.to_owned(),
                r.version.to_owned(),
                r.kind.to_owned(),
                r.removed,
            )
        })
        .collect();
    for r in rows.iter_mut() {
        if r.replacement.is_some() || (r.deprecated.is_none() && r.removed.is_none()) {
            continue;
        }
        let Some(own) = version_priority(r.version) else {
            continue;
        };
        let best = snapshot
            .iter()
            .filter(|(g, v, k, removed)| {
                g == r.group
                    && k == r.kind
                    && v != r.version
                    && version_priority(v).is_some_and(|p| p > own)
                    && match (removed, r.removed) {
                        (None, _) => true,
                        (Some(theirs), Some(ours)) => *theirs > ours,
                        (Some(_), None) => false,
                    }
            })
            .max_by_key(|(_, v, _, _)| version_priority(v));
        if let Some((g, v, _, _)) = best {
            r.replacement = Some((api_version(g, v), r.kind));
            r.derived = true;
        }
    }
}

fn link_for(r: &Row<'_>) -> String {
    if r.component != "k8s" {
        return r.source.to_owned();
    }
    match r.removed {
        Some(v)
            if v.major == 1
                && GUIDE_RELEASES.contains(&v.minor)
                && !r.version.contains("alpha") =>
        {
            format!("{GUIDE}#v1-{}", v.minor)
        }
        _ if r.deprecated.is_some() || r.removed.is_some() => {
            if r.source == "migration-guide" {
                GUIDE.to_owned()
            } else {
                POLICY.to_owned()
            }
        }
        _ => REFERENCE.to_owned(),
    }
}

/// YAML for one row.
fn write_row(
    out: &mut String,
    r: &Row<'_>,
    introduced: &HashMap<(String, String), Option<KubeVersion>>,
    migrations: &BTreeMap<String, Vec<String>>,
) {
    let api = api_version(r.group, r.version);
    let _ = writeln!(out, "  - component: {}", r.component);
    let _ = writeln!(out, "    api_version: {api}");
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
        let _ = write!(out, "    replacement: {{api_version: {rep_api_version}");
        if !rep_kind.is_empty() {
            let _ = write!(out, ", kind: {rep_kind}");
        }
        if let Some(Some(a)) = introduced.get(&(rep_api_version.clone(), (*rep_kind).to_owned())) {
            let _ = write!(out, ", available: \"{a}\"");
        }
        if r.derived {
            out.push_str(", derived: true");
        }
        out.push_str("}\n");
    }
    if let Some(notes) = migrations.get(&format!("{api} {}", r.kind)) {
        out.push_str("    migration:\n");
        for n in notes {
            let _ = writeln!(out, "      - {}", yaml_string(n));
        }
    }
    let _ = writeln!(out, "    link: {}", link_for(r));
    let _ = writeln!(
        out,
        "    source: {}",
        if r.component == "k8s" {
            r.source
        } else {
            "component-docs"
        }
    );
}

/// A double-quoted YAML string.
fn yaml_string(s: &str) -> String {
    format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
}

const HEADER_NOTE: &str = "# GENERATED from the files in api-catalog/data/source/.\n\
     # Do not edit: change the sources, then run `cargo run -p api-catalog --example regenerate`.\n\
     # Field reference: api-catalog/data/SCHEMA.md\n";

/// Generates the embedded catalog files.
///
/// Deterministic: the same sources always give the same bytes.
pub fn generate(src: Sources<'_>) -> Result<Generated, ImportError> {
    const APIS: &str = "kubernetes-apis.csv";
    const RELEASES: &str = "kubernetes-releases.csv";
    const COMPONENTS: &str = "component-apis.csv";

    let migrations: BTreeMap<String, Vec<String>> = serde_saphyr::from_str(src.migrations_yaml)
        .map_err(|e| ImportError {
            origin: "migrations.yaml".into(),
            line: 0,
            reason: e.to_string(),
        })?;

    let mut k8s = Vec::new();
    for (line, c) in csv_rows(APIS, src.apis_csv, KUBERNETES_HEADER)? {
        let r = row(APIS, line, "k8s", &c)?;
        if r.replacement.as_ref().is_some_and(|(_, k)| k.is_empty()) {
            return Err(ImportError {
                origin: APIS.into(),
                line,
                reason: "replacement_kind is empty".into(),
            });
        }
        k8s.push(r);
    }
    let mut components = Vec::new();
    for (line, c) in csv_rows(COMPONENTS, src.components_csv, COMPONENTS_HEADER)? {
        components.push(row(COMPONENTS, line, c[0], &c[1..])?);
    }
    let mut introduced: HashMap<(String, String), Option<KubeVersion>> = HashMap::new();
    for r in k8s.iter().chain(&components) {
        if introduced
            .insert(
                (api_version(r.group, r.version), r.kind.to_owned()),
                r.introduced,
            )
            .is_some()
        {
            return Err(ImportError {
                origin: if r.component == "k8s" {
                    APIS.into()
                } else {
                    COMPONENTS.into()
                },
                line: 0,
                reason: format!(
                    "{} {} is listed more than once",
                    api_version(r.group, r.version),
                    r.kind
                ),
            });
        }
    }
    for key in migrations.keys() {
        let known = k8s
            .iter()
            .chain(&components)
            .any(|r| format!("{} {}", api_version(r.group, r.version), r.kind) == *key);
        if !known {
            return Err(ImportError {
                origin: "migrations.yaml".into(),
                line: 0,
                reason: format!("{key:?} is not a catalog row"),
            });
        }
    }
    derive_replacements(&mut k8s);
    derive_replacements(&mut components);

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

    let sort = |rows: &mut Vec<Row<'_>>| {
        rows.sort_by(|a, b| {
            (a.component, a.group, a.version, a.kind).cmp(&(
                b.component,
                b.group,
                b.version,
                b.kind,
            ))
        });
    };
    sort(&mut k8s);
    sort(&mut components);

    let mut out = String::with_capacity(96 * 1024);
    out.push_str("# Built-in Kubernetes API lifecycles, embedded in upcheck at compile time.\n");
    out.push_str(HEADER_NOTE);
    let _ = writeln!(out, "schema_version: {}", crate::file::SCHEMA_VERSION);
    let _ = writeln!(out, "data_version: \"{}\"", src.data_version);
    out.push_str("components:\n  - name: k8s\n    title: Kubernetes\n    complete: true\n");
    let _ = writeln!(out, "    newest_release: \"{newest_release}\"");
    if !served.is_empty() {
        out.push_str("    served_without_lifecycle:\n");
        for gv in &served {
            let _ = writeln!(out, "      - {gv}");
        }
    }
    out.push_str("apis:\n");
    for r in &k8s {
        write_row(&mut out, r, &introduced, &migrations);
    }

    let mut comp = String::with_capacity(16 * 1024);
    comp.push_str(
        "# Deprecated and removed APIs of common add-ons, embedded in upcheck at compile time.\n",
    );
    comp.push_str(
        "# Each add-on has its own version line: judge it with --target-version NAME=VERSION.\n",
    );
    comp.push_str(HEADER_NOTE);
    let _ = writeln!(comp, "schema_version: {}", crate::file::SCHEMA_VERSION);
    let _ = writeln!(comp, "data_version: \"{}\"", src.data_version);
    comp.push_str("components:\n");
    let released = component_releases(src.component_releases_csv)?;
    let mut names: Vec<&str> = components.iter().map(|r| r.component).collect();
    names.dedup();
    for name in names {
        let Some(known) = released.get(name) else {
            return Err(ImportError {
                origin: COMPONENT_RELEASES.into(),
                line: 0,
                reason: format!("{name} has rows in {COMPONENTS} but no released versions here"),
            });
        };
        // A row naming a version the release list does not have is a typo in one of the two.
        for r in components.iter().filter(|r| r.component == name) {
            for v in [r.introduced, r.deprecated, r.removed]
                .into_iter()
                .flatten()
            {
                if !known.contains(&v) {
                    return Err(ImportError {
                        origin: COMPONENTS.into(),
                        line: 0,
                        reason: format!(
                            "{name} {} {}: version {v} is not in {COMPONENT_RELEASES}",
                            api_version(r.group, r.version),
                            r.kind
                        ),
                    });
                }
            }
        }
        // The newest released version: how far the data reaches.
        let newest = known.iter().next_back().copied();
        let title = match name {
            "cert-manager" => "cert-manager",
            "istio" => "Istio",
            "gateway-api" => "Gateway API",
            other => other,
        };
        let _ = writeln!(comp, "  - name: {name}\n    title: {title}");
        if let Some(v) = newest {
            let _ = writeln!(comp, "    newest_release: \"{v}\"");
        }
    }
    comp.push_str("apis:\n");
    for r in &components {
        write_row(&mut comp, r, &introduced, &migrations);
    }
    Ok(Generated {
        kubernetes_yaml: out,
        components_yaml: comp,
    })
}

const COMPONENT_RELEASES: &str = "component-releases.csv";

/// The released versions of each add-on, from `component-releases.csv`.
fn component_releases(
    text: &str,
) -> Result<BTreeMap<&str, std::collections::BTreeSet<KubeVersion>>, ImportError> {
    let mut out: BTreeMap<&str, std::collections::BTreeSet<KubeVersion>> = BTreeMap::new();
    for (line, c) in csv_rows(COMPONENT_RELEASES, text, COMPONENT_RELEASES_HEADER)? {
        let Some(v) = parse_version(COMPONENT_RELEASES, line, "version", c[1])? else {
            return Err(ImportError {
                origin: COMPONENT_RELEASES.into(),
                line,
                reason: "column version: empty".into(),
            });
        };
        if c[0].is_empty() || c[2].is_empty() {
            return Err(ImportError {
                origin: COMPONENT_RELEASES.into(),
                line,
                reason: "component and source must not be empty".into(),
            });
        }
        if !out.entry(c[0]).or_default().insert(v) {
            return Err(ImportError {
                origin: COMPONENT_RELEASES.into(),
                line,
                reason: format!("{} {v} is listed twice", c[0]),
            });
        }
    }
    Ok(out)
}

/// Reads the checked-in sources from `data/source/` under `dir` (the `api-catalog` crate).
pub fn generate_from_dir(dir: &std::path::Path) -> Result<Generated, ImportError> {
    let read = |name: &str| {
        std::fs::read_to_string(dir.join("data/source").join(name)).map_err(|e| ImportError {
            origin: name.to_owned(),
            line: 0,
            reason: format!("cannot read: {e}"),
        })
    };
    let apis = read("kubernetes-apis.csv")?;
    let releases = read("kubernetes-releases.csv")?;
    let served = read("served-without-lifecycle.csv")?;
    let components = read("component-apis.csv")?;
    let component_releases = read(COMPONENT_RELEASES)?;
    let migrations = read("migrations.yaml")?;
    let version = read("VERSION")?;
    generate(Sources {
        apis_csv: &apis,
        releases_csv: &releases,
        served_without_lifecycle_csv: &served,
        components_csv: &components,
        component_releases_csv: &component_releases,
        migrations_yaml: &migrations,
        data_version: version.trim(),
    })
}

#[cfg(test)]
mod tests {
    use super::version_priority;

    mod component_releases {
        use super::super::{Sources, generate};

        const DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/data/source/");

        fn read(name: &str) -> String {
            std::fs::read_to_string(format!("{DIR}{name}")).unwrap_or_else(|e| panic!("{e}"))
        }

        fn components_yaml(releases: &str) -> Result<String, String> {
            let (apis, k8s_releases, served, components, migrations) = (
                read("kubernetes-apis.csv"),
                read("kubernetes-releases.csv"),
                read("served-without-lifecycle.csv"),
                read("component-apis.csv"),
                read("migrations.yaml"),
            );
            generate(Sources {
                apis_csv: &apis,
                releases_csv: &k8s_releases,
                served_without_lifecycle_csv: &served,
                components_csv: &components,
                component_releases_csv: releases,
                migrations_yaml: &migrations,
                data_version: "test",
            })
            .map(|g| g.components_yaml)
            .map_err(|e| e.to_string())
        }

        #[test]
        fn newest_release_comes_from_the_release_list() {
            let csv = read("component-releases.csv");
            let yaml = components_yaml(&csv).unwrap();
            // The newest cert-manager minor of the list, which removed nothing: releases that
            // removed nothing are known too (the README's cert-manager=1.7).
            let newest = csv
                .lines()
                .filter_map(|l| l.strip_prefix("cert-manager,")?.split(',').next())
                .filter_map(|v| {
                    let (major, minor) = v.split_once('.')?;
                    Some((major.parse::<u32>().ok()?, minor.parse::<u32>().ok()?))
                })
                .max()
                .unwrap();
            assert!(newest > (1, 6), "{newest:?}");
            let expected = format!(
                "name: cert-manager\n    title: cert-manager\n    newest_release: \"{}.{}\"",
                newest.0, newest.1
            );
            assert!(yaml.contains(&expected), "{yaml}");
        }

        #[test]
        fn every_row_version_must_be_a_listed_release() {
            let without_1_6 = read("component-releases.csv")
                .lines()
                .filter(|l| !l.starts_with("cert-manager,1.6,"))
                .collect::<Vec<_>>()
                .join("\n");
            let err = components_yaml(&without_1_6).unwrap_err();
            assert!(
                err.contains("version 1.6 is not in component-releases.csv"),
                "{err}"
            );
            let no_istio = read("component-releases.csv")
                .lines()
                .filter(|l| !l.starts_with("istio,"))
                .collect::<Vec<_>>()
                .join("\n");
            let err = components_yaml(&no_istio).unwrap_err();
            assert!(err.contains("istio has rows"), "{err}");
            let twice = format!("{}istio,1.6,x\n", read("component-releases.csv"));
            assert!(
                components_yaml(&twice)
                    .unwrap_err()
                    .contains("listed twice")
            );
        }
    }

    #[test]
    fn versions_rank_like_kubernetes() {
        // The example of the Kubernetes documentation on CRD version priority, reversed.
        let mut v = vec![
            "v11alpha2",
            "v10",
            "v3beta1",
            "v1",
            "v12alpha1",
            "v2",
            "v11beta2",
            "v10beta3",
        ];
        v.sort_by_key(|x| version_priority(x));
        assert_eq!(
            v,
            [
                "v11alpha2",
                "v12alpha1",
                "v3beta1",
                "v10beta3",
                "v11beta2",
                "v1",
                "v2",
                "v10"
            ]
        );
        assert_eq!(version_priority("latest"), None);
    }
}
