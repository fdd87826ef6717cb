//! NODE002: nodes that boot with cgroup v1, which kubelets from 1.35 refuse by default.
//!
//! Nodes do not report their cgroup version through the API, so it is inferred from the OS
//! image and the kernel ([`OS_IMAGES`]); every finding says so and how to confirm it.

use api_catalog::KubeVersion;

use super::util::{name, object_ref, text, version_of};
use super::{Check, CheckFinding, CodeInfo, Context, Family, Resource, Severity};

pub static CHECK: Check = Check {
    info: CodeInfo {
        code: "NODE002",
        family: Family::Readiness,
        title: "cgroup v1 nodes",
        severity: Severity::Blocker,
        reads: "Node status.nodeInfo.{osImage,kernelVersion,operatingSystem,kubeletVersion}",
        applies: "hops reaching 1.35 (kubelet failCgroupV1 defaults to true)",
        remediation: "Move the node pool to an OS image that boots with cgroup v2 (Amazon Linux 2023, Bottlerocket, Ubuntu 22.04 or later, Debian 11 or later, RHEL 9 family) with the node roll, before kubelets reach 1.35; setting failCgroupV1: false in the kubelet configuration only buys time.",
        explanation: "Linux exposes resource control to the kubelet and the container runtime through cgroups, in one of two layouts. cgroup v1 has been in maintenance in Kubernetes since 1.31, and from 1.35 the kubelet's failCgroupV1 setting defaults to true: a kubelet started on a cgroup v1 host exits instead of registering, so the node never comes back after its upgrade. Which layout a host uses is decided at boot by the OS and its kernel, and the node API does not report it, so the check infers it from the OS image and kernel version; the node itself has the final say (`stat -fc %T /sys/fs/cgroup/` prints cgroup2fs on cgroup v2). Changing the layout means a new image or new kernel arguments and a reboot, so it belongs in the node roll plan.",
        retired: None,
    },
    needs: &[Resource::Nodes],
    offline: false,
    needs_kubectl: false,
    uses: &[],
    run,
};

/// The minor whose kubelets refuse cgroup v1 by default (`data/removals.yaml`).
fn cgroup_v1_refused() -> Option<KubeVersion> {
    super::facts::find("NODE002", "cgroup-v1", super::facts::Effect::Refused).map(|f| f.minor)
}

/// The oldest kernel that boots a cgroup v2 host the kubelet can use.
const CGROUP_V2_KERNEL: (u32, u32) = (4, 15);

/// What an OS image boots with by default.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Layout {
    /// cgroup v1 (legacy or hybrid).
    V1,
    /// cgroup v2 (unified).
    V2,
    /// Depends on how the node was set up: the OS alone does not tell.
    Unknown,
}

/// An OS family as `status.nodeInfo.osImage` names it, and its default layout: cgroup v2 from
/// release `v2_from` (`(major, minor)` of the first version number after the name) when set,
/// else always `always`.
#[derive(Debug)]
struct OsImage {
    /// The start of `osImage`.
    prefix: &'static str,
    /// The first release that boots with cgroup v2.
    v2_from: Option<(u32, u32)>,
    /// The layout when `v2_from` is not set.
    always: Layout,
}

const fn from(prefix: &'static str, major: u32, minor: u32) -> OsImage {
    OsImage {
        prefix,
        v2_from: Some((major, minor)),
        always: Layout::Unknown,
    }
}

const fn always(prefix: &'static str, layout: Layout) -> OsImage {
    OsImage {
        prefix,
        v2_from: None,
        always: layout,
    }
}

/// OS images and their default cgroup layout, first match wins (more specific names first).
const OS_IMAGES: &[OsImage] = &[
    always("Amazon Linux 2023", Layout::V2),
    always("Amazon Linux 2", Layout::V1),
    from("Ubuntu", 21, 10),
    from("Debian GNU/Linux", 11, 0),
    from("CentOS Stream", 9, 0),
    from("CentOS Linux", 9, 0),
    // RHCOS numbers its releases after OpenShift, and the layout is a cluster setting there.
    always("Red Hat Enterprise Linux CoreOS", Layout::Unknown),
    from("Red Hat Enterprise Linux", 9, 0),
    from("Rocky Linux", 9, 0),
    from("AlmaLinux", 9, 0),
    from("Oracle Linux", 9, 0),
    // Bottlerocket variants are tied to the Kubernetes minor; every variant for 1.26 and
    // later boots with cgroup v2, and a 1.35 kubelet comes with such a variant.
    always("Bottlerocket", Layout::V2),
    always("Fedora CoreOS", Layout::V2),
    always("Talos", Layout::V2),
];

/// The first `major.minor` in `text` (`Server 7.9 (Maipo)` → 7.9, `18.04.5 LTS` → 18.4).
fn first_version(text: &str) -> Option<(u32, u32)> {
    let start = text.find(|c: char| c.is_ascii_digit())?;
    let mut parts = text[start..]
        .split(|c: char| !c.is_ascii_digit() && c != '.')
        .next()?
        .split('.');
    let major = parts.next()?.parse().ok()?;
    let minor = parts.next().and_then(|m| m.parse().ok()).unwrap_or(0);
    Some((major, minor))
}

/// The default layout of an OS image, from [`OS_IMAGES`].
fn os_layout(os_image: &str) -> Layout {
    let Some(os) = OS_IMAGES.iter().find(|o| os_image.starts_with(o.prefix)) else {
        return Layout::Unknown;
    };
    match os.v2_from {
        None => os.always,
        Some(v2) => match first_version(&os_image[os.prefix.len()..]) {
            Some(v) if v >= v2 => Layout::V2,
            Some(_) => Layout::V1,
            None => Layout::Unknown,
        },
    }
}

/// The layout a node boots with, as far as its OS image and kernel tell, and why.
fn infer(os_image: &str, kernel: &str) -> (Layout, String) {
    if first_version(kernel).is_some_and(|k| k < CGROUP_V2_KERNEL) {
        let (major, minor) = CGROUP_V2_KERNEL;
        return (
            Layout::V1,
            format!("{os_image} with kernel {kernel}, older than {major}.{minor}"),
        );
    }
    (os_layout(os_image), format!("{os_image} (kernel {kernel})"))
}

const CONFIRM: &str =
    "`stat -fc %T /sys/fs/cgroup/` on the node prints cgroup2fs on cgroup v2, tmpfs on v1";

fn run(ctx: &Context<'_>, out: &mut Vec<CheckFinding>) {
    let Some(refused) = cgroup_v1_refused() else {
        return;
    };
    let Some(hop) = ctx.hops.iter().copied().find(|h| *h >= refused) else {
        return; // No kubelet reaches that minor in this upgrade.
    };
    for node in ctx.state.list(Resource::Nodes) {
        if text(node, "/status/nodeInfo/operatingSystem").is_some_and(|os| os != "linux") {
            continue; // Windows nodes have no cgroups.
        }
        let os_image = text(node, "/status/nodeInfo/osImage").unwrap_or("");
        let kernel = text(node, "/status/nodeInfo/kernelVersion").unwrap_or("");
        if os_image.is_empty() && kernel.is_empty() {
            continue;
        }
        let kubelet = text(node, "/status/nodeInfo/kubeletVersion").and_then(version_of);
        let node_name = name(node);
        let object = object_ref("Node", node);
        let (layout, evidence) = infer(os_image, kernel);
        let finding = match layout {
            Layout::V2 => continue,
            Layout::V1 if kubelet.is_some_and(|k| k >= refused) => CheckFinding::new(
                &CHECK,
                Severity::Info,
                object,
                format!(
                    "{node_name} runs {evidence}, which boots with cgroup v1 by default (inferred from the OS image and kernel version; the API does not report the cgroup version), yet its kubelet is already {}: either it was moved to cgroup v2 or failCgroupV1 is turned off; confirm it ({CONFIRM}), as cgroup v1 support is in maintenance only",
                    kubelet.map_or_else(String::new, |k| k.to_string())
                ),
            ),
            Layout::V1 => CheckFinding::new(
                &CHECK,
                Severity::Blocker,
                object,
                format!(
                    "{node_name} runs {evidence}, which boots with cgroup v1 by default (inferred from the OS image and kernel version; the API does not report the cgroup version): kubelet {refused} refuses to start on cgroup v1 by default (failCgroupV1), so move the node to a cgroup v2 image before its kubelet reaches {refused}; to confirm, {CONFIRM}"
                ),
            ),
            Layout::Unknown => CheckFinding::new(
                &CHECK,
                Severity::Info,
                object,
                format!(
                    "{node_name} runs {evidence}, whose cgroup version cannot be inferred from the OS image (the API does not report it): kubelet {refused} refuses to start on cgroup v1 by default (failCgroupV1), so confirm it before its kubelet reaches {refused}: {CONFIRM}"
                ),
            ),
        };
        out.push(finding.at_hop(hop));
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

    fn node(name: &str, os_image: &str, kernel: &str, kubelet: &str) -> Value {
        json!({"metadata": {"name": name}, "status": {"nodeInfo": {"osImage": os_image,
            "kernelVersion": kernel, "kubeletVersion": kubelet, "operatingSystem": "linux"}}})
    }

    fn findings(nodes: Vec<Value>, current: u16, target: u16) -> Vec<CheckFinding> {
        let mut s = ClusterState::new();
        s.set(Resource::Nodes, nodes);
        let ctx = Context::new(&s, v(current), v(target));
        let mut out = Vec::new();
        run(&ctx, &mut out);
        out.sort();
        out
    }

    #[test]
    fn os_images_in_the_table() {
        let cases = [
            ("Amazon Linux 2", Layout::V1),
            ("Amazon Linux 2023.5.20240722", Layout::V2),
            ("Ubuntu 18.04.5 LTS", Layout::V1),
            ("Ubuntu 20.04.6 LTS", Layout::V1),
            ("Ubuntu 22.04.4 LTS", Layout::V2),
            ("Debian GNU/Linux 10 (buster)", Layout::V1),
            ("Debian GNU/Linux 12 (bookworm)", Layout::V2),
            ("CentOS Linux 7 (Core)", Layout::V1),
            ("CentOS Stream 8", Layout::V1),
            ("Red Hat Enterprise Linux Server 7.9 (Maipo)", Layout::V1),
            ("Red Hat Enterprise Linux 8.10 (Ootpa)", Layout::V1),
            ("Red Hat Enterprise Linux 9.4 (Plow)", Layout::V2),
            (
                "Red Hat Enterprise Linux CoreOS 415.92.202402201450-0",
                Layout::Unknown,
            ),
            ("Bottlerocket OS 1.19.2 (aws-k8s-1.29)", Layout::V2),
            ("Container-Optimized OS from Google", Layout::Unknown),
        ];
        for (os, layout) in cases {
            assert_eq!(os_layout(os), layout, "{os}");
        }
        assert_eq!(infer("Ubuntu 22.04.4 LTS", "4.14.35-1").0, Layout::V1);
        assert_eq!(infer("Ubuntu 22.04.4 LTS", "5.15.0-1051-aws").0, Layout::V2);
    }

    #[test]
    fn cgroup_v1_blocks_at_the_135_hop_only() {
        let nodes = vec![
            node(
                "al2",
                "Amazon Linux 2",
                "5.10.215-203.850.amzn2.x86_64",
                "v1.33.5-eks-1",
            ),
            node(
                "al2023",
                "Amazon Linux 2023.6.20241010",
                "6.1.112-122.189.amzn2023.x86_64",
                "v1.33.5-eks-1",
            ),
        ];
        let f = findings(nodes.clone(), 33, 36);
        assert_eq!(f.len(), 1);
        assert_eq!((f[0].severity, f[0].hop), (Severity::Blocker, Some(v(35))));
        assert_eq!(f[0].object, "Node al2");
        assert_eq!(
            f[0].message,
            "al2 runs Amazon Linux 2 (kernel 5.10.215-203.850.amzn2.x86_64), which boots with cgroup v1 by default (inferred from the OS image and kernel version; the API does not report the cgroup version): kubelet 1.35 refuses to start on cgroup v1 by default (failCgroupV1), so move the node to a cgroup v2 image before its kubelet reaches 1.35; to confirm, `stat -fc %T /sys/fs/cgroup/` on the node prints cgroup2fs on cgroup v2, tmpfs on v1"
        );
        assert!(findings(nodes, 33, 34).is_empty());
    }

    #[test]
    fn unknown_images_and_running_135_kubelets_are_advice() {
        let f = findings(
            vec![
                node(
                    "cos",
                    "Container-Optimized OS from Google",
                    "6.1.100+",
                    "v1.34.1-gke.1",
                ),
                node("ok", "Ubuntu 18.04.6 LTS", "5.4.0-1103-aws", "v1.35.0"),
            ],
            34,
            35,
        );
        let got: Vec<_> = f.iter().map(|f| (f.object.as_str(), f.severity)).collect();
        assert_eq!(
            got,
            [("Node cos", Severity::Info), ("Node ok", Severity::Info)]
        );
        assert!(
            f[0].message
                .contains("cannot be inferred from the OS image")
        );
        assert!(f[1].message.contains("failCgroupV1 is turned off"));
    }

    #[test]
    fn recorded_cluster() {
        let nodes = fixture("core/v1/nodes.json");
        assert!(findings(nodes.clone(), 20, 22).is_empty());
        assert!(findings(nodes.clone(), 20, 34).is_empty());
        // Every recorded node runs Ubuntu 18.04 or 20.04, which boot with cgroup v1.
        let f = findings(nodes, 20, 35);
        let got: Vec<_> = f
            .iter()
            .map(|f| (f.object.as_str(), f.severity, f.hop))
            .collect();
        assert_eq!(
            got,
            [
                ("Node node-a1", Severity::Blocker, Some(v(35))),
                ("Node node-a2", Severity::Blocker, Some(v(35))),
                ("Node node-b1", Severity::Blocker, Some(v(35))),
                ("Node node-b2", Severity::Blocker, Some(v(35))),
            ]
        );
        assert!(
            f[0].message
                .starts_with("node-a1 runs Ubuntu 18.04.5 LTS (kernel 5.4.0-1037-aws), which boots with cgroup v1 by default (inferred from the OS image")
        );
    }
}
