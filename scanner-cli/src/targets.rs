//! `--target-version`, `--current` and `--components`: which components are judged, at which
//! version. Versions are `1.33`, `v1.33.4-eks-...`, or Pluto's `k8s=v1.33.0,cert-manager=v1.7.0`.

use std::collections::BTreeMap;

use anyhow::{Context, Result, bail};
use scanner_core::{Catalog, KubeVersion, Target, Targets};

use crate::args::TargetArgs;

/// The catalog's component names, comma-separated, for error messages.
pub(crate) fn known_components(catalog: &Catalog) -> String {
    let known: Vec<&str> = catalog
        .meta()
        .components
        .iter()
        .map(|c| c.name.as_str())
        .collect();
    known.join(", ")
}

/// Parses `COMPONENT=VERSION` or `VERSION` (for `k8s`) items into a map.
///
/// A blank item is an error, not skipped: `-t "$K8S_VERSION"` with the variable unset must not
/// quietly judge at the default target. A component given two different versions is refused:
/// one report judges each component at one version, and keeping only the last would pass a
/// gate for a version nobody checked.
fn parse_items(
    flag: &str,
    items: &[String],
    catalog: &Catalog,
) -> Result<BTreeMap<String, KubeVersion>> {
    let mut out: BTreeMap<String, KubeVersion> = BTreeMap::new();
    for raw in items {
        let item = raw.trim();
        if item.is_empty() {
            bail!("{flag} {raw:?}: the version is empty");
        }
        let (component, version) = match item.split_once('=') {
            Some((c, v)) => (c.trim(), v.trim()),
            None => ("k8s", item),
        };
        if catalog.component(component).is_none() {
            bail!(
                "{flag} {item:?}: unknown component {component:?}; the catalog knows: {}",
                known_components(catalog)
            );
        }
        let v: KubeVersion = version
            .parse()
            .with_context(|| format!("{flag} {item:?} is not a version"))?;
        if let Some(earlier) = out.get(component)
            && *earlier != v
        {
            bail!(
                "{flag} names {component} twice ({earlier} and {v}): upcheck judges one version \
                 per component in a run; run it once per target"
            );
        }
        out.insert(component.to_owned(), v);
    }
    Ok(out)
}

/// The judged components and their targets, and notes for stderr.
///
/// Kubernetes defaults to the newest release the catalog knows. Add-ons have no default: they
/// are judged only with a target, from `--target-version NAME=VERSION` or from the
/// `target-versions` of a Pluto file (`file_targets`), and the report counts their objects as
/// not judged otherwise. `--components` restricts judging to the listed components.
pub fn resolve(
    args: &TargetArgs,
    catalog: &Catalog,
    file_targets: &BTreeMap<String, KubeVersion>,
) -> Result<(Targets, Vec<String>)> {
    let given = parse_items("--target-version", &args.target_version, catalog)?;
    let currents = parse_items("--current", &args.current, catalog)?;
    let mut notes = Vec::new();
    let selected: Option<Vec<String>> = if args.components.is_empty() {
        None
    } else {
        let mut names = Vec::new();
        for c in &args.components {
            let c = c.trim();
            if catalog.component(c).is_none() {
                bail!(
                    "--components {c:?}: unknown component; the catalog knows: {}",
                    known_components(catalog)
                );
            }
            names.push(c.to_owned());
        }
        Some(names)
    };
    let is_selected = |c: &str| selected.as_ref().is_none_or(|s| s.iter().any(|x| x == c));

    let mut targets: BTreeMap<String, KubeVersion> = BTreeMap::new();
    if is_selected("k8s") {
        let newest = catalog
            .component("k8s")
            .and_then(|c| c.newest_release)
            .context("the catalog names no newest Kubernetes release; give --target-version")?;
        targets.insert("k8s".into(), newest);
    }
    // A Pluto file's target-versions fill in every component, Kubernetes included: our k8s
    // default is "the newest release", not a version the user chose, so a file naming one
    // says more. The command line wins over both, with a note when it overrides the file.
    for (c, v) in file_targets {
        if !is_selected(c) || catalog.component(c).is_none() {
            continue;
        }
        match given.get(c) {
            Some(g) if g != v => notes.push(format!(
                "--target-version {c}={g} wins over the target-versions {c}: {v} of the -f file"
            )),
            Some(_) => {}
            None => {
                if c == "k8s" {
                    notes.push(format!(
                        "judging k8s at {v}, the target-versions of the -f file (--target-version overrides it)"
                    ));
                }
                targets.insert(c.clone(), *v);
            }
        }
    }
    for (c, v) in given {
        if is_selected(&c) {
            targets.insert(c, v);
        } else {
            notes.push(format!(
                "--target-version {c}={v} is ignored: {c} is not in --components"
            ));
        }
    }
    for c in currents.keys() {
        if !targets.contains_key(c) {
            bail!("--current {c}=...: give a --target-version for {c} too");
        }
    }
    let mut out = Targets::new();
    for (component, t) in &targets {
        let cur = currents.get(component).copied();
        if let Some(c) = cur
            && c > *t
        {
            bail!(
                "--current {component}={c} is newer than the target {t}: upcheck checks upgrades"
            );
        }
        out.set(
            component.clone(),
            Target {
                target: *t,
                current: cur,
            },
        );
    }
    Ok((out, notes))
}
