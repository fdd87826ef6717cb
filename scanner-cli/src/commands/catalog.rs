//! `upcheck catalog list | show | fetch`.

use std::fmt::Write as _;
use std::io::{self, Read, Write};
use std::time::Duration;

use anyhow::{Context, Result, bail};
use api_catalog::Replacement;
use comfy_table::{Cell, ContentArrangement, Table, presets};
use scanner_core::{ApiEntry, Catalog, KubeVersion, WILDCARD};

use crate::args::{CatalogFetchArgs, CatalogListArgs, CatalogShowArgs, ListFormat, ShowFormat};
use crate::render::csv::field as csv_field;
use crate::{Stderr, exit, setup};

/// Catalog files larger than this are refused: the embedded one is under 100 KB.
const MAX_CATALOG_BYTES: u64 = 32 * 1024 * 1024;

fn version_cell(v: Option<KubeVersion>) -> String {
    v.map(|v| v.to_string()).unwrap_or_default()
}

fn kind_cell(kind: &str) -> &str {
    if kind == WILDCARD {
        "(every kind)"
    } else {
        kind
    }
}

fn replacement_cell(e: &ApiEntry) -> String {
    e.replacement
        .as_ref()
        .map(Replacement::display)
        .unwrap_or_default()
}

const LIST_COLUMNS: [&str; 8] = [
    "COMPONENT",
    "API VERSION",
    "KIND",
    "INTRODUCED",
    "DEPRECATED",
    "REMOVED",
    "REPLACEMENT",
    "REPL AVAIL IN",
];

fn list_row(e: &ApiEntry) -> [String; 8] {
    [
        e.component.clone(),
        e.gvk.api_version.clone(),
        kind_cell(&e.gvk.kind).to_owned(),
        version_cell(e.introduced),
        version_cell(e.deprecated_in),
        version_cell(e.removed_in),
        replacement_cell(e),
        version_cell(e.replacement.as_ref().and_then(|r| r.available_in)),
    ]
}

pub fn list(args: &CatalogListArgs, err: &mut Stderr) -> Result<u8> {
    let loaded = setup::load(&args.catalog)?;
    let catalog: &Catalog = &loaded.catalog;
    for c in &args.component {
        if catalog.component(c).is_none() {
            bail!(
                "--component {c:?}: unknown component; the catalog knows: {}",
                crate::targets::known_components(catalog)
            );
        }
    }
    let group = args
        .group
        .as_deref()
        .map(|g| if g == "core" { "" } else { g });
    let parse = |flag: &str, v: &Option<String>| -> Result<Option<KubeVersion>> {
        v.as_deref()
            .map(|s| {
                s.parse()
                    .with_context(|| format!("{flag} {s:?} is not a version"))
            })
            .transpose()
    };
    let removed_by = parse("--removed-by", &args.removed_by)?;
    let deprecated_by = parse("--deprecated-by", &args.deprecated_by)?;
    let removed_in = parse("--removed-in", &args.removed_in)?;
    let deprecated_in = parse("--deprecated-in", &args.deprecated_in)?;
    // A version filter compares with each row's own component's releases (cert-manager 1.6 is
    // "before" Kubernetes 1.25 only numerically), so it applies to one component: k8s unless
    // --component says otherwise.
    let by_version = removed_by.is_some()
        || deprecated_by.is_some()
        || removed_in.is_some()
        || deprecated_in.is_some();
    let components: Vec<String> = if args.component.is_empty() && by_version {
        vec!["k8s".to_owned()]
    } else {
        args.component.clone()
    };
    let keep = |e: &ApiEntry| {
        (components.is_empty() || components.contains(&e.component))
            && group.is_none_or(|g| e.gvk.group() == g)
            && removed_by.is_none_or(|v| e.removed_in.is_some_and(|r| r <= v))
            && deprecated_by.is_none_or(|v| e.deprecated_in.is_some_and(|d| d <= v))
            && removed_in.is_none_or(|v| e.removed_in.is_some_and(|r| r == v))
            && deprecated_in.is_none_or(|v| e.deprecated_in.is_some_and(|d| d == v))
    };
    let rows: Vec<&ApiEntry> = catalog.entries().iter().filter(|e| keep(e)).collect();
    let mut out = io::BufWriter::new(io::stdout().lock());
    let written: Result<()> = (|| {
        match args.output {
            ListFormat::Json => {
                serde_json::to_writer_pretty(&mut out, &catalog.export(keep))?;
                out.write_all(b"\n")?;
            }
            ListFormat::Yaml => {
                out.write_all(serde_saphyr::to_string(&catalog.export(keep))?.as_bytes())?;
            }
            ListFormat::Text => {
                let mut table = Table::new();
                table
                    .load_style(presets::NOTHING)
                    .set_content_arrangement(ContentArrangement::Disabled);
                table.set_header(LIST_COLUMNS.iter().map(Cell::new));
                for e in &rows {
                    table.add_row(list_row(e));
                }
                for line in table.to_string().lines() {
                    writeln!(
                        out,
                        "{}",
                        line.trim_end().strip_prefix(' ').unwrap_or(line.trim_end())
                    )?;
                }
                writeln!(out)?;
                writeln!(
                    out,
                    "{} rows; catalog {} ({}).",
                    rows.len(),
                    catalog.meta().data_version,
                    catalog.meta().sources.join(", ")
                )?;
            }
            ListFormat::Markdown => {
                writeln!(out, "| {} |", LIST_COLUMNS.join(" | "))?;
                writeln!(out, "|{}", "---|".repeat(LIST_COLUMNS.len()))?;
                for e in &rows {
                    let cells = list_row(e).map(|c| c.replace('|', "\\|"));
                    writeln!(out, "| {} |", cells.join(" | "))?;
                }
            }
            ListFormat::Csv => {
                write!(out, "{}\r\n", LIST_COLUMNS.map(csv_field).join(","))?;
                for e in &rows {
                    write!(out, "{}\r\n", list_row(e).map(|c| csv_field(&c)).join(","))?;
                }
            }
        }
        out.flush()?;
        Ok(())
    })();
    if let Err(e) = written
        && !crate::is_broken_pipe(&e)
    {
        return Err(e);
    }
    for n in &loaded.notes {
        err.note(n);
    }
    Ok(exit::OK)
}

fn show_entry(out: &mut dyn Write, catalog: &Catalog, e: &ApiEntry) -> io::Result<()> {
    let title = catalog
        .component(&e.component)
        .map_or(e.component.as_str(), |c| c.title.as_str());
    writeln!(
        out,
        "{} {} ({title})",
        e.gvk.api_version,
        kind_cell(&e.gvk.kind)
    )?;
    let row = |out: &mut dyn Write, label: &str, value: &str| writeln!(out, "  {label:<13}{value}");
    for (label, v) in [
        ("introduced", e.introduced),
        ("deprecated", e.deprecated_in),
        ("removed", e.removed_in),
    ] {
        row(
            out,
            label,
            &v.map_or_else(|| "-".to_owned(), |v| v.to_string()),
        )?;
    }
    match &e.replacement {
        None => row(out, "replacement", "none")?,
        Some(r) => {
            let mut text = r.display();
            if let Some(a) = r.available_in {
                let _ = write!(text, ", served since {a}");
            }
            if r.derived {
                text.push_str(" (derived: the upstream data names none)");
            }
            row(out, "replacement", &text)?;
            // Follow the chain while the replacement is itself going away.
            let mut next = r
                .kind
                .as_deref()
                .and_then(|k| catalog.entry(&r.api_version, k));
            let mut hops = 0;
            while let Some(n) = next.filter(|n| n.removed_in.is_some() || n.deprecated_in.is_some())
            {
                let status = match (n.deprecated_in, n.removed_in) {
                    (_, Some(rm)) => format!("removed in {rm}"),
                    (Some(d), None) => format!("deprecated in {d}"),
                    (None, None) => String::new(),
                };
                let then = n.replacement.as_ref().map_or_else(
                    || "no replacement".to_owned(),
                    |r| format!("then {}", r.display()),
                );
                row(out, "", &format!("{} is itself {status}; {then}", n.gvk))?;
                hops += 1;
                next = n.replacement.as_ref().and_then(|r| {
                    r.kind
                        .as_deref()
                        .and_then(|k| catalog.entry(&r.api_version, k))
                });
                if hops > 8 {
                    break;
                }
            }
        }
    }
    if let Some(s) = &e.source {
        row(out, "source", &format!("{s} ({})", e.origin))?;
    }
    if let Some(l) = &e.link {
        row(out, "docs", l)?;
    }
    if !e.migration.is_empty() {
        let to = e
            .replacement
            .as_ref()
            .map_or_else(|| "something else".to_owned(), Replacement::display);
        writeln!(out, "  migrating to {to}:")?;
        for m in &e.migration {
            writeln!(out, "    - {m}")?;
        }
    }
    Ok(())
}

/// Whether `typed` names `kind` as kubectl users type it: the kind in any case (`cronjob`), or
/// its resource name, the lowercase plural (`cronjobs`, `ingresses`, `networkpolicies`).
fn kind_matches(kind: &str, typed: &str) -> bool {
    let typed = typed.trim().to_ascii_lowercase();
    let kind = kind.to_ascii_lowercase();
    if typed == kind {
        return true;
    }
    let plurals = [
        format!("{kind}s"),
        format!("{kind}es"),
        kind.strip_suffix('y')
            .map_or_else(String::new, |stem| format!("{stem}ies")),
    ];
    plurals.iter().any(|p| !p.is_empty() && *p == typed)
}

pub fn show(args: &CatalogShowArgs, err: &mut Stderr) -> Result<u8> {
    let loaded = setup::load(&args.catalog)?;
    let catalog: &Catalog = &loaded.catalog;
    let api = args.api_version.trim();
    let matches = |e: &ApiEntry| {
        e.gvk.api_version == api
            && args
                .kind
                .as_deref()
                .is_none_or(|k| kind_matches(&e.gvk.kind, k) || e.is_wildcard())
    };
    let rows: Vec<&ApiEntry> = catalog.entries().iter().filter(|e| matches(e)).collect();
    if rows.is_empty() {
        let kinds: Vec<&str> = catalog
            .entries()
            .iter()
            .filter(|e| e.gvk.api_version == api)
            .map(|e| e.gvk.kind.as_str())
            .collect();
        let what = match &args.kind {
            Some(k) => format!("{api} {k}"),
            None => api.to_owned(),
        };
        if !kinds.is_empty() {
            bail!(
                "{what} is not in the catalog; {api} lists: {}",
                kinds.join(", ")
            );
        }
        let verdict = catalog.assess(
            api,
            args.kind.as_deref().unwrap_or("Pod"),
            &scanner_core::Targets::new(),
        );
        if verdict.basis == scanner_core::MatchBasis::UnknownVersion {
            bail!("{what} is not in the catalog: no Kubernetes release ever served {api}");
        }
        bail!(
            "{what} is not in the catalog (custom resources of projects it does not cover are not judged)"
        );
    }
    let mut out = io::BufWriter::new(io::stdout().lock());
    match args.output {
        ShowFormat::Json => {
            serde_json::to_writer_pretty(&mut out, &catalog.export(matches))?;
            out.write_all(b"\n")?;
        }
        ShowFormat::Text => {
            for (i, e) in rows.iter().enumerate() {
                if i > 0 {
                    writeln!(out)?;
                }
                show_entry(&mut out, catalog, e)?;
            }
        }
    }
    out.flush()?;
    for n in &loaded.notes {
        err.note(n);
    }
    Ok(exit::OK)
}

pub fn fetch(args: &CatalogFetchArgs, err: &mut Stderr) -> Result<u8> {
    let url = args.url.trim();
    if !(url.starts_with("https://") || url.starts_with("http://")) {
        bail!("{url:?}: give an http:// or https:// URL");
    }
    // reqwest is built without a default TLS crypto provider; this process uses ring.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let client = reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(args.timeout.max(1)))
        .user_agent(concat!("upcheck/", env!("CARGO_PKG_VERSION")))
        .build()
        .context("cannot set up the HTTP client")?;
    let response = client
        .get(url)
        .send()
        .with_context(|| format!("cannot download {url}"))?;
    let status = response.status();
    if !status.is_success() {
        bail!("cannot download {url}: the server answered {status}");
    }
    let mut body = Vec::new();
    response
        .take(MAX_CATALOG_BYTES + 1)
        .read_to_end(&mut body)
        .with_context(|| format!("cannot download {url}"))?;
    if body.len() as u64 > MAX_CATALOG_BYTES {
        bail!(
            "{url}: larger than {} MB; not a catalog file",
            MAX_CATALOG_BYTES / (1024 * 1024)
        );
    }
    let text = String::from_utf8(body).with_context(|| format!("{url}: not UTF-8 text"))?;
    let origin = format!("downloaded catalog {url}");
    let catalog = setup::check_full_catalog(&origin, &text)?;
    let path = setup::cached_catalog_path()
        .context("no cache directory: set UPCHECK_CACHE_DIR, XDG_CACHE_HOME or HOME")?;
    let dir = path.parent().context("the cache path has no directory")?;
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    // Write beside the old file, then rename, so a run never reads half a catalog.
    let tmp = path.with_extension("yaml.partial");
    std::fs::write(&tmp, &text).with_context(|| format!("cannot write {}", tmp.display()))?;
    std::fs::rename(&tmp, &path).with_context(|| format!("cannot write {}", path.display()))?;
    let embedded = Catalog::embedded().meta().data_version.clone();
    let fetched = catalog.meta().data_version.clone();
    let mut out = io::stdout().lock();
    writeln!(
        out,
        "stored catalog {fetched} ({} rows) in {}",
        catalog.entries().len(),
        path.display()
    )?;
    if setup::is_newer(&fetched, &embedded) {
        writeln!(
            out,
            "later runs use it instead of the embedded catalog {embedded} (--offline ignores it)"
        )?;
    } else {
        err.note(&format!(
            "catalog {fetched} is not newer than the embedded catalog {embedded}: later runs keep using the embedded one"
        ));
    }
    Ok(exit::OK)
}
