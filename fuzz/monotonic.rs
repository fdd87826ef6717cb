//! Shared oracle: a row's verdict moves only forward (served, deprecated, removed) as the
//! target version grows.

use api_catalog::{ApiStatus, Catalog, KubeVersion, Target, Targets};

fn rank(status: ApiStatus) -> Option<u8> {
    match status {
        ApiStatus::Served => Some(0),
        ApiStatus::Deprecated => Some(1),
        ApiStatus::Removed => Some(2),
        _ => None,
    }
}

/// Checks the rows for which `keep` holds (at most 64 of them).
pub fn check(catalog: &Catalog, keep: impl Fn(&api_catalog::ApiEntry) -> bool) {
    for entry in catalog.entries().iter().filter(|e| keep(e)).take(64) {
        // Targets around every release the row names, in order.
        let mut versions = Vec::new();
        for v in [entry.introduced, entry.deprecated_in, entry.removed_in]
            .into_iter()
            .flatten()
        {
            versions.push(KubeVersion::new(v.major, v.minor.saturating_sub(1)));
            versions.push(v);
            versions.push(KubeVersion::new(v.major, v.minor.saturating_add(1)));
            versions.push(KubeVersion::new(v.major.saturating_add(1), 0));
        }
        versions.sort();
        versions.dedup();
        let mut last = 0;
        for version in versions {
            let mut targets = Targets::new();
            targets.set(
                entry.component.clone(),
                Target {
                    target: version,
                    current: None,
                },
            );
            let verdict = catalog.assess(&entry.gvk.api_version, &entry.gvk.kind, &targets);
            if let Some(r) = rank(verdict.status) {
                assert!(
                    r >= last,
                    "{} {} goes back to {:?} at {version}",
                    entry.gvk.api_version,
                    entry.gvk.kind,
                    verdict.status
                );
                last = r;
            }
        }
    }
}
