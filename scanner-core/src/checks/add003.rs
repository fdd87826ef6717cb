//! ADD003: add-on images that do not pull, add-on rollouts stuck between two images, and the
//! registries the add-ons pull from (for egress allowlists).

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use super::util::{PodGroup, is_finished, name, names, namespace, object_ref, owner_of, text};
use super::{Check, CheckFinding, CodeInfo, Context, Family, Resource, Severity};

pub static CHECK: Check = Check {
    info: CodeInfo {
        code: "ADD003",
        family: Family::Readiness,
        title: "Add-on image pulls that fail or will fail",
        severity: Severity::Blocker,
        reads: "kube-system Pod status.containerStatuses[].{name,state.waiting.reason} (and initContainerStatuses), spec.containers[].{name,image}, spec.nodeName, metadata.ownerReferences; kube-system DaemonSet and Deployment spec.template.spec.{containers,initContainers}[].{name,image}. Not read: the EKS published add-on tags (DescribeAddonVersions needs the EKS API, issue 20)",
        applies: "before the first hop and after each hop, to the add-ons in kube-system (live only)",
        remediation: "Fix the image reference of a pod that cannot pull (on EKS use the tag documented for the cluster version and region, through the add-on API or whatever owns the DaemonSet, not a guessed suffix), finish or roll back stuck rollouts before the control plane moves, and allow the listed registries through the nodes' egress firewall or proxy.",
        explanation: "Every node the upgrade creates pulls the add-on images again: kube-proxy, the CNI, CoreDNS, CSI drivers. A pod already in ErrImagePull or ImagePullBackOff shows a reference that does not resolve (a tag that was never published in the region, such as a guessed -minimal- or eksbuild suffix, a moved registry, missing credentials), and on new nodes the same reference leaves the node without networking or Service routing. A DaemonSet or Deployment whose pods still run another image than its template is a rollout that stopped halfway: its pods on new nodes get the template's image, which may be the one that does not work. The registries the add-ons pull from are listed so that egress allowlists and proxies let the new nodes reach them. Whether an EKS tag is one Amazon publishes is not checked: that needs the EKS API.",
        retired: None,
    },
    needs: &[Resource::Pods, Resource::DaemonSets, Resource::Deployments],
    offline: false,
    needs_kubectl: false,
    uses: &[],
    run,
};

/// Where the add-ons run (kube-system only: no setting names other add-on namespaces yet).
const ADDON_NAMESPACE: &str = "kube-system";

/// Waiting reasons that mean the image cannot be pulled.
const PULL_FAILURES: [&str; 2] = ["ErrImagePull", "ImagePullBackOff"];

/// The images of a pod spec (or a template's), by container name, init containers included.
fn images(spec: Option<&Value>) -> BTreeMap<&str, &str> {
    let mut out = BTreeMap::new();
    for key in ["initContainers", "containers"] {
        for c in spec
            .and_then(|s| s.get(key))
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            if let (Some(n), Some(i)) = (
                c.get("name").and_then(Value::as_str),
                c.get("image").and_then(Value::as_str),
            ) {
                out.insert(n, i);
            }
        }
    }
    out
}

/// The images of `pod`'s containers that cannot be pulled, with the waiting reason.
fn pull_failures(pod: &Value) -> Vec<(&str, &str)> {
    let spec = images(pod.get("spec"));
    let mut out = Vec::new();
    for key in ["initContainerStatuses", "containerStatuses"] {
        for s in pod
            .pointer(&format!("/status/{key}"))
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let Some(reason) = text(s, "/state/waiting/reason") else {
                continue;
            };
            if !PULL_FAILURES.contains(&reason) {
                continue;
            }
            let container = s.get("name").and_then(Value::as_str).unwrap_or("");
            let image = spec.get(container).copied().unwrap_or(container);
            out.push((image, reason));
        }
    }
    out
}

/// A pod that is neither finished nor terminating: what its owner runs now.
fn active(pod: &Value) -> bool {
    !is_finished(pod) && pod.pointer("/metadata/deletionTimestamp").is_none()
}

/// The registry host of an image reference (`docker.io` for Docker Hub's short names).
fn registry(image: &str) -> &str {
    match image.split_once('/') {
        Some((first, _)) if first.contains(['.', ':']) || first == "localhost" => first,
        _ => "docker.io",
    }
}

fn run(ctx: &Context<'_>, out: &mut Vec<CheckFinding>) {
    let in_addons = |v: &&Value| namespace(v) == Some(ADDON_NAMESPACE);
    let pods: Vec<&Value> = ctx
        .state
        .list(Resource::Pods)
        .iter()
        .filter(in_addons)
        .collect();

    // Pods that cannot pull, one finding per owner and image.
    let mut failing: BTreeMap<(String, &str, &str), PodGroup<'_>> = BTreeMap::new();
    let mut per_owner: BTreeMap<String, usize> = BTreeMap::new();
    for pod in &pods {
        if !active(pod) {
            continue;
        }
        *per_owner.entry(owner_of(pod)).or_default() += 1;
        for (image, reason) in pull_failures(pod) {
            failing
                .entry((owner_of(pod), image, reason))
                .or_default()
                .add(pod);
        }
    }
    for ((owner, image, reason), group) in &failing {
        let total = per_owner.get(owner).copied().unwrap_or(group.pods.len());
        out.push(CheckFinding::new(
            &CHECK,
            Severity::Blocker,
            owner.clone(),
            format!(
                "{}/{total} pods cannot pull {image} ({reason}){}: {}; every new node will fail the same way, so fix the image reference (a tag published for this cluster version and region) before the upgrade",
                group.pods.len(),
                group.place(),
                names(&group.pods),
            ),
        ));
    }

    // Workloads whose pods run another image than their template: a stuck rollout.
    let mut hosts: BTreeSet<&str> = BTreeSet::new();
    for (kind, resource) in [
        ("DaemonSet", Resource::DaemonSets),
        ("Deployment", Resource::Deployments),
    ] {
        for w in ctx.state.list(resource).iter().filter(in_addons) {
            let object = object_ref(kind, w);
            let want = images(w.pointer("/spec/template/spec"));
            hosts.extend(want.values().map(|i| registry(i)));
            // (container, image the pods run) → pods
            let mut stale: BTreeMap<(&str, &str), Vec<&str>> = BTreeMap::new();
            let mut owned = 0;
            for pod in pods.iter().filter(|p| owner_of(p) == object) {
                if !active(pod) {
                    continue;
                }
                owned += 1;
                for (container, running) in images(pod.get("spec")) {
                    if want.get(container).is_some_and(|w| *w != running) {
                        stale
                            .entry((container, running))
                            .or_default()
                            .push(name(pod));
                    }
                }
            }
            for ((container, running), stuck) in stale {
                let template = want.get(container).copied().unwrap_or_default();
                out.push(CheckFinding::new(
                    &CHECK,
                    Severity::Blocker,
                    object.clone(),
                    format!(
                        "{}/{owned} pods still run {running} in container {container} while the template asks for {template} ({}): the rollout is stuck; finish it (or roll the template back) before the control plane moves, since new nodes get the template's image",
                        stuck.len(),
                        names(&stuck),
                    ),
                ));
            }
        }
    }

    if !hosts.is_empty() {
        let hosts: Vec<&str> = hosts.into_iter().collect();
        out.push(CheckFinding::new(
            &CHECK,
            Severity::Info,
            "cluster",
            format!(
                "the {ADDON_NAMESPACE} add-ons pull from {}: new nodes must reach these registries (egress firewall, proxy, VPC endpoints) for the upgrade",
                hosts.join(", ")
            ),
        ));
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::checks::ClusterState;
    use crate::checks::util::recorded_items_at;
    use api_catalog::KubeVersion;
    use serde_json::json;

    const PROXY_OK: &str =
        "602401143452.dkr.ecr.eu-west-1.amazonaws.com/eks/kube-proxy:v1.29.0-eksbuild.1";
    const PROXY_BAD: &str =
        "602401143452.dkr.ecr.eu-west-1.amazonaws.com/eks/kube-proxy:v1.29.0-minimal-eksbuild.9";

    fn proxy_ds(image: &str) -> Value {
        json!({"metadata": {"name": "kube-proxy", "namespace": "kube-system"},
            "spec": {"template": {"spec": {"containers": [{"name": "kube-proxy", "image": image}]}}}})
    }

    fn proxy_pod(name: &str, node: &str, image: &str, waiting: Option<&str>) -> Value {
        let state = match waiting {
            Some(r) => json!({"waiting": {"reason": r}}),
            None => json!({"running": {}}),
        };
        json!({"metadata": {"name": name, "namespace": "kube-system",
                "ownerReferences": [{"kind": "DaemonSet", "name": "kube-proxy", "controller": true}]},
            "spec": {"nodeName": node, "containers": [{"name": "kube-proxy", "image": image}]},
            "status": {"phase": if waiting.is_some() { "Pending" } else { "Running" },
                "containerStatuses": [{"name": "kube-proxy", "state": state}]}})
    }

    fn findings(pods: Vec<Value>, daemonsets: Vec<Value>) -> Vec<CheckFinding> {
        let mut s = ClusterState::new();
        s.set(Resource::Pods, pods);
        s.set(Resource::DaemonSets, daemonsets);
        s.set(Resource::Deployments, vec![]);
        let ctx = Context::new(&s, KubeVersion::new(1, 29), KubeVersion::new(1, 30));
        let mut out = Vec::new();
        run(&ctx, &mut out);
        out.sort();
        out
    }

    #[test]
    fn registries_of_image_references() {
        assert_eq!(
            registry(PROXY_OK),
            "602401143452.dkr.ecr.eu-west-1.amazonaws.com"
        );
        assert_eq!(registry("nginx:1.19"), "docker.io");
        assert_eq!(registry("bitnami/redis:7"), "docker.io");
        assert_eq!(registry("localhost/x:1"), "localhost");
        assert_eq!(registry("mirror:5000/x"), "mirror:5000");
    }

    #[test]
    fn pull_failures_and_stuck_rollout_block() {
        // The template moved to a guessed tag: one new pod cannot pull it, one still runs
        // the old image.
        let f = findings(
            vec![
                proxy_pod("kube-proxy-a", "n1", PROXY_BAD, Some("ImagePullBackOff")),
                proxy_pod("kube-proxy-b", "n2", PROXY_OK, None),
            ],
            vec![proxy_ds(PROXY_BAD)],
        );
        let got: Vec<(Severity, &str)> =
            f.iter().map(|f| (f.severity, f.object.as_str())).collect();
        assert_eq!(
            got,
            [
                (Severity::Blocker, "DaemonSet kube-system/kube-proxy"),
                (Severity::Blocker, "DaemonSet kube-system/kube-proxy"),
                (Severity::Info, "cluster"),
            ]
        );
        assert!(f.iter().any(|f| f.message
            == format!("1/2 pods cannot pull {PROXY_BAD} (ImagePullBackOff) on n1: kube-proxy-a; every new node will fail the same way, so fix the image reference (a tag published for this cluster version and region) before the upgrade")));
        assert!(f.iter().any(|f| f.message.starts_with(&format!(
            "1/2 pods still run {PROXY_OK} in container kube-proxy while the template asks for {PROXY_BAD} (kube-proxy-b): the rollout is stuck"
        ))));
        assert_eq!(
            f[2].message,
            "the kube-system add-ons pull from 602401143452.dkr.ecr.eu-west-1.amazonaws.com: new nodes must reach these registries (egress firewall, proxy, VPC endpoints) for the upgrade"
        );
    }

    #[test]
    fn healthy_add_ons_only_list_their_registries() {
        let f = findings(
            vec![
                proxy_pod("kube-proxy-a", "n1", PROXY_OK, None),
                proxy_pod("kube-proxy-b", "n2", PROXY_OK, None),
            ],
            vec![proxy_ds(PROXY_OK)],
        );
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].severity, Severity::Info);
        // Pull failures outside kube-system are HLT002's, not an add-on's.
        let mut elsewhere = proxy_pod("app-1", "n1", "example.com/app:1", Some("ErrImagePull"));
        elsewhere["metadata"]["namespace"] = json!("team-a");
        assert!(findings(vec![elsewhere], vec![]).is_empty());
    }

    #[test]
    fn recorded_clusters() {
        // v1.34 runs kube-proxy and CoreDNS healthy from registry.k8s.io.
        let mut s = ClusterState::new();
        s.set(
            Resource::Pods,
            recorded_items_at("v1.34", "core/v1/pods.json"),
        );
        s.set(
            Resource::DaemonSets,
            recorded_items_at("v1.34", "apps/v1/daemonsets.json"),
        );
        s.set(
            Resource::Deployments,
            recorded_items_at("v1.34", "apps/v1/deployments.json"),
        );
        let ctx = Context::new(&s, KubeVersion::new(1, 34), KubeVersion::new(1, 35));
        let mut out = Vec::new();
        run(&ctx, &mut out);
        assert_eq!(out.len(), 1, "{out:?}");
        assert!(out[0].message.contains("pull from registry.k8s.io:"));
    }
}
