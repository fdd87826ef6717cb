//! API003: deprecated node labels, taints and annotations that silently change how pods are
//! scheduled or confined.
//!
//! Workload templates are judged first; a pod whose controller's template already shows the same
//! problem is not reported again, so a Deployment with twenty replicas makes one finding.
//! [`owner_of`] (the object a pod is reported under) is shared with DRN007.

use std::collections::{BTreeMap, BTreeSet};

use api_catalog::KubeVersion;
use serde_json::Value;

use super::util::{is_finished, name, names, object_ref, owner_of, text};
use super::{Check, CheckFinding, CodeInfo, Context, Family, Resource, Severity};

pub static CHECK: Check = Check {
    info: CodeInfo {
        code: "API003",
        family: Family::Readiness,
        title: "Deprecated labels, taints and annotations that change behaviour",
        severity: Severity::Warning,
        reads: "Pod and Deployment/StatefulSet/DaemonSet pod template spec.{nodeSelector,affinity,topologySpreadConstraints[].topologyKey,tolerations,securityContext.seccompProfile,containers[].securityContext.seccompProfile}, metadata.annotations (seccomp), metadata.ownerReferences, labels pod-template-hash",
        applies: "beta node labels at every upgrade; node-role.kubernetes.io/master label and taint on hops reaching 1.24; seccomp annotations on hops reaching 1.27",
        remediation: "Move to the replacement named in the finding before the hop: the GA node label (kubernetes.io/os, topology.kubernetes.io/zone, ...), node-role.kubernetes.io/control-plane for the label and toleration, and securityContext.seccompProfile instead of the seccomp annotations. Change the workload template, not its pods.",
        explanation: "None of these are refused by the API server, so nothing fails loudly at the hop: the scheduler or the kubelet just stops acting on them. Beta node labels are deprecated and new nodes are not guaranteed to carry them, so pods that require one stay Pending after a node roll and spreading by one quietly stops. kubeadm stops labelling control-plane nodes node-role.kubernetes.io/master in 1.24, also taints them node-role.kubernetes.io/control-plane from then on and drops the old taint in 1.25, so selectors and tolerations on the old key stop matching. From 1.27 the alpha seccomp annotations have no effect at all: pods created after the hop run without the profile unless the securityContext field asks for it.",
        retired: None,
    },
    needs: &[
        Resource::Pods,
        Resource::Deployments,
        Resource::StatefulSets,
        Resource::DaemonSets,
    ],
    offline: true,
    needs_kubectl: false,
    uses: &[],
    run,
};

/// A node label whose use should move to another one.
#[derive(Clone, Copy, Debug)]
struct Label {
    /// The label in use.
    old: &'static str,
    /// The label that replaces it.
    new: &'static str,
    /// The removal fact (`data/removals.yaml`) giving the minor from which nodes lose it
    /// (`None`: deprecated, with no removal release).
    gone: Option<&'static str>,
    /// Why it is a problem, for the message.
    why: &'static str,
}

const BETA: &str = "a deprecated beta node label that new nodes are not guaranteed to carry";

/// Node labels that are deprecated or disappear, with their replacements.
const LABELS: &[Label] = &[
    Label {
        old: "beta.kubernetes.io/os",
        new: "kubernetes.io/os",
        gone: None,
        why: BETA,
    },
    Label {
        old: "beta.kubernetes.io/arch",
        new: "kubernetes.io/arch",
        gone: None,
        why: BETA,
    },
    Label {
        old: "beta.kubernetes.io/instance-type",
        new: "node.kubernetes.io/instance-type",
        gone: None,
        why: BETA,
    },
    Label {
        old: "failure-domain.beta.kubernetes.io/zone",
        new: "topology.kubernetes.io/zone",
        gone: None,
        why: BETA,
    },
    Label {
        old: "failure-domain.beta.kubernetes.io/region",
        new: "topology.kubernetes.io/region",
        gone: None,
        why: BETA,
    },
    Label {
        old: "node-role.kubernetes.io/master",
        new: "node-role.kubernetes.io/control-plane",
        gone: Some("master-label"),
        why: "a label kubeadm stops putting on control-plane nodes in 1.24 (its upgrade removes it)",
    },
];

/// The control-plane taint key kubeadm retired, its replacement, and the minor from which
/// control-plane nodes carry the new one (the old one is gone a minor later).
const MASTER_TAINT: (&str, &str) = (
    "node-role.kubernetes.io/master",
    "node-role.kubernetes.io/control-plane",
);

/// The minor of one of this check's removal facts (`data/removals.yaml`).
fn removed_in(id: &str) -> Option<KubeVersion> {
    super::facts::find("API003", id, super::facts::Effect::Removed).map(|f| f.minor)
}

/// The pod-level alpha seccomp annotation.
const SECCOMP_POD: &str = "seccomp.security.alpha.kubernetes.io/pod";
/// The per-container alpha seccomp annotation, followed by the container name.
const SECCOMP_CONTAINER: &str = "container.seccomp.security.alpha.kubernetes.io/";
/// The minor from which the seccomp annotations have no effect (`data/removals.yaml`).
fn seccomp_gone() -> Option<KubeVersion> {
    super::facts::find(
        "API003",
        "seccomp-annotations",
        super::facts::Effect::Removed,
    )
    .map(|f| f.minor)
}

/// How a label is used, which decides what goes wrong without it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Use {
    /// Required to schedule (`nodeSelector`, required node affinity).
    Require,
    /// A preference only.
    Prefer,
    /// A topology key for spreading or pod (anti-)affinity.
    Topology,
}

/// One problem found in a pod spec.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Issue {
    /// Identifies the problem independently of the object, to match pods with their template.
    key: String,
    severity: Severity,
    hop: Option<KubeVersion>,
    text: String,
}

/// The first hop reaching `minor`.
fn hop_reaching(ctx: &Context<'_>, minor: KubeVersion) -> Option<KubeVersion> {
    ctx.hops.iter().copied().find(|h| *h >= minor)
}

/// The items of an optional JSON array.
fn array(v: Option<&Value>) -> Vec<&Value> {
    v.and_then(Value::as_array).into_iter().flatten().collect()
}

/// The `key` of each item of an optional JSON array (match expressions).
fn keys(v: Option<&Value>) -> Vec<&str> {
    array(v)
        .into_iter()
        .filter_map(|e| e.get("key").and_then(Value::as_str))
        .collect()
}

/// Every label key a pod spec uses, with where and how.
fn label_uses(spec: &Value) -> Vec<(String, Use, &str)> {
    let mut uses = Vec::new();
    if let Some(sel) = spec.get("nodeSelector").and_then(Value::as_object) {
        for key in sel.keys() {
            uses.push(("nodeSelector".to_owned(), Use::Require, key.as_str()));
        }
    }
    let node = spec.pointer("/affinity/nodeAffinity");
    for term in array(node.and_then(|n| {
        n.pointer("/requiredDuringSchedulingIgnoredDuringExecution/nodeSelectorTerms")
    })) {
        for key in keys(term.get("matchExpressions")) {
            uses.push(("required node affinity".to_owned(), Use::Require, key));
        }
    }
    for term in array(node.and_then(|n| n.get("preferredDuringSchedulingIgnoredDuringExecution"))) {
        for key in keys(term.pointer("/preference/matchExpressions")) {
            uses.push(("preferred node affinity".to_owned(), Use::Prefer, key));
        }
    }
    for (field, what) in [
        ("podAffinity", "pod affinity"),
        ("podAntiAffinity", "pod anti-affinity"),
    ] {
        let Some(aff) = spec.get("affinity").and_then(|a| a.get(field)) else {
            continue;
        };
        for term in array(aff.get("requiredDuringSchedulingIgnoredDuringExecution")) {
            if let Some(key) = text(term, "/topologyKey") {
                uses.push((format!("required {what} topologyKey"), Use::Topology, key));
            }
        }
        for term in array(aff.get("preferredDuringSchedulingIgnoredDuringExecution")) {
            if let Some(key) = text(term, "/podAffinityTerm/topologyKey") {
                uses.push((format!("preferred {what} topologyKey"), Use::Prefer, key));
            }
        }
    }
    for c in array(spec.get("topologySpreadConstraints")) {
        if let Some(key) = text(c, "/topologyKey") {
            uses.push((
                "topologySpreadConstraints topologyKey".to_owned(),
                Use::Topology,
                key,
            ));
        }
    }
    uses
}

/// The problems of one pod spec with its metadata (a pod, or a workload's pod template).
fn issues(ctx: &Context<'_>, meta: Option<&Value>, spec: &Value) -> Vec<Issue> {
    let mut out = Vec::new();
    for (place, how, key) in label_uses(spec) {
        let Some(label) = LABELS.iter().find(|l| l.old == key) else {
            continue;
        };
        let hop = match label.gone {
            Some(fact) => match removed_in(fact).and_then(|gone| hop_reaching(ctx, gone)) {
                Some(h) => Some(h),
                None => continue,
            },
            None => None,
        };
        let (severity, effect) = match how {
            Use::Require => (
                Severity::Warning,
                "pods that require it cannot be scheduled on nodes without it",
            ),
            Use::Topology => (
                Severity::Warning,
                "spreading and (anti-)affinity by it stop working on nodes without it",
            ),
            Use::Prefer => (
                Severity::Info,
                "the preference is silently ignored on nodes without it",
            ),
        };
        let Label { old, new, why, .. } = *label;
        out.push(Issue {
            key: format!("label {place} {old}"),
            severity,
            hop,
            text: format!("{place} uses {old}, {why}: {effect}; use {new} instead"),
        });
    }
    let (old_taint, new_taint) = MASTER_TAINT;
    // kubeadm added the new taint in the release that dropped the master label (KEP-2067),
    // and dropped the old taint in the next.
    let from = removed_in("master-label");
    let taint_gone = removed_in("master-taint");
    let tolerations: Vec<&Value> = spec
        .get("tolerations")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .collect();
    let tolerates = |key: &str| {
        tolerations.iter().any(|t| {
            let k = text(t, "/key").unwrap_or("");
            k == key || (k.is_empty() && text(t, "/operator") == Some("Exists"))
        })
    };
    if tolerations
        .iter()
        .any(|t| text(t, "/key") == Some(old_taint))
        && !tolerates(new_taint)
        && let (Some(from), Some(taint_gone)) = (from, taint_gone)
        && let Some(hop) = hop_reaching(ctx, from)
    {
        out.push(Issue {
            key: "toleration master".to_owned(),
            severity: Severity::Warning,
            hop: Some(hop),
            text: format!("tolerates {old_taint} but not {new_taint}: kubeadm taints control-plane nodes {new_taint} from {from} and drops the old taint in {taint_gone}, so these pods no longer fit on control-plane nodes; tolerate {new_taint} as well"),
        });
    }
    if let Some(gone) = seccomp_gone()
        && let Some(hop) = hop_reaching(ctx, gone)
    {
        out.extend(seccomp(meta, spec, hop, gone));
    }
    out
}

/// Alpha seccomp annotations that no `securityContext.seccompProfile` backs.
fn seccomp(meta: Option<&Value>, spec: &Value, hop: KubeVersion, gone: KubeVersion) -> Vec<Issue> {
    let mut out = Vec::new();
    let Some(annotations) = meta
        .and_then(|m| m.get("annotations"))
        .and_then(Value::as_object)
    else {
        return out;
    };
    let pod_profile = spec.pointer("/securityContext/seccompProfile").is_some();
    let container_profile = |c: &str| {
        ["containers", "initContainers"].iter().any(|list| {
            spec.get(list)
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .any(|x| {
                    x.get("name").and_then(Value::as_str) == Some(c)
                        && x.pointer("/securityContext/seccompProfile").is_some()
                })
        })
    };
    for (key, value) in annotations {
        let value = value.as_str().unwrap_or("");
        let field = if key == SECCOMP_POD {
            if pod_profile {
                continue;
            }
            "spec.securityContext.seccompProfile".to_owned()
        } else if let Some(c) = key.strip_prefix(SECCOMP_CONTAINER) {
            if pod_profile || container_profile(c) {
                continue;
            }
            format!("securityContext.seccompProfile on container {c}")
        } else {
            continue;
        };
        out.push(Issue {
            key: format!("seccomp {key}"),
            severity: Severity::Warning,
            hop: Some(hop),
            text: format!("annotation {key}: {value} has no effect from {gone}, and no securityContext.seccompProfile takes its place: pods created from then on run without that seccomp profile; set {field}"),
        });
    }
    out
}

/// Pods of one owner that share one problem.
struct PodGroup<'a> {
    issue: Issue,
    pods: Vec<&'a str>,
}

fn run(ctx: &Context<'_>, out: &mut Vec<CheckFinding>) {
    let mut reported: BTreeSet<(String, String)> = BTreeSet::new();
    for resource in [
        Resource::Deployments,
        Resource::StatefulSets,
        Resource::DaemonSets,
    ] {
        for w in ctx.state.list(resource) {
            let Some(spec) = w.pointer("/spec/template/spec") else {
                continue;
            };
            let object = object_ref(resource.kind(), w);
            for issue in issues(ctx, w.pointer("/spec/template/metadata"), spec) {
                reported.insert((object.clone(), issue.key.clone()));
                let mut f = CheckFinding::new(
                    &CHECK,
                    issue.severity,
                    object.clone(),
                    format!("pod template: {}", issue.text),
                );
                if let Some(hop) = issue.hop {
                    f = f.at_hop(hop);
                }
                out.push(f);
            }
        }
    }
    let mut groups: BTreeMap<(String, String), PodGroup<'_>> = BTreeMap::new();
    for pod in ctx.state.list(Resource::Pods) {
        if is_finished(pod) || pod.pointer("/metadata/deletionTimestamp").is_some() {
            continue;
        }
        let Some(spec) = pod.get("spec") else {
            continue;
        };
        let object = owner_of(pod);
        for issue in issues(ctx, pod.get("metadata"), spec) {
            let key = (object.clone(), issue.key.clone());
            if reported.contains(&key) {
                continue;
            }
            groups
                .entry(key)
                .or_insert_with(|| PodGroup {
                    issue,
                    pods: Vec::new(),
                })
                .pods
                .push(name(pod));
        }
    }
    for ((object, _), PodGroup { issue, pods }) in groups {
        let subject = if let [pod] = pods.as_slice() {
            format!("pod {pod}")
        } else {
            format!("{} pods ({})", pods.len(), names(&pods))
        };
        let mut f = CheckFinding::new(
            &CHECK,
            issue.severity,
            object,
            format!("{subject}: {}", issue.text),
        );
        if let Some(hop) = issue.hop {
            f = f.at_hop(hop);
        }
        out.push(f);
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::checks::ClusterState;
    use serde_json::json;

    use crate::checks::util::recorded_items as fixture;

    fn v(minor: u16) -> KubeVersion {
        KubeVersion::new(1, minor)
    }

    fn findings(
        pods: Vec<Value>,
        deployments: Vec<Value>,
        daemonsets: Vec<Value>,
        current: u16,
        target: u16,
    ) -> Vec<CheckFinding> {
        let mut s = ClusterState::new();
        s.set(Resource::Pods, pods);
        s.set(Resource::Deployments, deployments);
        s.set(Resource::StatefulSets, vec![]);
        s.set(Resource::DaemonSets, daemonsets);
        let ctx = Context::new(&s, v(current), v(target));
        let mut out = Vec::new();
        run(&ctx, &mut out);
        out.sort();
        out
    }

    fn deployment(name: &str, annotations: &Value, spec: &Value) -> Value {
        json!({"metadata": {"name": name, "namespace": "a"},
            "spec": {"template": {"metadata": {"annotations": annotations}, "spec": spec}}})
    }

    fn pod(name: &str, rs: Option<(&str, &str)>, annotations: &Value, spec: &Value) -> Value {
        let (refs, labels) = match rs {
            Some((rs, hash)) => (
                json!([{"kind": "ReplicaSet", "name": rs, "controller": true}]),
                json!({"pod-template-hash": hash}),
            ),
            None => (json!([]), json!({})),
        };
        json!({"metadata": {"name": name, "namespace": "a", "ownerReferences": refs,
                "labels": labels, "annotations": annotations},
            "spec": spec, "status": {"phase": "Running"}})
    }

    #[test]
    fn beta_labels_are_reported_once_per_workload() {
        let spec = json!({"nodeSelector": {"beta.kubernetes.io/os": "linux"},
            "topologySpreadConstraints": [{"topologyKey": "failure-domain.beta.kubernetes.io/zone"}],
            "containers": [{"name": "web"}]});
        let f = findings(
            vec![
                pod("web-7f9c-a", Some(("web-7f9c", "7f9c")), &json!({}), &spec),
                pod("web-7f9c-b", Some(("web-7f9c", "7f9c")), &json!({}), &spec),
                pod(
                    "loose",
                    None,
                    &json!({}),
                    &json!({"affinity": {"nodeAffinity": {
                    "preferredDuringSchedulingIgnoredDuringExecution": [{"weight": 1, "preference": {
                        "matchExpressions": [{"key": "beta.kubernetes.io/instance-type", "operator": "In", "values": ["m5.large"]}]}}]}}}),
                ),
            ],
            vec![deployment("web", &json!({}), &spec)],
            vec![],
            29,
            30,
        );
        let got: Vec<(&str, Severity, Option<KubeVersion>)> = f
            .iter()
            .map(|f| (f.object.as_str(), f.severity, f.hop))
            .collect();
        assert_eq!(
            got,
            [
                ("Deployment a/web", Severity::Warning, None),
                ("Deployment a/web", Severity::Warning, None),
                ("Pod a/loose", Severity::Info, None),
            ]
        );
        assert_eq!(
            f[0].message,
            "pod template: nodeSelector uses beta.kubernetes.io/os, a deprecated beta node label that new nodes are not guaranteed to carry: pods that require it cannot be scheduled on nodes without it; use kubernetes.io/os instead"
        );
        assert!(f[1].message.contains(
            "topologySpreadConstraints topologyKey uses failure-domain.beta.kubernetes.io/zone"
        ));
        assert!(f[2].message.starts_with(
            "pod loose: preferred node affinity uses beta.kubernetes.io/instance-type"
        ));
        assert!(
            f[2].message
                .ends_with("use node.kubernetes.io/instance-type instead")
        );
    }

    #[test]
    fn master_label_and_taint_from_1_24() {
        let spec = json!({"nodeSelector": {"node-role.kubernetes.io/master": ""},
            "tolerations": [{"key": "node-role.kubernetes.io/master", "effect": "NoSchedule"}]});
        let ds = |spec: &Value| {
            json!({"metadata": {"name": "agent", "namespace": "kube-system"},
                "spec": {"template": {"spec": spec}}})
        };
        // Not reached: nothing.
        assert!(findings(vec![], vec![], vec![ds(&spec)], 21, 23).is_empty());
        let f = findings(vec![], vec![], vec![ds(&spec)], 22, 25);
        assert_eq!(f.len(), 2);
        assert!(
            f.iter()
                .all(|f| f.object == "DaemonSet kube-system/agent" && f.hop == Some(v(24)))
        );
        assert!(f.iter().any(|f| f.message.starts_with(
            "pod template: tolerates node-role.kubernetes.io/master but not node-role.kubernetes.io/control-plane"
        )));
        // Tolerating both keys is fine, and selecting on the new label too.
        let both = json!({"nodeSelector": {"node-role.kubernetes.io/control-plane": ""},
            "tolerations": [{"key": "node-role.kubernetes.io/master"}, {"key": "node-role.kubernetes.io/control-plane"}]});
        assert!(findings(vec![], vec![], vec![ds(&both)], 22, 25).is_empty());
    }

    #[test]
    fn seccomp_annotations_without_the_field_from_1_27() {
        let annotations = json!({"seccomp.security.alpha.kubernetes.io/pod": "runtime/default"});
        let bare = json!({"containers": [{"name": "app"}]});
        let with_field = json!({"securityContext": {"seccompProfile": {"type": "RuntimeDefault"}},
            "containers": [{"name": "app"}]});
        // The template only has the annotation; its pods got the field when they were created
        // (before 1.27 the API server copied it), so only the template is reported.
        let f = findings(
            vec![
                pod(
                    "api-5d-x",
                    Some(("api-5d", "5d")),
                    &annotations,
                    &with_field,
                ),
                pod("one-off", None, &annotations, &bare),
            ],
            vec![deployment("api", &annotations, &bare)],
            vec![],
            26,
            28,
        );
        let got: Vec<(&str, Option<KubeVersion>)> =
            f.iter().map(|f| (f.object.as_str(), f.hop)).collect();
        assert_eq!(
            got,
            [
                ("Deployment a/api", Some(v(27))),
                ("Pod a/one-off", Some(v(27)))
            ]
        );
        assert_eq!(
            f[1].message,
            "pod one-off: annotation seccomp.security.alpha.kubernetes.io/pod: runtime/default has no effect from 1.27, and no securityContext.seccompProfile takes its place: pods created from then on run without that seccomp profile; set spec.securityContext.seccompProfile"
        );
        // Before 1.27, or with the field set, nothing.
        assert!(
            findings(
                vec![pod("one-off", None, &annotations, &bare)],
                vec![],
                vec![],
                24,
                26
            )
            .is_empty()
        );
        let container =
            json!({"container.seccomp.security.alpha.kubernetes.io/app": "runtime/default"});
        let field = json!({"containers": [{"name": "app", "securityContext": {"seccompProfile": {"type": "RuntimeDefault"}}}]});
        assert!(
            findings(
                vec![pod("c", None, &container, &field)],
                vec![],
                vec![],
                26,
                27
            )
            .is_empty()
        );
        assert_eq!(
            findings(
                vec![pod("c", None, &container, &bare)],
                vec![],
                vec![],
                26,
                27
            )
            .len(),
            1
        );
    }

    #[test]
    fn pods_are_grouped_under_their_deployment() {
        let spec = json!({"nodeSelector": {"beta.kubernetes.io/arch": "amd64"}});
        // No template says so (the Deployment was changed since): the pods are reported.
        let f = findings(
            vec![
                pod("web-7f9c-a", Some(("web-7f9c", "7f9c")), &json!({}), &spec),
                pod("web-7f9c-b", Some(("web-7f9c", "7f9c")), &json!({}), &spec),
            ],
            vec![deployment("web", &json!({}), &json!({}))],
            vec![],
            29,
            30,
        );
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].object, "Deployment a/web");
        assert!(f[0].message.starts_with(
            "2 pods (web-7f9c-a, web-7f9c-b): nodeSelector uses beta.kubernetes.io/arch"
        ));
    }

    #[test]
    fn recorded_cluster() {
        // The recording uses no beta labels, master keys or seccomp annotations.
        for target in [22, 27] {
            let mut s = ClusterState::new();
            s.set(Resource::Pods, fixture("core/v1/pods.json"));
            s.set(Resource::Deployments, fixture("apps/v1/deployments.json"));
            s.set(Resource::StatefulSets, fixture("apps/v1/statefulsets.json"));
            s.set(Resource::DaemonSets, fixture("apps/v1/daemonsets.json"));
            let ctx = Context::new(&s, v(20), v(target));
            let mut out = Vec::new();
            run(&ctx, &mut out);
            assert!(out.is_empty(), "{out:?}");
        }
        // Its pods resolve to their Deployments and StatefulSets.
        let owners: BTreeSet<String> = fixture("core/v1/pods.json").iter().map(owner_of).collect();
        for o in [
            "Deployment team-b/api",
            "Deployment default/frontend",
            "StatefulSet team-b/db",
            "DaemonSet monitoring/node-exporter",
            "Pod default/debug-shell",
        ] {
            assert!(owners.contains(o), "{o}: {owners:?}");
        }
    }
}
