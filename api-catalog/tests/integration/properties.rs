//! Property tests: version parsing and ordering, and catalog verdicts that only move forward
//! as the target version grows.
#![allow(clippy::unwrap_used)] // tests fail loudly on purpose

use std::fmt::Write as _;

use api_catalog::import::version_priority;
use api_catalog::{ApiStatus, Catalog, KubeVersion, Target, Targets};
use proptest::prelude::*;

/// Served < deprecated < removed; other statuses are not on that line.
fn rank(status: ApiStatus) -> Option<u8> {
    match status {
        ApiStatus::Served => Some(0),
        ApiStatus::Deprecated => Some(1),
        ApiStatus::Removed => Some(2),
        _ => None,
    }
}

fn targets(component: &str, target: KubeVersion) -> Targets {
    let mut t = Targets::new();
    t.set(
        component,
        Target {
            target,
            current: None,
        },
    );
    t
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    /// Every spelling users paste (`1.29`, `v1.29.4`, `1.29.4-eks-a1b2c3`, `v1.29.4+k3s1`)
    /// reads as its major and minor, and prints back as `MAJOR.MINOR`.
    #[test]
    fn versions_round_trip(major in 0u16..100, minor in 0u16..1000, patch in 0u32..100,
                           v in any::<bool>(), suffix in prop_oneof![
                               Just(String::new()),
                               "-eks-[a-f0-9]{6}".prop_map(|s| s),
                               "\\+k3s[1-9]".prop_map(|s| s),
                               "-gke\\.[1-9][0-9]{0,3}".prop_map(|s| s),
                           ]) {
        let prefix = if v { "v" } else { "" };
        let expected = KubeVersion::new(major, minor);
        prop_assert_eq!(format!("{prefix}{major}.{minor}").parse::<KubeVersion>().unwrap(), expected);
        prop_assert_eq!(
            format!("{prefix}{major}.{minor}.{patch}{suffix}").parse::<KubeVersion>().unwrap(),
            expected
        );
        prop_assert_eq!(expected.to_string().parse::<KubeVersion>().unwrap(), expected);
    }

    /// Versions order by (major, minor) as numbers, never as text (`1.9` < `1.10`).
    #[test]
    fn versions_order_numerically(a in (0u16..5, 0u16..200), b in (0u16..5, 0u16..200)) {
        let va: KubeVersion = format!("{}.{}", a.0, a.1).parse().unwrap();
        let vb: KubeVersion = format!("{}.{}", b.0, b.1).parse().unwrap();
        prop_assert_eq!(va.cmp(&vb), a.cmp(&b));
        prop_assert!(va.next_minor() > va || va.minor == u16::MAX);
    }

    /// Any text either parses to a version that prints and parses back the same, or is an
    /// error that quotes it; it never panics.
    #[test]
    fn any_text_parses_or_errs(text in "\\PC{0,24}") {
        match text.parse::<KubeVersion>() {
            Ok(v) => prop_assert_eq!(v.to_string().parse::<KubeVersion>().unwrap(), v),
            Err(e) => {
                prop_assert_eq!(&e.input, &text);
                let quoted = format!("{text:?}");
                prop_assert!(e.to_string().contains(&quoted));
            }
        }
    }

    /// Kubernetes' API version preference: GA over beta over alpha, then by number.
    #[test]
    fn api_versions_order_like_kubernetes(a in (1u32..20, 0u8..3, 1u32..20), b in (1u32..20, 0u8..3, 1u32..20)) {
        let spell = |(n, level, m): (u32, u8, u32)| match level {
            2 => format!("v{n}"),
            1 => format!("v{n}beta{m}"),
            _ => format!("v{n}alpha{m}"),
        };
        let key = |(n, level, m): (u32, u8, u32)| (level, n, if level == 2 { 0 } else { m });
        let (pa, pb) = (version_priority(&spell(a)).unwrap(), version_priority(&spell(b)).unwrap());
        prop_assert_eq!(pa.cmp(&pb), key(a).cmp(&key(b)), "{} vs {}", spell(a), spell(b));
    }

    /// A row with introduced <= deprecated <= removed: at every target its verdict is the one
    /// its releases say, and it never goes back from removed to deprecated to served.
    #[test]
    fn user_rows_are_judged_monotonically(
        introduced in 0u16..30,
        deprecated_after in proptest::option::of(0u16..10),
        removed_after in proptest::option::of(0u16..10),
    ) {
        let deprecated = deprecated_after.map(|d| introduced + d);
        let removed = removed_after.map(|r| deprecated.unwrap_or(introduced) + r + 1);
        let mut yaml = String::from(
            "schema_version: 1\ncomponents:\n  - name: widgets\napis:\n  - component: widgets\n    api_version: example.com/v1beta1\n    kind: Widget\n",
        );
        let _ = writeln!(yaml, "    introduced: \"1.{introduced}\"");
        if let Some(d) = deprecated {
            let _ = writeln!(yaml, "    deprecated: \"1.{d}\"");
        }
        if let Some(r) = removed {
            let _ = writeln!(yaml, "    removed: \"1.{r}\"");
            yaml.push_str("    replacement: {api_version: example.com/v1, kind: Widget}\n");
        }
        let catalog = Catalog::from_yaml("widgets.yaml", &yaml).unwrap();
        let mut last = 0;
        for minor in 0..45 {
            let verdict = catalog.assess("example.com/v1beta1", "Widget", &targets("widgets", KubeVersion::new(1, minor)));
            let expected = if removed.is_some_and(|r| minor >= r) {
                ApiStatus::Removed
            } else if deprecated.is_some_and(|d| minor >= d) {
                ApiStatus::Deprecated
            } else {
                ApiStatus::Served
            };
            prop_assert_eq!(verdict.status, expected, "at 1.{}\n{}", minor, yaml);
            let r = rank(verdict.status).unwrap();
            prop_assert!(r >= last);
            last = r;
        }
    }

    /// The same for every row of the embedded catalog, at any two targets.
    #[test]
    fn embedded_rows_are_judged_monotonically(index in any::<proptest::sample::Index>(),
                                              a in 0u16..50, b in 0u16..50) {
        let catalog = Catalog::embedded();
        let entry = index.get(catalog.entries());
        let major = entry.introduced.or(entry.removed_in).map_or(1, |v| v.major);
        let (lo, hi) = (a.min(b), a.max(b));
        let status = |minor| {
            catalog
                .assess(&entry.gvk.api_version, &entry.gvk.kind, &targets(&entry.component, KubeVersion::new(major, minor)))
                .status
        };
        if let (Some(r_lo), Some(r_hi)) = (rank(status(lo)), rank(status(hi))) {
            prop_assert!(r_lo <= r_hi, "{} {}: {:?} at {}.{} but {:?} at {}.{}",
                entry.gvk.api_version, entry.gvk.kind, status(lo), major, lo, status(hi), major, hi);
        }
        // deprecated <= removed wherever both are known.
        if let (Some(d), Some(r)) = (entry.deprecated_in, entry.removed_in) {
            prop_assert!(d <= r, "{} {}", entry.gvk.api_version, entry.gvk.kind);
        }
    }
}

/// The fuzz target `catalog`'s round trip on the embedded catalog: what `upcheck catalog
/// export` writes, `--catalog` reads back to the same rows.
#[test]
fn the_embedded_catalog_exports_and_loads_back() {
    let catalog = Catalog::embedded();
    for exported in [
        serde_json::to_string(&catalog.export(|_| true)).unwrap(),
        serde_saphyr::to_string(&catalog.export(|_| true)).unwrap(),
    ] {
        let again = Catalog::from_yaml("exported", &exported).unwrap();
        assert_eq!(again.entries().len(), catalog.entries().len());
        for (a, b) in catalog.entries().iter().zip(again.entries()) {
            assert_eq!(
                (
                    &a.gvk,
                    a.introduced,
                    a.deprecated_in,
                    a.removed_in,
                    &a.replacement
                ),
                (
                    &b.gvk,
                    b.introduced,
                    b.deprecated_in,
                    b.removed_in,
                    &b.replacement
                )
            );
        }
    }
}
