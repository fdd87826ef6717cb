//! User catalogs: upcheck's own schema and Pluto's versions.yaml, merged over the embedded one.
#![allow(clippy::unwrap_used)] // tests fail loudly on purpose

use api_catalog::{ApiStatus, CatalogBuilder, CatalogError, KubeVersion, Target, Targets};

fn fixture(name: &str) -> String {
    std::fs::read_to_string(format!(
        "{}/../fixtures/catalogs/{name}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
}

fn at(pairs: &[(&str, &str)]) -> Targets {
    let mut t = Targets::new();
    for (c, v) in pairs {
        t.set(
            *c,
            Target {
                target: v.parse().unwrap(),
                current: None,
            },
        );
    }
    t
}

#[test]
fn pluto_rows_are_honoured_with_their_targets() {
    let mut b = CatalogBuilder::embedded();
    let targets = b
        .add_pluto("pluto-versions.yaml", &fixture("pluto-versions.yaml"))
        .unwrap();
    assert_eq!(targets.get("other"), Some(&KubeVersion::new(1, 0)));
    let c = b.build().unwrap();
    // A custom component, judged at its own version line.
    let row = c.entry("someother/v1beta1", "AnotherCRD").unwrap();
    assert_eq!(
        (row.deprecated_in, row.removed_in),
        (Some(KubeVersion::new(1, 9)), Some(KubeVersion::new(1, 16)))
    );
    assert_eq!(row.replacement.as_ref().unwrap().api_version, "apps/v1");
    assert_eq!(
        row.replacement.as_ref().unwrap().available_in,
        Some(KubeVersion::new(1, 10))
    );
    assert_eq!(
        c.assess("someother/v1beta1", "AnotherCRD", &at(&[("other", "1.16")]))
            .status,
        ApiStatus::Removed
    );
    assert_eq!(
        c.assess("someother/v1beta1", "AnotherCRD", &at(&[("other", "1.9")]))
            .status,
        ApiStatus::Deprecated
    );
    // An empty kind matches every kind of the apiVersion.
    assert_eq!(
        c.assess(
            "legacy.example.com/v1alpha1",
            "Gadget",
            &at(&[("other", "1.0")])
        )
        .status,
        ApiStatus::Removed
    );
    assert_eq!(
        c.assess(
            "legacy.example.com/v1alpha1",
            "Anything",
            &at(&[("other", "0.5")])
        )
        .status,
        ApiStatus::Deprecated
    );
    // The built-in row with the same group/version/kind is replaced, and that is recorded.
    assert_eq!(
        c.entry("extensions/v1beta1", "Deployment").unwrap().origin,
        "pluto-versions.yaml"
    );
    assert_eq!(c.meta().overrides.len(), 1);
    assert_eq!(c.meta().overrides[0].api, "extensions/v1beta1 Deployment");
}

#[test]
fn a_pluto_file_with_a_syntax_error_is_refused_with_its_position() {
    let mut b = CatalogBuilder::embedded();
    let e = b
        .add_pluto("pluto-broken.yaml", &fixture("pluto-broken.yaml"))
        .unwrap_err();
    assert!(
        matches!(
            e,
            CatalogError::Parse {
                line: 6,
                column: 17,
                ..
            }
        ),
        "{e}"
    );
    assert!(e.to_string().starts_with("pluto-broken.yaml:6:17: "), "{e}");
    // Nothing of it was kept.
    assert!(
        b.build()
            .unwrap()
            .entry("someother/v1beta1", "AnotherCRD")
            .is_none()
    );
}

#[test]
fn a_pluto_file_with_a_bad_value_names_line_and_field() {
    let e = CatalogBuilder::embedded()
        .add_pluto("bad.yaml", &fixture("pluto-bad-version.yaml"))
        .unwrap_err();
    insta::assert_snapshot!(e.to_string(), @r#"bad.yaml:4: someother/v1beta1 AnotherCRD: field `removed-in`: invalid version "v1.sixteen": expected MAJOR.MINOR or MAJOR.MINOR.PATCH with an optional suffix, such as 1.29, v1.29.4 or v1.29.4-eks-a1b2c3"#);
    let e = CatalogBuilder::embedded()
        .add_pluto(
            "x.yaml",
            "deprecated-versions:\n  - version: a/v1\n    kind: K\n    removed-in: v1.2.0\n",
        )
        .unwrap_err();
    assert!(
        e.to_string().contains("field `component`: is required"),
        "{e}"
    );
    // Pluto treats an unprefixed version as always reached; upcheck reads it as a version.
    let mut b = CatalogBuilder::new();
    b.add_pluto("x.yaml", "deprecated-versions:\n  - version: a/v1\n    kind: K\n    removed-in: \"1.22\"\n    component: c\n").unwrap();
    let c = b.build().unwrap();
    assert_eq!(
        c.entry("a/v1", "K").unwrap().removed_in,
        Some(KubeVersion::new(1, 22))
    );
}

#[test]
fn own_schema_catalog_adds_components_and_overrides_rows() {
    let mut b = CatalogBuilder::embedded();
    b.add_yaml("team.yaml", &fixture("team.yaml")).unwrap();
    let c = b.build().unwrap();
    assert_eq!(c.component("widgets").unwrap().title, "Widget operator");
    let widget = c.assess("example.com/v1beta1", "Widget", &at(&[("widgets", "2.0")]));
    assert_eq!(widget.status, ApiStatus::Removed);
    assert_eq!(
        widget.entry.unwrap().migration,
        ["spec.size becomes spec.replicas"]
    );
    let endpoints = c.assess("v1", "Endpoints", &at(&[("k8s", "1.36")]));
    assert_eq!(endpoints.status, ApiStatus::Removed);
    assert_eq!(c.meta().overrides[0].api, "v1 Endpoints");
    assert_eq!(c.meta().sources, ["embedded", "team.yaml"]);
}

#[test]
fn a_malformed_catalog_is_refused_whole() {
    for (file, expected) in [
        (
            "invalid-unknown-field.yaml",
            "invalid-unknown-field.yaml:6:5: unknown field `remove`",
        ),
        (
            "invalid-unquoted-version.yaml",
            "invalid-unquoted-version.yaml:6:14: version 1.3 must be written as a quoted string",
        ),
    ] {
        let mut b = CatalogBuilder::embedded();
        let e = b.add_yaml(file, &fixture(file)).unwrap_err();
        assert!(e.to_string().starts_with(expected), "{e}");
        assert!(
            b.build()
                .unwrap()
                .entry("example.com/v1", "Thing")
                .is_none()
        );
    }
    // A good row before a bad one is not kept either.
    let mut b = CatalogBuilder::embedded();
    let text = "schema_version: 1\napis:\n  - component: k8s\n    api_version: example.com/v1\n    kind: Good\n  - component: nope\n    api_version: example.com/v1\n    kind: Bad\n";
    let e = b.add_yaml("half.yaml", text).unwrap_err();
    assert!(e.to_string().contains("component \"nope\""), "{e}");
    assert!(b.build().unwrap().entry("example.com/v1", "Good").is_none());
}

#[test]
fn exported_catalog_reads_back_to_the_same_rows() {
    let original = api_catalog::Catalog::embedded();
    let yaml = serde_saphyr::to_string(&original.export(|_| true)).unwrap();
    let json = serde_json::to_string(&original.export(|_| true)).unwrap();
    for (name, text) in [("yaml", yaml), ("json", json)] {
        let mut b = CatalogBuilder::new();
        b.add_yaml(name, &text).unwrap();
        let back = b.build().unwrap();
        assert_eq!(back.entries().len(), original.entries().len(), "{name}");
        for (a, b) in original.entries().iter().zip(back.entries()) {
            assert_eq!(
                (
                    &a.gvk,
                    a.introduced,
                    a.deprecated_in,
                    a.removed_in,
                    &a.replacement,
                    &a.migration,
                    &a.link
                ),
                (
                    &b.gvk,
                    b.introduced,
                    b.deprecated_in,
                    b.removed_in,
                    &b.replacement,
                    &b.migration,
                    &b.link
                ),
                "{name}"
            );
        }
    }
}
