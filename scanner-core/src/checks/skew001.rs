//! SKEW001: kubelets outside the version skew the control plane allows, hop by hop.
//!
//! The walk over the hops ([`rolls`]) is shared with SKEW003 (kube-proxy follows the same window).

use std::fmt::Write as _;

use api_catalog::KubeVersion;

use super::util::{lag, name, object_ref, text, version_of};
use super::{Check, CheckFinding, CodeInfo, Context, Family, Resource, Severity};

pub static CHECK: Check = Check {
    info: CodeInfo {
        code: "SKEW001",
        family: Family::Readiness,
        title: "Kubelet version skew per hop",
        severity: Severity::Blocker,
        reads: "Node status.nodeInfo.kubeletVersion",
        applies: "every control-plane hop; nodes below the target after the last hop",
        remediation: "Before the hop named in the finding, drain the node and replace or upgrade it to the control plane's minor at that time (never newer); after the last hop, bring every node to the target.",
        explanation: "A kubelet is only supported against apiservers that are not older than itself and at most two minors newer (three for kubelets at 1.25 or later). Every control-plane hop moves the lower bound up by one, so a node that is fine today can fall out of the window half-way through a multi-minor upgrade; a kubelet outside it may fail to register, to read pods or to report status in ways no one tested. Rolling such nodes to the control plane's current minor just before the hop that needs it gives the fewest node replacements.",
        retired: None,
    },
    needs: &[Resource::Nodes],
    offline: false,
    needs_kubectl: false,
    uses: &[],
    run,
};

/// Why a node component cannot stay where it is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Skew {
    /// Newer than the control plane.
    Newer,
    /// Older than the oldest minor the control plane accepts after the hop.
    TooOld {
        /// The oldest minor allowed.
        needs: KubeVersion,
    },
}

/// A node-component roll the plan needs before a hop.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Roll {
    /// The hop it must happen before.
    pub hop: KubeVersion,
    /// The control-plane minor before that hop (what the component is rolled to).
    pub from: KubeVersion,
    /// The component's minor at that point (after earlier rolls).
    pub at: KubeVersion,
    /// What is wrong with it.
    pub why: Skew,
}

/// The oldest node component minor an apiserver at `apiserver` accepts for a component at `component`.
pub(crate) fn oldest_allowed(apiserver: KubeVersion, component: KubeVersion) -> KubeVersion {
    KubeVersion::new(
        apiserver.major,
        apiserver.minor.saturating_sub(lag(component)),
    )
}

/// Whether a component at `version` fits the step `from → hop` (the kubelet window the plan
/// rolls node pools by, too).
pub(crate) fn skew(from: KubeVersion, hop: KubeVersion, version: KubeVersion) -> Option<Skew> {
    if version > from {
        return Some(Skew::Newer);
    }
    let needs = oldest_allowed(hop, version);
    (version < needs).then_some(Skew::TooOld { needs })
}

/// Walks the hops with a node component at `version`: each time it falls outside the window
/// before a hop it is rolled to the control plane's minor at that moment (never newer), which
/// is the plan with the fewest rolls.
pub(super) fn rolls(current: KubeVersion, hops: &[KubeVersion], version: KubeVersion) -> Vec<Roll> {
    let mut out = Vec::new();
    let mut at = version;
    let mut from = current;
    for &hop in hops {
        if let Some(why) = skew(from, hop, at) {
            out.push(Roll { hop, from, at, why });
            at = from;
        }
        from = hop;
    }
    out
}

fn run(ctx: &Context<'_>, out: &mut Vec<CheckFinding>) {
    for node in ctx.state.list(Resource::Nodes) {
        let Some(kubelet) = text(node, "/status/nodeInfo/kubeletVersion").and_then(version_of)
        else {
            continue;
        };
        let node_name = name(node);
        let object = object_ref("Node", node);
        if ctx.hops.is_empty() {
            // No control-plane hop: only the skew as it is now.
            match skew(ctx.current, ctx.current, kubelet) {
                Some(Skew::Newer) => out.push(CheckFinding::new(
                    &CHECK,
                    Severity::Blocker,
                    object,
                    format!("kubelet {kubelet} on {node_name} is newer than the {} control plane (a kubelet may never be newer than the apiserver): replace it with a {} node", ctx.current, ctx.current),
                )),
                Some(Skew::TooOld { needs }) => out.push(CheckFinding::new(
                    &CHECK,
                    Severity::Blocker,
                    object,
                    format!("kubelet {kubelet} on {node_name} is older than the {} control plane supports (needs ≥ {needs}): drain and roll it to {}", ctx.current, ctx.current),
                )),
                None => {}
            }
            continue;
        }
        let plan = rolls(ctx.current, &ctx.hops, kubelet);
        for roll in &plan {
            let Roll { hop, from, at, why } = *roll;
            let subject = if at == kubelet {
                format!("kubelet {kubelet} on {node_name}")
            } else {
                format!("kubelet on {node_name}, once rolled to {at},")
            };
            let message = match why {
                Skew::Newer => format!(
                    "{subject} is newer than the {from} control plane (a kubelet may never be newer than the apiserver): drain and replace it with a {from} node before the {from} → {hop} step"
                ),
                // A kubelet already outside today's window says so first: it is unsupported
                // now, not only from that hop on.
                Skew::TooOld { needs }
                    if at == kubelet
                        && from == ctx.current
                        && kubelet < oldest_allowed(ctx.current, kubelet) =>
                {
                    format!(
                        "{subject} is already outside the window of the {from} control plane (needs ≥ {}), and too old for the {from} → {hop} step (needs ≥ {needs}): drain and roll it to {from} first",
                        oldest_allowed(ctx.current, kubelet)
                    )
                }
                Skew::TooOld { needs } => format!(
                    "{subject} is too old for the {from} → {hop} step (needs ≥ {needs}): drain and roll it to {from} first"
                ),
            };
            out.push(
                CheckFinding::new(&CHECK, Severity::Blocker, object.clone(), message).at_hop(hop),
            );
        }
        if plan.is_empty() && kubelet < ctx.target {
            let mut message = format!(
                "kubelet {kubelet} on {node_name} stays below the {} control plane: align it after the upgrade",
                ctx.target
            );
            if kubelet == oldest_allowed(ctx.target, kubelet) {
                let _ = write!(
                    message,
                    " (at {kubelet} it is as old as {} allows, so it must move before the next control-plane upgrade)",
                    ctx.target
                );
            }
            out.push(CheckFinding::new(
                &CHECK,
                Severity::Warning,
                object,
                message,
            ));
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::checks::ClusterState;
    use serde_json::{Value, json};

    use crate::checks::util::recorded_items as fixture;

    fn v(minor: u16) -> KubeVersion {
        KubeVersion::new(1, minor)
    }

    fn node(name: &str, kubelet: &str) -> Value {
        json!({"metadata": {"name": name}, "status": {"nodeInfo": {"kubeletVersion": kubelet}}})
    }

    fn findings(nodes: Vec<Value>, current: u16, target: u16) -> Vec<CheckFinding> {
        let mut s = ClusterState::new();
        s.set(Resource::Nodes, nodes);
        let ctx = Context::new(&s, v(current), v(target));
        let mut out = Vec::new();
        run(&ctx, &mut out);
        out
    }

    #[test]
    fn old_kubelet_blocks_at_the_first_hop_it_fails() {
        let f = findings(vec![node("old", "v1.18.20")], 20, 22);
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].severity, Severity::Blocker);
        assert_eq!(f[0].hop, Some(v(21)));
        assert_eq!(
            f[0].message,
            "kubelet 1.18 on old is too old for the 1.20 → 1.21 step (needs ≥ 1.19): drain and roll it to 1.20 first"
        );
    }

    #[test]
    fn kubelet_in_the_window_only_needs_aligning() {
        assert!(findings(vec![node("ok", "v1.22.1")], 22, 22).is_empty());
        let f = findings(vec![node("ok", "v1.21.4")], 21, 22);
        assert_eq!(f.len(), 1);
        assert_eq!((f[0].severity, f[0].hop), (Severity::Warning, None));
        assert_eq!(
            f[0].message,
            "kubelet 1.21 on ok stays below the 1.22 control plane: align it after the upgrade"
        );
        // n-3 from 1.25 on: a 1.25 kubelet may serve a 1.28 control plane, but no newer one.
        let f = findings(vec![node("n3", "v1.25.3")], 27, 28);
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].severity, Severity::Warning);
        assert!(f[0].message.ends_with("(at 1.25 it is as old as 1.28 allows, so it must move before the next control-plane upgrade)"));
    }

    #[test]
    fn newer_kubelet_blocks() {
        let f = findings(vec![node("ahead", "v1.24.0")], 22, 24);
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].hop, Some(v(23)));
        assert!(f[0].message.contains("newer than the 1.22 control plane"));
    }

    #[test]
    fn plan_rolls_again_when_needed() {
        // Worked example A of the design notes: 1.27 nodes, 1.29 → 1.33.
        let plan = rolls(v(29), &[v(30), v(31), v(32), v(33)], v(27));
        assert_eq!(plan.len(), 1);
        assert_eq!((plan[0].hop, plan[0].from), (v(31), v(30)));
        // 1.18 nodes from 1.20 to 1.24: roll to 1.20 before 1.21, then to 1.22 before 1.23.
        let f = findings(vec![node("a", "v1.18.0")], 20, 24);
        let hops: Vec<_> = f.iter().map(|f| f.hop).collect();
        assert_eq!(hops, [Some(v(21)), Some(v(23))]);
        assert!(f[1].message.starts_with(
            "kubelet on a, once rolled to 1.20, is too old for the 1.22 → 1.23 step (needs ≥ 1.21)"
        ));
    }

    #[test]
    fn without_hops_only_present_skew_counts() {
        assert!(findings(vec![node("ok", "v1.19.0")], 20, 20).is_empty());
        let f = findings(vec![node("old", "v1.17.0")], 20, 20);
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].hop, None);
    }

    #[test]
    fn recorded_cluster() {
        let nodes = fixture("core/v1/nodes.json");
        let got = |target: u16| -> Vec<(String, Severity, Option<KubeVersion>)> {
            let mut f = findings(nodes.clone(), 20, target);
            f.sort();
            f.into_iter()
                .map(|f| (f.object, f.severity, f.hop))
                .collect()
        };
        assert_eq!(
            got(22),
            [
                ("Node node-a1".to_owned(), Severity::Blocker, Some(v(21))),
                ("Node node-a2".to_owned(), Severity::Blocker, Some(v(22))),
                ("Node node-b1".to_owned(), Severity::Warning, None),
                ("Node node-b2".to_owned(), Severity::Warning, None),
            ]
        );
        let f = findings(nodes.clone(), 20, 22);
        assert!(f.iter().any(|f| f.message
            == "kubelet 1.18 on node-a1 is too old for the 1.20 → 1.21 step (needs ≥ 1.19): drain and roll it to 1.20 first"));
        assert!(f.iter().any(|f| f.message
            == "kubelet 1.19 on node-a2 is too old for the 1.21 → 1.22 step (needs ≥ 1.20): drain and roll it to 1.21 first"));
        // One hop: only node-a1 is out of the window; the rest lag behind 1.21.
        assert_eq!(
            got(21),
            [
                ("Node node-a1".to_owned(), Severity::Blocker, Some(v(21))),
                ("Node node-a2".to_owned(), Severity::Warning, None),
                ("Node node-b1".to_owned(), Severity::Warning, None),
                ("Node node-b2".to_owned(), Severity::Warning, None),
            ]
        );
    }

    #[test]
    fn a_kubelet_already_outside_the_window_says_so_first() {
        let mut s = ClusterState::new();
        s.set(
            Resource::Nodes,
            vec![json!({"metadata": {"name": "pool-b-2"},
                "status": {"nodeInfo": {"kubeletVersion": "v1.30.14"}}})],
        );
        for target in [35, 36] {
            let ctx = Context::new(&s, KubeVersion::new(1, 34), KubeVersion::new(1, target));
            let mut out = Vec::new();
            run(&ctx, &mut out);
            assert!(
                out[0].message.starts_with(
                    "kubelet 1.30 on pool-b-2 is already outside the window of the 1.34 control plane (needs ≥ 1.31), and too old for the 1.34 → 1.35 step (needs ≥ 1.32)"
                ),
                "{}",
                out[0].message
            );
        }
    }
}
