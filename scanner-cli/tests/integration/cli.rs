//! End-to-end tests of the `upcheck` binary: every output format and exit code, snapshotted
//! with stdout and stderr together.
#![allow(clippy::unwrap_used)] // tests fail loudly on purpose

use std::fmt::Write as _;

use crate::common;

use crate::common::{Run, upcheck, upcheck_with, workspace};

fn upcheck_in(dir: &std::path::Path, args: &[&str], stdin: Option<&str>) -> Run {
    upcheck_with(dir, args, stdin, &[])
}

const EXAMPLE: &[&str] = &["files", "fixtures/examples", "--target-version", "1.25"];

fn example(extra: &[&str]) -> Run {
    let mut args = EXAMPLE.to_vec();
    args.extend_from_slice(extra);
    upcheck(&args)
}

// ---- every output format over the bundled example ----

#[test]
fn example_text() {
    let run = example(&[]);
    assert_eq!(run.code, 3);
    insta::assert_snapshot!(run.transcript());
}

#[test]
fn example_wide() {
    insta::assert_snapshot!(example(&["-o", "wide"]).transcript());
}

#[test]
fn example_json() {
    let run = example(&["-o", "json"]);
    let v: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(v["schema_version"], 1);
    insta::assert_snapshot!(run.transcript());
}

#[test]
fn example_yaml() {
    insta::assert_snapshot!(example(&["-o", "yaml"]).transcript());
}

#[test]
fn example_markdown() {
    insta::assert_snapshot!(example(&["-o", "markdown"]).transcript());
}

#[test]
fn example_csv() {
    insta::assert_snapshot!(example(&["-o", "csv"]).transcript());
}

#[test]
fn custom_columns_any_case_without_headers() {
    insta::assert_snapshot!(
        example(&["--columns", "kind,name,removed_in,filepath,LINE", "-H"]).transcript()
    );
}

#[test]
fn csv_with_columns_quotes_fields() {
    insta::assert_snapshot!(example(&["-o", "csv", "--columns", "name,message"]).transcript());
}

// ---- exit codes ----

#[test]
fn exit_0_nothing_found() {
    let run = upcheck(&["files", "fixtures/manifests/clean", "-t", "1.37"]);
    assert_eq!(run.code, 0);
    insta::assert_snapshot!(run.transcript());
}

#[test]
fn exit_0_json_has_empty_lists() {
    let run = upcheck(&[
        "files",
        "fixtures/manifests/clean",
        "-t",
        "1.37",
        "-o",
        "json",
    ]);
    assert_eq!(run.code, 0);
    let v: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(v["findings"], serde_json::json!([]));
    assert_eq!(v["errors"], serde_json::json!([]));
}

#[test]
fn exit_2_deprecated_only() {
    let run = upcheck(&[
        "files",
        "fixtures/manifests/deprecated/endpoints-v1.33.yaml",
        "-t",
        "1.33",
    ]);
    assert_eq!(run.code, 2);
    insta::assert_snapshot!(run.transcript());
}

#[test]
fn exit_3_removed() {
    let run = upcheck(&[
        "files",
        "fixtures/manifests/removed/v1.25-cronjob-psp.yaml",
        "-t",
        "k8s=v1.25.0",
    ]);
    assert_eq!(run.code, 3);
    insta::assert_snapshot!(run.transcript());
}

#[test]
fn exit_3_for_removed_api_without_replacement_not_4() {
    // Pluto exits 4 for a removed PodSecurityPolicy; it has no replacement at all.
    let run = upcheck(&[
        "files",
        "fixtures/manifests/removed/v1.25-cronjob-psp.yaml",
        "-t",
        "1.25",
        "-o",
        "json",
    ]);
    assert_eq!(run.code, 3);
}

#[test]
fn exit_3_unknown_version() {
    let run = upcheck(&[
        "files",
        "fixtures/manifests/malformed/unknown-versions.yaml",
        "-t",
        "1.30",
    ]);
    assert_eq!(run.code, 3);
    insta::assert_snapshot!(run.transcript());
}

#[test]
fn exit_2_when_a_version_served_today_leads_to_the_replacement() {
    // autoscaling/v2 arrives in 1.23, but v2beta2 is served at 1.22: a path, so not 4.
    let run = upcheck(&[
        "files",
        "fixtures/manifests/deprecated/hpa-v2beta1.yaml",
        "-t",
        "1.22",
    ]);
    assert_eq!(run.code, 2);
    insta::assert_snapshot!(run.transcript());
}

#[test]
fn exit_3_when_the_replacement_comes_during_the_upgrade() {
    // From 1.20 to 1.25: batch/v1 CronJob (1.21) is not served today, but the object can stay
    // on batch/v1beta1 until a hop in 1.21-1.24 and move then: a path, so removed (3), not 4.
    let args = [
        "files",
        "fixtures/manifests/removed/v1.25-cronjob-psp.yaml",
        "-t",
        "1.25",
        "--current",
        "1.20",
        "-o",
        "json",
    ];
    let run = upcheck(&args);
    assert_eq!(run.code, 3, "{}", run.transcript());
    let report: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    let cron = &report["findings"][0];
    assert_eq!(
        cron["message"],
        "batch/v1beta1 CronJob is no longer served since 1.25; migrate to batch/v1 CronJob from 1.21"
    );
    assert_eq!(cron["replacement"]["path"][0]["earliest"], "1.21");
    assert_eq!(cron["replacement"]["path"][0]["latest"], "1.24");
}

#[test]
fn exit_4_only_when_no_migration_path_exists() {
    // A version removed in the very release that first serves its replacement: from 1.29
    // nothing bridges to 1.30. Already on 1.30 (an object left behind), the move is now.
    let dir = tempfile::tempdir().unwrap();
    let catalog = dir.path().join("gap.yaml");
    std::fs::write(
        &catalog,
        r#"schema_version: 1
data_version: "gap-1"
apis:
  - component: k8s
    api_version: gap.example.com/v1beta1
    kind: Gadget
    introduced: "1.20"
    deprecated: "1.27"
    removed: "1.30"
    replacement: {api_version: gap.example.com/v1, kind: Gadget}
    link: https://example.com/gadgets
  - component: k8s
    api_version: gap.example.com/v1
    kind: Gadget
    introduced: "1.30"
    link: https://example.com/gadgets
"#,
    )
    .unwrap();
    let manifest = dir.path().join("gadget.yaml");
    std::fs::write(
        &manifest,
        "apiVersion: gap.example.com/v1beta1\nkind: Gadget\nmetadata:\n  name: g\n",
    )
    .unwrap();
    let files = |current: &str| {
        upcheck(&[
            "files",
            manifest.to_str().unwrap(),
            "--catalog",
            catalog.to_str().unwrap(),
            "-t",
            "1.30",
            "--current",
            current,
            "-o",
            "json",
        ])
    };
    let run = files("1.29");
    assert_eq!(run.code, 4, "{}", run.transcript());
    let report: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    let f = &report["findings"][0];
    assert_eq!(
        f["message"],
        "gap.example.com/v1beta1 Gadget is no longer served since 1.30; migrate to gap.example.com/v1 Gadget (only served from 1.30; not available at 1.29)"
    );
    assert!(f["replacement"].get("path").is_none(), "{f}");
    let run = files("1.30");
    assert_eq!(run.code, 3, "{}", run.transcript());
    let ignored = upcheck(&[
        "files",
        manifest.to_str().unwrap(),
        "--catalog",
        catalog.to_str().unwrap(),
        "-t",
        "1.30",
        "--current",
        "1.29",
        "--ignore-unavailable-replacements",
    ]);
    assert_eq!(ignored.code, 3, "{}", ignored.transcript());
    // PodSecurityPolicy has no replacement at all: removed (3), as before.
    let psp = upcheck(&[
        "files",
        "fixtures/manifests/removed/v1.25-cronjob-psp.yaml",
        "-t",
        "1.25",
        "--current",
        "1.20",
        "--ignore-removals",
    ]);
    assert_eq!(psp.code, 0, "{}", psp.transcript());
}

#[test]
fn exit_1_incomplete_scan_wins_over_findings() {
    let run = upcheck(&[
        "files",
        "fixtures/manifests/malformed/broken-middle.yaml",
        "-t",
        "1.25",
    ]);
    assert_eq!(run.code, 1);
    insta::assert_snapshot!(run.transcript());
    let allowed = upcheck(&[
        "files",
        "fixtures/manifests/malformed/broken-middle.yaml",
        "-t",
        "1.25",
        "--allow-incomplete",
    ]);
    assert_eq!(allowed.code, 3);
}

#[test]
fn exit_1_binary_file_and_template() {
    let run = upcheck(&[
        "files",
        "fixtures/manifests/malformed/binary.yaml",
        "fixtures/manifests/templates",
        "-t",
        "1.25",
    ]);
    assert_eq!(run.code, 1);
    insta::assert_snapshot!(run.transcript());
}

#[test]
fn ignore_flags_each_remove_only_their_class() {
    let psp = "fixtures/manifests/removed/v1.25-cronjob-psp.yaml";
    let hpa = "fixtures/manifests/deprecated/hpa-v2beta1.yaml";
    let endpoints = "fixtures/manifests/deprecated/endpoints-v1.33.yaml";
    let cases: &[(&[&str], i32)] = &[
        (&[psp, "-t", "1.25", "--ignore-removals"], 0),
        (&[psp, "-t", "1.22", "--ignore-removals"], 2),
        (&[psp, "-t", "1.22", "--ignore-deprecations"], 0),
        (&[psp, "-t", "1.25", "--ignore-deprecations"], 3),
        (&[hpa, "-t", "1.22", "--ignore-unavailable-replacements"], 2),
        (
            &[
                hpa,
                "-t",
                "1.22",
                "--ignore-unavailable-replacements",
                "--ignore-deprecations",
            ],
            0,
        ),
        (&[hpa, "-t", "1.22", "--ignore-deprecations"], 0),
        (&[endpoints, "-t", "1.33", "--ignore-deprecations"], 0),
        (&[psp, hpa, "-t", "1.22"], 2),
        (&[psp, hpa, "-t", "1.25"], 3),
    ];
    for (args, code) in cases {
        let mut full = vec!["files"];
        full.extend_from_slice(args);
        let run = upcheck(&full);
        assert_eq!(run.code, *code, "{args:?}\n{}", run.transcript());
        // The flags change the exit code only; rows stay.
        assert!(!run.stdout.starts_with("No deprecated"), "{args:?}");
    }
}

#[test]
fn only_removed_drops_deprecated_rows_and_exit_code() {
    let run = upcheck(&["files", "fixtures/examples", "-t", "1.25", "-r"]);
    assert_eq!(run.code, 3);
    assert!(!run.stdout.contains("HorizontalPodAutoscaler"));
    let run = upcheck(&[
        "files",
        "fixtures/manifests/deprecated/endpoints-v1.33.yaml",
        "-t",
        "1.33",
        "--only-removed",
    ]);
    assert_eq!(run.code, 0);
    insta::assert_snapshot!(run.transcript());
}

#[test]
fn stdin_is_read_with_dash() {
    let run = upcheck_in(
        &workspace(),
        &["files", "-", "-t", "1.22", "-o", "wide"],
        Some(
            "apiVersion: networking.k8s.io/v1beta1\nkind: Ingress\nmetadata:\n  name: piped\n  namespace: web\n",
        ),
    );
    assert_eq!(run.code, 3);
    insta::assert_snapshot!(run.transcript());
}

// ---- usage errors: exit 1, a message naming the input ----

#[test]
fn usage_errors() {
    let cases: &[(&str, &[&str])] = &[
        ("bad_target", &["files", "fixtures/examples", "-t", "1.x"]),
        (
            "unknown_component",
            &["files", "fixtures/examples", "-t", "nosuch=1.6"],
        ),
        (
            "current_after_target",
            &[
                "files",
                "fixtures/examples",
                "-t",
                "1.25",
                "--current",
                "1.27",
            ],
        ),
        (
            "bad_column",
            &["files", "fixtures/examples", "--columns", "name,colour"],
        ),
        (
            "columns_with_json",
            &[
                "files",
                "fixtures/examples",
                "-o",
                "json",
                "--columns",
                "name",
            ],
        ),
        ("bad_format", &["files", "fixtures/examples", "-o", "xml"]),
        ("unknown_flag", &["files", "--frobnicate"]),
        ("zero_threads", &["files", "fixtures/examples", "-j", "0"]),
        ("no_command", &[]),
    ];
    let mut all = String::new();
    for (name, args) in cases {
        let run = upcheck(args);
        assert_eq!(run.code, 1, "{name}: {}", run.transcript());
        assert!(run.stdout.is_empty(), "{name}: errors go to stderr");
        let _ = writeln!(
            all,
            "== {name}: upcheck {}\n{}",
            args.join(" "),
            run.transcript()
        );
    }
    insta::assert_snapshot!(all);
}

#[test]
fn missing_path_is_an_incomplete_scan() {
    let run = upcheck(&["files", "fixtures/nope", "fixtures/manifests/clean"]);
    assert_eq!(run.code, 1);
    insta::assert_snapshot!(run.transcript());
}

#[test]
fn target_beyond_catalog_gets_a_note() {
    let run = upcheck(&["files", "fixtures/manifests/clean", "-t", "1.45"]);
    assert_eq!(run.code, 0);
    assert!(
        run.stderr
            .contains("the catalog covers Kubernetes up to 1.37"),
        "{}",
        run.stderr
    );
    let quiet = upcheck(&["files", "fixtures/manifests/clean", "-t", "1.45", "-q"]);
    assert!(quiet.stderr.is_empty());
}

#[test]
fn default_target_is_the_newest_release() {
    let run = upcheck(&["files", "fixtures/manifests/clean"]);
    assert!(run.stdout.contains("at target k8s 1.37"), "{}", run.stdout);
}

#[test]
fn version_command() {
    let run = upcheck(&["version"]);
    assert_eq!(run.code, 0);
    insta::assert_snapshot!(run.transcript());
}

// ---- determinism ----

#[test]
fn one_and_eight_threads_give_identical_json() {
    let one = upcheck(&["files", "fixtures", "-t", "1.37", "-o", "json", "-j", "1"]);
    let eight = upcheck(&["files", "fixtures", "-t", "1.37", "-o", "json", "-j", "8"]);
    assert_eq!(one.code, 1, "the fixtures include broken files");
    assert!(one.stdout.len() > 10_000);
    assert_eq!(one.stdout, eight.stdout);
    assert_eq!(one.stderr, eight.stderr);
}

// ---- help and README agree ----

#[test]
fn help_output() {
    insta::assert_snapshot!("help", upcheck(&["--help"]).transcript());
    insta::assert_snapshot!("files_help", upcheck(&["files", "--help"]).transcript());
}

#[test]
fn readme_documents_every_flag_and_exit_code() {
    let readme = std::fs::read_to_string(workspace().join("README.md")).unwrap();
    let help = ["files", "cluster", "helm", "serve"]
        .map(|c| upcheck(&[c, "--help"]).stdout)
        .join("\n");
    for line in help.lines() {
        let line = line.trim_start();
        if !line.starts_with('-') {
            continue;
        }
        for flag in line.split([',', ' ']).filter(|w| w.starts_with("--")) {
            let flag = flag.trim_end_matches("...");
            if flag == "--help" || flag == "--version" {
                continue;
            }
            assert!(
                readme.contains(&format!("`{flag}")),
                "README does not document {flag}"
            );
        }
    }
    for line in scanner_cli::args::EXIT_CODES_HELP.lines().skip(1) {
        let line = line.trim();
        if let Some((code, meaning)) = line.split_once("  ")
            && code.len() == 1
        {
            let row = format!("| {code} | {} |", meaning.trim());
            assert!(readme.contains(&row), "README exit-code table lacks: {row}");
        }
    }
}

#[test]
fn files_over_the_size_limit_are_errors_and_the_rest_is_scanned() {
    let dir = tempfile::tempdir().unwrap();
    // A sparse 1 GiB file: refused from its size, before a byte is read.
    let huge = std::fs::File::create(dir.path().join("huge.yaml")).unwrap();
    huge.set_len(1 << 30).unwrap();
    std::fs::write(
        dir.path().join("small.yaml"),
        "apiVersion: extensions/v1beta1\nkind: Ingress\nmetadata: {name: web}\n",
    )
    .unwrap();
    std::fs::write(dir.path().join("two-mib.yaml"), "# x\n".repeat(600_000)).unwrap();
    let run = upcheck_in(dir.path(), &["files", ".", "-t", "1.25"], None);
    assert_eq!(run.code, 1);
    assert!(run.stdout.contains("Ingress"), "{}", run.transcript());
    let tight = upcheck_in(
        dir.path(),
        &["files", ".", "-t", "1.25", "--max-file-size", "1"],
        None,
    );
    assert_eq!(tight.code, 1);
    insta::assert_snapshot!(format!("{}\n{}", run.stderr, tight.stderr));
    // Through stdin the same limit holds for what is read.
    let piped = upcheck_in(
        dir.path(),
        &["files", "-", "--max-file-size", "1"],
        Some(&"# x\n".repeat(600_000)),
    );
    assert_eq!(piped.code, 1, "{}", piped.transcript());
    assert!(
        piped.stderr.contains("more than the 1.0 MiB limit"),
        "{}",
        piped.stderr
    );
}

/// A "billion laughs" document: ten levels of ten aliases each.
fn alias_bomb() -> String {
    let mut text = String::from(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: bomb\ndata:\n  a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n",
    );
    for i in 1..10 {
        let refs = vec![format!("*a{}", i - 1); 10].join(", ");
        let _ = writeln!(text, "  a{i}: &a{i} [{refs}]");
    }
    text
}

/// A `ConfigMap` whose data nests `levels` block mappings deep.
fn nested(levels: usize) -> String {
    let mut text =
        String::from("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: deep\ndata:\n");
    for i in 0..levels {
        let _ = writeln!(text, "{}k{i}:", " ".repeat(i + 2));
    }
    let _ = writeln!(text, "{}v: 1", " ".repeat(levels + 2));
    text
}

const INGRESS: &str = "apiVersion: extensions/v1beta1\nkind: Ingress\nmetadata:\n  name: NAME\n";

#[test]
fn hostile_documents_are_errors_and_the_rest_is_scanned() {
    let dir = tempfile::tempdir().unwrap();
    let put = |name: &str, bytes: &[u8]| std::fs::write(dir.path().join(name), bytes).unwrap();
    put("a-bomb.yaml", alias_bomb().as_bytes());
    put("b-deep-block.yaml", nested(300).as_bytes());
    put(
        "c-deep-flow.yaml",
        format!(
            "{}data: {}{}\n",
            &nested(0)[..60],
            "[".repeat(5000),
            "]".repeat(5000)
        )
        .as_bytes(),
    );
    put("d-nul.yaml", b"apiVersion: v1\nkind: Pod\x00\n");
    put(
        "e-bad-utf8.yaml",
        &[INGRESS.replace("NAME\n", "caf").as_bytes(), b"\xe9\n"].concat(),
    );
    let utf16: Vec<u8> = std::iter::once(0xFEFF_u16)
        .chain(INGRESS.replace("NAME", "sixteen").encode_utf16())
        .flat_map(u16::to_le_bytes)
        .collect();
    put("f-utf16.yaml", &utf16);
    put(
        "g-two-docs.yaml",
        format!(
            "{}---\n{}",
            alias_bomb(),
            INGRESS.replace("NAME", "sibling")
        )
        .as_bytes(),
    );
    put("h-good.yaml", INGRESS.replace("NAME", "good").as_bytes());
    let started = std::time::Instant::now();
    let run = upcheck_in(dir.path(), &["files", ".", "-t", "1.22"], None);
    assert!(started.elapsed() < std::time::Duration::from_secs(20));
    assert_eq!(run.code, 1, "{}", run.transcript());
    // The good file, the UTF-16 file, the readable part of the bad UTF-8 file and the
    // sibling of a bomb in the same stream were all scanned.
    for name in ["good", "sixteen", "sibling", "caf\u{fffd}"] {
        assert!(run.stdout.contains(name), "{name}: {}", run.transcript());
    }
    insta::assert_snapshot!(run.transcript());

    // The limits are settings: tighter ones trip on small documents, looser ones let a
    // deep document through.
    let tight = upcheck_in(
        dir.path(),
        &[
            "files",
            "h-good.yaml",
            "b-deep-block.yaml",
            "-t",
            "1.22",
            "--max-yaml-depth",
            "1000",
        ],
        None,
    );
    assert_eq!(tight.code, 3, "{}", tight.transcript());
    put("i-anchors.yaml", b"apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\ndata: {a: &a [1, 2, 3], b: *a, c: *a}\n");
    let small = upcheck_in(
        dir.path(),
        &[
            "files",
            "i-anchors.yaml",
            "--max-yaml-expansion",
            "4",
            "--max-yaml-depth",
            "2",
        ],
        None,
    );
    assert_eq!(small.code, 1, "{}", small.transcript());
    assert!(
        small.stderr.contains(
            "not read: nested deeper than the limit of 2 levels (raise it with --max-yaml-depth)"
        ),
        "{}",
        small.stderr
    );
    let small = upcheck_in(
        dir.path(),
        &["files", "i-anchors.yaml", "--max-yaml-expansion", "4"],
        None,
    );
    assert_eq!(small.code, 1, "{}", small.transcript());
    assert!(
        small.stderr.contains("not read: its aliases expand past the limit of 4 events, as an alias bomb does (raise it with --max-yaml-expansion)"),
        "{}",
        small.stderr
    );
}

#[test]
fn fifos_and_devices_never_hang_the_scan() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("good.yaml"),
        INGRESS.replace("NAME", "good"),
    )
    .unwrap();
    let fifo = dir.path().join("fifo.yaml");
    assert!(
        std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap()
            .success()
    );
    // Nothing ever writes to the FIFO; /dev/zero never ends.
    let started = std::time::Instant::now();
    let run = upcheck_in(
        dir.path(),
        &[
            "files",
            "fifo.yaml",
            "/dev/zero",
            "good.yaml",
            "-t",
            "1.22",
            "--pipe-timeout",
            "1",
            "--max-file-size",
            "1",
        ],
        None,
    );
    assert!(started.elapsed() < std::time::Duration::from_secs(10));
    assert_eq!(run.code, 1, "{}", run.transcript());
    assert!(run.stdout.contains("good"), "{}", run.transcript());
    insta::assert_snapshot!(run.stderr);

    // A FIFO with a writer (what `<(helm template ...)` gives) is read like a file.
    let writer = {
        let fifo = fifo.clone();
        std::thread::spawn(move || {
            std::fs::write(fifo, INGRESS.replace("NAME", "from-pipe")).unwrap();
        })
    };
    let run = upcheck_in(dir.path(), &["files", "fifo.yaml", "-t", "1.22"], None);
    writer.join().unwrap();
    assert_eq!(run.code, 3, "{}", run.transcript());
    assert!(run.stdout.contains("from-pipe"), "{}", run.transcript());

    // In a directory walk a FIFO is not opened at all: a warning says so.
    let walked = upcheck_in(dir.path(), &["files", ".", "-t", "1.22"], None);
    assert_eq!(walked.code, 3, "{}", walked.transcript());
    assert!(
        walked
            .stderr
            .contains("fifo.yaml: not a regular file (FIFO, socket or device); skipped"),
        "{}",
        walked.stderr
    );
}

#[test]
fn ctrl_c_stops_a_file_scan_and_reports_nothing() {
    // `files -` waits on a stdin that never ends.
    let (run, took) = common::interrupted(
        &["files", "-", "-t", "1.22", "-o", "json"],
        &common::reading_a_pipe,
    );
    assert!(took < std::time::Duration::from_secs(2), "{took:?}");
    assert_eq!(run.code, 130, "{}", run.transcript());
    assert_eq!(run.stdout, "");
    assert_eq!(
        run.stderr,
        "upcheck: interrupted; the scan was stopped and nothing was reported\n"
    );
}
