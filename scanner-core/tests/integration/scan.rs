//! Library-level tests: each fixture with the findings and errors expected for it.
#![allow(clippy::unwrap_used)] // tests fail loudly on purpose

use scanner_core::{
    ApiStatus, Catalog, ErrorKind, Input, KubeVersion, Report, ScanSettings, Scanner, Targets,
    WarningKind,
};

fn scanner(target: &str) -> Scanner<'static> {
    let target: KubeVersion = target.parse().unwrap();
    Scanner::new(
        Catalog::embedded(),
        ScanSettings::new(Targets::kubernetes(target, None)),
    )
}

/// Scans a path below `fixtures/` (tests run in `scanner-core/`, so paths stay relative).
fn scan(rel: &str, target: &str) -> Report {
    scanner(target).scan_paths([format!("../fixtures/{rel}")])
}

/// `name status line` per finding, for compact assertions.
fn found(report: &Report) -> Vec<(String, &'static str, u32)> {
    report
        .findings
        .iter()
        .map(|f| {
            (
                f.name.clone().unwrap_or_default(),
                f.status.as_str(),
                f.location.line,
            )
        })
        .collect()
}

fn owned(v: &[(&str, &'static str, u32)]) -> Vec<(String, &'static str, u32)> {
    v.iter()
        .map(|(n, s, l)| ((*n).to_owned(), *s, *l))
        .collect()
}

#[test]
fn one_removal_per_release_is_found_at_that_release() {
    let cases = [
        (
            "v1.16-extensions-workloads.yaml",
            "1.16",
            vec![("legacy-web", "removed", 2), ("node-agent", "removed", 18)],
        ),
        (
            "v1.22-ingress-crd.yaml",
            "1.22",
            vec![
                ("storefront", "removed", 1),
                ("widgets.example.com", "removed", 16),
            ],
        ),
        (
            "v1.25-cronjob-psp.yaml",
            "1.25",
            vec![
                ("nightly-report", "removed", 1),
                ("restricted", "removed", 17),
            ],
        ),
        (
            "v1.26-hpa-v2beta2.yaml",
            "1.26",
            vec![("storefront", "removed", 1)],
        ),
        (
            "v1.27-csistoragecapacity.yaml",
            "1.27",
            vec![("zone-a-capacity", "removed", 1)],
        ),
        (
            "v1.29-flowschema-v1beta2.yaml",
            "1.29",
            vec![("batch-jobs", "removed", 1)],
        ),
        (
            "v1.32-flowschema-v1beta3.yaml",
            "1.32",
            vec![("workload-low", "removed", 1)],
        ),
        (
            "v1.33-selfsubjectreview.yaml",
            "1.33",
            vec![("whoami", "removed", 1)],
        ),
        (
            "v1.34-validatingadmissionpolicy.yaml",
            "1.34",
            vec![("replica-limit", "removed", 1)],
        ),
        (
            "v1.37-servicecidr.yaml",
            "1.37",
            vec![("extra-services", "removed", 1), ("gold", "removed", 9)],
        ),
    ];
    for (file, release, expected) in cases {
        let report = scan(&format!("manifests/removed/{file}"), release);
        assert_eq!(found(&report), owned(&expected), "{file} at {release}");
        assert!(report.errors.is_empty(), "{file}: {:?}", report.errors);
        // One minor earlier, nothing in the file is removed yet.
        let r: KubeVersion = release.parse().unwrap();
        let before = KubeVersion::new(r.major, r.minor - 1).to_string();
        let earlier = scan(&format!("manifests/removed/{file}"), &before);
        assert!(
            earlier
                .findings
                .iter()
                .all(|f| f.status != ApiStatus::Removed),
            "{file} at {before}: {:?}",
            found(&earlier)
        );
    }
}

#[test]
fn deprecated_but_served_apis_are_deprecated_findings() {
    let report = scan("manifests/deprecated", "1.33");
    assert_eq!(
        found(&report),
        owned(&[("external-db", "deprecated", 2), ("checkout", "removed", 2)])
    );
    let endpoints = &report.findings[0];
    assert_eq!(endpoints.code.as_str(), "DEP002");
    let rep = endpoints.replacement.as_ref().unwrap();
    assert_eq!(
        (rep.api_version.as_str(), rep.kind.as_deref().unwrap()),
        ("discovery.k8s.io/v1", "EndpointSlice")
    );
}

#[test]
fn a_path_served_today_is_named_instead_of_an_unavailable_replacement() {
    // autoscaling/v2 arrives in 1.23; at 1.22 v2beta2 is served and is the way out (this
    // used to name v2 as "not available" and exit 4).
    let report = scan("manifests/deprecated/hpa-v2beta1.yaml", "1.22");
    assert_eq!(found(&report), owned(&[("checkout", "deprecated", 2)]));
    let f = &report.findings[0];
    assert!(!f.replacement_unavailable());
    let rep = f.replacement.as_ref().unwrap();
    assert_eq!(rep.api_version, "autoscaling/v2beta2");
    assert_eq!(rep.path.len(), 1);
    let later = scan("manifests/deprecated/hpa-v2beta1.yaml", "1.23");
    let rep = later.findings[0].replacement.as_ref().unwrap();
    assert_eq!(rep.api_version, "autoscaling/v2");
    assert!(!later.findings[0].replacement_unavailable());
}

#[test]
fn clean_manifests_and_non_objects_give_nothing() {
    let report = scan("manifests/clean", "1.37");
    assert!(report.findings.is_empty(), "{:?}", found(&report));
    assert!(report.errors.is_empty());
    // values.yaml is YAML without apiVersion/kind: counted, not reported.
    assert_eq!(report.stats.non_objects, 1);
    assert_eq!(report.stats.files, 4);
    assert_eq!(report.stats.objects, 6);
}

#[test]
fn nested_api_versions_are_not_objects() {
    let report = scan("manifests/traps/embedded-api-versions.yaml", "1.37");
    assert!(report.findings.is_empty(), "{:?}", found(&report));
    assert_eq!(report.stats.objects, 4);
}

#[test]
fn multi_document_stream_keeps_indexes_and_lines() {
    let report = scan("manifests/multi-doc/stream.yaml", "1.22");
    let got: Vec<_> = report
        .findings
        .iter()
        .map(|f| {
            (
                f.name.clone().unwrap(),
                f.location.document,
                f.location.line,
            )
        })
        .collect();
    // Documents 0 and 1 are empty, document 3 holds only a comment: indexes count them all.
    assert_eq!(got, vec![("first".into(), 1, 4), ("third".into(), 4, 18)]);
    assert_eq!(report.stats.documents, 3);
}

#[test]
fn list_items_are_objects_and_wrappers_are_not() {
    let report = scan("manifests/list-kind/lists.yaml", "1.25");
    let got: Vec<_> = report
        .findings
        .iter()
        .map(|f| {
            (
                f.name.clone().unwrap(),
                f.location.document,
                f.location.item,
                f.location.line,
            )
        })
        .collect();
    assert_eq!(
        got,
        vec![
            ("in-list-old".into(), 0, Some(0), 5),
            ("in-list-pdb".into(), 0, Some(2), 15),
        ]
    );
    // 3 items + ConfigMapList (null items) + NotAList (null items) + Inventory; RoleList
    // with [] is a wrapper of nothing.
    assert_eq!(report.stats.objects, 6);
    // Inventory is not a list kind: its items are not unwrapped.
    assert!(
        report
            .findings
            .iter()
            .all(|f| f.name.as_deref() != Some("not-unwrapped"))
    );
}

#[test]
fn json_objects_lists_and_streams() {
    let report = scan("manifests/json", "1.25");
    let got: Vec<_> = report
        .findings
        .iter()
        .map(|f| {
            (
                f.location.path.rsplit('/').next().unwrap().to_owned(),
                f.name.clone().unwrap(),
                f.location.document,
                f.location.line,
            )
        })
        .collect();
    assert_eq!(
        got,
        vec![
            ("deployment.json".into(), "json-web".into(), 0, 1),
            ("list.json".into(), "json-pdb".into(), 0, 5),
            ("stream.json".into(), "stream-a".into(), 0, 1),
            ("stream.json".into(), "stream-c".into(), 2, 3),
        ]
    );
    assert!(report.errors.is_empty(), "{:?}", report.errors);
}

#[test]
fn crlf_bom_and_utf16_files_are_read() {
    let report = scan("manifests/encoding", "1.25");
    assert_eq!(
        found(&report),
        owned(&[
            ("crlf-ingress", "removed", 1),
            ("crlf-cron", "removed", 7),
            ("utf16-ingress", "removed", 1),
            ("bom-pdb", "removed", 1)
        ])
    );
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    let text = std::fs::read("../fixtures/manifests/encoding/crlf.yaml").unwrap();
    for f in &report.findings {
        match f.location.path.rsplit('/').next().unwrap() {
            // Offsets are file byte offsets: the BOM is counted, CRLF is not altered.
            "utf8-bom.yaml" => assert_eq!(f.location.api_version_span, Some(15..29)),
            "crlf.yaml" => {
                let span = f.location.api_version_span.clone().unwrap();
                assert_eq!(&text[span], f.api_version.as_bytes());
            }
            // Re-encoded text has no byte offsets in the file.
            "utf16-bom.yaml" => assert_eq!(f.location.api_version_span, None),
            other => panic!("unexpected {other}"),
        }
    }
}

#[test]
fn anchors_aliases_and_quoting() {
    let report = scan("manifests/yaml-features/anchors.yaml", "1.22");
    let got: Vec<_> = report
        .findings
        .iter()
        .map(|f| {
            (
                f.name.clone().unwrap(),
                f.namespace.clone(),
                f.api_version.clone(),
                f.location.api_version_span.is_some(),
            )
        })
        .collect();
    assert_eq!(
        got,
        vec![
            (
                "anchored".into(),
                Some("shop".into()),
                "extensions/v1beta1".into(),
                true
            ),
            // Reached through an alias: the value is written elsewhere, so no span to rewrite.
            (
                "aliased-ingress".into(),
                Some("shop".into()),
                "extensions/v1beta1".into(),
                false
            ),
            (
                "flow-style".into(),
                Some("kube-system".into()),
                "apps/v1beta2".into(),
                true
            ),
        ]
    );
    let text = std::fs::read_to_string("../fixtures/manifests/yaml-features/anchors.yaml").unwrap();
    for f in &report.findings {
        if let Some(span) = f.location.api_version_span.clone() {
            assert_eq!(&text[span], f.api_version);
        }
        let doc = f.location.document_span.clone().unwrap();
        assert!(text[doc].contains(&f.kind));
    }
}

#[test]
fn duplicate_keys_keep_the_last_value_and_warn() {
    let report = scan("manifests/malformed/duplicate-keys.yaml", "1.25");
    // Document 0 ends on rbac v1 (served); document 1 is the CronJob that came last.
    assert_eq!(found(&report), owned(&[("merged-second", "removed", 13)]));
    assert_eq!(report.warnings.len(), 2);
    assert!(
        report
            .warnings
            .iter()
            .all(|w| w.kind == WarningKind::DuplicateKey)
    );
    assert_eq!(report.warnings[0].line, Some(6));
    assert!(
        report.warnings[1].message.contains("missing `---`"),
        "{}",
        report.warnings[1].message
    );
    assert!(report.errors.is_empty());
}

#[test]
fn a_broken_document_does_not_hide_its_siblings() {
    let report = scan("manifests/malformed/broken-middle.yaml", "1.25");
    assert_eq!(
        found(&report),
        owned(&[
            ("before-broken", "removed", 1),
            ("after-broken", "removed", 13)
        ])
    );
    assert_eq!(report.errors.len(), 1);
    let e = &report.errors[0];
    assert_eq!(
        (e.kind, e.document, e.line, e.column),
        (ErrorKind::Syntax, Some(1), Some(11), Some(8))
    );
    assert!(e.message.contains("unclosed bracket"), "{}", e.message);
    assert_eq!(report.stats.unparsed_documents, 1);
}

#[test]
fn unknown_versions_of_builtin_groups_are_reported() {
    let report = scan("manifests/malformed/unknown-versions.yaml", "1.30");
    assert_eq!(
        found(&report),
        owned(&[
            ("typo-version", "unknown", 1),
            ("future-version", "unknown", 6),
            ("pre-1.0", "unknown", 11)
        ])
    );
    assert!(report.findings.iter().all(|f| f.code.as_str() == "DEP003"));
}

#[test]
fn empty_and_comment_only_files_are_clean() {
    for file in ["empty.yaml", "comments-only.yaml"] {
        let report = scan(&format!("manifests/malformed/{file}"), "1.37");
        assert!(
            report.findings.is_empty() && report.errors.is_empty(),
            "{file}"
        );
        assert_eq!(
            (report.stats.files, report.stats.documents),
            (1, 0),
            "{file}"
        );
    }
}

#[test]
fn binary_file_is_an_error_not_a_skip() {
    let report = scan("manifests/malformed/binary.yaml", "1.37");
    assert_eq!(report.errors.len(), 1);
    assert_eq!(report.errors[0].kind, ErrorKind::Binary);
    assert!(report.errors[0].message.contains("NUL byte at offset 8"));
}

#[test]
fn helm_templates_are_errors_with_salvaged_findings() {
    let report = scan("manifests/templates", "1.25");
    // Chart.yaml has `apiVersion: v2` but no kind: not an object.
    assert_eq!(found(&report), owned(&[("", "removed", 1)]));
    let f = &report.findings[0];
    assert!(!f.parsed, "read from an unparsed document");
    assert_eq!(f.api_version, "extensions/v1beta1");
    // Both templates are listed as errors, with a hint; the ingress has branching
    // apiVersions, so nothing is guessed for it.
    assert_eq!(report.errors.len(), 2);
    assert!(
        report
            .errors
            .iter()
            .all(|e| e.message.contains("looks like a template"))
    );
}

#[test]
fn missing_path_is_an_error() {
    let report = scan("manifests/does-not-exist", "1.37");
    assert_eq!(report.errors.len(), 1);
    assert_eq!(report.errors[0].kind, ErrorKind::NotFound);
    assert_eq!(
        report.errors[0].path,
        "../fixtures/manifests/does-not-exist"
    );
}

#[test]
fn only_removed_drops_deprecations_and_counts_them() {
    let target: KubeVersion = "1.33".parse().unwrap();
    let mut settings = ScanSettings::new(Targets::kubernetes(target, None));
    settings.only_removed = true;
    let report = Scanner::new(Catalog::embedded(), settings)
        .scan_paths(["../fixtures/manifests/deprecated"]);
    assert_eq!(found(&report), owned(&[("checkout", "removed", 2)]));
    assert_eq!(report.stats.suppressed, 1);
}

#[test]
fn text_input_gets_the_given_name() {
    let report = scanner("1.16").scan(vec![Input::Bytes {
        name: "<stdin>".into(),
        bytes: b"apiVersion: apps/v1beta1\nkind: StatefulSet\nmetadata: {name: db}\n".to_vec(),
    }]);
    assert_eq!(report.findings[0].location.path, "<stdin>");
    assert_eq!(report.findings[0].name.as_deref(), Some("db"));
}

#[test]
fn hidden_files_are_scanned_and_vcs_directories_are_not() {
    let dir = tempfile::tempdir().unwrap();
    let write = |rel: &str| {
        let p = dir.path().join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(
            p,
            "apiVersion: extensions/v1beta1\nkind: Ingress\nmetadata: {name: x}\n",
        )
        .unwrap();
    };
    write(".tekton/ingress.yaml");
    write(".git/ingress.yaml");
    write("ignored/ingress.yaml");
    write("notes.txt");
    std::fs::write(dir.path().join(".gitignore"), "ignored/\n").unwrap();
    let report = scanner("1.22").scan_paths([dir.path()]);
    let paths: Vec<_> = report
        .findings
        .iter()
        .map(|f| {
            f.location
                .path
                .replace(&dir.path().display().to_string(), "")
        })
        .collect();
    assert_eq!(paths, vec!["/.tekton/ingress.yaml"]);

    let mut settings = ScanSettings::new(Targets::kubernetes("1.22".parse().unwrap(), None));
    settings.walk.respect_ignore_files = false;
    settings.walk.hidden = false;
    let report = Scanner::new(Catalog::embedded(), settings).scan_paths([dir.path()]);
    let paths: Vec<_> = report
        .findings
        .iter()
        .map(|f| {
            f.location
                .path
                .replace(&dir.path().display().to_string(), "")
        })
        .collect();
    assert_eq!(paths, vec!["/ignored/ingress.yaml"]);
}

#[test]
fn explicit_files_are_read_whatever_their_extension() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("rendered.out");
    std::fs::write(
        &p,
        "apiVersion: batch/v1beta1\nkind: CronJob\nmetadata: {name: c}\n",
    )
    .unwrap();
    let report = scanner("1.25").scan_paths([&p]);
    assert_eq!(report.findings.len(), 1);
    // In a directory walk the same file is not a manifest by name.
    let report = scanner("1.25").scan_paths([dir.path()]);
    assert!(report.findings.is_empty());
    assert_eq!(report.warnings[0].kind, WarningKind::NoManifests);
}

#[cfg(unix)]
#[test]
fn unreadable_file_is_an_error() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    // A socket cannot be opened for reading, whoever runs the test (root included).
    let socket = dir.path().join("socket.yaml");
    let _listener = std::os::unix::net::UnixListener::bind(&socket).unwrap();
    let report = scanner("1.25").scan_paths([&socket]);
    assert_eq!(report.errors.len(), 1, "{:?}", report.errors);
    assert_eq!(report.errors[0].kind, ErrorKind::Io);
    // In a walk it is not a regular file: skipped with a warning, never silently.
    let report = scanner("1.25").scan_paths([dir.path()]);
    assert!(
        report
            .warnings
            .iter()
            .any(|w| w.kind == WarningKind::NotRegularFile)
    );

    // A file without read permission (only enforced for non-root users).
    let locked = dir.path().join("locked.yaml");
    std::fs::write(&locked, "apiVersion: v1\nkind: ConfigMap\n").unwrap();
    std::fs::set_permissions(&locked, std::fs::Permissions::from_mode(0o000)).unwrap();
    if std::fs::read(&locked).is_err() {
        let report = scanner("1.25").scan_paths([&locked]);
        assert_eq!(report.errors[0].kind, ErrorKind::PermissionDenied);
    }
}

#[cfg(unix)]
#[test]
fn symlink_loop_is_walked_once_and_reported() {
    let dir = tempfile::tempdir().unwrap();
    let sub = dir.path().join("sub");
    std::fs::create_dir(&sub).unwrap();
    std::fs::write(
        sub.join("a.yaml"),
        "apiVersion: extensions/v1beta1\nkind: Ingress\nmetadata: {name: a}\n",
    )
    .unwrap();
    std::os::unix::fs::symlink(dir.path(), sub.join("loop")).unwrap();
    let report = scanner("1.22").scan_paths([dir.path()]);
    assert_eq!(report.findings.len(), 1);
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    assert_eq!(report.warnings.len(), 1);
    assert_eq!(report.warnings[0].kind, WarningKind::SymlinkLoop);
    // A dangling link is an input that could not be read.
    std::os::unix::fs::symlink(
        dir.path().join("gone.yaml"),
        dir.path().join("dangling.yaml"),
    )
    .unwrap();
    let report = scanner("1.22").scan_paths([dir.path()]);
    assert_eq!(report.errors.len(), 1, "{:?}", report.errors);
    assert_eq!(report.errors[0].kind, ErrorKind::NotFound);
}

#[test]
fn a_50_mb_file_is_scanned_completely() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("big.yaml");
    let doc = |i: usize, api: &str| {
        format!(
            "apiVersion: {api}\nkind: Deployment\nmetadata:\n  name: app-{i}\n  namespace: big\n  labels:\n    tier: backend\nspec:\n  replicas: 2\n  template:\n    spec:\n      containers:\n        - name: c\n          image: registry.example.com/app:{i}\n          args: [\"--padding={}\"]\n---\n",
            "x".repeat(200)
        )
    };
    let mut text = String::new();
    let mut n = 0;
    while text.len() < 50 * 1024 * 1024 {
        let api = if n % 1000 == 0 {
            "extensions/v1beta1"
        } else {
            "apps/v1"
        };
        text.push_str(&doc(n, api));
        n += 1;
    }
    std::fs::write(&path, &text).unwrap();
    let report = scanner("1.25").scan_paths([&path]);
    assert!(report.errors.is_empty());
    assert_eq!(report.stats.objects, n as u64);
    assert_eq!(report.findings.len(), n.div_ceil(1000));
    let last = report.findings.last().unwrap();
    assert_eq!(
        last.name.as_deref(),
        Some(format!("app-{}", (n - 1) / 1000 * 1000).as_str())
    );
}

#[test]
fn thread_count_does_not_change_the_report() {
    let run = |threads| {
        rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap()
            .install(|| scan("manifests", "1.37"))
    };
    let one = run(1);
    assert_eq!(one, run(8));
    assert!(one.findings.len() > 30);
}
