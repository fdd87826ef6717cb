//! `upcheck catalog ...`, add-on components, user catalogs and Pluto files, end to end.
#![allow(clippy::unwrap_used)] // tests fail loudly on purpose

use std::fmt::Write as _;
use std::time::Duration;

use crate::common::{upcheck, upcheck_with, workspace};
use upcheck_test_server::{Scenario, Server};

/// Every row of both source CSVs is answered identically by `catalog list -o json`.
#[test]
fn catalog_list_json_answers_every_csv_row() {
    let run = upcheck(&["catalog", "list", "-o", "json"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let v: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    let apis = v["apis"].as_array().unwrap();
    let source = workspace().join("api-catalog/data/source");
    let k8s = std::fs::read_to_string(source.join("kubernetes-apis.csv")).unwrap();
    let components = std::fs::read_to_string(source.join("component-apis.csv")).unwrap();
    let mut rows: Vec<(String, Vec<String>)> = Vec::new();
    for line in k8s.lines().skip(1) {
        rows.push(("k8s".into(), line.split(',').map(str::to_owned).collect()));
    }
    for line in components.lines().skip(1) {
        let c: Vec<String> = line.split(',').map(str::to_owned).collect();
        rows.push((c[0].clone(), c[1..].to_vec()));
    }
    assert_eq!(apis.len(), rows.len());
    let gv = |g: &str, ver: &str| {
        if g.is_empty() {
            ver.to_owned()
        } else {
            format!("{g}/{ver}")
        }
    };
    let text = |x: &serde_json::Value| x.as_str().unwrap_or_default().to_owned();
    for (component, c) in &rows {
        let api = gv(&c[0], &c[1]);
        let e = apis
            .iter()
            .find(|e| e["api_version"] == api.as_str() && e["kind"] == c[2].as_str())
            .unwrap_or_else(|| panic!("{api} {} missing", c[2]));
        assert_eq!(text(&e["component"]), *component);
        assert_eq!(text(&e["introduced"]), c[3], "{api} {}", c[2]);
        assert_eq!(text(&e["deprecated"]), c[4], "{api} {}", c[2]);
        assert_eq!(text(&e["removed"]), c[5], "{api} {}", c[2]);
        let rep = &e["replacement"];
        if c[7].is_empty() {
            // No replacement in the data: none, or one derived and marked so.
            assert!(
                rep.is_null() || rep["derived"] == true,
                "{api} {}: {rep}",
                c[2]
            );
        } else {
            assert_eq!(
                text(&rep["api_version"]),
                gv(&c[6], &c[7]),
                "{api} {}",
                c[2]
            );
            assert_eq!(text(&rep["kind"]), c[8], "{api} {}", c[2]);
            assert!(rep["derived"].is_null(), "{api} {}", c[2]);
        }
    }
}

#[test]
fn catalog_list_yaml_reads_back_as_a_catalog() {
    let dir = tempfile::tempdir().unwrap();
    let run = upcheck(&[
        "catalog",
        "list",
        "-o",
        "yaml",
        "--component",
        "cert-manager",
    ]);
    assert_eq!(run.code, 0);
    let file = dir.path().join("exported.yaml");
    std::fs::write(&file, &run.stdout).unwrap();
    let again = upcheck(&[
        "catalog",
        "list",
        "--catalog",
        file.to_str().unwrap(),
        "--component",
        "cert-manager",
        "-o",
        "yaml",
    ]);
    assert_eq!(again.code, 0, "{}", again.stderr);
    assert_eq!(again.stdout, run.stdout);
}

#[test]
fn catalog_list_filters() {
    let run = upcheck(&[
        "catalog",
        "list",
        "--group",
        "flowcontrol.apiserver.k8s.io",
        "--removed-by",
        "1.32",
    ]);
    assert_eq!(run.code, 0);
    insta::assert_snapshot!(run.transcript());
    let md = upcheck(&["catalog", "list", "--component", "istio", "-o", "markdown"]);
    insta::assert_snapshot!(md.transcript());
    let csv = upcheck(&[
        "catalog",
        "list",
        "--group",
        "core",
        "--deprecated-by",
        "1.33",
        "-o",
        "csv",
    ]);
    insta::assert_snapshot!(csv.transcript());
}

#[test]
fn catalog_show() {
    for (name, args) in [
        (
            "ingress",
            &["catalog", "show", "networking.k8s.io/v1beta1", "Ingress"][..],
        ),
        (
            "crd",
            &[
                "catalog",
                "show",
                "apiextensions.k8s.io/v1beta1",
                "CustomResourceDefinition",
            ][..],
        ),
        (
            "psp",
            &["catalog", "show", "policy/v1beta1", "PodSecurityPolicy"][..],
        ),
        (
            "flowschema_chain",
            &[
                "catalog",
                "show",
                "flowcontrol.apiserver.k8s.io/v1beta2",
                "FlowSchema",
            ][..],
        ),
        (
            "derived",
            &[
                "catalog",
                "show",
                "networking.k8s.io/v1beta1",
                "ServiceCIDR",
            ][..],
        ),
        (
            "istio_policy",
            &[
                "catalog",
                "show",
                "authentication.istio.io/v1alpha1",
                "Policy",
            ][..],
        ),
        ("all_kinds", &["catalog", "show", "batch/v1beta1"][..]),
    ] {
        let run = upcheck(args);
        assert_eq!(run.code, 0, "{name}: {}", run.stderr);
        insta::assert_snapshot!(format!("catalog_show_{name}"), run.transcript());
    }
}

#[test]
fn catalog_show_unknown_apis() {
    let mut all = String::new();
    for args in [
        &["catalog", "show", "apps/v1beta3"][..],
        &["catalog", "show", "apps/v1beta1", "Widget"][..],
        &["catalog", "show", "example.com/v1"][..],
    ] {
        let run = upcheck(args);
        assert_eq!(run.code, 1);
        let _ = writeln!(all, "== upcheck {}\n{}", args.join(" "), run.transcript());
    }
    insta::assert_snapshot!(all);
}

#[test]
fn addons_are_judged_only_with_a_target() {
    let without = upcheck(&["files", "fixtures/manifests/addons", "-t", "1.25"]);
    assert_eq!(without.code, 0);
    insta::assert_snapshot!(without.transcript());
    let with = upcheck(&[
        "files",
        "fixtures/manifests/addons",
        "-t",
        "1.25,cert-manager=1.6,istio=1.6",
        "-t",
        "gateway-api=1.2",
        "-o",
        "wide",
    ]);
    assert_eq!(with.code, 3);
    insta::assert_snapshot!(with.transcript());
    // cert-manager 1.5: deprecated (1.4), not yet removed (1.6).
    let before = upcheck(&[
        "files",
        "fixtures/manifests/addons/cert-manager.yaml",
        "-t",
        "cert-manager=1.5",
    ]);
    assert_eq!(before.code, 2, "{}", before.transcript());
    // --components leaves the others unjudged.
    let only = upcheck(&[
        "files",
        "fixtures/manifests/addons",
        "-t",
        "cert-manager=1.6,istio=1.6",
        "--components",
        "istio",
        "-o",
        "json",
    ]);
    let v: serde_json::Value = serde_json::from_str(&only.stdout).unwrap();
    let components: Vec<&str> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["component"].as_str().unwrap())
        .collect();
    assert_eq!(components, ["istio", "istio"]);
    assert!(
        only.stderr
            .contains("cert-manager=1.6 is ignored: cert-manager is not in --components"),
        "{}",
        only.stderr
    );
}

#[test]
fn pluto_versions_file_and_own_catalog() {
    let run = upcheck(&[
        "files",
        "fixtures/manifests/addons",
        "fixtures/manifests/removed/v1.16-extensions-workloads.yaml",
        "-f",
        "fixtures/catalogs/pluto-versions.yaml",
        "--catalog",
        "fixtures/catalogs/team.yaml",
        "-t",
        "widgets=2.0,other=1.16",
        "-o",
        "wide",
    ]);
    assert_eq!(run.code, 3);
    insta::assert_snapshot!(run.transcript());
}

#[test]
fn malformed_user_catalogs_are_clear_errors() {
    let mut all = String::new();
    for args in [
        &[
            "files",
            "fixtures/examples",
            "-f",
            "fixtures/catalogs/pluto-broken.yaml",
        ][..],
        &[
            "files",
            "fixtures/examples",
            "-f",
            "fixtures/catalogs/pluto-bad-version.yaml",
        ][..],
        &[
            "files",
            "fixtures/examples",
            "--catalog",
            "fixtures/catalogs/invalid-unknown-field.yaml",
        ][..],
        &[
            "files",
            "fixtures/examples",
            "--catalog",
            "fixtures/catalogs/invalid-unquoted-version.yaml",
        ][..],
        &[
            "files",
            "fixtures/examples",
            "--catalog",
            "fixtures/catalogs/missing.yaml",
        ][..],
        &["catalog", "list", "--component", "nosuch"][..],
        &["files", "fixtures/examples", "--components", "nosuch"][..],
    ] {
        let run = upcheck(args);
        assert_eq!(run.code, 1, "{args:?}");
        assert!(run.stdout.is_empty());
        let _ = writeln!(all, "== upcheck {}\n{}", args.join(" "), run.transcript());
    }
    insta::assert_snapshot!(all);
}

fn embedded_with_version(version: &str) -> String {
    let k8s = api_catalog_text();
    k8s.replace(
        "data_version: \"2026.12.0\"",
        &format!("data_version: \"{version}\""),
    )
}

fn api_catalog_text() -> String {
    std::fs::read_to_string(workspace().join("api-catalog/data/kubernetes.yaml")).unwrap()
}

#[test]
fn catalog_fetch_stores_a_valid_newer_catalog_and_later_runs_use_it() {
    let newer = embedded_with_version("2099.1.0").replace(
        "apis:\n",
        "apis:\n  - component: k8s\n    api_version: apps/v1\n    kind: FutureThing\n    introduced: \"1.40\"\n    deprecated: \"1.41\"\n",
    );
    let server = Server::routes(
        [
            ("/newer.yaml", 200, newer),
            ("/older.yaml", 200, embedded_with_version("2000.1.0")),
            ("/bad.yaml", 200, "schema_version: 1\napis: [\n".into()),
            ("/schema2.yaml", 200, "schema_version: 2\napis: []\n".into()),
            (
                "/partial.yaml",
                200,
                "schema_version: 1\ncomponents:\n  - name: extra\napis: []\n".into(),
            ),
            ("/slow.yaml", 200, "schema_version: 1\n".into()),
        ],
        Scenario {
            // Longer than the --timeout below.
            slow: [("/slow.yaml".to_owned(), Duration::from_secs(5))].into(),
            ..Scenario::default()
        },
    )
    .unwrap();
    let base = server.url();
    let cache = tempfile::tempdir().unwrap();
    let env = [("UPCHECK_CACHE_DIR", cache.path())];
    let ws = workspace();
    let run = |args: &[&str]| upcheck_with(&ws, args, None, &env);
    let redact = |s: &str| {
        s.replace(&base, "http://SERVER")
            .replace(&cache.path().display().to_string(), "CACHE")
    };

    let mut all = String::new();
    for path in [
        "/bad.yaml",
        "/schema2.yaml",
        "/partial.yaml",
        "/missing.yaml",
    ] {
        let r = run(&["catalog", "fetch", &format!("{base}{path}")]);
        assert_eq!(r.code, 1, "{path}");
        all += &redact(&format!("== fetch {path}\n{}\n", r.transcript()));
    }
    let r = run(&[
        "catalog",
        "fetch",
        &format!("{base}/slow.yaml"),
        "--timeout",
        "1",
    ]);
    assert_eq!(r.code, 1);
    assert!(r.stderr.contains("cannot download"), "{}", r.stderr);
    assert!(
        !cache.path().join("catalog.yaml").exists(),
        "nothing stored after failures"
    );
    insta::assert_snapshot!("catalog_fetch_failures", all);

    let r = run(&["catalog", "fetch", &format!("{base}/newer.yaml")]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    insta::assert_snapshot!("catalog_fetch_newer", redact(&r.transcript()));
    let shown = run(&["catalog", "show", "apps/v1", "FutureThing"]);
    assert_eq!(shown.code, 0, "{}", shown.stderr);
    let version = run(&["version"]);
    assert!(
        version.stdout.contains("catalog 2099.1.0 (fetched catalog"),
        "{}",
        version.stdout
    );
    let offline = run(&["catalog", "show", "apps/v1", "FutureThing", "--offline"]);
    assert_eq!(offline.code, 1);

    // An older catalog is stored but not used.
    let r = run(&["catalog", "fetch", &format!("{base}/older.yaml")]);
    assert_eq!(r.code, 0);
    assert!(
        r.stderr.contains("not newer than the embedded catalog"),
        "{}",
        r.stderr
    );
    assert!(
        run(&["version"])
            .stdout
            .contains("catalog 2026.12.0 (embedded)")
    );

    // A damaged cache is ignored with a note, never used.
    std::fs::write(cache.path().join("catalog.yaml"), "schema_version: [\n").unwrap();
    let r = run(&["files", "fixtures/examples", "-t", "1.25"]);
    assert_eq!(r.code, 3);
    assert!(
        r.stderr.contains("note: ignoring the fetched catalog"),
        "{}",
        r.stderr
    );
}

#[test]
fn fetch_refuses_other_schemes() {
    let r = upcheck(&["catalog", "fetch", "file:///etc/passwd"]);
    assert_eq!(r.code, 1);
    assert!(
        r.stderr.contains("give an http:// or https:// URL"),
        "{}",
        r.stderr
    );
}
