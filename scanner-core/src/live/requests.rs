//! The asynchronous half of a cluster scan: which requests to make, in which order, with how
//! many in flight. Everything a response means is decided by the judge ([`super::cluster`]).

use std::collections::{BTreeSet, HashSet};
use std::fmt::Write as _;

use futures::stream::{self, StreamExt};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use serde_json::value::RawValue;

use super::client::{Connection, RequestError, Response};
use super::cluster::{ClusterJudge, ClusterOutcome, NotChecked, UnavailableApi, resource_ref};
use super::crd::DeprecatedCrd;
use super::discovery::{ServedResource, parse_resource_list, plan_object_lists};
use super::error::LiveError;
use super::helm::{self, HelmRelease};
use super::progress::Progress;
use crate::checks::{ClusterState, Endpoint, Resource, projection};
use crate::inspect::health::{ReadyzCheck, parse_readyz};
use crate::inspect::metrics::requested_deprecated_apis;
use crate::{Catalog, ErrorKind, WarningKind};

type Result<T, E = LiveError> = std::result::Result<T, E>;

/// A list whose continue token expires this many times in a row is given up on: the
/// server is compacting faster than the scan can read.
const MAX_LIST_RESUMES: u32 = 5;

/// What to read.
#[derive(Debug, Clone)]
pub(crate) struct Options {
    pub namespace: Option<String>,
    pub concurrency: usize,
    pub page_size: u32,
    /// Discovery, object lists, CRDs and `/metrics`; off for a Helm-only scan.
    pub objects: bool,
    pub helm: bool,
    pub all_revisions: bool,
    /// The endpoints besides `/metrics` the selected checks read (`/readyz?verbose`).
    pub endpoints: BTreeSet<Endpoint>,
}

/// Reads `/version`: the server's `gitVersion`. Errors when the cluster cannot be scanned
/// at all (unreachable, bad credentials).
pub(crate) async fn server_version(
    conn: &Connection,
    out: &mut ClusterOutcome,
) -> Result<Option<String>> {
    let version = fetch(conn, "/version").await?;
    match version.status {
        200 => Ok(serde_json::from_slice::<Value>(&version.body)
            .ok()
            .and_then(|v| v.get("gitVersion")?.as_str().map(str::to_owned))),
        // Some clusters hide /version from unprivileged users; the scan can go on.
        403 => {
            out.forbidden(NotChecked::new("/version", "get", None), &version.message());
            Ok(None)
        }
        _ => Err(unusable(conn, "/version", &version)),
    }
}

/// Runs the scan after [`server_version`]. Errors only when the cluster cannot be scanned at
/// all; everything narrower is recorded in the outcome.
pub(crate) async fn scan(
    conn: &Connection,
    judge: &ClusterJudge<'_>,
    catalog: &Catalog,
    opts: &Options,
    needs: &BTreeSet<Resource>,
    progress: &Progress,
    mut out: ClusterOutcome,
) -> Result<(ClusterOutcome, ClusterState)> {
    let mut state = ClusterState::new();
    if opts.objects && opts.namespace.is_none() {
        // Read before listing: the lists below may themselves go through deprecated
        // versions (a resource served only there), which the metric would then count.
        let metrics = fetch(conn, "/metrics").await?;
        record_warnings("/metrics", &metrics, &mut out);
        match metrics.status {
            200 => {
                let text = String::from_utf8_lossy(&metrics.body);
                judge.metrics(&text, &mut out);
                state.set_requested_apis(Ok(requested_deprecated_apis(&text).0));
            }
            status => {
                failed(conn, "/metrics", None, "get", &metrics, &mut out);
                state.set_requested_apis(Err(endpoint_failure(status)));
            }
        }
    } else if opts.namespace.is_some() {
        state.set_requested_apis(Err(
            "not read: the scan is limited to one namespace".to_owned()
        ));
    }
    if opts.endpoints.contains(&Endpoint::Readyz) {
        state.set_readyz(readyz(conn, &mut out).await?);
    }

    if opts.objects {
        let resources = discover(conn, catalog, opts, &mut out).await?;
        judge.served(&resources, &mut out);
        let mut reads = state_lists(&resources, needs, opts, &mut state);
        let mut plans = plan_object_lists(&resources, catalog);
        if let Some(ns) = &opts.namespace {
            let skipped = plans.iter().filter(|p| !p.list.namespaced).count();
            plans.retain(|p| p.list.namespaced);
            if skipped > 0 {
                out.warning(
                    "--namespace",
                    WarningKind::NotServed,
                    format!(
                        "{skipped} cluster-scoped resource(s), CRDs and /metrics were not read: the scan is limited to namespace {ns}"
                    ),
                );
            }
        }
        // A list both the write-history judge and the checks need, through the same version,
        // is read once: each item is parsed into the judge's slim view and the checks'
        // projection.
        let plans: Vec<_> = plans
            .into_iter()
            .map(|plan| {
                let shared = reads
                    .iter()
                    .position(|(r, s)| {
                        // A list narrowed to one namespace is not the judge's cluster-wide one.
                        r.namespace().is_none()
                            && s.api_version == plan.list.api_version
                            && s.resource == plan.list.resource
                    })
                    .map(|i| reads.remove(i).0);
                (plan, shared)
            })
            .collect();
        let (lists, _) = read_state(conn, reads, opts, false, &mut out).await?;
        for (resource, objects) in lists {
            keep_state(&mut state, resource, objects);
        }
        progress.set_total(plans.len() as u64);
        let outcomes: Vec<(ClusterOutcome, Option<StateRead>)> = stream::iter(plans)
            .map(|(plan, shared)| async move {
                let mut part = ClusterOutcome::default();
                let kept = list_objects(conn, judge, &plan.list, shared, opts, &mut part, progress)
                    .await?;
                progress.resource_done();
                Ok::<_, LiveError>((part, kept))
            })
            .buffer_unordered(opts.concurrency)
            .collect::<Vec<_>>()
            .await
            .into_iter()
            .collect::<Result<_>>()?;
        for (part, kept) in outcomes {
            out.merge(part);
            if let Some((resource, objects)) = kept {
                keep_state(&mut state, resource, objects);
            }
        }
        // Only the CRD list says which custom resources may have been written through a
        // deprecated version, so they are listed after it.
        let crds = std::mem::take(&mut out.deprecated_crds);
        let lists = custom_resource_lists(&resources, crds);
        let parts: Vec<Result<ClusterOutcome>> = stream::iter(lists)
            .map(|(crd, served)| async move {
                let mut part = ClusterOutcome::default();
                let what = resource_ref(&served);
                let path = collection_path(&served, opts.namespace.as_deref());
                part.stats.resources_listed += 1;
                let request = ListRequest {
                    what: &what,
                    path: &path,
                    selectors: "",
                    object: Some(ObjectView::Slim),
                    state: None,
                };
                list_pages(conn, &request, opts, &mut part, |items, part| {
                    progress.add_objects(items.len() as u64);
                    let objects: Vec<Value> = items.into_iter().filter_map(|i| i.object).collect();
                    judge.custom_resources(&crd, &served, &objects, part);
                })
                .await?;
                Ok(part)
            })
            .buffer_unordered(opts.concurrency)
            .collect()
            .await;
        for part in parts {
            out.merge(part?);
        }
    }

    if opts.helm {
        helm_releases(conn, judge, opts, &mut out).await?;
    }
    Ok((out, state))
}

/// Turns the requests that needed retries into warnings (those that never succeeded are
/// already errors of their own) and counts them.
pub(crate) fn record_retries(conn: &Connection, out: &mut ClusterOutcome) {
    for r in conn.take_retried() {
        out.stats.request_retries += u64::from(r.attempts - 1);
        if r.recovered {
            out.warning(
                &r.path,
                WarningKind::Retried,
                format!(
                    "GET {} succeeded on attempt {} after {}",
                    r.path,
                    r.attempts,
                    r.causes.join(", ")
                ),
            );
        }
    }
}

/// Why an endpoint's answer cannot be used, for the checks that read it.
fn endpoint_failure(status: u16) -> String {
    match status {
        403 => "forbidden: the scan needs get on this non-resource URL".to_owned(),
        404 => "not served (404)".to_owned(),
        s => format!("the API server answered HTTP {s} (see the errors)"),
    }
}

/// The API server's readiness checks. A failing check answers 500 with the verbose list,
/// which is what the check reads; only a body that lists no checks is an error.
async fn readyz(
    conn: &Connection,
    out: &mut ClusterOutcome,
) -> Result<std::result::Result<Vec<ReadyzCheck>, String>> {
    let Some(r) = fetch_part(conn, "/readyz", "/readyz?verbose", out).await? else {
        return Ok(Err("no answer (see the errors)".to_owned()));
    };
    record_warnings("/readyz", &r, out);
    Ok(match r.status {
        200 | 500 => parse_readyz(&String::from_utf8_lossy(&r.body)).map_err(|why| {
            out.error(
                "/readyz",
                ErrorKind::Response,
                format!("not checked: GET /readyz?verbose: {why}"),
            );
            why
        }),
        status => {
            failed(conn, "/readyz", None, "get", &r, out);
            Err(endpoint_failure(status))
        }
    })
}

/// A GET whose failure to get any answer ends the scan: nothing else would work either.
async fn fetch(conn: &Connection, path: &str) -> Result<Response> {
    let response = conn
        .get(path)
        .await
        .map_err(|e| unreachable_error(conn, path, &e))?;
    if response.status == 401 {
        return Err(LiveError::Unauthorized {
            server: conn.server.clone(),
            context: conn.context.clone(),
            message: response.message(),
        });
    }
    Ok(response)
}

/// A GET whose failure is recorded against `what` and ends only that part of the scan
/// (`None`); a 401 still ends the scan.
async fn fetch_part(
    conn: &Connection,
    what: &str,
    path: &str,
    out: &mut ClusterOutcome,
) -> Result<Option<Response>> {
    match conn.get(path).await {
        Ok(r) if r.status == 401 => fetch(conn, path).await.map(Some),
        Ok(r) => Ok(Some(r)),
        Err(e) => {
            out.error(
                what,
                ErrorKind::Connection,
                format!(
                    "not checked: GET {}: {e}",
                    path.split('?').next().unwrap_or(path)
                ),
            );
            Ok(None)
        }
    }
}

fn unreachable_error(conn: &Connection, path: &str, e: &RequestError) -> LiveError {
    match e {
        RequestError::Timeout(_) => LiveError::NoAnswer {
            server: conn.server.clone(),
            context: conn.context.clone(),
            path: path.to_owned(),
            reason: e.to_string(),
        },
        RequestError::Connection { .. } => LiveError::Unreachable {
            server: conn.server.clone(),
            context: conn.context.clone(),
            reason: e.to_string(),
        },
    }
}

fn unusable(conn: &Connection, path: &str, r: &Response) -> LiveError {
    LiveError::Unusable {
        server: conn.server.clone(),
        context: conn.context.clone(),
        path: path.to_owned(),
        status: r.status,
        message: r.message(),
    }
}

/// Records a non-2xx answer: 403 as a missing permission, 404 as not served, others as
/// errors. Never fatal except 401 (handled in [`fetch`]).
fn failed(
    conn: &Connection,
    resource: &str,
    namespace: Option<&str>,
    verb: &str,
    r: &Response,
    out: &mut ClusterOutcome,
) {
    match r.status {
        403 => out.forbidden(
            NotChecked::new(resource, verb, namespace.map(str::to_owned)),
            &r.message(),
        ),
        404 => out.warning(
            resource,
            WarningKind::NotServed,
            format!("not served (404): {}", r.message()),
        ),
        s => out.error(
            resource,
            if s >= 500 {
                ErrorKind::Unavailable
            } else {
                ErrorKind::Response
            },
            format!(
                "not checked: the API server at {} answered HTTP {s}{}: {}",
                conn.server,
                if r.attempts > 1 {
                    format!(" (after {} attempts)", r.attempts)
                } else {
                    String::new()
                },
                r.message()
            ),
        ),
    }
}

fn record_warnings(what: &str, r: &Response, out: &mut ClusterOutcome) {
    for w in &r.warnings {
        out.warning(
            what,
            WarningKind::ServerWarning,
            format!("the API server warns: {w}"),
        );
    }
}

/// Every served group/version/resource: `/api`, `/apis`, then each group version (all of
/// them, not only the preferred one: old versions are the point).
async fn discover(
    conn: &Connection,
    catalog: &Catalog,
    opts: &Options,
    out: &mut ClusterOutcome,
) -> Result<Vec<ServedResource>> {
    let mut group_versions: Vec<String> = Vec::new();
    let api = fetch(conn, "/api").await?;
    match (api.status, serde_json::from_slice::<Value>(&api.body)) {
        (200, Ok(v)) => {
            for version in v["versions"].as_array().into_iter().flatten() {
                if let Some(version) = version.as_str() {
                    group_versions.push(format!("/api/{version}"));
                }
            }
        }
        (200, Err(e)) => out.error("/api", ErrorKind::Response, format!("not valid JSON: {e}")),
        _ => failed(conn, "/api", None, "get", &api, out),
    }
    let apis = fetch(conn, "/apis").await?;
    match (apis.status, serde_json::from_slice::<Value>(&apis.body)) {
        (200, Ok(v)) => {
            for group in v["groups"].as_array().into_iter().flatten() {
                for version in group["versions"].as_array().into_iter().flatten() {
                    if let Some(gv) = version["groupVersion"].as_str() {
                        group_versions.push(format!("/apis/{gv}"));
                    }
                }
            }
        }
        (200, Err(e)) => out.error("/apis", ErrorKind::Response, format!("not valid JSON: {e}")),
        _ => failed(conn, "/apis", None, "get", &apis, out),
    }
    group_versions.sort();
    group_versions.dedup();

    let answers: Vec<Result<(String, Option<Response>, ClusterOutcome)>> =
        stream::iter(group_versions)
            .map(|path| async move {
                let mut part = ClusterOutcome::default();
                let r = fetch_part(conn, &path, &path, &mut part).await?;
                Ok((path, r, part))
            })
            .buffer_unordered(opts.concurrency)
            .collect()
            .await;
    let mut resources = Vec::new();
    for answer in answers {
        let (path, r, part) = answer?;
        out.merge(part);
        let Some(r) = r else { continue };
        record_warnings(&path, &r, out);
        if r.status != 200 {
            if r.status >= 500 {
                // Typically an aggregated API (metrics.k8s.io) whose backing service is down.
                unavailable_api(catalog, &path, &r, out);
            } else {
                failed(conn, &path, None, "get", &r, out);
            }
            continue;
        }
        match serde_json::from_slice::<Value>(&r.body)
            .map_err(|e| format!("not valid JSON: {e}"))
            .and_then(|v| parse_resource_list(&path, &v).map_err(|e| e.reason))
        {
            Ok(list) => resources.extend(list),
            Err(reason) => out.error(&path, ErrorKind::Response, reason),
        }
    }
    resources.sort();
    resources.dedup();
    Ok(resources)
}

/// A group version whose discovery answered 5xx. When the catalog knows deprecated or
/// removed versions of its group, objects the scan must judge may be behind it: an error (the
/// scan is incomplete). Otherwise nothing the scan needs is missing; the API being down is a
/// readiness matter (EXT002 reports the `APIService`), so it is a warning, and recorded.
fn unavailable_api(catalog: &Catalog, path: &str, r: &Response, out: &mut ClusterOutcome) {
    let api_version = path
        .strip_prefix("/apis/")
        .or_else(|| path.strip_prefix("/api/"))
        .unwrap_or(path);
    let group = api_version.rsplit_once('/').map_or("", |(g, _)| g);
    let versions_with_history: BTreeSet<&str> = catalog
        .entries()
        .iter()
        .filter(|e| e.gvk.group() == group && (e.deprecated_in.is_some() || e.removed_in.is_some()))
        .map(|e| e.gvk.api_version.as_str())
        .collect();
    let status = r.status;
    let message = r.message();
    out.unavailable_apis.push(UnavailableApi {
        api_version: api_version.to_owned(),
        status,
        message: message.clone(),
    });
    if versions_with_history.is_empty() {
        out.warning(
            path,
            WarningKind::ApiUnavailable,
            format!(
                "discovery failed with HTTP {status} ({message}); the catalog knows no deprecated or removed version of {}, so the scan needed nothing from this API (an unavailable APIService is a readiness matter: see EXT002)",
                if group.is_empty() { "the core group" } else { group }
            ),
        );
    } else {
        out.error(
            path,
            ErrorKind::Unavailable,
            format!(
                "discovery failed with HTTP {status} ({message}); the resources of this API were not checked, and the catalog knows versions of its group that are deprecated or removed ({})",
                versions_with_history.into_iter().collect::<Vec<_>>().join(", ")
            ),
        );
    }
}

/// The custom resources to list, each through the served version its CRD does not mark
/// deprecated, so the list is no deprecated request of its own.
fn custom_resource_lists(
    served: &[ServedResource],
    mut crds: Vec<DeprecatedCrd>,
) -> Vec<(DeprecatedCrd, ServedResource)> {
    crds.sort();
    crds.dedup();
    let mut lists = Vec::new();
    for crd in crds {
        let mut candidates = served
            .iter()
            .filter(|r| r.group() == crd.group && r.resource == crd.plural && r.listable());
        // With no served version left undeprecated, one of them: the server's own warning
        // on that list is recorded like any other.
        let found = match &crd.list_through {
            Some(v) => candidates.find(|r| r.api_version == *v),
            None => candidates.next(),
        };
        if let Some(r) = found {
            lists.push((crd, r.clone()));
        }
    }
    lists
}

/// The URL of a resource's collection.
fn collection_path(resource: &ServedResource, namespace: Option<&str>) -> String {
    let mut path = if resource.group().is_empty() {
        format!("/api/{}", resource.api_version)
    } else {
        format!("/apis/{}", resource.api_version)
    };
    if let (true, Some(ns)) = (resource.namespaced, namespace) {
        let _ = write!(path, "/namespaces/{ns}");
    }
    let _ = write!(path, "/{}", resource.resource);
    path
}

/// A list page with its items left unparsed, so each item can fail on its own.
#[derive(Deserialize)]
struct Page<'a> {
    #[serde(default)]
    metadata: PageMeta,
    #[serde(borrow)]
    items: Option<Vec<&'a RawValue>>,
}

#[derive(Deserialize, Default)]
struct PageMeta {
    #[serde(rename = "continue")]
    next: Option<String>,
}

/// The part of an object that tells how it was written. Everything else (specs, and
/// `fieldsV1`, the bulk of managed fields) is skipped while parsing.
#[derive(Deserialize, Serialize)]
struct Slim {
    metadata: SlimMeta,
}

#[derive(Deserialize, Serialize)]
struct SlimMeta {
    #[serde(skip_serializing_if = "Option::is_none")]
    name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    namespace: Option<String>,
    #[serde(rename = "managedFields", skip_serializing_if = "Option::is_none")]
    managed_fields: Option<Vec<SlimManager>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    annotations: Option<SlimAnnotations>,
    #[serde(skip_serializing_if = "Option::is_none")]
    labels: Option<SlimLabels>,
}

/// The one label the judge reads: the aggregator's mark on `APIServices` it registers itself.
#[derive(Deserialize, Serialize)]
struct SlimLabels {
    #[serde(
        rename = "kube-aggregator.kubernetes.io/automanaged",
        skip_serializing_if = "Option::is_none"
    )]
    automanaged: Option<String>,
}

#[derive(Deserialize, Serialize)]
struct SlimManager {
    #[serde(skip_serializing_if = "Option::is_none")]
    manager: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    operation: Option<String>,
    #[serde(rename = "apiVersion", skip_serializing_if = "Option::is_none")]
    api_version: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    time: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    subresource: Option<String>,
}

#[derive(Deserialize, Serialize)]
struct SlimAnnotations {
    #[serde(
        rename = "kubectl.kubernetes.io/last-applied-configuration",
        skip_serializing_if = "Option::is_none"
    )]
    last_applied: Option<String>,
    /// `upcheck.io/ignore` (the live inline-suppression test in scanner-cli's tests/ci.rs fails
    /// if this drifts from `crate::suppress::IGNORE_ANNOTATION`).
    #[serde(rename = "upcheck.io/ignore", skip_serializing_if = "Option::is_none")]
    ignore: Option<String>,
}

/// The key a list is ordered by (etcd key order): `namespace/name`, or `name`.
fn list_key(item: &Value) -> String {
    let name = item
        .pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or("");
    match item.pointer("/metadata/namespace").and_then(Value::as_str) {
        Some(ns) => format!("{ns}/{name}"),
        None => name.to_owned(),
    }
}

/// One collection to list.
#[derive(Clone, Copy)]
struct ListRequest<'a> {
    /// How the report names it (`ingresses.networking.k8s.io`).
    what: &'a str,
    /// The collection URL path.
    path: &'a str,
    /// Label and field selectors, as a query string.
    selectors: &'a str,
    /// The view of each object for the write-history judge or Helm, if any.
    object: Option<ObjectView>,
    /// The resource whose projection the checks keep of each object, if any.
    state: Option<Resource>,
}

/// How much of an object the judge (or Helm) reads.
#[derive(Clone, Copy, PartialEq, Eq)]
enum ObjectView {
    /// Names, managed fields and the annotations and label the judge reads ([`Slim`]).
    Slim,
    /// The whole object (CRDs, Helm records).
    Full,
}

/// One list item, parsed into the views the request asked for.
struct Item {
    object: Option<Value>,
    state: Option<Value>,
}

impl Item {
    /// The key a list is ordered by, from whichever view was parsed (both keep the name).
    fn key(&self) -> String {
        self.object
            .as_ref()
            .or(self.state.as_ref())
            .map(list_key)
            .unwrap_or_default()
    }
}

/// Parses one raw list item into the requested views.
fn parse_item(
    raw: &RawValue,
    view: Option<ObjectView>,
    state: Option<Resource>,
) -> Result<Item, serde_json::Error> {
    let object = match view {
        None => None,
        Some(ObjectView::Full) => Some(serde_json::from_str(raw.get())?),
        // The slim view when it fits; the full object when some field has an unexpected
        // type, so evidence parsing can report exactly what is wrong.
        Some(ObjectView::Slim) => Some(
            serde_json::from_str::<Slim>(raw.get())
                .and_then(serde_json::to_value)
                .or_else(|_| serde_json::from_str(raw.get()))?,
        ),
    };
    // Built from the text, so fields no reader needs are never allocated.
    let state = state
        .map(|r| projection::parse(raw.get(), projection::keep(r)))
        .transpose()?;
    Ok(Item { object, state })
}

/// Reads every page of a collection, handing each page's items to `on_page`. A 410 for an
/// expired continue token resumes with the token the server sends along (the rest of the
/// list, from a newer snapshot); without one, the list restarts and skips what was seen.
async fn list_pages(
    conn: &Connection,
    list: &ListRequest<'_>,
    opts: &Options,
    out: &mut ClusterOutcome,
    mut on_page: impl FnMut(Vec<Item>, &mut ClusterOutcome),
) -> Result<bool> {
    let ListRequest {
        what,
        path,
        selectors,
        object,
        state,
    } = *list;
    let mut next: Option<String> = None;
    let mut resumes = 0u32;
    let mut last_key: Option<String> = None;
    let mut skip_through: Option<String> = None;
    // Continue tokens of this reading of the list; a repeat means a loop.
    let mut tokens_seen: HashSet<String> = HashSet::new();
    loop {
        let mut url = format!("{path}?{selectors}");
        if !selectors.is_empty() {
            url.push('&');
        }
        let _ = write!(url, "limit={}", opts.page_size);
        if let Some(token) = &next {
            let _ = write!(url, "&continue={}", encode_query(token));
        }
        let Some(r) = fetch_part(conn, what, &url, out).await? else {
            return Ok(false);
        };
        record_warnings(path, &r, out);
        match r.status {
            200 => {}
            410 if next.is_some() => {
                resumes += 1;
                out.stats.list_resumes += 1;
                if resumes > MAX_LIST_RESUMES {
                    out.error(
                        what,
                        ErrorKind::Response,
                        format!("the list expired {MAX_LIST_RESUMES} times in a row; not all objects were checked"),
                    );
                    return Ok(false);
                }
                let token = serde_json::from_slice::<Value>(&r.body).ok().and_then(|v| {
                    v.pointer("/metadata/continue")?
                        .as_str()
                        .filter(|t| !t.is_empty())
                        .map(str::to_owned)
                });
                let how = if token.is_some() {
                    "continued from a newer snapshot"
                } else {
                    skip_through.clone_from(&last_key);
                    "restarted, skipping objects already read"
                };
                out.warning(
                    what,
                    WarningKind::ListResumed,
                    format!("the list's continue token expired (410 Gone); the list was {how}"),
                );
                // A new snapshot (or a restart) hands out tokens afresh.
                tokens_seen.clear();
                next = token;
                continue;
            }
            // An optional controller's objects we may not read: the checks that need them
            // are "not run", the scan is not incomplete for it.
            403 | 404 if state.is_some_and(Resource::optional) => return Ok(false),
            _ => {
                // The namespace the path lists in (`--namespace`, or the resource's own).
                let namespace = path
                    .split_once("/namespaces/")
                    .and_then(|(_, rest)| rest.split('/').next());
                failed(conn, what, namespace, "list", &r, out);
                return Ok(false);
            }
        }
        let page: Page<'_> = match serde_json::from_slice(&r.body) {
            Ok(p) => p,
            Err(e) => {
                out.error(
                    what,
                    ErrorKind::Response,
                    format!("a list page is not valid JSON: {e}"),
                );
                return Ok(false);
            }
        };
        let Some(raw_items) = page.items else {
            out.error(
                what,
                ErrorKind::Response,
                "a list page has no items".to_owned(),
            );
            return Ok(false);
        };
        out.stats.pages += 1;
        let mut items = Vec::with_capacity(raw_items.len());
        for raw in raw_items {
            match parse_item(raw, object, state) {
                Ok(item) => items.push(item),
                Err(e) => out.error(
                    what,
                    ErrorKind::Response,
                    format!("an object in the list is not valid JSON: {e}"),
                ),
            }
        }
        if let Some(skip) = &skip_through {
            items.retain(|i| i.key().as_str() > skip.as_str());
        }
        if let Some(last) = items.last() {
            last_key = Some(last.key());
        }
        on_page(items, out);
        let following = page.metadata.next.filter(|t| !t.is_empty());
        if let Some(token) = &following
            && !tokens_seen.insert(token.clone())
        {
            // A server (or proxy) that hands back a token it sent before would loop forever.
            out.error(
                what,
                ErrorKind::Response,
                "the server sent a continue token it had sent before; the list was stopped and not all objects were checked".to_owned(),
            );
            return Ok(false);
        }
        next = following;
        if next.is_none() {
            return Ok(true);
        }
        resumes = 0;
    }
}

/// One list read for the state: its objects (when complete), what it recorded, and the API
/// versions its objects were written through.
type StateList = (
    Resource,
    Option<Vec<Value>>,
    ClusterOutcome,
    BTreeSet<String>,
);

/// The lists the readiness checks need, each through the most preferred version the server
/// serves; what cannot be read is marked in `state` with the reason.
fn state_lists(
    served: &[ServedResource],
    needs: &BTreeSet<Resource>,
    opts: &Options,
    state: &mut ClusterState,
) -> Vec<(Resource, ServedResource)> {
    let mut reads = Vec::new();
    for &resource in needs {
        let found = resource.api_versions().iter().find_map(|v| {
            served
                .iter()
                .find(|s| s.api_version == *v && s.resource == resource.name())
        });
        match found {
            Some(_)
                if resource
                    .namespace()
                    .zip(opts.namespace.as_deref())
                    .is_some_and(|(own, limit)| own != limit) =>
            {
                state.unavailable_because(
                    resource,
                    format!(
                        "not read: kept in namespace {}, and the scan is limited to namespace {}",
                        resource.namespace().unwrap_or_default(),
                        opts.namespace.as_deref().unwrap_or_default()
                    ),
                );
            }
            Some(s) if opts.namespace.is_some() && !s.namespaced => state.unavailable_because(
                resource,
                format!(
                    "not read: cluster-scoped, and the scan is limited to namespace {}",
                    opts.namespace.as_deref().unwrap_or_default()
                ),
            ),
            Some(s) => reads.push((resource, s.clone())),
            // No Flux or Argo CD installed: none of their objects.
            None if resource.optional() => state.set(resource, Vec::new()),
            None => state.unavailable_because(resource, "not served by this cluster"),
        }
    }
    reads
}

/// A state list as read: the resource, and its objects when the list was complete.
type StateRead = (Resource, Option<Vec<Value>>);

/// Records a state list as read: its objects, or why the checks cannot use it.
fn keep_state(state: &mut ClusterState, resource: Resource, objects: Option<Vec<Value>>) {
    match objects {
        Some(objects) => state.set_projected(resource, objects),
        None if resource.optional() => {
            state.unavailable_because(resource, "could not be listed (forbidden or not found)");
        }
        None => {
            state.unavailable_because(resource, "could not be read completely (see the errors)");
        }
    }
}

/// Reads state lists concurrently: each list's objects (when complete) and the API versions
/// objects were written through (for snapshots, `keep_history`).
async fn read_state(
    conn: &Connection,
    reads: Vec<(Resource, ServedResource)>,
    opts: &Options,
    keep_history: bool,
    out: &mut ClusterOutcome,
) -> Result<(Vec<StateRead>, BTreeSet<String>)> {
    let lists: Vec<Result<StateList>> = stream::iter(reads)
        .map(|(resource, served)| async move {
            let mut part = ClusterOutcome::default();
            let what = resource_ref(&served);
            // A resource kept in one namespace is listed there only.
            let namespace = resource.namespace().or(opts.namespace.as_deref());
            let path = collection_path(&served, namespace);
            let request = ListRequest {
                what: &what,
                path: &path,
                selectors: "",
                // Snapshots record what objects were written through: the slim view's
                // managed fields, read beside the projection (which drops them).
                object: keep_history.then_some(ObjectView::Slim),
                state: Some(resource),
            };
            let mut objects = Vec::new();
            let mut used: BTreeSet<String> = BTreeSet::new();
            let complete = list_pages(conn, &request, opts, &mut part, |items, _| {
                for item in items {
                    for f in item
                        .object
                        .as_ref()
                        .and_then(|o| o.pointer("/metadata/managedFields"))
                        .and_then(Value::as_array)
                        .into_iter()
                        .flatten()
                    {
                        if let Some(v) = f.get("apiVersion").and_then(Value::as_str)
                            && !used.contains(v)
                        {
                            used.insert(v.to_owned());
                        }
                    }
                    objects.extend(item.state);
                }
            })
            .await?;
            Ok((resource, complete.then_some(objects), part, used))
        })
        .buffer_unordered(opts.concurrency)
        .collect()
        .await;
    let mut used_versions = BTreeSet::new();
    let mut read = Vec::new();
    for list in lists {
        let (resource, objects, part, used) = list?;
        used_versions.extend(used);
        out.merge(part);
        read.push((resource, objects));
    }
    Ok((read, used_versions))
}

/// Lists one resource and judges every object's write history; with `keep`, also returns the
/// projected objects for that readiness list (`None` inside when the list was incomplete).
async fn list_objects(
    conn: &Connection,
    judge: &ClusterJudge<'_>,
    resource: &ServedResource,
    keep: Option<Resource>,
    opts: &Options,
    out: &mut ClusterOutcome,
    progress: &Progress,
) -> Result<Option<StateRead>> {
    let what = resource_ref(resource);
    let path = collection_path(resource, opts.namespace.as_deref());
    let is_crd = resource.resource == "customresourcedefinitions"
        && resource.group() == "apiextensions.k8s.io";
    out.stats.resources_listed += 1;
    let request = ListRequest {
        what: &what,
        path: &path,
        selectors: "",
        object: Some(if is_crd {
            ObjectView::Full
        } else {
            ObjectView::Slim
        }),
        state: keep,
    };
    let mut kept = Vec::new();
    let complete = list_pages(conn, &request, opts, out, |items, out| {
        progress.add_objects(items.len() as u64);
        let mut objects = Vec::with_capacity(items.len());
        for item in items {
            objects.extend(item.object);
            kept.extend(item.state);
        }
        if is_crd {
            for crd in &objects {
                judge.crd(crd, out);
            }
        }
        judge.objects(resource, &objects, out);
    })
    .await?;
    Ok(keep.map(|r| (r, complete.then_some(kept))))
}

/// What a snapshot reads: served APIs, the state lists, and every Helm release record.
pub(crate) async fn snapshot_read(
    conn: &Connection,
    catalog: &Catalog,
    opts: &Options,
    out: &mut ClusterOutcome,
) -> Result<(
    Vec<ServedResource>,
    ClusterState,
    BTreeSet<String>,
    Vec<HelmRelease>,
)> {
    let resources = discover(conn, catalog, opts, out).await?;
    // Snapshots compare the cluster's own objects, not GitOps controllers'.
    let needs: BTreeSet<Resource> = Resource::ALL
        .into_iter()
        .filter(|r| !r.optional())
        .collect();
    let mut state = ClusterState::new();
    let reads = state_lists(&resources, &needs, opts, &mut state);
    let (lists, used) = read_state(conn, reads, opts, true, out).await?;
    for (resource, objects) in lists {
        keep_state(&mut state, resource, objects);
    }
    let releases = helm_records(conn, opts, out).await?;
    Ok((resources, state, used, releases))
}

/// Helm 3 release records: Secrets of type `helm.sh/release.v1` and `ConfigMaps` labelled
/// `owner=helm`. Secrets are only ever listed with both selectors.
async fn helm_releases(
    conn: &Connection,
    judge: &ClusterJudge<'_>,
    opts: &Options,
    out: &mut ClusterOutcome,
) -> Result<()> {
    let releases = helm_records(conn, opts, out).await?;
    for release in helm::select_revisions(releases, opts.all_revisions) {
        judge.helm_release(&release, out);
    }
    Ok(())
}

/// Every Helm release record the cluster stores, decoded.
async fn helm_records(
    conn: &Connection,
    opts: &Options,
    out: &mut ClusterOutcome,
) -> Result<Vec<HelmRelease>> {
    let base = match &opts.namespace {
        Some(ns) => format!("/api/v1/namespaces/{ns}"),
        None => "/api/v1".to_owned(),
    };
    let mut releases: Vec<HelmRelease> = Vec::new();
    let sources = [
        (
            "secrets",
            "labelSelector=owner%3Dhelm&fieldSelector=type%3Dhelm.sh%2Frelease.v1",
        ),
        ("configmaps", "labelSelector=owner%3Dhelm"),
    ];
    for (resource, selectors) in sources {
        let path = format!("{base}/{resource}");
        let mut seen: BTreeSet<String> = BTreeSet::new();
        let request = ListRequest {
            what: resource,
            path: &path,
            selectors,
            object: Some(ObjectView::Full),
            state: None,
        };
        list_pages(conn, &request, opts, out, |items, out| {
            for item in items.iter().filter_map(|i| i.object.as_ref()) {
                out.stats.helm_records += 1;
                // Secrets carry no kind in a list; the source says which storage it is.
                let storage = if resource == "secrets" {
                    Some(helm::Storage::Secret)
                } else {
                    helm::is_release_record(item)
                };
                let Some(storage) = storage else { continue };
                if !seen.insert(list_key(item)) {
                    continue;
                }
                match helm::decode_release(item, storage) {
                    Ok(r) => releases.push(r),
                    Err(e) => out.error(&e.object, ErrorKind::HelmRecord, e.reason),
                }
            }
        })
        .await?;
    }
    Ok(releases)
}

/// Percent-encodes a continue token for a query string (tokens are base64url, but a server
/// may use any characters).
fn encode_query(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for b in value.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(b));
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}
