//! Report columns shared by the table formats (text, wide, markdown, csv). One validator for
//! every format that takes `--columns`.

use anyhow::{Result, bail};
use scanner_core::live::evidence::Evidence;
use scanner_core::{ApiStatus, Finding, Origin};

/// A column of the findings table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Column {
    Name,
    Namespace,
    Kind,
    Version,
    Replacement,
    Status,
    Code,
    Deprecated,
    DeprecatedIn,
    Removed,
    RemovedIn,
    ReplAvail,
    ReplAvailIn,
    Component,
    FilePath,
    Line,
    Document,
    Location,
    Parsed,
    Message,
}

const ALL: [Column; 20] = [
    Column::Name,
    Column::Namespace,
    Column::Kind,
    Column::Version,
    Column::Replacement,
    Column::Status,
    Column::Code,
    Column::Deprecated,
    Column::DeprecatedIn,
    Column::Removed,
    Column::RemovedIn,
    Column::ReplAvail,
    Column::ReplAvailIn,
    Column::Component,
    Column::FilePath,
    Column::Line,
    Column::Document,
    Column::Location,
    Column::Parsed,
    Column::Message,
];

/// Pluto's `normal` columns, plus where the object is.
pub const NORMAL: &[Column] = &[
    Column::Name,
    Column::Kind,
    Column::Version,
    Column::Replacement,
    Column::Removed,
    Column::Deprecated,
    Column::ReplAvail,
    Column::Location,
];

/// Pluto's `wide` columns, plus status, component and location.
pub const WIDE: &[Column] = &[
    Column::Name,
    Column::Namespace,
    Column::Kind,
    Column::Version,
    Column::Replacement,
    Column::Status,
    Column::Deprecated,
    Column::DeprecatedIn,
    Column::Removed,
    Column::RemovedIn,
    Column::ReplAvail,
    Column::ReplAvailIn,
    Column::Component,
    Column::Location,
];

/// A missing value in tables meant for people (kubectl's convention).
pub const NONE: &str = "<none>";

impl Column {
    pub fn header(self) -> &'static str {
        match self {
            Self::Name => "NAME",
            Self::Namespace => "NAMESPACE",
            Self::Kind => "KIND",
            Self::Version => "VERSION",
            Self::Replacement => "REPLACEMENT",
            Self::Status => "STATUS",
            Self::Code => "CODE",
            Self::Deprecated => "DEPRECATED",
            Self::DeprecatedIn => "DEPRECATED IN",
            Self::Removed => "REMOVED",
            Self::RemovedIn => "REMOVED IN",
            Self::ReplAvail => "REPL AVAIL",
            Self::ReplAvailIn => "REPL AVAIL IN",
            Self::Component => "COMPONENT",
            Self::FilePath => "FILEPATH",
            Self::Line => "LINE",
            Self::Document => "DOCUMENT",
            Self::Location => "LOCATION",
            Self::Parsed => "PARSED",
            Self::Message => "MESSAGE",
        }
    }

    /// The cell for a finding; `None` when the value is absent (rendered per format).
    pub fn cell(self, f: &Finding) -> Option<String> {
        let yes_no = |b: bool| Some(b.to_string());
        match self {
            Self::Name => f.name.clone(),
            Self::Namespace => f.namespace.clone(),
            Self::Kind => Some(f.kind.clone()),
            Self::Version => Some(f.api_version.clone()),
            Self::Replacement => f.replacement.as_ref().map(|r| {
                let name = |api_version: &str, kind: Option<&String>| match kind {
                    Some(k) if *k != f.kind => format!("{api_version} {k}"),
                    _ => api_version.to_owned(),
                };
                let last = name(&r.api_version, r.kind.as_ref());
                // A path of several moves starts with a version served today: name it, or the
                // table contradicts the finding's message (and the plan).
                match r.path.first() {
                    Some(first) if r.path.len() > 1 => {
                        let group = |v: &str| v.rsplit_once('/').map(|(g, _)| g.to_owned());
                        // Within one group the last move is named by its version alone.
                        let last = match group(&r.api_version) {
                            Some(g) if Some(&g) == group(&first.api_version).as_ref() => {
                                last[g.len() + 1..].to_owned()
                            }
                            _ => last,
                        };
                        format!(
                            "{} -> {last}",
                            name(&first.api_version, first.kind.as_ref())
                        )
                    }
                    _ => last,
                }
            }),
            Self::Status => Some(f.status.as_str().to_owned()),
            Self::Code => Some(f.code.as_str().to_owned()),
            // A CRD's own deprecated version has no release: its status says it.
            Self::Deprecated => yes_no(
                f.status == ApiStatus::Deprecated || f.deprecated_in.is_some_and(|d| d <= f.target),
            ),
            Self::DeprecatedIn => f.deprecated_in.map(|v| v.to_string()),
            Self::Removed => yes_no(matches!(f.status, ApiStatus::Removed | ApiStatus::Unknown)),
            Self::RemovedIn => f.removed_in.map(|v| v.to_string()),
            Self::ReplAvail => f
                .replacement
                .as_ref()
                .and_then(|r| r.available)
                .map(|b| b.to_string()),
            Self::ReplAvailIn => f
                .replacement
                .as_ref()
                .and_then(|r| r.available_in)
                .map(|v| v.to_string()),
            Self::Component => Some(f.component.clone()),
            Self::FilePath => Some(f.location.path.clone()),
            Self::Line => Some(f.location.line.to_string()),
            Self::Document => Some(f.location.document.to_string()),
            Self::Location => Some(location(f)),
            Self::Parsed => yes_no(f.parsed),
            Self::Message => Some(f.message.clone()),
        }
    }
}

/// Parses `--columns` (case-insensitive; `_` and `-` may stand for spaces).
pub fn parse_columns(names: &[String]) -> Result<Vec<Column>> {
    let mut out = Vec::with_capacity(names.len());
    for raw in names {
        let wanted = raw.trim().to_ascii_uppercase().replace(['_', '-'], " ");
        let Some(c) = ALL.iter().find(|c| c.header() == wanted) else {
            let valid: Vec<&str> = ALL.iter().map(|c| c.header()).collect();
            bail!(
                "invalid column {raw:?} in --columns; valid columns are: {}",
                valid.join(", ")
            );
        };
        out.push(*c);
    }
    if out.is_empty() {
        bail!("--columns needs at least one column");
    }
    Ok(out)
}

/// Where a finding is: `path:line` for files; for a cluster object, the object and who wrote
/// it through the API version; for a Helm release, the release and the manifest line.
fn location(f: &Finding) -> String {
    match &f.origin {
        Some(Origin::Object { evidence, .. }) => {
            let mut by: Vec<&str> = evidence
                .iter()
                .map(|e| match e {
                    Evidence::ManagedFields { manager, .. } => manager.as_str(),
                    Evidence::LastApplied => "last-applied",
                })
                .collect();
            by.dedup();
            format!("{} (by {})", f.location.path, by.join(", "))
        }
        // A revision that is not the deployed one (failed, superseded, pending) says so: its
        // objects may never have reached the cluster.
        Some(Origin::Helm {
            release,
            namespace,
            revision,
            status,
            ..
        }) => {
            let status = if status == "deployed" {
                String::new()
            } else {
                format!(" ({status})")
            };
            format!(
                "helm release {namespace}/{release} r{revision}{status}, manifest line {}",
                f.location.line
            )
        }
        None => {
            let mut l = format!("{}:{}", f.location.path, f.location.line);
            if !f.parsed {
                l.push_str(" (unparsed)");
            }
            l
        }
    }
}
