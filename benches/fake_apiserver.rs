//! A generated API server for live-scan benchmarks: HTTP/1.1 on 127.0.0.1, answering
//! discovery and paged lists of `objects` synthetic objects spread over 20 resources.
//!
//! Objects look like real ones (labels, annotations, two field managers with `fieldsV1`, a
//! spec), about 1.5 KB each. One object in 100 also carries a managed-fields entry written
//! through a deprecated version, so the scan has findings to report. Pages are generated on
//! first request and cached, so the server's own work stays out of later iterations.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

/// The served resources: (group, version, resource, kind, namespaced, an older apiVersion
/// the kind was once written through).
pub const RESOURCES: [(&str, &str, &str, &str, bool, &str); 20] = [
    (
        "networking.k8s.io",
        "v1",
        "ingresses",
        "Ingress",
        true,
        "extensions/v1beta1",
    ),
    (
        "networking.k8s.io",
        "v1",
        "ingressclasses",
        "IngressClass",
        false,
        "networking.k8s.io/v1beta1",
    ),
    (
        "networking.k8s.io",
        "v1",
        "networkpolicies",
        "NetworkPolicy",
        true,
        "extensions/v1beta1",
    ),
    ("batch", "v1", "cronjobs", "CronJob", true, "batch/v1beta1"),
    (
        "policy",
        "v1",
        "poddisruptionbudgets",
        "PodDisruptionBudget",
        true,
        "policy/v1beta1",
    ),
    (
        "autoscaling",
        "v2",
        "horizontalpodautoscalers",
        "HorizontalPodAutoscaler",
        true,
        "autoscaling/v2beta2",
    ),
    (
        "rbac.authorization.k8s.io",
        "v1",
        "roles",
        "Role",
        true,
        "rbac.authorization.k8s.io/v1beta1",
    ),
    (
        "rbac.authorization.k8s.io",
        "v1",
        "rolebindings",
        "RoleBinding",
        true,
        "rbac.authorization.k8s.io/v1beta1",
    ),
    (
        "rbac.authorization.k8s.io",
        "v1",
        "clusterroles",
        "ClusterRole",
        false,
        "rbac.authorization.k8s.io/v1beta1",
    ),
    (
        "rbac.authorization.k8s.io",
        "v1",
        "clusterrolebindings",
        "ClusterRoleBinding",
        false,
        "rbac.authorization.k8s.io/v1beta1",
    ),
    (
        "scheduling.k8s.io",
        "v1",
        "priorityclasses",
        "PriorityClass",
        false,
        "scheduling.k8s.io/v1beta1",
    ),
    (
        "storage.k8s.io",
        "v1",
        "storageclasses",
        "StorageClass",
        false,
        "storage.k8s.io/v1beta1",
    ),
    (
        "storage.k8s.io",
        "v1",
        "csidrivers",
        "CSIDriver",
        false,
        "storage.k8s.io/v1beta1",
    ),
    (
        "storage.k8s.io",
        "v1",
        "volumeattachments",
        "VolumeAttachment",
        false,
        "storage.k8s.io/v1beta1",
    ),
    (
        "coordination.k8s.io",
        "v1",
        "leases",
        "Lease",
        true,
        "coordination.k8s.io/v1beta1",
    ),
    (
        "discovery.k8s.io",
        "v1",
        "endpointslices",
        "EndpointSlice",
        true,
        "discovery.k8s.io/v1beta1",
    ),
    (
        "events.k8s.io",
        "v1",
        "events",
        "Event",
        true,
        "events.k8s.io/v1beta1",
    ),
    (
        "node.k8s.io",
        "v1",
        "runtimeclasses",
        "RuntimeClass",
        false,
        "node.k8s.io/v1beta1",
    ),
    (
        "admissionregistration.k8s.io",
        "v1",
        "validatingwebhookconfigurations",
        "ValidatingWebhookConfiguration",
        false,
        "admissionregistration.k8s.io/v1beta1",
    ),
    (
        "flowcontrol.apiserver.k8s.io",
        "v1",
        "flowschemas",
        "FlowSchema",
        false,
        "flowcontrol.apiserver.k8s.io/v1beta3",
    ),
];

struct State {
    objects_per_resource: usize,
    pages: Mutex<HashMap<String, Arc<Vec<u8>>>>,
}

/// A running server; it serves until the process ends.
#[derive(Debug)]
pub struct FakeApiServer {
    /// The port on 127.0.0.1.
    pub port: u16,
}

impl FakeApiServer {
    /// Starts serving `objects` objects (spread evenly over the 20 resources).
    pub fn start(objects: usize) -> std::io::Result<Self> {
        let state = Arc::new(State {
            objects_per_resource: objects.div_ceil(RESOURCES.len()),
            pages: Mutex::new(HashMap::new()),
        });
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let port = listener.local_addr()?.port();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let state = Arc::clone(&state);
                std::thread::spawn(move || serve(stream, &state));
            }
        });
        Ok(Self { port })
    }

    /// Writes a kubeconfig for the server into `dir` and returns its path.
    pub fn kubeconfig(&self, dir: &Path) -> std::io::Result<PathBuf> {
        let path = dir.join("kubeconfig");
        std::fs::write(
            &path,
            format!(
                "apiVersion: v1\nkind: Config\nclusters:\n- name: bench\n  cluster: {{server: http://127.0.0.1:{}}}\ncontexts:\n- name: bench\n  context: {{cluster: bench, user: bench}}\ncurrent-context: bench\nusers:\n- name: bench\n  user: {{token: bench}}\n",
                self.port
            ),
        )?;
        Ok(path)
    }
}

fn serve(stream: TcpStream, state: &State) {
    let Ok(read_half) = stream.try_clone() else {
        return;
    };
    let mut reader = BufReader::new(read_half);
    let mut writer = stream;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        let mut length = 0usize;
        loop {
            let mut header = String::new();
            if reader.read_line(&mut header).unwrap_or(0) == 0 {
                return;
            }
            if header.trim_end().is_empty() {
                break;
            }
            if let Some((name, value)) = header.split_once(':')
                && name.eq_ignore_ascii_case("content-length")
            {
                length = value.trim().parse().unwrap_or(0);
            }
        }
        let mut body = vec![0; length];
        if reader.read_exact(&mut body).is_err() {
            return;
        }
        let target = line.split_whitespace().nth(1).unwrap_or("/").to_owned();
        let (status, body) = answer(state, &target);
        let head = format!(
            "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
            body.len()
        );
        if writer.write_all(head.as_bytes()).is_err() || writer.write_all(&body).is_err() {
            return;
        }
    }
}

fn answer(state: &State, target: &str) -> (u16, Arc<Vec<u8>>) {
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let text = |s: String| (200, Arc::new(s.into_bytes()));
    match path {
        "/version" => text(r#"{"major":"1","minor":"31","gitVersion":"v1.31.4"}"#.to_owned()),
        "/metrics" => text(String::new()),
        "/api" => text(r#"{"kind":"APIVersions","versions":["v1"]}"#.to_owned()),
        "/api/v1" => text(
            r#"{"kind":"APIResourceList","groupVersion":"v1","resources":[{"name":"secrets","namespaced":true,"kind":"Secret","verbs":["list"]},{"name":"configmaps","namespaced":true,"kind":"ConfigMap","verbs":["list"]}]}"#.to_owned(),
        ),
        "/apis" => {
            let mut groups: Vec<&str> = RESOURCES.iter().map(|r| r.0).collect();
            groups.dedup();
            let list: Vec<String> = groups
                .iter()
                .map(|g| {
                    let v = RESOURCES.iter().find(|r| r.0 == *g).map_or("v1", |r| r.1);
                    format!(r#"{{"name":"{g}","versions":[{{"groupVersion":"{g}/{v}","version":"{v}"}}],"preferredVersion":{{"groupVersion":"{g}/{v}","version":"{v}"}}}}"#)
                })
                .collect();
            text(format!(r#"{{"kind":"APIGroupList","groups":[{}]}}"#, list.join(",")))
        }
        "/api/v1/secrets" | "/api/v1/configmaps" => {
            text(r#"{"kind":"List","apiVersion":"v1","metadata":{},"items":[]}"#.to_owned())
        }
        _ => {
            let parts: Vec<&str> = path.trim_start_matches('/').split('/').collect();
            match parts.as_slice() {
                ["apis", group, version] => {
                    let resources: Vec<String> = RESOURCES
                        .iter()
                        .filter(|r| r.0 == *group && r.1 == *version)
                        .map(|r| {
                            format!(
                                r#"{{"name":"{}","namespaced":{},"kind":"{}","verbs":["get","list","watch","create","update","patch","delete"],"storageVersionHash":"{}"}}"#,
                                r.2, r.4, r.3, r.2
                            )
                        })
                        .collect();
                    text(format!(
                        r#"{{"kind":"APIResourceList","groupVersion":"{group}/{version}","resources":[{}]}}"#,
                        resources.join(",")
                    ))
                }
                ["apis", group, version, resource] => {
                    match RESOURCES
                        .iter()
                        .position(|r| r.0 == *group && r.1 == *version && r.2 == *resource)
                    {
                        Some(i) => (200, page(state, i, query)),
                        None => (404, Arc::new(br#"{"kind":"Status","code":404}"#.to_vec())),
                    }
                }
                _ => (404, Arc::new(br#"{"kind":"Status","code":404}"#.to_vec())),
            }
        }
    }
}

fn param<'a>(query: &'a str, name: &str) -> Option<&'a str> {
    query
        .split('&')
        .find_map(|p| p.strip_prefix(name)?.strip_prefix('='))
}

fn page(state: &State, resource: usize, query: &str) -> Arc<Vec<u8>> {
    let start: usize = param(query, "continue")
        .and_then(|c| c.strip_prefix("at-")?.parse().ok())
        .unwrap_or(0);
    let limit: usize = param(query, "limit")
        .and_then(|l| l.parse().ok())
        .unwrap_or(usize::MAX);
    let key = format!("{resource} {start} {limit}");
    if let Some(body) = state.pages.lock().ok().and_then(|p| p.get(&key).cloned()) {
        return body;
    }
    let total = state.objects_per_resource;
    let end = start.saturating_add(limit).min(total);
    let (group, version, _, _, namespaced, old) = RESOURCES[resource];
    let mut body = String::with_capacity((end - start) * 1600 + 256);
    let _ = write!(
        body,
        r#"{{"kind":"List","apiVersion":"{group}/{version}","metadata":{{"resourceVersion":"1000""#
    );
    if end < total {
        let _ = write!(
            body,
            r#","continue":"at-{end}","remainingItemCount":{}"#,
            total - end
        );
    }
    body.push_str(r#"},"items":["#);
    for i in start..end {
        if i > start {
            body.push(',');
        }
        object(
            &mut body,
            resource,
            i,
            namespaced,
            &format!("{group}/{version}"),
            old,
        );
    }
    body.push_str("]}");
    let body = Arc::new(body.into_bytes());
    if let Ok(mut pages) = state.pages.lock() {
        pages.insert(key, Arc::clone(&body));
    }
    body
}

fn object(out: &mut String, resource: usize, i: usize, namespaced: bool, current: &str, old: &str) {
    let namespace = if namespaced {
        format!(r#""namespace":"team-{:02}","#, i % 40)
    } else {
        String::new()
    };
    let legacy = if i % 100 == 7 {
        format!(
            r#",{{"manager":"legacy-deployer","operation":"Update","apiVersion":"{old}","time":"2023-04-01T10:00:00Z","fieldsType":"FieldsV1","fieldsV1":{{"f:metadata":{{"f:labels":{{"f:tier":{{}}}}}}}}}}"#
        )
    } else {
        String::new()
    };
    let _ = write!(
        out,
        r#"{{"metadata":{{"name":"obj-{resource:02}-{i:07}",{namespace}"uid":"00000000-0000-4000-8000-{resource:04}{i:08}","resourceVersion":"{rv}","generation":3,"creationTimestamp":"2025-06-01T12:00:00Z","labels":{{"app.kubernetes.io/name":"svc-{app}","app.kubernetes.io/part-of":"shop","app.kubernetes.io/managed-by":"argocd","tier":"backend"}},"annotations":{{"argocd.argoproj.io/tracking-id":"shop:{current}/obj-{i}","deployment.kubernetes.io/revision":"7"}},"managedFields":[{{"manager":"argocd-controller","operation":"Apply","apiVersion":"{current}","time":"2025-06-01T12:00:00Z","fieldsType":"FieldsV1","fieldsV1":{{"f:metadata":{{"f:annotations":{{"f:argocd.argoproj.io/tracking-id":{{}}}},"f:labels":{{"f:app.kubernetes.io/managed-by":{{}},"f:app.kubernetes.io/name":{{}},"f:app.kubernetes.io/part-of":{{}},"f:tier":{{}}}}}},"f:spec":{{"f:replicas":{{}},"f:selector":{{}},"f:template":{{"f:metadata":{{"f:labels":{{".":{{}},"f:app":{{}}}}}},"f:spec":{{"f:containers":{{}}}}}}}}}}}},{{"manager":"kube-controller-manager","operation":"Update","apiVersion":"{current}","time":"2025-06-02T08:30:00Z","fieldsType":"FieldsV1","fieldsV1":{{"f:status":{{"f:conditions":{{}},"f:observedGeneration":{{}}}}}},"subresource":"status"}}{legacy}]}},"spec":{{"replicas":3,"selector":{{"matchLabels":{{"app":"svc-{app}"}}}},"template":{{"metadata":{{"labels":{{"app":"svc-{app}"}}}},"spec":{{"containers":[{{"name":"app","image":"registry.example.com/shop/svc-{app}:1.{i}","ports":[{{"containerPort":8080}}]}}]}}}}}},"status":{{"observedGeneration":3,"conditions":[{{"type":"Ready","status":"True"}}]}}}}"#,
        rv = 1000 + i,
        app = i % 250,
    );
}
