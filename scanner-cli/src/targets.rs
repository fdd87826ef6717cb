//! `--target-version` and `--current`: `1.33`, `v1.33.4-eks-...`, or Pluto's
//! `k8s=v1.33.0,cert-manager=v1.7.0`.

use std::collections::BTreeMap;

use anyhow::{Context, Result, bail};
use scanner_core::{Catalog, KubeVersion, Target, Targets};

/// Parses `COMPONENT=VERSION` or `VERSION` (for `k8s`) items into a map; later items win.
fn parse_items(
    flag: &str,
    items: &[String],
    catalog: &Catalog,
) -> Result<BTreeMap<String, KubeVersion>> {
    let mut out = BTreeMap::new();
    for item in items {
        let item = item.trim();
        if item.is_empty() {
            continue;
        }
        let (component, version) = match item.split_once('=') {
            Some((c, v)) => (c.trim(), v.trim()),
            None => ("k8s", item),
        };
        if catalog.component(component).is_none() {
            let known: Vec<&str> = catalog
                .meta()
                .components
                .iter()
                .map(|c| c.name.as_str())
                .collect();
            bail!(
                "{flag} {item:?}: unknown component {component:?}; the catalog knows: {}",
                known.join(", ")
            );
        }
        let v: KubeVersion = version
            .parse()
            .with_context(|| format!("{flag} {item:?} is not a version"))?;
        out.insert(component.to_owned(), v);
    }
    Ok(out)
}

/// Resolved targets, and notes for stderr (for example a target newer than the catalog).
pub fn resolve(
    target: &[String],
    current: &[String],
    catalog: &Catalog,
) -> Result<(Targets, Vec<String>)> {
    let mut targets = parse_items("--target-version", target, catalog)?;
    let currents = parse_items("--current", current, catalog)?;
    let mut notes = Vec::new();
    if !targets.contains_key("k8s") {
        let newest = catalog
            .component("k8s")
            .and_then(|c| c.newest_release)
            .context("the catalog names no newest Kubernetes release; give --target-version")?;
        targets.insert("k8s".into(), newest);
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
        if let Some(newest) = catalog.component(component).and_then(|c| c.newest_release)
            && *t > newest
        {
            notes.push(format!(
                "target {component} {t} is newer than the catalog covers ({newest}); removals after {newest} that are not yet scheduled are not known"
            ));
        }
        out.set(
            component.clone(),
            Target {
                target: *t,
                current: cur,
            },
        );
    }
    for c in currents.keys() {
        if !targets.contains_key(c) {
            bail!("--current {c}=...: give a --target-version for {c} too");
        }
    }
    Ok((out, notes))
}
