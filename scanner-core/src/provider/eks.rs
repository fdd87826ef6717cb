//! The EKS reader: the official AWS SDK for Rust, credentials and region from the standard
//! chain (environment, profiles, SSO, web identity / IRSA, pod identity, IMDS), TLS on the
//! ring-backed rustls the kube client uses. Every part of the facts is either read or the
//! reason it could not be ("needs eks:DescribeAddonVersions"), so a denied call makes the
//! checks that need it "not run", as a 403 from the API server does.
//!
//! The endpoint can be set (`EksSettings::endpoint`) and the SDK also honours
//! `AWS_ENDPOINT_URL` / `AWS_ENDPOINT_URL_EKS`: tests point it at a server on 127.0.0.1.

use std::collections::BTreeMap;
use std::time::Duration;

use api_catalog::KubeVersion;
/// Fixed credentials for `EksSettings::credentials` (the SDK's type).
pub use aws_sdk_eks::config::Credentials;
use aws_sdk_eks::config::retry::RetryConfig;
use aws_sdk_eks::config::timeout::TimeoutConfig;
use aws_sdk_eks::config::{BehaviorVersion, Region};
use aws_sdk_eks::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_eks::primitives::DateTimeFormat;
use aws_sdk_eks::types::{
    Category, DeprecationDetail, InsightStatus, InsightSummary, InsightsFilter,
};
use aws_sdk_eks::{Client, types};
use aws_smithy_http_client::tls;
use futures::{StreamExt, stream};

use crate::report::ErrorKind;
use crate::report::provider::{
    AddonVersions, EksAddon, EksCall, EksClientStat, EksDeprecation, EksFacts, EksInsight,
    EksIssue, EksNodegroup, ProviderProblem, ProviderState,
};

/// How to reach an EKS cluster's API, and what to ask it.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct EksSettings {
    /// The EKS cluster name (`--provider-cluster`, else the kubeconfig's `--cluster-name`).
    pub cluster: Option<String>,
    /// Its region (`--region`, else the kubeconfig, else the standard chain).
    pub region: Option<String>,
    /// The AWS profile to use (else the standard chain's).
    pub profile: Option<String>,
    /// The EKS endpoint, instead of the region's (tests, private endpoints).
    pub endpoint: Option<String>,
    /// Credentials to use instead of the standard chain (tests, embedders).
    pub credentials: Option<Credentials>,
    /// The version the cluster is upgraded to: add-on versions are read for every minor on
    /// the way.
    pub target: KubeVersion,
    /// Attempts per call, the first included (throttling and server errors are retried).
    pub attempts: u32,
    /// The first retry's wait; later ones back off exponentially with jitter.
    pub initial_backoff: Duration,
    /// The longest one attempt may take.
    pub timeout: Duration,
}

impl EksSettings {
    /// Settings to read `cluster` in `region` for an upgrade to `target`: the standard
    /// chain's credentials, 4 attempts per call, 30 s per attempt.
    pub fn new(cluster: Option<String>, region: Option<String>, target: KubeVersion) -> Self {
        Self {
            cluster,
            region,
            profile: None,
            endpoint: None,
            credentials: None,
            target,
            attempts: 4,
            initial_backoff: Duration::from_secs(1),
            timeout: Duration::from_secs(30),
        }
    }

    /// With the AWS profile `profile`.
    #[must_use]
    pub fn profile(mut self, profile: Option<String>) -> Self {
        self.profile = profile;
        self
    }

    /// With the EKS endpoint `endpoint` instead of the region's.
    #[must_use]
    pub fn endpoint(mut self, endpoint: Option<String>) -> Self {
        self.endpoint = endpoint;
        self
    }

    /// With fixed credentials instead of the standard chain.
    #[must_use]
    pub fn credentials(mut self, credentials: Credentials) -> Self {
        self.credentials = Some(credentials);
        self
    }

    /// With `attempts` per call, the first retry after `initial_backoff`, and `timeout` per
    /// attempt.
    #[must_use]
    pub fn requests(mut self, attempts: u32, initial_backoff: Duration, timeout: Duration) -> Self {
        self.attempts = attempts.max(1);
        self.initial_backoff = initial_backoff;
        self.timeout = timeout;
        self
    }
}

/// Reads what the checks need of the EKS cluster. Never fails: what could not be read is in
/// the state, with the reason.
pub async fn read(settings: &EksSettings) -> ProviderState {
    let Some(cluster) = settings.cluster.clone() else {
        return ProviderState::Failed(ProviderProblem::new(
            ErrorKind::NotFound,
            "needs the EKS cluster name (--provider-cluster NAME)",
            "EKS: no cluster name: give --provider-cluster NAME (the kubeconfig's exec plugin does not name it)",
        ));
    };
    let client = match client(settings).await {
        Ok(c) => c,
        Err(p) => return ProviderState::Failed(p),
    };
    let region = client
        .config()
        .region()
        .map_or_else(String::new, ToString::to_string);
    let described = client.describe_cluster().name(&cluster).send().await;
    let (version, health, support_type) = match described {
        Ok(out) => {
            let c = out.cluster();
            let mut health: Vec<EksIssue> = c
                .and_then(|c| c.health())
                .map(types::ClusterHealth::issues)
                .unwrap_or_default()
                .iter()
                .map(|i| {
                    issue(
                        i.code().map(types::ClusterIssueCode::as_str),
                        i.message(),
                        i.resource_ids(),
                    )
                })
                .collect();
            health.sort();
            (
                c.and_then(|c| c.version()).map(str::to_owned),
                health,
                c.and_then(|c| c.upgrade_policy())
                    .and_then(|p| p.support_type())
                    .map(|t| t.as_str().to_owned()),
            )
        }
        Err(e) => {
            let mut p = problem(EksCall::DescribeCluster, &e);
            if p.kind == ErrorKind::NotFound {
                p.message = format!(
                    "EKS cluster {cluster:?} not found in region {region} (give --provider-cluster NAME and --region R): {}",
                    p.message
                );
                p.reason = format!("needs the EKS cluster: {cluster:?} not found in {region}");
            }
            return ProviderState::Failed(p);
        }
    };
    let hops = version
        .as_deref()
        .and_then(|v| v.parse::<KubeVersion>().ok())
        .map(|current| {
            let mut hops = Vec::new();
            let mut v = current;
            while v < settings.target {
                v = v.next_minor();
                hops.push(v);
            }
            hops
        })
        .unwrap_or_default();
    // The three reads are independent: add-ons (then their versions per hop), node groups
    // and insights go out together.
    let read_addons = async {
        let addons = addons(&client, &cluster).await;
        let versions = match &addons {
            Ok(list) => addon_versions(&client, list, &hops).await,
            // Without the add-ons there is nothing to look up; the add-ons' problem is reported.
            Err(p) => Err(p.clone()),
        };
        (addons, versions)
    };
    let ((addons, addon_versions), nodegroups, insights) = futures::join!(
        read_addons,
        nodegroups(&client, &cluster),
        insights(&client, &cluster)
    );
    ProviderState::Eks(Box::new(EksFacts {
        cluster,
        region,
        version,
        addons,
        addon_versions,
        nodegroups,
        health,
        support_type,
        insights,
    }))
}

/// The SDK client: the standard chain for what the settings leave open.
async fn client(settings: &EksSettings) -> Result<Client, ProviderProblem> {
    let http = aws_smithy_http_client::Builder::new()
        .tls_provider(tls::Provider::Rustls(
            tls::rustls_provider::CryptoMode::Ring,
        ))
        .build_https();
    let mut loader = aws_config::defaults(BehaviorVersion::latest()).http_client(http);
    if let Some(region) = &settings.region {
        loader = loader.region(Region::new(region.clone()));
    }
    if let Some(profile) = &settings.profile {
        loader = loader.profile_name(profile);
    }
    if let Some(credentials) = &settings.credentials {
        loader = loader.credentials_provider(credentials.clone());
    }
    let sdk = loader.load().await;
    if sdk.region().is_none() {
        return Err(ProviderProblem::new(
            ErrorKind::NotFound,
            "needs the EKS cluster's region (--region R)",
            format!(
                "EKS cluster {:?}: no region: give --region R (or set AWS_REGION, or a profile's region)",
                settings.cluster.as_deref().unwrap_or_default()
            ),
        ));
    }
    let mut config = aws_sdk_eks::config::Builder::from(&sdk)
        .retry_config(
            RetryConfig::standard()
                .with_max_attempts(settings.attempts)
                .with_initial_backoff(settings.initial_backoff),
        )
        .timeout_config(
            TimeoutConfig::builder()
                .connect_timeout(settings.timeout)
                .operation_attempt_timeout(settings.timeout)
                .build(),
        );
    if let Some(endpoint) = &settings.endpoint {
        config = config.endpoint_url(endpoint);
    }
    Ok(Client::from_conf(config.build()))
}

/// Error codes that mean the credentials, not the permissions, are wrong (AWS's common
/// errors: an unknown access key, a bad signature, an expired session token).
const BAD_CREDENTIALS: &[&str] = &[
    "UnrecognizedClientException",
    "InvalidClientTokenId",
    "InvalidSignatureException",
    "ExpiredTokenException",
];

/// What a failed call means for the checks, in the provider's words.
fn problem<E, R>(call: EksCall, err: &SdkError<E, R>) -> ProviderProblem
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    let code = err.code().unwrap_or_default();
    // The service's own words when it answered; the SDK's chain of causes when it did not
    // (no connection, no credentials), without the raw response it would also print.
    let detail = match (err, err.message()) {
        (SdkError::ServiceError(_), Some(message)) => format!("{code}: {message}"),
        (SdkError::ServiceError(_), None) => code.to_owned(),
        _ => DisplayErrorContext(err).to_string(),
    };
    let (kind, reason) = match err {
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) => (
            ErrorKind::Connection,
            format!(
                "needs {}: the EKS API could not be reached or the AWS credentials could not be resolved",
                call.action()
            ),
        ),
        // The credentials themselves were refused (unknown key, bad signature, expired
        // session): no call will succeed, and the fix is the credentials, not a policy.
        _ if BAD_CREDENTIALS.contains(&code) => (
            ErrorKind::Forbidden,
            format!(
                "needs {}: the AWS credentials were rejected ({code})",
                call.action()
            ),
        ),
        _ if code == "AccessDeniedException"
            || code == "UnauthorizedException"
            || code.contains("AccessDenied") =>
        {
            (ErrorKind::Forbidden, format!("needs {}", call.action()))
        }
        _ if code == "ResourceNotFoundException" || code == "NotFoundException" => (
            ErrorKind::NotFound,
            format!("needs {}: not found", call.action()),
        ),
        _ if code.contains("Throttl")
            || code == "TooManyRequestsException"
            || code == "ServerException"
            || code == "ServiceUnavailableException" =>
        {
            (
                ErrorKind::Unavailable,
                format!(
                    "needs {}: throttled or failing after the retries",
                    call.action()
                ),
            )
        }
        _ => (
            ErrorKind::Response,
            format!("needs {}: {code}", call.action()),
        ),
    };
    let message = if BAD_CREDENTIALS.contains(&code) {
        format!(
            "not checked: the AWS credentials were rejected by {} ({detail}); check AWS_PROFILE, the access keys in the environment or the SSO session (`aws sts get-caller-identity`)",
            call.action()
        )
    } else if kind == ErrorKind::Forbidden {
        format!("not checked: needs {} ({detail})", call.action())
    } else {
        format!("{} failed: {detail}", call.action())
    };
    ProviderProblem::new(kind, reason, message)
}

/// Describe* calls in flight at once: enough to hide the round trips of a cluster with dozens
/// of node groups, few enough to stay clear of the EKS API's request rate limits.
const CONCURRENT_CALLS: usize = 8;

/// An issue of `health.issues[]`, whichever resource's issue type it is.
fn issue(code: Option<&str>, message: Option<&str>, resource_ids: &[String]) -> EksIssue {
    let mut resource_ids = resource_ids.to_vec();
    resource_ids.sort();
    EksIssue {
        code: code.unwrap_or("Unknown").to_owned(),
        message: message.unwrap_or_default().to_owned(),
        resource_ids,
    }
}

async fn addons(client: &Client, cluster: &str) -> Result<Vec<EksAddon>, ProviderProblem> {
    let names: Vec<String> = client
        .list_addons()
        .cluster_name(cluster)
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
        .map_err(|e| problem(EksCall::ListAddons, &e))?;
    let described: Vec<Result<Option<EksAddon>, ProviderProblem>> = stream::iter(names)
        .map(|name| async move {
            let out = client
                .describe_addon()
                .cluster_name(cluster)
                .addon_name(&name)
                .send()
                .await
                .map_err(|e| problem(EksCall::DescribeAddon, &e))?;
            let Some(addon) = out.addon() else {
                return Ok(None);
            };
            let Some(version) = addon.addon_version() else {
                return Ok(None);
            };
            let mut health: Vec<EksIssue> = addon
                .health()
                .map(types::AddonHealth::issues)
                .unwrap_or_default()
                .iter()
                .map(|i| {
                    issue(
                        i.code().map(types::AddonIssueCode::as_str),
                        i.message(),
                        i.resource_ids(),
                    )
                })
                .collect();
            health.sort();
            Ok(Some(EksAddon {
                name,
                version: version.to_owned(),
                health,
            }))
        })
        .buffer_unordered(CONCURRENT_CALLS)
        .collect()
        .await;
    let mut out: Vec<EksAddon> = described
        .into_iter()
        .collect::<Result<Vec<_>, _>>()?
        .into_iter()
        .flatten()
        .collect();
    out.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(out)
}

/// Per add-on, per hop's minor: the versions compatible with it and the default.
async fn addon_versions(
    client: &Client,
    addons: &[EksAddon],
    hops: &[KubeVersion],
) -> Result<BTreeMap<String, BTreeMap<String, AddonVersions>>, ProviderProblem> {
    let asks: Vec<(&str, String)> = addons
        .iter()
        .flat_map(|a| hops.iter().map(move |h| (a.name.as_str(), h.to_string())))
        .collect();
    let answers: Vec<Result<(String, String, AddonVersions), ProviderProblem>> = stream::iter(asks)
        .map(|(name, minor)| async move {
            let infos = client
                .describe_addon_versions()
                .addon_name(name)
                .kubernetes_version(&minor)
                .into_paginator()
                .items()
                .send()
                .try_collect()
                .await
                .map_err(|e| problem(EksCall::DescribeAddonVersions, &e))?;
            let mut at = AddonVersions::default();
            for info in infos.iter().filter(|i| i.addon_name() == Some(name)) {
                for v in info.addon_versions() {
                    let Some(version) = v.addon_version() else {
                        continue;
                    };
                    let Some(c) = v
                        .compatibilities()
                        .iter()
                        .find(|c| c.cluster_version() == Some(minor.as_str()))
                    else {
                        continue;
                    };
                    if c.default_version() && at.default.is_none() {
                        at.default = Some(version.to_owned());
                    }
                    at.compatible.push(version.to_owned());
                }
            }
            Ok((name.to_owned(), minor, at))
        })
        .buffer_unordered(CONCURRENT_CALLS)
        .collect()
        .await;
    // The map orders the answers, whatever order they arrived in.
    let mut table: BTreeMap<String, BTreeMap<String, AddonVersions>> = BTreeMap::new();
    for answer in answers {
        let (name, minor, at) = answer?;
        table.entry(name).or_default().insert(minor, at);
    }
    Ok(table)
}

async fn nodegroups(client: &Client, cluster: &str) -> Result<Vec<EksNodegroup>, ProviderProblem> {
    let names: Vec<String> = client
        .list_nodegroups()
        .cluster_name(cluster)
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
        .map_err(|e| problem(EksCall::ListNodegroups, &e))?;
    let described: Vec<Result<EksNodegroup, ProviderProblem>> = stream::iter(names)
        .map(|name| async move {
            let out = client
                .describe_nodegroup()
                .cluster_name(cluster)
                .nodegroup_name(&name)
                .send()
                .await
                .map_err(|e| problem(EksCall::DescribeNodegroup, &e))?;
            let group = out.nodegroup();
            let mut health: Vec<EksIssue> = group
                .and_then(|g| g.health())
                .map(types::NodegroupHealth::issues)
                .unwrap_or_default()
                .iter()
                .map(|i| {
                    issue(
                        i.code().map(types::NodegroupIssueCode::as_str),
                        i.message(),
                        i.resource_ids(),
                    )
                })
                .collect();
            health.sort();
            Ok(EksNodegroup {
                name,
                version: group.and_then(|g| g.version()).map(str::to_owned),
                ami_type: group
                    .and_then(|g| g.ami_type())
                    .map(|a| a.as_str().to_owned()),
                health,
            })
        })
        .buffer_unordered(CONCURRENT_CALLS)
        .collect()
        .await;
    let mut out = described.into_iter().collect::<Result<Vec<_>, _>>()?;
    out.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(out)
}

/// The cluster's upgrade-readiness insights. Passing ones are listed only: what they say is
/// that nothing was found, so only the others are described.
async fn insights(client: &Client, cluster: &str) -> Result<Vec<EksInsight>, ProviderProblem> {
    let summaries: Vec<InsightSummary> = client
        .list_insights()
        .cluster_name(cluster)
        .filter(
            InsightsFilter::builder()
                .categories(Category::UpgradeReadiness)
                .build(),
        )
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
        .map_err(|e| problem(EksCall::ListInsights, &e))?;
    let described: Vec<Result<EksInsight, ProviderProblem>> = stream::iter(summaries)
        .map(|summary| async move {
            let status = status_of(summary.insight_status());
            let id = summary.id().unwrap_or_default().to_owned();
            if status == "PASSING" || id.is_empty() {
                return Ok(EksInsight {
                    id,
                    name: summary.name().unwrap_or_default().to_owned(),
                    kubernetes_version: summary.kubernetes_version().map(str::to_owned),
                    status,
                    reason: summary
                        .insight_status()
                        .and_then(|s| s.reason())
                        .map(str::to_owned),
                    description: summary.description().map(str::to_owned),
                    recommendation: None,
                    deprecations: Vec::new(),
                });
            }
            let out = client
                .describe_insight()
                .cluster_name(cluster)
                .id(&id)
                .send()
                .await
                .map_err(|e| problem(EksCall::DescribeInsight, &e))?;
            let Some(insight) = out.insight() else {
                return Err(ProviderProblem::new(
                    ErrorKind::Response,
                    format!(
                        "needs {}: no insight in the answer",
                        EksCall::DescribeInsight.action()
                    ),
                    format!(
                        "{} of insight {id} answered without an insight",
                        EksCall::DescribeInsight.action()
                    ),
                ));
            };
            Ok(EksInsight {
                id,
                name: insight
                    .name()
                    .or(summary.name())
                    .unwrap_or_default()
                    .to_owned(),
                kubernetes_version: insight
                    .kubernetes_version()
                    .or(summary.kubernetes_version())
                    .map(str::to_owned),
                status: status_of(insight.insight_status().or(summary.insight_status())),
                reason: insight
                    .insight_status()
                    .or(summary.insight_status())
                    .and_then(|s| s.reason())
                    .map(str::to_owned),
                description: insight.description().map(str::to_owned),
                recommendation: insight.recommendation().map(str::to_owned),
                deprecations: insight
                    .category_specific_summary()
                    .map(types::InsightCategorySpecificSummary::deprecation_details)
                    .unwrap_or_default()
                    .iter()
                    .map(deprecation)
                    .collect(),
            })
        })
        .buffer_unordered(CONCURRENT_CALLS)
        .collect()
        .await;
    let mut out = described.into_iter().collect::<Result<Vec<_>, _>>()?;
    out.sort_by(|a, b| {
        (&a.kubernetes_version, &a.name, &a.id).cmp(&(&b.kubernetes_version, &b.name, &b.id))
    });
    Ok(out)
}

/// `ERROR`, `WARNING`, `PASSING` or `UNKNOWN` (also for a missing status: nothing says it passed).
fn status_of(status: Option<&InsightStatus>) -> String {
    status
        .and_then(|s| s.status())
        .map_or("UNKNOWN", |s| s.as_str())
        .to_owned()
}

fn deprecation(d: &DeprecationDetail) -> EksDeprecation {
    let mut clients: Vec<EksClientStat> = d
        .client_stats()
        .iter()
        .map(|c| EksClientStat {
            user_agent: c.user_agent().unwrap_or_default().to_owned(),
            requests_last_30_days: i64::from(c.number_of_requests_last30_days()),
            last_request_time: c
                .last_request_time()
                .and_then(|t| t.fmt(DateTimeFormat::DateTime).ok()),
        })
        .collect();
    // Busiest first, then by name: the client to chase first leads.
    clients.sort_by(|a, b| {
        (b.requests_last_30_days, &a.user_agent).cmp(&(a.requests_last_30_days, &b.user_agent))
    });
    EksDeprecation {
        usage: d.usage().unwrap_or_default().to_owned(),
        replaced_with: d
            .replaced_with()
            .filter(|r| !r.is_empty())
            .map(str::to_owned),
        stop_serving_version: d.stop_serving_version().map(str::to_owned),
        start_serving_replacement_version: d.start_serving_replacement_version().map(str::to_owned),
        clients,
    }
}
