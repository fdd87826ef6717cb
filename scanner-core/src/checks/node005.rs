//! NODE005: kube-proxy running in IPVS mode, deprecated from 1.35 (KEP-5495).
//!
//! The mode is read where kubeadm and EKS keep kube-proxy's configuration (the kube-system
//! `ConfigMaps` `kube-proxy`, key `config.conf`, and `kube-proxy-config`, key `config`), and
//! from a `--proxy-mode` flag on the kube-proxy `DaemonSet`. An unset mode is iptables on
//! Linux, which stays supported: nothing to say about it.

use api_catalog::KubeVersion;
use serde_json::Value;

use super::util::{name, namespace, object_ref, text};
use super::{Check, CheckFinding, CodeInfo, Context, Family, Resource, Severity};
use crate::parse::{ParseLimits, yaml_value};

pub static CHECK: Check = Check {
    info: CodeInfo {
        code: "NODE005",
        family: Family::Readiness,
        title: "kube-proxy in IPVS mode",
        severity: Severity::Warning,
        reads: "ConfigMap kube-system/kube-proxy data.config.conf and kube-system/kube-proxy-config data.config (mode); DaemonSet kube-system/kube-proxy spec.template.spec.containers[].{command,args} (--proxy-mode)",
        applies: "the first hop to 1.35 or later (IPVS mode deprecated in 1.35)",
        remediation: "Plan the move to the nftables mode (GA in 1.33; Linux kernel 5.13 or newer and nft 1.0.1 or newer on every node): set mode: nftables in the kube-proxy configuration, drop the ipvs block, and restart the kube-proxy DaemonSet; or move to iptables mode.",
        explanation: "Kubernetes 1.35 deprecated kube-proxy's IPVS mode (KEP-5495): SIG Network no longer has maintainers for it, kube-proxy logs a warning when it starts in that mode, and the mode is to be removed in a later release (none has been set in a released version; the KEP discusses 1.38). The upgrade itself keeps working, so this is a warning, not a blocker: but IPVS bugs are no longer being fixed and the move to nftables (GA since 1.33, same constant-time lookups, incremental rule updates) is best planned now. The check reads the mode from kube-proxy's configuration as kubeadm (ConfigMap kube-proxy, config.conf) and EKS (ConfigMap kube-proxy-config, config) keep it, and from a --proxy-mode flag on the kube-proxy DaemonSet. An unset mode means iptables on Linux and is not reported.",
        retired: None,
    },
    needs: &[Resource::ConfigMaps],
    uses: &[Resource::DaemonSets],
    offline: true,
    needs_kubectl: false,
    run,
};

/// The minor that deprecated IPVS mode.
const DEPRECATED: KubeVersion = KubeVersion::new(1, 35);

/// The kube-proxy configurations: (`ConfigMap`, who writes it).
const CONFIGS: [(&str, &str); 2] = [("kube-proxy", "kubeadm"), ("kube-proxy-config", "EKS")];

/// The `mode` of a `KubeProxyConfiguration` document.
fn config_mode(config: &str) -> Option<String> {
    let doc = yaml_value(config, ParseLimits::default())?;
    Some(doc.get("mode")?.as_str()?.trim().to_ascii_lowercase())
}

/// The `--proxy-mode` a kube-proxy container is started with (`--proxy-mode=ipvs` or
/// `--proxy-mode ipvs`).
fn flag_mode(container: &Value) -> Option<String> {
    let words: Vec<&str> = ["command", "args"]
        .iter()
        .filter_map(|k| container.get(*k).and_then(Value::as_array))
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    words.iter().enumerate().find_map(|(i, w)| {
        if let Some(v) = w.strip_prefix("--proxy-mode=") {
            Some(v.trim().to_ascii_lowercase())
        } else if *w == "--proxy-mode" {
            words.get(i + 1).map(|v| v.trim().to_ascii_lowercase())
        } else {
            None
        }
    })
}

/// The kube-proxy `DaemonSet`: named so, or labelled `k8s-app=kube-proxy`, in kube-system.
fn is_kube_proxy(ds: &Value) -> bool {
    namespace(ds).is_none_or(|ns| ns == "kube-system")
        && (name(ds) == "kube-proxy" || text(ds, "/metadata/labels/k8s-app") == Some("kube-proxy"))
}

fn run(ctx: &Context<'_>, out: &mut Vec<CheckFinding>) {
    let Some(hop) = ctx.hops.iter().copied().find(|h| *h >= DEPRECATED) else {
        return;
    };
    let warn = |object: String, source: String| {
        CheckFinding::new(
            &CHECK,
            Severity::Warning,
            object,
            format!(
                "kube-proxy runs in IPVS mode ({source}), deprecated from {DEPRECATED} (kube-proxy logs a warning; removal to follow in a later release): plan the move to nftables mode"
            ),
        )
        .at_hop(hop)
    };
    for (config_map, writer) in CONFIGS {
        let mode = ctx.state.config_map(config_map).and_then(config_mode);
        if mode.as_deref() == Some("ipvs") {
            out.push(warn(
                format!("ConfigMap kube-system/{config_map}"),
                format!("mode: ipvs in the {writer} configuration"),
            ));
        }
    }
    for ds in ctx
        .state
        .list(Resource::DaemonSets)
        .iter()
        .filter(|d| is_kube_proxy(d))
    {
        let containers = ds
            .pointer("/spec/template/spec/containers")
            .and_then(Value::as_array);
        if containers
            .into_iter()
            .flatten()
            .any(|c| flag_mode(c).as_deref() == Some("ipvs"))
        {
            out.push(warn(
                object_ref("DaemonSet", ds),
                "--proxy-mode=ipvs on the DaemonSet".to_owned(),
            ));
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::checks::ClusterState;
    use serde_json::json;

    fn config_map(name: &str, key: &str, text: &str) -> Value {
        json!({"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": name, "namespace": "kube-system"},
            "data": {key: text}})
    }

    fn daemon_set(args: &[&str]) -> Value {
        json!({"apiVersion": "apps/v1", "kind": "DaemonSet",
            "metadata": {"name": "kube-proxy", "namespace": "kube-system"},
            "spec": {"template": {"spec": {"containers": [
                {"name": "kube-proxy", "image": "registry.k8s.io/kube-proxy:v1.34.1",
                 "command": ["/usr/local/bin/kube-proxy"], "args": args}]}}}})
    }

    fn run_on(
        config_maps: Vec<Value>,
        daemon_sets: Vec<Value>,
        from: u16,
        to: u16,
    ) -> Vec<CheckFinding> {
        let mut state = ClusterState::new();
        state.set(Resource::ConfigMaps, config_maps);
        state.set(Resource::DaemonSets, daemon_sets);
        let ctx = Context::new(&state, KubeVersion::new(1, from), KubeVersion::new(1, to));
        let mut out = Vec::new();
        run(&ctx, &mut out);
        out
    }

    const KUBEADM_IPVS: &str = "apiVersion: kubeproxy.config.k8s.io/v1alpha1\nkind: KubeProxyConfiguration\nipvs:\n  strictARP: true\nmode: \"ipvs\"\n";

    #[test]
    fn ipvs_in_kubeadm_and_eks_configs_warns_at_the_first_hop_from_1_35() {
        let cms = vec![
            config_map("kube-proxy", "config.conf", KUBEADM_IPVS),
            config_map(
                "kube-proxy-config",
                "config",
                "kind: KubeProxyConfiguration\nmode: IPVS\n",
            ),
        ];
        let out = run_on(cms, vec![], 1, 33);
        assert!(out.is_empty(), "{out:?}");
        let cms = vec![
            config_map("kube-proxy", "config.conf", KUBEADM_IPVS),
            config_map(
                "kube-proxy-config",
                "config",
                "kind: KubeProxyConfiguration\nmode: IPVS\n",
            ),
        ];
        let out = run_on(cms, vec![], 34, 36);
        assert_eq!(out.len(), 2, "{out:?}");
        assert!(
            out.iter()
                .all(|f| f.hop == Some(KubeVersion::new(1, 35)) && f.severity == Severity::Warning)
        );
        assert_eq!(out[0].object, "ConfigMap kube-system/kube-proxy");
        assert!(out[1].message.contains("EKS"), "{}", out[1].message);
    }

    #[test]
    fn the_daemon_set_flag_counts_in_both_spellings() {
        for args in [&["--proxy-mode=ipvs"][..], &["--proxy-mode", "ipvs"][..]] {
            let out = run_on(vec![], vec![daemon_set(args)], 34, 35);
            assert_eq!(out.len(), 1, "{args:?}");
            assert_eq!(out[0].object, "DaemonSet kube-system/kube-proxy");
        }
    }

    #[test]
    fn other_modes_defaults_and_other_config_maps_say_nothing() {
        let cms = vec![
            config_map(
                "kube-proxy",
                "config.conf",
                "kind: KubeProxyConfiguration\nmode: nftables\n",
            ),
            config_map(
                "kube-proxy-config",
                "config",
                "kind: KubeProxyConfiguration\nmode: \"\"\n",
            ),
            // Not kube-proxy's: its data is not even kept.
            config_map("my-proxy", "config", "mode: ipvs\n"),
            // Broken YAML is no finding and no panic.
            config_map("kubeadm-config", "ClusterConfiguration", "mode: [ipvs"),
        ];
        let out = run_on(
            cms,
            vec![daemon_set(&["--proxy-mode=iptables", "--v=2"])],
            34,
            36,
        );
        assert!(out.is_empty(), "{out:?}");
        let mut broken = config_map("kube-proxy", "config.conf", "mode: [ipvs");
        assert!(run_on(vec![broken.clone()], vec![], 34, 36).is_empty());
        broken["data"] = json!("not a map");
        assert!(run_on(vec![broken], vec![], 34, 36).is_empty());
    }
}
