//! API group, version and kind as they appear in manifests (`apiVersion: apps/v1`).

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::error::ApiVersionError;

/// An `apiVersion` split into group and version. The core group is the empty string, so
/// `apiVersion: v1` is `("", "v1")` and `apps/v1` is `("apps", "v1")`.
///
/// ```
/// use api_catalog::GroupVersion;
///
/// let gv = GroupVersion::parse("networking.k8s.io/v1beta1").unwrap();
/// assert_eq!((gv.group(), gv.version()), ("networking.k8s.io", "v1beta1"));
/// assert_eq!(GroupVersion::parse("v1").unwrap().group(), "");
/// assert!(GroupVersion::parse("a/b/c").is_err());
/// ```
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct GroupVersion {
    group: String,
    version: String,
}

impl GroupVersion {
    /// Splits an `apiVersion` string. It must be `VERSION` or `GROUP/VERSION`, without spaces.
    pub fn parse(api_version: &str) -> Result<Self, ApiVersionError> {
        let (group, version) = split_api_version(api_version)?;
        Ok(Self {
            group: group.to_owned(),
            version: version.to_owned(),
        })
    }

    /// The API group; empty for the core group.
    pub fn group(&self) -> &str {
        &self.group
    }

    /// The version within the group (`v1beta1`).
    pub fn version(&self) -> &str {
        &self.version
    }
}

impl fmt::Display for GroupVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.group.is_empty() {
            f.write_str(&self.version)
        } else {
            write!(f, "{}/{}", self.group, self.version)
        }
    }
}

/// Splits `apiVersion` into `(group, version)` without allocating.
pub(crate) fn split_api_version(api_version: &str) -> Result<(&str, &str), ApiVersionError> {
    let bad = |reason: &'static str| ApiVersionError {
        input: api_version.to_owned(),
        reason,
    };
    if api_version.is_empty() {
        return Err(bad("it is empty"));
    }
    if api_version
        .bytes()
        .any(|b| b.is_ascii_whitespace() || b.is_ascii_control())
    {
        return Err(bad("it contains whitespace or control characters"));
    }
    match api_version.split_once('/') {
        None => Ok(("", api_version)),
        Some((group, version)) => {
            if group.is_empty() || version.is_empty() {
                Err(bad("the group or the version is empty"))
            } else if version.contains('/') {
                Err(bad("it has more than one '/'"))
            } else {
                Ok((group, version))
            }
        }
    }
}

/// A group, version and kind: the identity under which the catalog records a lifecycle.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Gvk {
    /// `apiVersion` as written in manifests (`apps/v1`, `v1`).
    pub api_version: String,
    /// The object kind (`Deployment`).
    pub kind: String,
}

impl Gvk {
    /// A GVK from an `apiVersion` string and a kind.
    pub fn new(api_version: impl Into<String>, kind: impl Into<String>) -> Self {
        Self {
            api_version: api_version.into(),
            kind: kind.into(),
        }
    }

    /// The API group (empty for core).
    pub fn group(&self) -> &str {
        split_api_version(&self.api_version).map_or("", |(g, _)| g)
    }

    /// The version part of `apiVersion`.
    pub fn version(&self) -> &str {
        split_api_version(&self.api_version).map_or(self.api_version.as_str(), |(_, v)| v)
    }
}

impl fmt::Display for Gvk {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.api_version, self.kind)
    }
}

/// Orders API versions the way Kubernetes prefers them: GA over beta over alpha, then by
/// number (`v2` > `v1` > `v2beta1` > `v1beta2` > `v1beta1` > `v2alpha1` > `v1alpha1`), as
/// the priority of CRD versions is defined. `None` for other spellings.
pub fn version_priority(version: &str) -> Option<(u8, u32, u32)> {
    let rest = version.strip_prefix('v')?;
    let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
    let major: u32 = rest[..digits].parse().ok()?;
    let tail = &rest[digits..];
    let (stage, minor) = if tail.is_empty() {
        (2, 0)
    } else if let Some(n) = tail.strip_prefix("beta") {
        (1, n.parse().ok()?)
    } else if let Some(n) = tail.strip_prefix("alpha") {
        (0, n.parse().ok()?)
    } else {
        return None;
    };
    // Stage first: a GA version outranks a beta of a later major (found by a property test;
    // this used to rank `v2alpha1` above `v1`).
    Some((stage, major, minor))
}
