//! ADD002: self-managed core add-ons behind the hops, and known pitfalls. This file holds the
//! registration and the `CoreDNS` part; the other add-ons (VPC CNI, cluster-autoscaler, the
//! retired community ingress-nginx) are in `add002_addons.rs`.
//!
//! The kubeadm defaults per minor are data (`data/kubeadm-coredns.csv`, compiled in), not
//! hard limits: kubeadm may move `CoreDNS` in a patch release and providers build their own.

use std::sync::LazyLock;

use api_catalog::KubeVersion;
use serde_json::Value;

use super::add002_addons::{self, Release, tag};
use super::util::{name, namespace, object_ref};
use super::{Check, CheckFinding, CodeInfo, Context, Family, Resource, Severity};

pub static CHECK: Check = Check {
    info: CodeInfo {
        code: "ADD002",
        family: Family::Readiness,
        title: "Self-managed core add-ons behind the target, and known add-on pitfalls",
        severity: Severity::Warning,
        reads: "Deployment kube-system/coredns (or kube-system Deployments labelled k8s-app=kube-dns) spec.template.spec.containers[].image tag; DaemonSet kube-system/aws-node containers[].{image,securityContext.runAsNonRoot} and spec.securityContext.runAsNonRoot; Deployments in every namespace running a cluster-autoscaler image (tag); Deployments running a metrics-server image (tag, against data/addon-kubernetes-max.csv); Deployments and DaemonSets running the community ingress-nginx controller image. Not read: kube-proxy (SKEW003's), the EKS add-on list and published tags (they need the EKS API)",
        applies: "every hop, when the cluster runs CoreDNS as a Deployment (the EndpointSlice note at hops reaching 1.22) or cluster-autoscaler; metrics-server at the first hop past its line's last supported minor; the VPC CNI before the first hop; the community ingress-nginx controller at any version",
        remediation: "Upgrade CoreDNS with the control plane, to the version listed for each minor (kubeadm does this itself; on managed clusters update the add-on), review the Corefile for plugins the new version dropped, and give the coredns ClusterRole list and watch on endpointslices.discovery.k8s.io before moving to the 1.8 line. Update the VPC CNI to 1.8 or later before the control plane, one minor at a time, and keep runAsNonRoot off the aws-node containers. Move cluster-autoscaler to the release line of each new control-plane minor right after that hop, and metrics-server to a line that supports the hop before it. Plan the move off the community ingress-nginx controller.",
        explanation: "Cluster DNS is the add-on everything else depends on, and it is not upgraded by a control-plane upgrade unless kubeadm or the provider's add-on manager does it. kubeadm ships one CoreDNS version per minor; a CoreDNS older than the one shipped for the minor before the target has been skipped by at least two upgrades and is running against apiservers it was never tested with. The 1.8 line that comes with 1.21 and 1.22 reads EndpointSlices instead of Endpoints, so a hand-maintained CoreDNS moved to it without the matching RBAC stops seeing Service backends. A Corefile that names a plugin the new version no longer has keeps the new pods from starting at all. The other self-managed add-ons have their own rules. Amazon's VPC CNI older than 1.8.0 must be updated before the EKS control plane is, and its upgrades go one minor at a time; an aws-node DaemonSet whose containers ask for runAsNonRoot (left by an eksctl CNI update) cannot start its pods, and without them new nodes get no pod network. cluster-autoscaler is built against one Kubernetes minor and is released per minor: after each hop it should run the release line of the new control plane. metrics-server's project publishes which Kubernetes versions each release line supports; the 0.3 line ends at 1.21, and past it kubectl top and the HorizontalPodAutoscalers lose their metrics. The community ingress-nginx controller (registry.k8s.io/ingress-nginx/controller) was retired in March 2026 and gets no fixes, for new Kubernetes versions either. kube-proxy's version is judged by SKEW003, not here.",
        retired: None,
    },
    needs: &[Resource::Deployments],
    offline: true,
    needs_kubectl: false,
    // The CNI and an ingress-nginx DaemonSet are read when allowed; CoreDNS needs no more.
    uses: &[Resource::DaemonSets],
    run,
};

/// The `CoreDNS` version kubeadm ships per Kubernetes minor (`kubernetes_minor,coredns_version`).
const KUBEADM_COREDNS: &str = include_str!("data/kubeadm-coredns.csv");

/// The first `CoreDNS` line that reads `EndpointSlices` (and needs RBAC for them).
const ENDPOINTSLICES_FROM: Release = Release::new(1, 8, 0);
/// The minor whose kubeadm moved `CoreDNS` onto the `EndpointSlice` line for good.
const ENDPOINTSLICE_MINOR: KubeVersion = KubeVersion::new(1, 22);

/// One row of the table, or why it does not parse.
fn parse_row(line: &str) -> Result<(KubeVersion, Release), String> {
    let (k8s, dns) = line
        .split_once(',')
        .ok_or_else(|| format!("{line:?}: expected two columns"))?;
    let k8s: KubeVersion = k8s
        .trim()
        .parse()
        .map_err(|e| format!("{line:?}: kubernetes_minor: {e}"))?;
    let dns = Release::parse(dns).ok_or_else(|| format!("{line:?}: bad coredns_version"))?;
    Ok((k8s, dns))
}

/// The rows after the header, each parsed.
fn rows() -> impl Iterator<Item = Result<(KubeVersion, Release), String>> {
    KUBEADM_COREDNS
        .lines()
        .skip(1)
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(parse_row)
}

/// The table (a unit test makes sure no row is dropped).
static SHIPPED: LazyLock<Vec<(KubeVersion, Release)>> =
    LazyLock::new(|| rows().filter_map(Result::ok).collect());

/// The `CoreDNS` kubeadm ships with `minor`.
fn shipped(minor: KubeVersion) -> Option<Release> {
    SHIPPED.iter().find(|(k, _)| *k == minor).map(|(_, d)| *d)
}

/// The `CoreDNS` version kubeadm ships with `minor`, as written in reports (`1.11.1`); the
/// plan names it per hop.
pub(crate) fn kubeadm_coredns(minor: KubeVersion) -> Option<String> {
    shipped(minor).map(|d| d.to_string())
}

/// The minor before `v` (`None` below x.1).
fn previous(v: KubeVersion) -> Option<KubeVersion> {
    Some(KubeVersion::new(v.major, v.minor.checked_sub(1)?))
}

/// The `CoreDNS` container's image: the container named `coredns`, else the first whose image
/// names coredns.
fn coredns_image(deployment: &Value) -> Option<&str> {
    fn image(c: &Value) -> Option<&str> {
        c.get("image").and_then(Value::as_str)
    }
    let containers = deployment
        .pointer("/spec/template/spec/containers")?
        .as_array()?;
    containers
        .iter()
        .find(|c| c.get("name").and_then(Value::as_str) == Some("coredns"))
        .and_then(image)
        .or_else(|| {
            containers
                .iter()
                .filter_map(image)
                .find(|i| i.contains("coredns"))
        })
}

/// The `CoreDNS` Deployment and its image: `kube-system/coredns`, else a kube-system Deployment
/// labelled `k8s-app=kube-dns` that runs a coredns image (the label is shared with kube-dns).
fn coredns(deployments: &[Value]) -> Option<(&Value, &str)> {
    let in_kube_system = || {
        deployments
            .iter()
            .filter(|d| namespace(d) == Some("kube-system"))
    };
    in_kube_system()
        .filter(|d| name(d) == "coredns")
        .chain(in_kube_system().filter(|d| {
            d.pointer("/metadata/labels/k8s-app")
                .and_then(Value::as_str)
                == Some("kube-dns")
        }))
        .find_map(|d| coredns_image(d).map(|i| (d, i)))
}

fn run(ctx: &Context<'_>, out: &mut Vec<CheckFinding>) {
    coredns_findings(ctx, out);
    add002_addons::run(&CHECK, ctx, out);
}

/// The `CoreDNS` part: behind kubeadm's version at a hop, and the `EndpointSlice` RBAC note.
fn coredns_findings(ctx: &Context<'_>, out: &mut Vec<CheckFinding>) {
    let Some((deployment, image)) = coredns(ctx.state.list(Resource::Deployments)) else {
        return; // No CoreDNS Deployment: not applicable.
    };
    let object = object_ref("Deployment", deployment);
    let Some(running) = tag(image).and_then(Release::parse) else {
        out.push(CheckFinding::new(
            &CHECK,
            Severity::Info,
            object,
            format!("the CoreDNS image {image} carries no version in its tag: compare it with the version kubeadm ships for {} by hand", ctx.target),
        ));
        return;
    };
    let hop = |f: CheckFinding, h: Option<KubeVersion>| match h {
        Some(h) => f.at_hop(h),
        None => f,
    };

    // Two releases behind: older than what the minor before the step already shipped. With
    // no hop, the same test on the version running now.
    let steps: Vec<(Option<KubeVersion>, KubeVersion)> = if ctx.hops.is_empty() {
        vec![(None, ctx.current)]
    } else {
        ctx.hops.iter().map(|h| (Some(*h), *h)).collect()
    };
    let behind = steps.iter().find_map(|&(at, minor)| {
        let before = previous(minor)?;
        let want = shipped(before)?;
        (running < want).then_some((at, minor, before, want))
    });
    if let Some((at, minor, before, want)) = behind {
        let step = match at {
            Some(h) => format!("the {before} → {h} step"),
            None => format!("the {minor} control plane"),
        };
        out.push(hop(
            CheckFinding::new(
                &CHECK,
                Severity::Warning,
                object.clone(),
                format!("CoreDNS {running} ({image}) is older than {want}, which kubeadm already shipped with {before}: it is two releases behind at {step}; upgrade it, with its Corefile and RBAC, before then"),
            ),
            at,
        ));
    } else {
        let last = ctx.hops.last().copied();
        match shipped(ctx.target) {
            Some(want) if running < want => out.push(hop(
                CheckFinding::new(
                    &CHECK,
                    Severity::Info,
                    object.clone(),
                    format!("CoreDNS {running} ({image}) is older than {want}, the version kubeadm ships with {}: upgrade it together with the control plane", ctx.target),
                ),
                last,
            )),
            Some(_) => {}
            None => out.push(hop(
                CheckFinding::new(
                    &CHECK,
                    Severity::Info,
                    object.clone(),
                    format!("no kubeadm CoreDNS version is on record for {}: compare CoreDNS {running} ({image}) with that release's notes by hand", ctx.target),
                ),
                last,
            )),
        }
    }

    if running < ENDPOINTSLICES_FROM
        && let Some(h) = ctx.hops.iter().copied().find(|h| *h >= ENDPOINTSLICE_MINOR)
    {
        out.push(
            CheckFinding::new(
                &CHECK,
                Severity::Warning,
                object,
                format!("CoreDNS {running} ({image}) predates the 1.8 line kubeadm ships for 1.22, which reads EndpointSlices instead of Endpoints: when it moves to 1.8, its ClusterRole must also allow list and watch on endpointslices.discovery.k8s.io, or it cannot see Service backends"),
            )
            .at_hop(h),
        );
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

    fn deployment(name: &str, labels: &Value, image: &str) -> Value {
        json!({"metadata": {"name": name, "namespace": "kube-system", "labels": labels},
            "spec": {"template": {"spec": {"containers": [{"name": "coredns", "image": image}]}}}})
    }

    fn findings(deployments: Vec<Value>, current: u16, target: u16) -> Vec<CheckFinding> {
        let mut s = ClusterState::new();
        s.set(Resource::Deployments, deployments);
        let ctx = Context::new(&s, v(current), v(target));
        let mut out = Vec::new();
        run(&ctx, &mut out);
        out.sort();
        out
    }

    fn got(f: &[CheckFinding]) -> Vec<(Severity, Option<KubeVersion>)> {
        f.iter().map(|f| (f.severity, f.hop)).collect()
    }

    #[test]
    fn every_row_of_the_table_parses() {
        let rows: Vec<_> = rows().collect();
        assert!(rows.len() >= 20, "{rows:?}");
        for row in &rows {
            assert!(row.is_ok(), "{row:?}");
        }
        assert_eq!(SHIPPED.len(), rows.len());
        // One row per minor, in order, never going backwards.
        for pair in SHIPPED.windows(2) {
            assert_eq!(pair[1].0, pair[0].0.next_minor());
            assert!(pair[1].1 >= pair[0].1, "{pair:?}");
        }
        assert_eq!(shipped(v(22)), Some(Release::new(1, 8, 4)));
    }

    #[test]
    fn tags_in_every_usual_form() {
        let parsed = |image: &str| tag(image).and_then(Release::parse);
        assert_eq!(
            parsed("registry.k8s.io/coredns/coredns:v1.8.0"),
            Some(Release::new(1, 8, 0))
        );
        assert_eq!(
            parsed("k8s.gcr.io/coredns:1.7.0"),
            Some(Release::new(1, 7, 0))
        );
        assert_eq!(
            parsed("602401143452.dkr.ecr.eu-west-1.amazonaws.com/eks/coredns:v1.11.4-eksbuild.2"),
            Some(Release::new(1, 11, 4))
        );
        assert_eq!(
            parsed("mirror:5000/coredns/coredns:1.9.3@sha256:abc"),
            Some(Release::new(1, 9, 3))
        );
        assert_eq!(parsed("mirror:5000/coredns/coredns"), None);
        assert_eq!(parsed("coredns/coredns:latest"), None);
    }

    #[test]
    fn old_coredns_warns_at_the_hop_it_falls_behind() {
        let d = vec![deployment(
            "coredns",
            &json!({"k8s-app": "kube-dns"}),
            "k8s.gcr.io/coredns:1.7.0",
        )];
        // 1.20 → 1.21: 1.7.0 is what 1.20 shipped, only behind 1.21's 1.8.0.
        let f = findings(d.clone(), 20, 21);
        assert_eq!(got(&f), [(Severity::Info, Some(v(21)))]);
        assert!(f[0].message.starts_with("CoreDNS 1.7.0 (k8s.gcr.io/coredns:1.7.0) is older than 1.8.0, the version kubeadm ships with 1.21"));
        // 1.20 → 1.22: behind 1.21's 1.8.0 at the 1.21 → 1.22 step, plus the EndpointSlice RBAC note.
        let f = findings(d, 20, 22);
        assert_eq!(
            got(&f),
            [
                (Severity::Warning, Some(v(22))),
                (Severity::Warning, Some(v(22)))
            ]
        );
        assert!(f.iter().any(|f| f.message
            == "CoreDNS 1.7.0 (k8s.gcr.io/coredns:1.7.0) is older than 1.8.0, which kubeadm already shipped with 1.21: it is two releases behind at the 1.21 → 1.22 step; upgrade it, with its Corefile and RBAC, before then"));
        assert!(
            f.iter()
                .any(|f| f.message.contains("endpointslices.discovery.k8s.io"))
        );
    }

    #[test]
    fn current_coredns_passes() {
        let d = vec![deployment(
            "coredns",
            &json!({}),
            "registry.k8s.io/coredns/coredns:v1.11.3",
        )];
        assert!(findings(d.clone(), 31, 32).is_empty());
        // Found by label under another name; an EKS build suffix is fine.
        let eks = vec![deployment(
            "dns",
            &json!({"k8s-app": "kube-dns"}),
            "602401143452.dkr.ecr.eu-west-1.amazonaws.com/eks/coredns:v1.8.4-eksbuild.1",
        )];
        assert!(findings(eks, 21, 22).is_empty());
        // kube-dns shares the label but is not CoreDNS.
        let kube_dns = vec![
            json!({"metadata": {"name": "kube-dns", "namespace": "kube-system", "labels": {"k8s-app": "kube-dns"}},
            "spec": {"template": {"spec": {"containers": [{"name": "kubedns", "image": "k8s.gcr.io/k8s-dns-kube-dns:1.14.13"}]}}}}),
        ];
        assert!(findings(kube_dns, 20, 24).is_empty());
    }

    #[test]
    fn recorded_cluster() {
        // The recorded cluster runs no CoreDNS Deployment: not applicable.
        let deployments = fixture("apps/v1/deployments.json");
        assert!(!deployments.is_empty());
        assert!(findings(deployments.clone(), 20, 22).is_empty());
        assert!(findings(deployments, 20, 30).is_empty());
    }
}
