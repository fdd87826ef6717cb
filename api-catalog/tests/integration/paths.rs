//! The migration path chooser, checked exhaustively: every catalog row, every pair of known
//! releases `current <= target` of its component.
#![allow(clippy::unwrap_used)] // tests fail loudly on purpose

use std::collections::{BTreeSet, VecDeque};

use api_catalog::{
    ApiEntry, ApiStatus, Catalog, KUBERNETES_RELEASES_CSV, KubeVersion, MigrationStep, Target,
    Targets,
};

fn v(s: &str) -> KubeVersion {
    s.parse().unwrap()
}

/// The releases a component's pairs are drawn from: Kubernetes' release table, and for the
/// add-ons every minor between the first and last release their rows mention.
fn releases(catalog: &Catalog, component: &str) -> Vec<KubeVersion> {
    if component == "k8s" {
        let mut out: Vec<KubeVersion> = KUBERNETES_RELEASES_CSV
            .lines()
            .skip(1)
            .filter_map(|l| l.split(',').next()?.parse().ok())
            .collect();
        // Rows mention releases before the table starts (1.0 ...): those count too.
        let first = out[0];
        out.extend((2..first.minor).map(|m| KubeVersion::new(1, m)));
        out.sort();
        return out;
    }
    let mut seen = BTreeSet::new();
    for e in catalog
        .entries()
        .iter()
        .filter(|e| e.component == component)
    {
        seen.extend(
            [e.introduced, e.deprecated_in, e.removed_in]
                .into_iter()
                .flatten(),
        );
    }
    seen.extend(catalog.component(component).and_then(|c| c.newest_release));
    let (lo, hi) = (*seen.first().unwrap(), *seen.last().unwrap());
    (lo.major..=hi.major)
        .flat_map(|major| {
            let from = if major == lo.major { lo.minor } else { 0 };
            let to = if major == hi.major { hi.minor } else { 40 };
            (from..=to).map(move |m| KubeVersion::new(major, m))
        })
        .collect()
}

/// Served at a release, read from the catalog row itself (not from the step's copy).
fn served(catalog: &Catalog, api_version: &str, kind: Option<&str>, at: KubeVersion) -> bool {
    match kind.and_then(|k| catalog.entry(api_version, k)) {
        Some(e) => e.introduced.is_none_or(|i| i <= at) && e.removed_in.is_none_or(|r| r > at),
        // A replacement without its own row: served from its recorded availability.
        None => true,
    }
}

fn entry_served(e: &ApiEntry, at: KubeVersion) -> bool {
    e.introduced.is_none_or(|i| i <= at) && e.removed_in.is_none_or(|r| r > at)
}

/// The fewest moves, found another way: a breadth-first search over (version, release)
/// states, release by release, through every version a path may use. `None`: unreachable.
fn fewest_moves(
    catalog: &Catalog,
    own: &ApiEntry,
    path_versions: &[(String, Option<String>)],
    current: KubeVersion,
    target: KubeVersion,
) -> Option<usize> {
    let before = if current < target {
        KubeVersion::new(target.major, target.minor - 1)
    } else {
        current
    };
    // Moves before the target; at the target only for an object still served there.
    fewest_moves_until(catalog, own, path_versions, current, target, before).or_else(|| {
        (before < target && entry_served(own, target))
            .then(|| fewest_moves_until(catalog, own, path_versions, current, target, target))
            .flatten()
    })
}

fn fewest_moves_until(
    catalog: &Catalog,
    own: &ApiEntry,
    path_versions: &[(String, Option<String>)],
    current: KubeVersion,
    target: KubeVersion,
    last_move: KubeVersion,
) -> Option<usize> {
    let serves = |i: usize, at: KubeVersion| {
        if i == 0 {
            entry_served(own, at)
        } else {
            let (a, k) = &path_versions[i - 1];
            served(catalog, a, k.as_deref(), at)
        }
    };
    let n = path_versions.len() + 1;
    // dist[i][h]: fewest moves to be on version i at release current + h.
    let span = usize::from(last_move.minor - current.minor) + 1;
    let mut dist = vec![vec![usize::MAX; span]; n];
    let mut queue = VecDeque::new();
    dist[0][0] = 0;
    queue.push_back((0usize, 0usize));
    let at = |h: usize| KubeVersion::new(current.major, current.minor + u16::try_from(h).unwrap());
    while let Some((i, h)) = queue.pop_front() {
        let d = dist[i][h];
        // Stay one release longer: the version must be served there (the own version when
        // it is not served today cannot be stayed on).
        if h + 1 < span && serves(i, at(h)) && serves(i, at(h + 1)) && dist[i][h + 1] > d {
            dist[i][h + 1] = d;
            queue.push_front((i, h + 1));
        }
        let own_ok = i != 0 || serves(0, at(h)) || h == 0;
        for (j, row) in dist.iter_mut().enumerate().skip(1) {
            if j != i && own_ok && serves(j, at(h)) && row[h] > d + 1 {
                row[h] = d + 1;
                queue.push_back((j, h));
            }
        }
    }
    (1..n)
        .filter(|&j| serves(j, target))
        .flat_map(|j| dist[j].iter().copied())
        .filter(|&d| d != usize::MAX)
        .min()
}

/// The versions a path may move through: the replacement chain and the forward versions of
/// the same kind in the groups along it (read from the catalog, as the documentation says).
fn path_versions(catalog: &Catalog, own: &ApiEntry) -> Vec<(String, Option<String>)> {
    use api_catalog::import::version_priority;
    let prio = |av: &str| version_priority(av.rsplit('/').next().unwrap()).unwrap_or((0, 0, 0));
    let own_p = prio(&own.gvk.api_version);
    let mut out: Vec<(String, Option<String>)> = Vec::new();
    let mut groups = vec![(own.gvk.group().to_owned(), own.gvk.kind.clone())];
    let mut link = own.replacement.clone();
    while let Some(r) = link {
        out.push((r.api_version.clone(), r.kind.clone()));
        let next = r
            .kind
            .as_deref()
            .and_then(|k| catalog.entry(&r.api_version, k));
        link = next.and_then(|e| {
            groups.push((e.gvk.group().to_owned(), e.gvk.kind.clone()));
            e.replacement.clone()
        });
    }
    for e in catalog.entries() {
        let p = prio(&e.gvk.api_version);
        let forward = !(p.0 == 2 && p.1 < own_p.1)
            && if e.gvk.group() == own.gvk.group() {
                p > own_p
            } else {
                p >= own_p
            };
        if e.component == own.component
            && !e.is_wildcard()
            && forward
            && groups
                .iter()
                .any(|(g, k)| e.gvk.group() == g && &e.gvk.kind == k)
        {
            out.push((e.gvk.api_version.clone(), Some(e.gvk.kind.clone())));
        }
    }
    out.retain(|(a, k)| !(a == &own.gvk.api_version && k.as_deref() == Some(&own.gvk.kind)));
    out.sort();
    out.dedup();
    out
}

fn check_path(
    catalog: &Catalog,
    own: &ApiEntry,
    path: &[MigrationStep<'_>],
    current: KubeVersion,
    target: KubeVersion,
) {
    let ctx = format!(
        "{} {} {current} → {target}: {path:?}",
        own.gvk.api_version, own.gvk.kind
    );
    assert!(!path.is_empty(), "{ctx}");
    // The object is on a served version at `current`: its own, or the first move is made now.
    if entry_served(own, current) {
        assert!(path[0].earliest >= current, "{ctx}");
    } else {
        assert_eq!(
            (path[0].earliest, path[0].latest),
            (current, current),
            "{ctx}"
        );
    }
    let mut from: (&str, Option<&str>) = (&own.gvk.api_version, Some(&own.gvk.kind));
    let mut since = current;
    for (i, step) in path.iter().enumerate() {
        assert!(step.earliest <= step.latest, "{ctx}");
        assert!(step.latest <= target, "{ctx}");
        if let Some(next) = path.get(i + 1) {
            assert!(step.latest <= next.latest, "{ctx}");
        }
        // The version moved from is served from where it was taken until the move (and
        // the last possible move), and the new one at both ends of the window.
        let own_gone = i == 0 && !entry_served(own, current);
        for at in [since, step.earliest, step.latest] {
            assert!(
                own_gone || served(catalog, from.0, from.1, at),
                "{ctx}: {from:?} not served at {at}"
            );
        }
        for at in [step.earliest, step.latest] {
            assert!(
                served(catalog, step.api_version, step.kind, at),
                "{ctx}: step {i} not served at {at}"
            );
        }
        from = (step.api_version, step.kind);
        since = step.earliest;
    }
    // The last version is served from its move through the target.
    for at in [since, target] {
        assert!(
            served(catalog, from.0, from.1, at),
            "{ctx}: last not served at {at}"
        );
    }
}

#[test]
fn every_row_and_every_pair_gets_a_valid_shortest_path_or_none() {
    let catalog = Catalog::embedded();
    let (mut paths, mut none, mut multi) = (0, 0, 0);
    for own in catalog.entries().iter().filter(|e| !e.is_wildcard()) {
        let releases = releases(catalog, &own.component);
        let versions = path_versions(catalog, own);
        for (i, &current) in releases.iter().enumerate() {
            // Releases are consecutive minors within a major; add-ons that crossed a major
            // (cert-manager 0.x → 1.x) are checked on each major's line.
            for &target in releases[i..].iter().filter(|t| t.major == current.major) {
                let mut targets = Targets::new();
                targets.set(
                    own.component.clone(),
                    Target {
                        target,
                        current: Some(current),
                    },
                );
                let verdict = catalog.assess(&own.gvk.api_version, &own.gvk.kind, &targets);
                let chosen = catalog.migration_path(
                    &own.gvk.api_version,
                    &own.gvk.kind,
                    Some(current),
                    target,
                );
                if matches!(verdict.status, ApiStatus::Deprecated | ApiStatus::Removed) {
                    assert_eq!(verdict.path, chosen, "assess and migration_path agree");
                }
                let expected = if own.replacement.is_some() {
                    fewest_moves(catalog, own, &versions, current, target)
                } else {
                    None
                };
                match &chosen {
                    Some(path) => {
                        check_path(catalog, own, path, current, target);
                        paths += 1;
                        multi += usize::from(path.len() > 1);
                    }
                    None => none += 1,
                }
                assert_eq!(
                    chosen.as_ref().map(Vec::len),
                    expected,
                    "{} {} {current} → {target}: {chosen:?}",
                    own.gvk.api_version,
                    own.gvk.kind
                );
            }
        }
    }
    // The loop really covered paths of each shape.
    assert!(
        paths > 10_000 && none > 1_000 && multi > 100,
        "{paths} {none} {multi}"
    );
}

#[test]
fn the_issue_examples() {
    let c = Catalog::embedded();
    let names = |p: Option<Vec<MigrationStep<'_>>>| {
        p.unwrap()
            .iter()
            .map(|s| format!("{} {}-{}", s.api_version, s.earliest, s.latest))
            .collect::<Vec<_>>()
    };
    // FlowSchema v1beta2 from 1.27 to 1.33: v1beta3 before 1.29, then v1 in 1.29-1.31.
    let fs = c.migration_path(
        "flowcontrol.apiserver.k8s.io/v1beta2",
        "FlowSchema",
        Some(v("1.27")),
        v("1.33"),
    );
    assert_eq!(
        names(fs),
        [
            "flowcontrol.apiserver.k8s.io/v1beta3 1.27-1.28",
            "flowcontrol.apiserver.k8s.io/v1 1.29-1.31"
        ]
    );
    // MutatingAdmissionPolicy v1alpha1 on 1.34: v1beta1 is served there and at 1.35/1.36.
    for (target, window) in [("1.35", "1.34-1.34"), ("1.36", "1.34-1.35")] {
        let map = c.migration_path(
            "admissionregistration.k8s.io/v1alpha1",
            "MutatingAdmissionPolicy",
            Some(v("1.34")),
            v(target),
        );
        assert_eq!(
            names(map),
            [format!("admissionregistration.k8s.io/v1beta1 {window}")]
        );
    }
    // Without a current version, current = target: v1 is served at 1.36 and wins (GA).
    let map = c.migration_path(
        "admissionregistration.k8s.io/v1alpha1",
        "MutatingAdmissionPolicy",
        None,
        v("1.36"),
    );
    assert_eq!(names(map), ["admissionregistration.k8s.io/v1 1.36-1.36"]);
    // PodSecurityPolicy: no replacement, no path.
    assert_eq!(
        c.migration_path(
            "policy/v1beta1",
            "PodSecurityPolicy",
            Some(v("1.20")),
            v("1.25")
        ),
        None
    );
    // Still served at the target and no way before it: the move waits for the target.
    let hpa = c.migration_path(
        "autoscaling/v2beta2",
        "HorizontalPodAutoscaler",
        Some(v("1.20")),
        v("1.23"),
    );
    assert_eq!(names(hpa), ["autoscaling/v2 1.23-1.23"]);
    // batch/v2alpha1 CronJob, gone in 1.21: to v1beta1 at once, then v1 before 1.25.
    let cron = c.migration_path("batch/v2alpha1", "CronJob", Some(v("1.20")), v("1.25"));
    assert_eq!(
        names(cron),
        ["batch/v1beta1 1.20-1.20", "batch/v1 1.21-1.24"]
    );
    // Never back to an older generation: autoscaling/v2beta1 goes to v2beta2, not v1.
    let hpa = c.migration_path(
        "autoscaling/v2beta1",
        "HorizontalPodAutoscaler",
        None,
        v("1.22"),
    );
    assert_eq!(names(hpa), ["autoscaling/v2beta2 1.22-1.22"]);
}
