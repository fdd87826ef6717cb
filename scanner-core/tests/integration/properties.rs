//! Property test: the report does not depend on the thread count or on the order the inputs
//! were given in.
#![allow(clippy::unwrap_used)] // tests fail loudly on purpose

use std::fmt::Write as _;

use proptest::prelude::*;
use scanner_core::{Catalog, Input, KubeVersion, Report, ScanSettings, Scanner, Targets};

const API_VERSIONS: &[(&str, &str)] = &[
    ("extensions/v1beta1", "Ingress"),
    ("networking.k8s.io/v1", "Ingress"),
    ("batch/v1beta1", "CronJob"),
    ("policy/v1beta1", "PodDisruptionBudget"),
    ("policy/v1beta1", "PodSecurityPolicy"),
    ("apps/v1beta2", "Deployment"),
    ("apps/v1", "Deployment"),
    ("autoscaling/v2beta2", "HorizontalPodAutoscaler"),
    ("flowcontrol.apiserver.k8s.io/v1beta3", "FlowSchema"),
    ("cert-manager.io/v1alpha2", "Certificate"),
    ("apps/v1beta3", "Deployment"),
];

/// One document: an object, a broken document, or an empty one.
fn document() -> impl Strategy<Value = String> {
    prop_oneof![
        8 => (0..API_VERSIONS.len(), "[a-c]{1,2}", proptest::option::of("[x-z]")).prop_map(|(i, name, ns)| {
            let (api_version, kind) = API_VERSIONS[i];
            let mut doc = format!("apiVersion: {api_version}\nkind: {kind}\nmetadata:\n  name: {name}\n");
            if let Some(ns) = ns {
                let _ = writeln!(doc, "  namespace: {ns}");
            }
            doc
        }),
        1 => Just("apiVersion: v1\nkind: [broken\n".to_owned()),
        1 => Just("# nothing\n".to_owned()),
    ]
}

/// Files with a few documents each, under distinct names in a few directories.
fn files() -> impl Strategy<Value = Vec<(String, String)>> {
    proptest::collection::vec(proptest::collection::vec(document(), 1..4), 1..12).prop_map(
        |files| {
            files
                .into_iter()
                .enumerate()
                .map(|(i, docs)| (format!("dir{}/f{i}.yaml", i % 3), docs.join("---\n")))
                .collect()
        },
    )
}

fn scan(files: &[(String, String)], threads: usize) -> Report {
    let mut settings = ScanSettings::new(Targets::kubernetes(KubeVersion::new(1, 25), None));
    settings.targets.set(
        "cert-manager",
        scanner_core::Target {
            target: KubeVersion::new(1, 12),
            current: None,
        },
    );
    let inputs = files
        .iter()
        .map(|(name, text)| Input::Bytes {
            name: name.clone(),
            bytes: text.clone().into_bytes(),
        })
        .collect();
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .unwrap()
        .install(|| Scanner::new(Catalog::embedded(), settings).scan(inputs))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn report_order_is_independent_of_threads_and_input_order(
        files in files(),
        threads in 1usize..5,
        rotate in any::<proptest::sample::Index>(),
        reverse in any::<bool>(),
    ) {
        let one = serde_json::to_string(&scan(&files, 1)).unwrap();
        let mut shuffled = files.clone();
        shuffled.rotate_left(rotate.index(files.len()));
        if reverse {
            shuffled.reverse();
        }
        let other = serde_json::to_string(&scan(&shuffled, threads)).unwrap();
        prop_assert_eq!(&one, &other);

        // And the order is the documented one: by path, then document, then item.
        let report = scan(&files, threads);
        let keys: Vec<_> = report
            .findings
            .iter()
            .map(|f| (f.location.path.clone(), f.location.document, f.location.item))
            .collect();
        let mut sorted = keys.clone();
        sorted.sort();
        prop_assert_eq!(keys, sorted);
    }
}

mod snapshots {
    use proptest::prelude::*;
    use scanner_core::snapshot::{
        Crd, Diff, DiffOptions, HelmStatus, Node, Pdb, Pod, Snapshot, Workload, diff,
    };

    const VERSIONS: &[&str] = &[
        "v1",
        "apps/v1",
        "policy/v1",
        "policy/v1beta1",
        "extensions/v1beta1",
        "autoscaling/v2beta2",
        "batch/v1beta1",
    ];
    const POOLS: &[&str] = &["ng-a", "control-plane", "kubelet 1.33", "kubelet 1.34"];
    const PHASES: &[&str] = &["Running", "Pending", "Failed", "Succeeded"];
    const KINDS: &[&str] = &["Deployment", "StatefulSet", "DaemonSet", "Job"];
    const STATUSES: &[&str] = &["deployed", "failed", "superseded", "pending-upgrade"];

    fn versions() -> impl Strategy<Value = Vec<String>> {
        proptest::sample::subsequence(VERSIONS, 0..VERSIONS.len())
            .prop_map(|v| v.into_iter().map(str::to_owned).collect())
    }

    /// A snapshot as a capture makes one: names unique within their kind.
    fn snapshot() -> impl Strategy<Value = Snapshot> {
        let nodes = proptest::collection::vec((0..POOLS.len(), any::<bool>()), 0..6);
        let workloads =
            proptest::collection::vec((0..KINDS.len(), 0u32..4, 0u32..4, any::<bool>()), 0..5);
        let pods = proptest::collection::vec(
            (0usize..6, 0..PHASES.len(), 1usize..3, 0u32..3, 0u32..9),
            0..8,
        );
        let pdbs = proptest::collection::vec(-1i64..3, 0..3);
        let helm = proptest::collection::vec((1u64..5, 0..STATUSES.len(), versions()), 0..3);
        (
            nodes,
            workloads,
            pods,
            pdbs,
            helm,
            versions(),
            versions(),
            any::<bool>(),
        )
            .prop_map(|(nodes, workloads, pods, pdbs, helm, served, used, gap)| {
                let mut s = Snapshot::empty();
                s.nodes = nodes
                    .into_iter()
                    .enumerate()
                    .map(|(i, (pool, ready))| Node {
                        name: format!("n{i}"),
                        pool: POOLS[pool].to_owned(),
                        kubelet: "v1.34.1".into(),
                        runtime: "containerd://2.1.0".into(),
                        os_image: "Ubuntu".into(),
                        ready,
                        unschedulable: false,
                    })
                    .collect();
                s.workloads = workloads
                    .iter()
                    .enumerate()
                    .map(|(i, &(kind, desired, ready, failed))| Workload {
                        kind: KINDS[kind].to_owned(),
                        namespace: Some("ns".into()),
                        name: format!("w{i}"),
                        desired,
                        ready,
                        images: vec![format!("img:{i}")],
                        failed,
                    })
                    .collect();
                s.pods = pods
                    .into_iter()
                    .enumerate()
                    .map(|(i, (owner, phase, containers, ready, restarts))| Pod {
                        namespace: "ns".into(),
                        name: format!("p{i}"),
                        owner: s.workloads.get(owner).map_or_else(
                            || format!("Pod ns/p{i}"),
                            |w| format!("{} ns/{}", w.kind, w.name),
                        ),
                        node: None,
                        phase: PHASES[phase].to_owned(),
                        containers: (0..containers).map(|c| format!("c{c}")).collect(),
                        ready,
                        restarts,
                    })
                    .collect();
                s.pdbs = pdbs
                    .into_iter()
                    .enumerate()
                    .map(|(i, allowed)| Pdb {
                        namespace: "ns".into(),
                        name: format!("pdb{i}"),
                        allowed_disruptions: allowed,
                    })
                    .collect();
                s.helm = helm
                    .into_iter()
                    .enumerate()
                    .map(|(i, (revision, status, api_versions))| HelmStatus {
                        namespace: "ns".into(),
                        name: format!("r{i}"),
                        revision,
                        status: STATUSES[status].to_owned(),
                        chart: None,
                        api_versions,
                    })
                    .collect();
                s.crds = vec![Crd {
                    name: "widgets.example.com".into(),
                    served: vec!["v1".into()],
                    stored: vec!["v1alpha1".into(), "v1".into()],
                }];
                s.served = served;
                s.used_api_versions = used;
                if gap {
                    s.unavailable = vec!["poddisruptionbudgets.policy: forbidden".into()];
                }
                s
            })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(300))]

        #[test]
        fn a_snapshot_diffed_with_itself_is_empty(s in snapshot(), threshold in 0u32..5) {
            let d = diff(&s, &s, &DiffOptions { restart_threshold: threshold });
            prop_assert_eq!(d, Diff::default());
        }
    }
}
