//! AKS's own support facts, kept apart from the upstream ones because AKS keeps its own
//! calendar (GA months, community end of life, long-term support) and retires node operating
//! systems at its own minors: `data/source/aks-support.csv` and `data/source/aks-node-os.csv`,
//! each row with its source in the file's header.

use std::sync::OnceLock;

use thiserror::Error;

use crate::KubeVersion;

/// The AKS release calendar, as text (`minor,aks_ga,end_of_life,lts_end_of_life`).
pub const AKS_SUPPORT_CSV: &str = include_str!("../data/source/aks-support.csv");
/// The node operating systems AKS retires, as text.
pub const AKS_NODE_OS_CSV: &str = include_str!("../data/source/aks-node-os.csv");

/// A row of an AKS data file that cannot be read.
#[derive(Clone, Debug, Error, PartialEq, Eq)]
#[error("{file} line {line}: {reason}")]
pub struct AksDataError {
    /// The data file.
    pub file: &'static str,
    /// The 1-based line.
    pub line: usize,
    /// What is wrong.
    pub reason: String,
}

/// One Kubernetes minor on AKS.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AksRelease {
    /// The minor.
    pub minor: KubeVersion,
    /// The month AKS made it generally available (`YYYY-MM`).
    pub ga: String,
    /// The last day of community support (`YYYY-MM-DD`).
    pub end_of_life: String,
    /// The last day of long-term support (`AKSLongTermSupport` plan), when AKS names one.
    pub lts_end_of_life: Option<String>,
}

impl AksRelease {
    /// The end of support that applies to a cluster on `support_plan` (`KubernetesOfficial`
    /// or `AKSLongTermSupport`, as `managedClusters` reports it): LTS's when the cluster has it
    /// and AKS offers it for the minor, else community support's.
    pub fn end_of_support(&self, support_plan: Option<&str>) -> &str {
        match (&self.lts_end_of_life, support_plan) {
            (Some(lts), Some(plan)) if plan.eq_ignore_ascii_case("AKSLongTermSupport") => lts,
            _ => &self.end_of_life,
        }
    }
}

/// Which field of an agent pool a node OS rule matches.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NodeOsField {
    /// `properties.osSKU`, exactly.
    OsSku,
    /// `properties.nodeImageVersion`, by prefix (`AKSUbuntu-2004`).
    NodeImage,
}

/// A node operating system AKS does not support past a minor.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NodeOsRule {
    /// The field matched.
    pub field: NodeOsField,
    /// The value (osSKU) or prefix (node image).
    pub value: String,
    /// The last minor AKS supports it at.
    pub last_minor: KubeVersion,
    /// When AKS retires it (`YYYY-MM-DD` or `YYYY-MM`).
    pub retired: String,
    /// What to move to.
    pub replacement: String,
    /// True when the pool must be moved by hand before the hop; false when the upgrade moves
    /// it to a newer image of the same family by itself.
    pub blocks: bool,
}

impl NodeOsRule {
    /// Whether the rule matches a pool with `os_sku` and `node_image`.
    pub fn matches(&self, os_sku: Option<&str>, node_image: Option<&str>) -> bool {
        match self.field {
            NodeOsField::OsSku => os_sku.is_some_and(|s| s.eq_ignore_ascii_case(&self.value)),
            NodeOsField::NodeImage => node_image.is_some_and(|i| i.starts_with(&self.value)),
        }
    }
}

/// The data lines of a CSV file: comments (`#`) and the header left out, with line numbers.
fn rows(text: &str) -> impl Iterator<Item = (usize, Vec<&str>)> {
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty() && !l.starts_with('#'))
        .skip(1)
        .map(|(i, l)| (i + 1, l.split(',').map(str::trim).collect()))
}

fn minor(file: &'static str, line: usize, text: &str) -> Result<KubeVersion, AksDataError> {
    text.parse().map_err(|e| AksDataError {
        file,
        line,
        reason: format!("minor {text:?}: {e}"),
    })
}

/// A date `YYYY-MM-DD` (or `YYYY-MM` when `month_only` allows it), checked by shape so that
/// dates compare as text.
fn date(
    file: &'static str,
    line: usize,
    text: &str,
    month_ok: bool,
) -> Result<String, AksDataError> {
    let digits = |s: &str, n: usize| s.len() == n && s.bytes().all(|b| b.is_ascii_digit());
    let parts: Vec<&str> = text.split('-').collect();
    let ok = match parts.as_slice() {
        [y, m, d] => digits(y, 4) && digits(m, 2) && digits(d, 2),
        [y, m] => month_ok && digits(y, 4) && digits(m, 2),
        _ => false,
    };
    if ok {
        Ok(text.to_owned())
    } else {
        Err(AksDataError {
            file,
            line,
            reason: format!("date {text:?} is not YYYY-MM-DD"),
        })
    }
}

/// Reads the calendar from `text` (the format of `aks-support.csv`).
pub fn parse_aks_releases(text: &str) -> Result<Vec<AksRelease>, AksDataError> {
    const FILE: &str = "aks-support.csv";
    let mut out: Vec<AksRelease> = Vec::new();
    for (line, cols) in rows(text) {
        let [m, ga, eol, lts] = cols.as_slice() else {
            return Err(AksDataError {
                file: FILE,
                line,
                reason: format!("expected 4 columns, found {}", cols.len()),
            });
        };
        let release = AksRelease {
            minor: minor(FILE, line, m)?,
            ga: date(FILE, line, ga, true)?,
            end_of_life: date(FILE, line, eol, false)?,
            lts_end_of_life: match *lts {
                "" => None,
                d => Some(date(FILE, line, d, false)?),
            },
        };
        if out.last().is_some_and(|r| r.minor >= release.minor) {
            return Err(AksDataError {
                file: FILE,
                line,
                reason: format!("minor {} is not after the row before", release.minor),
            });
        }
        out.push(release);
    }
    Ok(out)
}

/// Reads the node OS rules from `text` (the format of `aks-node-os.csv`).
pub fn parse_node_os_rules(text: &str) -> Result<Vec<NodeOsRule>, AksDataError> {
    const FILE: &str = "aks-node-os.csv";
    let mut out = Vec::new();
    for (line, cols) in rows(text) {
        let [field, value, last, retired, replacement, severity, _source] = cols.as_slice() else {
            return Err(AksDataError {
                file: FILE,
                line,
                reason: format!("expected 7 columns, found {}", cols.len()),
            });
        };
        let field = match *field {
            "os_sku" => NodeOsField::OsSku,
            "node_image" => NodeOsField::NodeImage,
            other => {
                return Err(AksDataError {
                    file: FILE,
                    line,
                    reason: format!("field {other:?} is neither os_sku nor node_image"),
                });
            }
        };
        let blocks = match *severity {
            "blocker" => true,
            "warning" => false,
            other => {
                return Err(AksDataError {
                    file: FILE,
                    line,
                    reason: format!("severity {other:?} is neither blocker nor warning"),
                });
            }
        };
        if value.is_empty() || replacement.is_empty() {
            return Err(AksDataError {
                file: FILE,
                line,
                reason: "value and replacement must not be empty".to_owned(),
            });
        }
        out.push(NodeOsRule {
            field,
            value: (*value).to_owned(),
            last_minor: minor(FILE, line, last)?,
            retired: date(FILE, line, retired, true)?,
            replacement: (*replacement).to_owned(),
            blocks,
        });
    }
    Ok(out)
}

/// The embedded AKS calendar, read once.
pub fn aks_releases() -> Result<&'static [AksRelease], AksDataError> {
    static CELL: OnceLock<Result<Vec<AksRelease>, AksDataError>> = OnceLock::new();
    CELL.get_or_init(|| parse_aks_releases(AKS_SUPPORT_CSV))
        .as_deref()
        .map_err(Clone::clone)
}

/// The embedded calendar's row for `minor`, if AKS lists it.
pub fn aks_release(minor: KubeVersion) -> Option<&'static AksRelease> {
    aks_releases().ok()?.iter().find(|r| r.minor == minor)
}

/// The embedded node OS rules, read once.
pub fn aks_node_os_rules() -> Result<&'static [NodeOsRule], AksDataError> {
    static CELL: OnceLock<Result<Vec<NodeOsRule>, AksDataError>> = OnceLock::new();
    CELL.get_or_init(|| parse_node_os_rules(AKS_NODE_OS_CSV))
        .as_deref()
        .map_err(Clone::clone)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn embedded_files_read_whole() {
        let releases = aks_releases().unwrap();
        assert!(releases.len() >= 10);
        let r = aks_release(KubeVersion::new(1, 30)).unwrap();
        assert_eq!(r.end_of_life, "2025-08-22");
        assert_eq!(r.end_of_support(Some("AKSLongTermSupport")), "2026-07-31");
        assert_eq!(r.end_of_support(Some("KubernetesOfficial")), "2025-08-22");
        assert_eq!(r.end_of_support(None), "2025-08-22");
        // No LTS date: community support's end applies even on the LTS plan.
        let r = aks_release(KubeVersion::new(1, 28)).unwrap();
        assert_eq!(r.end_of_support(Some("AKSLongTermSupport")), "2025-01-31");
        let rules = aks_node_os_rules().unwrap();
        let w2019 = rules.iter().find(|r| r.value == "Windows2019").unwrap();
        assert_eq!(w2019.last_minor, KubeVersion::new(1, 32));
        assert!(w2019.blocks && w2019.matches(Some("windows2019"), None));
        let image = rules.iter().find(|r| r.value == "AKSUbuntu-2004").unwrap();
        assert!(!image.blocks);
        assert!(image.matches(
            Some("Ubuntu"),
            Some("AKSUbuntu-2004gen2containerd-202501.12.0")
        ));
        assert!(!image.matches(
            Some("Ubuntu"),
            Some("AKSUbuntu-2204gen2containerd-202501.12.0")
        ));
    }

    #[test]
    fn bad_rows_name_the_file_line_and_reason() {
        let e = parse_aks_releases(
            "minor,aks_ga,end_of_life,lts_end_of_life\n1.30,2024-07,Aug 2025,\n",
        )
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            "aks-support.csv line 2: date \"Aug 2025\" is not YYYY-MM-DD"
        );
        let e = parse_aks_releases("h\n1.31,2024-11,2025-11-01,\n1.30,2024-07,2025-08-22,\n")
            .unwrap_err();
        assert!(e.reason.contains("not after"), "{e}");
        let e = parse_node_os_rules("h\nos,Windows2019,1.32,2026-03-01,W,blocker,s\n").unwrap_err();
        assert!(e.reason.contains("neither os_sku"), "{e}");
        let e = parse_node_os_rules("h\nos_sku,Windows2019,1.32\n").unwrap_err();
        assert_eq!(e.line, 2);
    }
}
