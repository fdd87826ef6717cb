//! Judging what a live cluster holds: the synchronous half of a cluster scan.
//!
//! A client (the `upcheck cluster` command, or any tool with its own HTTP stack) fetches
//! discovery documents, list pages, Helm release records, CRDs and `/metrics`, and hands each
//! piece to a [`ClusterJudge`] as it arrives. Each call fills a [`ClusterOutcome`]; outcomes
//! from parallel requests merge in any order, and [`ClusterJudge::finish`] sorts everything
//! into a [`Report`], so the report does not depend on the order responses came back in.
//! Only one page of objects is ever needed at a time.

use std::collections::BTreeMap;

use api_catalog::{ApiStatus, Catalog, KubeVersion};
use serde::Serialize;
use serde_json::Value;

use super::crd::{CrdFinding, inspect_crd};
use super::discovery::{ServedApi, ServedResource, served_at_risk};
use super::evidence::{Evidence, object_evidence};
use super::helm::HelmRelease;
use super::metrics::{DeprecatedApiRequest, requested_deprecated_apis};
use crate::error::{ErrorKind, ScanError, ScanWarning, WarningKind};
use crate::finding::{Finding, Location, Origin};
use crate::report::{Note, NoteKind, REPORT_SCHEMA_VERSION, Report, ScanStats, ToolInfo};
use crate::scan::{ScanSettings, Scanner};
use crate::suppress::{Inline, Suppressed, inline};

/// How many object names a "no write history" warning quotes before it only counts.
const NO_HISTORY_EXAMPLES: usize = 5;

/// Field managers that are Kubernetes' own components. They are upgraded with the cluster and
/// then write through current versions, so their old writes are not something to migrate.
const CONTROL_PLANE_MANAGERS: [&str; 5] = [
    "kube-apiserver",
    "kube-controller-manager",
    "kube-scheduler",
    "kubelet",
    "cloud-controller-manager",
];

/// Whether a manager is part of Kubernetes itself.
pub fn is_control_plane_manager(manager: &str) -> bool {
    CONTROL_PLANE_MANAGERS.contains(&manager)
        // The API server's priority-and-fairness bootstrap writers.
        || manager.starts_with("api-priority-and-fairness-config-")
}

/// Objects the API server makes itself, which no client writes: `ComponentStatus` (computed on
/// every read) and `APIServices` registered for built-in groups and CRDs.
fn made_by_the_apiserver(resource: &ServedResource, item: &Value) -> bool {
    (resource.resource == "componentstatuses" && resource.group().is_empty())
        || item
            .pointer("/metadata/labels/kube-aggregator.kubernetes.io~1automanaged")
            .is_some()
}

/// Which cluster was scanned.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct ClusterInfo {
    /// The kubeconfig context (`in-cluster` for the pod's service account).
    pub context: String,
    /// The API server URL.
    pub server: String,
    /// `gitVersion` from `/version`, when it could be read.
    pub server_version: Option<String>,
    /// The namespace the scan was limited to, if any.
    pub namespace: Option<String>,
}

/// A call the API server says some client still makes through a deprecated API
/// (`apiserver_requested_deprecated_apis`).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct RequestedApi {
    /// What the metric says.
    #[serde(flatten)]
    pub request: DeprecatedApiRequest,
    /// `removed` when the API is gone at the target, otherwise `deprecated`.
    pub status: ApiStatus,
    /// One sentence for people.
    pub message: String,
}

/// Something the scan was not allowed to read, and the permission it needs.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct NotChecked {
    /// The resource (`ingresses.networking.k8s.io`) or non-resource URL (`/metrics`).
    pub resource: String,
    /// The verb it needs (`list`, `get`).
    pub verb: String,
    /// The namespace, when the request was namespaced.
    pub namespace: Option<String>,
}

impl NotChecked {
    /// "needs list on ingresses.networking.k8s.io".
    pub fn needs(&self) -> String {
        match &self.namespace {
            Some(ns) => format!("needs {} on {} in {ns}", self.verb, self.resource),
            None => format!("needs {} on {}", self.verb, self.resource),
        }
    }
}

/// Counts of what a cluster scan read.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct ClusterStats {
    /// Group/version/resources the server serves.
    pub served_resources: u64,
    /// Resources whose objects were listed for write evidence.
    pub resources_listed: u64,
    /// Objects read from those lists.
    pub objects: u64,
    /// List pages read.
    pub pages: u64,
    /// Lists resumed after an expired continue token.
    pub list_resumes: u64,
    /// Requests sent again after transient failures (throttling, server errors, broken
    /// connections).
    pub request_retries: u64,
    /// Helm release records read (every revision).
    pub helm_records: u64,
    /// Helm release revisions whose manifests were scanned.
    pub helm_releases_scanned: u64,
    /// Objects written through a deprecated or removed version only by Kubernetes' own
    /// components (not reported: they are rewritten when those components are upgraded).
    pub control_plane_writes: u64,
}

impl ClusterStats {
    fn add(&mut self, o: &ClusterStats) {
        self.served_resources += o.served_resources;
        self.resources_listed += o.resources_listed;
        self.objects += o.objects;
        self.pages += o.pages;
        self.list_resumes += o.list_resumes;
        self.request_retries += o.request_retries;
        self.helm_records += o.helm_records;
        self.helm_releases_scanned += o.helm_releases_scanned;
        self.control_plane_writes += o.control_plane_writes;
    }
}

/// The cluster part of a report.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ClusterSection {
    /// Which cluster.
    #[serde(flatten)]
    pub info: ClusterInfo,
    /// Served API versions that are deprecated or removed at the target. Informational: a
    /// server serves old versions whether or not anything uses them.
    pub served_at_risk: Vec<ServedApi>,
    /// Deprecated APIs some client still calls, from the apiserver's own metric.
    pub requested_apis: Vec<RequestedApi>,
    /// Deprecated CRD versions and stored versions that need migrating.
    pub crds: Vec<CrdFinding>,
    /// What the scan was not allowed to read.
    pub not_checked: Vec<NotChecked>,
    /// Counts.
    pub stats: ClusterStats,
}

/// What some responses contributed to a cluster scan. Merge outcomes in any order.
#[derive(Debug, Default)]
pub struct ClusterOutcome {
    /// Objects written through deprecated or removed APIs, and Helm manifest objects.
    pub findings: Vec<Finding>,
    /// What could not be read. Any error makes the scan incomplete.
    pub errors: Vec<ScanError>,
    /// Notices.
    pub warnings: Vec<ScanWarning>,
    /// See [`ClusterSection::served_at_risk`].
    pub served_at_risk: Vec<ServedApi>,
    /// See [`ClusterSection::requested_apis`].
    pub requested_apis: Vec<RequestedApi>,
    /// See [`ClusterSection::crds`].
    pub crds: Vec<CrdFinding>,
    /// See [`ClusterSection::not_checked`].
    pub not_checked: Vec<NotChecked>,
    /// Counts.
    pub stats: ClusterStats,
    /// Counts of what Helm manifests held.
    pub manifest_stats: ScanStats,
    /// Findings accepted by the objects' own `upcheck.io/ignore` annotations.
    pub suppressed: Vec<Suppressed>,
    /// Objects without write history, per resource: count and a few names.
    no_history: BTreeMap<String, (u64, Vec<String>)>,
}

impl ClusterOutcome {
    /// Adds `other` to `self`.
    pub fn merge(&mut self, mut other: ClusterOutcome) {
        self.findings.append(&mut other.findings);
        self.errors.append(&mut other.errors);
        self.warnings.append(&mut other.warnings);
        self.suppressed.append(&mut other.suppressed);
        self.served_at_risk.append(&mut other.served_at_risk);
        self.requested_apis.append(&mut other.requested_apis);
        self.crds.append(&mut other.crds);
        self.not_checked.append(&mut other.not_checked);
        self.stats.add(&other.stats);
        self.manifest_stats.add(&other.manifest_stats);
        for (resource, (n, names)) in other.no_history {
            let e = self.no_history.entry(resource).or_default();
            e.0 += n;
            e.1.extend(names);
        }
    }

    /// Records a request the server refused (403): the report says what permission is
    /// missing, and the scan counts as incomplete.
    pub fn forbidden(&mut self, not_checked: NotChecked, server_message: &str) {
        self.errors.push(ScanError {
            path: not_checked.resource.clone(),
            document: None,
            line: None,
            column: None,
            kind: ErrorKind::Forbidden,
            message: format!(
                "not checked: {} (403 Forbidden: {server_message})",
                not_checked.needs()
            ),
        });
        self.not_checked.push(not_checked);
    }

    /// Records a read that failed for another reason.
    pub fn error(&mut self, what: &str, kind: ErrorKind, message: String) {
        self.errors.push(ScanError {
            path: what.to_owned(),
            document: None,
            line: None,
            column: None,
            kind,
            message,
        });
    }

    /// Records a notice.
    pub fn warning(&mut self, what: &str, kind: WarningKind, message: String) {
        self.warnings.push(ScanWarning {
            path: what.to_owned(),
            document: None,
            line: None,
            kind,
            message,
        });
    }
}

/// `ingresses.networking.k8s.io`, `pods` (core): how kubectl and RBAC name a resource.
pub fn resource_ref(resource: &ServedResource) -> String {
    match resource.group() {
        "" => resource.resource.clone(),
        g => format!("{}.{g}", resource.resource),
    }
}

/// Judges cluster responses against the catalog at the scan's targets.
#[derive(Debug)]
pub struct ClusterJudge<'c> {
    catalog: &'c Catalog,
    scanner: Scanner<'c>,
}

impl<'c> ClusterJudge<'c> {
    /// A judge over `catalog` with `settings` (targets, `only_removed`).
    pub fn new(catalog: &'c Catalog, settings: ScanSettings) -> Self {
        Self {
            catalog,
            scanner: Scanner::new(catalog, settings),
        }
    }

    fn settings(&self) -> &ScanSettings {
        self.scanner.settings()
    }

    /// Discovery: every served resource. Records those at risk at the target.
    pub fn served(&self, resources: &[ServedResource], out: &mut ClusterOutcome) {
        out.stats.served_resources += resources.len() as u64;
        out.served_at_risk.extend(served_at_risk(
            resources,
            self.catalog,
            &self.settings().targets,
        ));
    }

    /// One page of a list of `resource`: judges each object by the API versions it was
    /// written through (managed fields, last-applied annotation), never by the version the
    /// list was read at.
    pub fn objects(&self, resource: &ServedResource, items: &[Value], out: &mut ClusterOutcome) {
        let rref = resource_ref(resource);
        let targets = &self.settings().targets;
        out.stats.objects += items.len() as u64;
        for item in items {
            let text = |ptr: &str| item.pointer(ptr).and_then(Value::as_str).map(str::to_owned);
            let name = text("/metadata/name");
            let namespace = text("/metadata/namespace");
            let object = match (&namespace, &name) {
                (Some(ns), Some(n)) => format!("{rref}/{ns}/{n}"),
                (None, Some(n)) => format!("{rref}/{n}"),
                _ => format!("{rref}/<unnamed>"),
            };
            if made_by_the_apiserver(resource, item) {
                continue;
            }
            let evidence = object_evidence(item);
            if evidence.is_empty() {
                let e = out.no_history.entry(rref.clone()).or_default();
                e.0 += 1;
                if e.1.len() < NO_HISTORY_EXAMPLES {
                    e.1.push(object.clone());
                }
                continue;
            }
            for problem in &evidence.problems {
                out.warning(
                    &object,
                    WarningKind::UnreadableHistory,
                    format!("part of the write history cannot be read: {problem}"),
                );
            }
            for using in evidence.uses {
                let verdict = self
                    .catalog
                    .assess(&using.api_version, &resource.kind, targets);
                let by_clients = using.evidence.iter().any(|e| match e {
                    Evidence::ManagedFields { manager, .. } => !is_control_plane_manager(manager),
                    Evidence::LastApplied => true,
                });
                if !by_clients {
                    if verdict.status.is_reportable() {
                        out.stats.control_plane_writes += 1;
                    }
                    continue;
                }
                if self.settings().only_removed && verdict.status == ApiStatus::Deprecated {
                    out.manifest_stats.suppressed += 1;
                    continue;
                }
                let location = Location {
                    path: object.clone(),
                    document: 0,
                    item: None,
                    line: 0,
                    document_span: None,
                    api_version_span: None,
                    api_version_position: None,
                };
                if let Some(mut f) = Finding::from_verdict(
                    &verdict,
                    using.api_version,
                    resource.kind.clone(),
                    name.clone(),
                    namespace.clone(),
                    location,
                    true,
                ) {
                    f.origin = Some(Origin::Object {
                        resource: rref.clone(),
                        evidence: using.evidence,
                    });
                    match inline(Some(item), &f) {
                        Inline::Suppress(s) => {
                            out.suppressed.push(s);
                            continue;
                        }
                        Inline::Bad(message) => {
                            out.warning(&object, WarningKind::BadAnnotation, message);
                        }
                        Inline::Keep => {}
                    }
                    out.findings.push(f);
                }
            }
        }
    }

    /// A CRD (from a list of `customresourcedefinitions`).
    pub fn crd(&self, crd: &Value, out: &mut ClusterOutcome) {
        out.crds.extend(inspect_crd(crd));
    }

    /// The `/metrics` text.
    pub fn metrics(&self, text: &str, out: &mut ClusterOutcome) {
        let (requests, problems) = requested_deprecated_apis(text);
        for p in problems {
            out.warning(
                "/metrics",
                WarningKind::UnreadableHistory,
                format!("line {}: {}", p.line, p.reason),
            );
        }
        let target = self.settings().targets.get("k8s").map(|t| t.target);
        for request in requests {
            let removed: Option<KubeVersion> = request.removed_release.parse().ok();
            let status = match (removed, target) {
                (Some(r), Some(t)) if r <= t => ApiStatus::Removed,
                _ => ApiStatus::Deprecated,
            };
            if self.settings().only_removed && status == ApiStatus::Deprecated {
                continue;
            }
            let what = if request.subresource.is_empty() {
                format!("{} {}", request.api_version(), request.resource)
            } else {
                format!(
                    "{} {}/{}",
                    request.api_version(),
                    request.resource,
                    request.subresource
                )
            };
            let message = match (status, removed) {
                (ApiStatus::Removed, Some(r)) => format!(
                    "a client still calls {what}, which is no longer served from {r}; find it in the audit log before upgrading"
                ),
                (_, Some(r)) => {
                    format!("a client still calls {what}, deprecated and removed in {r}")
                }
                _ => format!("a client still calls {what}, which is deprecated"),
            };
            out.requested_apis.push(RequestedApi {
                request,
                status,
                message,
            });
        }
    }

    /// One Helm release revision: scans its manifest like a file. Errors name the release
    /// and the line, never the manifest's text (a chart may render Secrets).
    pub fn helm_release(&self, release: &HelmRelease, out: &mut ClusterOutcome) {
        let path = format!(
            "helm:{}/{}.v{}",
            release.namespace, release.name, release.revision
        );
        let report = self.scanner.scan_text(&path, &release.manifest);
        out.stats.helm_releases_scanned += 1;
        out.manifest_stats.add(&ScanStats {
            files: 0,
            bytes: 0,
            ..report.stats
        });
        for mut f in report.findings {
            f.origin = Some(Origin::Helm {
                release: release.name.clone(),
                namespace: release.namespace.clone(),
                revision: release.revision,
                chart: release.chart.clone(),
                status: release.status.clone(),
                storage: release.storage,
                storage_object: release.storage_object.clone(),
            });
            out.findings.push(f);
        }
        out.suppressed.extend(report.suppressed);
        for mut e in report.errors {
            e.message = format!(
                "the release manifest has a {} error; its text is not shown because it may hold Secret data",
                e.kind.as_str()
            );
            out.errors.push(e);
        }
        for mut w in report.warnings {
            "the release manifest has a questionable document (details withheld: it may hold Secret data)".clone_into(&mut w.message);
            out.warnings.push(w);
        }
    }

    /// Sorts everything into the report.
    pub fn finish(&self, info: ClusterInfo, mut out: ClusterOutcome) -> Report {
        for (resource, (n, names)) in std::mem::take(&mut out.no_history) {
            let shown = names.len() as u64;
            let more = if n > shown {
                format!(" and {} more", n - shown)
            } else {
                String::new()
            };
            out.warning(
                &resource,
                WarningKind::NoWriteHistory,
                format!(
                    "{n} object(s) carry no managed fields and no last-applied annotation, so the API version they were written through cannot be told: {}{more}",
                    names.join(", ")
                ),
            );
        }
        let targets = self.settings().targets.clone();
        let mut stats = out.manifest_stats;
        stats.objects += out.stats.objects;
        out.served_at_risk.sort_by(|a, b| {
            (&a.served.api_version, &a.served.resource)
                .cmp(&(&b.served.api_version, &b.served.resource))
        });
        out.served_at_risk.dedup();
        out.requested_apis.sort();
        out.requested_apis.dedup();
        out.crds.sort();
        out.crds.dedup();
        out.not_checked.sort();
        out.not_checked.dedup();
        out.warnings.dedup();
        let mut notes = Note::for_catalog(self.catalog, &targets);
        if out.stats.control_plane_writes > 0 {
            notes.push(Note {
                kind: NoteKind::BuiltinWriters,
                message: format!(
                    "{} object(s) were written through deprecated or removed versions only by Kubernetes' own components ({}); those rewrite them through current versions once upgraded, so they are not reported",
                    out.stats.control_plane_writes,
                    CONTROL_PLANE_MANAGERS.join(", ")
                ),
            });
        }
        let mut report = Report {
            schema_version: REPORT_SCHEMA_VERSION,
            tool: ToolInfo::new(self.catalog),
            notes,
            targets,
            findings: out.findings,
            errors: out.errors,
            warnings: out.warnings,
            not_judged: Vec::new(),
            stats,
            cluster: Some(ClusterSection {
                info,
                served_at_risk: out.served_at_risk,
                requested_apis: out.requested_apis,
                crds: out.crds,
                not_checked: out.not_checked,
                stats: out.stats,
            }),
            readiness: None,
            suppressed: out.suppressed,
        };
        report.sort();
        // A list resumed after an expired continue token may return an object twice.
        report.findings.dedup();
        report.warnings.dedup();
        report.suppressed.dedup();
        report.assign_fingerprints();
        report
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)] // tests fail loudly on purpose
    use super::*;
    use api_catalog::{KubeVersion, Targets};
    use serde_json::json;

    fn ingresses() -> ServedResource {
        ServedResource {
            api_version: "networking.k8s.io/v1".into(),
            resource: "ingresses".into(),
            kind: "Ingress".into(),
            namespaced: true,
            verbs: vec!["list".into()],
            storage_version_hash: None,
        }
    }

    fn managed(manager: &str, api_version: &str) -> Value {
        json!({"manager": manager, "operation": "Update", "apiVersion": api_version})
    }

    #[test]
    fn objects_are_judged_by_their_writers() {
        let settings = ScanSettings::new(Targets::kubernetes(KubeVersion::new(1, 22), None));
        let judge = ClusterJudge::new(Catalog::embedded(), settings);
        let page = [
            // A client wrote through a removed version: a finding, with the evidence.
            json!({"metadata": {"name": "a", "namespace": "x", "managedFields": [
                managed("ci", "extensions/v1beta1"), managed("kube-controller-manager", "networking.k8s.io/v1")]}}),
            // Only the control plane did: counted, not reported.
            json!({"metadata": {"name": "b", "namespace": "x", "managedFields": [
                managed("kube-controller-manager", "extensions/v1beta1")]}}),
            // Read through v1 and written through v1: nothing.
            json!({"metadata": {"name": "c", "namespace": "x", "managedFields": [
                managed("kubectl", "networking.k8s.io/v1")]}}),
            // No history: a warning, never a guess.
            json!({"metadata": {"name": "d", "namespace": "x"}}),
        ];
        let mut out = ClusterOutcome::default();
        judge.objects(&ingresses(), &page, &mut out);
        let report = judge.finish(ClusterInfo::default(), out);
        let names: Vec<_> = report
            .findings
            .iter()
            .map(|f| f.name.as_deref().unwrap())
            .collect();
        assert_eq!(names, ["a"]);
        assert_eq!(
            report.findings[0].location.path,
            "ingresses.networking.k8s.io/x/a"
        );
        assert!(matches!(
            &report.findings[0].origin,
            Some(Origin::Object { evidence, .. }) if evidence.len() == 1
        ));
        let cluster = report.cluster.as_ref().unwrap();
        assert_eq!(cluster.stats.control_plane_writes, 1);
        assert_eq!(cluster.stats.objects, 4);
        assert_eq!(report.warnings.len(), 1);
        assert_eq!(report.warnings[0].kind, WarningKind::NoWriteHistory);
        assert_eq!(report.notes.last().unwrap().kind, NoteKind::BuiltinWriters);
    }

    #[test]
    fn requested_apis_are_judged_by_their_removal_release() {
        let settings = ScanSettings::new(Targets::kubernetes(KubeVersion::new(1, 21), None));
        let judge = ClusterJudge::new(Catalog::embedded(), settings);
        let metrics = "apiserver_requested_deprecated_apis{group=\"extensions\",removed_release=\"1.22\",resource=\"ingresses\",subresource=\"\",version=\"v1beta1\"} 1\n\
                       apiserver_requested_deprecated_apis{group=\"flowcontrol.apiserver.k8s.io\",removed_release=\"1.21\",resource=\"flowschemas\",subresource=\"\",version=\"v1alpha1\"} 1\n";
        let mut out = ClusterOutcome::default();
        judge.metrics(metrics, &mut out);
        let statuses: Vec<_> = out.requested_apis.iter().map(|r| r.status).collect();
        assert_eq!(statuses, [ApiStatus::Deprecated, ApiStatus::Removed]);
    }
}
