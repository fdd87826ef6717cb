//! Runtime and feature removals the checks act on, with their sources
//! (`data/removals.yaml`, compiled in). The dates move (the containerd 1.x removal was deferred
//! twice), so they are data: a change is an edit of that file, and `upcheck explain` prints
//! each fact with where it comes from.

use std::sync::LazyLock;

use api_catalog::KubeVersion;
use serde::Deserialize;

const REMOVALS: &str = include_str!("data/removals.yaml");

/// What happens at the fact's minor.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Effect {
    /// Gone: nothing uses it from this minor.
    Removed,
    /// Still there, but the kubelet refuses to start with it by default.
    Refused,
    /// Off by default, can still be turned back on.
    Disabled,
    /// Off and cannot be turned back on.
    Locked,
    /// Works only through the named CSI driver.
    CsiMigrated,
}

/// One fact.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Fact {
    /// The code of the check that reads it.
    pub check: String,
    /// What the check looks it up by.
    pub id: String,
    /// The first minor where it applies.
    pub minor: KubeVersion,
    /// What happens then.
    pub effect: Effect,
    /// The CSI driver a migrated volume source needs.
    pub driver: Option<String>,
    /// What happens, in words.
    pub what: String,
    /// The release, pull request or KEP it comes from.
    pub source: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Row {
    check: String,
    id: String,
    minor: String,
    effect: Effect,
    #[serde(default)]
    driver: Option<String>,
    what: String,
    source: String,
}

/// Why the embedded data cannot be read (a unit test keeps it readable).
#[derive(Debug, thiserror::Error)]
pub enum FactsError {
    /// Not the expected YAML.
    #[error("data/removals.yaml: {0}")]
    Yaml(String),
    /// A row that does not make sense.
    #[error("data/removals.yaml: {check} {id}: {why}")]
    Row {
        /// The row's check.
        check: String,
        /// The row's id.
        id: String,
        /// What is wrong.
        why: String,
    },
}

fn parse(text: &str) -> Result<Vec<Fact>, FactsError> {
    let rows: Vec<Row> =
        serde_saphyr::from_str(text).map_err(|e| FactsError::Yaml(e.to_string()))?;
    rows.into_iter()
        .map(|r| {
            let bad = |why: String| FactsError::Row {
                check: r.check.clone(),
                id: r.id.clone(),
                why,
            };
            let minor: KubeVersion = r
                .minor
                .parse()
                .map_err(|_| bad(format!("minor {:?} is not a Kubernetes minor", r.minor)))?;
            if r.source.trim().is_empty() {
                return Err(bad("no source".into()));
            }
            if (r.effect == Effect::CsiMigrated) != r.driver.is_some() {
                return Err(bad(
                    "a CSI driver goes with csi-migrated, and only there".into()
                ));
            }
            Ok(Fact {
                check: r.check,
                id: r.id,
                minor,
                effect: r.effect,
                driver: r.driver,
                what: r.what,
                source: r.source,
            })
        })
        .collect()
}

static FACTS: LazyLock<Vec<Fact>> = LazyLock::new(|| parse(REMOVALS).unwrap_or_default());

/// Every fact.
pub fn all() -> &'static [Fact] {
    &FACTS
}

/// The facts `check` reads, in file order (what `upcheck explain` prints).
pub fn of(check: &str) -> Vec<&'static Fact> {
    FACTS
        .iter()
        .filter(|f| f.check.eq_ignore_ascii_case(check))
        .collect()
}

/// The fact of `check` about `id` with `effect`.
pub fn find(check: &str, id: &str, effect: Effect) -> Option<&'static Fact> {
    FACTS
        .iter()
        .find(|f| f.check == check && f.id == id && f.effect == effect)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_embedded_facts_read_and_each_has_a_source() {
        let facts = parse(REMOVALS).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(facts.len(), all().len());
        assert!(facts.len() >= 20);
        for f in &facts {
            assert!(
                crate::checks::find(&f.check).is_some(),
                "{}: no such check",
                f.check
            );
            assert!(!f.what.is_empty() && !f.source.is_empty(), "{f:?}");
        }
        let c = find("NODE001", "containerd-1", Effect::Removed);
        assert_eq!(c.map(|c| c.minor), Some(KubeVersion::new(1, 38)));
        // Every fact a check looks up by name is there (a renamed id would silence a check).
        for (check, id, effect) in [
            ("NODE001", "dockershim", Effect::Removed),
            ("NODE002", "cgroup-v1", Effect::Refused),
            ("API002", "gitRepo", Effect::Disabled),
            ("API002", "gitRepo", Effect::Locked),
            ("API003", "seccomp-annotations", Effect::Removed),
            ("API003", "master-label", Effect::Removed),
            ("API003", "master-taint", Effect::Removed),
            ("SKEW006", "drain-delete-local-data", Effect::Removed),
            ("SKEW005", "DisableCloudProviders", Effect::Disabled),
        ] {
            assert!(find(check, id, effect).is_some(), "{check} {id} {effect:?}");
        }
        assert_eq!(of("API002").len(), 17);
        assert_eq!(of("SKEW005").len(), 6);
    }

    #[test]
    fn bad_rows_are_refused() {
        let row = |minor: &str, extra: &str| {
            format!(
                "- check: NODE001\n  id: x\n  minor: \"{minor}\"\n  effect: removed\n  what: w\n  source: s\n{extra}"
            )
        };
        assert!(parse(&row("1.38", "")).is_ok());
        assert!(matches!(
            parse(&row("soon", "")),
            Err(FactsError::Row { .. })
        ));
        assert!(matches!(
            parse(&row("1.38", "  driver: d\n")),
            Err(FactsError::Row { .. })
        ));
        assert!(matches!(parse("- check: [1"), Err(FactsError::Yaml(_))));
    }
}
