//! Regeneration from upstream sources, on hand-written copies of the generated lifecycle files
//! (`fixtures/upstream/`): three release snapshots of a few API packages.
#![allow(clippy::unwrap_used)] // tests fail loudly on purpose

use std::path::PathBuf;

fn snapshots() -> Vec<PathBuf> {
    let root = PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../fixtures/upstream/kubernetes-api"
    ));
    ["v0.20.15", "v0.21.14", "v0.36.3"]
        .iter()
        .map(|t| root.join(t))
        .collect()
}

#[test]
fn regeneration_reproduces_the_committed_rows_byte_for_byte() {
    let overrides = include_str!("../../data/source/overrides.csv");
    let committed = include_str!("../../data/source/kubernetes-apis.csv");
    let csv = api_catalog::upstream::regenerate(&snapshots(), overrides).unwrap();
    let committed_lines: std::collections::HashSet<&str> = committed.lines().collect();
    let mut from_tags = Vec::new();
    for line in csv.lines() {
        assert!(
            committed_lines.contains(line),
            "regenerated line not in the committed CSV: {line}"
        );
        if line.ends_with(",lifecycle-tags") {
            from_tags.push(line);
        }
    }
    // Every fixture kind (lists, option bodies and DeploymentRollback left out) came through,
    // with the newest snapshot's values (CronJob: deprecated 1.21 at v0.21, not 1.22 at v0.20)
    // and the kinds deleted by the last snapshot kept.
    assert_eq!(
        from_tags,
        [
            ",v1,Binding,1.0,,,,,,lifecycle-tags",
            ",v1,ConfigMap,1.2,,,,,,lifecycle-tags",
            "apps,v1beta1,Deployment,1.6,1.8,1.16,apps,v1,Deployment,lifecycle-tags",
            "batch,v1,CronJob,1.21,,,,,,lifecycle-tags",
            "batch,v1,Job,1.2,,,,,,lifecycle-tags",
            "batch,v1beta1,CronJob,1.8,1.21,1.25,batch,v1,CronJob,lifecycle-tags",
            "batch,v1beta1,JobTemplate,1.8,1.22,1.25,,,,lifecycle-tags",
            "flowcontrol.apiserver.k8s.io,v1,FlowSchema,1.29,,,,,,lifecycle-tags",
            "flowcontrol.apiserver.k8s.io,v1,PriorityLevelConfiguration,1.29,,,,,,lifecycle-tags",
            "flowcontrol.apiserver.k8s.io,v1beta3,FlowSchema,1.26,1.29,1.32,flowcontrol.apiserver.k8s.io,v1,FlowSchema,lifecycle-tags",
            "flowcontrol.apiserver.k8s.io,v1beta3,PriorityLevelConfiguration,1.26,1.29,1.32,flowcontrol.apiserver.k8s.io,v1,PriorityLevelConfiguration,lifecycle-tags",
            "networking.k8s.io,v1beta1,Ingress,1.14,1.19,1.22,networking.k8s.io,v1,Ingress,lifecycle-tags",
        ]
    );
    // The tags' typo (IngressClassList as the replacement) is corrected by the overrides.
    assert!(csv.contains("networking.k8s.io,v1beta1,IngressClass,1.18,1.19,1.22,networking.k8s.io,v1,IngressClass,migration-guide\n"));
    assert!(!csv.contains("IngressClassList"));
    // Every override row is in the output.
    for line in overrides.lines().skip(1) {
        assert!(csv.contains(&format!("{line}\n")), "{line}");
    }
}

#[test]
fn the_overrides_are_exactly_the_rows_not_taken_from_tags() {
    let overrides = include_str!("../../data/source/overrides.csv");
    let committed = include_str!("../../data/source/kubernetes-apis.csv");
    let not_tags: Vec<&str> = committed
        .lines()
        .skip(1)
        .filter(|l| !l.ends_with(",lifecycle-tags"))
        .collect();
    let listed: Vec<&str> = overrides.lines().skip(1).collect();
    assert_eq!(
        listed, not_tags,
        "overrides.csv must hold every row whose source is not lifecycle-tags"
    );
}

#[test]
fn a_directory_without_lifecycle_files_is_an_error() {
    let e = api_catalog::upstream::regenerate(
        &[PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("src")],
        "",
    )
    .unwrap_err();
    assert!(e.reason.contains("not a checkout"), "{e}");
}
