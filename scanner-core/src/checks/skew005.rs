//! SKEW005: kube-controller-manager, kube-scheduler and cloud-controller-manager outside the
//! skew the apiservers allow, and in-tree cloud providers a hop takes away.
//!
//! Only self-managed control planes run these as pods the API shows (kubeadm's mirror pods);
//! on a managed control plane there are none and the check finds nothing.

use api_catalog::KubeVersion;
use serde_json::Value;

use super::facts::{self, Effect};
use super::util::{
    command_words, flag_value, is_finished, is_mirror_pod, name, namespace, object_ref, text,
    version_of,
};
use super::{Check, CheckFinding, CodeInfo, Context, Family, Resource, Severity};

pub static CHECK: Check = Check {
    info: CodeInfo {
        code: "SKEW005",
        family: Family::Readiness,
        title: "Controller-manager, scheduler and cloud-controller-manager skew",
        severity: Severity::Blocker,
        reads: "kube-system Pods labelled component=kube-controller-manager, kube-scheduler or cloud-controller-manager (or mirror pods named after them): spec.containers[].{name,image,command,args}, status.phase",
        applies: "self-managed control planes (none of these pods on managed ones): the first hop for the version skew, hops reaching the release that disables or removes an in-tree --cloud-provider",
        remediation: "Before the next hop bring kube-controller-manager, kube-scheduler and cloud-controller-manager to the apiservers' minor (never newer), and to the new minor right after each hop (kubeadm upgrade apply does both). For an in-tree --cloud-provider, deploy the provider's external cloud-controller-manager and switch the controller-manager, apiserver and kubelets to --cloud-provider=external before the hop named in the finding.",
        explanation: "The controller-manager, the scheduler and the cloud-controller-manager must never be newer than any apiserver they talk to and at most one minor older than the newest. During a hop the apiservers move from s to s+1, so these components must already be at s when it starts: one minor behind before the hop becomes two behind during it, and one that is newer than the apiservers or two behind is outside the supported window already. The controller-manager is also where in-tree cloud providers live: from 1.29 they are disabled by default (the DisableCloudProviders feature gate) and by 1.31 the code is gone, so a controller-manager still started with --cloud-provider=aws, gce, azure, openstack or vsphere fails to start at that hop, and node addresses, load balancers and routes stop being managed.",
        retired: None,
    },
    needs: &[Resource::Pods],
    offline: false,
    needs_kubectl: false,
    uses: &[],
    run,
};

/// The control-plane components this check reads, by their `component` label.
const COMPONENTS: [&str; 3] = [
    "kube-controller-manager",
    "kube-scheduler",
    "cloud-controller-manager",
];

/// The first minor without the in-tree cloud provider `value` (`data/removals.yaml`, KEP-2395).
fn in_tree_removed(value: &str) -> Option<KubeVersion> {
    facts::of("SKEW005")
        .into_iter()
        .find(|f| f.id == value && f.effect == Effect::Removed)
        .map(|f| f.minor)
}

/// From this minor `DisableCloudProviders` is on by default: in-tree providers refuse to start
/// unless the gate is turned off (`data/removals.yaml`).
fn disabled_by_default() -> Option<KubeVersion> {
    facts::find("SKEW005", "DisableCloudProviders", Effect::Disabled).map(|f| f.minor)
}

/// Which component a pod runs, if it is one of [`COMPONENTS`] in kube-system.
fn component(pod: &Value) -> Option<&'static str> {
    if namespace(pod) != Some("kube-system") {
        return None;
    }
    let label = text(pod, "/metadata/labels/component");
    COMPONENTS.into_iter().find(|c| {
        label == Some(*c)
            || (is_mirror_pod(pod)
                && name(pod)
                    .strip_prefix(c)
                    .is_some_and(|rest| rest.starts_with('-')))
    })
}

/// The component's container: the one named after it, else the first whose image mentions it,
/// else the first.
fn container<'a>(pod: &'a Value, component: &str) -> Option<&'a Value> {
    let containers = pod.pointer("/spec/containers")?.as_array()?;
    containers
        .iter()
        .find(|c| c.get("name").and_then(Value::as_str) == Some(component))
        .or_else(|| {
            containers.iter().find(|c| {
                c.get("image")
                    .and_then(Value::as_str)
                    .is_some_and(|i| i.contains(component))
            })
        })
        .or_else(|| containers.first())
}

/// The version finding for a component at `c`, against the apiservers at `ctx.current`.
fn skew(
    ctx: &Context<'_>,
    what: &str,
    c: KubeVersion,
) -> Option<(Severity, Option<KubeVersion>, String)> {
    let s = ctx.current;
    let oldest = KubeVersion::new(s.major, s.minor.saturating_sub(1));
    let Some(&hop) = ctx.hops.first() else {
        return if c > s {
            Some((
                Severity::Blocker,
                None,
                format!(
                    "{what} {c} is newer than the {s} apiserver (it may never be newer): bring it back to {s}"
                ),
            ))
        } else if c < oldest {
            Some((
                Severity::Blocker,
                None,
                format!(
                    "{what} {c} is older than the {s} apiserver supports (needs ≥ {oldest}): raise it to {s}"
                ),
            ))
        } else if c < s {
            Some((
                Severity::Warning,
                None,
                format!(
                    "{what} {c} is one minor behind the {s} apiserver, which is only meant to last while an upgrade is under way: raise it to {s}"
                ),
            ))
        } else {
            None
        };
    };
    if c > s {
        Some((
            Severity::Blocker,
            Some(hop),
            format!(
                "{what} {c} is newer than the {s} apiserver (it may never be newer): bring it back to {s} before the {s} → {hop} step"
            ),
        ))
    } else if c < oldest {
        Some((
            Severity::Blocker,
            Some(hop),
            format!(
                "{what} {c} is older than the {s} apiserver supports (needs ≥ {oldest}), and the {s} → {hop} step needs it at {s}: raise it to {s} first"
            ),
        ))
    } else if c < s {
        Some((
            Severity::Warning,
            Some(hop),
            format!(
                "{what} {c} is one minor behind the {s} apiserver and would be two behind once the apiservers reach {hop}: raise it to {s} before the {s} → {hop} step"
            ),
        ))
    } else {
        None
    }
}

/// The finding for an in-tree `--cloud-provider`, at the first hop where it stops working.
fn cloud_provider(ctx: &Context<'_>, words: &[&str]) -> Option<(KubeVersion, String)> {
    let value = flag_value(words, "--cloud-provider")?;
    let removed = in_tree_removed(value)?;
    let gate_off = words
        .iter()
        .any(|w| w.contains("DisableCloudProviders=false"));
    let disabled = disabled_by_default().filter(|_| !gate_off);
    let breaks = disabled.map_or(removed, |d| removed.min(d));
    let hop = ctx.hops.iter().copied().find(|h| *h >= breaks)?;
    let why = match disabled {
        Some(d) if breaks != removed => format!(
            "in-tree cloud providers are disabled by default from {d} (DisableCloudProviders) and the {value} one is gone by {removed}"
        ),
        _ => format!("the in-tree {value} cloud provider is gone in {removed}"),
    };
    Some((
        hop,
        format!(
            "runs with --cloud-provider={value}, but {why}: it will not start at {hop}; deploy the external {value} cloud-controller-manager and switch to --cloud-provider=external before that hop"
        ),
    ))
}

fn run(ctx: &Context<'_>, out: &mut Vec<CheckFinding>) {
    for pod in ctx.state.list(Resource::Pods) {
        let Some(what) = component(pod) else {
            continue;
        };
        if is_finished(pod) || pod.pointer("/metadata/deletionTimestamp").is_some() {
            continue;
        }
        let Some(c) = container(pod, what) else {
            continue;
        };
        let object = object_ref("Pod", pod);
        let image = c.get("image").and_then(Value::as_str).unwrap_or("");
        match version_of(image) {
            Some(version) => {
                if let Some((severity, hop, message)) = skew(ctx, what, version) {
                    let f = CheckFinding::new(&CHECK, severity, object.clone(), message);
                    out.push(match hop {
                        Some(h) => f.at_hop(h),
                        None => f,
                    });
                }
            }
            None => out.push(CheckFinding::new(
                &CHECK,
                Severity::Info,
                object.clone(),
                format!("the {what} image {image} carries no version in its tag: compare it with the {} apiserver by hand", ctx.current),
            )),
        }
        if let Some((hop, message)) = cloud_provider(ctx, &command_words(c)) {
            out.push(
                CheckFinding::new(
                    &CHECK,
                    Severity::Blocker,
                    object,
                    format!("{what} {message}"),
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

    use crate::checks::util::recorded_items as fixture;

    fn v(minor: u16) -> KubeVersion {
        KubeVersion::new(1, minor)
    }

    /// A kubeadm mirror pod of `component` on node cp1.
    fn mirror(component: &str, tag: &str, command: &[&str]) -> Value {
        json!({"metadata": {"name": format!("{component}-cp1"), "namespace": "kube-system",
                "labels": {"component": component, "tier": "control-plane"},
                "annotations": {"kubernetes.io/config.mirror": "abc"}},
            "spec": {"nodeName": "cp1", "containers": [{"name": component,
                "image": format!("registry.k8s.io/{component}:{tag}"), "command": command}]},
            "status": {"phase": "Running"}})
    }

    fn findings(pods: Vec<Value>, current: u16, target: u16) -> Vec<CheckFinding> {
        let mut s = ClusterState::new();
        s.set(Resource::Pods, pods);
        let ctx = Context::new(&s, v(current), v(target));
        let mut out = Vec::new();
        run(&ctx, &mut out);
        out.sort();
        out
    }

    #[test]
    fn components_must_be_at_the_apiserver_minor_before_a_hop() {
        let f = findings(
            vec![
                mirror(
                    "kube-controller-manager",
                    "v1.18.20",
                    &["kube-controller-manager"],
                ),
                mirror("kube-scheduler", "v1.19.16", &["kube-scheduler"]),
                mirror("cloud-controller-manager", "v1.21.0", &[]),
            ],
            20,
            22,
        );
        let got: Vec<(&str, Severity, Option<KubeVersion>)> = f
            .iter()
            .map(|f| (f.object.as_str(), f.severity, f.hop))
            .collect();
        assert_eq!(
            got,
            [
                (
                    "Pod kube-system/cloud-controller-manager-cp1",
                    Severity::Blocker,
                    Some(v(21))
                ),
                (
                    "Pod kube-system/kube-controller-manager-cp1",
                    Severity::Blocker,
                    Some(v(21))
                ),
                (
                    "Pod kube-system/kube-scheduler-cp1",
                    Severity::Warning,
                    Some(v(21))
                ),
            ]
        );
        assert_eq!(
            f[1].message,
            "kube-controller-manager 1.18 is older than the 1.20 apiserver supports (needs ≥ 1.19), and the 1.20 → 1.21 step needs it at 1.20: raise it to 1.20 first"
        );
        assert_eq!(
            f[2].message,
            "kube-scheduler 1.19 is one minor behind the 1.20 apiserver and would be two behind once the apiservers reach 1.21: raise it to 1.20 before the 1.20 → 1.21 step"
        );
        assert!(f[0].message.contains("newer than the 1.20 apiserver"));
    }

    #[test]
    fn aligned_components_and_other_pods_pass() {
        let mut elsewhere = mirror("kube-scheduler", "v1.10.0", &[]);
        elsewhere["metadata"]["namespace"] = json!("default");
        let f = findings(
            vec![
                mirror(
                    "kube-controller-manager",
                    "v1.20.2",
                    &["kube-controller-manager", "--cloud-provider=external"],
                ),
                mirror("kube-scheduler", "v1.20.2", &[]),
                elsewhere,
            ],
            20,
            22,
        );
        assert!(f.is_empty(), "{f:?}");
        // Without a hop, one minor behind is a warning.
        let f = findings(vec![mirror("kube-scheduler", "v1.19.0", &[])], 20, 20);
        assert_eq!((f[0].severity, f[0].hop), (Severity::Warning, None));
    }

    #[test]
    fn in_tree_cloud_providers() {
        let kcm = |provider: &str, gates: &str| {
            mirror(
                "kube-controller-manager",
                "v1.26.5",
                &[
                    "kube-controller-manager",
                    "--cloud-provider",
                    provider,
                    gates,
                ],
            )
        };
        // AWS's is gone in 1.27.
        let f = findings(vec![kcm("aws", "--v=2")], 26, 28);
        assert_eq!(f.len(), 1);
        assert_eq!((f[0].severity, f[0].hop), (Severity::Blocker, Some(v(27))));
        assert_eq!(
            f[0].message,
            "kube-controller-manager runs with --cloud-provider=aws, but the in-tree aws cloud provider is gone in 1.27: it will not start at 1.27; deploy the external aws cloud-controller-manager and switch to --cloud-provider=external before that hop"
        );
        // GCE's is disabled by default from 1.29, unless the gate is turned off; gone in 1.31.
        let gce = |gates: &str| {
            let mut p = kcm("gce", gates);
            p["spec"]["containers"][0]["image"] =
                json!("registry.k8s.io/kube-controller-manager:v1.28.3");
            p
        };
        let f = findings(vec![gce("--v=2")], 28, 31);
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].hop, Some(v(29)));
        assert!(
            f[0].message
                .contains("disabled by default from 1.29 (DisableCloudProviders)")
        );
        let f = findings(
            vec![gce("--feature-gates=DisableCloudProviders=false")],
            28,
            31,
        );
        assert_eq!(f[0].hop, Some(v(31)));
        assert!(
            findings(
                vec![gce("--feature-gates=DisableCloudProviders=false")],
                28,
                30
            )
            .is_empty()
        );
        assert!(findings(vec![gce("--v=2")], 28, 28).is_empty());
    }

    #[test]
    fn untagged_images_are_info() {
        let mut p = mirror("kube-scheduler", "latest", &[]);
        p["metadata"]["labels"] = json!({});
        let f = findings(vec![p], 20, 21);
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].severity, Severity::Info);
    }

    #[test]
    fn recorded_cluster() {
        // A recorded managed-style cluster: no control-plane pods, nothing to judge.
        let pods = fixture("core/v1/pods.json");
        assert!(!pods.is_empty());
        assert!(findings(pods.clone(), 20, 22).is_empty());
        assert!(findings(pods, 20, 31).is_empty());
    }
}
