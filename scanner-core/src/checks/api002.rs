//! API002: in-tree volume plugins that stop working at a hop.

use std::collections::BTreeSet;
use std::sync::LazyLock;

use api_catalog::KubeVersion;
use serde_json::Value;

use super::facts::{self, Effect};
use super::util::{is_finished, object_ref, text};
use super::{Check, CheckFinding, CodeInfo, Context, Family, Resource, Severity};

pub static CHECK: Check = Check {
    info: CodeInfo {
        code: "API002",
        family: Family::Readiness,
        title: "Volume plugins that stop working",
        severity: Severity::Blocker,
        reads: "PersistentVolume spec source keys; Pod spec.volumes[] source keys; CSIDriver names",
        applies: "hops crossing the release where an in-tree volume plugin is removed or only works through its CSI driver",
        remediation: "For CSI-migrated plugins install (and test) the named CSI driver before the hop; for removed plugins move the data to a supported volume type, and replace gitRepo volumes with an init container that clones into an emptyDir.",
        explanation: "Kubernetes is moving storage out of the kubelet and controller-manager. Some in-tree volume plugins were removed outright: a pod or PersistentVolume using one cannot be mounted once the cluster reaches that release. Others were migrated to CSI: the API still accepts the old fields, but every attach and mount is translated to a CSI driver, and without that driver installed the volume stops attaching, so the pod stays in ContainerCreating after the next drain. Both are decided by release, so the finding names the hop at which it starts to fail.",
        retired: None,
    },
    needs: &[
        Resource::PersistentVolumes,
        Resource::Pods,
        Resource::CsiDrivers,
    ],
    offline: true,
    needs_kubectl: false,
    uses: &[],
    run,
};

/// What happens to an in-tree volume source.
#[derive(Clone, Copy, Debug)]
enum Fate {
    /// Removed: nothing mounts it from this minor.
    Removed,
    /// Only works through this CSI driver from this minor.
    Migrated(&'static str),
    /// Off by default (warning) from the first minor, cannot be turned back on from the second.
    Disabled(KubeVersion),
}

/// One in-tree volume source: its spec key, the minor where it stops working, and how.
#[derive(Clone, Copy, Debug)]
struct Plugin {
    key: &'static str,
    stops: KubeVersion,
    fate: Fate,
}

/// In-tree volume plugins, from `data/removals.yaml` (release where each stops working, the
/// CSI driver it needs, and the source of each). `flexVolume` is left out: it is still served,
/// only kubeadm's automatic mount of its directory went away.
static PLUGINS: LazyLock<Vec<Plugin>> = LazyLock::new(|| {
    let facts = facts::of("API002");
    facts
        .iter()
        .filter_map(|f| {
            let fate = match f.effect {
                Effect::Removed => Fate::Removed,
                Effect::CsiMigrated => Fate::Migrated(f.driver.as_deref()?),
                Effect::Disabled => Fate::Disabled(
                    facts
                        .iter()
                        .find(|l| l.id == f.id && l.effect == Effect::Locked)?
                        .minor,
                ),
                Effect::Locked | Effect::Refused => return None,
            };
            Some(Plugin {
                key: f.id.as_str(),
                stops: f.minor,
                fate,
            })
        })
        .collect()
});

/// The severity, the minor where it starts, and what to say, for `plugin` on this upgrade (none
/// when the target does not reach it or the CSI driver is installed).
fn verdict(
    ctx: &Context<'_>,
    p: &Plugin,
    drivers: &BTreeSet<&str>,
) -> Option<(Severity, KubeVersion, String)> {
    if ctx.target < p.stops {
        return None;
    }
    let key = p.key;
    match p.fate {
        Fate::Removed => Some((
            Severity::Blocker,
            p.stops,
            format!(
                "the in-tree {key} plugin is removed in {}: move the data to a supported volume type",
                p.stops
            ),
        )),
        Fate::Migrated(driver) if !drivers.contains(driver) => {
            let installed = if drivers.is_empty() {
                "no CSIDriver is installed".to_owned()
            } else {
                format!(
                    "installed: {}",
                    drivers.iter().copied().collect::<Vec<_>>().join(", ")
                )
            };
            Some((
                Severity::Blocker,
                p.stops,
                format!(
                    "from {} in-tree {key} only works through the CSI driver {driver}, which is not installed ({installed}): install and test it first",
                    p.stops
                ),
            ))
        }
        Fate::Migrated(_) => None,
        Fate::Disabled(gone) if ctx.target >= gone => Some((
            Severity::Blocker,
            gone,
            format!(
                "{key} volumes cannot be re-enabled from {gone}: clone in an init container into an emptyDir instead"
            ),
        )),
        Fate::Disabled(_) => Some((
            Severity::Warning,
            p.stops,
            format!(
                "{key} volumes are disabled by default from {} (and cannot be re-enabled from 1.36): clone in an init container into an emptyDir instead",
                p.stops
            ),
        )),
    }
}

/// The spec keys of a volume source object (a PV's `spec`, or one `spec.volumes[]` entry).
fn sources(v: &Value) -> impl Iterator<Item = &Plugin> {
    PLUGINS
        .iter()
        .filter(|p| v.get(p.key).is_some_and(|s| !s.is_null()))
}

fn run(ctx: &Context<'_>, out: &mut Vec<CheckFinding>) {
    let drivers: BTreeSet<&str> = ctx
        .state
        .list(Resource::CsiDrivers)
        .iter()
        .filter_map(|d| text(d, "/metadata/name"))
        .collect();
    let mut report = |severity, object: String, since: KubeVersion, message: String| {
        let finding = CheckFinding::new(&CHECK, severity, object, message);
        // Already past it: broken now, at no particular hop.
        let hop = (since > ctx.current)
            .then(|| ctx.hops.iter().copied().find(|h| *h >= since))
            .flatten();
        out.push(match hop {
            Some(hop) => finding.at_hop(hop),
            None => finding,
        });
    };
    for pv in ctx.state.list(Resource::PersistentVolumes) {
        let Some(spec) = pv.get("spec") else {
            continue;
        };
        let claim = match (
            text(spec, "/claimRef/namespace"),
            text(spec, "/claimRef/name"),
        ) {
            (Some(ns), Some(n)) => format!(" (claim {ns}/{n})"),
            _ => String::new(),
        };
        for p in sources(spec) {
            if let Some((severity, since, why)) = verdict(ctx, p, &drivers) {
                report(
                    severity,
                    object_ref("PersistentVolume", pv),
                    since,
                    format!("uses {}{claim}; {why}", p.key),
                );
            }
        }
    }
    for pod in ctx.state.list(Resource::Pods) {
        if is_finished(pod) {
            continue;
        }
        let volumes = pod.pointer("/spec/volumes").and_then(Value::as_array);
        for volume in volumes.into_iter().flatten() {
            let volume_name = volume.get("name").and_then(Value::as_str).unwrap_or("?");
            for p in sources(volume) {
                if let Some((severity, since, why)) = verdict(ctx, p, &drivers) {
                    report(
                        severity,
                        object_ref("Pod", pod),
                        since,
                        format!("volume {volume_name} uses {}; {why}", p.key),
                    );
                }
            }
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

    fn findings(
        pvs: Vec<Value>,
        pods: Vec<Value>,
        drivers: &[&str],
        current: u16,
        target: u16,
    ) -> Vec<CheckFinding> {
        let mut s = ClusterState::new();
        s.set(Resource::PersistentVolumes, pvs);
        s.set(Resource::Pods, pods);
        s.set(
            Resource::CsiDrivers,
            drivers
                .iter()
                .map(|d| json!({"metadata": {"name": d}}))
                .collect(),
        );
        let ctx = Context::new(&s, v(current), v(target));
        let mut out = Vec::new();
        run(&ctx, &mut out);
        out.sort();
        out
    }

    fn ebs_pv() -> Value {
        json!({"metadata": {"name": "pv-1"}, "spec": {"awsElasticBlockStore": {"volumeID": "vol-1"},
            "claimRef": {"namespace": "a", "name": "data"}}})
    }

    #[test]
    fn migrated_source_without_driver_blocks_at_its_hop() {
        let f = findings(vec![ebs_pv()], vec![], &[], 25, 28);
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].severity, Severity::Blocker);
        assert_eq!(f[0].object, "PersistentVolume pv-1");
        assert_eq!(f[0].hop, Some(v(27)));
        assert!(
            f[0].message
                .contains("ebs.csi.aws.com, which is not installed (no CSIDriver is installed)")
        );
        // The driver installed, or a target before 1.27: nothing to say.
        assert!(findings(vec![ebs_pv()], vec![], &["ebs.csi.aws.com"], 25, 28).is_empty());
        assert!(findings(vec![ebs_pv()], vec![], &[], 25, 26).is_empty());
    }

    #[test]
    fn removed_and_git_repo_sources_in_pods() {
        let pod = json!({"metadata": {"name": "p", "namespace": "a"},
            "spec": {"volumes": [{"name": "src", "gitRepo": {"repository": "https://example.com/r.git"}},
                {"name": "shared", "glusterfs": {"endpoints": "gfs", "path": "vol"}},
                {"name": "tmp", "emptyDir": {}}]},
            "status": {"phase": "Running"}});
        let f = findings(vec![], vec![pod.clone()], &[], 32, 33);
        let got: Vec<(Severity, Option<KubeVersion>)> =
            f.iter().map(|f| (f.severity, f.hop)).collect();
        // glusterfs went in 1.26, before this upgrade: already broken, no hop.
        assert_eq!(
            got,
            [(Severity::Blocker, None), (Severity::Warning, Some(v(33)))]
        );
        assert!(f[0].message.starts_with("volume shared uses glusterfs"));
        let f = findings(vec![], vec![pod], &[], 35, 36);
        assert!(f.iter().all(|f| f.severity == Severity::Blocker));
        assert!(
            f.iter()
                .any(|f| f.hop == Some(v(36)) && f.message.starts_with("volume src uses gitRepo"))
        );
    }

    #[test]
    fn recorded_cluster() {
        let pvs = fixture("core/v1/persistentvolumes.json");
        let pods = fixture("core/v1/pods.json");
        let drivers: Vec<String> = fixture("storage.k8s.io/v1/csidrivers.json")
            .iter()
            .map(|d| d["metadata"]["name"].as_str().unwrap().to_owned())
            .collect();
        let drivers: Vec<&str> = drivers.iter().map(String::as_str).collect();
        assert_eq!(drivers, ["ebs.csi.aws.com"]);
        assert!(findings(pvs.clone(), pods.clone(), &drivers, 20, 22).is_empty());
        let f = findings(pvs, pods, &drivers, 20, 28);
        let got: Vec<(&str, Severity, Option<KubeVersion>)> = f
            .iter()
            .map(|f| (f.object.as_str(), f.severity, f.hop))
            .collect();
        assert_eq!(
            got,
            [
                (
                    "PersistentVolume pvc-406a0588-f55f-7dc9-d0f6-8b53639f152c",
                    Severity::Blocker,
                    Some(v(28))
                ),
                (
                    "PersistentVolume pvc-c0658ca8-4e11-c02c-122c-0ad52e338662",
                    Severity::Blocker,
                    Some(v(28))
                ),
                (
                    "PersistentVolume pvc-ed89b36b-2c3a-4814-9c0a-e788103ee153",
                    Severity::Blocker,
                    Some(v(28))
                ),
            ]
        );
        assert_eq!(
            f[1].message,
            "uses gcePersistentDisk (claim team-b/data-db-0); from 1.28 in-tree gcePersistentDisk only works through the CSI driver pd.csi.storage.gke.io, which is not installed (installed: ebs.csi.aws.com): install and test it first"
        );
    }
}
