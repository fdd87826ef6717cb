//! `upcheck fix` (issue 22): the diff, --write, stdin, exit codes, bad input.
#![allow(clippy::unwrap_used)] // tests fail loudly on purpose

use std::fs;
use std::path::Path;
use std::process::Command;

use crate::common::{upcheck, upcheck_with};

const CRON: &str = "# nightly report\napiVersion: batch/v1beta1 # was beta\nkind: CronJob\nmetadata:\n  name: nightly\nspec:\n  schedule: \"0 3 * * *\"\n  jobTemplate:\n    spec:\n      template:\n        spec:\n          restartPolicy: OnFailure\n          containers:\n          - name: report\n            image: busybox\n";
const CONFIG: &str = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\n";

fn dir_with(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for (name, text) in files {
        let path = dir.path().join(name);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, text).unwrap();
    }
    dir
}

fn read(dir: &Path, name: &str) -> String {
    fs::read_to_string(dir.join(name)).unwrap()
}

#[test]
fn the_diff_applies_with_git_and_equals_what_write_does() {
    let files = [
        ("cron.yaml", CRON),
        ("config.yaml", CONFIG),
        ("nested/stream.yaml", &format!("{CONFIG}---\n{CRON}")),
    ];
    let by_diff = dir_with(&files);
    let by_write = dir_with(&files);

    let run = upcheck_with(by_diff.path(), &["fix", "-t", "1.25", "."], None, &[]);
    assert_eq!(run.code, 2, "{}", run.transcript());
    assert!(run.stdout.starts_with("--- a/"), "{}", run.stdout);
    fs::write(by_diff.path().join("fix.patch"), &run.stdout).unwrap();
    let git = Command::new("git")
        .args(["apply", "--unsafe-paths", "fix.patch"])
        .current_dir(by_diff.path())
        .output()
        .expect("git runs");
    assert!(
        git.status.success(),
        "{}",
        String::from_utf8_lossy(&git.stderr)
    );

    let written = upcheck_with(
        by_write.path(),
        &["fix", "-t", "1.25", "--write", "."],
        None,
        &[],
    );
    assert_eq!(written.code, 2, "{}", written.transcript());
    assert!(written.stdout.is_empty(), "--write prints no diff");
    for (name, _) in &files {
        assert_eq!(
            read(by_diff.path(), name),
            read(by_write.path(), name),
            "{name}"
        );
    }
    // Only the line that had to change changed; the file without findings is untouched.
    assert_eq!(
        read(by_write.path(), "cron.yaml"),
        CRON.replace("batch/v1beta1", "batch/v1")
    );
    assert_eq!(read(by_write.path(), "config.yaml"), CONFIG);

    // Idempotent: a second run has nothing to do.
    let again = upcheck_with(by_write.path(), &["fix", "-t", "1.25", "."], None, &[]);
    assert_eq!(again.code, 0, "{}", again.transcript());
    assert!(again.stdout.is_empty());
}

/// Every fixture, fixed through the diff with `git apply` and with --write, gives the same
/// bytes: the diff is exact for CRLF files, JSON, files without a final line break and large
/// multi-hunk changes.
#[test]
fn the_diff_of_every_fixture_applies_as_write_writes() {
    let root = crate::common::workspace().join("fixtures/fix");
    let copy = |to: &Path| {
        for e in fs::read_dir(&root).unwrap() {
            let e = e.unwrap();
            if e.file_type().unwrap().is_file() {
                fs::copy(e.path(), to.join(e.file_name())).unwrap();
            }
        }
    };
    let (by_diff, by_write) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    copy(by_diff.path());
    copy(by_write.path());
    let run = upcheck_with(by_diff.path(), &["fix", "-t", "1.37", "."], None, &[]);
    fs::write(by_diff.path().join("fix.patch"), &run.stdout).unwrap();
    let git = Command::new("git")
        .args(["apply", "--unsafe-paths", "fix.patch"])
        .current_dir(by_diff.path())
        .output()
        .expect("git runs");
    assert!(
        git.status.success(),
        "{}",
        String::from_utf8_lossy(&git.stderr)
    );
    fs::remove_file(by_diff.path().join("fix.patch")).unwrap();
    upcheck_with(
        by_write.path(),
        &["fix", "-t", "1.37", "--write", "."],
        None,
        &[],
    );
    let mut compared = 0;
    for e in fs::read_dir(by_write.path()).unwrap() {
        let name = e.unwrap().file_name();
        let (a, b) = (
            fs::read(by_diff.path().join(&name)).unwrap(),
            fs::read(by_write.path().join(&name)).unwrap(),
        );
        assert!(a == b, "{name:?}: git apply of the diff and --write differ");
        compared += 1;
    }
    assert!(compared >= 40, "{compared} files compared");
}

#[test]
fn stdin_is_converted_to_stdout_whole() {
    let stream = format!("{CONFIG}---\n{CRON}");
    let run = upcheck_with(
        Path::new("."),
        &["fix", "-t", "1.25", "-"],
        Some(&stream),
        &[],
    );
    assert_eq!(run.code, 2, "{}", run.transcript());
    assert_eq!(run.stdout, stream.replace("batch/v1beta1", "batch/v1"));
    insta::assert_snapshot!(run.stderr);

    let clean = upcheck_with(
        Path::new("."),
        &["fix", "-t", "1.25", "-"],
        Some(CONFIG),
        &[],
    );
    assert_eq!(clean.code, 0, "{}", clean.transcript());
    assert_eq!(
        clean.stdout, CONFIG,
        "nothing to change: the stream passes through"
    );

    let mixed = upcheck(&["fix", "-t", "1.25", "-", "fixtures/examples"]);
    assert_eq!(mixed.code, 1);
    insta::assert_snapshot!(mixed.stderr, @"error: `-` converts stdin to stdout and cannot be combined with other paths; fix files in a separate run
");
}

#[test]
fn a_broken_document_is_left_and_reported_while_its_siblings_are_converted() {
    let text = format!(
        "{CRON}---\nkind: [unclosed\n---\n{}",
        CRON.replace("nightly", "weekly")
    );
    let dir = dir_with(&[("mixed.yaml", &text)]);
    let run = upcheck_with(
        dir.path(),
        &["fix", "-t", "1.25", "--write", "mixed.yaml"],
        None,
        &[],
    );
    assert_eq!(
        run.code,
        1,
        "an unreadable document is an error: {}",
        run.transcript()
    );
    assert_eq!(
        read(dir.path(), "mixed.yaml"),
        text.replace("batch/v1beta1", "batch/v1")
    );
    assert!(run.stderr.contains("mixed.yaml:17:"), "{}", run.stderr);
    assert!(run.stderr.contains("not valid YAML"), "{}", run.stderr);
}

#[cfg(unix)]
#[test]
fn write_on_a_read_only_file_names_it_and_writes_the_others() {
    use std::os::unix::fs::PermissionsExt;
    let dir = dir_with(&[("locked.yaml", CRON), ("open.yaml", CRON)]);
    let locked = dir.path().join("locked.yaml");
    fs::set_permissions(&locked, fs::Permissions::from_mode(0o444)).unwrap();
    let run = upcheck_with(
        dir.path(),
        &["fix", "-t", "1.25", "--write", "."],
        None,
        &[],
    );
    assert_eq!(run.code, 1, "{}", run.transcript());
    assert!(
        run.stderr
            .contains("error: cannot write ./locked.yaml: the file is read-only"),
        "{}",
        run.stderr
    );
    assert_eq!(
        read(dir.path(), "locked.yaml"),
        CRON,
        "the read-only file is untouched"
    );
    assert_eq!(
        read(dir.path(), "open.yaml"),
        CRON.replace("batch/v1beta1", "batch/v1")
    );
    assert_eq!(
        fs::metadata(dir.path().join("open.yaml"))
            .unwrap()
            .permissions()
            .mode()
            & 0o777,
        0o666 & !umask_bits(),
        "a written file keeps its permissions"
    );
    let leftovers: Vec<_> = fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .filter(|n| n != "locked.yaml" && n != "open.yaml")
        .collect();
    assert!(
        leftovers.is_empty(),
        "no temporary file is left: {leftovers:?}"
    );
}

/// The bits the process umask clears from a new file's mode.
#[cfg(unix)]
fn umask_bits() -> u32 {
    use std::os::unix::fs::PermissionsExt;
    let probe = tempfile::tempdir().unwrap();
    let path = probe.path().join("probe");
    fs::write(&path, "").unwrap();
    !fs::metadata(&path).unwrap().permissions().mode() & 0o666
}

#[test]
fn nothing_to_change_exits_0_and_json_lists_what_was_done() {
    let dir = dir_with(&[("config.yaml", CONFIG)]);
    let run = upcheck_with(dir.path(), &["fix", "-t", "1.25", "."], None, &[]);
    assert_eq!(run.code, 0, "{}", run.transcript());
    assert!(run.stdout.is_empty());

    let dir = dir_with(&[("cron.yaml", CRON)]);
    let run = upcheck_with(
        dir.path(),
        &["fix", "-t", "1.25", "-o", "json", "cron.yaml"],
        None,
        &[],
    );
    assert_eq!(run.code, 2, "{}", run.transcript());
    insta::assert_snapshot!(run.stdout);
}

/// One snapshot per fixture of `fixtures/fix` (a before-manifest per conversion pair): the
/// diff, the notes and what was left, and the exit code, at 1.37 (every pair converted as far
/// as it goes). Then the converted text is fixed again: nothing changes (idempotent).
#[test]
fn every_conversion_pair_as_a_reviewed_diff() {
    let root = crate::common::workspace();
    let mut names: Vec<String> = fs::read_dir(root.join("fixtures/fix"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| {
            Path::new(n)
                .extension()
                .is_some_and(|e| e == "yaml" || e == "json")
        })
        .collect();
    names.sort();
    assert!(
        names.len() >= 20,
        "one fixture per conversion pair: {names:?}"
    );
    for name in names {
        let path = format!("fixtures/fix/{name}");
        let run = upcheck(&["fix", "-t", "1.37", &path]);
        let snapshot = format!(
            "fix-{}",
            name.trim_end_matches(".yaml").trim_end_matches(".json")
        );
        insta::assert_snapshot!(snapshot, run.transcript());
        if run.code == 1 {
            continue; // bad input: left as it was
        }
        let text = fs::read_to_string(root.join(&path)).unwrap();
        let converted = upcheck_with(&root, &["fix", "-t", "1.37", "-"], Some(&text), &[]);
        let twice = upcheck_with(
            &root,
            &["fix", "-t", "1.37", "-"],
            Some(&converted.stdout),
            &[],
        );
        assert_eq!(
            twice.stdout, converted.stdout,
            "{name}: fixing the output changes nothing"
        );
        assert!(
            !twice.stderr.contains(": converted "),
            "{name}: nothing left to convert:\n{}",
            twice.stderr
        );
    }
}

/// A Helm chart: plainly written `apiVersion` lines are rewritten where nothing else changes;
/// objects whose fields change are named with those fields; `{{ }}` lines are never touched.
#[test]
fn chart_templates_get_only_their_plain_api_version_lines() {
    let run = upcheck(&["fix", "-t", "1.37", "fixtures/fix/chart"]);
    insta::assert_snapshot!(run.transcript());
    for line in run.stdout.lines().filter(|l| l.starts_with(['-', '+'])) {
        assert!(!line.contains("{{"), "a templated line changed: {line}");
    }
}
