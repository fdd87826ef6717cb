//! DRN010: pods stuck terminating: deleted longer ago than their grace period allows, held by
//! a finalizer or on a node that no longer answers. A drain waits for them until it times out.

use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::Value;

use super::util::{name, namespace, object_ref, text};
use super::{Check, CheckFinding, CodeInfo, Context, Family, Resource, Severity};

pub static CHECK: Check = Check {
    info: CodeInfo {
        code: "DRN010",
        family: Family::Readiness,
        title: "Pods stuck terminating",
        severity: Severity::Warning,
        reads: "Pod metadata.{deletionTimestamp,deletionGracePeriodSeconds,finalizers}, spec.{nodeName,terminationGracePeriodSeconds}; Node Ready condition when nodes may be read",
        applies: "before the first hop (a live cluster: manifests are never being deleted)",
        remediation: "Find what holds each pod: a finalizer whose controller is gone or failing (repair the controller, or remove the finalizer once its cleanup is done by hand), or a node that stopped answering (bring it back, or delete the Node object so the pods are released). Do not start draining while pods are stuck.",
        explanation: "A deleted pod stays until the kubelet on its node confirms its containers stopped and every finalizer on it is removed. One that is still there more than five minutes after its grace period ended is stuck: a finalizer whose controller is not running, or a node that is not Ready and so cannot confirm anything. kubectl drain waits for evicted pods to be gone, so a stuck pod on a node makes that node's drain run into its timeout, and a managed node group update fails there. The check compares each deleted pod's deletion time plus grace period with the clock of the machine running upcheck.",
        retired: None,
    },
    needs: &[Resource::Pods],
    offline: false,
    needs_kubectl: false,
    uses: &[Resource::Nodes],
    run,
};

/// How long past its grace period a deleted pod may linger before it counts as stuck.
const SLACK_SECONDS: i64 = 300;

/// Seconds since the Unix epoch of an RFC 3339 time as the API writes it
/// (`2024-03-01T12:00:00Z`, fractions and offsets allowed).
fn unix_seconds(time: &str) -> Option<i64> {
    let (date, rest) = time.split_once(['T', 't'])?;
    let mut ymd = date.split('-').map(str::parse::<i64>);
    let (year, month, day) = (ymd.next()?.ok()?, ymd.next()?.ok()?, ymd.next()?.ok()?);
    let clock = rest.get(..8)?;
    let mut hms = clock.split(':').map(str::parse::<i64>);
    let (hour, minute, second) = (hms.next()?.ok()?, hms.next()?.ok()?, hms.next()?.ok()?);
    // The offset after the seconds and their fraction: Z, +hh:mm or -hh:mm.
    let zone = rest[8..].trim_start_matches(|ch: char| ch == '.' || ch.is_ascii_digit());
    let offset = match zone {
        "Z" | "z" | "" => 0,
        z => {
            let sign = if z.starts_with('-') { -1 } else { 1 };
            let (h, m) = z.get(1..)?.split_once(':')?;
            sign * (h.parse::<i64>().ok()? * 3600 + m.parse::<i64>().ok()? * 60)
        }
    };
    // Days from the civil date (proleptic Gregorian), after Howard Hinnant's algorithm.
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Some(days * 86_400 + hour * 3600 + minute * 60 + second - offset)
}

fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

fn run(ctx: &Context<'_>, out: &mut Vec<CheckFinding>) {
    judge(ctx, now(), out);
}

fn judge(ctx: &Context<'_>, now: i64, out: &mut Vec<CheckFinding>) {
    let not_ready: Vec<&str> = ctx
        .state
        .list(Resource::Nodes)
        .iter()
        .filter(|n| {
            n.pointer("/status/conditions")
                .and_then(Value::as_array)
                .is_some_and(|cs| {
                    cs.iter().any(|c| {
                        c.get("type").and_then(Value::as_str) == Some("Ready")
                            && c.get("status").and_then(Value::as_str) != Some("True")
                    })
                })
        })
        .map(name)
        .collect();
    for pod in ctx.state.list(Resource::Pods) {
        let Some(deleted) = text(pod, "/metadata/deletionTimestamp").and_then(unix_seconds) else {
            continue;
        };
        // The API sets deletionTimestamp to the deletion time plus the grace period.
        let grace = pod
            .pointer("/metadata/deletionGracePeriodSeconds")
            .and_then(Value::as_i64)
            .unwrap_or(0);
        let overdue = now - deleted - SLACK_SECONDS;
        if overdue <= 0 {
            continue;
        }
        let finalizers: Vec<&str> = pod
            .pointer("/metadata/finalizers")
            .and_then(Value::as_array)
            .map(|f| f.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        let node = text(pod, "/spec/nodeName");
        let mut why = Vec::new();
        if !finalizers.is_empty() {
            why.push(format!("held by finalizer(s) {}", finalizers.join(", ")));
        }
        if let Some(n) = node.filter(|n| not_ready.contains(n)) {
            why.push(format!("its node {n} is not Ready"));
        }
        if why.is_empty() {
            why.push(
                "no finalizer: the kubelet has not confirmed its containers stopped".to_owned(),
            );
        }
        let minutes = (overdue + SLACK_SECONDS) / 60;
        out.push(CheckFinding::new(
            &CHECK,
            Severity::Warning,
            object_ref("Pod", pod),
            format!(
                "pod {}/{} was deleted and is still there {minutes} minute(s) after its grace period ({grace} s) ended: {}; a drain of {} waits on it until it times out",
                namespace(pod).unwrap_or("default"),
                name(pod),
                why.join("; "),
                node.unwrap_or("its node")
            ),
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

    #[test]
    fn rfc3339_times() {
        assert_eq!(unix_seconds("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(unix_seconds("2024-03-01T12:00:00Z"), Some(1_709_294_400));
        assert_eq!(
            unix_seconds("2024-03-01T12:00:00.5+01:00"),
            Some(1_709_290_800)
        );
        assert_eq!(unix_seconds("yesterday"), None);
    }

    fn pod(deleted: &str, finalizers: &[&str], node: &str) -> Value {
        json!({"metadata": {"name": "web-0", "namespace": "shop", "deletionTimestamp": deleted,
                            "deletionGracePeriodSeconds": 30, "finalizers": finalizers},
               "spec": {"nodeName": node}})
    }

    fn found(pods: Vec<Value>, nodes: Vec<Value>, now: i64) -> Vec<String> {
        let mut state = ClusterState::new();
        state.set(Resource::Pods, pods);
        state.set(Resource::Nodes, nodes);
        let ctx = Context::new(&state, KubeVersion::new(1, 29), KubeVersion::new(1, 30));
        let mut out = Vec::new();
        judge(&ctx, now, &mut out);
        out.into_iter().map(|f| f.message).collect()
    }

    #[test]
    fn deleted_pods_past_their_grace_and_slack_are_stuck() {
        let t = unix_seconds("2024-03-01T12:00:00Z").unwrap();
        let held = pod("2024-03-01T12:00:00Z", &["example.com/cleanup"], "n1");
        // Within five minutes of the end of the grace period: still terminating normally.
        assert!(found(vec![held.clone()], vec![], t + 299).is_empty());
        assert_eq!(
            found(vec![held], vec![], t + 3600),
            [
                "pod shop/web-0 was deleted and is still there 60 minute(s) after its grace period (30 s) ended: held by finalizer(s) example.com/cleanup; a drain of n1 waits on it until it times out"
            ]
        );
        let lost = json!({"metadata": {"name": "n2"}, "status": {"conditions": [{"type": "Ready", "status": "Unknown"}]}});
        let orphan = found(
            vec![pod("2024-03-01T12:00:00Z", &[], "n2")],
            vec![lost],
            t + 900,
        );
        assert!(orphan[0].contains("its node n2 is not Ready"), "{orphan:?}");
        // Not deleted at all.
        let alive = json!({"metadata": {"name": "api-0", "namespace": "shop"}, "spec": {}});
        assert!(found(vec![alive], vec![], t + 99_999).is_empty());
    }
}
