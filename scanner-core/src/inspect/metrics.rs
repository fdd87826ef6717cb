//! The apiserver's own record of deprecated API calls.
//!
//! kube-apiserver (1.19+) sets the gauge `apiserver_requested_deprecated_apis` to 1 for every
//! deprecated group/version/resource some client requested since the server started. It
//! catches clients whose objects never show up in storage (controllers that only read or
//! watch, CI jobs that create and delete).

pub use crate::report::DeprecatedApiRequest;

/// The metric's name.
pub const METRIC: &str = "apiserver_requested_deprecated_apis";

/// A line of the metrics text that names the metric but could not be read.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("/metrics line {line}: {reason}")]
pub struct MetricsError {
    /// 1-based line number.
    pub line: usize,
    /// What was wrong.
    pub reason: &'static str,
}

/// Reads every sample of [`METRIC`] with a non-zero value from Prometheus text exposition.
/// Sorted and deduplicated; malformed sample lines are returned as errors alongside.
pub fn requested_deprecated_apis(text: &str) -> (Vec<DeprecatedApiRequest>, Vec<MetricsError>) {
    let mut found = Vec::new();
    let mut errors = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let Some(rest) = line.strip_prefix(METRIC) else {
            continue;
        };
        // `apiserver_requested_deprecated_apis_total` would be another metric.
        if !(rest.starts_with('{') || rest.starts_with(' ')) {
            continue;
        }
        match parse_sample(rest) {
            Ok(Some(request)) => found.push(request),
            Ok(None) => {}
            Err(reason) => errors.push(MetricsError {
                line: i + 1,
                reason,
            }),
        }
    }
    found.sort();
    found.dedup();
    (found, errors)
}

fn parse_sample(rest: &str) -> Result<Option<DeprecatedApiRequest>, &'static str> {
    let mut labels = Vec::new();
    let mut chars = rest.char_indices().peekable();
    let mut value_start = 0;
    if rest.starts_with('{') {
        chars.next();
        loop {
            // label name
            let mut name = String::new();
            for (_, c) in chars.by_ref() {
                if c == '=' {
                    break;
                }
                if c == '}' && name.trim().is_empty() {
                    break;
                }
                name.push(c);
            }
            let name = name.trim().trim_start_matches(',').trim().to_owned();
            if name.is_empty() {
                value_start = chars.peek().map_or(rest.len(), |(i, _)| *i);
                break;
            }
            if chars.next().map(|(_, c)| c) != Some('"') {
                return Err("label value is not quoted");
            }
            let mut value = String::new();
            let mut closed = false;
            while let Some((_, c)) = chars.next() {
                match c {
                    '\\' => match chars.next().map(|(_, c)| c) {
                        Some('n') => value.push('\n'),
                        Some(other) => value.push(other),
                        None => return Err("unterminated label value"),
                    },
                    '"' => {
                        closed = true;
                        break;
                    }
                    c => value.push(c),
                }
            }
            if !closed {
                return Err("unterminated label value");
            }
            labels.push((name, value));
            match chars.next().map(|(_, c)| c) {
                Some(',') => {
                    if chars.peek().map(|(_, c)| *c) == Some('}') {
                        chars.next();
                        value_start = chars.peek().map_or(rest.len(), |(i, _)| *i);
                        break;
                    }
                }
                Some('}') => {
                    value_start = chars.peek().map_or(rest.len(), |(i, _)| *i);
                    break;
                }
                _ => return Err("labels are not closed"),
            }
        }
    }
    let value = rest[value_start..]
        .split_whitespace()
        .next()
        .ok_or("no sample value")?;
    let value: f64 = value.parse().map_err(|_| "sample value is not a number")?;
    if value == 0.0 || value.is_nan() {
        return Ok(None);
    }
    let get = |key: &str| {
        labels
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    let request = DeprecatedApiRequest {
        group: get("group"),
        version: get("version"),
        resource: get("resource"),
        subresource: get("subresource"),
        removed_release: get("removed_release"),
    };
    if request.version.is_empty() || request.resource.is_empty() {
        return Err("sample has no version or resource label");
    }
    Ok(Some(request))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_samples_and_skips_comments_zeroes_and_other_metrics() {
        let text = "# HELP apiserver_requested_deprecated_apis x\n\
            # TYPE apiserver_requested_deprecated_apis gauge\n\
            apiserver_requested_deprecated_apis{group=\"extensions\",removed_release=\"1.22\",resource=\"ingresses\",subresource=\"\",version=\"v1beta1\"} 1\n\
            apiserver_requested_deprecated_apis{group=\"\",removed_release=\"\",resource=\"componentstatuses\",subresource=\"\",version=\"v1\",} 1 1700000000\n\
            apiserver_requested_deprecated_apis{group=\"batch\",removed_release=\"1.25\",resource=\"cronjobs\",subresource=\"\",version=\"v1beta1\"} 0\n\
            apiserver_requested_deprecated_apis_total{group=\"x\"} 3\n\
            apiserver_request_total{code=\"200\"} 9\n";
        let (found, errors) = requested_deprecated_apis(text);
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(found.len(), 2);
        assert_eq!(found[0].api_version(), "v1");
        assert_eq!(found[1].api_version(), "extensions/v1beta1");
        assert_eq!(found[1].removed_release, "1.22");
    }

    #[test]
    fn malformed_samples_are_errors_with_line_numbers() {
        let text = "ok 1\napiserver_requested_deprecated_apis{group=\"a} 1\napiserver_requested_deprecated_apis{group=\"a\",version=\"v1\",resource=\"r\"} one\n";
        let (found, errors) = requested_deprecated_apis(text);
        assert!(found.is_empty());
        assert_eq!(
            errors,
            [
                MetricsError {
                    line: 2,
                    reason: "unterminated label value"
                },
                MetricsError {
                    line: 3,
                    reason: "sample value is not a number"
                }
            ]
        );
    }
}
