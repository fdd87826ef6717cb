//! NODE004: control-plane components started with a flag or admission plugin that a hop
//! removes: the component exits at start and the control plane does not come back.
//!
//! Reads the static (mirror) pods of kubeadm-style control planes, live or from the manifests
//! in `/etc/kubernetes/manifests`; managed control planes have none and the check finds
//! nothing there. Which flags go when is data (`data/removals.yaml`).

use api_catalog::KubeVersion;
use serde_json::Value;

use super::facts::{self, Effect, Fact};
use super::util::{first_container_words, flags, name, namespace, object_ref, text, version_of};
use super::{Check, CheckFinding, CodeInfo, Context, Family, Resource, Severity};

pub static CHECK: Check = Check {
    info: CodeInfo {
        code: "NODE004",
        family: Family::Readiness,
        title: "Removed component flags and admission plugins",
        severity: Severity::Blocker,
        reads: "Pods of kube-apiserver, kube-controller-manager and kube-scheduler (label component, or the command) spec.containers[].{command,args,image}",
        applies: "the hop that removes the flag or plugin (PodSecurityPolicy admission 1.25, --pod-eviction-timeout and --enable-taint-manager 1.27, SecurityContextDeny 1.30, kube-apiserver --cloud-config 1.33; in-tree --cloud-provider values are SKEW005's)",
        remediation: "Remove the flag or plugin from the static pod manifest (/etc/kubernetes/manifests/<component>.yaml) and from the ClusterConfiguration extraArgs (kubeadm), or move to its replacement (Pod Security Admission), on the current version, before the hop.",
        explanation: "Kubernetes removes command-line flags and admission plugins after their deprecation period, and a component started with a flag it no longer knows refuses to start. On a kubeadm control plane the upgrade rewrites each static pod manifest with the new image but keeps the flags from the ClusterConfiguration, so a removed flag (the kubeadm runbook's --pod-eviction-timeout=5m0s recommendation is one) takes down the controller-manager or apiserver of every control-plane node in turn. The check reads the flags the running control-plane pods were started with, live or from their manifests, and names each one at the hop that removes it. Managed control planes (EKS, AKS, GKE) run their components out of sight: there is nothing to read and nothing to find. Kubelet flags are not visible through the API and are not checked; an in-tree --cloud-provider is reported by SKEW005, with the external cloud-controller-manager it needs.",
        retired: None,
    },
    needs: &[Resource::Pods],
    uses: &[],
    offline: true,
    needs_kubectl: false,
    run,
};

const COMPONENTS: [&str; 3] = [
    "kube-apiserver",
    "kube-controller-manager",
    "kube-scheduler",
];

/// The control-plane component a pod runs, from its `component` label or its command.
fn component(pod: &Value) -> Option<&'static str> {
    let label = text(pod, "/metadata/labels/component");
    let command =
        text(pod, "/spec/containers/0/command/0").map(|c| c.rsplit('/').next().unwrap_or(c));
    COMPONENTS
        .into_iter()
        .find(|c| label == Some(*c) || command == Some(*c))
}

/// What the pod sets that `fact` removes, for people (`--pod-eviction-timeout=5m0s`).
fn offending(component: &str, flags: &[(String, String)], fact: &Fact) -> Option<String> {
    let (scope, what) = fact.id.split_once(' ')?;
    if let Some(plugin) = what.strip_prefix("admission ") {
        if scope != component {
            return None;
        }
        return flags
            .iter()
            .filter(|(k, _)| k == "--enable-admission-plugins" || k == "--admission-control")
            .find(|(_, v)| v.split(',').any(|p| p.trim() == plugin))
            .map(|(k, v)| format!("{k}={v} (plugin {plugin})"));
    }
    if scope != component {
        return None;
    }
    flags.iter().find(|(k, _)| k == what).map(|(k, v)| {
        if v.is_empty() {
            k.clone()
        } else {
            format!("{k}={v}")
        }
    })
}

fn run(ctx: &Context<'_>, out: &mut Vec<CheckFinding>) {
    let removed: Vec<&Fact> = facts::of("NODE004")
        .into_iter()
        .filter(|f| f.effect == Effect::Removed)
        .collect();
    for pod in ctx.state.list(Resource::Pods) {
        let Some(component) = component(pod) else {
            continue;
        };
        // A component already at or past the removal started without the flag, or it would
        // not be running: nothing to warn about.
        let running = text(pod, "/spec/containers/0/image").and_then(version_of);
        let set = flags(&first_container_words(pod));
        for fact in &removed {
            let Some(hop) = ctx.hops.iter().copied().find(|h| *h >= fact.minor) else {
                continue;
            };
            if running.is_some_and(|v: KubeVersion| v >= fact.minor) {
                continue;
            }
            let Some(what) = offending(component, &set, fact) else {
                continue;
            };
            let pod_name = match namespace(pod) {
                Some(ns) => format!("{ns}/{}", name(pod)),
                None => name(pod).to_owned(),
            };
            out.push(
                CheckFinding::new(
                    &CHECK,
                    Severity::Blocker,
                    object_ref("Pod", pod),
                    format!(
                        "{component} ({pod_name}) is started with {what}: from {} {}, so it will not start at {hop}; remove it from /etc/kubernetes/manifests/{component}.yaml and the ClusterConfiguration before the hop",
                        fact.minor, fact.what
                    ),
                )
                .at_hop(hop),
            );
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::checks::ClusterState;
    use serde_json::json;

    fn static_pod(component: &str, version: &str, args: &[&str]) -> Value {
        let mut command = vec![component.to_owned()];
        command.extend(args.iter().map(|a| (*a).to_owned()));
        json!({
            "apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": format!("{component}-cp1"), "namespace": "kube-system",
                         "labels": {"component": component, "tier": "control-plane"}},
            "spec": {"containers": [{"name": component, "command": command,
                                     "image": format!("registry.k8s.io/{component}:v{version}")}]}
        })
    }

    fn found(pods: Vec<Value>, current: (u16, u16), target: (u16, u16)) -> Vec<String> {
        let mut state = ClusterState::new();
        state.set(Resource::Pods, pods);
        let ctx = Context::new(
            &state,
            KubeVersion::new(current.0, current.1),
            KubeVersion::new(target.0, target.1),
        );
        let mut out = Vec::new();
        run(&ctx, &mut out);
        out.into_iter()
            .map(|f| {
                format!(
                    "{} @{}",
                    f.message.split(':').next().unwrap(),
                    f.hop.map(|h| h.to_string()).unwrap_or_default()
                )
            })
            .collect()
    }

    #[test]
    fn a_removed_flag_is_named_at_the_hop_that_removes_it() {
        let kcm = static_pod(
            "kube-controller-manager",
            "1.25.6",
            &["--pod-eviction-timeout=5m0s", "--leader-elect=true"],
        );
        assert_eq!(
            found(vec![kcm.clone()], (1, 25), (1, 28)),
            [
                "kube-controller-manager (kube-system/kube-controller-manager-cp1) is started with --pod-eviction-timeout=5m0s @1.27"
            ]
        );
        // Not reached by this upgrade, or already past it.
        assert!(found(vec![kcm], (1, 25), (1, 26)).is_empty());
        let clean = static_pod(
            "kube-controller-manager",
            "1.25.6",
            &["--leader-elect=true"],
        );
        assert!(found(vec![clean], (1, 25), (1, 28)).is_empty());
    }

    #[test]
    fn admission_plugins_and_apiserver_flags() {
        let apiserver = static_pod(
            "kube-apiserver",
            "1.24.2",
            &[
                "--enable-admission-plugins=NodeRestriction,PodSecurityPolicy",
                "--cloud-config",
                "/etc/cloud.conf",
            ],
        );
        let found = found(vec![apiserver], (1, 24), (1, 33));
        assert_eq!(
            found,
            [
                "kube-apiserver (kube-system/kube-apiserver-cp1) is started with --enable-admission-plugins=NodeRestriction,PodSecurityPolicy (plugin PodSecurityPolicy) @1.25",
                "kube-apiserver (kube-system/kube-apiserver-cp1) is started with --cloud-config=/etc/cloud.conf @1.33",
            ]
        );
        let external = static_pod("kube-apiserver", "1.30.1", &["--cloud-provider=external"]);
        assert!(super::tests::found(vec![external], (1, 30), (1, 33)).is_empty());
    }

    #[test]
    fn ordinary_pods_are_not_read() {
        let mut app = static_pod(
            "kube-controller-manager",
            "1.25.0",
            &["--pod-eviction-timeout=1m"],
        );
        app["metadata"]["labels"] = json!({"app": "web"});
        app["spec"]["containers"][0]["command"] = json!(["/bin/web", "--pod-eviction-timeout=1m"]);
        assert!(found(vec![app], (1, 25), (1, 28)).is_empty());
    }
}
