//! Judging what a live cluster holds: the synchronous half of a cluster scan.
//!
//! A client (the `upcheck cluster` command, or any tool with its own HTTP stack) fetches
//! discovery documents, list pages, Helm release records, CRDs and `/metrics`, and hands each
//! piece to a [`ClusterJudge`] as it arrives. Each call fills a [`ClusterOutcome`]; outcomes
//! from parallel requests merge in any order, and [`ClusterJudge::finish`] sorts everything
//! into a [`Report`], so the report does not depend on the order responses came back in.
//! Only one page of objects is ever needed at a time. Objects, whether listed or found in a
//! Helm release manifest, are decided by the same judge as files.

use std::collections::BTreeMap;

use api_catalog::{ApiStatus, Catalog, KubeVersion};
use serde_json::Value;

use super::crd::{DeprecatedCrd, deprecated_crd, inspect_crd};
use super::discovery::served_at_risk;
use super::evidence::object_evidence;
use super::helm::HelmRelease;
use super::metrics::requested_deprecated_apis;
use crate::build::{self, Outcome};
pub use crate::judge::is_control_plane_manager;
use crate::judge::{Judge, Subject};
pub use crate::report::{
    ClusterInfo, ClusterSection, ClusterStats, CrdFinding, NotChecked, RequestedApi, ServedApi,
    ServedResource,
};
use crate::report::{
    ErrorKind, Finding, Location, Origin, Report, ScanError, ScanWarning, WarningKind,
};
use crate::settings::ScanSettings;
use crate::source;

/// How many object names a "no write history" warning quotes before it only counts.
const NO_HISTORY_EXAMPLES: usize = 5;

/// Objects the API server makes itself, which no client writes: `ComponentStatus` (computed on
/// every read) and `APIServices` registered for built-in groups and CRDs.
fn made_by_the_apiserver(resource: &ServedResource, item: &Value) -> bool {
    (resource.resource == "componentstatuses" && resource.group().is_empty())
        || item
            .pointer("/metadata/labels/kube-aggregator.kubernetes.io~1automanaged")
            .is_some()
}

/// What some responses contributed to a cluster scan. Merge outcomes in any order.
#[derive(Debug, Default)]
pub struct ClusterOutcome {
    /// Findings, suppressed findings, errors, warnings and counts, as every report has.
    pub common: Outcome,
    /// See [`ClusterSection::served_at_risk`].
    pub served_at_risk: Vec<ServedApi>,
    /// See [`ClusterSection::requested_apis`].
    pub requested_apis: Vec<RequestedApi>,
    /// See [`ClusterSection::crds`].
    pub crds: Vec<CrdFinding>,
    /// See [`ClusterSection::not_checked`].
    pub not_checked: Vec<NotChecked>,
    /// Counts of what the cluster scan read.
    pub stats: ClusterStats,
    /// API group versions whose discovery failed with a server error (an aggregated API
    /// without a working backend), whether or not the scan needed them.
    pub unavailable_apis: Vec<UnavailableApi>,
    /// CRDs with deprecated versions, from the CRD list: whose objects to list next.
    pub deprecated_crds: Vec<DeprecatedCrd>,
    /// Objects without write history, per resource: count and a few names.
    no_history: BTreeMap<String, (u64, Vec<String>)>,
}

impl ClusterOutcome {
    /// Adds `other` to `self`.
    pub fn merge(&mut self, mut other: ClusterOutcome) {
        self.common.merge(other.common);
        self.served_at_risk.append(&mut other.served_at_risk);
        self.requested_apis.append(&mut other.requested_apis);
        self.crds.append(&mut other.crds);
        self.not_checked.append(&mut other.not_checked);
        self.unavailable_apis.append(&mut other.unavailable_apis);
        self.deprecated_crds.append(&mut other.deprecated_crds);
        self.stats.add(&other.stats);
        for (resource, (n, names)) in other.no_history {
            let e = self.no_history.entry(resource).or_default();
            e.0 += n;
            e.1.extend(names);
        }
    }

    /// Records a request the server refused (403): the report says what permission is
    /// missing, and the scan counts as incomplete.
    pub fn forbidden(&mut self, not_checked: NotChecked, server_message: &str) {
        self.common.errors.push(ScanError {
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
        self.common.errors.push(ScanError {
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
        self.common.warnings.push(ScanWarning {
            path: what.to_owned(),
            document: None,
            line: None,
            kind,
            message,
        });
    }

    /// What could not be read (any error makes the scan incomplete).
    pub fn errors(&self) -> &[ScanError] {
        &self.common.errors
    }

    /// Notices.
    pub fn warnings(&self) -> &[ScanWarning] {
        &self.common.warnings
    }
}

/// An API group version that did not answer discovery.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct UnavailableApi {
    /// `metrics.k8s.io/v1beta1`.
    pub api_version: String,
    /// The HTTP status of the discovery answer.
    pub status: u16,
    /// The server's message.
    pub message: String,
}

/// `ingresses.networking.k8s.io`, `pods` (core): how kubectl and RBAC name a resource.
pub fn resource_ref(resource: &ServedResource) -> String {
    match resource.group() {
        "" => resource.resource.clone(),
        g => format!("{}.{g}", resource.resource),
    }
}

/// A listed object's name, namespace and how the report names it
/// (`ingresses.networking.k8s.io/shop/web`).
fn identity(rref: &str, item: &Value) -> (Option<String>, Option<String>, String) {
    let text = |ptr: &str| item.pointer(ptr).and_then(Value::as_str).map(str::to_owned);
    let name = text("/metadata/name");
    let namespace = text("/metadata/namespace");
    let object = match (&namespace, &name) {
        (Some(ns), Some(n)) => format!("{rref}/{ns}/{n}"),
        (None, Some(n)) => format!("{rref}/{n}"),
        _ => format!("{rref}/<unnamed>"),
    };
    (name, namespace, object)
}

/// Counts an object without write history, keeping a few names for the warning.
fn no_history(out: &mut ClusterOutcome, rref: &str, object: String) {
    let e = out.no_history.entry(rref.to_owned()).or_default();
    e.0 += 1;
    if e.1.len() < NO_HISTORY_EXAMPLES {
        e.1.push(object);
    }
}

/// Where a live object is: its name, no document or line.
fn live_location(object: &str) -> Location {
    Location {
        path: object.to_owned(),
        document: 0,
        item: None,
        line: 0,
        document_span: None,
        api_version_span: None,
        api_version_position: None,
    }
}

/// Judges cluster responses against the catalog at the scan's targets.
#[derive(Debug)]
pub struct ClusterJudge<'c> {
    catalog: &'c Catalog,
    settings: ScanSettings,
}

impl<'c> ClusterJudge<'c> {
    /// A judge over `catalog` with `settings` (targets, `only_removed`).
    pub fn new(catalog: &'c Catalog, settings: ScanSettings) -> Self {
        Self { catalog, settings }
    }

    fn judge(&self) -> Judge<'_> {
        Judge {
            catalog: self.catalog,
            targets: &self.settings.targets,
            only_removed: self.settings.only_removed,
            limits: self.settings.parse,
        }
    }

    /// Discovery: every served resource. Records those at risk at the target.
    pub fn served(&self, resources: &[ServedResource], out: &mut ClusterOutcome) {
        out.stats.served_resources += resources.len() as u64;
        out.served_at_risk.extend(served_at_risk(
            resources,
            self.catalog,
            &self.settings.targets,
        ));
    }

    /// One page of a list of `resource`: judges each object by the API versions it was
    /// written through (managed fields, last-applied annotation), never by the version the
    /// list was read at.
    pub fn objects(&self, resource: &ServedResource, items: &[Value], out: &mut ClusterOutcome) {
        let rref = resource_ref(resource);
        let judge = self.judge();
        out.stats.objects += items.len() as u64;
        out.common.stats.objects += items.len() as u64;
        for item in items {
            let (name, namespace, object) = identity(&rref, item);
            if made_by_the_apiserver(resource, item) {
                continue;
            }
            let evidence = object_evidence(item);
            if evidence.is_empty() {
                no_history(out, &rref, object);
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
                let subject = Subject {
                    api_version: using.api_version,
                    kind: resource.kind.clone(),
                    name: name.clone(),
                    namespace: namespace.clone(),
                    location: live_location(&object),
                    parsed: true,
                    origin: Some(Origin::Object {
                        resource: rref.clone(),
                        evidence: using.evidence,
                    }),
                };
                judge.object(subject, || Some(item), &mut out.common);
            }
        }
    }

    /// A CRD (from a list of `customresourcedefinitions`).
    pub fn crd(&self, crd: &Value, out: &mut ClusterOutcome) {
        out.crds.extend(inspect_crd(crd));
        out.deprecated_crds.extend(deprecated_crd(crd));
    }

    /// One page of the custom resources of `crd` (listed as `resource`): each object written
    /// through a version the CRD marks deprecated is a finding with the CRD's own warning,
    /// judged by its write history like any object, never by the version it was read at.
    pub fn custom_resources(
        &self,
        crd: &DeprecatedCrd,
        resource: &ServedResource,
        items: &[Value],
        out: &mut ClusterOutcome,
    ) {
        let Some(target) = self.settings.targets.get("k8s").map(|t| t.target) else {
            return;
        };
        let rref = resource_ref(resource);
        let judge = self.judge();
        out.stats.objects += items.len() as u64;
        out.common.stats.objects += items.len() as u64;
        for item in items {
            let (name, namespace, object) = identity(&rref, item);
            let evidence = object_evidence(item);
            if evidence.is_empty() {
                no_history(out, &rref, object);
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
                let Some((_, warning)) =
                    crd.deprecated.iter().find(|(v, _)| *v == using.api_version)
                else {
                    continue;
                };
                let mut f = Finding::crd_deprecated(
                    &crd.crd,
                    using.api_version,
                    crd.kind.clone(),
                    name.clone(),
                    namespace.clone(),
                    live_location(&object),
                    target,
                    warning.as_deref(),
                    crd.list_through.as_deref(),
                );
                f.origin = Some(Origin::Object {
                    resource: rref.clone(),
                    evidence: using.evidence,
                });
                judge.keep(f, || Some(item), &mut out.common);
            }
        }
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
        let target = self.settings.targets.get("k8s").map(|t| t.target);
        for request in requests {
            let removed: Option<KubeVersion> = request.removed_release.parse().ok();
            let status = match (removed, target) {
                (Some(r), Some(t)) if r <= t => ApiStatus::Removed,
                _ => ApiStatus::Deprecated,
            };
            if self.settings.only_removed && status == ApiStatus::Deprecated {
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

    /// One Helm release revision: its manifest is judged like a file, under the release's
    /// name. Errors name the release and the line, never the manifest's text (a chart may
    /// render Secrets).
    pub fn helm_release(&self, release: &HelmRelease, out: &mut ClusterOutcome) {
        let path = format!(
            "helm:{}/{}.v{}",
            release.namespace, release.name, release.revision
        );
        out.stats.helm_releases_scanned += 1;
        let mut part = Outcome::default();
        match source::decode(&path, release.manifest.as_bytes().to_vec()) {
            Ok(mut decoded) => {
                part.errors.extend(decoded.error.take());
                self.judge().text(&path, &decoded, |_, _| {}, &mut part);
            }
            Err(e) => part.errors.push(e),
        }
        let origin = Origin::Helm {
            release: release.name.clone(),
            namespace: release.namespace.clone(),
            revision: release.revision,
            chart: release.chart.clone(),
            status: release.status.clone(),
            storage: release.storage,
            storage_object: release.storage_object.clone(),
        };
        for f in &mut part.findings {
            f.origin = Some(origin.clone());
        }
        for e in &mut part.errors {
            e.message = format!(
                "the release manifest has a {} error; its text is not shown because it may hold Secret data",
                e.kind.as_str()
            );
        }
        for w in &mut part.warnings {
            "the release manifest has a questionable document (details withheld: it may hold Secret data)".clone_into(&mut w.message);
        }
        out.common.merge(part);
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
        out.stats.control_plane_writes = out.common.control_plane_writes;
        let cluster = ClusterSection {
            info,
            served_at_risk: out.served_at_risk,
            requested_apis: out.requested_apis,
            provider_api_clients: Vec::new(),
            crds: out.crds,
            not_checked: out.not_checked,
            stats: out.stats,
        };
        build::finish(
            self.catalog,
            &self.settings.targets,
            out.common,
            Some(cluster),
        )
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)] // tests fail loudly on purpose
    use super::*;
    use crate::report::NoteKind;
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
