//! WL005: `StatefulSets` whose pods are killed without any grace period.

use serde_json::Value;

use super::util::object_ref;
use super::{Check, CheckFinding, CodeInfo, Context, Family, Resource, Severity};

pub static CHECK: Check = Check {
    info: CodeInfo {
        code: "WL005",
        family: Family::Readiness,
        title: "StatefulSet grace period 0",
        severity: Severity::Warning,
        reads: "StatefulSet spec.template.spec.terminationGracePeriodSeconds",
        applies: "every hop that drains or replaces nodes; on manifests every StatefulSet",
        remediation: "Give the StatefulSet a real grace period (the default 30 s, or what the application needs to flush and leave its cluster) and a preStop hook if it must deregister first.",
        explanation: "terminationGracePeriodSeconds: 0 tells the kubelet to kill the containers at once: no SIGTERM handling, no flush, no leaving a quorum. For a StatefulSet, whose pods hold identities and volumes (databases, brokers, consensus members), every drain during the upgrade then becomes a crash of that member, and its replacement may start recovery or a leader election against a peer that is being drained next. The Kubernetes documentation warns against a zero grace period for StatefulSet pods for this reason.",
        retired: None,
    },
    needs: &[Resource::StatefulSets],
    offline: true,
    needs_kubectl: false,
    uses: &[],
    run,
};

fn run(ctx: &Context<'_>, out: &mut Vec<CheckFinding>) {
    for sts in ctx.state.list(Resource::StatefulSets) {
        let grace = sts
            .pointer("/spec/template/spec/terminationGracePeriodSeconds")
            .and_then(Value::as_i64);
        if grace == Some(0) {
            out.push(CheckFinding::new(
                &CHECK,
                Severity::Warning,
                object_ref("StatefulSet", sts),
                "terminationGracePeriodSeconds 0: every drain kills its pods without SIGTERM handling, a crash of each member in turn",
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::ClusterState;
    use api_catalog::KubeVersion;
    use serde_json::json;

    #[test]
    fn zero_grace_only() {
        let sts = |name: &str, grace: Option<i64>| {
            let mut s = json!({"metadata": {"name": name, "namespace": "db"},
                "spec": {"template": {"spec": {"containers": [{"name": "c"}]}}}});
            if let Some(g) = grace {
                s["spec"]["template"]["spec"]["terminationGracePeriodSeconds"] = json!(g);
            }
            s
        };
        let mut s = ClusterState::new();
        s.set(
            Resource::StatefulSets,
            vec![sts("kafka", Some(0)), sts("pg", None), sts("zk", Some(60))],
        );
        let ctx = Context::new(&s, KubeVersion::new(1, 29), KubeVersion::new(1, 30));
        let mut out = Vec::new();
        run(&ctx, &mut out);
        let got: Vec<&str> = out.iter().map(|f| f.object.as_str()).collect();
        assert_eq!(got, ["StatefulSet db/kafka"]);
    }
}
