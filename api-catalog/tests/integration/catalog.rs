//! Catalog data invariants and lookup semantics.
#![allow(clippy::unwrap_used)] // tests fail loudly on purpose

use api_catalog::{
    ApiStatus, Catalog, CatalogError, KubeVersion, Lookup, MatchBasis, Target, Targets,
};

fn v(s: &str) -> KubeVersion {
    s.parse().unwrap()
}

fn at(target: &str) -> Targets {
    Targets::kubernetes(v(target), None)
}

fn at_from(target: &str, current: &str) -> Targets {
    Targets::kubernetes(v(target), Some(v(current)))
}

#[test]
fn embedded_catalog_matches_its_sources() {
    let generated =
        api_catalog::import::generate_from_dir(std::path::Path::new(env!("CARGO_MANIFEST_DIR")))
            .unwrap();
    assert!(
        generated.kubernetes_yaml == api_catalog::KUBERNETES_YAML
            && generated.components_yaml == api_catalog::COMPONENTS_YAML,
        "data/*.yaml is stale: run `cargo run -p api-catalog --example regenerate`"
    );
}

/// Every row of both source CSVs is in the embedded catalog with the same facts. Where the
/// CSV names no replacement but one was derived, the entry says so.
#[test]
fn embedded_catalog_has_every_csv_row() {
    let k8s = include_str!("../../data/source/kubernetes-apis.csv");
    let components = include_str!("../../data/source/component-apis.csv");
    let mut rows: Vec<(String, Vec<&str>)> = Vec::new();
    for line in k8s.lines().skip(1).filter(|l| !l.is_empty()) {
        rows.push(("k8s".to_owned(), line.split(',').collect()));
    }
    for line in components.lines().skip(1).filter(|l| !l.is_empty()) {
        let c: Vec<&str> = line.split(',').collect();
        rows.push((c[0].to_owned(), c[1..].to_vec()));
    }
    assert_eq!(rows.len(), 215 + 35);
    assert_eq!(Catalog::embedded().entries().len(), rows.len());
    let gv = |g: &str, v: &str| {
        if g.is_empty() {
            v.to_owned()
        } else {
            format!("{g}/{v}")
        }
    };
    for (component, c) in &rows {
        let e = Catalog::embedded()
            .entry(&gv(c[0], c[1]), c[2])
            .unwrap_or_else(|| panic!("missing {c:?}"));
        let ver = |v: Option<KubeVersion>| v.map(|x| x.to_string()).unwrap_or_default();
        assert_eq!(&e.component, component, "{c:?}");
        assert_eq!(ver(e.introduced), c[3], "{c:?}");
        assert_eq!(ver(e.deprecated_in), c[4], "{c:?}");
        assert_eq!(ver(e.removed_in), c[5], "{c:?}");
        match (&e.replacement, c[7]) {
            (None, "") => {}
            (Some(r), "") => assert!(
                r.derived,
                "{c:?}: replacement not in the CSV and not marked derived"
            ),
            (Some(r), version) => {
                assert!(!r.derived, "{c:?}");
                assert_eq!(r.api_version, gv(c[6], version), "{c:?}");
                assert_eq!(r.kind.as_deref().unwrap_or_default(), c[8], "{c:?}");
            }
            (None, _) => panic!("{c:?}: replacement lost"),
        }
    }
}

/// Replacements the upstream data leaves out, derived as the most preferred other version of
/// the same kind in the same group that outlives the old one. Reviewed: every line here.
#[test]
fn derived_replacements_are_exactly_these() {
    let derived: Vec<String> = Catalog::embedded()
        .entries()
        .iter()
        .filter_map(|e| {
            let r = e.replacement.as_ref().filter(|r| r.derived)?;
            Some(format!("{} -> {}", e.gvk, r.display()))
        })
        .collect();
    insta::assert_snapshot!(derived.join("\n"));
    // The real cases of "no replacement" stay so.
    for (api, kind) in [
        ("policy/v1beta1", "PodSecurityPolicy"),
        ("v1", "ComponentStatus"),
        ("settings.k8s.io/v1alpha1", "PodPreset"),
        ("auditregistration.k8s.io/v1alpha1", "AuditSink"),
        ("batch/v1beta1", "JobTemplate"),
    ] {
        assert!(
            Catalog::embedded()
                .entry(api, kind)
                .unwrap()
                .replacement
                .is_none(),
            "{api} {kind}"
        );
    }
}

#[test]
fn entries_are_sorted_unique_and_consistent() {
    let entries = Catalog::embedded().entries();
    for pair in entries.windows(2) {
        let key = |e: &api_catalog::ApiEntry| {
            (
                e.component.clone(),
                e.gvk.group().to_owned(),
                e.gvk.version().to_owned(),
                e.gvk.kind.clone(),
            )
        };
        assert!(
            key(&pair[0]) < key(&pair[1]),
            "{} before {}",
            pair[0].gvk,
            pair[1].gvk
        );
    }
    for e in entries {
        if let (Some(d), Some(r)) = (e.deprecated_in, e.removed_in) {
            assert!(d <= r, "{}", e.gvk);
        }
        assert!(
            e.link.as_deref().is_some_and(|l| l.starts_with("https://")),
            "{}",
            e.gvk
        );
        // A replacement must be usable before the old API goes away. Alpha versions carry no
        // such promise (discovery v1alpha1 went in 1.17, its v1 successor came in 1.21).
        if let (Some(rep), Some(r), false) = (
            &e.replacement,
            e.removed_in,
            e.gvk.version().contains("alpha"),
        ) && let Some(a) = rep.available_in
        {
            {
                assert!(
                    a <= r,
                    "{}: replacement {} only from {a}, removed {r}",
                    e.gvk,
                    rep.display()
                );
            }
        }
    }
}

#[test]
fn default_target_is_newest_release() {
    let k8s = Catalog::embedded().component("k8s").unwrap();
    assert_eq!(k8s.newest_release, Some(v("1.37")));
    assert!(k8s.complete);
}

/// One object removed in each release the guide documents, plus later beta removals.
#[test]
fn removed_exactly_at_the_removal_release() {
    let cases = [
        ("extensions/v1beta1", "Deployment", "1.16"),
        ("apps/v1beta2", "StatefulSet", "1.16"),
        ("extensions/v1beta1", "Ingress", "1.22"),
        ("networking.k8s.io/v1beta1", "Ingress", "1.22"),
        (
            "apiextensions.k8s.io/v1beta1",
            "CustomResourceDefinition",
            "1.22",
        ),
        ("batch/v1beta1", "CronJob", "1.25"),
        ("policy/v1beta1", "PodSecurityPolicy", "1.25"),
        ("autoscaling/v2beta2", "HorizontalPodAutoscaler", "1.26"),
        ("flowcontrol.apiserver.k8s.io/v1beta1", "FlowSchema", "1.26"),
        ("storage.k8s.io/v1beta1", "CSIStorageCapacity", "1.27"),
        (
            "flowcontrol.apiserver.k8s.io/v1beta2",
            "PriorityLevelConfiguration",
            "1.29",
        ),
        ("flowcontrol.apiserver.k8s.io/v1beta3", "FlowSchema", "1.32"),
        ("authentication.k8s.io/v1beta1", "SelfSubjectReview", "1.33"),
        (
            "admissionregistration.k8s.io/v1beta1",
            "ValidatingAdmissionPolicy",
            "1.34",
        ),
        ("networking.k8s.io/v1beta1", "IPAddress", "1.37"),
        ("storage.k8s.io/v1beta1", "VolumeAttributesClass", "1.37"),
    ];
    let c = Catalog::embedded();
    for (api_version, kind, removed) in cases {
        let r = v(removed);
        let before = KubeVersion::new(r.major, r.minor - 1);
        assert_eq!(
            c.assess(api_version, kind, &at(removed)).status,
            ApiStatus::Removed,
            "{api_version} {kind}"
        );
        assert_ne!(
            c.assess(api_version, kind, &Targets::kubernetes(before, None))
                .status,
            ApiStatus::Removed,
            "{api_version} {kind} at {before}"
        );
    }
}

#[test]
fn deprecated_from_deprecation_until_removal() {
    let c = Catalog::embedded();
    assert_eq!(
        c.assess("batch/v1beta1", "CronJob", &at("1.20")).status,
        ApiStatus::Served
    );
    assert_eq!(
        c.assess("batch/v1beta1", "CronJob", &at("1.21")).status,
        ApiStatus::Deprecated
    );
    assert_eq!(
        c.assess("batch/v1beta1", "CronJob", &at("1.24")).status,
        ApiStatus::Deprecated
    );
    assert_eq!(
        c.assess("batch/v1beta1", "CronJob", &at("1.25")).status,
        ApiStatus::Removed
    );
    // A GA deprecation without removal (written only as a type comment upstream).
    assert_eq!(
        c.assess("v1", "Endpoints", &at("1.33")).status,
        ApiStatus::Deprecated
    );
    assert_eq!(
        c.assess("apps/v1", "Deployment", &at("1.37")).status,
        ApiStatus::Served
    );
}

#[test]
fn a_kind_under_two_groups_is_matched_per_group() {
    let c = Catalog::embedded();
    let ext = c.assess("extensions/v1beta1", "Ingress", &at("1.20"));
    let net = c.assess("networking.k8s.io/v1beta1", "Ingress", &at("1.20"));
    assert_eq!(ext.lifecycle.deprecated_in, Some(v("1.14")));
    assert_eq!(net.lifecycle.deprecated_in, Some(v("1.19")));
    assert_eq!(
        c.assess("networking.k8s.io/v1", "Ingress", &at("1.37"))
            .status,
        ApiStatus::Served
    );
}

#[test]
fn versions_that_never_existed_in_builtin_groups_are_unknown() {
    let c = Catalog::embedded();
    for (api_version, kind) in [
        ("apps/v1beta3", "Deployment"),
        ("networking.k8s.io/v2", "Ingress"),
        ("v1beta3", "Pod"),
        ("v2", "ConfigMap"),
    ] {
        let verdict = c.assess(api_version, kind, &at("1.30"));
        assert_eq!(verdict.status, ApiStatus::Unknown, "{api_version}");
        assert_eq!(verdict.basis, MatchBasis::UnknownVersion);
    }
    // Bare versions of tools' own configuration files are not Kubernetes objects.
    for (api_version, kind) in [("v1alpha1", "ImagePrefix"), ("0.1.0", "ksonnet.io/app")] {
        assert_eq!(
            c.assess(api_version, kind, &at("1.30")).status,
            ApiStatus::NotCovered,
            "{api_version}"
        );
    }
    // Served alphas without lifecycle data are not unknown.
    assert_eq!(
        c.assess("scheduling.k8s.io/v1alpha3", "PodGroup", &at("1.37"))
            .status,
        ApiStatus::NotCovered
    );
    // Groups the catalog does not know are not judged at all.
    for api_version in [
        "cert-manager.io/v1",
        "example.com/v1alpha1",
        "autoscaling.k8s.io/v1",
        "kustomize.config.k8s.io/v1beta1",
    ] {
        assert_eq!(
            c.lookup(api_version, "X"),
            Lookup::NotCovered,
            "{api_version}"
        );
        assert_eq!(
            c.assess(api_version, "X", &at("1.30")).status,
            ApiStatus::NotCovered
        );
    }
}

#[test]
fn unlisted_kind_follows_its_group_version_only_when_all_kinds_agree() {
    let c = Catalog::embedded();
    // apps/v1beta1 is gone as a whole since 1.16.
    let rollback = c.assess("apps/v1beta1", "DeploymentRollback", &at("1.25"));
    assert_eq!(rollback.status, ApiStatus::Removed);
    assert_eq!(rollback.basis, MatchBasis::GroupVersion);
    assert_eq!(rollback.lifecycle.removed_in, Some(v("1.16")));
    // core v1 is served: a List or Status is not a finding.
    assert_eq!(
        c.assess("v1", "List", &at("1.37")).status,
        ApiStatus::Served
    );
    assert_eq!(
        c.assess("v1", "ConfigMapList", &at("1.37")).status,
        ApiStatus::Served
    );
}

#[test]
fn no_replacement_means_none_not_unavailable() {
    let c = Catalog::embedded();
    let psp = c.assess("policy/v1beta1", "PodSecurityPolicy", &at("1.25"));
    assert_eq!(psp.status, ApiStatus::Removed);
    assert!(psp.replacement.is_none());
    assert_eq!(psp.replacement_available, None);
}

#[test]
fn replacement_availability_uses_current_then_target() {
    let c = Catalog::embedded();
    // autoscaling/v2 arrived in 1.23: at 1.22 the deprecated v2beta1 has nowhere to go yet.
    let hpa = c.assess(
        "autoscaling/v2beta1",
        "HorizontalPodAutoscaler",
        &at("1.22"),
    );
    assert_eq!(hpa.status, ApiStatus::Deprecated);
    assert_eq!(hpa.replacement_available, Some(false));
    assert_eq!(
        c.assess(
            "autoscaling/v2beta1",
            "HorizontalPodAutoscaler",
            &at("1.25")
        )
        .replacement_available,
        Some(true)
    );
    // From 1.20 to 1.25, batch/v1 CronJob (1.21) is not there yet to migrate to before upgrading.
    let cron = c.assess("batch/v1beta1", "CronJob", &at_from("1.25", "1.20"));
    assert_eq!(cron.status, ApiStatus::Removed);
    assert_eq!(cron.replacement_available, Some(false));
    let cron = c.assess("batch/v1beta1", "CronJob", &at_from("1.25", "1.21"));
    assert_eq!(cron.replacement_available, Some(true));
}

#[test]
fn replacement_chain_is_followed_to_a_served_api() {
    let c = Catalog::embedded();
    let fs = c.assess(
        "flowcontrol.apiserver.k8s.io/v1beta2",
        "FlowSchema",
        &at("1.29"),
    );
    assert_eq!(
        fs.replacement.unwrap().api_version,
        "flowcontrol.apiserver.k8s.io/v1beta3"
    );
    let fs = c.assess(
        "flowcontrol.apiserver.k8s.io/v1beta2",
        "FlowSchema",
        &at("1.32"),
    );
    assert_eq!(
        fs.replacement.unwrap().api_version,
        "flowcontrol.apiserver.k8s.io/v1"
    );
    assert_eq!(fs.replacement.unwrap().available_in, Some(v("1.29")));
    // extensions PSP → policy/v1beta1 PSP, itself gone in 1.25 without successor.
    let psp = c.assess("extensions/v1beta1", "PodSecurityPolicy", &at("1.25"));
    assert!(psp.replacement.is_none());
    let psp = c.assess("extensions/v1beta1", "PodSecurityPolicy", &at("1.20"));
    assert_eq!(psp.replacement.unwrap().api_version, "policy/v1beta1");
}

/// Regression tests for catalog defects of peer tools (docs/peer-tools.md, item 36).
#[test]
fn peer_catalog_defects_are_not_repeated() {
    let c = Catalog::embedded();
    let e = |a: &str, k: &str| c.entry(a, k).unwrap_or_else(|| panic!("{a} {k} missing"));
    assert_eq!(
        e("flowcontrol.apiserver.k8s.io/v1beta1", "FlowSchema").removed_in,
        Some(v("1.26"))
    );
    assert!(
        c.entry("flowcontrol.apiserver.k8s.io/v1beta1", "FlowControl")
            .is_none()
    );
    assert_eq!(
        e("flowcontrol.apiserver.k8s.io/v1beta3", "FlowSchema").deprecated_in,
        Some(v("1.29"))
    );
    assert_eq!(
        e(
            "flowcontrol.apiserver.k8s.io/v1beta3",
            "PriorityLevelConfiguration"
        )
        .deprecated_in,
        Some(v("1.29"))
    );
    assert!(c.entry("apps/v1beta1", "ReplicaSet").is_none());
    assert_eq!(
        e("extensions/v1beta1", "ReplicaSet").deprecated_in,
        Some(v("1.8"))
    );
    assert_eq!(
        e(
            "admissionregistration.k8s.io/v1alpha1",
            "ValidatingAdmissionPolicy"
        )
        .removed_in,
        Some(v("1.32"))
    );
    assert_eq!(
        e(
            "admissionregistration.k8s.io/v1beta1",
            "ValidatingAdmissionPolicy"
        )
        .removed_in,
        Some(v("1.34"))
    );
    assert_eq!(
        e("storage.k8s.io/v1beta1", "VolumeAttributesClass").removed_in,
        Some(v("1.37"))
    );
    assert_eq!(
        e("authorization.k8s.io/v1beta1", "SubjectAccessReview").removed_in,
        Some(v("1.22"))
    );
    assert_eq!(
        e("authorization.k8s.io/v1beta1", "SelfSubjectRulesReview").removed_in,
        Some(v("1.22"))
    );
    assert_eq!(
        e("apps/v1beta2", "ControllerRevision").removed_in,
        Some(v("1.16"))
    );
    assert_eq!(e("batch/v2alpha1", "CronJob").removed_in, Some(v("1.21")));
    assert_eq!(
        e("events.k8s.io/v1beta1", "Event").removed_in,
        Some(v("1.25"))
    );
    assert_eq!(
        e("events.k8s.io/v1beta1", "Event").deprecated_in,
        Some(v("1.22"))
    );
    assert_eq!(
        e("apps/v1beta1", "Deployment").deprecated_in,
        Some(v("1.8"))
    );
    assert!(
        e("policy/v1beta1", "PodSecurityPolicy")
            .removed_in
            .is_some()
    );
    assert!(
        e("autoscaling/v2beta2", "HorizontalPodAutoscaler")
            .removed_in
            .is_some()
    );
    assert_eq!(
        e("apiextensions.k8s.io/v1beta1", "CustomResourceDefinition").removed_in,
        Some(v("1.22"))
    );
    assert_eq!(
        e("apiregistration.k8s.io/v1beta1", "APIService").removed_in,
        Some(v("1.22"))
    );
    assert_eq!(e("v1", "ComponentStatus").deprecated_in, Some(v("1.19")));
    assert_eq!(
        e("networking.k8s.io/v1beta1", "IngressClass")
            .replacement
            .as_ref()
            .unwrap()
            .kind
            .as_deref()
            .unwrap(),
        "IngressClass"
    );
    assert_eq!(
        e("rbac.authorization.k8s.io/v1alpha1", "Role").removed_in,
        Some(v("1.23"))
    );
    // Every replacement with a recorded introduction has its availability filled in.
    for entry in c.entries() {
        if let Some(rep) = &entry.replacement
            && c.entry(&rep.api_version, rep.kind.as_deref().unwrap_or_default())
                .and_then(|r| r.introduced)
                .is_some()
        {
            assert!(rep.available_in.is_some(), "{}", entry.gvk);
        }
    }
}

#[test]
fn component_without_target_is_not_judged() {
    let c = Catalog::embedded();
    let mut targets = Targets::new();
    targets.set(
        "cert-manager",
        Target {
            target: v("1.7"),
            current: None,
        },
    );
    assert_eq!(
        c.assess("extensions/v1beta1", "Ingress", &targets).status,
        ApiStatus::NotJudged
    );
    assert_eq!(
        c.assess("apps/v1beta3", "Deployment", &targets).status,
        ApiStatus::NotJudged
    );
}

fn load_err(yaml: &str) -> CatalogError {
    Catalog::from_yaml("test.yaml", yaml).expect_err("catalog should be refused")
}

const HEADER: &str = "schema_version: 1\ncomponents:\n  - name: k8s\n    complete: true\napis:\n";

#[test]
fn invalid_catalogs_name_the_file_line_and_field() {
    let e = load_err(&format!(
        "{HEADER}  - component: k8s\n    api_version: apps/v1\n    kind: Deployment\n    deprecated: \"1.20\"\n    removed: \"1.16\"\n"
    ));
    insta::assert_snapshot!(e.to_string(), @r#"test.yaml:7: apps/v1 Deployment: field `deprecated`: deprecated in 1.20, after its removal in 1.16"#);

    let e = load_err(&format!(
        "{HEADER}  - component: k8s\n    api_version: apps/v1\n    kind: Deployment\n    remove: \"1.16\"\n"
    ));
    assert!(
        e.to_string()
            .starts_with("test.yaml:9:5: unknown field `remove`"),
        "{e}"
    );

    let e = load_err(&format!(
        "{HEADER}  - component: k8s\n    api_version: apps/v1\n    kind: Deployment\n    removed: 1.30\n"
    ));
    assert!(e.to_string().contains("quoted"), "{e}");

    let e = load_err(&format!(
        "{HEADER}  - component: istio\n    api_version: a/v1\n    kind: K\n"
    ));
    insta::assert_snapshot!(e.to_string(), @r#"test.yaml:7: a/v1 K: field `component`: component "istio" is not declared under `components` (nor built in)"#);

    let e = load_err(&format!(
        "{HEADER}  - component: k8s\n    api_version: a/v1\n    kind: K\n  - component: k8s\n    api_version: a/v1\n    kind: K\n"
    ));
    insta::assert_snapshot!(e.to_string(), @"test.yaml:10: a/v1 K: field `kind`: listed twice");

    let e = load_err(&format!(
        "{HEADER}  - component: k8s\n    api_version: a/v1\n    kind: K\n    replacement: {{api_version: a/v2, kind: K}}\n  - component: k8s\n    api_version: a/v2\n    kind: K\n    replacement: {{api_version: a/v1, kind: K}}\n"
    ));
    assert!(e.to_string().contains("loop"), "{e}");

    let e = load_err("schema_version: 2\napis: []\n");
    insta::assert_snapshot!(e.to_string(), @"test.yaml:1: catalog: field `schema_version`: this upcheck reads schema version 1, the file has 2");

    let e = load_err(&format!(
        "{HEADER}  - component: k8s\n    api_version: a/b/c\n    kind: K\n"
    ));
    assert!(e.to_string().contains("more than one '/'"), "{e}");
}
