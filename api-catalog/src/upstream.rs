//! Rebuilds `data/source/kubernetes-apis.csv` from the upstream Kubernetes sources, so a new
//! release is one command and a reviewed diff.
//!
//! Every API package of `kubernetes/api` (and `apiextensions-apiserver`, `kube-aggregator`)
//! carries a `zz_generated.prerelease-lifecycle.go`, written by `prerelease-lifecycle-gen` from
//! `+k8s:prerelease-lifecycle-gen` tags: one `APILifecycleIntroduced`, `...Deprecated`,
//! `...Removed` and `...Replacement` method per type. This module reads those files from
//! checkouts of several release tags ("snapshots", oldest first), keeps for each kind the values
//! of the newest snapshot that still has it, and lays the reviewed corrections of
//! `data/source/overrides.csv` (values taken from the migration guide, the `OpenAPI` specs or type
//! comments where the tags are wrong or silent) over the result.
//!
//! ```sh
//! git clone https://github.com/kubernetes/api && cd api
//! for t in v0.19.16 v0.20.15 ... v0.36.3; do git worktree add ../api-$t $t; done
//! cargo run -p api-catalog --example regenerate -- --upstream ../api-v0.19.16 ... ../api-v0.36.3
//! ```

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use crate::error::ImportError;
use crate::import::KUBERNETES_HEADER;
use crate::version::KubeVersion;

/// The lifecycle of one kind, as a generated file states it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TagRow {
    /// API group (`""` for core).
    pub group: String,
    /// Version (`v1beta1`).
    pub version: String,
    /// Kind.
    pub kind: String,
    /// `APILifecycleIntroduced`.
    pub introduced: Option<KubeVersion>,
    /// `APILifecycleDeprecated`.
    pub deprecated: Option<KubeVersion>,
    /// `APILifecycleRemoved`.
    pub removed: Option<KubeVersion>,
    /// `APILifecycleReplacement`: group, version, kind.
    pub replacement: Option<(String, String, String)>,
}

/// Kinds the catalog leaves out: list wrappers, option bodies, and the two kinds without object
/// metadata that are not reviews.
fn skipped_kind(kind: &str) -> bool {
    kind.ends_with("List")
        || kind.ends_with("Options")
        || kind == "DeploymentRollback"
        || kind == "SerializedReference"
}

fn err(origin: &Path, line: usize, reason: impl Into<String>) -> ImportError {
    ImportError {
        origin: origin.display().to_string(),
        line,
        reason: reason.into(),
    }
}

/// The value of `GroupName = "..."` in a `register.go`.
pub fn group_name(register_go: &str) -> Option<String> {
    register_go.lines().find_map(|line| {
        let rest = line.trim().strip_prefix("const GroupName")?.trim_start();
        let value = rest.strip_prefix('=')?.trim();
        let value = value.strip_prefix('"')?;
        Some(value[..value.find('"')?].to_owned())
    })
}

/// Parses `return 1, 22`.
fn major_minor(ret: &str) -> Option<KubeVersion> {
    let (major, minor) = ret.split_once(',')?;
    Some(KubeVersion::new(
        major.trim().parse().ok()?,
        minor.trim().parse().ok()?,
    ))
}

/// Parses `return schema.GroupVersionKind{Group: "batch", Version: "v1", Kind: "CronJob"}`.
fn gvk_literal(ret: &str) -> Option<(String, String, String)> {
    let body = ret.split_once('{')?.1.rsplit_once('}')?.0;
    let mut fields = BTreeMap::new();
    for part in body.split(',') {
        let (k, v) = part.split_once(':')?;
        fields.insert(k.trim().to_owned(), v.trim().trim_matches('"').to_owned());
    }
    Some((
        fields.remove("Group").unwrap_or_default(),
        fields.remove("Version")?,
        fields.remove("Kind")?,
    ))
}

/// Reads one `zz_generated.prerelease-lifecycle.go` of `group`/`version`.
pub fn parse_lifecycle_go(
    origin: &Path,
    group: &str,
    version: &str,
    text: &str,
) -> Result<Vec<TagRow>, ImportError> {
    let mut rows: BTreeMap<String, TagRow> = BTreeMap::new();
    let mut current: Option<(String, String)> = None;
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if let Some(rest) = line.strip_prefix("func (in *") {
            let (kind, rest) = rest
                .split_once(')')
                .ok_or_else(|| err(origin, i + 1, "a method receiver without ')'"))?;
            let method = rest
                .trim_start()
                .split('(')
                .next()
                .unwrap_or_default()
                .to_owned();
            current = Some((kind.to_owned(), method));
            continue;
        }
        let Some(ret) = line.strip_prefix("return ") else {
            continue;
        };
        let Some((kind, method)) = current.take() else {
            continue;
        };
        let row = rows.entry(kind.clone()).or_insert_with(|| TagRow {
            group: group.to_owned(),
            version: version.to_owned(),
            kind: kind.clone(),
            ..TagRow::default()
        });
        let bad = |what: &str| {
            err(
                origin,
                i + 1,
                format!("{kind}.{method}: cannot read {what} from {ret:?}"),
            )
        };
        match method.as_str() {
            "APILifecycleIntroduced" => {
                row.introduced = Some(major_minor(ret).ok_or_else(|| bad("a version"))?);
            }
            "APILifecycleDeprecated" => {
                row.deprecated = Some(major_minor(ret).ok_or_else(|| bad("a version"))?);
            }
            "APILifecycleRemoved" => {
                row.removed = Some(major_minor(ret).ok_or_else(|| bad("a version"))?);
            }
            "APILifecycleReplacement" => {
                row.replacement =
                    Some(gvk_literal(ret).ok_or_else(|| bad("a group/version/kind"))?);
            }
            _ => {}
        }
    }
    Ok(rows
        .into_values()
        .filter(|r| !skipped_kind(&r.kind))
        .collect())
}

fn find_lifecycle_files(dir: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)?
        .map(|e| e.map(|e| e.path()))
        .collect::<Result<_, _>>()?;
    entries.sort();
    for p in entries {
        let name = p.file_name().and_then(|n| n.to_str()).unwrap_or_default();
        if p.is_dir() {
            if !name.starts_with('.') && name != "testdata" && name != "vendor" {
                find_lifecycle_files(&p, out)?;
            }
        } else if name == "zz_generated.prerelease-lifecycle.go" {
            out.push(p);
        }
    }
    Ok(())
}

/// Reads every lifecycle file under a checkout. The group comes from the package's
/// `register.go`, the version from its directory name.
pub fn read_snapshot(dir: &Path) -> Result<Vec<TagRow>, ImportError> {
    let mut files = Vec::new();
    find_lifecycle_files(dir, &mut files).map_err(|e| err(dir, 0, format!("cannot read: {e}")))?;
    if files.is_empty() {
        return Err(err(
            dir,
            0,
            "no zz_generated.prerelease-lifecycle.go below it: not a checkout of the API sources",
        ));
    }
    let mut rows = Vec::new();
    for file in files {
        let pkg = file
            .parent()
            .ok_or_else(|| err(&file, 0, "no package directory"))?;
        let version = pkg
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default()
            .to_owned();
        let register = pkg.join("register.go");
        let group = std::fs::read_to_string(&register)
            .ok()
            .and_then(|t| group_name(&t))
            .ok_or_else(|| err(&register, 0, "no `const GroupName = \"...\"`"))?;
        let text = std::fs::read_to_string(&file)
            .map_err(|e| err(&file, 0, format!("cannot read: {e}")))?;
        rows.extend(parse_lifecycle_go(&file, &group, &version, &text)?);
    }
    Ok(rows)
}

/// Keeps, per group/version/kind, the row of the newest snapshot that has it (`snapshots` are
/// oldest first). A kind whose type was deleted keeps the values of its last snapshot.
pub fn merge(snapshots: Vec<Vec<TagRow>>) -> Vec<TagRow> {
    let mut by_gvk: BTreeMap<(String, String, String), TagRow> = BTreeMap::new();
    for rows in snapshots {
        for r in rows {
            by_gvk.insert((r.group.clone(), r.version.clone(), r.kind.clone()), r);
        }
    }
    by_gvk.into_values().collect()
}

fn cell(v: Option<KubeVersion>) -> String {
    v.map(|v| v.to_string()).unwrap_or_default()
}

/// Writes `kubernetes-apis.csv`: the tag rows (source `lifecycle-tags`), with the rows of
/// `overrides_csv` (same columns) replacing or adding rows, sorted by group, version, kind.
pub fn kubernetes_csv(rows: &[TagRow], overrides_csv: &str) -> Result<String, ImportError> {
    let mut lines: BTreeMap<(String, String, String), String> = BTreeMap::new();
    for r in rows {
        let (rg, rv, rk) = r.replacement.clone().unwrap_or_default();
        let line = format!(
            "{},{},{},{},{},{},{rg},{rv},{rk},lifecycle-tags",
            r.group,
            r.version,
            r.kind,
            cell(r.introduced),
            cell(r.deprecated),
            cell(r.removed)
        );
        lines.insert((r.group.clone(), r.version.clone(), r.kind.clone()), line);
    }
    let mut o = overrides_csv.lines().enumerate();
    match o.next() {
        Some((_, h)) if h.trim_end() == KUBERNETES_HEADER => {}
        _ => {
            return Err(ImportError {
                origin: "overrides.csv".into(),
                line: 1,
                reason: format!("expected the header {KUBERNETES_HEADER:?}"),
            });
        }
    }
    for (i, line) in o {
        let line = line.trim_end();
        if line.is_empty() {
            continue;
        }
        let c: Vec<&str> = line.split(',').collect();
        if c.len() != 10 {
            return Err(ImportError {
                origin: "overrides.csv".into(),
                line: i + 1,
                reason: format!("expected 10 cells, found {}", c.len()),
            });
        }
        lines.insert(
            (c[0].to_owned(), c[1].to_owned(), c[2].to_owned()),
            line.to_owned(),
        );
    }
    let mut out = String::with_capacity(lines.len() * 80);
    let _ = writeln!(out, "{KUBERNETES_HEADER}");
    for line in lines.values() {
        let _ = writeln!(out, "{line}");
    }
    Ok(out)
}

/// Reads the snapshots (oldest first) and writes the CSV with the overrides applied.
pub fn regenerate(snapshots: &[PathBuf], overrides_csv: &str) -> Result<String, ImportError> {
    let rows = snapshots
        .iter()
        .map(|d| read_snapshot(d))
        .collect::<Result<Vec<_>, _>>()?;
    kubernetes_csv(&merge(rows), overrides_csv)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_methods_and_skips_lists() {
        let text = "package v1beta1\n\n// APILifecycleIntroduced is generated.\nfunc (in *CronJob) APILifecycleIntroduced() (major, minor int) {\n\treturn 1, 8\n}\n\nfunc (in *CronJob) APILifecycleReplacement() schema.GroupVersionKind {\n\treturn schema.GroupVersionKind{Group: \"batch\", Version: \"v1\", Kind: \"CronJob\"}\n}\n\nfunc (in *CronJobList) APILifecycleIntroduced() (major, minor int) {\n\treturn 1, 8\n}\n";
        let rows = parse_lifecycle_go(Path::new("x.go"), "batch", "v1beta1", text).unwrap();
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].introduced, Some(KubeVersion::new(1, 8)));
        assert_eq!(
            rows[0].replacement,
            Some(("batch".into(), "v1".into(), "CronJob".into()))
        );
    }

    #[test]
    fn bad_return_values_are_errors_with_the_line() {
        let text =
            "func (in *A) APILifecycleRemoved() (major, minor int) {\n\treturn one, two\n}\n";
        let e = parse_lifecycle_go(Path::new("x.go"), "g", "v1", text).unwrap_err();
        assert_eq!(e.line, 2);
        assert!(e.reason.contains("A.APILifecycleRemoved"), "{e}");
    }

    #[test]
    fn group_name_of_core_is_empty() {
        assert_eq!(group_name("package v1\n\n// GroupName is the group name use in this package\nconst GroupName = \"\"\n").as_deref(), Some(""));
        assert_eq!(
            group_name("const GroupName = \"batch\"").as_deref(),
            Some("batch")
        );
        assert_eq!(group_name("var x = 1"), None);
    }
}
