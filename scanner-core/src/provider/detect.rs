//! Telling an EKS cluster from its kubeconfig entry: the exec plugin that gets its token
//! (`aws eks get-token --cluster-name NAME --region R`, `aws-iam-authenticator token -i NAME`)
//! and the API server's host (`*.gr7.REGION.eks.amazonaws.com`).

/// What a kubeconfig context says about how it reaches its cluster.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ContextAuth {
    /// The API server URL.
    pub server: String,
    /// The exec plugin's command, when the user authenticates with one.
    pub command: Option<String>,
    /// The exec plugin's arguments.
    pub args: Vec<String>,
    /// The exec plugin's environment (`AWS_PROFILE`, `AWS_REGION`).
    pub env: Vec<(String, String)>,
}

/// An EKS cluster to read: what was told or given, each part possibly missing.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EksTarget {
    /// The EKS cluster name.
    pub cluster: Option<String>,
    /// Its region.
    pub region: Option<String>,
    /// The AWS profile the kubeconfig's plugin uses, if it names one.
    pub profile: Option<String>,
}

/// The value after `flag` (`--cluster-name NAME` or `--cluster-name=NAME`).
fn flag_value(args: &[String], flags: &[&str]) -> Option<String> {
    let mut it = args.iter();
    while let Some(a) = it.next() {
        for f in flags {
            if a == f {
                return it.next().cloned();
            }
            if let Some(v) = a.strip_prefix(f).and_then(|r| r.strip_prefix('=')) {
                return Some(v.to_owned());
            }
        }
    }
    None
}

/// The region in an EKS API server host: `ABC.gr7.eu-west-1.eks.amazonaws.com` (also
/// `.yl4.` and other cell names, and the China partition's `.eks.amazonaws.com.cn`).
fn region_of_server(server: &str) -> Option<String> {
    let host = server
        .split("://")
        .last()?
        .split(['/', ':'])
        .next()?
        .to_ascii_lowercase();
    let rest = host
        .strip_suffix(".eks.amazonaws.com")
        .or_else(|| host.strip_suffix(".eks.amazonaws.com.cn"))?;
    let region = rest.rsplit('.').next()?;
    (!region.is_empty() && region.contains('-')).then(|| region.to_owned())
}

/// Whether the context is an EKS cluster, and what it says of its name and region; `None`
/// when nothing in it points to EKS.
pub fn detect_eks(auth: &ContextAuth) -> Option<EksTarget> {
    let command = auth.command.as_deref().map(|c| {
        std::path::Path::new(c)
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or(c)
            .to_owned()
    });
    let env = |k: &str| {
        auth.env
            .iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.clone())
    };
    let aws_cli = command.as_deref() == Some("aws")
        && auth
            .args
            .windows(2)
            .any(|w| w[0] == "eks" && w[1] == "get-token");
    let authenticator = command.as_deref() == Some("aws-iam-authenticator");
    let server_region = region_of_server(&auth.server);
    if !aws_cli && !authenticator && server_region.is_none() {
        return None;
    }
    let cluster = if aws_cli {
        flag_value(&auth.args, &["--cluster-name"])
    } else if authenticator {
        flag_value(&auth.args, &["-i", "--cluster-id"])
    } else {
        None
    };
    let region = flag_value(&auth.args, &["--region"])
        .or_else(|| env("AWS_REGION"))
        .or_else(|| env("AWS_DEFAULT_REGION"))
        .or(server_region);
    let profile = flag_value(&auth.args, &["--profile"]).or_else(|| env("AWS_PROFILE"));
    Some(EksTarget {
        cluster,
        region,
        profile,
    })
}

/// An AKS cluster to read: what was told or given, each part possibly missing.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AksTarget {
    /// The AKS cluster name (`managedClusters/{name}`).
    pub cluster: Option<String>,
    /// Its resource group.
    pub resource_group: Option<String>,
    /// Its subscription ID.
    pub subscription: Option<String>,
}

/// Whether the API server host is an AKS one: `NAME-HASH.hcp.REGION.azmk8s.io` (public) or
/// `NAME-HASH.privatelink.REGION.azmk8s.io` (private clusters).
fn aks_server(server: &str) -> bool {
    let host = server
        .split("://")
        .last()
        .and_then(|h| h.split(['/', ':']).next())
        .unwrap_or_default()
        .to_ascii_lowercase();
    host.ends_with(".azmk8s.io")
}

/// Whether the context is an AKS cluster: its user gets tokens from `kubelogin` (what
/// `az aks get-credentials` writes for Entra ID clusters) or its server is an `*.azmk8s.io`
/// host. Neither names the cluster's resource group or subscription, so those come from the
/// command line (`AZURE_SUBSCRIPTION_ID` from the plugin's environment is taken when set).
pub fn detect_aks(auth: &ContextAuth) -> Option<AksTarget> {
    let command = auth.command.as_deref().map(|c| {
        std::path::Path::new(c)
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or(c)
            .to_owned()
    });
    let kubelogin = command.as_deref() == Some("kubelogin");
    if !kubelogin && !aks_server(&auth.server) {
        return None;
    }
    let subscription = auth
        .env
        .iter()
        .find(|(n, _)| n == "AZURE_SUBSCRIPTION_ID")
        .map(|(_, v)| v.clone());
    Some(AksTarget {
        cluster: None,
        resource_group: None,
        subscription,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn auth(server: &str, command: Option<&str>, args: &[&str]) -> ContextAuth {
        ContextAuth {
            server: server.into(),
            command: command.map(str::to_owned),
            args: args.iter().map(|s| (*s).to_owned()).collect(),
            env: Vec::new(),
        }
    }

    #[test]
    fn aws_cli_plugin_names_cluster_and_region() {
        let t = detect_eks(&auth(
            "https://127.0.0.1:6443",
            Some("/usr/local/bin/aws"),
            &[
                "--region",
                "eu-west-1",
                "eks",
                "get-token",
                "--cluster-name",
                "prod",
                "--output",
                "json",
            ],
        ))
        .unwrap_or_default();
        assert_eq!(t.cluster.as_deref(), Some("prod"));
        assert_eq!(t.region.as_deref(), Some("eu-west-1"));
    }

    #[test]
    fn authenticator_and_server_host() {
        let t = detect_eks(&auth(
            "https://ABCDEF.gr7.us-east-2.eks.amazonaws.com",
            Some("aws-iam-authenticator"),
            &["token", "-i", "staging"],
        ))
        .unwrap_or_default();
        assert_eq!(t.cluster.as_deref(), Some("staging"));
        assert_eq!(t.region.as_deref(), Some("us-east-2"));
        // The host alone says EKS and the region, not the name.
        let t = detect_eks(&auth(
            "https://X.yl4.ap-south-1.eks.amazonaws.com:443/",
            None,
            &[],
        ))
        .unwrap_or_default();
        assert_eq!(t.cluster, None);
        assert_eq!(t.region.as_deref(), Some("ap-south-1"));
    }

    #[test]
    fn other_clusters_are_not_eks() {
        assert_eq!(detect_eks(&auth("https://10.0.0.1:6443", None, &[])), None);
        assert_eq!(
            detect_eks(&auth(
                "https://k.example",
                Some("kubelogin"),
                &["get-token"]
            )),
            None
        );
    }

    #[test]
    fn kubelogin_and_azmk8s_hosts_are_aks() {
        let by_plugin = auth(
            "https://10.0.0.1:443",
            Some("/usr/local/bin/kubelogin"),
            &[
                "get-token",
                "--login",
                "azurecli",
                "--server-id",
                "6dae42f8",
            ],
        );
        assert_eq!(detect_aks(&by_plugin), Some(AksTarget::default()));
        let by_host = auth(
            "https://prod-rg-abc123.hcp.westeurope.azmk8s.io:443",
            None,
            &[],
        );
        assert!(detect_aks(&by_host).is_some());
        assert_eq!(detect_aks(&auth("https://10.0.0.1:6443", None, &[])), None);
        assert_eq!(
            detect_aks(&auth(
                "https://X.gr7.eu-west-1.eks.amazonaws.com",
                Some("aws"),
                &["eks", "get-token"]
            )),
            None
        );
    }
}
