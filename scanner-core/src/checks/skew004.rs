//! SKEW004: the apiservers of a highly available control plane more than one minor apart
//! (blocker), or one minor apart (an upgrade rolled halfway: info, finish it first).
//!
//! The one implementation of the rule: `upcheck plan` reads the same apiserver versions
//! ([`apiserver_versions`]) and judges them with the same [`spread`].

use api_catalog::KubeVersion;
use serde_json::Value;

use super::util::{name, namespace, text, version_of};
use super::{Check, CheckFinding, ClusterState, CodeInfo, Context, Family, Resource, Severity};

/// The check; the plan reports the same code through [`spread`].
pub static CHECK: Check = Check {
    info: CodeInfo {
        code: "SKEW004",
        family: Family::Readiness,
        title: "HA apiserver spread",
        severity: Severity::Blocker,
        reads: "kube-system Pods labelled component=kube-apiserver (the control plane's mirror pods) spec.containers[0].image tag; in upcheck plan, the apiserver versions given with --current",
        applies: "before the first hop (self-managed control planes; managed ones show no apiserver pods)",
        remediation: "Upgrade every apiserver to the newest version any of them runs before anything else (kubeadm upgrade node on the control-plane nodes left behind).",
        explanation: "The apiservers of a highly available control plane may be at most one minor apart, and only while they are being upgraded one by one. A control plane whose apiservers are further apart (an interrupted earlier upgrade, a restored member) cannot take another minor: every apiserver must first reach the newest version it runs. Apiservers exactly one minor apart are an upgrade rolled halfway: reported as info, since the roll must be finished before the next one starts. The versions are the image tags of the kube-apiserver mirror pods in kube-system (kubeadm and other self-managed control planes); managed control planes (EKS, AKS, GKE) show none and the check finds nothing. upcheck plan applies the same rule to the versions given with --current, or to these pods live.",
        retired: None,
    },
    needs: &[Resource::Pods],
    uses: &[],
    offline: true,
    needs_kubectl: false,
    run,
};

/// How far apart the apiservers are.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Spread {
    /// One minor apart: an upgrade under way.
    Rolling {
        /// The oldest apiserver.
        lo: KubeVersion,
        /// The newest apiserver.
        hi: KubeVersion,
    },
    /// More than one minor apart: nothing may move before they are brought together.
    TooFar {
        /// The oldest apiserver.
        lo: KubeVersion,
        /// The newest apiserver.
        hi: KubeVersion,
    },
}

/// The spread of `apiservers` (`None`: all at one minor, or none given).
pub fn spread(apiservers: &[KubeVersion]) -> Option<Spread> {
    let lo = *apiservers.iter().min()?;
    let hi = *apiservers.iter().max()?;
    if lo.major != hi.major || hi.minor > lo.minor + 1 {
        Some(Spread::TooFar { lo, hi })
    } else if hi > lo {
        Some(Spread::Rolling { lo, hi })
    } else {
        None
    }
}

impl Spread {
    /// What to tell, naming the versions (and the instances when known).
    pub fn message(self, instances: &str) -> String {
        match self {
            Self::TooFar { lo, hi } => format!(
                "apiservers run {lo} and {hi}{instances}, more than one minor apart: bring every apiserver to {hi} before anything else"
            ),
            Self::Rolling { lo, hi } => format!(
                "apiservers run {lo} and {hi}{instances}: an upgrade is half done; finish it (every apiserver to {hi}) before the next hop starts"
            ),
        }
    }

    /// The severity: blocker when too far apart, info while rolling.
    pub fn severity(self) -> Severity {
        match self {
            Self::TooFar { .. } => Severity::Blocker,
            Self::Rolling { .. } => Severity::Info,
        }
    }
}

/// The kube-system mirror pods of kube-apiserver.
fn apiserver_pods(state: &ClusterState) -> impl Iterator<Item = &Value> {
    state.list(Resource::Pods).iter().filter(|p| {
        namespace(p).is_none_or(|ns| ns == "kube-system")
            && text(p, "/metadata/labels/component") == Some("kube-apiserver")
    })
}

/// The version of an apiserver pod, from its image tag.
fn pod_version(pod: &Value) -> Option<KubeVersion> {
    text(pod, "/spec/containers/0/image").and_then(version_of)
}

/// The minor of every apiserver instance the state shows, sorted (empty for a managed
/// control plane).
pub fn apiserver_versions(state: &ClusterState) -> Vec<KubeVersion> {
    let mut out: Vec<KubeVersion> = apiserver_pods(state).filter_map(pod_version).collect();
    out.sort();
    out
}

fn run(ctx: &Context<'_>, out: &mut Vec<CheckFinding>) {
    let Some(spread) = spread(&apiserver_versions(ctx.state)) else {
        return;
    };
    let mut instances: Vec<String> = apiserver_pods(ctx.state)
        .filter_map(|p| Some(format!("{} {}", name(p), pod_version(p)?)))
        .collect();
    instances.sort();
    let list = format!(" ({})", instances.join(", "));
    out.push(CheckFinding::new(
        &CHECK,
        spread.severity(),
        "control plane".to_owned(),
        spread.message(&list),
    ));
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde_json::json;

    fn apiserver(node: &str, tag: &str) -> Value {
        json!({"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": format!("kube-apiserver-{node}"), "namespace": "kube-system",
                "labels": {"component": "kube-apiserver", "tier": "control-plane"}},
            "spec": {"nodeName": node, "containers": [
                {"name": "kube-apiserver", "image": format!("registry.k8s.io/kube-apiserver:{tag}")}]}})
    }

    fn run_on(pods: Vec<Value>) -> Vec<CheckFinding> {
        let mut state = ClusterState::new();
        state.set(Resource::Pods, pods);
        let ctx = Context::new(&state, KubeVersion::new(1, 31), KubeVersion::new(1, 34));
        let mut out = Vec::new();
        run(&ctx, &mut out);
        out
    }

    #[test]
    fn spread_is_judged_on_minors() {
        let v = |m| KubeVersion::new(1, m);
        assert_eq!(spread(&[]), None);
        assert_eq!(spread(&[v(31), v(31)]), None);
        assert_eq!(
            spread(&[v(32), v(31)]),
            Some(Spread::Rolling {
                lo: v(31),
                hi: v(32)
            })
        );
        assert_eq!(
            spread(&[v(33), v(32), v(31)]),
            Some(Spread::TooFar {
                lo: v(31),
                hi: v(33)
            })
        );
    }

    #[test]
    fn apiservers_two_minors_apart_block() {
        let out = run_on(vec![
            apiserver("cp1", "v1.33.2"),
            apiserver("cp2", "v1.32.5"),
            apiserver("cp3", "v1.31.9"),
        ]);
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].severity, Severity::Blocker);
        assert!(
            out[0].message.contains("kube-apiserver-cp3 1.31") && out[0].message.contains("1.33"),
            "{}",
            out[0].message
        );
    }

    #[test]
    fn a_half_done_roll_is_info_and_one_minor_is_nothing() {
        let out = run_on(vec![
            apiserver("cp1", "v1.32.0"),
            apiserver("cp2", "v1.31.4"),
        ]);
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].severity, Severity::Info);
        assert!(
            run_on(vec![
                apiserver("cp1", "v1.31.1"),
                apiserver("cp2", "v1.31.4")
            ])
            .is_empty()
        );
        // Other pods, and apiserver pods without a readable tag, are not apiservers to judge.
        let mut odd = apiserver("cp2", "latest");
        odd["spec"]["containers"][0]["image"] = json!(7);
        let other = json!({"metadata": {"name": "web", "namespace": "default",
            "labels": {"component": "kube-apiserver"}},
            "spec": {"containers": [{"image": "registry.k8s.io/kube-apiserver:v1.20.0"}]}});
        assert!(run_on(vec![apiserver("cp1", "v1.31.1"), odd, other]).is_empty());
    }
}
