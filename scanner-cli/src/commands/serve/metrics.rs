//! The `/metrics` page of `upcheck serve`, in the Prometheus text format (0.0.4), written by
//! `prometheus-client` from the last report.
//!
//! Cardinality is bounded by the label rule: `upcheck_findings` counts findings per code,
//! status, apiVersion, kind, namespace and target, and never names an object, so the series
//! are at most the catalog's deprecated kinds times the namespaces that use them; object names
//! are in `/report`. Families are written in a fixed order and series sorted by their labels,
//! so two scrapes of the same report are byte-identical.

use std::collections::BTreeMap;
use std::sync::Arc;

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{
    DescriptorEncoder, EncodeMetric, MetricEncoder, prometheus_text,
};
use prometheus_client::metrics::MetricType;
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::registry::Registry;
use scanner_core::Report;

/// Labels of `upcheck_findings`: code, status, `api_version`, kind, namespace, target.
type FindingLabels = [(&'static str, String); 6];

/// What the metrics say about one finished scan.
#[derive(Debug, Clone, PartialEq)]
pub struct ScanSummary {
    /// Findings per label set (objects using deprecated, removed or unknown API versions).
    findings: BTreeMap<FindingLabels, i64>,
    /// Readiness findings per code and severity.
    readiness: BTreeMap<(String, &'static str), i64>,
    /// When the scan ended, in seconds since the Unix epoch.
    finished_at: f64,
    /// How long it took, in seconds.
    duration: f64,
    /// Whether something could not be read (the report has errors).
    incomplete: bool,
}

impl ScanSummary {
    /// The summary of `report` (after ignore rules), ended at `finished_at` after `duration`.
    pub fn of(report: &Report, finished_at: f64, duration: f64) -> Self {
        let mut findings = BTreeMap::new();
        for f in &report.findings {
            let labels = [
                ("code", f.code.as_str().to_owned()),
                ("status", f.status.as_str().to_owned()),
                ("api_version", f.api_version.clone()),
                ("kind", f.kind.clone()),
                ("namespace", f.namespace.clone().unwrap_or_default()),
                ("target", f.target.to_string()),
            ];
            *findings.entry(labels).or_insert(0) += 1;
        }
        let mut readiness = BTreeMap::new();
        for f in report.readiness.iter().flat_map(|r| &r.findings) {
            *readiness
                .entry((f.code.clone(), f.severity.as_str()))
                .or_insert(0) += 1;
        }
        Self {
            findings,
            readiness,
            finished_at,
            duration,
            incomplete: report.is_incomplete(),
        }
    }
}

/// Everything `/metrics` shows: the exporter's own facts and the last scan.
#[derive(Debug, Clone)]
pub struct Exposition {
    /// upcheck's version.
    pub version: String,
    /// The catalog's data version.
    pub catalog: String,
    /// `--interval`, in seconds (the alert on stale scans compares against it).
    pub interval: f64,
    /// When the exporter started, in seconds since the Unix epoch.
    pub started_at: f64,
    /// Scans that failed since the start.
    pub errors: u64,
    /// The last scan that made a report; `None` before the first.
    pub last: Option<Arc<ScanSummary>>,
}

impl Exposition {
    /// The page, in the Prometheus text format.
    pub fn text(&self) -> Result<String, std::fmt::Error> {
        let mut registry = Registry::default();
        registry.register_collector(Box::new(self.clone()));
        let mut out = String::new();
        prometheus_text::encode(&mut out, &registry)?;
        Ok(out)
    }
}

/// Writes one family's HELP and TYPE, then its series.
fn family(
    encoder: &mut DescriptorEncoder,
    name: &str,
    help: &str,
    kind: MetricType,
    series: impl FnOnce(MetricEncoder) -> std::fmt::Result,
) -> std::fmt::Result {
    series(encoder.encode_descriptor(name, help, None, kind)?)
}

fn gauge(metric: MetricEncoder, value: f64) -> std::fmt::Result {
    ConstGauge::new(value).encode(metric)
}

impl Collector for Exposition {
    fn encode(&self, mut encoder: DescriptorEncoder) -> std::fmt::Result {
        family(
            &mut encoder,
            "upcheck_build_info",
            "upcheck's version and the catalog data version it judges with (always 1)",
            MetricType::Gauge,
            |mut m| {
                let labels = [
                    ("version", self.version.as_str()),
                    ("catalog", self.catalog.as_str()),
                ];
                ConstGauge::new(1_i64).encode(m.encode_family(&labels)?)
            },
        )?;
        family(
            &mut encoder,
            "upcheck_start_time_seconds",
            "When the exporter started, in seconds since the Unix epoch",
            MetricType::Gauge,
            |m| gauge(m, self.started_at),
        )?;
        family(
            &mut encoder,
            "upcheck_scan_interval_seconds",
            "Time between scans (--interval), before jitter",
            MetricType::Gauge,
            |m| gauge(m, self.interval),
        )?;
        family(
            &mut encoder,
            "upcheck_scan_errors",
            "Scans that failed and made no report since the exporter started (the previous report is kept)",
            MetricType::Counter,
            |m| ConstCounter::new(self.errors).encode(m),
        )?;
        // The families below describe a report: they have no series before the first one.
        let last = self.last.as_deref();
        family(
            &mut encoder,
            "upcheck_scan_timestamp_seconds",
            "When the last scan that made a report ended, in seconds since the Unix epoch",
            MetricType::Gauge,
            |m| last.map_or(Ok(()), |l| gauge(m, l.finished_at)),
        )?;
        family(
            &mut encoder,
            "upcheck_scan_duration_seconds",
            "How long the last scan that made a report took",
            MetricType::Gauge,
            |m| last.map_or(Ok(()), |l| gauge(m, l.duration)),
        )?;
        family(
            &mut encoder,
            "upcheck_scan_incomplete",
            "1 when the last report lacks something that could not be read (its errors are in /report), else 0",
            MetricType::Gauge,
            |m| {
                last.map_or(Ok(()), |l| {
                    ConstGauge::new(i64::from(l.incomplete)).encode(m)
                })
            },
        )?;
        family(
            &mut encoder,
            "upcheck_findings",
            "Objects using deprecated, removed or unknown API versions, counted per code, status, apiVersion, kind, namespace and target (no object names: see /report)",
            MetricType::Gauge,
            |mut m| {
                for (labels, count) in last.iter().flat_map(|l| &l.findings) {
                    ConstGauge::new(*count).encode(m.encode_family(labels)?)?;
                }
                Ok(())
            },
        )?;
        family(
            &mut encoder,
            "upcheck_readiness_findings",
            "Findings of the upgrade readiness checks, counted per code and severity",
            MetricType::Gauge,
            |mut m| {
                for ((code, severity), count) in last.iter().flat_map(|l| &l.readiness) {
                    let labels = [("code", code.as_str()), ("severity", *severity)];
                    ConstGauge::new(*count).encode(m.encode_family(&labels)?)?;
                }
                Ok(())
            },
        )
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)] // tests fail loudly on purpose

    use super::*;

    fn exposition(last: Option<ScanSummary>) -> Exposition {
        Exposition {
            version: "0.1.0".into(),
            catalog: "2026.11".into(),
            interval: 3600.0,
            started_at: 100.0,
            errors: 2,
            last: last.map(Arc::new),
        }
    }

    fn labels(ns: &str) -> FindingLabels {
        [
            ("code", "DEP002".into()),
            ("status", "removed".into()),
            ("api_version", "extensions/v1beta1".into()),
            ("kind", "Ingress".into()),
            ("namespace", ns.into()),
            ("target", "1.22".into()),
        ]
    }

    #[test]
    fn before_the_first_scan_only_the_exporters_own_series_are_shown() {
        let text = exposition(None).text().unwrap();
        assert!(
            text.contains("upcheck_build_info{version=\"0.1.0\",catalog=\"2026.11\"} 1\n"),
            "{text}"
        );
        assert!(text.contains("upcheck_scan_errors_total 2\n"), "{text}");
        assert!(text.contains("# TYPE upcheck_scan_errors_total counter\n"));
        assert!(
            text.contains("upcheck_scan_interval_seconds 3600.0\n"),
            "{text}"
        );
        assert!(text.contains("# TYPE upcheck_findings gauge\n"));
        assert!(!text.contains("upcheck_findings{"), "{text}");
        assert!(
            !text.contains("\nupcheck_scan_timestamp_seconds "),
            "{text}"
        );
    }

    #[test]
    fn findings_are_counted_per_label_set_in_a_fixed_order() {
        let mut findings = BTreeMap::new();
        findings.insert(labels("b"), 1);
        findings.insert(labels("a"), 3);
        let mut readiness = BTreeMap::new();
        readiness.insert(("DRN001".to_owned(), "blocker"), 2);
        let summary = ScanSummary {
            findings,
            readiness,
            finished_at: 1_700_000_000.5,
            duration: 1.25,
            incomplete: true,
        };
        let e = exposition(Some(summary));
        let text = e.text().unwrap();
        let a = text
            .find("upcheck_findings{code=\"DEP002\",status=\"removed\",api_version=\"extensions/v1beta1\",kind=\"Ingress\",namespace=\"a\",target=\"1.22\"} 3\n")
            .unwrap();
        let b = text.find("namespace=\"b\",target=\"1.22\"} 1\n").unwrap();
        assert!(a < b, "{text}");
        assert!(
            text.contains("upcheck_readiness_findings{code=\"DRN001\",severity=\"blocker\"} 2\n")
        );
        assert!(text.contains("upcheck_scan_incomplete 1\n"), "{text}");
        assert!(
            text.contains("upcheck_scan_duration_seconds 1.25\n"),
            "{text}"
        );
        assert_eq!(text, e.text().unwrap(), "deterministic");
    }

    #[test]
    fn label_values_are_escaped() {
        let mut findings = BTreeMap::new();
        let mut l = labels("x");
        l[3].1 = "Odd\"Kind\\\n".into();
        findings.insert(l, 1);
        let summary = ScanSummary {
            findings,
            readiness: BTreeMap::new(),
            finished_at: 1.0,
            duration: 1.0,
            incomplete: false,
        };
        let text = exposition(Some(summary)).text().unwrap();
        assert!(text.contains(r#"kind="Odd\"Kind\\\n""#), "{text}");
    }
}
