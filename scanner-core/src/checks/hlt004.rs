//! HLT004: `GitOps` reconcilers that will revert changes made by hand during the upgrade.

use serde_json::Value;

use super::util::{name, namespace, object_ref, text};
use super::{Check, CheckFinding, CodeInfo, Context, Family, Resource, Severity};

pub static CHECK: Check = Check {
    info: CodeInfo {
        code: "HLT004",
        family: Family::Readiness,
        title: "GitOps reconcilers that will fight the upgrade",
        severity: Severity::Info,
        reads: "Flux Kustomization (kustomize.toolkit.fluxcd.io, any version) spec.{suspend,targetNamespace,path}; Flux HelmRelease (helm.toolkit.fluxcd.io) spec.{suspend,targetNamespace}, metadata.namespace; Argo CD Application (argoproj.io) spec.{syncPolicy.automated,destination.namespace}; ApplicationSet spec.template.spec.{syncPolicy.automated,destination.namespace}",
        applies: "before the first hop, whenever Flux or Argo CD is installed (a cluster without them serves none of these objects; a list that is forbidden makes the check not run, not the scan incomplete); on manifests every such object",
        remediation: "Suspend the reconciler for the upgrade window with the command given (flux suspend ..., argocd app set NAME --sync-policy none) and resume it afterwards, or make the changes the upgrade needs (add-on images, CNI settings, kube-proxy) in Git so the reconciler applies them.",
        explanation: "Flux reconciles every Kustomization and HelmRelease on its interval unless suspended, and an Argo CD Application with an automated sync policy (selfHeal in particular) resets drift as soon as it sees it. When they own kube-system add-ons (aws-node, kube-proxy, CoreDNS) or node-level DaemonSets, the fixes an engineer makes by hand during an upgrade (a new image tag, a CNI environment variable, a patched DaemonSet) are reverted minutes later, or the reconciler fights the managed add-on update: the EKS runbooks say never to kubectl edit what Flux owns, and to pause Flux for the upgrade. HLT004 names each reconciler that targets kube-system with its suspend and resume commands. It reads what the objects declare (target namespace, path, destination), not which objects they rendered, so a reconciler that reaches kube-system only through its manifests is not seen.",
        retired: None,
    },
    needs: &[
        Resource::FluxKustomizations,
        Resource::FluxHelmReleases,
        Resource::ArgoApplications,
        Resource::ArgoApplicationSets,
    ],
    offline: true,
    needs_kubectl: false,
    uses: &[],
    run,
};

/// The namespace the upgrade's add-ons live in.
const KUBE_SYSTEM: &str = "kube-system";

/// Whether `object` is of `resource`'s group (manifests may carry other groups' kinds; live
/// lists may leave `apiVersion` out).
fn ours(resource: Resource, object: &Value) -> bool {
    text(object, "/apiVersion").is_none_or(|v| resource.has_api_version(v))
}

/// Why a Flux object reaches kube-system, if it does.
fn flux_target(resource: Resource, object: &Value) -> Option<String> {
    if object.pointer("/spec/suspend").and_then(Value::as_bool) == Some(true) {
        return None;
    }
    let target = text(object, "/spec/targetNamespace");
    if target == Some(KUBE_SYSTEM) {
        return Some("targetNamespace kube-system".to_owned());
    }
    match resource {
        Resource::FluxKustomizations => text(object, "/spec/path")
            .filter(|p| p.contains(KUBE_SYSTEM))
            .map(|p| format!("path {p}")),
        // A HelmRelease without targetNamespace installs into its own namespace.
        _ => (target.is_none() && namespace(object) == Some(KUBE_SYSTEM))
            .then(|| "release namespace kube-system".to_owned()),
    }
}

/// `prune` and `selfHeal` of an automated policy, as `argocd app set` flags to restore it.
fn automated_flags(automated: &Value) -> String {
    let mut flags = String::from("--sync-policy automated");
    if automated.get("prune").and_then(Value::as_bool) == Some(true) {
        flags.push_str(" --auto-prune");
    }
    if automated.get("selfHeal").and_then(Value::as_bool) == Some(true) {
        flags.push_str(" --self-heal");
    }
    flags
}

/// The name `argocd app` takes: `NAME` in the control plane's namespace, `NS/NAME` elsewhere
/// (apps in any namespace).
fn argo_name(object: &Value) -> String {
    match namespace(object) {
        Some(ns) if ns != "argocd" => format!("{ns}/{}", name(object)),
        _ => name(object).to_owned(),
    }
}

fn run(ctx: &Context<'_>, out: &mut Vec<CheckFinding>) {
    for (resource, noun) in [
        (Resource::FluxKustomizations, "kustomization"),
        (Resource::FluxHelmReleases, "helmrelease"),
    ] {
        for object in ctx
            .state
            .list(resource)
            .iter()
            .filter(|o| ours(resource, o))
        {
            let Some(why) = flux_target(resource, object) else {
                continue;
            };
            let n = name(object);
            let ns = namespace(object).unwrap_or("flux-system");
            out.push(CheckFinding::new(
                &CHECK,
                Severity::Info,
                object_ref(resource.kind(), object),
                format!("Flux reconciles it into kube-system ({why}) and will revert hand-made fixes there: before the upgrade `flux suspend {noun} {n} -n {ns}`, after it `flux resume {noun} {n} -n {ns}` (or make the changes in Git)"),
            ));
        }
    }
    let resource = Resource::ArgoApplications;
    for app in ctx
        .state
        .list(resource)
        .iter()
        .filter(|o| ours(resource, o))
    {
        let Some(automated) = app
            .pointer("/spec/syncPolicy/automated")
            .filter(|a| !a.is_null())
        else {
            continue;
        };
        if text(app, "/spec/destination/namespace") != Some(KUBE_SYSTEM) {
            continue;
        }
        let n = argo_name(app);
        out.push(CheckFinding::new(
            &CHECK,
            Severity::Info,
            object_ref(resource.kind(), app),
            format!("Argo CD syncs it automatically into kube-system and will revert hand-made fixes there: before the upgrade `argocd app set {n} --sync-policy none`, after it `argocd app set {n} {}` (or make the changes in Git)", automated_flags(automated)),
        ));
    }
    let resource = Resource::ArgoApplicationSets;
    for set in ctx
        .state
        .list(resource)
        .iter()
        .filter(|o| ours(resource, o))
    {
        if set
            .pointer("/spec/template/spec/syncPolicy/automated")
            .is_none_or(Value::is_null)
        {
            continue;
        }
        if text(set, "/spec/template/spec/destination/namespace") != Some(KUBE_SYSTEM) {
            continue;
        }
        let n = name(set);
        let ns = namespace(set).unwrap_or("argocd");
        // The ApplicationSet controller rewrites its Applications' sync policy: pause it in
        // the template, not per Application.
        out.push(CheckFinding::new(
            &CHECK,
            Severity::Info,
            object_ref(resource.kind(), set),
            format!("its Applications sync automatically into kube-system and will revert hand-made fixes there; the ApplicationSet controller resets their sync policy, so pause it in the template: before the upgrade `kubectl -n {ns} patch applicationset {n} --type json -p '[{{\"op\":\"remove\",\"path\":\"/spec/template/spec/syncPolicy/automated\"}}]'`, after it re-apply the ApplicationSet from Git"),
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

    fn findings(objects: Vec<(Resource, Value)>) -> Vec<CheckFinding> {
        let mut s = ClusterState::new();
        for r in [
            Resource::FluxKustomizations,
            Resource::FluxHelmReleases,
            Resource::ArgoApplications,
            Resource::ArgoApplicationSets,
        ] {
            s.set(r, vec![]);
        }
        for (r, o) in objects {
            s.extend(r, [o]);
        }
        let ctx = Context::new(&s, KubeVersion::new(1, 29), KubeVersion::new(1, 30));
        let mut out = Vec::new();
        run(&ctx, &mut out);
        out
    }

    #[test]
    fn flux_kustomizations_and_helmreleases() {
        let ks = |name: &str, spec: Value| {
            (
                Resource::FluxKustomizations,
                json!({"apiVersion": "kustomize.toolkit.fluxcd.io/v1",
                "metadata": {"name": name, "namespace": "flux-system"}, "spec": spec}),
            )
        };
        let f = findings(vec![
            ks(
                "aws-node",
                json!({"path": "./clusters/prod/kube-system/aws-node", "interval": "10m"}),
            ),
            ks(
                "kube-proxy",
                json!({"path": "./addons", "targetNamespace": "kube-system"}),
            ),
            ks("paused", json!({"path": "./kube-system", "suspend": true})),
            ks("apps", json!({"path": "./apps", "targetNamespace": "shop"})),
            // kustomize's own Kustomization (a kustomization.yaml) is no reconciler.
            (
                Resource::FluxKustomizations,
                json!({"apiVersion": "kustomize.config.k8s.io/v1beta1",
                "kind": "Kustomization", "namespace": "kube-system"}),
            ),
            (
                Resource::FluxHelmReleases,
                json!({"apiVersion": "helm.toolkit.fluxcd.io/v2beta1",
                "metadata": {"name": "cluster-autoscaler", "namespace": "kube-system"}, "spec": {"chart": {}}}),
            ),
        ]);
        let got: Vec<(&str, &str)> = f
            .iter()
            .map(|f| (f.object.as_str(), f.message.as_str()))
            .collect();
        assert_eq!(
            got,
            [
                (
                    "Kustomization flux-system/aws-node",
                    "Flux reconciles it into kube-system (path ./clusters/prod/kube-system/aws-node) and will revert hand-made fixes there: before the upgrade `flux suspend kustomization aws-node -n flux-system`, after it `flux resume kustomization aws-node -n flux-system` (or make the changes in Git)"
                ),
                (
                    "Kustomization flux-system/kube-proxy",
                    "Flux reconciles it into kube-system (targetNamespace kube-system) and will revert hand-made fixes there: before the upgrade `flux suspend kustomization kube-proxy -n flux-system`, after it `flux resume kustomization kube-proxy -n flux-system` (or make the changes in Git)"
                ),
                (
                    "HelmRelease kube-system/cluster-autoscaler",
                    "Flux reconciles it into kube-system (release namespace kube-system) and will revert hand-made fixes there: before the upgrade `flux suspend helmrelease cluster-autoscaler -n kube-system`, after it `flux resume helmrelease cluster-autoscaler -n kube-system` (or make the changes in Git)"
                ),
            ]
        );
    }

    #[test]
    fn argo_applications_with_automated_sync() {
        let app = |name: &str, ns: &str, spec: Value| {
            (
                Resource::ArgoApplications,
                json!({"apiVersion": "argoproj.io/v1alpha1",
                "metadata": {"name": name, "namespace": ns}, "spec": spec}),
            )
        };
        let f = findings(vec![
            app(
                "vpc-cni",
                "argocd",
                json!({"destination": {"namespace": "kube-system"},
                "syncPolicy": {"automated": {"prune": true, "selfHeal": true}}}),
            ),
            app(
                "coredns",
                "team-infra",
                json!({"destination": {"namespace": "kube-system"},
                "syncPolicy": {"automated": {}}}),
            ),
            app(
                "manual",
                "argocd",
                json!({"destination": {"namespace": "kube-system"}, "syncPolicy": {}}),
            ),
            app(
                "shop",
                "argocd",
                json!({"destination": {"namespace": "shop"}, "syncPolicy": {"automated": {}}}),
            ),
            (
                Resource::ArgoApplicationSets,
                json!({"apiVersion": "argoproj.io/v1alpha1",
                "metadata": {"name": "addons", "namespace": "argocd"},
                "spec": {"template": {"spec": {"destination": {"namespace": "kube-system"}, "syncPolicy": {"automated": {"selfHeal": true}}}}}}),
            ),
        ]);
        let got: Vec<&str> = f.iter().map(|f| f.object.as_str()).collect();
        assert_eq!(
            got,
            [
                "Application argocd/vpc-cni",
                "Application team-infra/coredns",
                "ApplicationSet argocd/addons"
            ]
        );
        assert!(f[0].message.ends_with("before the upgrade `argocd app set vpc-cni --sync-policy none`, after it `argocd app set vpc-cni --sync-policy automated --auto-prune --self-heal` (or make the changes in Git)"), "{}", f[0].message);
        assert!(
            f[1].message
                .contains("`argocd app set team-infra/coredns --sync-policy none`"),
            "{}",
            f[1].message
        );
        assert!(
            f[2].message
                .contains("kubectl -n argocd patch applicationset addons"),
            "{}",
            f[2].message
        );
    }
}
