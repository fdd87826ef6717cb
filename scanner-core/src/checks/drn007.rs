//! DRN007: how long draining each workload may take, against the drain budget.

use std::collections::BTreeMap;

use serde_json::Value;

use super::util::{
    PodGroup, drain_evicts, int_or_percent, name, names, namespace, node_pool, object_ref,
    owner_of, selects, text,
};
use super::{Check, CheckFinding, CodeInfo, Context, Family, Resource, Severity};

pub static CHECK: Check = Check {
    info: CodeInfo {
        code: "DRN007",
        family: Family::Readiness,
        title: "Slow shutdown vs the drain budget",
        severity: Severity::Warning,
        reads: "Pod spec.{terminationGracePeriodSeconds,nodeName,containers[].lifecycle.preStop}, metadata.{labels,ownerReferences,deletionTimestamp}, annotation kubernetes.io/config.mirror, status.phase; Deployment and StatefulSet spec.{replicas,template.metadata.labels,template.spec.{terminationGracePeriodSeconds,containers[].lifecycle.preStop}}; PodDisruptionBudget spec.{selector,minAvailable,maxUnavailable}; Node metadata.labels (node pools, and which platform's drain limit applies)",
        applies: "every hop that drains or replaces nodes; on manifests every Deployment, StatefulSet and Pod (replicas from spec.replicas)",
        remediation: "Lower terminationGracePeriodSeconds (and the preStop hook or application drain time inside it), let the PodDisruptionBudget release more pods at a time (a higher maxUnavailable), pre-scale, or raise the budget: --drain-budget, AKS drainTimeoutInMinutes, kubectl drain --timeout, the pipeline's own timeout; on EKS managed node groups plan a forced update for these nodes.",
        explanation: "Evicting a pod starts its shutdown: the preStop hook runs, then the containers get SIGTERM, and the kubelet kills them once terminationGracePeriodSeconds (30 by default) has passed; the grace period counts from the start of the hook, so a preStop sleep runs inside it (a hook still running when it ends gets 2 more seconds). kubectl drain waits for every evicted pod to be gone, and a PodDisruptionBudget that allows k disruptions releases a workload's replicas k at a time, each wave waiting for the previous one to stop: a 5-replica Deployment with a 300-second grace period behind maxUnavailable: 1 needs 5 x 300 s, 25 minutes. DRN007 estimates that per workload and node pool (on manifests, per workload from spec.replicas) as waves x shutdown, and warns when it exceeds the drain budget: --drain-budget when given, else on AKS the node pool's own drainTimeoutInMinutes from the AKS API (AKS's default of 30 when the pool sets none or the API was not read) and otherwise the 15 minutes EKS managed node groups wait (900 s). The estimate leaves out the time a replacement takes to become Ready between waves, so it is a lower bound. A single grace period above 10 minutes is reported too, whatever the budget.",
        retired: None,
    },
    needs: &[
        Resource::Pods,
        Resource::Deployments,
        Resource::StatefulSets,
        Resource::PodDisruptionBudgets,
    ],
    offline: true,
    needs_kubectl: false,
    uses: &[Resource::Nodes],
    run,
};

/// Grace periods above this many seconds are reported.
const LIMIT_SECONDS: i64 = 600;
/// The grace period when a pod does not set one.
const DEFAULT_GRACE_SECONDS: i64 = 30;
/// How long EKS managed node groups wait for a node's pods to go.
const EKS_MINUTES: i64 = 15;
/// AKS's default `drainTimeoutInMinutes`.
const AKS_MINUTES: i64 = 30;
/// The one-off extension the kubelet grants a preStop hook still running at the grace period's end.
const HOOK_EXTENSION_SECONDS: i64 = 2;

/// The managed platform whose drain limit applies, as the node labels show it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Platform {
    Eks,
    Aks,
    /// Anything else (kubeadm, other platforms, or no nodes read): no platform limit to cite.
    Other,
}

/// Told from the nodes' labels when they were read (a manifest scan has none): only the
/// platform the cluster runs on has its limit cited.
fn platform(ctx: &Context<'_>) -> Platform {
    let labels = ctx
        .state
        .list(Resource::Nodes)
        .iter()
        .filter_map(|n| n.pointer("/metadata/labels").and_then(Value::as_object))
        .flat_map(|l| l.keys());
    for label in labels {
        if label.starts_with("eks.amazonaws.com/") {
            return Platform::Eks;
        }
        if label.starts_with("kubernetes.azure.com/") {
            return Platform::Aks;
        }
    }
    Platform::Other
}

/// The limit a drain of `minutes` runs into, on `platform`.
fn against(platform: Platform, minutes: i64) -> String {
    match platform {
        Platform::Eks if minutes > EKS_MINUTES => format!(
            "longer than the {EKS_MINUTES} minutes EKS managed node groups wait per node"
        ),
        Platform::Eks => {
            format!("most of the {EKS_MINUTES} minutes EKS managed node groups wait per node")
        }
        Platform::Aks if minutes > AKS_MINUTES => {
            format!("longer than AKS's default drainTimeoutInMinutes of {AKS_MINUTES}")
        }
        Platform::Aks => {
            format!("a large part of AKS's default drainTimeoutInMinutes of {AKS_MINUTES}")
        }
        Platform::Other => "and the drain of its node waits that long: check it against `kubectl drain --timeout` and your pipeline's own timeout".to_owned(),
    }
}

/// The drain budget in seconds and how to name it.
fn budget(ctx: &Context<'_>, platform: Platform) -> (i64, String) {
    match ctx.drain_budget {
        Some(s) => {
            let s = i64::try_from(s).unwrap_or(i64::MAX);
            (s, format!("the --drain-budget of {s} s"))
        }
        None if platform == Platform::Aks => (
            AKS_MINUTES * 60,
            format!(
                "{} s (AKS's default drainTimeoutInMinutes of {AKS_MINUTES}; set --drain-budget to your pipeline's timeout)",
                AKS_MINUTES * 60
            ),
        ),
        None if platform == Platform::Eks => (
            EKS_MINUTES * 60,
            format!(
                "{} s (the {EKS_MINUTES} minutes EKS managed node groups wait for a drain; set --drain-budget to your pipeline's timeout)",
                EKS_MINUTES * 60
            ),
        ),
        // No platform known (manifests, kubeadm): EKS's 15 minutes as the default, named so.
        None if platform == Platform::Other && ctx.state.list(Resource::Nodes).is_empty() => (
            EKS_MINUTES * 60,
            format!(
                "{} s (the {EKS_MINUTES} minutes EKS managed node groups wait for a drain; set --drain-budget to your pipeline's timeout)",
                EKS_MINUTES * 60
            ),
        ),
        None => (
            EKS_MINUTES * 60,
            format!(
                "{} s (a default: set --drain-budget to your pipeline's or `kubectl drain --timeout`)",
                EKS_MINUTES * 60
            ),
        ),
    }
}

/// On AKS with the pools read and no --drain-budget: the pool's own `drainTimeoutInMinutes`
/// (AKS's default of 30 when it sets none), which is what AKS waits per node of that pool.
fn aks_pool_budget(ctx: &Context<'_>, pool: &str) -> Option<(i64, String)> {
    if ctx.drain_budget.is_some() {
        return None;
    }
    let p = ctx.state.provider().aks()?.pool(pool)?;
    let minutes = p.drain_minutes();
    let seconds = i64::try_from(minutes.saturating_mul(60)).unwrap_or(i64::MAX);
    let how = if p.drain_timeout_minutes.is_some() {
        "drainTimeoutInMinutes"
    } else {
        "drainTimeoutInMinutes (AKS's default)"
    };
    let cordon = match p.undrainable_node_behavior.as_deref() {
        Some(b) if b.eq_ignore_ascii_case("Cordon") => {
            "; undrainableNodeBehavior Cordon: a node that cannot drain is cordoned and left behind, and the upgrade ends failed"
        }
        _ => "",
    };
    Some((
        seconds,
        format!("{seconds} s (node pool {pool}'s {how} of {minutes}{cordon})"),
    ))
}

/// A pod spec's shutdown: grace period, whether a container has a preStop hook, and the
/// longest preStop sleep found.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Shutdown {
    grace: i64,
    pre_stop: bool,
    sleep: Option<i64>,
}

impl Shutdown {
    fn of(spec: &Value) -> Self {
        let grace = spec
            .get("terminationGracePeriodSeconds")
            .and_then(Value::as_i64)
            .unwrap_or(DEFAULT_GRACE_SECONDS);
        let hooks = spec
            .get("containers")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|c| c.pointer("/lifecycle/preStop"));
        let mut pre_stop = false;
        let mut sleep: Option<i64> = None;
        for hook in hooks {
            pre_stop = true;
            if let Some(s) = pre_stop_sleep(hook) {
                sleep = Some(sleep.map_or(s, |m| m.max(s)));
            }
        }
        Self {
            grace,
            pre_stop,
            sleep,
        }
    }

    /// The longest one pod may take to stop once evicted: the grace period, which counts from
    /// the start of the preStop hook, plus the kubelet's extension when the sleep outlasts it.
    fn seconds(self) -> i64 {
        match self.sleep {
            Some(s) if s >= self.grace && self.grace > 0 => self.grace + HOOK_EXTENSION_SECONDS,
            _ => self.grace,
        }
    }

    /// `terminationGracePeriodSeconds 300, preStop sleep 20 s inside it`.
    fn describe(self) -> String {
        let grace = self.grace;
        match self.sleep {
            Some(s) if s >= grace => format!(
                "terminationGracePeriodSeconds {grace}, cut short of its preStop sleep of {s} s"
            ),
            Some(s) => {
                format!("terminationGracePeriodSeconds {grace}, preStop sleep {s} s inside it")
            }
            None if self.pre_stop => {
                format!("terminationGracePeriodSeconds {grace} with a preStop hook")
            }
            None => format!("terminationGracePeriodSeconds {grace}"),
        }
    }

    fn max(self, other: Self) -> Self {
        if other.seconds() > self.seconds() {
            other
        } else {
            self
        }
    }
}

/// Seconds a preStop hook sleeps: `sleep: {seconds: N}`, or an exec command that runs
/// `sleep N` (directly or in a shell line).
fn pre_stop_sleep(hook: &Value) -> Option<i64> {
    if let Some(s) = hook.pointer("/sleep/seconds").and_then(Value::as_i64) {
        return Some(s);
    }
    let command: Vec<&str> = hook
        .pointer("/exec/command")?
        .as_array()?
        .iter()
        .filter_map(Value::as_str)
        .collect();
    let line = command.join(" ");
    let words: Vec<&str> = line
        .split(|c: char| c.is_whitespace() || matches!(c, ';' | '&' | '|' | '"' | '\''))
        .filter(|w| !w.is_empty())
        .collect();
    words
        .windows(2)
        .filter(|w| w[0] == "sleep" || w[0].ends_with("/sleep"))
        .filter_map(|w| w[1].strip_suffix('s').unwrap_or(w[1]).parse::<f64>().ok())
        .filter(|s| s.is_finite() && *s >= 0.0)
        // Whole seconds, rounded up: `sleep 0.5` still delays the stop.
        .map(|s| {
            #[allow(clippy::cast_possible_truncation)]
            let whole = s.ceil().min(1e9) as i64;
            whole
        })
        .max()
}

/// One workload (or bare pod) that is slow to stop.
#[derive(Default)]
struct Slow<'a> {
    grace: i64,
    pre_stop: bool,
    group: PodGroup<'a>,
}

/// Seconds as minutes, rounded up (`601` → `11 min`).
fn minutes(seconds: i64) -> i64 {
    (seconds + 59) / 60
}

/// The pods of one workload in one pool (on manifests: its replicas), for the estimate.
#[derive(Default)]
struct Drained<'a> {
    /// How many pods the drain evicts.
    count: i64,
    /// Their names (live) or none (manifests).
    group: PodGroup<'a>,
    /// The slowest shutdown among them.
    shutdown: Shutdown,
    /// Labels to match PDBs with, and the namespace.
    labels: Option<&'a Value>,
    namespace: Option<&'a str>,
}

/// How many of a workload's pods `pdb` lets go at once, against `expected` pods.
fn allowed(pdb: &Value, expected: i64) -> Option<i64> {
    if let Some(max) = pdb.pointer("/spec/maxUnavailable") {
        return int_or_percent(max, expected);
    }
    let min = pdb.pointer("/spec/minAvailable")?;
    // minAvailable percentages round up too: what is left to disrupt is the rest.
    int_or_percent(min, expected).map(|m| expected - m)
}

fn run(ctx: &Context<'_>, out: &mut Vec<CheckFinding>) {
    let platform = platform(ctx);
    let estimated = estimate(ctx, platform, out);
    slow_grace(ctx, platform, &estimated, out);
}

/// The drain estimate per workload and pool; returns the objects it reported.
fn estimate(
    ctx: &Context<'_>,
    platform: Platform,
    out: &mut Vec<CheckFinding>,
) -> std::collections::BTreeSet<String> {
    let pools: BTreeMap<&str, String> = ctx
        .state
        .list(Resource::Nodes)
        .iter()
        .map(|n| (name(n), node_pool(n)))
        .collect();
    let pods = ctx.state.list(Resource::Pods);
    let pdbs = ctx.state.list(Resource::PodDisruptionBudgets);
    // Owners with any pod listed: their workloads are estimated from those pods, not replicas.
    let owners: std::collections::BTreeSet<String> = pods.iter().map(owner_of).collect();
    let mut drained: BTreeMap<(String, String), Drained<'_>> = BTreeMap::new();
    for pod in pods {
        if !drain_evicts(pod) {
            continue;
        }
        let Some(spec) = pod.get("spec") else {
            continue;
        };
        let pool = text(pod, "/spec/nodeName")
            .map(|n| pools.get(n).cloned().unwrap_or_default())
            .unwrap_or_default();
        let d = drained.entry((owner_of(pod), pool)).or_default();
        d.count += 1;
        d.group.add(pod);
        d.shutdown = d.shutdown.max(Shutdown::of(spec));
        d.labels = d.labels.or_else(|| pod.pointer("/metadata/labels"));
        d.namespace = namespace(pod);
    }
    // Manifests (and workloads with no pod read): the replicas their spec asks for.
    for resource in [Resource::Deployments, Resource::StatefulSets] {
        for w in ctx.state.list(resource) {
            let object = object_ref(resource.kind(), w);
            if owners.contains(&object) {
                continue;
            }
            let Some(spec) = w.pointer("/spec/template/spec") else {
                continue;
            };
            let replicas = w
                .pointer("/spec/replicas")
                .and_then(Value::as_i64)
                .unwrap_or(1);
            if replicas <= 0 {
                continue;
            }
            drained.insert(
                (object, String::new()),
                Drained {
                    count: replicas,
                    group: PodGroup::default(),
                    shutdown: Shutdown::of(spec),
                    labels: w.pointer("/spec/template/metadata/labels"),
                    namespace: namespace(w),
                },
            );
        }
    }
    let (cluster_limit, cluster_limit_text) = budget(ctx, platform);
    // Per workload, the pools over the budget: (estimate, pool, message).
    let mut over: BTreeMap<String, Vec<(i64, String, String)>> = BTreeMap::new();
    for ((object, pool), d) in drained {
        let (limit, limit_text) = aks_pool_budget(ctx, &pool)
            .unwrap_or_else(|| (cluster_limit, cluster_limit_text.clone()));
        let shutdown = d.shutdown.seconds();
        let pdb = pdbs
            .iter()
            .filter(|p| namespace(p) == d.namespace)
            .find(|p| selects(p.pointer("/spec/selector"), d.labels));
        // The PDB counts every pod it selects, in any pool; on manifests the replicas.
        let (waves, released) = match pdb {
            Some(p) => {
                let expected = if d.group.pods.is_empty() {
                    d.count
                } else {
                    i64::try_from(super::util::pods_of(p, pods).len()).unwrap_or(i64::MAX)
                };
                // A PDB allowing nothing blocks the drain outright: DRN001 and DRN002 say so.
                let Some(k) = allowed(p, expected).filter(|k| *k > 0) else {
                    continue;
                };
                let waves = (d.count + k - 1) / k;
                let plural = if k == 1 { "" } else { "s" };
                (
                    waves,
                    format!(
                        " and {} allows {k} disruption{plural} at a time",
                        object_ref("PodDisruptionBudget", p)
                    ),
                )
            }
            None => (1, String::new()),
        };
        let total = waves.saturating_mul(shutdown);
        if total <= limit {
            continue;
        }
        let subject = if d.group.pods.is_empty() {
            let s = if d.count == 1 { "" } else { "s" };
            format!("{} replica{s}", d.count)
        } else if d.count == 1 {
            format!("pod {}", names(&d.group.pods))
        } else {
            format!("{} pods ({})", d.count, names(&d.group.pods))
        };
        let take = if d.count == 1 {
            "takes up to"
        } else {
            "take up to"
        };
        let each = if d.count == 1 { "" } else { " each" };
        let place = if pool.is_empty() {
            d.group.place()
        } else {
            format!(" in node pool {pool}")
        };
        let wave_word = if waves == 1 { "wave" } else { "waves" };
        let message = format!(
            "{subject}{place} {take} {shutdown} s{each} to stop ({}){released}: {waves} {wave_word} x {shutdown} s = an estimated {total} s ({} min) to drain, over the budget of {limit_text}",
            d.shutdown.describe(),
            minutes(total)
        );
        over.entry(object).or_default().push((total, pool, message));
    }
    // One finding per workload: its slowest pool, naming the others over the budget too.
    let mut reported = std::collections::BTreeSet::new();
    for (object, mut pools) in over {
        pools.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.cmp(&b.1)));
        let mut pools = pools.into_iter();
        let Some((_, _, mut message)) = pools.next() else {
            continue;
        };
        let others: Vec<String> = pools.map(|(_, pool, _)| pool).collect();
        if !others.is_empty() {
            message.push_str("; node pools ");
            message.push_str(&others.join(", "));
            message.push_str(" are over it too");
        }
        out.push(CheckFinding::new(
            &CHECK,
            Severity::Warning,
            object.clone(),
            message,
        ));
        reported.insert(object);
    }
    reported
}

/// Single grace periods above ten minutes, for workloads the estimate did not report.
fn slow_grace(
    ctx: &Context<'_>,
    platform: Platform,
    estimated: &std::collections::BTreeSet<String>,
    out: &mut Vec<CheckFinding>,
) {
    let mut slow: BTreeMap<String, Slow<'_>> = BTreeMap::new();
    for resource in [Resource::Deployments, Resource::StatefulSets] {
        for w in ctx.state.list(resource) {
            let Some(spec) = w.pointer("/spec/template/spec") else {
                continue;
            };
            let Shutdown {
                grace, pre_stop, ..
            } = Shutdown::of(spec);
            if grace > LIMIT_SECONDS {
                slow.insert(
                    object_ref(resource.kind(), w),
                    Slow {
                        grace,
                        pre_stop,
                        ..Slow::default()
                    },
                );
            }
        }
    }
    for pod in ctx.state.list(Resource::Pods) {
        // Only what a drain evicts waits for its grace period during the drain.
        if !drain_evicts(pod) {
            continue;
        }
        let Some(spec) = pod.get("spec") else {
            continue;
        };
        let Shutdown {
            grace, pre_stop, ..
        } = Shutdown::of(spec);
        let owner = owner_of(pod);
        if grace <= LIMIT_SECONDS && !slow.contains_key(&owner) {
            continue;
        }
        let entry = slow.entry(owner).or_default();
        if grace > LIMIT_SECONDS {
            entry.grace = entry.grace.max(grace);
            entry.pre_stop |= pre_stop;
        }
        entry.group.add(pod);
    }
    for (object, s) in slow {
        if estimated.contains(&object) {
            continue;
        }
        let Slow {
            grace,
            pre_stop,
            group,
        } = s;
        let pods = &group.pods;
        let subject = match pods.as_slice() {
            [] => "its pods".to_owned(),
            [pod] => format!("pod {pod}"),
            _ => format!("{} pods ({})", pods.len(), names(pods)),
        };
        let place = group.place();
        let hook = if pre_stop { " with a preStop hook" } else { "" };
        let m = minutes(grace);
        let against = against(platform, m);
        out.push(CheckFinding::new(
            &CHECK,
            Severity::Warning,
            object,
            format!("terminationGracePeriodSeconds {grace}{hook}: {subject}{place} may take up to {m} min to stop once evicted, {against}"),
        ));
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

    fn findings(pods: Vec<Value>, deployments: Vec<Value>, sts: Vec<Value>) -> Vec<CheckFinding> {
        findings_on(
            &json!({"eks.amazonaws.com/nodegroup": "ng-1"}),
            pods,
            deployments,
            sts,
        )
    }

    /// On nodes with `labels`.
    fn findings_on(
        labels: &Value,
        pods: Vec<Value>,
        deployments: Vec<Value>,
        sts: Vec<Value>,
    ) -> Vec<CheckFinding> {
        let mut s = ClusterState::new();
        s.set(
            Resource::Nodes,
            vec![json!({"metadata": {"name": "n1", "labels": labels}})],
        );
        s.set(Resource::Pods, pods);
        s.set(Resource::Deployments, deployments);
        s.set(Resource::StatefulSets, sts);
        let ctx = Context::new(&s, KubeVersion::new(1, 29), KubeVersion::new(1, 30));
        let mut out = Vec::new();
        run(&ctx, &mut out);
        out
    }

    fn pod(name: &str, owner: Option<(&str, &str)>, node: &str, grace: Option<i64>) -> Value {
        let refs: Vec<Value> = owner
            .map(|(kind, n)| json!({"kind": kind, "name": n, "controller": true}))
            .into_iter()
            .collect();
        let mut p = json!({"metadata": {"name": name, "namespace": "ml", "ownerReferences": refs},
            "spec": {"nodeName": node, "containers": [{"name": "c"}]}, "status": {"phase": "Running"}});
        if let Some(g) = grace {
            p["spec"]["terminationGracePeriodSeconds"] = json!(g);
        }
        p
    }

    const EKS_BUDGET: &str = "over the budget of 900 s (the 15 minutes EKS managed node groups wait for a drain; set --drain-budget to your pipeline's timeout)";

    #[test]
    fn long_grace_periods_warn_per_workload() {
        let mut predictor = json!({"metadata": {"name": "predictor", "namespace": "ml"},
            "spec": {"template": {"spec": {"terminationGracePeriodSeconds": 1200,
                "containers": [{"name": "c", "lifecycle": {"preStop": {"exec": {"command": ["sleep", "1100"]}}}}]}}}});
        let f = findings(
            vec![
                pod("worker", None, "n3", Some(3600)),
                pod("short", None, "n3", None),
                pod(
                    "exporter",
                    Some(("DaemonSet", "exporter")),
                    "n3",
                    Some(3600),
                ),
                pod("db-0", Some(("StatefulSet", "db")), "n1", Some(1200)),
            ],
            vec![predictor.clone()],
            vec![],
        );
        let got: Vec<(&str, String)> = f
            .iter()
            .map(|f| (f.object.as_str(), f.message.replace(EKS_BUDGET, "BUDGET")))
            .collect();
        assert_eq!(
            got,
            [
                (
                    "Deployment ml/predictor",
                    "1 replica takes up to 1200 s to stop (terminationGracePeriodSeconds 1200, preStop sleep 1100 s inside it): 1 wave x 1200 s = an estimated 1200 s (20 min) to drain, BUDGET".to_owned()
                ),
                (
                    "Pod ml/worker",
                    "pod worker on n3 takes up to 3600 s to stop (terminationGracePeriodSeconds 3600): 1 wave x 3600 s = an estimated 3600 s (60 min) to drain, BUDGET".to_owned()
                ),
                (
                    "StatefulSet ml/db",
                    "pod db-0 in node pool ng-1 takes up to 1200 s to stop (terminationGracePeriodSeconds 1200): 1 wave x 1200 s = an estimated 1200 s (20 min) to drain, BUDGET".to_owned()
                ),
            ]
        );
        // The Deployment's pods join its finding instead of making their own.
        let replica = |n: &str, node: &str| {
            let mut p = pod(n, Some(("ReplicaSet", "predictor-6d5f")), node, Some(1200));
            p["metadata"]["labels"] = json!({"pod-template-hash": "6d5f"});
            p
        };
        let f = findings(
            vec![
                replica("predictor-6d5f-a", "n1"),
                replica("predictor-6d5f-b", "n1"),
            ],
            vec![predictor.clone()],
            vec![],
        );
        assert_eq!(f.len(), 1, "{f:?}");
        assert!(f[0].message.starts_with(
            "2 pods (predictor-6d5f-a, predictor-6d5f-b) in node pool ng-1 take up to 1200 s each to stop"
        ), "{}", f[0].message);
        // Ten minutes or less passes.
        predictor["spec"]["template"]["spec"]["terminationGracePeriodSeconds"] = json!(600);
        assert!(
            findings(
                vec![pod("a", None, "n1", Some(600))],
                vec![predictor],
                vec![]
            )
            .is_empty()
        );
    }

    /// The `KServe` predictor of the EKS runbook ("Slow termination"): 5 replicas, grace 300,
    /// a preStop sleep and a PDB releasing one at a time.
    fn kserve(replicas: i64, max_unavailable: &Value) -> (Value, Value) {
        let deployment = json!({"metadata": {"name": "sklearn-predictor", "namespace": "ml"},
            "spec": {"replicas": replicas, "template": {"metadata": {"labels": {"app": "sklearn"}},
                "spec": {"terminationGracePeriodSeconds": 300, "containers": [{"name": "kserve-container",
                    "lifecycle": {"preStop": {"exec": {"command": ["/bin/sh", "-c", "sleep 20 && kill 1"]}}}}]}}}});
        let pdb = json!({"metadata": {"name": "sklearn", "namespace": "ml"},
            "spec": {"maxUnavailable": max_unavailable, "selector": {"matchLabels": {"app": "sklearn"}}}});
        (deployment, pdb)
    }

    fn with_pdbs(
        nodes: Vec<Value>,
        pods: Vec<Value>,
        deployments: Vec<Value>,
        pdbs: Vec<Value>,
        budget: Option<u64>,
    ) -> Vec<CheckFinding> {
        let mut s = ClusterState::new();
        s.set(Resource::Nodes, nodes);
        s.set(Resource::Pods, pods);
        s.set(Resource::Deployments, deployments);
        s.set(Resource::StatefulSets, vec![]);
        s.set(Resource::PodDisruptionBudgets, pdbs);
        let mut ctx = Context::new(&s, KubeVersion::new(1, 29), KubeVersion::new(1, 30));
        ctx.drain_budget = budget;
        let mut out = Vec::new();
        run(&ctx, &mut out);
        out
    }

    #[test]
    fn kserve_manifest_waits_five_waves() {
        let (d, pdb) = kserve(5, &json!(1));
        let f = with_pdbs(vec![], vec![], vec![d.clone()], vec![pdb.clone()], None);
        assert_eq!(f.len(), 1, "{f:?}");
        assert_eq!(f[0].object, "Deployment ml/sklearn-predictor");
        assert_eq!(
            f[0].message,
            format!(
                "5 replicas take up to 300 s each to stop (terminationGracePeriodSeconds 300, preStop sleep 20 s inside it) and PodDisruptionBudget ml/sklearn allows 1 disruption at a time: 5 waves x 300 s = an estimated 1500 s (25 min) to drain, {EKS_BUDGET}"
            )
        );
        // Two at a time: 3 waves, 900 s, inside the 900 s budget.
        assert!(
            with_pdbs(
                vec![],
                vec![],
                vec![d.clone()],
                vec![kserve(5, &json!(2)).1],
                None
            )
            .is_empty()
        );
        // "40%" of 5 is 2 as well.
        assert!(
            with_pdbs(
                vec![],
                vec![],
                vec![d.clone()],
                vec![kserve(5, &json!("40%")).1],
                None
            )
            .is_empty()
        );
        // minAvailable 4 of 5 leaves 1.
        let min = json!({"metadata": {"name": "sklearn", "namespace": "ml"},
            "spec": {"minAvailable": 4, "selector": {"matchLabels": {"app": "sklearn"}}}});
        assert_eq!(
            with_pdbs(vec![], vec![], vec![d.clone()], vec![min], None).len(),
            1
        );
        // No PDB: one wave of 300 s.
        assert!(with_pdbs(vec![], vec![], vec![d.clone()], vec![], None).is_empty());
        // A budget that fits, and one that does not.
        assert!(
            with_pdbs(
                vec![],
                vec![],
                vec![d.clone()],
                vec![pdb.clone()],
                Some(1500)
            )
            .is_empty()
        );
        let tight = with_pdbs(
            vec![],
            vec![],
            vec![d.clone()],
            vec![pdb.clone()],
            Some(600),
        );
        assert!(
            tight[0]
                .message
                .ends_with("over the budget of the --drain-budget of 600 s"),
            "{}",
            tight[0].message
        );
        // A PDB allowing nothing is DRN001/DRN002's: no estimate.
        assert!(with_pdbs(vec![], vec![], vec![d], vec![kserve(5, &json!(0)).1], None).is_empty());
    }

    #[test]
    fn kserve_live_per_pool() {
        let (d, pdb) = kserve(5, &json!(1));
        let node = |n: &str, pool: &str| json!({"metadata": {"name": n, "labels": {"eks.amazonaws.com/nodegroup": pool}}});
        let replica = |i: usize, node: &str| {
            json!({"metadata": {"name": format!("sklearn-predictor-7f9c-{i}"), "namespace": "ml",
                "labels": {"app": "sklearn", "pod-template-hash": "7f9c"},
                "ownerReferences": [{"kind": "ReplicaSet", "name": "sklearn-predictor-7f9c", "controller": true}]},
                "spec": {"nodeName": node, "terminationGracePeriodSeconds": 300,
                    "containers": [{"name": "c", "lifecycle": {"preStop": {"sleep": {"seconds": 20}}}}]},
                "status": {"phase": "Running"}})
        };
        let nodes = vec![node("a1", "gpu"), node("a2", "gpu"), node("b1", "cpu")];
        let pods: Vec<Value> = (0..5)
            .map(|i| replica(i, if i < 4 { ["a1", "a2"][i % 2] } else { "b1" }))
            .collect();
        let f = with_pdbs(nodes, pods, vec![d], vec![pdb], None);
        // The gpu pool holds 4 of them: 4 waves, 1200 s; the cpu pool's single pod fits.
        assert_eq!(f.len(), 1, "{f:?}");
        assert!(f[0].message.starts_with("4 pods (sklearn-predictor-7f9c-0, sklearn-predictor-7f9c-1, sklearn-predictor-7f9c-2, sklearn-predictor-7f9c-3) in node pool gpu take up to 300 s each to stop (terminationGracePeriodSeconds 300, preStop sleep 20 s inside it) and PodDisruptionBudget ml/sklearn allows 1 disruption at a time: 4 waves x 300 s = an estimated 1200 s"), "{}", f[0].message);
    }

    #[test]
    fn pre_stop_sleeps() {
        let cases = [
            (json!({"exec": {"command": ["sleep", "20"]}}), Some(20)),
            (
                json!({"exec": {"command": ["/bin/sh", "-c", "echo bye; sleep 15s && nginx -s quit"]}}),
                Some(15),
            ),
            (
                json!({"exec": {"command": ["/usr/bin/sleep", "0.5"]}}),
                Some(1),
            ),
            (json!({"sleep": {"seconds": 7}}), Some(7)),
            (json!({"exec": {"command": ["nginx", "-s", "quit"]}}), None),
            (json!({"httpGet": {"path": "/stop", "port": 8080}}), None),
        ];
        for (hook, want) in cases {
            assert_eq!(pre_stop_sleep(&hook), want, "{hook}");
        }
        // A sleep outlasting the grace period is cut at the grace period plus 2 s.
        let spec = json!({"terminationGracePeriodSeconds": 30,
            "containers": [{"name": "c", "lifecycle": {"preStop": {"sleep": {"seconds": 60}}}}]});
        assert_eq!(Shutdown::of(&spec).seconds(), 32);
    }

    #[test]
    fn eleven_minutes_uses_most_of_the_eks_limit() {
        let f = findings(vec![pod("a", None, "n1", Some(660))], vec![], vec![]);
        assert_eq!(f.len(), 1);
        assert!(f[0].message.ends_with("may take up to 11 min to stop once evicted, most of the 15 minutes EKS managed node groups wait per node"));
    }

    #[test]
    fn recorded_cluster() {
        // Every recorded pod and template keeps the default 30 seconds.
        let f = findings(
            fixture("core/v1/pods.json"),
            fixture("apps/v1/deployments.json"),
            fixture("apps/v1/statefulsets.json"),
        );
        assert!(f.is_empty(), "{f:?}");
    }

    #[test]
    fn only_the_platform_the_nodes_show_is_cited() {
        let pods = || vec![pod("a", None, "n1", Some(3600))];
        let aks = findings_on(
            &json!({"kubernetes.azure.com/agentpool": "np1"}),
            pods(),
            vec![],
            vec![],
        );
        assert!(
            aks[0].message.ends_with(
                "over the budget of 1800 s (AKS's default drainTimeoutInMinutes of 30; set --drain-budget to your pipeline's timeout)"
            ),
            "{}",
            aks[0].message
        );
        // A kubeadm cluster (or none read): no provider's limit, the generic advice.
        let kubeadm = findings_on(
            &json!({"node-role.kubernetes.io/control-plane": ""}),
            pods(),
            vec![],
            vec![],
        );
        let m = &kubeadm[0].message;
        assert!(!m.contains("EKS") && !m.contains("AKS"), "{m}");
        assert!(m.ends_with("over the budget of 900 s (a default: set --drain-budget to your pipeline's or `kubectl drain --timeout`)"), "{m}");
        // Under the budget but over ten minutes: the grace period alone is reported.
        let m = &findings_on(
            &json!({"node-role.kubernetes.io/control-plane": ""}),
            vec![pod("a", None, "n1", Some(660))],
            vec![],
            vec![],
        )[0]
        .message;
        assert!(m.ends_with("and the drain of its node waits that long: check it against `kubectl drain --timeout` and your pipeline's own timeout"), "{m}");
    }

    #[test]
    fn aks_pools_use_their_own_drain_timeout() {
        use crate::report::provider::{AksFacts, AksPool, ProviderState};
        let node = |n: &str, pool: &str| json!({"metadata": {"name": n, "labels": {"kubernetes.azure.com/agentpool": pool}}});
        // One 40-minute shutdown on each pool: over the 30-minute default, under 60.
        let pods = vec![
            pod("slow-a", None, "a1", Some(2400)),
            pod("slow-b", None, "b1", Some(2400)),
        ];
        let mut s = ClusterState::new();
        s.set(
            Resource::Nodes,
            vec![node("a1", "batch"), node("b1", "patient")],
        );
        s.set(Resource::Pods, pods);
        s.set(Resource::Deployments, Vec::new());
        s.set(Resource::StatefulSets, Vec::new());
        s.set(Resource::PodDisruptionBudgets, Vec::new());
        let pool = |name: &str, minutes: Option<u64>| AksPool {
            name: name.into(),
            drain_timeout_minutes: minutes,
            undrainable_node_behavior: Some("Cordon".into()),
            ..AksPool::default()
        };
        s.set_provider(ProviderState::Aks(Box::new(AksFacts {
            cluster: "prod".into(),
            resource_group: "rg".into(),
            subscription: "sub".into(),
            version: Some("1.30".into()),
            current_version: Some("1.30.7".into()),
            support_plan: None,
            read: Ok(()),
            pools: Ok(vec![pool("batch", None), pool("patient", Some(60))]),
            upgrades: Ok(Vec::new()),
            pool_upgrades: Ok(()),
        })));
        let ctx = Context::new(&s, KubeVersion::new(1, 30), KubeVersion::new(1, 31));
        let mut out = Vec::new();
        estimate(&ctx, Platform::Aks, &mut out);
        assert_eq!(out.len(), 1, "{out:?}");
        assert!(
            out[0].message.ends_with("over the budget of 1800 s (node pool batch's drainTimeoutInMinutes (AKS's default) of 30; undrainableNodeBehavior Cordon: a node that cannot drain is cordoned and left behind, and the upgrade ends failed)"),
            "{}",
            out[0].message
        );
        // --drain-budget still wins over the pools' settings.
        let mut ctx = Context::new(&s, KubeVersion::new(1, 30), KubeVersion::new(1, 31));
        ctx.drain_budget = Some(3000);
        let mut out = Vec::new();
        estimate(&ctx, Platform::Aks, &mut out);
        assert!(out.is_empty(), "{out:?}");
    }
}
