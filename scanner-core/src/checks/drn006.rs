//! DRN006: `DaemonSet` pods a drain must be told to ignore, and pods whose `DaemonSet` is gone.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use super::util::{Drain, PodGroup, drain, name, names, namespace, object_ref, text};
use super::{Check, CheckFinding, CodeInfo, Context, Family, Resource, Severity};

pub static CHECK: Check = Check {
    info: CodeInfo {
        code: "DRN006",
        family: Family::Readiness,
        title: "DaemonSet and orphaned DaemonSet pods",
        severity: Severity::Warning,
        reads: "Pod metadata.{ownerReferences[kind=DaemonSet].{name,uid},namespace}, spec.nodeName; DaemonSet metadata.{name,namespace,uid}",
        applies: "every hop that drains or replaces nodes; on manifests every DaemonSet (the --ignore-daemonsets note)",
        remediation: "Drain with --ignore-daemonsets (managed node groups do); delete pods whose DaemonSet is gone (or recreate the DaemonSet) before the roll, since kubectl drain refuses them without --force.",
        explanation: "kubectl drain refuses to go on while DaemonSet pods run on the node unless it is given --ignore-daemonsets: their controller would recreate them at once, so they are left running and go with the node. Runbooks and pipelines that call kubectl drain must pass it. A pod whose DaemonSet was deleted with --cascade=orphan still names it as its controller but has nothing to recreate it: kubectl drain stops on it (\"cannot delete DaemonSet-managed Pods\" for a missing DaemonSet) until it is deleted by hand or the drain uses --force. The note is informational; an orphaned pod is a warning.",
        retired: None,
    },
    needs: &[Resource::Pods, Resource::DaemonSets],
    offline: true,
    needs_kubectl: false,
    uses: &[],
    run,
};

fn run(ctx: &Context<'_>, out: &mut Vec<CheckFinding>) {
    let daemonsets = ctx.state.list(Resource::DaemonSets);
    // Known by namespace and name, and by uid when the list carries it.
    let known: BTreeSet<(Option<&str>, &str)> =
        daemonsets.iter().map(|d| (namespace(d), name(d))).collect();
    let uids: BTreeMap<(Option<&str>, &str), &str> = daemonsets
        .iter()
        .filter_map(|d| Some(((namespace(d), name(d)), text(d, "/metadata/uid")?)))
        .collect();
    let mut orphans: BTreeMap<String, PodGroup<'_>> = BTreeMap::new();
    let mut running = 0usize;
    for pod in ctx.state.list(Resource::Pods) {
        if drain(pod) != Drain::LeftRunning {
            continue;
        }
        let Some(owner) = pod
            .pointer("/metadata/ownerReferences")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .find(|o| o.get("controller").and_then(Value::as_bool) == Some(true))
        else {
            continue;
        };
        let ds = owner.get("name").and_then(Value::as_str).unwrap_or("");
        let key = (namespace(pod), ds);
        // A DaemonSet recreated under the same name is another object: compare uids too.
        let same_uid = match (uids.get(&key), owner.get("uid").and_then(Value::as_str)) {
            (Some(a), Some(b)) => *a == b,
            _ => true,
        };
        if known.contains(&key) && same_uid {
            running += 1;
        } else {
            let object = match namespace(pod) {
                Some(ns) => format!("DaemonSet {ns}/{ds}"),
                None => format!("DaemonSet {ds}"),
            };
            orphans.entry(object).or_default().add(pod);
        }
    }
    for (object, group) in orphans {
        out.push(CheckFinding::new(
            &CHECK,
            Severity::Warning,
            object,
            format!(
                "is gone but its pods remain ({}{}): kubectl drain stops on them; delete them before the roll",
                names(&group.pods),
                group.place()
            ),
        ));
    }
    if !daemonsets.is_empty() {
        let list: Vec<String> = daemonsets
            .iter()
            .map(|d| object_ref("DaemonSet", d))
            .collect();
        let list: Vec<&str> = list.iter().map(String::as_str).collect();
        let pods = match running {
            0 => String::new(),
            1 => " (1 pod on the nodes)".to_owned(),
            n => format!(" ({n} pods on the nodes)"),
        };
        let sets = match daemonsets.len() {
            1 => "1 DaemonSet".to_owned(),
            n => format!("{n} DaemonSets"),
        };
        let stay = if daemonsets.len() == 1 {
            "stays"
        } else {
            "stay"
        };
        out.push(CheckFinding::new(
            &CHECK,
            Severity::Info,
            "cluster",
            format!(
                "{sets}{pods} {stay} on drained nodes: drains in runbooks and pipelines need --ignore-daemonsets ({})",
                names(&list)
            ),
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::ClusterState;
    use api_catalog::KubeVersion;
    use serde_json::json;

    #[test]
    fn orphans_and_the_ignore_note() {
        let pod = |name: &str, ds: &str, uid: &str| {
            json!({"metadata": {"name": name, "namespace": "mon",
                "ownerReferences": [{"kind": "DaemonSet", "name": ds, "uid": uid, "controller": true}]},
                "spec": {"nodeName": "n1"}, "status": {"phase": "Running"}})
        };
        let mut s = ClusterState::new();
        s.set(
            Resource::DaemonSets,
            vec![json!({"metadata": {"name": "fluentd", "namespace": "mon", "uid": "u1"}})],
        );
        s.set(
            Resource::Pods,
            vec![
                pod("fluentd-a", "fluentd", "u1"),
                pod("fluentd-old", "fluentd", "u0"),
                pod("telegraf-a", "telegraf", "u2"),
            ],
        );
        let ctx = Context::new(&s, KubeVersion::new(1, 29), KubeVersion::new(1, 30));
        let mut out = Vec::new();
        run(&ctx, &mut out);
        let got: Vec<(Severity, &str)> = out
            .iter()
            .map(|f| (f.severity, f.object.as_str()))
            .collect();
        assert_eq!(
            got,
            [
                (Severity::Warning, "DaemonSet mon/fluentd"),
                (Severity::Warning, "DaemonSet mon/telegraf"),
                (Severity::Info, "cluster"),
            ]
        );
        assert!(
            out[2]
                .message
                .starts_with("1 DaemonSet (1 pod on the nodes) stays"),
            "{}",
            out[2].message
        );
        // No DaemonSets and no orphans: nothing.
        let mut empty = ClusterState::new();
        empty.set(Resource::DaemonSets, vec![]);
        empty.set(Resource::Pods, vec![]);
        let ctx = Context::new(&empty, KubeVersion::new(1, 29), KubeVersion::new(1, 30));
        let mut out = Vec::new();
        run(&ctx, &mut out);
        assert!(out.is_empty());
    }
}
