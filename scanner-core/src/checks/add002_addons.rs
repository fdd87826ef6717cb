//! ADD002's add-ons besides `CoreDNS`: Amazon's VPC CNI (`aws-node`), cluster-autoscaler and
//! the retired community ingress-nginx controller. The code is registered in `add002.rs`,
//! which passes its declaration in (so this file does not import it back).
//!
//! Add-on release lines with a last supported Kubernetes minor published by their project are
//! data (`data/addon-kubernetes-max.csv`, with the source of each row); so far only
//! metrics-server 0.3.
//!
//! Left out on purpose: kube-proxy (SKEW003 judges its version; whether an EKS tag such as
//! `-minimal-eksbuild` exists needs the EKS API), and the EBS CSI driver (no per-minor
//! compatibility fact on record that this check could cite).

use std::fmt;
use std::sync::LazyLock;

use api_catalog::KubeVersion;
use serde_json::Value;

use super::util::{name, namespace, object_ref};
use super::{CheckFinding, CodeInfo, Context, Resource, Severity};

/// A release number (`1.8.4`, `v1.18.3-eksbuild.1`): unlike Kubernetes versions the patch
/// matters for add-ons.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(super) struct Release {
    major: u32,
    minor: u32,
    patch: u32,
}

impl Release {
    pub(super) const fn new(major: u32, minor: u32, patch: u32) -> Self {
        Self {
            major,
            minor,
            patch,
        }
    }

    /// `1.8.4`, `v1.8.4`, `v1.8.4-eksbuild.1`, `1.7` (patch 0).
    pub(super) fn parse(text: &str) -> Option<Self> {
        let bare = text.trim();
        let bare = bare.strip_prefix('v').unwrap_or(bare);
        let numeric = bare.split(['-', '+', '_']).next()?;
        let mut parts = numeric.split('.');
        let mut number = || -> Option<u32> {
            let p = parts.next()?;
            if p.is_empty() || !p.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            p.parse().ok()
        };
        let major = number()?;
        let minor = number()?;
        let patch = match parts.next() {
            None => 0,
            Some(p) if !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()) => p.parse().ok()?,
            Some(_) => return None,
        };
        if parts.next().is_some() {
            return None;
        }
        Some(Self::new(major, minor, patch))
    }

    /// Whether this release belongs to the Kubernetes minor `v` (`1.29.3` to 1.29).
    fn is_line(self, v: KubeVersion) -> bool {
        self.major == u32::from(v.major) && self.minor == u32::from(v.minor)
    }
}

impl fmt::Display for Release {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.major, self.minor, self.patch)
    }
}

/// The tag of an image reference, without a digest (`registry:5000/coredns` has none).
pub(super) fn tag(image: &str) -> Option<&str> {
    let image = image.split('@').next().unwrap_or(image);
    let last = image.rsplit('/').next().unwrap_or(image);
    last.split_once(':').map(|(_, t)| t)
}

/// The repository of an image reference: no tag, no digest
/// (`registry.k8s.io/ingress-nginx/controller`).
pub(super) fn repository(image: &str) -> &str {
    let image = image.split('@').next().unwrap_or(image);
    match image.rsplit_once('/') {
        Some((path, last)) => {
            let last = last.split(':').next().unwrap_or(last);
            &image[..path.len() + 1 + last.len()]
        }
        None => image.split(':').next().unwrap_or(image),
    }
}

/// The last segment of an image's repository (`amazon-k8s-cni`).
fn image_name(image: &str) -> &str {
    let repo = repository(image);
    repo.rsplit('/').next().unwrap_or(repo)
}

/// The VPC CNI releases older than this must be updated before the EKS control plane.
const CNI_BEFORE_CONTROL_PLANE: Release = Release::new(1, 8, 0);
/// When the community ingress-nginx project was retired (no fixes after it).
const INGRESS_NGINX_RETIRED: &str = "2026-03-24";

/// Release lines and the last Kubernetes minor their project supports
/// (`addon,release_line,last_kubernetes_minor,source`).
const KUBERNETES_MAX: &str = include_str!("data/addon-kubernetes-max.csv");

/// One row of the table: add-on, release line (major, minor), last minor it supports.
type MaxRow = (String, (u32, u32), KubeVersion);

/// The rows after the header, each parsed (or why not).
fn max_rows() -> impl Iterator<Item = Result<MaxRow, String>> {
    KUBERNETES_MAX
        .lines()
        .skip(1)
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(|line| {
            let mut cols = line.splitn(4, ',');
            let (Some(addon), Some(release), Some(last), Some(source)) =
                (cols.next(), cols.next(), cols.next(), cols.next())
            else {
                return Err(format!("{line:?}: expected four columns"));
            };
            if source.trim().is_empty() {
                return Err(format!("{line:?}: no source"));
            }
            let release =
                Release::parse(release).ok_or_else(|| format!("{line:?}: bad release_line"))?;
            let last: KubeVersion = last
                .trim()
                .parse()
                .map_err(|e| format!("{line:?}: last_kubernetes_minor: {e}"))?;
            Ok((
                addon.trim().to_owned(),
                (release.major, release.minor),
                last,
            ))
        })
}

/// The table (a unit test makes sure no row is dropped).
static MAX_SUPPORTED: LazyLock<Vec<MaxRow>> =
    LazyLock::new(|| max_rows().filter_map(Result::ok).collect());

/// The last Kubernetes minor `addon` at `running` supports, when its project gives one.
fn last_supported(addon: &str, running: Release) -> Option<KubeVersion> {
    MAX_SUPPORTED
        .iter()
        .find(|(a, line, _)| a == addon && *line == (running.major, running.minor))
        .map(|(_, _, last)| *last)
}

/// A container's image.
fn image(c: &Value) -> Option<&str> {
    c.get("image").and_then(Value::as_str)
}

/// A workload's template containers (init containers not included).
fn containers(w: &Value) -> &[Value] {
    w.pointer("/spec/template/spec/containers")
        .and_then(Value::as_array)
        .map_or(&[], Vec::as_slice)
}

/// Runs the add-on parts of ADD002 (`check` is its declaration).
pub(super) fn run(check: &CodeInfo, ctx: &Context<'_>, out: &mut Vec<CheckFinding>) {
    let daemonsets = ctx.state.list(Resource::DaemonSets);
    let deployments = ctx.state.list(Resource::Deployments);
    for ds in daemonsets.iter().filter(|d| is_aws_node(d)) {
        vpc_cni(check, ctx, ds, out);
    }
    for d in deployments {
        cluster_autoscaler(check, ctx, d, out);
        metrics_server(check, ctx, d, out);
    }
    for (kind, w) in deployments
        .iter()
        .map(|d| ("Deployment", d))
        .chain(daemonsets.iter().map(|d| ("DaemonSet", d)))
    {
        ingress_nginx(check, kind, w, out);
    }
}

/// The VPC CNI `DaemonSet`: `kube-system/aws-node`, or a kube-system `DaemonSet` running an
/// `amazon-k8s-cni` image.
fn is_aws_node(ds: &Value) -> bool {
    namespace(ds) == Some("kube-system")
        && (name(ds) == "aws-node"
            || containers(ds)
                .iter()
                .filter_map(image)
                .any(|i| image_name(i) == "amazon-k8s-cni"))
}

fn vpc_cni(check: &CodeInfo, ctx: &Context<'_>, ds: &Value, out: &mut Vec<CheckFinding>) {
    let object = object_ref("DaemonSet", ds);
    let cni = containers(ds)
        .iter()
        .filter_map(image)
        .find(|i| image_name(i) == "amazon-k8s-cni");
    if let (Some(first), Some(image)) = (ctx.hops.first(), cni) {
        match tag(image).and_then(Release::parse) {
            Some(running) if running < CNI_BEFORE_CONTROL_PLANE => out.push(
                CheckFinding::new(
                    check,
                    Severity::Blocker,
                    object.clone(),
                    format!("VPC CNI {running} ({image}) is older than {CNI_BEFORE_CONTROL_PLANE}: update it before the control plane moves to {first}, one minor at a time ({}.{} → {}.{} → …), checking aws-node is healthy after each step", running.major, running.minor, running.major, running.minor + 1),
                )
                .at_hop(*first),
            ),
            Some(_) => {}
            None => out.push(
                CheckFinding::new(
                    check,
                    Severity::Info,
                    object.clone(),
                    format!("the VPC CNI image {image} carries no version in its tag: make sure it is {CNI_BEFORE_CONTROL_PLANE} or later before the control plane moves to {first}"),
                )
                .at_hop(*first),
            ),
        }
    }
    // runAsNonRoot on the pod or a container: aws-node needs root to set up the node's
    // network, and its pods fail to start (eksctl's CNI update left it set).
    let pod_level = ds
        .pointer("/spec/template/spec/securityContext/runAsNonRoot")
        .and_then(Value::as_bool)
        == Some(true);
    let mut non_root: Vec<&str> = containers(ds)
        .iter()
        .filter(|c| {
            match c
                .pointer("/securityContext/runAsNonRoot")
                .and_then(Value::as_bool)
            {
                Some(set) => set,
                None => pod_level,
            }
        })
        .map(|c| c.get("name").and_then(Value::as_str).unwrap_or("?"))
        .collect();
    non_root.sort_unstable();
    if !non_root.is_empty() {
        out.push(CheckFinding::new(
            check,
            Severity::Warning,
            object,
            format!("runAsNonRoot: true on container {}: aws-node must run as root, and its pods fail to start (seen after eksctl CNI updates); remove runAsNonRoot (and allowPrivilegeEscalation: false) from its securityContext", non_root.join(", ")),
        ));
    }
}

/// cluster-autoscaler is released per Kubernetes minor: after each hop it should run the new
/// control plane's line.
fn cluster_autoscaler(check: &CodeInfo, ctx: &Context<'_>, d: &Value, out: &mut Vec<CheckFinding>) {
    let Some(image) = containers(d)
        .iter()
        .filter_map(image)
        .find(|i| image_name(i) == "cluster-autoscaler")
    else {
        return;
    };
    let object = object_ref("Deployment", d);
    let Some(running) = tag(image).and_then(Release::parse) else {
        out.push(CheckFinding::new(
            check,
            Severity::Info,
            object,
            format!("the cluster-autoscaler image {image} carries no version in its tag: run the release line of each control-plane minor (the {} line at {})", ctx.target, ctx.target),
        ));
        return;
    };
    if ctx.hops.is_empty() {
        if !running.is_line(ctx.current) {
            out.push(CheckFinding::new(
                check,
                Severity::Warning,
                object,
                format!("cluster-autoscaler {running} ({image}) is not on the {} line of the control plane: move it to the latest {} release", ctx.current, ctx.current),
            ));
        }
        return;
    }
    let mut from = ctx.current;
    for hop in &ctx.hops {
        if !running.is_line(*hop) {
            out.push(
                CheckFinding::new(
                    check,
                    Severity::Warning,
                    object.clone(),
                    format!("cluster-autoscaler {running} ({image}) does not match the {hop} control plane after the {from} → {hop} step: move it to the latest {hop} release right after that step"),
                )
                .at_hop(*hop),
            );
        }
        from = *hop;
    }
}

/// metrics-server (`metrics-server`, or an arch-suffixed `metrics-server-amd64`) on a release
/// line whose project stops supporting Kubernetes before a hop.
fn metrics_server(check: &CodeInfo, ctx: &Context<'_>, d: &Value, out: &mut Vec<CheckFinding>) {
    let Some(image) = containers(d).iter().filter_map(image).find(|i| {
        let n = image_name(i);
        n == "metrics-server" || n.starts_with("metrics-server-")
    }) else {
        return;
    };
    let Some(running) = tag(image).and_then(Release::parse) else {
        return; // No version to look up; EXT002 still sees a metrics API that is down.
    };
    let Some(last) = last_supported("metrics-server", running) else {
        return;
    };
    if let Some(hop) = ctx.hops.iter().copied().find(|h| *h > last) {
        let from = KubeVersion::new(hop.major, hop.minor.saturating_sub(1));
        out.push(
            CheckFinding::new(
                check,
                Severity::Warning,
                object_ref("Deployment", d),
                format!("metrics-server {running} ({image}): its project supports the {}.{} line up to Kubernetes {last} only{}; move it to a release line that supports {hop} before the {from} → {hop} step, or kubectl top and the HPAs lose their metrics", running.major, running.minor, if ctx.current > last { format!(", and the cluster already runs {}", ctx.current) } else { String::new() }),
            )
            .at_hop(hop),
        );
    }
}

/// The community ingress-nginx controller's images (current and pre-2020 repositories).
fn is_community_ingress_nginx(image: &str) -> bool {
    let repo = repository(image);
    repo.ends_with("ingress-nginx/controller")
        || repo.ends_with("ingress-nginx/controller-chroot")
        || repo.ends_with("kubernetes-ingress-controller/nginx-ingress-controller")
}

fn ingress_nginx(check: &CodeInfo, kind: &str, w: &Value, out: &mut Vec<CheckFinding>) {
    if let Some(image) = containers(w)
        .iter()
        .filter_map(image)
        .find(|i| is_community_ingress_nginx(i))
    {
        out.push(CheckFinding::new(
            check,
            Severity::Warning,
            object_ref(kind, w),
            format!("runs the community ingress-nginx controller ({image}), a project retired on {INGRESS_NGINX_RETIRED}: it gets no fixes, for the Kubernetes versions this upgrade moves to either; plan the move to a maintained Ingress or Gateway API controller"),
        ));
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::checks::{ClusterState, add002};
    use serde_json::json;

    fn v(minor: u16) -> KubeVersion {
        KubeVersion::new(1, minor)
    }

    fn workload(ns: &str, name: &str, containers: &Value) -> Value {
        json!({"metadata": {"name": name, "namespace": ns},
            "spec": {"template": {"spec": {"containers": containers}}}})
    }

    fn findings(
        deployments: Vec<Value>,
        daemonsets: Vec<Value>,
        current: u16,
        target: u16,
    ) -> Vec<CheckFinding> {
        let mut s = ClusterState::new();
        s.set(Resource::Deployments, deployments);
        s.set(Resource::DaemonSets, daemonsets);
        let ctx = Context::new(&s, v(current), v(target));
        let mut out = Vec::new();
        run(&add002::CHECK, &ctx, &mut out);
        out.sort();
        out
    }

    fn aws_node(image: &str, security: &Value) -> Value {
        workload(
            "kube-system",
            "aws-node",
            &json!([{"name": "aws-node", "image": image, "securityContext": security}]),
        )
    }

    #[test]
    fn every_row_of_the_support_table_parses() {
        let rows: Vec<_> = max_rows().collect();
        assert!(!rows.is_empty());
        for row in &rows {
            assert!(row.is_ok(), "{row:?}");
        }
        assert_eq!(MAX_SUPPORTED.len(), rows.len());
        assert_eq!(
            last_supported("metrics-server", Release::new(0, 3, 7)),
            Some(v(21))
        );
        assert_eq!(
            last_supported("metrics-server", Release::new(0, 4, 0)),
            None
        );
    }

    #[test]
    fn metrics_server_past_its_last_minor() {
        let ms = |image: &str| {
            vec![workload(
                "kube-system",
                "metrics-server",
                &json!([{"name": "metrics-server", "image": image}]),
            )]
        };
        let f = findings(ms("k8s.gcr.io/metrics-server-amd64:v0.3.6"), vec![], 20, 23);
        assert_eq!(f.len(), 1, "{f:?}");
        assert_eq!((f[0].severity, f[0].hop), (Severity::Warning, Some(v(22))));
        assert!(f[0].message.contains("supports the 0.3 line up to Kubernetes 1.21 only; move it to a release line that supports 1.22 before the 1.21 → 1.22 step"), "{}", f[0].message);
        // Up to 1.21 it is supported; 0.4 has no upper bound on record.
        assert!(
            findings(
                ms("k8s.gcr.io/metrics-server/metrics-server:v0.3.7"),
                vec![],
                20,
                21
            )
            .is_empty()
        );
        assert!(
            findings(
                ms("registry.k8s.io/metrics-server/metrics-server:v0.4.1"),
                vec![],
                20,
                23
            )
            .is_empty()
        );
    }

    #[test]
    fn images_split_into_repository_and_tag() {
        assert_eq!(
            repository("registry.k8s.io/ingress-nginx/controller:v1.9.4@sha256:abc"),
            "registry.k8s.io/ingress-nginx/controller"
        );
        assert_eq!(repository("mirror:5000/cni"), "mirror:5000/cni");
        assert_eq!(repository("nginx:1.19"), "nginx");
        assert_eq!(
            image_name("602401143452.dkr.ecr.us-west-2.amazonaws.com/amazon-k8s-cni:v1.7.5"),
            "amazon-k8s-cni"
        );
        assert_eq!(
            tag("x/amazon-k8s-cni:v1.18.3-eksbuild.1").and_then(Release::parse),
            Some(Release::new(1, 18, 3))
        );
    }

    #[test]
    fn old_vpc_cni_blocks_the_first_hop() {
        let ds = vec![aws_node(
            "602401143452.dkr.ecr.us-west-2.amazonaws.com/amazon-k8s-cni:v1.7.5-eksbuild.1",
            &json!({}),
        )];
        let f = findings(vec![], ds, 20, 22);
        assert_eq!(f.len(), 1, "{f:?}");
        assert_eq!(
            (f[0].severity, f[0].hop, f[0].object.as_str()),
            (
                Severity::Blocker,
                Some(v(21)),
                "DaemonSet kube-system/aws-node"
            )
        );
        assert!(
            f[0].message.starts_with("VPC CNI 1.7.5 (")
                && f[0].message.contains("one minor at a time (1.7 → 1.8 → …)"),
            "{}",
            f[0].message
        );
        // No hop: no control-plane update to block.
        let ds = vec![aws_node("x/amazon-k8s-cni:v1.7.5", &json!({}))];
        assert!(findings(vec![], ds, 22, 22).is_empty());
    }

    #[test]
    fn current_vpc_cni_passes_and_run_as_non_root_warns() {
        let ok = vec![aws_node("x/amazon-k8s-cni:v1.18.3-eksbuild.1", &json!({}))];
        assert!(findings(vec![], ok, 28, 30).is_empty());
        // An aws-node elsewhere is not the cluster's CNI.
        let elsewhere = vec![workload(
            "test",
            "aws-node",
            &json!([{"name": "aws-node", "image": "x/amazon-k8s-cni:v1.6.0"}]),
        )];
        assert!(findings(vec![], elsewhere, 28, 30).is_empty());
        let non_root = vec![aws_node(
            "x/amazon-k8s-cni:v1.18.3",
            &json!({"runAsNonRoot": true, "allowPrivilegeEscalation": false}),
        )];
        let f = findings(vec![], non_root, 28, 29);
        assert_eq!(f.len(), 1, "{f:?}");
        assert_eq!((f[0].severity, f[0].hop), (Severity::Warning, None));
        assert!(
            f[0].message
                .starts_with("runAsNonRoot: true on container aws-node:")
        );
        // Set on the pod, cleared on the container: the container wins.
        let mut cleared = aws_node("x/amazon-k8s-cni:v1.18.3", &json!({"runAsNonRoot": false}));
        cleared["spec"]["template"]["spec"]["securityContext"] = json!({"runAsNonRoot": true});
        assert!(findings(vec![], vec![cleared], 28, 29).is_empty());
        let mut pod_level = aws_node("x/amazon-k8s-cni:v1.18.3", &json!(null));
        pod_level["spec"]["template"]["spec"]["securityContext"] = json!({"runAsNonRoot": true});
        assert_eq!(findings(vec![], vec![pod_level], 28, 29).len(), 1);
    }

    #[test]
    fn cluster_autoscaler_follows_each_hop() {
        let ca = |tag: &str| {
            vec![workload(
                "autoscaling",
                "cluster-autoscaler",
                &json!([{"name": "ca", "image": format!("registry.k8s.io/autoscaling/cluster-autoscaler:{tag}")}]),
            )]
        };
        // 1.29 across 1.29 → 1.31: off the line after each step.
        let f = findings(ca("v1.29.4"), vec![], 29, 31);
        assert_eq!(
            f.iter().map(|f| (f.severity, f.hop)).collect::<Vec<_>>(),
            [
                (Severity::Warning, Some(v(30))),
                (Severity::Warning, Some(v(31)))
            ]
        );
        assert!(f[0].message.ends_with("does not match the 1.30 control plane after the 1.29 → 1.30 step: move it to the latest 1.30 release right after that step"), "{}", f[0].message);
        assert!(f[1].message.contains("after the 1.30 → 1.31 step"));
        // Already on the line of the only hop's control plane.
        assert_eq!(findings(ca("v1.30.1"), vec![], 29, 30).len(), 0);
        // No hop: compared with the control plane now.
        assert!(findings(ca("v1.29.4"), vec![], 29, 29).is_empty());
        assert_eq!(findings(ca("v1.27.0"), vec![], 29, 29).len(), 1);
        // The proportional autoscaler is another project.
        let cpa = vec![workload(
            "kube-system",
            "dns-autoscaler",
            &json!([{"name": "a", "image": "registry.k8s.io/cpa/cluster-proportional-autoscaler:v1.8.9"}]),
        )];
        assert!(findings(cpa, vec![], 29, 31).is_empty());
    }

    #[test]
    fn community_ingress_nginx_is_named() {
        let controller = vec![workload(
            "ingress-nginx",
            "ingress-nginx-controller",
            &json!([{"name": "controller", "image": "registry.k8s.io/ingress-nginx/controller:v1.11.2@sha256:d5f8"}]),
        )];
        let f = findings(controller, vec![], 30, 31);
        assert_eq!(f.len(), 1);
        assert_eq!(
            f[0].object,
            "Deployment ingress-nginx/ingress-nginx-controller"
        );
        assert!(f[0].message.contains("retired on 2026-03-24"));
        // F5's NGINX Ingress Controller is a different, maintained project.
        let f5 = vec![workload(
            "nginx",
            "nginx-ingress",
            &json!([{"name": "c", "image": "nginx/nginx-ingress:3.6.0"}]),
        )];
        assert!(findings(vec![], f5, 30, 31).is_empty());
    }
}
