//! SNAP002: what to back up before the first hop. A self-managed etcd (kubeadm's stacked etcd
//! mirror pods, or the external etcd its `ClusterConfiguration` names) is the one way back
//! from a failed control-plane upgrade: warning. The etcd kubeadm moves to on the way
//! (`data/kubeadm-etcd.csv`), Cluster API objects and `StatefulSets` with claim templates are
//! notes (info), one finding each.

use std::sync::LazyLock;

use api_catalog::KubeVersion;
use serde_json::Value;

use super::util::{first_container_words, flag_value, name, namespace, text};
use super::{Check, CheckFinding, CodeInfo, Context, Family, Resource, Severity};
use crate::parse::{ParseLimits, yaml_value};

pub static CHECK: Check = Check {
    info: CodeInfo {
        code: "SNAP002",
        family: Family::Readiness,
        title: "Backups before the first hop",
        severity: Severity::Info,
        reads: "kube-system Pods labelled component=etcd spec.containers[0].{image,command} (--data-dir); ConfigMap kube-system/kubeadm-config data.ClusterConfiguration (etcd.external.endpoints); KubeadmControlPlanes (present or not); StatefulSets spec.volumeClaimTemplates",
        applies: "before the first hop (warning for a self-managed etcd, info otherwise)",
        remediation: "Before the first hop: take an etcd snapshot on a control-plane node (etcdctl snapshot save, then etcdctl snapshot status or etcdutl snapshot status to verify it) and keep it off the node with the PKI; with Cluster API, back up its objects (clusterctl move --to-directory); back up the data of the StatefulSets listed (application or volume-snapshot backups).",
        explanation: "A control-plane upgrade that fails half-way, or an etcd that kubeadm moves to a new minor and that does not come back, can only be undone from an etcd snapshot taken before: Kubernetes has no downgrade. Where etcd is self-managed (kubeadm's stacked etcd shows as component=etcd mirror pods in kube-system; an external one is named in kubeadm's ClusterConfiguration) taking and verifying that snapshot is the first step of the runbooks, so its absence from the plan is a warning; the check names the data directory the snapshot restores into. kubeadm also upgrades a stacked etcd to the version it ships with each minor (data/kubeadm-etcd.csv): the hop that changes etcd's minor is named, since etcd cannot be downgraded across it. Managed control planes back up their own etcd. Cluster API management objects (KubeadmControlPlanes and the rest) and application data in PersistentVolumeClaims (StatefulSets with volumeClaimTemplates) are not in any etcd snapshot of the workload cluster: they are listed as notes, one finding each.",
        retired: None,
    },
    needs: &[Resource::Pods],
    uses: &[
        Resource::ConfigMaps,
        Resource::CapiControlPlanes,
        Resource::StatefulSets,
    ],
    offline: true,
    needs_kubectl: false,
    run,
};

const KUBEADM_ETCD_CSV: &str = include_str!("data/kubeadm-etcd.csv");

/// An etcd version: (major, minor, patch).
type EtcdVersion = (u32, u32, u32);

/// kubeadm's etcd per Kubernetes minor.
static KUBEADM_ETCD: LazyLock<Vec<(KubeVersion, EtcdVersion)>> = LazyLock::new(|| {
    KUBEADM_ETCD_CSV
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .skip(1)
        .filter_map(|l| {
            let (k, e) = l.split_once(',')?;
            Some((k.trim().parse().ok()?, etcd_version(e)?))
        })
        .collect()
});

/// `3.5.9` or an image tag `3.5.9-0` → (3, 5, 9).
fn etcd_version(text: &str) -> Option<(u32, u32, u32)> {
    let text = text.trim().trim_start_matches('v');
    let text = text.split(['-', '+']).next().unwrap_or(text);
    let mut parts = text.split('.');
    let mut next = || parts.next()?.parse::<u32>().ok();
    Some((next()?, next()?, next()?))
}

/// The etcd kubeadm ships with `minor`.
fn kubeadm_etcd(minor: KubeVersion) -> Option<(u32, u32, u32)> {
    KUBEADM_ETCD
        .iter()
        .find(|(k, _)| *k == minor)
        .map(|(_, e)| *e)
}

/// The external etcd endpoints of kubeadm's `ClusterConfiguration`, when it names any.
fn external_etcd(cluster_configuration: &str) -> Vec<String> {
    let Some(doc) = yaml_value(cluster_configuration, ParseLimits::default()) else {
        return Vec::new();
    };
    doc.pointer("/etcd/external/endpoints")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .map(str::to_owned)
        .collect()
}

fn dotted((a, b, c): (u32, u32, u32)) -> String {
    format!("{a}.{b}.{c}")
}

fn run(ctx: &Context<'_>, out: &mut Vec<CheckFinding>) {
    if ctx.hops.is_empty() {
        return;
    }
    let state = ctx.state;
    let etcd: Vec<&Value> = state
        .list(Resource::Pods)
        .iter()
        .filter(|p| {
            namespace(p).is_none_or(|ns| ns == "kube-system")
                && text(p, "/metadata/labels/component") == Some("etcd")
        })
        .collect();
    let external = state
        .config_map("kubeadm-config")
        .map(external_etcd)
        .unwrap_or_default();
    if !etcd.is_empty() {
        let mut members: Vec<String> = etcd
            .iter()
            .map(
                |p| match flag_value(&first_container_words(p), "--data-dir") {
                    Some(dir) => format!("{} (data dir {dir})", name(p)),
                    None => format!("{} (data dir not set: etcd's default)", name(p)),
                },
            )
            .collect();
        members.sort();
        out.push(CheckFinding::new(
            &CHECK,
            Severity::Warning,
            "etcd".to_owned(),
            format!(
                "self-managed etcd: {}; before the first hop take a snapshot (etcdctl snapshot save) and verify it (snapshot status), and keep it off the control-plane nodes: it is the only way back from a failed hop",
                members.join(", ")
            ),
        ));
        // The etcd kubeadm moves to: the hop that changes etcd's minor cannot be undone
        // without the snapshot.
        let running = etcd
            .iter()
            .filter_map(|p| text(p, "/spec/containers/0/image"))
            .filter_map(|i| etcd_version(i.rsplit(':').next().unwrap_or(i)))
            .min();
        if let Some(running) = running {
            let moves = ctx.hops.iter().find_map(|h| {
                let to = kubeadm_etcd(*h)?;
                ((to.0, to.1) > (running.0, running.1)).then_some((*h, to))
            });
            if let Some((hop, to)) = moves {
                out.push(
                    CheckFinding::new(
                        &CHECK,
                        Severity::Info,
                        "etcd".to_owned(),
                        format!(
                            "kubeadm moves etcd from {} to {} at the {hop} hop (a new etcd minor, no downgrade): the snapshot taken before must be at hand",
                            dotted(running),
                            dotted(to)
                        ),
                    )
                    .at_hop(hop),
                );
            }
        }
    } else if !external.is_empty() {
        out.push(CheckFinding::new(
            &CHECK,
            Severity::Warning,
            "etcd".to_owned(),
            format!(
                "external etcd ({}) named in kubeadm's ClusterConfiguration: before the first hop take and verify a snapshot of it (etcdctl snapshot save, snapshot status)",
                external.join(", ")
            ),
        ));
    }
    let control_planes = state.list(Resource::CapiControlPlanes);
    if !control_planes.is_empty() {
        let mut names: Vec<String> = control_planes
            .iter()
            .map(|c| format!("{}/{}", namespace(c).unwrap_or("default"), name(c)))
            .collect();
        names.sort();
        let names: Vec<&str> = names.iter().map(String::as_str).collect();
        out.push(CheckFinding::new(
            &CHECK,
            Severity::Info,
            "Cluster API objects".to_owned(),
            format!(
                "Cluster API manages this cluster (KubeadmControlPlane {}): back up its objects before the first hop (clusterctl move --to-directory, or your management cluster's backup)",
                super::util::names(&names)
            ),
        ));
    }
    let mut with_claims: Vec<String> = state
        .list(Resource::StatefulSets)
        .iter()
        .filter(|s| {
            s.pointer("/spec/volumeClaimTemplates")
                .and_then(Value::as_array)
                .is_some_and(|t| !t.is_empty())
        })
        .map(|s| match namespace(s) {
            Some(ns) => format!("{ns}/{}", name(s)),
            None => name(s).to_owned(),
        })
        .collect();
    if !with_claims.is_empty() {
        with_claims.sort();
        let names: Vec<&str> = with_claims.iter().map(String::as_str).collect();
        out.push(CheckFinding::new(
            &CHECK,
            Severity::Info,
            "StatefulSets".to_owned(),
            format!(
                "{} StatefulSet{} data in PersistentVolumeClaims ({}): back up their data (application dumps or volume snapshots) before the first hop; an etcd snapshot does not hold it",
                names.len(),
                if names.len() == 1 { " keeps" } else { "s keep" },
                super::util::names(&names)
            ),
        ));
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::checks::ClusterState;
    use serde_json::json;

    fn etcd_pod(node: &str, tag: &str, data_dir: &str) -> Value {
        json!({"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": format!("etcd-{node}"), "namespace": "kube-system",
                "labels": {"component": "etcd", "tier": "control-plane"}},
            "spec": {"nodeName": node, "containers": [{"name": "etcd",
                "image": format!("registry.k8s.io/etcd:{tag}"),
                "command": ["etcd", "--advertise-client-urls=https://10.0.0.1:2379",
                    format!("--data-dir={data_dir}")]}]}})
    }

    fn state(pods: Vec<Value>) -> ClusterState {
        let mut state = ClusterState::new();
        state.set(Resource::Pods, pods);
        state
    }

    fn run_on(state: &ClusterState, from: u16, to: u16) -> Vec<CheckFinding> {
        let ctx = Context::new(state, KubeVersion::new(1, from), KubeVersion::new(1, to));
        let mut out = Vec::new();
        run(&ctx, &mut out);
        out
    }

    #[test]
    fn the_etcd_table_reads_whole() {
        let rows = KUBEADM_ETCD_CSV
            .lines()
            .filter(|l| !l.starts_with('#'))
            .count();
        assert_eq!(KUBEADM_ETCD.len() + 1, rows);
        assert_eq!(kubeadm_etcd(KubeVersion::new(1, 34)), Some((3, 6, 4)));
        assert_eq!(etcd_version("3.5.9-0"), Some((3, 5, 9)));
    }

    #[test]
    fn stacked_etcd_warns_with_its_data_dir_and_the_etcd_minor_hop() {
        let s = state(vec![
            etcd_pod("cp1", "3.5.15-0", "/var/lib/etcd"),
            etcd_pod("cp2", "3.5.15-0", "/data/etcd"),
        ]);
        let out = run_on(&s, 31, 34);
        assert_eq!(out.len(), 2, "{out:?}");
        let warn = out
            .iter()
            .find(|f| f.severity == Severity::Warning)
            .unwrap();
        assert!(
            warn.message.contains("etcd-cp1 (data dir /var/lib/etcd)")
                && warn.message.contains("etcd-cp2 (data dir /data/etcd)"),
            "{}",
            warn.message
        );
        let moves = out.iter().find(|f| f.severity == Severity::Info).unwrap();
        assert_eq!(moves.hop, Some(KubeVersion::new(1, 34)));
        assert!(
            moves.message.contains("3.5.15 to 3.6.4"),
            "{}",
            moves.message
        );
        // No hop, no backup to take.
        assert!(run_on(&s, 34, 34).is_empty());
    }

    #[test]
    fn external_etcd_capi_and_claims_are_named_and_managed_clusters_are_quiet() {
        let mut s = state(vec![]);
        assert!(run_on(&s, 31, 32).is_empty());
        s.set(
            Resource::ConfigMaps,
            vec![json!({"metadata": {"name": "kubeadm-config", "namespace": "kube-system"},
                "data": {"ClusterConfiguration":
                    "kind: ClusterConfiguration\netcd:\n  external:\n    endpoints:\n    - https://10.0.0.9:2379\n"}})],
        );
        s.set(
            Resource::CapiControlPlanes,
            vec![json!({"metadata": {"name": "prod-cp", "namespace": "eksa-system"}})],
        );
        s.set(
            Resource::StatefulSets,
            vec![
                json!({"metadata": {"name": "db", "namespace": "data"},
                    "spec": {"volumeClaimTemplates": [{"metadata": {"name": "pgdata"}}]}}),
                json!({"metadata": {"name": "cache", "namespace": "data"},
                    "spec": {"volumeClaimTemplates": []}}),
            ],
        );
        let out = run_on(&s, 31, 32);
        let got: Vec<(&str, Severity)> = out
            .iter()
            .map(|f| (f.object.as_str(), f.severity))
            .collect();
        assert_eq!(
            got,
            [
                ("etcd", Severity::Warning),
                ("Cluster API objects", Severity::Info),
                ("StatefulSets", Severity::Info)
            ]
        );
        assert!(out[0].message.contains("https://10.0.0.9:2379"));
        assert!(
            out[2]
                .message
                .starts_with("1 StatefulSet keeps data in PersistentVolumeClaims (data/db)"),
            "{}",
            out[2].message
        );
    }
}
