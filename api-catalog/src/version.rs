//! Kubernetes (and add-on) release versions, compared on `major.minor`.
//!
//! Deprecations and removals take effect at a minor release, so a patch level or a vendor suffix
//! never changes an answer. Parsing still validates the whole string users paste: a typo should be
//! an error, not a silently different target.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::error::VersionError;

/// A release line such as `1.29`: the unit in which Kubernetes deprecates and removes APIs.
///
/// Parses every form users copy from clusters and docs: `1.29`, `v1.29`, `v1.29.4`,
/// `v1.29.4-eks-a1b2c3`, `1.29.0+k3s1`, `v1.29.4-gke.1043002`. Only major and minor take part in
/// ordering and equality.
///
/// ```
/// use api_catalog::KubeVersion;
///
/// let eks: KubeVersion = "v1.29.4-eks-a1b2c3".parse().unwrap();
/// assert_eq!(eks, KubeVersion::new(1, 29));
/// assert!(eks < "1.30".parse().unwrap());
/// assert_eq!(eks.to_string(), "1.29");
/// assert!("1.x".parse::<KubeVersion>().is_err());
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct KubeVersion {
    /// Major version (1 for every Kubernetes release so far).
    pub major: u16,
    /// Minor version: the release line.
    pub minor: u16,
}

impl KubeVersion {
    /// A version from its parts.
    pub const fn new(major: u16, minor: u16) -> Self {
        Self { major, minor }
    }

    /// The next minor release (`1.29` → `1.30`).
    #[must_use]
    pub const fn next_minor(self) -> Self {
        Self::new(self.major, self.minor.saturating_add(1))
    }

    /// The previous minor release (`1.30` → `1.29`; `1.0` stays `1.0`).
    #[must_use]
    pub const fn prev_minor(self) -> Self {
        Self::new(self.major, self.minor.saturating_sub(1))
    }
}

impl fmt::Display for KubeVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.major, self.minor)
    }
}

impl FromStr for KubeVersion {
    type Err = VersionError;

    fn from_str(input: &str) -> Result<Self, Self::Err> {
        let err = |reason: &'static str| VersionError {
            input: input.to_owned(),
            reason,
        };
        let trimmed = input.trim();
        if trimmed.is_empty() {
            return Err(err("the version is empty"));
        }
        let bare = trimmed
            .strip_prefix('v')
            .or_else(|| trimmed.strip_prefix('V'))
            .unwrap_or(trimmed);
        // A full version (three numeric parts, optional pre-release and build metadata) is
        // validated by semver so vendor suffixes such as `-eks-a1b2c3` or `+k3s1` are accepted
        // only when well formed.
        let numeric_parts = bare
            .split(['-', '+'])
            .next()
            .unwrap_or_default()
            .split('.')
            .count();
        if numeric_parts >= 3 {
            let full = semver::Version::parse(bare).map_err(|_| {
                err("expected MAJOR.MINOR or MAJOR.MINOR.PATCH with an optional suffix, such as 1.29, v1.29.4 or v1.29.4-eks-a1b2c3")
            })?;
            let major =
                u16::try_from(full.major).map_err(|_| err("the major version is too large"))?;
            let minor =
                u16::try_from(full.minor).map_err(|_| err("the minor version is too large"))?;
            return Ok(Self::new(major, minor));
        }
        let (major, minor) = bare.split_once('.').ok_or_else(|| {
            err("expected MAJOR.MINOR such as 1.29 (a major version alone is ambiguous)")
        })?;
        Ok(Self::new(
            parse_part(major, input)?,
            parse_part(minor, input)?,
        ))
    }
}

fn parse_part(part: &str, input: &str) -> Result<u16, VersionError> {
    let err = |reason: &'static str| VersionError {
        input: input.to_owned(),
        reason,
    };
    if part.is_empty() || !part.bytes().all(|b| b.is_ascii_digit()) {
        return Err(err(
            "expected MAJOR.MINOR or MAJOR.MINOR.PATCH with an optional suffix, such as 1.29, v1.29.4 or v1.29.4-eks-a1b2c3",
        ));
    }
    if part.len() > 1 && part.starts_with('0') {
        return Err(err("version numbers must not have leading zeros"));
    }
    part.parse()
        .map_err(|_| err("a version number is too large"))
}

impl Serialize for KubeVersion {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

// Written as a string, so the schema says so (a derive would describe the two numbers).
impl schemars::JsonSchema for KubeVersion {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "KubeVersion".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": "string",
            "pattern": "^[0-9]+\\.[0-9]+$",
            "description": "A Kubernetes minor release, major.minor (\"1.33\")."
        })
    }
}

impl<'de> Deserialize<'de> for KubeVersion {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl serde::de::Visitor<'_> for Visitor {
            type Value = KubeVersion;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a quoted version string such as \"1.29\"")
            }

            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<KubeVersion, E> {
                v.parse().map_err(E::custom)
            }

            // An unquoted `1.30` in YAML is the float 1.3: refuse it instead of guessing.
            fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<KubeVersion, E> {
                Err(E::custom(format_args!(
                    "version {v} must be written as a quoted string (\"1.30\", not 1.30)"
                )))
            }

            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<KubeVersion, E> {
                Err(E::custom(format_args!(
                    "version {v} must be written as a quoted MAJOR.MINOR string such as \"1.29\""
                )))
            }

            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<KubeVersion, E> {
                Err(E::custom(format_args!(
                    "version {v} must be written as a quoted MAJOR.MINOR string such as \"1.29\""
                )))
            }
        }
        deserializer.deserialize_any(Visitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_pasted_form() {
        for (input, minor) in [
            ("1.29", 29),
            ("v1.29", 29),
            ("V1.29", 29),
            ("v1.29.4", 29),
            ("v1.29.4-eks-a1b2c3", 29),
            ("1.29.0+k3s1", 29),
            ("v1.29.4-gke.1043002", 29),
            (" 1.33 ", 33),
            ("1.30", 30),
        ] {
            let v: KubeVersion = input.parse().unwrap_or_else(|e| panic!("{input}: {e}"));
            assert_eq!(v, KubeVersion::new(1, minor), "{input}");
        }
    }

    #[test]
    fn rejects_malformed_versions_with_the_input_in_the_message() {
        for input in [
            "", "1", "v1", "1.x", "x.1", "1.29.", "1..29", "1.29.4.5", "1.029", "latest", "1.29-",
            "v1.29.4-", "1.29.4+", "-1.2", "1.99999",
        ] {
            let err = input.parse::<KubeVersion>().expect_err(input);
            assert!(err.to_string().contains(&format!("{input:?}")), "{err}");
        }
    }

    #[test]
    fn orders_by_minor_numerically() {
        let a: KubeVersion = "1.9".parse().unwrap();
        let b: KubeVersion = "1.10".parse().unwrap();
        assert!(a < b);
        assert_eq!(a.next_minor(), b);
    }
}
