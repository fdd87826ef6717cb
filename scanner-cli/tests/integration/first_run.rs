//! What a new user trips over (issue 19): blank and repeated targets, empty input, Pluto's
//! spellings, coloured tables, catalog filters and lookups, error and help texts.
#![allow(clippy::unwrap_used)] // tests fail loudly on purpose

use std::fmt::Write as _;

use crate::common::{Run, upcheck, upcheck_with, workspace};

/// Runs each argument list and writes one transcript per run, headed by its command line.
fn transcripts(runs: &[&[&str]]) -> String {
    let mut all = String::new();
    for args in runs {
        let run = upcheck(args);
        writeln!(all, "$ upcheck {}\n{}", args.join(" "), run.transcript()).unwrap();
    }
    all
}

#[test]
fn blank_versions_are_errors_in_every_spelling() {
    let runs: &[&[&str]] = &[
        &["files", "fixtures/examples", "-t", ""],
        &["files", "fixtures/examples", "-t", " "],
        &["files", "fixtures/examples", "-t", ","],
        &["files", "fixtures/examples", "-t", "1.25,"],
        &["files", "fixtures/examples", "--target-version="],
        &["files", "fixtures/examples", "-t", "k8s="],
        &["files", "fixtures/examples", "-t", "1.25", "--current", ""],
        &["files", "fixtures/examples", "-t", "1.25", "--current="],
        &["plan", "-t", "", "--current", "1.30"],
        &["plan", "-t", "1.31", "--current", ""],
    ];
    for args in runs {
        let run = upcheck(args);
        assert_eq!(run.code, 1, "{args:?}: {}", run.transcript());
        assert!(
            run.stdout.is_empty(),
            "{args:?}: no report on a usage error"
        );
        assert!(
            run.stderr.contains("the version is empty"),
            "{args:?}: {}",
            run.stderr
        );
    }
    insta::assert_snapshot!(transcripts(runs));
}

#[test]
fn repeated_kubernetes_targets_are_refused() {
    let runs: &[&[&str]] = &[
        &["files", "fixtures/examples", "-t", "1.25,1.26"],
        &["files", "fixtures/examples", "-t", "1.25", "-t", "1.33"],
        &["files", "fixtures/examples", "-t", "k8s=1.25,v1.33.0"],
        &[
            "files",
            "fixtures/examples",
            "-t",
            "1.33",
            "--current",
            "1.29,1.30",
        ],
    ];
    for args in runs {
        let run = upcheck(args);
        assert_eq!(run.code, 1, "{args:?}: {}", run.transcript());
        assert!(run.stderr.contains("twice"), "{args:?}: {}", run.stderr);
    }
    // The same version twice names one target: nothing to refuse.
    let same = upcheck(&["files", "fixtures/examples", "-t", "1.25", "-t", "v1.25.3"]);
    assert_eq!(same.code, 3, "{}", same.transcript());
    insta::assert_snapshot!(transcripts(runs));
}

#[test]
fn empty_input_fails_the_gate_unless_allowed() {
    let tmp = tempfile::tempdir().unwrap();
    let empty_dir = tmp.path().join("empty");
    std::fs::create_dir(&empty_dir).unwrap();
    let excluded = tmp.path().join("excluded");
    std::fs::create_dir(&excluded).unwrap();
    std::fs::write(
        excluded.join("deploy.yaml"),
        "apiVersion: batch/v1beta1\nkind: CronJob\nmetadata: {name: x}\n",
    )
    .unwrap();
    std::fs::write(excluded.join(".upcheckignore"), "*.yaml\n").unwrap();
    let blank = tmp.path().join("blank.yaml");
    std::fs::write(&blank, "# only a comment\n").unwrap();

    let mut all = String::new();
    let mut record = |name: &str, run: &Run, want: i32| {
        assert_eq!(run.code, want, "{name}: {}", run.transcript());
        // Temporary paths differ per run: show them by their role.
        let text = run
            .transcript()
            .replace(&*tmp.path().to_string_lossy(), "TMP");
        writeln!(all, "## {name}\n{text}").unwrap();
    };
    let root = workspace();
    let stdin = upcheck_with(&root, &["files", "-", "-t", "1.25"], Some(""), &[]);
    record("empty stdin", &stdin, 1);
    let allowed = upcheck_with(
        &root,
        &["files", "-", "-t", "1.25", "--allow-empty"],
        Some(""),
        &[],
    );
    record("empty stdin, --allow-empty", &allowed, 0);
    let dir = upcheck(&["files", empty_dir.to_str().unwrap(), "-t", "1.25"]);
    record("a directory without manifests", &dir, 1);
    let all_excluded = upcheck(&["files", excluded.to_str().unwrap(), "-t", "1.25"]);
    record("every file excluded", &all_excluded, 1);
    let comment_only = upcheck(&["files", blank.to_str().unwrap(), "-t", "1.25"]);
    record("a file with no document", &comment_only, 1);
    let among_others = upcheck(&[
        "files",
        blank.to_str().unwrap(),
        "fixtures/examples",
        "-t",
        "1.25",
    ]);
    record("a file with no document among others", &among_others, 3);
    let clean = upcheck(&["files", "fixtures/manifests/clean", "-t", "1.25"]);
    assert_eq!(clean.code, 0, "objects judged clean still pass");
    insta::assert_snapshot!(all);
}

#[test]
fn pluto_file_target_versions_are_honoured() {
    let base = [
        "files",
        "fixtures/manifests/removed/v1.16-extensions-workloads.yaml",
        "-f",
        "fixtures/catalogs/pluto-versions.yaml",
    ];
    let from_file = upcheck(&base);
    let explicit = upcheck(&[&base[..], &["-t", "1.15"]].concat());
    // k8s 1.16 from the file: the extensions/v1beta1 workloads are removed there.
    assert_eq!(from_file.code, 3, "{}", from_file.transcript());
    assert!(
        from_file.stdout.contains("target k8s 1.16"),
        "{}",
        from_file.stdout
    );
    // -t wins: at 1.15 they are only deprecated.
    assert_eq!(explicit.code, 2, "{}", explicit.transcript());
    assert!(explicit.stderr.contains("wins over"), "{}", explicit.stderr);
    insta::assert_snapshot!(format!(
        "## from the file\n{}\n## -t 1.15\n{}",
        from_file.transcript(),
        explicit.transcript()
    ));
}

#[test]
fn catalog_list_version_filters_stay_in_one_component() {
    let by = upcheck(&["catalog", "list", "--removed-by", "1.25", "-o", "csv"]);
    assert_eq!(by.code, 0, "{}", by.transcript());
    assert!(
        by.stdout.lines().skip(1).all(|l| l.starts_with("k8s,")),
        "only Kubernetes rows without --component:\n{}",
        by.stdout
    );
    assert!(!by.stdout.contains("cert-manager"), "{}", by.stdout);
    let exact = upcheck(&["catalog", "list", "--removed-in", "1.25", "-o", "csv"]);
    assert_eq!(exact.code, 0);
    assert!(exact.stdout.contains("batch/v1beta1"), "{}", exact.stdout);
    assert!(
        !exact.stdout.contains("extensions/v1beta1"),
        "1.16's removals are not 1.25's"
    );
    let istio = upcheck(&[
        "catalog",
        "list",
        "--component",
        "istio",
        "--removed-by",
        "1.25",
        "-o",
        "csv",
    ]);
    assert!(
        istio
            .stdout
            .lines()
            .skip(1)
            .all(|l| l.starts_with("istio,")),
        "{}",
        istio.stdout
    );
    insta::assert_snapshot!(format!(
        "## --removed-in 1.25\n{}\n## --component cert-manager --deprecated-in 1.4\n{}",
        exact.transcript(),
        upcheck(&[
            "catalog",
            "list",
            "--component",
            "cert-manager",
            "--deprecated-in",
            "1.4",
            "-o",
            "csv"
        ])
        .transcript()
    ));
}

/// Removes ANSI escape sequences (`ESC [ ... letter`).
fn strip_ansi(text: &str) -> String {
    let mut out = String::new();
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c == '\x1b' {
            for d in chars.by_ref() {
                if d.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

#[test]
fn coloured_tables_line_up_with_their_header() {
    let mut snap = String::new();
    for extra in [
        &["-o", "text"][..],
        &["-o", "wide"][..],
        &["--columns", "kind,name,location"][..],
        &["--checks", "--current", "1.24"][..],
    ] {
        let args = [&["files", "fixtures/examples", "-t", "1.25"][..], extra].concat();
        let coloured = upcheck(&[&args[..], &["--color", "always"]].concat());
        let plain = upcheck(&[&args[..], &["--color", "never"]].concat());
        assert!(coloured.stdout.contains('\x1b'), "{extra:?}: coloured");
        assert_eq!(
            strip_ansi(&coloured.stdout),
            plain.stdout,
            "{extra:?}: the coloured table without its colour codes is the plain one"
        );
        // Each data row's cells start where the header's columns do.
        let lines: Vec<String> = strip_ansi(&coloured.stdout)
            .lines()
            .map(str::to_owned)
            .collect();
        let header = &lines[0];
        let starts: Vec<usize> = (0..header.len())
            .filter(|&i| header.as_bytes()[i] != b' ' && (i == 0 || header[..i].ends_with("  ")))
            .collect();
        for row in lines[1..].iter().take_while(|l| !l.is_empty()) {
            for &s in &starts {
                assert!(
                    row.as_bytes().get(s).is_some_and(|b| *b != b' ')
                        && (s == 0 || row.as_bytes()[s - 1] == b' '),
                    "{extra:?}: row {row:?} does not start a cell at column {s} of {header:?}"
                );
            }
        }
        writeln!(
            snap,
            "$ upcheck {} --color always\n{}",
            args.join(" "),
            coloured.transcript()
        )
        .unwrap();
    }
    insta::assert_snapshot!(snap);
}

#[test]
fn pluto_spellings_normal_and_directory() {
    let normal = upcheck(&["files", "fixtures/examples", "-t", "1.25", "-o", "normal"]);
    let text = upcheck(&["files", "fixtures/examples", "-t", "1.25", "-o", "text"]);
    assert_eq!(normal.code, 3, "{}", normal.transcript());
    assert_eq!(normal.stdout, text.stdout);
    let dir = upcheck(&["files", "-d", "fixtures/examples", "-t", "1.25"]);
    assert_eq!(dir.code, 3, "{}", dir.transcript());
    assert_eq!(dir.stdout, text.stdout);
    let both = upcheck(&[
        "files",
        "fixtures/manifests/clean",
        "--directory",
        "fixtures/examples",
        "-t",
        "1.25",
    ]);
    assert_eq!(both.code, 3, "{}", both.transcript());
    insta::assert_snapshot!(format!(
        "$ upcheck files -d fixtures/examples -t 1.25 -o normal\n{}\n$ upcheck files fixtures/manifests/clean --directory fixtures/examples -t 1.25\n{}",
        upcheck(&[
            "files",
            "-d",
            "fixtures/examples",
            "-t",
            "1.25",
            "-o",
            "normal"
        ])
        .transcript(),
        both.transcript()
    ));
}

#[test]
fn catalog_show_takes_kinds_as_kubectl_users_type_them() {
    let exact = upcheck(&["catalog", "show", "batch/v1beta1", "CronJob"]);
    assert_eq!(exact.code, 0, "{}", exact.transcript());
    for kind in ["cronjob", "CRONJOB", "cronjobs"] {
        let run = upcheck(&["catalog", "show", "batch/v1beta1", kind]);
        assert_eq!(run.code, 0, "{kind}: {}", run.transcript());
        assert_eq!(run.stdout, exact.stdout, "{kind}");
    }
    for (api, kind) in [
        ("networking.k8s.io/v1beta1", "ingresses"),
        ("extensions/v1beta1", "networkpolicies"),
    ] {
        let run = upcheck(&["catalog", "show", api, kind]);
        assert_eq!(run.code, 0, "{api} {kind}: {}", run.transcript());
    }
    let wrong = upcheck(&["catalog", "show", "batch/v1beta1", "cronjobz"]);
    assert_eq!(wrong.code, 1);
    insta::assert_snapshot!(format!(
        "$ upcheck catalog show batch/v1beta1 cronjobs\n{}\n$ upcheck catalog show batch/v1beta1 cronjobz\n{}",
        upcheck(&["catalog", "show", "batch/v1beta1", "cronjobs"]).transcript(),
        wrong.transcript()
    ));
}

#[test]
fn errors_and_help_read_cleanly() {
    let tmp = tempfile::tempdir().unwrap();
    let home = tmp.path();
    // No kubeconfig anywhere and not in a pod: the offline way is suggested, and no cause is
    // printed twice.
    let plan = upcheck_with(
        &workspace(),
        &["plan", "-t", "1.31"],
        None,
        &[("HOME", home), ("KUBECONFIG", std::path::Path::new(""))],
    );
    assert_eq!(plan.code, 1, "{}", plan.transcript());
    assert!(plan.stderr.contains("--current"), "{}", plan.stderr);
    let texts: Vec<&str> = plan
        .stderr
        .lines()
        .map(|l| {
            l.trim_start()
                .trim_start_matches("error: ")
                .trim_start_matches("cause: ")
        })
        .collect();
    for pair in texts.windows(2) {
        assert!(
            !pair[0].contains(pair[1]),
            "a cause repeats the line before it: {}",
            plan.stderr
        );
    }

    let files_help = upcheck(&["files", "--help"]).stdout;
    assert!(!files_help.contains("<FAIL_ON>"), "{files_help}");
    // Global flags come after the command's own, under their own heading.
    let global = files_help.find("Global options:").unwrap();
    assert!(files_help.find("--color").unwrap() > global);
    assert!(files_help.find("--allow-empty").unwrap() < global);
    let helm_help = upcheck(&["helm", "--help"]).stdout;
    let cluster_help = upcheck(&["cluster", "--help"]).stdout;
    // The flag's line and its wrapped help lines (indented further than any flag).
    let namespace = |help: &str| -> String {
        let start = help.find("--namespace").unwrap();
        let mut lines = help[start..].lines();
        let mut text = lines.next().unwrap().to_owned();
        for l in lines.take_while(|l| l.starts_with("          ")) {
            text.push('\n');
            text.push_str(l);
        }
        text
    };
    assert_ne!(namespace(&helm_help), namespace(&cluster_help));
    assert!(namespace(&helm_help).contains("Helm releases"));
    insta::assert_snapshot!(format!(
        "{}\n## helm --namespace\n{}\n",
        plan.transcript().replace(&*home.to_string_lossy(), "HOME"),
        namespace(&helm_help)
    ));
}

#[test]
fn path001_severity_skew_offline_and_mid_upgrade_support() {
    // PATH001's findings carry the severity `checks` lists for it.
    let listed: serde_json::Value =
        serde_json::from_str(&upcheck(&["checks", "-o", "json"]).stdout).unwrap();
    let severity_of = |code: &str| -> String {
        listed
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["code"] == code)
            .unwrap()["severity"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    let scan = upcheck(&[
        "files",
        "fixtures/examples",
        "--checks",
        "--current",
        "1.27",
        "-t",
        "1.30",
        "-o",
        "json",
    ]);
    let report: serde_json::Value = serde_json::from_str(&scan.stdout).unwrap();
    let path001: Vec<&serde_json::Value> = report["readiness"]["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["code"] == "PATH001")
        .collect();
    assert_eq!(path001.len(), 1, "{}", scan.stdout);
    assert_eq!(path001[0]["severity"], severity_of("PATH001"));

    // Offline with --nodes, SKEW001 runs on the pools (the rule the plan rolls them by).
    let plan = upcheck(&[
        "plan",
        "-t",
        "1.30",
        "--current",
        "1.27",
        "--nodes",
        "1.25,1.27",
        "fixtures/examples",
        "-o",
        "json",
    ]);
    let doc: serde_json::Value = serde_json::from_str(&plan.stdout).unwrap();
    let readiness = &doc["report"]["readiness"];
    assert!(
        readiness["ran"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c == "SKEW001"),
        "{readiness}"
    );
    assert!(
        readiness["not_run"]
            .as_array()
            .unwrap()
            .iter()
            .all(|n| n["code"] != "SKEW001"),
        "{readiness}"
    );
    let skew: Vec<String> = readiness["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["code"] == "SKEW001")
        .map(|f| format!("{} {} {}", f["severity"], f["hop"], f["message"]))
        .collect();
    assert!(!skew.is_empty(), "{readiness}");
    // Without --nodes it still says why it did not run.
    let no_nodes = upcheck(&[
        "plan",
        "-t",
        "1.30",
        "--current",
        "1.27",
        "fixtures/examples",
        "-o",
        "json",
    ]);
    let doc: serde_json::Value = serde_json::from_str(&no_nodes.stdout).unwrap();
    assert!(
        doc["report"]["readiness"]["not_run"]
            .as_array()
            .unwrap()
            .iter()
            .any(|n| n["code"] == "SKEW001")
    );

    // Mid-upgrade, the support notes speak of the version the plan starts from.
    let mid = upcheck(&["plan", "-t", "1.33", "--current", "1.33,1.32,1.32"]);
    assert_eq!(mid.code, 0, "{}", mid.transcript());
    assert!(
        !mid.stdout.contains("running version 1.33"),
        "{}",
        mid.stdout
    );
    let head: String = mid.stdout.lines().take(3).collect::<Vec<_>>().join("\n");
    insta::assert_snapshot!(format!(
        "## plan SKEW001 findings (offline, --nodes 1.25,1.27)\n{}\n## plan -t 1.33 --current 1.33,1.32,1.32 (first lines)\n{head}\n",
        skew.join("\n")
    ));
}

#[test]
fn addon_version_lines_know_releases_that_removed_nothing() {
    // The README's own example: cert-manager 1.7 and Istio 1.6 are released versions.
    let run = upcheck(&[
        "files",
        "fixtures/examples",
        "-t",
        "1.33,cert-manager=1.7,istio=1.6",
    ]);
    assert_eq!(run.code, 3, "{}", run.transcript());
    assert!(!run.stderr.contains("not known"), "{}", run.stderr);
    // Beyond the recorded releases the note still says what is not known.
    let beyond = upcheck(&["files", "fixtures/examples", "-t", "1.33,cert-manager=9.0"]);
    assert!(beyond.stderr.contains("not known"), "{}", beyond.stderr);
    insta::assert_snapshot!(format!(
        "{}\n$ upcheck files fixtures/examples -t 1.33,cert-manager=9.0\n{}",
        run.transcript(),
        beyond.transcript()
    ));
}

#[test]
fn tables_name_the_first_move_of_a_migration_path() {
    // v1beta2 is gone in 1.29 and v1 is only served from 1.29: from 1.27 the way is v1beta3
    // now, then v1. The table must say so, as the finding's message and the plan do.
    let runs: &[&[&str]] = &[
        &[
            "files",
            "fixtures/manifests/removed/v1.29-flowschema-v1beta2.yaml",
            "-t",
            "1.33",
            "--current",
            "1.27",
        ],
        &[
            "files",
            "fixtures/manifests/removed/v1.29-flowschema-v1beta2.yaml",
            "-t",
            "1.33",
            "--current",
            "1.27",
            "-o",
            "wide",
        ],
    ];
    for args in runs {
        let run = upcheck(args);
        assert_eq!(run.code, 3, "{}", run.transcript());
        assert!(
            run.stdout
                .contains("flowcontrol.apiserver.k8s.io/v1beta3 -> v1"),
            "{}",
            run.stdout
        );
    }
    insta::assert_snapshot!(transcripts(runs));
}
