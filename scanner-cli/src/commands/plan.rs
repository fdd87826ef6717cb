//! `upcheck plan`: the upgrade as hops, with a checklist per phase.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::{self, IsTerminal};

use anyhow::{Context, Result};
use scanner_core::checks::{self, ClusterState, Resource};
use scanner_core::plan::{
    Blocker, NodePool, NodeRoll, Plan, PlanError, PlanInput, Provider, RemovedApi,
};
use scanner_core::snapshot::node_pool;
use scanner_core::{Input, KubeVersion, Report, ScanSettings, Scanner, WalkOptions};
use serde::Serialize;
use serde_json::Value;

use crate::args::{Cli, ConnectionArgs, PlanArgs, PlanFormat, ProviderArg, ReportArgs, TargetArgs};
use crate::cluster::progress::Progress;
use crate::{Stderr, exit, setup, targets};

/// Version of the plan's JSON.
const PLAN_SCHEMA_VERSION: u32 = 1;

pub fn run(cli: &Cli, args: &PlanArgs, err: &mut Stderr) -> Result<u8> {
    let target = parse_version("--target-version", &args.target_version)?;
    let loaded = setup::load(&args.catalog)?;
    let kubectl = super::cluster::kubectl_version(&args.checks)?;
    let finish = Finish {
        kubectl,
        catalog_newest: loaded
            .catalog
            .component("k8s")
            .and_then(|c| c.newest_release),
        today: super::today()?,
    };
    if args.fleet.requested(&args.connection.context) {
        if !args.current.is_empty() {
            anyhow::bail!(
                "--current plans offline, from no cluster; drop it to plan each cluster of the fleet"
            );
        }
        return fleet(cli, args, target, finish, err);
    }

    let (input, report) = if args.current.is_empty() {
        live(cli, args, &args.connection, target).context(
            "cannot read the cluster to plan from; to plan offline, give the control plane's \
             version with --current (and the node pools' with --nodes)",
        )?
    } else {
        offline(cli, args, target, &loaded)?
    };
    let plan = match finish.build(input, report.as_ref()) {
        Ok(p) => p,
        Err(e) => {
            err.error(&e.to_string());
            return Ok(exit::ERROR);
        }
    };

    let text = match args.output {
        PlanFormat::Text => text(&plan, report.as_ref()),
        PlanFormat::Markdown => markdown(&plan, report.as_ref()),
        PlanFormat::Json => {
            #[derive(Serialize)]
            struct Doc<'a> {
                schema_version: u32,
                plan: &'a Plan,
                report: Option<&'a Report>,
            }
            serde_json::to_string_pretty(&Doc {
                schema_version: PLAN_SCHEMA_VERSION,
                plan: &plan,
                report: report.as_ref(),
            })? + "\n"
        }
    };
    super::write_stdout(text.as_bytes())?;
    if let Some(r) = &report {
        super::fleet::diagnostics(None, r, None, cli.quiet, err);
    }
    Ok(exit_code(args, &plan, report.as_ref()))
}

/// What every plan gets besides its cluster's state.
#[derive(Clone, Copy)]
struct Finish {
    kubectl: Option<KubeVersion>,
    catalog_newest: Option<KubeVersion>,
    today: scanner_core::checks::Date,
}

impl Finish {
    fn build(self, mut input: PlanInput, report: Option<&Report>) -> Result<Plan, PlanError> {
        input.kubectl = self.kubectl;
        input.today = Some(self.today.to_string());
        input.catalog_newest = self.catalog_newest;
        Plan::build(input, report)
    }
}

/// The scan's code (1, 4, 3, 5, 2), with the plan's own blockers counted as readiness.
fn exit_code(args: &PlanArgs, plan: &Plan, report: Option<&Report>) -> u8 {
    let fail_on = super::cluster::fail_on(&args.checks);
    let gate = exit::Gate {
        readiness_fail_on: fail_on,
        ..exit::Gate::default()
    };
    let code = report.map_or(exit::OK, |r| exit::exit_code(r, gate));
    if fail_on.is_some() && plan.has_blockers() && matches!(code, exit::OK | exit::DEPRECATED) {
        exit::READINESS
    } else {
        code
    }
}

/// One cluster's plan in a fleet's JSON, or why there is none.
#[derive(Serialize)]
struct Member<'a> {
    context: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    plan: Option<&'a Plan>,
    #[serde(skip_serializing_if = "Option::is_none")]
    report: Option<&'a Report>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
}

/// One plan per context: each cluster read and planned as `upcheck plan --context NAME`
/// would, then written one after the other (JSON: one document with every plan).
fn fleet(
    cli: &Cli,
    args: &PlanArgs,
    target: KubeVersion,
    finish: Finish,
    err: &mut Stderr,
) -> Result<u8> {
    let contexts = super::fleet::contexts(&args.connection, &args.fleet)?;
    if contexts.is_empty() {
        anyhow::bail!("no context to plan");
    }
    let plans = super::fleet::each_context(&contexts, args.fleet.parallel_clusters, |context| {
        let mut connection = args.connection.clone();
        connection.context = vec![context.to_owned()];
        connection.no_progress = true;
        let (input, report) = live(cli, args, &connection, target)?;
        let plan = finish.build(input, report.as_ref())?;
        Ok((plan, report))
    });

    let mut codes = Vec::with_capacity(plans.len());
    let mut members = Vec::with_capacity(plans.len());
    for (context, planned) in contexts.iter().zip(&plans) {
        match planned {
            Ok((plan, report)) => {
                if let Some(r) = report {
                    super::fleet::diagnostics(Some(context), r, None, cli.quiet, err);
                }
                codes.push(exit_code(args, plan, report.as_ref()));
                members.push(Member {
                    context,
                    plan: Some(plan),
                    report: report.as_ref(),
                    error: None,
                });
            }
            Err(e) => {
                let message = format!("{e:#}");
                err.error(&format!("cluster {context}: {message}"));
                codes.push(exit::ERROR);
                members.push(Member {
                    context,
                    plan: None,
                    report: None,
                    error: Some(message),
                });
            }
        }
    }

    let mut out = String::new();
    match args.output {
        PlanFormat::Json => {
            #[derive(Serialize)]
            struct Doc<'a> {
                schema_version: u32,
                clusters: &'a [Member<'a>],
            }
            out = serde_json::to_string_pretty(&Doc {
                schema_version: PLAN_SCHEMA_VERSION,
                clusters: &members,
            })? + "\n";
        }
        PlanFormat::Text | PlanFormat::Markdown => {
            let markdown_out = args.output == PlanFormat::Markdown;
            for (i, m) in members.iter().enumerate() {
                if i > 0 {
                    out.push('\n');
                }
                let _ = if markdown_out {
                    writeln!(out, "# Cluster `{}`\n", m.context)
                } else {
                    writeln!(out, "=== {} ===", m.context)
                };
                match (m.plan, &m.error) {
                    (Some(plan), _) if markdown_out => out.push_str(&markdown(plan, m.report)),
                    (Some(plan), _) => out.push_str(&text(plan, m.report)),
                    (None, Some(e)) => {
                        let _ = writeln!(out, "not planned: {e}");
                    }
                    (None, None) => {}
                }
            }
        }
    }
    super::write_stdout(out.as_bytes())?;
    Ok(exit::worst(codes))
}

fn parse_version(flag: &str, text: &str) -> Result<KubeVersion> {
    text.trim()
        .parse()
        .map_err(|e| anyhow::anyhow!("{flag} {text:?}: {e}"))
}

fn provider_of(arg: Option<ProviderArg>) -> Option<Provider> {
    arg.map(|p| match p {
        ProviderArg::Eks => Provider::Eks,
        ProviderArg::Aks => Provider::Aks,
        ProviderArg::Gke => Provider::Gke,
        ProviderArg::Kubeadm => Provider::Kubeadm,
        ProviderArg::K3s => Provider::K3s,
        ProviderArg::Generic => Provider::Generic,
    })
}

/// Offline: versions from the flags, APIs and readiness from the manifests given.
fn offline(
    cli: &Cli,
    args: &PlanArgs,
    target: KubeVersion,
    loaded: &setup::Loaded,
) -> Result<(PlanInput, Option<Report>)> {
    let apiservers = args
        .current
        .iter()
        .map(|c| parse_version("--current", c))
        .collect::<Result<Vec<_>>>()?;
    let mut pools = Vec::new();
    for n in &args.nodes {
        let (name, v) = match n.split_once('=') {
            Some((name, v)) => (name.trim().to_owned(), v),
            None => (format!("nodes-{}", n.trim()), n.as_str()),
        };
        pools.push(NodePool::new(name, parse_version("--nodes", v)?, 0));
    }
    let running = apiservers.iter().max().copied().unwrap_or(target);
    let report = if args.paths.is_empty() {
        None
    } else {
        let (targets, _) = targets::resolve(
            &TargetArgs {
                target_version: vec![target.to_string()],
                current: vec![running.to_string()],
                components: Vec::new(),
            },
            &loaded.catalog,
            &loaded.file_targets,
        )?;
        let mut settings = ScanSettings::new(targets);
        settings.walk = WalkOptions {
            exclude: cli.policy.exclude.clone(),
            ..WalkOptions::default()
        };
        settings.keep_for_checks = true;
        let mut inputs = Vec::new();
        for p in &args.paths {
            inputs.push(if p.as_os_str() == "-" {
                Input::stdin_up_to(scanner_core::DEFAULT_MAX_FILE_BYTES)
                    .context("cannot read stdin")?
            } else {
                Input::Path(p.clone())
            });
        }
        let scanner = Scanner::new(&loaded.catalog, settings);
        let (mut report, state) =
            super::worker_pool(None)?.install(|| scanner.scan_for_checks(inputs));
        if target > running {
            let selection = super::cluster::selection(&args.checks)?;
            let mut readiness = checks::run_with(
                &state,
                running,
                target,
                &selection,
                true,
                checks::Options::new(
                    super::cluster::kubectl_version(&args.checks)?,
                    args.checks.drain_budget,
                )
                .today(Some(super::today()?)),
            );
            if !pools.is_empty() && selection.includes(SKEW001) {
                add_node_skew(&mut readiness, &pools, running, target);
            }
            report.readiness = Some(readiness);
        }
        let policy = &cli.policy;
        report.apply_ignores(&policy.ignores, &|p| policy.rel_path(p));
        Some(report)
    };
    let mut input = PlanInput::new(apiservers, target);
    input.pools = pools;
    input.provider = provider_of(args.provider).unwrap_or_default();
    Ok((input, report))
}

/// The kubelet-skew check the plan rolls node pools by.
const SKEW001: &str = "SKEW001";

/// Offline with `--nodes`, the kubelet versions are known: SKEW001 judges each pool as a node
/// (the same rule the plan computed its rolls from) instead of being listed as not run.
fn add_node_skew(
    readiness: &mut checks::Readiness,
    pools: &[NodePool],
    running: KubeVersion,
    target: KubeVersion,
) {
    let mut nodes = ClusterState::new();
    nodes.set(
        Resource::Nodes,
        pools
            .iter()
            .map(|p| {
                serde_json::json!({
                    "apiVersion": "v1",
                    "kind": "Node",
                    "metadata": {"name": p.name},
                    "status": {"nodeInfo": {"kubeletVersion": format!("v{}.0", p.kubelet)}},
                })
            })
            .collect(),
    );
    let only = checks::Selection::new(vec![SKEW001.to_owned()], Vec::new());
    let skew = checks::run(&nodes, running, target, &only, false, None);
    readiness.not_run.retain(|n| n.code != SKEW001);
    readiness.ran.extend(skew.ran);
    readiness.ran.sort();
    readiness.findings.extend(skew.findings);
    // The order checks::run gives: most severe first, then code, hop and object.
    readiness.findings.sort_by(|a, b| {
        (a.severity, &a.code, a.hop, &a.object, &a.message)
            .cmp(&(b.severity, &b.code, b.hop, &b.object, &b.message))
    });
}

/// Live: the cluster scan with readiness checks, plus nodes and apiservers from its state.
fn live(
    cli: &Cli,
    args: &PlanArgs,
    connection: &ConnectionArgs,
    target: KubeVersion,
) -> Result<(PlanInput, Option<Report>)> {
    let targets = TargetArgs {
        target_version: vec![target.to_string()],
        current: Vec::new(),
        components: Vec::new(),
    };
    let report_args = ReportArgs {
        output: Vec::new(),
        baseline: None,
        write_baseline: None,
        columns: Vec::new(),
        no_headers: false,
        only_removed: false,
        ignore_deprecations: false,
        ignore_removals: false,
        ignore_unavailable_replacements: false,
        allow_incomplete: false,
    };
    // EKS add-on versions and node groups come from the EKS API when the plan is for EKS
    // (told by --provider eks or the kubeconfig); other providers read none.
    // AKS's pools, upgrade settings and offered versions come from Azure Resource Manager
    // (--provider aks, or told by the kubeconfig).
    let provider_args = crate::args::ProviderArgs {
        provider: match args.provider {
            Some(ProviderArg::Eks) => Some(crate::args::ProviderApi::Eks),
            Some(ProviderArg::Aks) => Some(crate::args::ProviderApi::Aks),
            _ => None,
        },
        provider_cluster: args.provider_cluster.clone(),
        region: None,
        resource_group: args.resource_group.clone(),
        subscription: args.subscription.clone(),
        no_provider: args
            .provider
            .is_some_and(|p| p != ProviderArg::Eks && p != ProviderArg::Aks),
    };
    let live = super::cluster::LiveArgs {
        connection,
        targets: &targets,
        catalog: &args.catalog,
        report: &report_args,
        checks: Some(&args.checks),
        what: super::cluster::What {
            objects: true,
            helm: true,
            all_revisions: false,
        },
        provider: Some(&provider_args),
    };
    let progress =
        Progress::new(!connection.no_progress && !cli.quiet && io::stderr().is_terminal());
    let (mut report, _, state) = super::cluster::report(&live, &progress)?;
    let policy = &cli.policy;
    report.apply_ignores(&policy.ignores, &|p| policy.rel_path(p));

    let server = report
        .cluster
        .as_ref()
        .and_then(|c| c.info.server_version.clone());
    // SKEW004's reader: the same pods the readiness check judges.
    let mut apiservers = checks::skew004::apiserver_versions(&state);
    if apiservers.is_empty()
        && let Some(v) = server.as_deref().and_then(|v| v.parse().ok())
    {
        apiservers.push(v);
    }
    let nodes = state.list(Resource::Nodes);
    let labels: Vec<&str> = nodes
        .iter()
        .filter_map(|n| n.pointer("/metadata/labels").and_then(Value::as_object))
        .flat_map(|m| m.keys().map(String::as_str))
        .collect();
    let provider = provider_of(args.provider)
        .unwrap_or_else(|| Provider::detect(server.as_deref(), labels.iter().copied()));
    let mut input = PlanInput::new(apiservers, target);
    input.pools = pools(nodes);
    input.provider = provider;
    if let Some(facts) = state.provider().eks() {
        let hops = report
            .readiness
            .as_ref()
            .map(|r| r.hops.clone())
            .unwrap_or_default();
        input.eks_addons = Some(scanner_core::plan::EksAddonPlan::from_facts(facts, &hops));
        input.eks_support_type.clone_from(&facts.support_type);
    }
    if let Some(facts) = state.provider().aks() {
        // AKS's agent pools are the pools the plan rolls (by their names in AKS), at the
        // version each runs.
        if let Ok(pools) = &facts.pools
            && !pools.is_empty()
        {
            input.pools = pools
                .iter()
                .filter_map(|p| {
                    let nodes = usize::try_from(p.count.unwrap_or(0)).unwrap_or(usize::MAX);
                    Some(NodePool::new(p.name.clone(), p.minor()?, nodes))
                })
                .collect();
        }
        input.aks = Some(scanner_core::plan::AksPlan::from_facts(facts));
    }
    Ok((input, Some(report)))
}

/// Nodes grouped by pool (the provider's label, else kubelet minor), at their oldest kubelet.
fn pools(nodes: &[Value]) -> Vec<NodePool> {
    let mut by: BTreeMap<String, (KubeVersion, usize)> = BTreeMap::new();
    for n in nodes {
        let Some(kubelet) = n
            .pointer("/status/nodeInfo/kubeletVersion")
            .and_then(Value::as_str)
            .and_then(|v| v.parse::<KubeVersion>().ok())
        else {
            continue;
        };
        let e = by.entry(node_pool(n)).or_insert((kubelet, 0));
        e.0 = e.0.min(kubelet);
        e.1 += 1;
    }
    by.into_iter()
        .map(|(name, (kubelet, n))| NodePool::new(name, kubelet, n))
        .collect()
}

fn pool_line(pool: &NodePool) -> String {
    if pool.nodes == 0 {
        format!("{} (kubelet {})", pool.name, pool.kubelet)
    } else {
        format!(
            "{} (kubelet {}, {} node{})",
            pool.name,
            pool.kubelet,
            pool.nodes,
            if pool.nodes == 1 { "" } else { "s" }
        )
    }
}

fn roll_line(plan: &Plan, r: &NodeRoll) -> String {
    format!(
        "{} pool {}: {} → {}: {}; {}",
        if r.required { "Roll" } else { "Align" },
        r.pool,
        r.from,
        r.to,
        r.reason,
        plan.pool_command(&r.pool, r.to)
    )
}

fn api_line(a: &RemovedApi) -> String {
    match (&a.replacement, &a.found_as) {
        (Some(r), Some(found)) => format!(
            "Migrate {} to {r} (the objects found as {found}, after their earlier move): {}",
            a.api,
            a.objects.join(", ")
        ),
        (Some(r), None) => format!("Migrate {} to {r}: {}", a.api, a.objects.join(", ")),
        (None, _) => format!(
            "Remove or redesign {} (no replacement): {}",
            a.api,
            a.objects.join(", ")
        ),
    }
}

fn blocker_line(b: &Blocker) -> String {
    format!(
        "[{}] {} {}: {}",
        b.severity.as_str(),
        b.code,
        b.object,
        b.message
    )
}

/// One phase of the plan: a title, what must be done before it (hops only), and its steps.
struct Phase {
    title: String,
    prepare: Vec<String>,
    steps: Vec<String>,
}

/// The plan as phases, the same for every format: before, each hop, after, and later.
fn phases(plan: &Plan) -> Vec<Phase> {
    let mut out = Vec::new();
    let mut before: Vec<String> = plan.backups.clone();
    before.extend(
        plan.fix_now
            .iter()
            .map(|a| format!("{} (already removed at the running version)", api_line(a))),
    );
    before.extend(plan.before.iter().map(blocker_line));
    out.push(Phase {
        title: "Before: backups, capture, fixes".into(),
        prepare: Vec::new(),
        steps: before,
    });
    for (i, h) in plan.hops.iter().enumerate() {
        let mut prepare: Vec<String> = h.node_rolls.iter().map(|r| roll_line(plan, r)).collect();
        prepare.extend(h.removed_apis.iter().map(api_line));
        prepare.extend(
            h.removed_api_clients
                .iter()
                .map(|c| format!("Find and fix the client: {c}")),
        );
        prepare.extend(h.blockers.iter().map(blocker_line));
        let mut steps = h.steps.clone();
        steps.push(format!(
            "kubectl in pipelines and runbooks within {}–{}",
            h.kubectl_range.0, h.kubectl_range.1
        ));
        out.push(Phase {
            title: format!(
                "Hop {}: {} → {}{}",
                i + 1,
                h.from,
                h.to,
                if h.finishing {
                    " (finishing the upgrade under way)"
                } else {
                    ""
                }
            ),
            prepare,
            steps,
        });
    }
    let mut after: Vec<String> = plan
        .after_rolls
        .iter()
        .map(|r| roll_line(plan, r))
        .collect();
    after.extend(plan.after_checks.iter().cloned());
    out.push(Phase {
        title: "After: nodes, health, comparison".into(),
        prepare: Vec::new(),
        steps: after,
    });
    if !plan.later.is_empty() {
        out.push(Phase {
            title: format!(
                "Deprecated, still served at {} (before the next upgrade)",
                plan.target
            ),
            prepare: Vec::new(),
            steps: plan.later.iter().map(api_line).collect(),
        });
    }
    out
}

fn headline(plan: &Plan) -> String {
    let apis = if plan.apiservers.len() > 1 {
        let v: Vec<String> = plan.apiservers.iter().map(ToString::to_string).collect();
        format!(" (apiservers {})", v.join(", "))
    } else {
        String::new()
    };
    format!(
        "Upgrade plan {} → {}{apis} on {}: {} control-plane hop{}, {} node-pool roll{}",
        plan.current,
        plan.target,
        plan.provider.title(),
        plan.hops.len(),
        if plan.hops.len() == 1 { "" } else { "s" },
        plan.node_rolls(),
        if plan.node_rolls() == 1 { "" } else { "s" },
    )
}

/// The node-roll table of §2.3: per hop, the control plane after it and each pool's minor.
fn roll_table(plan: &Plan) -> Vec<Vec<String>> {
    let mut rows = Vec::new();
    let mut at: Vec<KubeVersion> = plan.pools.iter().map(|p| p.kubelet).collect();
    for h in &plan.hops {
        let mut rolled = Vec::new();
        for r in &h.node_rolls {
            if let Some(i) = plan.pools.iter().position(|p| p.name == r.pool) {
                at[i] = r.to;
                rolled.push(r.pool.clone());
            }
        }
        let mut row = vec![h.to.to_string(), h.to.to_string()];
        row.extend(at.iter().map(ToString::to_string));
        row.push(if rolled.is_empty() {
            "no".into()
        } else {
            format!("yes, before the hop: {}", rolled.join(", "))
        });
        rows.push(row);
    }
    if !plan.after_rolls.is_empty() {
        for r in &plan.after_rolls {
            if let Some(i) = plan.pools.iter().position(|p| p.name == r.pool) {
                at[i] = r.to;
            }
        }
        let mut row = vec!["after".to_owned(), plan.target.to_string()];
        row.extend(at.iter().map(ToString::to_string));
        let names: Vec<&str> = plan.after_rolls.iter().map(|r| r.pool.as_str()).collect();
        row.push(format!("yes, align: {}", names.join(", ")));
        rows.push(row);
    }
    rows
}

fn report_summary(report: Option<&Report>) -> Option<String> {
    report.map(crate::render::summary)
}

fn text(plan: &Plan, report: Option<&Report>) -> String {
    let mut o = String::new();
    let _ = writeln!(o, "{}", headline(plan));
    for s in &plan.support {
        let _ = writeln!(o, "! {}", s.message);
    }
    if !plan.pools.is_empty() {
        let pools: Vec<String> = plan.pools.iter().map(pool_line).collect();
        let _ = writeln!(o, "Node pools: {}", pools.join("; "));
    }
    for phase in phases(plan) {
        let _ = writeln!(o, "\n{}", phase.title);
        for item in phase.prepare.iter().chain(&phase.steps) {
            let _ = writeln!(o, "  - {item}");
        }
    }
    if let Some(s) = report_summary(report) {
        let _ = writeln!(o, "\n{s}");
    }
    o
}

fn markdown(plan: &Plan, report: Option<&Report>) -> String {
    let mut o = String::new();
    let _ = writeln!(o, "## {}\n", headline(plan));
    for s in &plan.support {
        let _ = writeln!(o, "> **Warning:** {}\n", s.message);
    }
    if !plan.pools.is_empty() {
        let _ = writeln!(o, "### Node-pool rolls\n");
        let mut header = vec!["Hop".to_owned(), "Control plane after".to_owned()];
        header.extend(
            plan.pools
                .iter()
                .map(|p| format!("{} (now {})", p.name, p.kubelet)),
        );
        header.push("Roll".to_owned());
        let _ = writeln!(o, "| {} |", header.join(" | "));
        let _ = writeln!(o, "|{}", "---|".repeat(header.len()));
        for row in roll_table(plan) {
            let _ = writeln!(o, "| {} |", row.join(" | "));
        }
    }
    for phase in phases(plan) {
        let _ = writeln!(o, "\n### {}\n", phase.title);
        if !phase.prepare.is_empty() {
            let _ = writeln!(o, "Before the hop:\n");
            for item in &phase.prepare {
                let _ = writeln!(o, "- [ ] {item}");
            }
            let _ = writeln!(o, "\nThe hop:\n");
        }
        for item in &phase.steps {
            let _ = writeln!(o, "- [ ] {item}");
        }
    }
    if let Some(s) = report_summary(report) {
        let _ = writeln!(o, "\n{}", s.replace('\n', "  \n"));
    }
    o
}
