//! `--provider`, `--provider-cluster`, `--region`, `--no-provider` and `--rbac --iam`: which
//! provider API `upcheck cluster` reads, told from the arguments or the kubeconfig.

use std::time::Duration;

use anyhow::Result;
use scanner_core::KubeVersion;
use scanner_core::checks::{self, Selection};
use scanner_core::live;
use scanner_core::provider::{detect_eks, eks::EksSettings};

use crate::args::{ConnectionArgs, ProviderArgs};

/// The EKS read to make before the scan, or `None`: turned off, no readiness checks (no
/// target), or neither asked for nor an EKS cluster by its kubeconfig.
pub fn eks_settings(
    args: Option<&ProviderArgs>,
    connection: &ConnectionArgs,
    target: Option<KubeVersion>,
) -> Option<EksSettings> {
    read_settings(args, connection, target?)
}

/// The EKS read for `upcheck snapshot save`: node groups and add-ons as they are. A snapshot
/// plans no upgrade, so no later minor's add-on versions are read (a target below every
/// cluster's version has no hops).
pub fn snapshot_eks_settings(
    args: &ProviderArgs,
    connection: &ConnectionArgs,
) -> Option<EksSettings> {
    read_settings(Some(args), connection, KubeVersion::new(1, 0))
}

fn read_settings(
    args: Option<&ProviderArgs>,
    connection: &ConnectionArgs,
    target: KubeVersion,
) -> Option<EksSettings> {
    let args = args.filter(|a| !a.no_provider)?;
    let context = match connection.context.as_slice() {
        [one] => Some(one.as_str()),
        _ => None,
    };
    // A kubeconfig that cannot be read fails the Kubernetes scan with its own error.
    let detected = live::kubeconfig_auth(connection.kubeconfig.as_deref(), context)
        .ok()
        .flatten()
        .and_then(|auth| detect_eks(&auth));
    if args.provider.is_none() && args.provider_cluster.is_none() && detected.is_none() {
        return None;
    }
    let detected = detected.unwrap_or_default();
    let timeout = Duration::from_secs(connection.timeout.max(1));
    Some(
        EksSettings::new(
            args.provider_cluster.clone().or(detected.cluster),
            args.region.clone().or(detected.region),
            target,
        )
        .profile(detected.profile)
        .requests(
            connection.retries.saturating_add(1),
            Duration::from_secs(1),
            timeout,
        ),
    )
}

/// The IAM policy (JSON) that lets the selected checks read EKS: read-only actions only.
pub fn iam_policy(selection: &Selection) -> Result<String> {
    let actions: Vec<&str> = checks::eks_calls(selection)
        .into_iter()
        .map(scanner_core::provider::EksCall::action)
        .collect();
    let policy = serde_json::json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Sid": "UpcheckEksRead",
            "Effect": "Allow",
            "Action": actions,
            "Resource": "*"
        }]
    });
    Ok(serde_json::to_string_pretty(&policy)? + "\n")
}
