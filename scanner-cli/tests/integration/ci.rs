//! CI integration: SARIF, JUnit and GitHub output, several outputs in one run, upcheck.toml
//! (discovery, precedence, every ignore kind, errors), inline suppression, baselines,
//! completions, the man page and the kubectl plugin name.
#![allow(clippy::unwrap_used)] // tests fail loudly on purpose

use crate::common;

use std::fmt::Write as _;
use std::path::Path;

use crate::common::{Run, upcheck, upcheck_with};
use serde_json::Value;
use upcheck_test_server::{Scenario, Server};

const WEB: &str = "\
apiVersion: extensions/v1beta1
kind: Ingress
metadata:
  name: web
  namespace: shop
---
apiVersion: apps/v1beta2
kind: Deployment
metadata:
  name: api
  namespace: shop
";

const HPA: &str = "\
apiVersion: autoscaling/v2beta2
kind: HorizontalPodAutoscaler
metadata:
  name: web
  namespace: shop
---
apiVersion: batch/v1beta1
kind: CronJob
metadata:
  name: nightly
  namespace: batch
";

const VENDOR: &str = "\
apiVersion: policy/v1beta1
kind: PodSecurityPolicy
metadata:
  name: restricted
";

/// A workload with one replica and a PDB that allows no disruption: readiness findings
/// (WL001, DRN002) from manifests alone.
const APP: &str = "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: api, namespace: shop}\nspec:\n  replicas: 1\n  selector: {matchLabels: {app: api}}\n  template:\n    metadata: {labels: {app: api}}\n    spec: {containers: [{name: api, image: api:1}]}\n---\napiVersion: policy/v1\nkind: PodDisruptionBudget\nmetadata: {name: api, namespace: shop}\nspec:\n  minAvailable: 1\n  selector: {matchLabels: {app: api}}\n";

/// `deploy/web.yaml` and `app.yaml`: deprecated APIs and readiness findings.
fn app_repo() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("deploy")).unwrap();
    std::fs::write(dir.path().join("deploy/web.yaml"), WEB).unwrap();
    std::fs::write(dir.path().join("app.yaml"), APP).unwrap();
    dir
}

const WITH_CHECKS: &[&str] = &["files", ".", "-t", "1.30", "--current", "1.29", "--checks"];

fn with_checks(dir: &Path, extra: &[&str]) -> Run {
    let mut args = WITH_CHECKS.to_vec();
    args.extend_from_slice(extra);
    run_in(dir, &args)
}

/// A repository: `deploy/web.yaml`, `jobs/hpa.yaml`, `vendor/psp.yaml`, and `upcheck.toml`
/// when `config` is given.
fn repo(config: Option<&str>) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for (path, text) in [
        ("deploy/web.yaml", WEB),
        ("jobs/hpa.yaml", HPA),
        ("vendor/psp.yaml", VENDOR),
    ] {
        let p = dir.path().join(path);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    }
    if let Some(c) = config {
        std::fs::write(dir.path().join("upcheck.toml"), c).unwrap();
    }
    dir
}

fn run_in(dir: &Path, args: &[&str]) -> Run {
    upcheck_with(dir, args, None, &[])
}

fn json(run: &Run) -> Value {
    serde_json::from_str(&run.stdout).unwrap_or_else(|e| panic!("{e}\n{}", run.transcript()))
}

/// `code name` of every finding in a JSON report.
fn reported(run: &Run) -> Vec<String> {
    json(run)["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            format!(
                "{} {}",
                f["code"].as_str().unwrap(),
                f["name"].as_str().unwrap()
            )
        })
        .collect()
}

fn suppressed(run: &Run) -> Vec<String> {
    json(run)["suppressed"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|s| {
                    format!(
                        "{} {}",
                        s["code"].as_str().unwrap(),
                        s["subject"].as_str().unwrap()
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

const EXAMPLE: &[&str] = &["files", "fixtures/examples", "-t", "1.25"];

fn example(extra: &[&str]) -> Run {
    let mut args = EXAMPLE.to_vec();
    args.extend_from_slice(extra);
    upcheck(&args)
}

// ---- SARIF ----

#[test]
fn sarif_validates_and_meets_code_scanning_rules() {
    let dir = app_repo();
    let run = with_checks(dir.path(), &["-o", "sarif"]);
    assert_eq!(run.code, 3, "{}", run.transcript());
    let value: Value = serde_json::from_str(&run.stdout).unwrap();

    // SARIF 2.1.0 by the serde-sarif types (generated from the OASIS schema): every property
    // must survive a typed round trip, so a misspelt or misplaced one fails here.
    let typed: serde_sarif::sarif::Sarif = serde_json::from_value(value.clone()).unwrap();
    let back = serde_json::to_value(&typed).unwrap();
    assert_eq!(
        back, value,
        "SARIF lost or changed properties in a typed round trip"
    );
    assert_eq!(value["version"], "2.1.0");

    // GitHub code scanning: rule ids, a physical location with a relative URI and a start
    // line on file results, partial fingerprints, at most 10 locations.
    let run0 = &value["runs"][0];
    let rules = run0["tool"]["driver"]["rules"].as_array().unwrap();
    let ids: Vec<&str> = rules.iter().map(|r| r["id"].as_str().unwrap()).collect();
    for code in ["DEP001", "DEP002", "DEP003", "DRN001", "SKEW001"] {
        assert!(ids.contains(&code), "no rule {code}");
    }
    for r in rules {
        assert!(!r["help"]["text"].as_str().unwrap().is_empty(), "{r}");
        assert!(!r["shortDescription"]["text"].as_str().unwrap().is_empty());
    }
    let results = run0["results"].as_array().unwrap();
    // Two removed APIs, DRN002, WL001, and PATH003 on 1.29 and 1.30 (both past their end of
    // life on the tests' day).
    assert_eq!(results.len(), 6);
    assert_eq!(
        results.iter().filter(|r| r["ruleId"] == "PATH003").count(),
        2
    );
    let mut file_results = 0;
    for r in results {
        let idx = usize::try_from(r["ruleIndex"].as_u64().unwrap()).unwrap();
        assert_eq!(rules[idx]["id"], r["ruleId"]);
        let fp = r["partialFingerprints"]["upcheck/v1"].as_str().unwrap();
        assert_eq!(fp.len(), 16);
        let locations = r["locations"].as_array().unwrap();
        assert!(!locations.is_empty() && locations.len() <= 10);
        if let Some(phys) = locations[0].get("physicalLocation") {
            file_results += 1;
            let uri = phys["artifactLocation"]["uri"].as_str().unwrap();
            assert_eq!(uri, "deploy/web.yaml");
            assert!(phys["region"]["startLine"].as_u64().unwrap() >= 1);
            assert!(phys["region"]["startColumn"].as_u64().unwrap() >= 1);
        }
    }
    assert_eq!(file_results, 2);
    // Readiness findings from the manifests are results too (logical locations).
    assert!(results.iter().any(|r| r["ruleId"] == "DRN002"));
    assert!(results.iter().any(|r| r["ruleId"] == "WL001"));

    // Same input, same bytes: fingerprints are stable across runs.
    assert_eq!(with_checks(dir.path(), &["-o", "sarif"]).stdout, run.stdout);
}

#[test]
fn sarif_snapshot() {
    insta::assert_snapshot!(example(&["-o", "sarif"]).transcript());
}

#[test]
fn sarif_fingerprints_ignore_line_shifts() {
    let dir = repo(None);
    let fps = |dir: &Path| -> Vec<String> {
        let run = run_in(dir, &["files", "deploy", "-t", "1.25", "-o", "sarif"]);
        let v: Value = serde_json::from_str(&run.stdout).unwrap();
        v["runs"][0]["results"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| {
                r["partialFingerprints"]["upcheck/v1"]
                    .as_str()
                    .unwrap()
                    .to_owned()
            })
            .collect()
    };
    let before = fps(dir.path());
    std::fs::write(
        dir.path().join("deploy/web.yaml"),
        format!("# moved\n\n\n{WEB}"),
    )
    .unwrap();
    assert_eq!(fps(dir.path()), before);
}

// ---- JUnit ----

#[test]
fn junit_parses_and_counts_failures_by_the_gate() {
    let run = example(&["-o", "junit"]);
    let doc = roxmltree::Document::parse(&run.stdout).unwrap();
    let root = doc.root_element();
    assert_eq!(root.tag_name().name(), "testsuites");
    let suites: Vec<_> = root
        .children()
        .filter(|n| n.has_tag_name("testsuite"))
        .collect();
    assert_eq!(suites.len(), 1);
    let cases: Vec<_> = suites[0]
        .children()
        .filter(|n| n.has_tag_name("testcase"))
        .collect();
    let failures = cases
        .iter()
        .filter(|c| c.children().any(|n| n.has_tag_name("failure")))
        .count();
    assert_eq!(cases.len(), 4);
    assert_eq!(failures, 4);
    assert_eq!(root.attribute("tests"), Some("4"));
    assert_eq!(root.attribute("failures"), Some("4"));
    assert_eq!(suites[0].attribute("failures"), Some("4"));
    for c in &cases {
        assert!(
            c.attribute("classname")
                .unwrap()
                .starts_with("fixtures/examples/")
        );
        assert!(!c.attribute("name").unwrap().is_empty());
    }

    // Deprecations that do not fail the gate pass, with their message kept.
    let run = example(&["-o", "junit", "--ignore-deprecations"]);
    let doc = roxmltree::Document::parse(&run.stdout).unwrap();
    assert_eq!(doc.root_element().attribute("failures"), Some("3"));
    assert!(run.stdout.contains("<system-out>autoscaling/v2beta2"));

    // A clean scan is one passing case: the report shows the gate ran.
    let run = upcheck(&["files", "fixtures/examples", "-t", "1.16", "-o", "junit"]);
    let doc = roxmltree::Document::parse(&run.stdout).unwrap();
    assert_eq!(doc.root_element().attribute("tests"), Some("1"));
    assert_eq!(doc.root_element().attribute("failures"), Some("0"));
}

#[test]
fn junit_snapshot() {
    let dir = app_repo();
    insta::assert_snapshot!(with_checks(dir.path(), &["-o", "junit"]).transcript());
}

#[test]
fn junit_escapes_markup_and_reports_unreadable_inputs() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("a&b <x>.yaml"),
        "apiVersion: extensions/v1beta1\nkind: Ingress\nmetadata:\n  name: \"q\\\"<&>\"\n---\nkey: [broken\n",
    )
    .unwrap();
    let run = run_in(dir.path(), &["files", ".", "-t", "1.25", "-o", "junit"]);
    assert_eq!(run.code, 1);
    let doc = roxmltree::Document::parse(&run.stdout).unwrap();
    let root = doc.root_element();
    assert_eq!(root.attribute("errors"), Some("1"));
    assert_eq!(root.attribute("failures"), Some("1"));
    let names: Vec<&str> = doc
        .descendants()
        .filter(|n| n.has_tag_name("testcase"))
        .map(|n| n.attribute("name").unwrap())
        .collect();
    assert!(names.iter().any(|n| n.contains("q\"<&>")), "{names:?}");
}

// ---- GitHub annotations ----

#[test]
fn github_snapshot() {
    insta::assert_snapshot!(example(&["-o", "github", "--ignore-deprecations"]).transcript());
}

#[test]
fn github_escapes_properties_and_data() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("a,b:c.yaml"),
        "apiVersion: extensions/v1beta1\nkind: Ingress\nmetadata:\n  name: \"100%\"\n",
    )
    .unwrap();
    let run = run_in(dir.path(), &["files", ".", "-t", "1.25", "-o", "github"]);
    let first = run.stdout.lines().next().unwrap();
    assert!(
        first.starts_with(
            "::error file=a%2Cb%3Ac.yaml,line=1,col=13,title=DEP001 removed-api::Ingress 100%25: "
        ),
        "{first}"
    );
}

// ---- several outputs in one run ----

#[test]
fn several_outputs_in_one_run() {
    let dir = tempfile::tempdir().unwrap();
    let sarif = dir.path().join("out.sarif");
    let junit = dir.path().join("out.xml");
    let s = format!("sarif={}", sarif.display());
    let j = format!("junit={}", junit.display());
    let run = example(&["-o", "text", "-o", &s, "-o", &j]);
    assert_eq!(run.code, 3);
    assert_eq!(run.stdout, example(&[]).stdout);
    assert_eq!(
        std::fs::read_to_string(&sarif).unwrap(),
        example(&["-o", "sarif"]).stdout
    );
    assert_eq!(
        std::fs::read_to_string(&junit).unwrap(),
        example(&["-o", "junit"]).stdout
    );

    // Only files: stdout still carries the table for the CI log.
    let run = example(&["-o", &s]);
    assert_eq!(run.stdout, example(&[]).stdout);

    let run = example(&["-o", "json", "-o", "sarif"]);
    let run2 = example(&["-o", &s, "-o", &s]);
    let run3 = example(&["-o", "sarif="]);
    insta::assert_snapshot!(
        format!(
            "{}\n{}\n{}",
            run.transcript(),
            run2.transcript(),
            run3.transcript()
        )
        .replace(dir.path().to_str().unwrap(), "[TMP]")
    );
}

// ---- upcheck.toml ----

#[test]
fn config_is_found_walking_up_and_flags_win() {
    let dir = repo(Some("target-version = \"1.22\"\ninclude = [\"deploy\"]\n"));
    let sub = dir.path().join("jobs");
    // From a subdirectory: the file is found, its include is relative to the file.
    let run = run_in(&sub, &["files", "-o", "json"]);
    let v = json(&run);
    assert_eq!(v["targets"]["k8s"]["target"], "1.22");
    assert_eq!(
        reported(&run),
        ["DEP001 web", "DEP001 api"].map(String::from)
    );
    assert!(
        v["findings"][0]["location"]["path"] == "../deploy/web.yaml",
        "{}",
        run.stdout
    );

    // The flag wins over the file: at 1.16 the Ingress is only deprecated.
    let run = run_in(&sub, &["files", "-o", "json", "-t", "1.16"]);
    assert_eq!(json(&run)["targets"]["k8s"]["target"], "1.16");
    // Paths on the command line win over include.
    let run = run_in(dir.path(), &["files", "-o", "json", "jobs"]);
    assert_eq!(reported(&run), ["DEP002 nightly"].map(String::from));

    // --no-config: the defaults (newest release, current directory).
    let run = run_in(&sub, &["files", "-o", "json", "--no-config"]);
    assert_ne!(json(&run)["targets"]["k8s"]["target"], "1.22");
    assert_eq!(reported(&run).len(), 2);

    // --config names another file.
    let other = dir.path().join("other.toml");
    std::fs::write(
        &other,
        "target-version = \"1.25\"\ninclude = [\"vendor\"]\n",
    )
    .unwrap();
    let run = run_in(
        &sub,
        &["files", "-o", "json", "--config", other.to_str().unwrap()],
    );
    assert_eq!(reported(&run), ["DEP001 restricted"].map(String::from));
}

#[test]
fn config_exclude_leaves_paths_out_of_walks() {
    let dir = repo(Some(
        "target-version = \"1.25\"\nexclude = [\"vendor/**\", \"jobs\"]\n",
    ));
    let run = run_in(dir.path(), &["files", ".", "-o", "json"]);
    assert_eq!(
        reported(&run),
        ["DEP001 web", "DEP001 api"].map(String::from)
    );
    // A file named on the command line is read even when excluded.
    let run = run_in(dir.path(), &["files", "vendor/psp.yaml", "-o", "json"]);
    assert_eq!(reported(&run), ["DEP001 restricted"].map(String::from));
}

/// Findings left after one `[[ignore]]` rule, and what it suppressed.
fn with_rule(rule: &str) -> (Vec<String>, Vec<String>) {
    let dir = repo(Some(&format!(
        "target-version = \"1.25\"\n\n[[ignore]]\n{rule}\nreason = \"accepted for the test\"\n"
    )));
    let run = run_in(dir.path(), &["files", ".", "-o", "json"]);
    (reported(&run), suppressed(&run))
}

#[test]
fn every_ignore_kind() {
    let all = [
        "DEP001 web",
        "DEP001 api",
        "DEP002 web",
        "DEP001 nightly",
        "DEP001 restricted",
    ];
    let left = |gone: &[&str]| -> Vec<String> {
        all.iter()
            .filter(|f| !gone.contains(f))
            .map(|f| (*f).to_owned())
            .collect()
    };
    let cases: [(&str, &[&str]); 7] = [
        ("path = \"vendor/**\"", &["DEP001 restricted"]),
        ("api-version = \"apps/v1beta2\"", &["DEP001 api"]),
        ("kind = \"cronjob\"", &["DEP001 nightly"]),
        ("namespace = \"batch\"", &["DEP001 nightly"]),
        ("name = \"web\"", &["DEP001 web", "DEP002 web"]),
        ("codes = [\"DEP002\"]", &["DEP002 web"]),
        // Fields combine: every one set must match.
        ("name = \"web\"\ncodes = [\"DEP001\"]", &["DEP001 web"]),
    ];
    for (rule, gone) in cases {
        let (findings, hidden) = with_rule(rule);
        assert_eq!(findings, left(gone), "{rule}");
        assert_eq!(hidden.len(), gone.len(), "{rule}: {hidden:?}");
    }
    let (_, hidden) = with_rule("kind = \"PodSecurityPolicy\"");
    assert_eq!(
        hidden,
        ["DEP001 ./vendor/psp.yaml:1 PodSecurityPolicy restricted"]
    );
}

#[test]
fn ignore_rules_apply_to_readiness_findings() {
    let dir = app_repo();
    let run = with_checks(dir.path(), &["-o", "json"]);
    let before = json(&run)["readiness"]["findings"]
        .as_array()
        .unwrap()
        .len();
    assert!(before >= 2);
    std::fs::write(
        dir.path().join("upcheck.toml"),
        "[[ignore]]\ncodes = [\"DRN\", \"WL\"]\nnamespace = \"shop\"\nreason = \"drain handled by the platform team\"\n",
    )
    .unwrap();
    let run = with_checks(dir.path(), &["-o", "json"]);
    let v = json(&run);
    let left: Vec<&str> = v["readiness"]["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["code"].as_str().unwrap())
        .collect();
    assert!(
        left.iter()
            .all(|c| !c.starts_with("DRN") && !c.starts_with("WL")),
        "{left:?}"
    );
    // The support window (PATH003) is about the cluster, not the namespace the rule names.
    assert_eq!(left, ["PATH003", "PATH003"]);
    assert_eq!(
        v["suppressed"].as_array().unwrap().len(),
        before - left.len()
    );
}

#[test]
fn invalid_configs_are_clear_errors() {
    let cases = [
        "target-version = \"1.25\"\ncolour = \"red\"\n",
        "[[ignore]]\nkind = \"Ingress\"\n",
        "[[ignore]]\nkind = \"Ingress\"\nreason = \"  \"\n",
        "[[ignore]]\nreason = \"everything\"\n",
        "\n[[ignore]]\ncodes = [\"DEP009\"]\nreason = \"typo\"\n",
        "[[ignore]]\npath = \"deploy/[\"\nreason = \"bad glob\"\n",
        "[[ignore]]\nkind = \"Ingress\"\nreason = \"x\"\nnamspace = \"shop\"\n",
        "target-version = [1, 2\n",
    ];
    let mut out = String::new();
    for c in cases {
        let dir = repo(Some(c));
        let run = run_in(dir.path(), &["files", "."]);
        assert_eq!(run.code, 1, "{c}");
        assert!(run.stdout.is_empty());
        let _ = write!(out, "=== {c:?}\n{}", run.stderr);
    }
    insta::assert_snapshot!(out);
}

// ---- inline suppression ----

#[test]
fn inline_annotation_suppresses_its_object_only() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("a.yaml"),
        "\
apiVersion: extensions/v1beta1
kind: Ingress
metadata:
  name: web
  annotations:
    upcheck.io/ignore: \"DEP001: replaced by the gateway rollout, PLAT-7\"
---
apiVersion: extensions/v1beta1
kind: Ingress
metadata:
  name: admin
---
apiVersion: v1
kind: List
items:
- apiVersion: batch/v1beta1
  kind: CronJob
  metadata:
    name: wrong-code
    annotations: {upcheck.io/ignore: \"DEP002: only deprecations\"}
- apiVersion: batch/v1beta1
  kind: CronJob
  metadata:
    name: no-reason
    annotations: {upcheck.io/ignore: \"DEP001\"}
- apiVersion: batch/v1beta1
  kind: CronJob
  metadata:
    name: listed
    annotations: {upcheck.io/ignore: \"dep: whole class accepted\"}
",
    )
    .unwrap();
    let run = run_in(dir.path(), &["files", "a.yaml", "-t", "1.25", "-o", "json"]);
    assert_eq!(
        reported(&run),
        ["DEP001 admin", "DEP001 wrong-code", "DEP001 no-reason"].map(String::from)
    );
    assert_eq!(
        suppressed(&run),
        [
            "DEP001 a.yaml:1 Ingress web",
            "DEP001 a.yaml:26 CronJob listed"
        ]
        .map(String::from)
    );
    let text = run_in(dir.path(), &["files", "a.yaml", "-t", "1.25"]);
    insta::assert_snapshot!(text.transcript());
}

#[test]
fn inline_annotation_on_live_objects() {
    // The recorded v1.20 server, with the annotation on one Ingress written through
    // extensions/v1beta1.
    let fixture = common::workspace().join("fixtures/cluster/v1.20");
    let mut replace = std::collections::BTreeMap::new();
    let mut annotated = None;
    for group_version in [
        "extensions/v1beta1",
        "networking.k8s.io/v1beta1",
        "networking.k8s.io/v1",
    ] {
        let file = fixture.join(format!("list/{group_version}/ingresses.json"));
        let mut list: Value =
            serde_json::from_str(&std::fs::read_to_string(file).unwrap()).unwrap();
        for item in list["items"].as_array_mut().unwrap() {
            if item["metadata"]["name"] == "raw-ingress" {
                item["metadata"]["annotations"]["upcheck.io/ignore"] =
                    Value::from("DEP001: retired with the old edge, EDGE-12");
                annotated = Some(item["metadata"]["namespace"].clone());
            }
        }
        replace.insert(format!("/apis/{group_version}/ingresses"), list);
    }
    let ns = annotated.expect("raw-ingress is recorded");
    let server = Server::recorded(
        &fixture,
        Scenario {
            replace: replace.into_iter().collect(),
            ..Scenario::default()
        },
    )
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = server.kubeconfig(dir.path()).unwrap();
    let run = upcheck(&[
        "cluster",
        "--kubeconfig",
        kubeconfig.to_str().unwrap(),
        "--no-helm",
        "--no-checks",
        "-t",
        "1.22",
        "-o",
        "json",
    ]);
    let v = json(&run);
    let names: Vec<String> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["kind"] == "Ingress")
        .map(|f| f["name"].as_str().unwrap().to_owned())
        .collect();
    assert!(
        !names.contains(&"raw-ingress".to_owned()),
        "{names:?}\n{}",
        run.stderr
    );
    assert!(!names.is_empty());
    let hidden = suppressed(&run);
    assert_eq!(hidden.len(), 1, "{hidden:?}");
    assert!(
        hidden[0].contains(&format!("{}/raw-ingress", ns.as_str().unwrap())),
        "{hidden:?}"
    );
}

// ---- baselines ----

#[test]
fn baseline_round_trip_survives_line_shifts() {
    let dir = repo(None);
    let base = dir.path().join("upcheck-baseline.json");
    let b = base.to_str().unwrap();
    let run = run_in(
        dir.path(),
        &["files", ".", "-t", "1.25", "--write-baseline", b],
    );
    assert_eq!(run.code, 3);
    assert!(
        run.stderr.contains("wrote 5 finding(s) to the baseline"),
        "{}",
        run.stderr
    );
    let written: Value = serde_json::from_str(&std::fs::read_to_string(&base).unwrap()).unwrap();
    assert_eq!(written["findings"].as_array().unwrap().len(), 5);

    // Unchanged: nothing new, exit 0, and the count of what the baseline accepted.
    let run = run_in(dir.path(), &["files", ".", "-t", "1.25", "--baseline", b]);
    assert_eq!(run.code, 0, "{}", run.transcript());
    assert!(
        run.stdout
            .contains("Suppressed 5 findings: 5 by the baseline."),
        "{}",
        run.stdout
    );

    // Lines shifted by an edit, a second identical object and a new one added: only the
    // additions are new.
    let edited = format!(
        "# a comment that moves everything down\n\n{WEB}---\napiVersion: extensions/v1beta1\nkind: Ingress\nmetadata:\n  name: web\n  namespace: shop\n---\napiVersion: networking.k8s.io/v1beta1\nkind: Ingress\nmetadata:\n  name: new\n  namespace: shop\n"
    );
    std::fs::write(dir.path().join("deploy/web.yaml"), edited).unwrap();
    let run = run_in(
        dir.path(),
        &["files", ".", "-t", "1.25", "--baseline", b, "-o", "json"],
    );
    assert_eq!(run.code, 3);
    assert_eq!(
        reported(&run),
        ["DEP001 web", "DEP001 new"].map(String::from)
    );
    assert_eq!(json(&run)["findings"][0]["location"]["line"], 15);
    assert_eq!(suppressed(&run).len(), 5);

    // A changed verdict is new: the deprecation accepted at 1.25 is a removal at 1.26.
    let run = run_in(
        dir.path(),
        &["files", "jobs", "-t", "1.26", "--baseline", b, "-o", "json"],
    );
    assert_eq!(reported(&run), ["DEP001 web"].map(String::from));

    // Missing and malformed baselines are errors naming the file.
    let missing = run_in(dir.path(), &["files", ".", "--baseline", "nope.json"]);
    std::fs::write(dir.path().join("bad.json"), "{\"findings\": 3}").unwrap();
    let bad = run_in(dir.path(), &["files", ".", "--baseline", "bad.json"]);
    assert_eq!((missing.code, bad.code), (1, 1));
    insta::assert_snapshot!(format!("{}\n{}", missing.stderr, bad.stderr));
}

// ---- completions, man page, kubectl plugin ----

#[test]
fn completions_and_man_page() {
    for shell in ["bash", "zsh", "fish", "elvish", "powershell"] {
        let run = upcheck(&["completions", shell]);
        assert_eq!(run.code, 0, "{shell}");
        assert!(run.stdout.contains("upcheck"), "{shell}");
        assert!(run.stdout.contains("target-version"), "{shell}");
    }
    let man = upcheck(&["man"]);
    assert_eq!(man.code, 0);
    assert!(
        man.stdout.starts_with(".ie") || man.stdout.contains(".TH upcheck"),
        "{}",
        &man.stdout[..200]
    );
    let dir = tempfile::tempdir().unwrap();
    let run = upcheck(&["man", "--dir", dir.path().to_str().unwrap()]);
    assert_eq!(run.code, 0);
    for page in ["upcheck.1", "upcheck-files.1", "upcheck-cluster.1"] {
        assert!(dir.path().join(page).is_file(), "{page}");
    }
}

#[test]
fn works_as_a_kubectl_plugin() {
    let dir = tempfile::tempdir().unwrap();
    let plugin = dir.path().join("kubectl-upcheck");
    // Copied by a child process: a copy written from this multi-threaded test process leaves
    // its write descriptor open in any child another test forks meanwhile, and executing the
    // file then fails with ETXTBSY ("Text file busy").
    let copied = std::process::Command::new("cp")
        .arg(env!("CARGO_BIN_EXE_upcheck"))
        .arg(&plugin)
        .status()
        .unwrap();
    assert!(copied.success());
    let out = std::process::Command::new(&plugin)
        .args(["files", "--help"])
        .output()
        .unwrap();
    let help = String::from_utf8(out.stdout).unwrap();
    assert!(help.contains("Usage: kubectl upcheck files"), "{help}");
    let out = std::process::Command::new(&plugin)
        .args(["files", "-t", "1.25"])
        .arg(common::workspace().join("fixtures/examples"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
}

// ---- the GitHub Action and the pre-commit hook ----

#[test]
fn github_action_scan_step_runs() {
    let action: Value = serde_saphyr::from_str(
        &std::fs::read_to_string(common::workspace().join("action.yml")).unwrap(),
    )
    .unwrap();
    let inputs = action["inputs"].as_object().unwrap();
    for name in [
        "target-version",
        "paths",
        "format",
        "args",
        "sarif-file",
        "upload-sarif",
    ] {
        assert!(inputs.contains_key(name), "input {name}");
    }
    let steps = action["runs"]["steps"].as_array().unwrap();
    let scan = steps.iter().find(|s| s["id"] == "scan").unwrap();
    // Every input the steps use is declared.
    let text = serde_json::to_string(steps).unwrap();
    for used in text.split("inputs.").skip(1) {
        let name: String = used
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '-')
            .collect();
        assert!(inputs.contains_key(&name), "undeclared input {name}");
    }

    // Run the scan step as the runner would, with the built binary first on PATH.
    let repo = repo(None);
    let bin = tempfile::tempdir().unwrap();
    std::fs::copy(env!("CARGO_BIN_EXE_upcheck"), bin.path().join("upcheck")).unwrap();
    let output = repo.path().join("github-output");
    let path = format!(
        "{}:{}",
        bin.path().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let out = std::process::Command::new("bash")
        .arg("-e")
        .arg("-c")
        .arg(scan["run"].as_str().unwrap())
        .current_dir(repo.path())
        .env("PATH", path)
        .env("GITHUB_OUTPUT", &output)
        .env("UPCHECK_TARGET", "1.25")
        .env("UPCHECK_PATHS", "deploy jobs")
        .env("UPCHECK_FORMAT", "github")
        .env("UPCHECK_ARGS", "--ignore-deprecations")
        .env("UPCHECK_SARIF", "out.sarif")
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(3),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(
        stdout.starts_with("::error file=deploy/web.yaml,line=1,col=13,"),
        "{stdout}"
    );
    assert_eq!(std::fs::read_to_string(&output).unwrap(), "exit-code=3\n");
    let sarif: Value =
        serde_json::from_str(&std::fs::read_to_string(repo.path().join("out.sarif")).unwrap())
            .unwrap();
    assert_eq!(sarif["runs"][0]["results"].as_array().unwrap().len(), 4);
}

#[test]
fn pre_commit_hook_runs_on_staged_files() {
    let hooks: Value = serde_saphyr::from_str(
        &std::fs::read_to_string(common::workspace().join(".pre-commit-hooks.yaml")).unwrap(),
    )
    .unwrap();
    let hook = &hooks[0];
    assert_eq!(hook["id"], "upcheck");
    let entry: Vec<&str> = hook["entry"].as_str().unwrap().split(' ').collect();
    assert_eq!(entry[0], "upcheck");
    // pre-commit appends the args, then the staged file names.
    let repo = repo(None);
    let mut args: Vec<&str> = entry[1..].to_vec();
    args.extend([
        "--target-version",
        "1.25",
        "deploy/web.yaml",
        "vendor/psp.yaml",
    ]);
    let run = run_in(repo.path(), &args);
    assert_eq!(run.code, 3, "{}", run.transcript());
    assert!(run.stdout.contains("3 findings"), "{}", run.stdout);
}
