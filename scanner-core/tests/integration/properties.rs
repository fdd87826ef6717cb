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
