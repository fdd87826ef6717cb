//! Upgrade readiness checks: what blocks or breaks an upgrade besides removed APIs.
//!
//! Each check lives in its own file and is declared once in [`REGISTRY`] with its stable code,
//! severity, what it reads, when it applies, its remediation and its long explanation (the text
//! `upcheck explain` prints and every format refers to). A check is a pure function over a
//! [`ClusterState`] (lists read from the cluster, or objects from manifests) and the upgrade
//! [`Context`]; it never talks to a server, so it is tested on plain JSON.
//!
//! Codes never change meaning once released; a retired check keeps its code documented.

mod add001;
pub(crate) mod add002;
mod add002_addons;
mod add003;
mod add004;
mod api001;
mod api002;
mod api003;
mod cap003;
mod drn001;
mod drn002;
mod drn003;
mod drn004;
mod drn005;
mod drn006;
mod drn007;
mod drn008;
mod drn009;
mod drn010;
mod drn011;
mod ext001;
mod ext002;
mod ext003;
pub mod facts;
mod hlt001;
mod hlt002;
mod hlt003;
mod hlt004;
mod inf003;
mod inf004;
mod inf005;
mod node001;
mod node002;
mod node003;
mod node004;
mod node005;
mod node006;
mod path001;
mod path002;
pub(crate) mod path003;
mod placement;
pub(crate) mod projection;
pub mod rbac;
mod readyz;
pub(crate) mod skew001;
mod skew002;
mod skew003;
pub mod skew004;
mod skew005;
pub(crate) mod skew006;
mod snap002;
pub mod state;
pub(crate) mod util;
mod wl001;
mod wl002;
mod wl003;
mod wl004;
mod wl005;

use std::collections::BTreeSet;
use std::ops::Deref;

use api_catalog::KubeVersion;

pub use crate::report::code::{CodeInfo, Family};
use crate::report::fingerprint;
use crate::report::provider::{AksCall, AksFacts, EksCall, EksFacts, ProviderState};
pub use crate::report::readiness::{CheckFinding, NotRun, Readiness, Severity};
pub use path003::{Date, DateError};
pub use state::{ClusterState, Endpoint, Resource};

/// A readiness check: its code's declaration (title, severity, fields read, remediation,
/// explanation: what the registry lists) and what running it takes.
#[derive(Debug)]
pub struct Check {
    /// The code's declaration.
    pub info: CodeInfo,
    /// The lists it needs (each needs `list` permission).
    pub needs: &'static [Resource],
    /// Whether it can run on manifests alone (no live status needed).
    pub offline: bool,
    /// Whether it judges the kubectl version given with `--kubectl-version` (not run without).
    pub needs_kubectl: bool,
    /// Lists it reads when they can be read, and runs without (nodes, for pools and the
    /// platform, in a scan limited to a namespace).
    pub uses: &'static [Resource],
    /// The check itself.
    pub run: fn(&Context<'_>, &mut Vec<CheckFinding>),
}

// A check is its code's declaration plus a function: `check.code`, `check.title` read through.
impl Deref for Check {
    type Target = CodeInfo;

    fn deref(&self) -> &CodeInfo {
        &self.info
    }
}

/// What a check knows about the upgrade.
#[derive(Debug)]
pub struct Context<'a> {
    /// What was read.
    pub state: &'a ClusterState,
    /// The version running now.
    pub current: KubeVersion,
    /// The version upgraded to.
    pub target: KubeVersion,
    /// The control-plane minors on the way, one per hop (`1.21, 1.22` from 1.20 to 1.22).
    pub hops: Vec<KubeVersion>,
    /// The kubectl version pipelines and runbooks use, when given.
    pub kubectl: Option<KubeVersion>,
    /// Seconds a node pool's drain may take (`--drain-budget`), when given; DRN007 otherwise
    /// uses the platform's drain timeout.
    pub drain_budget: Option<u64>,
    /// Today (UTC), for support windows (PATH003); without it that check does not run.
    pub today: Option<Date>,
}

impl<'a> Context<'a> {
    /// The context for an upgrade from `current` to `target` over `state`.
    pub fn new(state: &'a ClusterState, current: KubeVersion, target: KubeVersion) -> Self {
        let mut hops = Vec::new();
        let mut v = current;
        while v < target {
            v = v.next_minor();
            hops.push(v);
        }
        Self {
            state,
            current,
            target,
            hops,
            kubectl: None,
            drain_budget: None,
            today: None,
        }
    }
}

/// Every check, in code order.
pub static REGISTRY: &[&Check] = &[
    &add001::CHECK,
    &add002::CHECK,
    &add003::CHECK,
    &add004::CHECK,
    &api001::CHECK,
    &api002::CHECK,
    &api003::CHECK,
    &cap003::CHECK,
    &drn001::CHECK,
    &drn002::CHECK,
    &drn003::CHECK,
    &drn004::CHECK,
    &drn005::CHECK,
    &drn006::CHECK,
    &drn007::CHECK,
    &drn008::CHECK,
    &drn009::CHECK,
    &drn010::CHECK,
    &drn011::CHECK,
    &ext001::CHECK,
    &ext002::CHECK,
    &ext003::CHECK,
    &hlt001::CHECK,
    &hlt002::CHECK,
    &hlt003::CHECK,
    &hlt004::CHECK,
    &inf003::CHECK,
    &inf004::CHECK,
    &inf005::CHECK,
    &node001::CHECK,
    &node002::CHECK,
    &node003::CHECK,
    &node004::CHECK,
    &node005::CHECK,
    &node006::CHECK,
    &path001::CHECK,
    &path002::CHECK,
    &path003::CHECK,
    &skew001::CHECK,
    &skew002::CHECK,
    &skew003::CHECK,
    &skew004::CHECK,
    &skew005::CHECK,
    &skew006::CHECK,
    &snap002::CHECK,
    &wl001::CHECK,
    &wl002::CHECK,
    &wl003::CHECK,
    &wl004::CHECK,
    &wl005::CHECK,
];

/// A check that reads the provider's API: what it calls, and why the facts read do not
/// suffice for it (a denied or failed call), when they do not.
struct ProviderNeeds {
    code: &'static str,
    calls: &'static [EksCall],
    unavailable: fn(&EksFacts) -> Option<String>,
}

/// The checks that read the EKS API. They run on provider facts, not Kubernetes lists, so
/// their "not run" reasons come from the provider state (kept apart from [`Check`], whose
/// shape every check shares).
static PROVIDER_CHECKS: &[ProviderNeeds] = &[
    ProviderNeeds {
        code: "ADD001",
        calls: add001::CALLS,
        unavailable: add001::unavailable,
    },
    ProviderNeeds {
        code: "HLT003",
        calls: hlt003::CALLS,
        unavailable: hlt003::unavailable,
    },
    ProviderNeeds {
        code: "NODE003",
        calls: node003::CALLS,
        unavailable: node003::unavailable,
    },
    ProviderNeeds {
        code: "SKEW002",
        calls: skew002::CALLS,
        unavailable: skew002::unavailable,
    },
];

/// A check that reads the AKS API: what it reads, and why the facts read do not suffice for
/// it, when they do not.
struct AksNeeds {
    code: &'static str,
    unavailable: fn(&AksFacts) -> Option<String>,
}

/// The checks that read Azure Resource Manager for an AKS cluster.
static AKS_CHECKS: &[AksNeeds] = &[
    AksNeeds {
        code: "NODE003",
        unavailable: node003::aks_unavailable,
    },
    AksNeeds {
        code: "PATH001",
        unavailable: path001::aks_unavailable,
    },
    AksNeeds {
        code: "SKEW002",
        unavailable: skew002::aks_unavailable,
    },
];

/// The AKS reads a scan makes, in a fixed order (the Azure role actions `upcheck cluster
/// --rbac` lists). The reader makes all of them whatever the selection: the plan uses the
/// pools' settings and upgrade profiles too, and a read left out of the role would make the
/// scan incomplete.
pub fn aks_calls() -> Vec<AksCall> {
    AksCall::ALL.to_vec()
}

/// The EKS calls the selected checks make, each once, in a fixed order (the IAM policy
/// `upcheck cluster --rbac --iam` prints).
pub fn eks_calls(selection: &Selection) -> Vec<EksCall> {
    let used: BTreeSet<EksCall> = PROVIDER_CHECKS
        .iter()
        .filter(|p| selection.includes(p.code))
        .flat_map(|p| p.calls.iter().copied())
        .collect();
    EksCall::ALL
        .into_iter()
        .filter(|c| used.contains(c))
        .collect()
}

/// The provider API calls a check makes (none for checks on Kubernetes lists only).
pub fn provider_calls(code: &str) -> &'static [EksCall] {
    PROVIDER_CHECKS
        .iter()
        .find(|p| p.code.eq_ignore_ascii_case(code))
        .map_or(&[], |p| p.calls)
}

/// Why a provider check cannot run on `state`, when it cannot; `None` for other checks.
fn provider_unavailable(code: &str, state: &ClusterState) -> Option<String> {
    if let ProviderState::Aks(facts) = state.provider() {
        // EKS-only checks apply to nothing on AKS: they run and find nothing.
        let needs = AKS_CHECKS.iter().find(|p| p.code == code)?;
        return (needs.unavailable)(facts);
    }
    let needs = PROVIDER_CHECKS.iter().find(|p| p.code == code)?;
    match state.provider() {
        // No provider was read: the cluster is not told to be EKS (from the kubeconfig or
        // --provider), or --no-provider turned it off. These checks apply to EKS clusters only,
        // so they run and find nothing, as ADD002 does on a cluster without CoreDNS. An EKS
        // cluster whose API could not be read is `Failed`, and says why.
        ProviderState::None | ProviderState::Aks(_) => None,
        ProviderState::Failed(why) => Some(why.reason.clone()),
        ProviderState::Eks(facts) => (needs.unavailable)(facts),
    }
}

/// The checks that read an API server endpoint besides the lists, and which one. Kept apart
/// from [`Check`] for the same reason as [`PROVIDER_CHECKS`]: few checks read them.
static ENDPOINT_CHECKS: &[(&str, Endpoint)] =
    &[("API001", Endpoint::Metrics), ("HLT003", Endpoint::Readyz)];

/// The endpoints the selected checks read, each once.
pub fn endpoints(selection: &Selection) -> BTreeSet<Endpoint> {
    ENDPOINT_CHECKS
        .iter()
        .filter(|(code, _)| selection.includes(code))
        .map(|(_, e)| *e)
        .collect()
}

/// The endpoints a check reads (none for most).
pub fn check_endpoints(code: &str) -> impl Iterator<Item = Endpoint> + '_ {
    ENDPOINT_CHECKS
        .iter()
        .filter(move |(c, _)| c.eq_ignore_ascii_case(code))
        .map(|(_, e)| *e)
}

/// The check with `code` (case-insensitive).
pub fn find(code: &str) -> Option<&'static Check> {
    REGISTRY
        .iter()
        .copied()
        .find(|c| c.code.eq_ignore_ascii_case(code))
}

/// Which checks run: `--select` and `--ignore`, by code or prefix (`DRN`, `SKEW001`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Selection {
    /// Only these codes or prefixes (empty: all).
    pub select: Vec<String>,
    /// Never these codes or prefixes.
    pub ignore: Vec<String>,
}

impl Selection {
    /// Runs the codes matching `select` (every code when empty) except those matching `ignore`.
    pub fn new(select: Vec<String>, ignore: Vec<String>) -> Self {
        Self { select, ignore }
    }

    /// Whether `code` runs.
    pub fn includes(&self, code: &str) -> bool {
        let matches = |p: &String| crate::code_pattern::matches(p, code);
        (self.select.is_empty() || self.select.iter().any(matches))
            && !self.ignore.iter().any(matches)
    }
}

/// What the user told about the roll, beyond the versions.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Options {
    /// The kubectl version pipelines and runbooks use, when known.
    pub kubectl: Option<KubeVersion>,
    /// Seconds a drain may take (a pipeline's timeout), when known.
    pub drain_budget: Option<u64>,
    /// Today (UTC), for support windows.
    pub today: Option<Date>,
}

impl Options {
    /// Options with `kubectl` and `drain_budget`.
    pub fn new(kubectl: Option<KubeVersion>, drain_budget: Option<u64>) -> Self {
        Self {
            kubectl,
            drain_budget,
            today: None,
        }
    }

    /// With today's date (UTC), which PATH003 needs.
    #[must_use]
    pub fn today(mut self, today: Option<Date>) -> Self {
        self.today = today;
        self
    }
}

/// Runs the selected checks over `state`; `kubectl` is the client version to judge, if known.
pub fn run(
    state: &ClusterState,
    current: KubeVersion,
    target: KubeVersion,
    selection: &Selection,
    offline: bool,
    kubectl: Option<KubeVersion>,
) -> Readiness {
    run_with(
        state,
        current,
        target,
        selection,
        offline,
        Options::new(kubectl, None),
    )
}

/// Runs the selected checks over `state` with what the user told about the roll.
pub fn run_with(
    state: &ClusterState,
    current: KubeVersion,
    target: KubeVersion,
    selection: &Selection,
    offline: bool,
    options: Options,
) -> Readiness {
    let mut ctx = Context::new(state, current, target);
    ctx.kubectl = options.kubectl;
    ctx.drain_budget = options.drain_budget;
    ctx.today = options.today;
    let mut findings = Vec::new();
    let mut not_run = Vec::new();
    let mut ran = Vec::new();
    for check in REGISTRY.iter().filter(|c| selection.includes(c.code)) {
        if offline && !check.offline {
            not_run.push(NotRun {
                code: check.code.to_owned(),
                reason:
                    "needs live cluster state (status, running pods or nodes); run upcheck cluster"
                        .to_owned(),
            });
            continue;
        }
        if check.needs_kubectl && ctx.kubectl.is_none() {
            not_run.push(NotRun {
                code: check.code.to_owned(),
                reason: "needs the kubectl version your pipelines and runbooks use: give --kubectl-version".to_owned(),
            });
            continue;
        }
        let missing: BTreeSet<String> = check
            .needs
            .iter()
            .filter_map(|r| state.unavailable(*r))
            .chain(check_endpoints(check.code).filter_map(|e| state.endpoint_unavailable(e)))
            .chain(provider_unavailable(check.code, state))
            .chain(
                (check.code == path003::CHECK.code)
                    .then(|| path003::unavailable(ctx.today))
                    .flatten(),
            )
            .collect();
        if !missing.is_empty() {
            not_run.push(NotRun {
                code: check.code.to_owned(),
                reason: missing.into_iter().collect::<Vec<_>>().join("; "),
            });
            continue;
        }
        (check.run)(&ctx, &mut findings);
        ran.push(check.code.to_owned());
    }
    // Most severe first, then by code, hop and object: the order people read a plan in.
    findings.sort_by(|a, b| {
        (a.severity, &a.code, a.hop, &a.object, &a.message)
            .cmp(&(b.severity, &b.code, b.hop, &b.object, &b.message))
    });
    findings.dedup();
    fingerprint::assign_checks(&mut findings);
    Readiness {
        current,
        target,
        hops: ctx.hops,
        ran,
        findings,
        not_run,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_unique_sorted_and_explained() {
        let codes: Vec<&str> = REGISTRY.iter().map(|c| c.code).collect();
        let mut sorted = codes.clone();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(codes, sorted);
        for c in REGISTRY {
            assert!(
                c.explanation.len() > 80,
                "{} needs a real explanation",
                c.code
            );
            assert!(
                !c.remediation.is_empty() && !c.reads.is_empty() && !c.applies.is_empty(),
                "{}",
                c.code
            );
        }
    }

    #[test]
    fn selection_by_code_and_prefix() {
        let s = Selection {
            select: vec!["drn".into(), "SKEW001".into()],
            ignore: vec!["DRN004".into()],
        };
        assert!(s.includes("DRN001") && s.includes("SKEW001"));
        assert!(!s.includes("DRN004") && !s.includes("HLT001"));
        assert!(Selection::default().includes("HLT001"));
        // The syntax suppressions use: `*` wildcards too.
        let wild = Selection {
            select: vec!["SKEW*1".into(), "*".into()],
            ignore: vec!["DRN".into()],
        };
        assert!(wild.includes("SKEW001") && wild.includes("HLT001") && !wild.includes("DRN001"));
    }

    #[test]
    fn hops_are_one_minor_each() {
        let state = ClusterState::default();
        let ctx = Context::new(&state, KubeVersion::new(1, 20), KubeVersion::new(1, 22));
        assert_eq!(ctx.hops, [KubeVersion::new(1, 21), KubeVersion::new(1, 22)]);
        assert!(
            Context::new(&state, KubeVersion::new(1, 22), KubeVersion::new(1, 22))
                .hops
                .is_empty()
        );
    }
}
