//! SKEW003: kube-proxy outside the version skew the control plane allows, hop by hop.

use serde_json::Value;

use super::skew001::{Roll, Skew, rolls, skew};
use super::util::{name, namespace, object_ref, version_of};
use super::{Check, CheckFinding, CodeInfo, Context, Family, Resource, Severity};

pub static CHECK: Check = Check {
    info: CodeInfo {
        code: "SKEW003",
        family: Family::Readiness,
        title: "kube-proxy version skew per hop",
        severity: Severity::Blocker,
        reads: "DaemonSet kube-system/kube-proxy (or kube-system DaemonSets labelled k8s-app=kube-proxy or component=kube-proxy) spec.template.spec.containers[].image tag",
        applies: "every control-plane hop, when the cluster runs kube-proxy as a DaemonSet",
        remediation: "Move kube-proxy together with the node roll, to the control plane's minor before the hop named in the finding (never newer); on managed clusters use the add-on version listed for that cluster version.",
        explanation: "kube-proxy programs every node's Service rules from the apiserver's Services and EndpointSlices. It follows the same window as the kubelet: never newer than the apiserver, and at most two minors older (three when kube-proxy itself is 1.25 or later). Each control-plane hop raises the lower bound, so a kube-proxy left behind during a multi-minor upgrade ends up talking to an apiserver it was never tested against, and Service traffic on every node depends on it. The version is read from the DaemonSet's image tag, not from the node's kubeProxyVersion field, which only ever echoed the kubelet.",
        retired: None,
    },
    needs: &[Resource::DaemonSets],
    offline: true,
    needs_kubectl: false,
    uses: &[],
    run,
};

/// The kube-proxy `DaemonSets`: `kube-system/kube-proxy`, or those labelled as kube-proxy.
fn is_kube_proxy(ds: &Value) -> bool {
    if namespace(ds) != Some("kube-system") {
        return false;
    }
    if name(ds) == "kube-proxy" {
        return true;
    }
    let labelled = |labels: Option<&Value>| {
        labels.is_some_and(|l| {
            l.get("k8s-app").and_then(Value::as_str) == Some("kube-proxy")
                || l.get("component").and_then(Value::as_str) == Some("kube-proxy")
        })
    };
    labelled(ds.pointer("/metadata/labels"))
        || labelled(ds.pointer("/spec/template/metadata/labels"))
}

/// The kube-proxy container's image: the container named `kube-proxy`, else the first whose
/// image mentions kube-proxy, else the first.
fn image(ds: &Value) -> Option<&str> {
    fn image(c: &Value) -> Option<&str> {
        c.get("image").and_then(Value::as_str)
    }
    let containers = ds.pointer("/spec/template/spec/containers")?.as_array()?;
    containers
        .iter()
        .find(|c| c.get("name").and_then(Value::as_str) == Some("kube-proxy"))
        .and_then(image)
        .or_else(|| {
            containers
                .iter()
                .filter_map(image)
                .find(|i| i.contains("kube-proxy"))
        })
        .or_else(|| containers.first().and_then(image))
}

fn run(ctx: &Context<'_>, out: &mut Vec<CheckFinding>) {
    for ds in ctx
        .state
        .list(Resource::DaemonSets)
        .iter()
        .filter(|d| is_kube_proxy(d))
    {
        let object = object_ref("DaemonSet", ds);
        let Some(image) = image(ds) else {
            continue;
        };
        let Some(proxy) = version_of(image) else {
            out.push(CheckFinding::new(
                &CHECK,
                Severity::Info,
                object,
                format!("the kube-proxy image {image} carries no version in its tag: compare it with the control plane by hand"),
            ));
            continue;
        };
        if ctx.hops.is_empty() {
            let message = match skew(ctx.current, ctx.current, proxy) {
                Some(Skew::Newer) => format!(
                    "kube-proxy {proxy} ({image}) is newer than the {} control plane: move it back to {}",
                    ctx.current, ctx.current
                ),
                Some(Skew::TooOld { needs }) => format!(
                    "kube-proxy {proxy} ({image}) is older than the {} control plane supports (needs ≥ {needs}): move it to {}",
                    ctx.current, ctx.current
                ),
                None => continue,
            };
            out.push(CheckFinding::new(
                &CHECK,
                Severity::Blocker,
                object,
                message,
            ));
            continue;
        }
        for roll in rolls(ctx.current, &ctx.hops, proxy) {
            let Roll { hop, from, at, why } = roll;
            let subject = if at == proxy {
                format!("kube-proxy {proxy} ({image})")
            } else {
                format!("kube-proxy, once moved to {at},")
            };
            let message = match why {
                Skew::Newer => format!(
                    "{subject} is newer than the {from} control plane (kube-proxy may never be newer than the apiserver): move it to {from} before the {from} → {hop} step"
                ),
                Skew::TooOld { needs } => format!(
                    "{subject} is too old for the {from} → {hop} step (needs ≥ {needs}): move it to {from} first"
                ),
            };
            out.push(
                CheckFinding::new(&CHECK, Severity::Blocker, object.clone(), message).at_hop(hop),
            );
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::checks::ClusterState;
    use api_catalog::KubeVersion;
    use serde_json::json;

    use crate::checks::util::recorded_items as fixture;

    fn v(minor: u16) -> KubeVersion {
        KubeVersion::new(1, minor)
    }

    fn proxy(name: &str, labels: &Value, image: &str) -> Value {
        json!({"metadata": {"name": name, "namespace": "kube-system", "labels": labels},
            "spec": {"template": {"spec": {"containers": [{"name": "kube-proxy", "image": image}]}}}})
    }

    fn findings(daemonsets: Vec<Value>, current: u16, target: u16) -> Vec<CheckFinding> {
        let mut s = ClusterState::new();
        s.set(Resource::DaemonSets, daemonsets);
        let ctx = Context::new(&s, v(current), v(target));
        let mut out = Vec::new();
        run(&ctx, &mut out);
        out
    }

    #[test]
    fn old_kube_proxy_blocks_at_its_hop() {
        let f = findings(
            vec![proxy(
                "kube-proxy",
                &json!({}),
                "registry.k8s.io/kube-proxy:v1.27.3",
            )],
            29,
            31,
        );
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].severity, Severity::Blocker);
        assert_eq!(f[0].object, "DaemonSet kube-system/kube-proxy");
        assert_eq!(f[0].hop, Some(v(31)));
        assert!(
            f[0].message
                .contains("too old for the 1.30 → 1.31 step (needs ≥ 1.28)")
        );
    }

    #[test]
    fn kube_proxy_in_the_window_passes() {
        assert!(
            findings(
                vec![proxy(
                    "kube-proxy",
                    &json!({}),
                    "registry.k8s.io/kube-proxy:v1.29.0"
                )],
                29,
                31
            )
            .is_empty()
        );
    }

    #[test]
    fn found_by_label_and_newer_blocks() {
        let f = findings(
            vec![proxy(
                "proxy-ds",
                &json!({"k8s-app": "kube-proxy"}),
                "example.com/kube-proxy:v1.24.1-eksbuild.2",
            )],
            22,
            23,
        );
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].hop, Some(v(23)));
        assert!(f[0].message.contains("newer than the 1.22 control plane"));
        // Other kube-system DaemonSets are not kube-proxy.
        assert!(
            findings(
                vec![proxy(
                    "aws-node",
                    &json!({"k8s-app": "aws-node"}),
                    "cni:v1.10.0"
                )],
                22,
                23
            )
            .is_empty()
        );
    }

    #[test]
    fn recorded_cluster() {
        // The recorded cluster runs no kube-proxy (only monitoring/node-exporter): not applicable.
        let daemonsets = fixture("apps/v1/daemonsets.json");
        assert!(!daemonsets.is_empty());
        assert!(findings(daemonsets.clone(), 20, 22).is_empty());
        assert!(findings(daemonsets, 20, 24).is_empty());
    }
}
