//! ADD004: `CoreDNS` configuration the upgraded `CoreDNS` will not take: Corefile plugins and
//! options that `CoreDNS` removed (`data/coredns-removals.csv`), a Corefile without the `ready`
//! plugin, and user PDBs over the DNS pods beside the managed add-on's own.

use std::sync::LazyLock;

use api_catalog::KubeVersion;
use serde_json::json;

use super::add002::kubeadm_coredns;
use super::util::{name, namespace, object_ref, selects};
use super::{Check, CheckFinding, CodeInfo, Context, Family, Resource, Severity};

pub static CHECK: Check = Check {
    info: CodeInfo {
        code: "ADD004",
        family: Family::Readiness,
        title: "CoreDNS configuration",
        severity: Severity::Warning,
        reads: "ConfigMap kube-system/coredns data.Corefile; PodDisruptionBudgets spec.selector (those selecting k8s-app=kube-dns)",
        applies: "the first hop whose CoreDNS (kubeadm's for that minor) no longer has a plugin or option the Corefile uses; a missing ready plugin and extra DNS PDBs at the first hop",
        remediation: "Edit the coredns ConfigMap before the hop: replace proxy with forward, drop the kubernetes plugin's upstream, resyncperiod and transfer options (use the transfer plugin), keep or add the ready plugin; delete a PDB of your own over the k8s-app=kube-dns pods before the add-on update.",
        explanation: "An upgrade moves CoreDNS too (kubeadm installs the CoreDNS of the new minor; EKS and other providers update their add-on): a Corefile that still uses a plugin or option CoreDNS has removed makes the new CoreDNS fail to start, and kubeadm's preflight refuses to migrate it. Which items went when is data (data/coredns-removals.csv, from coredns/corefile-migration and CoreDNS release notes); the CoreDNS version of each hop is kubeadm's (the table ADD002 uses), a reference for other providers. The ready plugin serves /ready on :8181, which kubeadm's and EKS's CoreDNS Deployments probe: without it the new pods never become ready. The managed CoreDNS add-on (EKS since v1.9.3-eksbuild.6 / v1.10.1-eksbuild.3) ships its own PodDisruptionBudget named coredns; a PDB of your own selecting k8s-app=kube-dns means two budgets over the same pods, which the eviction API refuses (every drain of a node with a DNS pod fails). A PDB is the add-on's own when it is kube-system/coredns; any other PDB selecting those pods is reported as the user's.",
        retired: None,
    },
    needs: &[Resource::ConfigMaps],
    uses: &[Resource::PodDisruptionBudgets],
    offline: true,
    needs_kubectl: false,
    run,
};

const REMOVALS_CSV: &str = include_str!("data/coredns-removals.csv");

/// A Corefile item `CoreDNS` removed.
#[derive(Debug)]
struct Removal {
    /// The plugin or option name.
    item: String,
    /// The plugin it is an option of (`None`: a plugin).
    option_of: Option<String>,
    /// The `CoreDNS` version that no longer has it.
    removed_in: (u32, u32, u32),
    /// What to use instead, when anything.
    replacement: Option<String>,
}

static REMOVALS: LazyLock<Vec<Removal>> = LazyLock::new(|| {
    REMOVALS_CSV
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .skip(1)
        .filter_map(|l| {
            let f: Vec<&str> = l.splitn(5, ',').collect();
            let non_empty = |s: &str| (!s.is_empty()).then(|| s.to_owned());
            Some(Removal {
                item: f.first()?.to_string(),
                option_of: non_empty(f.get(1)?),
                removed_in: dns_version(f.get(2)?)?,
                replacement: non_empty(f.get(3)?),
            })
        })
        .collect()
});

/// `1.11.3` → (1, 11, 3).
fn dns_version(text: &str) -> Option<(u32, u32, u32)> {
    let mut parts = text.trim().trim_start_matches('v').split('.');
    let mut next = || parts.next()?.parse::<u32>().ok();
    Some((next()?, next()?, next().unwrap_or(0)))
}

/// A plugin of a server block, or an option inside a plugin's block.
#[derive(Debug, PartialEq, Eq)]
struct Directive {
    name: String,
    /// The plugin whose block holds it (`None`: a plugin).
    option_of: Option<String>,
}

/// The plugins and plugin options of a Corefile. Server blocks are depth 1, a plugin's own
/// block depth 2; comments are dropped. Enough for names: arguments are not interpreted.
fn directives(corefile: &str) -> Vec<Directive> {
    let mut out = Vec::new();
    let mut depth: usize = 0;
    let mut plugin = String::new();
    for line in corefile.lines() {
        let line = line.split('#').next().unwrap_or("").trim();
        let Some(first) = line.split_whitespace().next() else {
            continue;
        };
        let word = first.trim_end_matches('{');
        if !word.is_empty() && !word.starts_with('}') {
            match depth {
                1 => {
                    word.clone_into(&mut plugin);
                    out.push(Directive {
                        name: plugin.clone(),
                        option_of: None,
                    });
                }
                2 => out.push(Directive {
                    name: word.to_owned(),
                    option_of: Some(plugin.clone()),
                }),
                _ => {}
            }
        }
        let opens = line.matches('{').count();
        let closes = line.matches('}').count();
        depth = (depth + opens).saturating_sub(closes);
    }
    out
}

/// The first hop whose kubeadm `CoreDNS` is at or past `version`, with that `CoreDNS`.
fn first_hop_with(ctx: &Context<'_>, version: (u32, u32, u32)) -> Option<(KubeVersion, String)> {
    ctx.hops.iter().find_map(|h| {
        let dns = kubeadm_coredns(*h)?;
        (dns_version(&dns)? >= version).then_some((*h, dns))
    })
}

fn run(ctx: &Context<'_>, out: &mut Vec<CheckFinding>) {
    let Some(&first) = ctx.hops.first() else {
        return;
    };
    let object = "ConfigMap kube-system/coredns".to_owned();
    if let Some(corefile) = ctx.state.config_map("coredns") {
        let used = directives(corefile);
        for removal in REMOVALS.iter() {
            let found = used
                .iter()
                .any(|d| d.name == removal.item && d.option_of == removal.option_of);
            if !found {
                continue;
            }
            let Some((hop, dns)) = first_hop_with(ctx, removal.removed_in) else {
                continue;
            };
            let what = match &removal.option_of {
                Some(p) => format!("the {p} plugin's {} option", removal.item),
                None => format!("the {} plugin", removal.item),
            };
            let (a, b, c) = removal.removed_in;
            let instead = match &removal.replacement {
                Some(r) => format!("use {r} instead"),
                None => "remove it".to_owned(),
            };
            out.push(
                CheckFinding::new(
                    &CHECK,
                    Severity::Warning,
                    object.clone(),
                    format!(
                        "the Corefile uses {what}, removed in CoreDNS {a}.{b}.{c}: CoreDNS {dns} (kubeadm's for {hop}) will not start with it and kubeadm's preflight refuses it; {instead} before the hop"
                    ),
                )
                .at_hop(hop),
            );
        }
        if !used.is_empty()
            && !used
                .iter()
                .any(|d| d.name == "ready" && d.option_of.is_none())
        {
            out.push(
                CheckFinding::new(
                    &CHECK,
                    Severity::Warning,
                    object.clone(),
                    "the Corefile has no ready plugin: the CoreDNS Deployment's readiness probe (/ready on :8181, kubeadm's and the EKS add-on's) never passes after the update; add `ready` to the server block".to_owned(),
                )
                .at_hop(first),
            );
        }
    }
    let dns_pods = json!({"k8s-app": "kube-dns"});
    for pdb in ctx.state.list(Resource::PodDisruptionBudgets) {
        // A PDB only selects pods of its own namespace (a manifest may leave it out).
        if namespace(pdb).is_some_and(|ns| ns != "kube-system") || name(pdb) == "coredns" {
            continue;
        }
        if !selects(pdb.pointer("/spec/selector"), Some(&dns_pods)) {
            continue;
        }
        out.push(
            CheckFinding::new(
                &CHECK,
                Severity::Warning,
                object_ref("PodDisruptionBudget", pdb),
                "selects the CoreDNS pods (k8s-app=kube-dns) and is not the add-on's own PDB (kube-system/coredns): with the managed add-on's PDB beside it, two budgets cover the same pods and every eviction of a DNS pod fails; delete it before the add-on update".to_owned(),
            )
            .at_hop(first),
        );
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::checks::ClusterState;
    use serde_json::Value;

    const OLD: &str = ".:53 {\n    errors\n    health\n    kubernetes cluster.local in-addr.arpa ip6.arpa {\n       pods insecure\n       upstream\n       fallthrough in-addr.arpa ip6.arpa\n    }\n    prometheus :9153\n    proxy . /etc/resolv.conf # old\n    cache 30\n}\n";

    const CURRENT: &str = ".:53 {\n    errors\n    health {\n       lameduck 5s\n    }\n    ready\n    kubernetes cluster.local in-addr.arpa ip6.arpa {\n       pods insecure\n       fallthrough in-addr.arpa ip6.arpa\n       ttl 30\n    }\n    prometheus :9153\n    forward . /etc/resolv.conf {\n       max_concurrent 1000\n    }\n    cache 30\n    loop\n    reload\n    loadbalance\n}\n";

    fn state(corefile: &str, pdbs: Vec<Value>) -> ClusterState {
        let mut state = ClusterState::new();
        state.set(
            Resource::ConfigMaps,
            vec![json!({"apiVersion": "v1", "kind": "ConfigMap",
                "metadata": {"name": "coredns", "namespace": "kube-system"},
                "data": {"Corefile": corefile}})],
        );
        state.set(Resource::PodDisruptionBudgets, pdbs);
        state
    }

    fn run_on(state: &ClusterState, from: u16, to: u16) -> Vec<CheckFinding> {
        let ctx = Context::new(state, KubeVersion::new(1, from), KubeVersion::new(1, to));
        let mut out = Vec::new();
        run(&ctx, &mut out);
        out
    }

    fn pdb(ns: &str, name: &str, labels: &Value) -> Value {
        json!({"apiVersion": "policy/v1", "kind": "PodDisruptionBudget",
            "metadata": {"name": name, "namespace": ns},
            "spec": {"maxUnavailable": 1, "selector": {"matchLabels": labels}}})
    }

    #[test]
    fn the_corefile_is_read_as_plugins_and_options() {
        let d = directives(OLD);
        assert!(d.contains(&Directive {
            name: "upstream".into(),
            option_of: Some("kubernetes".into())
        }));
        assert!(d.contains(&Directive {
            name: "proxy".into(),
            option_of: None
        }));
        assert!(
            !d.iter()
                .any(|d| d.name == "cluster.local" || d.name.starts_with('}'))
        );
        assert_eq!(REMOVALS.len(), 5);
    }

    #[test]
    fn removed_items_and_a_missing_ready_warn() {
        let out = run_on(&state(OLD, vec![]), 29, 31);
        let messages: Vec<&str> = out.iter().map(|f| f.message.as_str()).collect();
        assert_eq!(out.len(), 3, "{messages:?}");
        assert!(
            messages
                .iter()
                .any(|m| m.contains("the proxy plugin") && m.contains("use forward"))
        );
        assert!(
            messages
                .iter()
                .any(|m| m.contains("kubernetes plugin's upstream option"))
        );
        assert!(messages.iter().any(|m| m.contains("no ready plugin")));
        assert!(out.iter().all(|f| f.hop == Some(KubeVersion::new(1, 30))
            && f.object == "ConfigMap kube-system/coredns"));
    }

    #[test]
    fn a_current_corefile_and_the_add_ons_own_pdb_say_nothing() {
        let pdbs = vec![
            pdb("kube-system", "coredns", &json!({"k8s-app": "kube-dns"})),
            pdb("web", "frontend", &json!({"app": "web"})),
            // Another namespace's PDB cannot select kube-system's pods, whatever its selector.
            pdb("web", "everything", &json!({})),
        ];
        assert!(run_on(&state(CURRENT, pdbs), 1, 30).is_empty());
        // No hop: nothing at all.
        assert!(run_on(&state(OLD, vec![]), 30, 30).is_empty());
    }

    #[test]
    fn a_user_pdb_over_the_dns_pods_warns() {
        let pdbs = vec![pdb(
            "kube-system",
            "dns-budget",
            &json!({"k8s-app": "kube-dns"}),
        )];
        let out = run_on(&state(CURRENT, pdbs), 1, 30);
        assert_eq!(out.len(), 1, "{out:?}");
        assert_eq!(out[0].object, "PodDisruptionBudget kube-system/dns-budget");
    }
}
