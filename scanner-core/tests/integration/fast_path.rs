//! The fast line-based reader must give exactly the answers of the full YAML parser: the same
//! documents, objects, lines, spans, errors and warnings. Compared on every fixture, on
//! randomly damaged copies of them, and (when `UPCHECK_REALSAMPLE` names the unpacked
//! real-world sample) on every file of the sample.
#![allow(clippy::unwrap_used)] // tests fail loudly on purpose

use std::path::{Path, PathBuf};

use scanner_core::parse::{parse_documents, parse_documents_full};

fn files_under(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            if p.file_name().is_some_and(|n| n == "generated") {
                continue;
            }
            files_under(&p, out);
        } else {
            out.push(p);
        }
    }
}

fn texts(root: &Path) -> Vec<(PathBuf, String)> {
    let mut files = Vec::new();
    files_under(root, &mut files);
    files
        .into_iter()
        .filter_map(|p| {
            let bytes = std::fs::read(&p).ok()?;
            let text = String::from_utf8(bytes).ok()?;
            Some((p, text))
        })
        .collect()
}

fn assert_same(label: &str, text: &str) {
    let fast = parse_documents(text);
    let full = parse_documents_full(text);
    assert!(
        fast == full,
        "{label}: fast and full readers disagree\nfast: {fast:#?}\nfull: {full:#?}\ntext:\n{text}"
    );
}

#[test]
fn fast_reader_agrees_with_full_parser_on_every_fixture() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures");
    let all = texts(&root);
    assert!(all.len() > 30);
    for (path, text) in &all {
        assert_same(&path.display().to_string(), text);
    }
}

/// splitmix64: deterministic mutations without a dependency.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: usize) -> usize {
        usize::try_from(self.next() % n as u64).unwrap()
    }
}

/// One random edit of the kind that breaks YAML in practice: a stray indicator, a changed
/// indentation, a removed or duplicated line, a tab.
fn mutate(text: &str, rng: &mut Rng) -> String {
    const INSERTS: &[&str] = &[
        ":", ": ", " ", "  ", "-", "- ", "#", " #", "'", "\"", "[", "]", "{", "}", "|", ">", "\t",
        "\n", "&a ", "*a", "!", "?", ",", "\\", "x: y", "%", "@", "\u{85}", "---", "...", "\r",
    ];
    let mut lines: Vec<String> = text.split_inclusive('\n').map(str::to_owned).collect();
    if lines.is_empty() {
        return text.to_owned();
    }
    let i = rng.below(lines.len());
    match rng.below(6) {
        0 => {
            let line = &mut lines[i];
            let at = line
                .char_indices()
                .map(|(p, _)| p)
                .nth(rng.below(line.chars().count().max(1)))
                .unwrap_or(0);
            line.insert_str(at, INSERTS[rng.below(INSERTS.len())]);
        }
        1 => {
            let line = &mut lines[i];
            if let Some((at, c)) = line
                .char_indices()
                .nth(rng.below(line.chars().count().max(1)))
            {
                line.replace_range(at..at + c.len_utf8(), "");
            }
        }
        2 => {
            let n = 1 + rng.below(3);
            lines[i].insert_str(0, &" ".repeat(n));
        }
        3 => {
            let trimmed = lines[i].trim_start_matches(' ').to_owned();
            let removed = lines[i].len() - trimmed.len();
            let keep = removed.saturating_sub(1 + rng.below(2));
            lines[i] = format!("{}{trimmed}", " ".repeat(keep));
        }
        4 => {
            lines.remove(i);
        }
        _ => {
            let copy = lines[i].clone();
            lines.insert(i, copy);
        }
    }
    lines.concat()
}

#[test]
fn fast_reader_agrees_on_damaged_documents() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/manifests");
    let all = texts(&root);
    // More rounds or another seed for a longer hunt: UPCHECK_MUTATION_ROUNDS, UPCHECK_MUTATION_SEED.
    let env = |k: &str, d: u64| {
        std::env::var(k)
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(d)
    };
    let rounds = env("UPCHECK_MUTATION_ROUNDS", 300);
    let mut rng = Rng(env("UPCHECK_MUTATION_SEED", 0x5EED));
    let mut compared = 0;
    for (path, text) in &all {
        if text.len() > 20_000 {
            continue;
        }
        for round in 0..rounds {
            let mut damaged = text.clone();
            for _ in 0..=rng.below(3) {
                damaged = mutate(&damaged, &mut rng);
            }
            assert_same(
                &format!("{} (mutation round {round})", path.display()),
                &damaged,
            );
            compared += 1;
        }
    }
    assert!(compared > 5_000, "{compared}");
}

/// JSON documents, `List`s above all, are read by the fast path's JSON reader; every shape of
/// list, item and identity value must get the full parser's answer (or be left to it).
#[test]
fn fast_reader_agrees_on_json_lists() {
    let item = |api: &str, kind: &str, name: &str| {
        format!(
            "{{\"apiVersion\": \"{api}\", \"kind\": \"{kind}\", \"metadata\": {{\"name\": \"{name}\", \"namespace\": \"ns\", \"labels\": {{\"a\": \"b\"}}}}, \"spec\": {{\"x\": [1, 2.5, -3e2, true, false, null, \"s\\n\\u00e9\"]}}}}"
        )
    };
    let deploy = item("extensions/v1beta1", "Deployment", "web");
    let pdb = item("policy/v1beta1", "PodDisruptionBudget", "pdb");
    let items = [
        format!("[{deploy}, {pdb}]"),
        format!("[\n    {deploy},\n    {pdb}\n  ]"),
        "[]".to_owned(),
        " [ ] ".to_owned(),
        "null".to_owned(),
        "{}".to_owned(),
        "\"x\"".to_owned(),
        "7".to_owned(),
        format!("[1, \"two\", null, [3], {deploy}, {{}}]"),
        // An item whose own `items` is an ordinary value (lists unwrap one level).
        format!(
            "[{{\"apiVersion\": \"v1\", \"kind\": \"List\", \"items\": [{deploy}]}}]"
        ),
        // Duplicate identity keys in an item: the last one wins in the full parser.
        "[{\"apiVersion\": \"v1\", \"apiVersion\": \"apps/v1beta1\", \"kind\": \"Deployment\"}]".to_owned(),
        "[{\"kind\": \"Service\", \"metadata\": {\"name\": \"a\", \"name\": \"b\"}, \"apiVersion\": \"v1\"}]".to_owned(),
        // Duplicate other keys in an item are not reported.
        "[{\"apiVersion\": \"v1\", \"kind\": \"Service\", \"spec\": 1, \"spec\": 2}]".to_owned(),
        // Identity values that are not plain strings.
        "[{\"apiVersion\": \"v1\", \"kind\": \"Service\", \"metadata\": {\"name\": 5}}]".to_owned(),
        "[{\"apiVersion\": \"v\\u0031\", \"kind\": \"Service\"}]".to_owned(),
        "[{\"apiVersion\": null, \"kind\": \"Service\"}]".to_owned(),
        "[{\"apiVersion\": \"v1\", \"kind\": [\"Service\"]}]".to_owned(),
        "[{\"apiVersion\": \"v1\", \"kind\": \"Service\", \"metadata\": null}]".to_owned(),
        "[{\"apiVersion\": \"v1\", \"kind\": \"Service\", \"metadata\": []}]".to_owned(),
        "[{\"ki\\u006ed\": \"Service\", \"apiVersion\": \"v1\"}]".to_owned(),
        // Broken: a missing comma, a trailing comma, an unclosed array.
        format!("[{deploy} {pdb}]"),
        format!("[{deploy},]"),
        format!("[{deploy}"),
    ];
    let mut compared = 0;
    for items in &items {
        for kind in ["List", "DeploymentList", "NotAListing"] {
            for (before, after) in [
                (
                    format!("\"apiVersion\": \"v1\",\n  \"kind\": \"{kind}\",\n  "),
                    String::new(),
                ),
                (
                    String::new(),
                    format!(",\n  \"kind\": \"{kind}\",\n  \"apiVersion\": \"v1\""),
                ),
                (
                    format!("\"kind\": \"{kind}\", "),
                    ", \"metadata\": {\"resourceVersion\": \"\"}, \"apiVersion\": \"v1\""
                        .to_owned(),
                ),
                // The document's own duplicate `items`: the full parser warns.
                (
                    format!("\"apiVersion\": \"v1\", \"kind\": \"{kind}\", \"items\": [], "),
                    String::new(),
                ),
            ] {
                let doc = format!("{{\n  {before}\"items\": {items}{after}\n}}\n");
                assert_same(&format!("json list: {doc}"), &doc);
                // The same with Windows line ends, as the second document of a stream, and
                // after a comment line.
                assert_same("crlf", &doc.replace('\n', "\r\n"));
                assert_same(
                    "stream",
                    &format!("apiVersion: v1\nkind: Service\n---\n{doc}"),
                );
                assert_same("comment", &format!("# dump\n{doc}"));
                compared += 4;
            }
        }
    }
    assert!(compared > 1_000, "{compared}");
    // The plain lists must be read on the fast path, items and lines included.
    let doc = format!(
        "{{\n  \"apiVersion\": \"v1\",\n  \"kind\": \"List\",\n  \"items\": [\n    {deploy},\n    {pdb}\n  ]\n}}\n"
    );
    let docs = parse_documents(&doc);
    let objects: Vec<_> = docs[0]
        .objects
        .iter()
        .map(|o| (o.kind.as_str(), o.item, o.line, o.api_version_span.clone()))
        .collect();
    let at = |s: &str| doc.find(s).map(|i| i + 1..i + 1 + s.len() - 2);
    assert_eq!(
        objects,
        [
            ("Deployment", Some(0), 5, at("\"extensions/v1beta1\"")),
            ("PodDisruptionBudget", Some(1), 6, at("\"policy/v1beta1\"")),
        ]
    );
}

/// The fast reader looks at eight bytes at a time for indentation, for runs of blanks in
/// JSON and for the end of a JSON string: every special byte must be seen at every offset in
/// and across those words.
#[test]
fn fast_reader_agrees_at_every_offset_of_a_word() {
    let specials = [
        "\"", "\\\"", "\\\\", "\\n", "\\u00e9", "\\q", "\\u", "\t", "\n", "\r", "\r\n", "é",
        "\u{85}", "\u{2028}", "\u{7f}", "#", ": ", "[", "]", "{", "}", ",", " ",
    ];
    let mut compared = 0;
    for before in 0..19 {
        for after in [0, 1, 7, 8, 9] {
            for special in specials {
                let value = format!("{}{special}{}", "a".repeat(before), "b".repeat(after));
                // A JSON string, as an identity value and as any other value.
                for doc in [
                    format!("{{\"apiVersion\": \"v1\", \"kind\": \"{value}\"}}\n"),
                    format!("{{\"apiVersion\": \"v1\", \"kind\": \"S\", \"x\": [\"{value}\"]}}\n"),
                    format!("{{\"{value}\": 1, \"apiVersion\": \"v1\", \"kind\": \"S\"}}\n"),
                    // Blanks of every length before and after tokens.
                    format!(
                        "{{{}\"apiVersion\"{}:\"v1\",\n{}\"kind\": \"S\"{special}}}\n",
                        " ".repeat(before),
                        " ".repeat(after),
                        " ".repeat(before + after)
                    ),
                    // A YAML key, value and flow collection; indentation of every width.
                    format!(
                        "apiVersion: v1\nkind: S\nspec:\n{}{value}: x\n",
                        " ".repeat(before + 1)
                    ),
                    format!(
                        "apiVersion: v1\nkind: S\nspec:\n{}k: {value}\n",
                        " ".repeat(before + 1)
                    ),
                    format!(
                        "apiVersion: v1\nkind: S\nspec:\n{}k: [{value}, [c]]\n",
                        " ".repeat(before + 1)
                    ),
                    format!(
                        "apiVersion: v1\nkind: S\nspec:\n{}a:\n{}b: |\n{}{value}\n",
                        " ".repeat(after + 1),
                        " ".repeat(after + 1 + before),
                        " ".repeat(after + 2 + before)
                    ),
                ] {
                    assert_same("offsets", &doc);
                    compared += 1;
                }
            }
        }
    }
    assert!(compared > 10_000, "{compared}");
}

/// Set `UPCHECK_REALSAMPLE=/path/to/realsample` to compare on the real-world sample too.
#[test]
fn fast_reader_agrees_on_the_real_world_sample_when_available() {
    let Some(root) = std::env::var_os("UPCHECK_REALSAMPLE") else {
        return;
    };
    let all = texts(Path::new(&root));
    for (path, text) in &all {
        assert_same(&path.display().to_string(), text);
    }
    eprintln!("compared {} files of the real-world sample", all.len());
}

/// Inputs on which the fuzzer (`fuzz/run.sh documents`) found the readers disagreeing or
/// failing; each stays here once fixed.
#[test]
fn fast_reader_agrees_on_what_fuzzing_found() {
    let found: &[(&str, &str)] = &[
        // A non-finite float as a key is valid YAML; the full parser rejected it.
        (
            "inf-key",
            "apiVersion: authentication.k8s.io/v1betq1\n.INF: SelfSubjectReview\nmetadata:\n  name: whoami\n",
        ),
        ("nan-value", "apiVersion: v1\nkind: .nan\n"),
        (
            "inf-kind",
            "apiVersion: v1\nkind: -.inf\nmetadata: {name: .inf}\n",
        ),
    ];
    for (label, text) in found {
        assert_same(label, text);
        let docs = parse_documents(text);
        assert!(
            !matches!(docs[0].kind, scanner_core::parse::DocumentKind::Invalid(_)),
            "{label}: {docs:#?}"
        );
    }
}

/// Over the nesting limit both readers refuse the document the same way, in block style
/// (which the fast reader could otherwise skim) and in flow style, and no stack overflows on
/// the way (a 200-level document used to overflow a default worker thread's stack).
#[test]
fn readers_agree_over_the_nesting_limit() {
    let block = |levels: usize| {
        let mut text =
            String::from("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: deep\ndata:\n");
        for i in 0..levels {
            text.push_str(&" ".repeat(i + 2));
            text.push_str("k:\n");
        }
        text.push_str(&" ".repeat(levels + 2));
        text.push_str("v: 1\n");
        text
    };
    let flow = format!(
        "apiVersion: v1\nkind: ConfigMap\ndata: {}{}\n",
        "[".repeat(300),
        "]".repeat(300)
    );
    // On a thread with a small stack, as a library user's pool may have.
    std::thread::Builder::new()
        .stack_size(256 << 10)
        .spawn(move || {
            let under = block(200);
            assert_same("200 levels", &under);
            assert!(matches!(
                parse_documents(&under)[0].kind,
                scanner_core::parse::DocumentKind::Objects { .. }
            ));
            for (label, text) in [("block", block(300)), ("flow", flow)] {
                assert_same(label, &text);
                let docs = parse_documents(&text);
                let scanner_core::parse::DocumentKind::Invalid(e) = &docs[0].kind else {
                    panic!("{label}: {docs:#?}");
                };
                assert!(e.over_limit, "{label}: {e:?}");
                assert_eq!(
                    e.message,
                    "nested deeper than the limit of 256 levels (raise it with --max-yaml-depth)"
                );
            }
        })
        .unwrap()
        .join()
        .unwrap();
}

/// Under a lowered depth limit the fast reader declines what the full parser would refuse: a
/// block nesting and a flow nesting that are each shallow but together too deep.
#[test]
fn a_lowered_depth_limit_holds_on_the_fast_path_too() {
    use scanner_core::parse::{DocumentKind, ParseLimits, parse_documents_with};
    let limits = ParseLimits {
        max_depth: 20,
        ..ParseLimits::default()
    };
    let mut text =
        String::from("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: deep\ndata:\n");
    for i in 0..12 {
        text.push_str(&" ".repeat(i + 2));
        text.push_str("k:\n");
    }
    text.push_str(&" ".repeat(14));
    text.push_str("v: ");
    text.push_str(&"[".repeat(12));
    text.push_str(&"]".repeat(12));
    text.push('\n');
    let docs = parse_documents_with(&text, limits);
    let DocumentKind::Invalid(e) = &docs[0].kind else {
        panic!("{docs:#?}");
    };
    assert!(e.over_limit, "{e:?}");
    // Within the limit, the same document is read.
    let docs = parse_documents_with(&text, ParseLimits::default());
    assert!(
        matches!(docs[0].kind, DocumentKind::Objects { .. }),
        "{docs:#?}"
    );
}
