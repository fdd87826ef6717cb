//! The AKS reader: Azure Resource Manager's REST API with `reqwest` (rustls on ring, as the
//! rest of upcheck), tokens from the official `azure_identity` crate (workload identity, a
//! service principal from the environment, else the Azure CLI's login), or a fixed bearer
//! token (tests, embedders). Every part of the facts is either read or the reason it could not
//! be ("needs Microsoft.ContainerService/managedClusters/agentPools/read"), so a denied call
//! makes the checks that need it "not run", as a 403 from the API server does.
//!
//! The ARM endpoint is a setting (`AksSettings::endpoint`): tests point it at 127.0.0.1.

use std::time::Duration;

use api_catalog::KubeVersion;
use serde_json::Value;

use crate::report::ErrorKind;
use crate::report::provider::{
    AksCall, AksFacts, AksPool, AksUpgrade, ProviderProblem, ProviderState,
};

/// The ARM API version of `Microsoft.ContainerService` read (stable; every field read is in
/// its reference).
pub const API_VERSION: &str = "2025-01-01";
/// Azure Resource Manager in the public cloud.
pub const PUBLIC_ENDPOINT: &str = "https://management.azure.com";
/// The token scope for ARM.
const SCOPE: &str = "https://management.azure.com/.default";

/// How to reach an AKS cluster's ARM resource, and what to ask it.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct AksSettings {
    /// The AKS cluster name (`--provider-cluster`).
    pub cluster: Option<String>,
    /// Its resource group (`--resource-group`).
    pub resource_group: Option<String>,
    /// Its subscription ID (`--subscription`, else `AZURE_SUBSCRIPTION_ID`).
    pub subscription: Option<String>,
    /// The ARM endpoint (default: the public cloud's).
    pub endpoint: String,
    /// A bearer token to use instead of the credential chain (tests, embedders).
    pub token: Option<String>,
    /// The version the cluster is upgraded to.
    pub target: KubeVersion,
    /// Attempts per call, the first included (429 and server errors are retried).
    pub attempts: u32,
    /// The first retry's wait when the server names none; later ones double.
    pub initial_backoff: Duration,
    /// The longest `Retry-After` honoured (a longer one is waited this long).
    pub max_retry_wait: Duration,
    /// The longest one attempt may take.
    pub timeout: Duration,
}

impl AksSettings {
    /// Settings to read `cluster` in `resource_group` of `subscription` for an upgrade to
    /// `target`: the public ARM endpoint, the credential chain, 4 attempts, 30 s each.
    pub fn new(
        cluster: Option<String>,
        resource_group: Option<String>,
        subscription: Option<String>,
        target: KubeVersion,
    ) -> Self {
        Self {
            cluster,
            resource_group,
            subscription,
            endpoint: PUBLIC_ENDPOINT.to_owned(),
            token: None,
            target,
            attempts: 4,
            initial_backoff: Duration::from_secs(1),
            max_retry_wait: Duration::from_mins(1),
            timeout: Duration::from_secs(30),
        }
    }

    /// With the ARM endpoint `endpoint` (no trailing slash needed).
    #[must_use]
    pub fn endpoint(mut self, endpoint: impl Into<String>) -> Self {
        endpoint
            .into()
            .trim_end_matches('/')
            .clone_into(&mut self.endpoint);
        self
    }

    /// With a fixed bearer token instead of the credential chain.
    #[must_use]
    pub fn token(mut self, token: impl Into<String>) -> Self {
        self.token = Some(token.into());
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

/// Reads what the checks need of the AKS cluster. Never fails: what could not be read is in
/// the facts, with the reason.
pub async fn read(settings: &AksSettings) -> ProviderState {
    let missing: Vec<&str> = [
        (
            settings.cluster.is_none(),
            "the cluster name (--provider-cluster NAME)",
        ),
        (
            settings.resource_group.is_none(),
            "the resource group (--resource-group RG)",
        ),
        (
            settings.subscription.is_none(),
            "the subscription (--subscription ID or AZURE_SUBSCRIPTION_ID)",
        ),
    ]
    .into_iter()
    .filter_map(|(m, what)| m.then_some(what))
    .collect();
    let cluster = settings.cluster.clone().unwrap_or_default();
    let group = settings.resource_group.clone().unwrap_or_default();
    let subscription = settings.subscription.clone().unwrap_or_default();
    if !missing.is_empty() {
        let problem = ProviderProblem::new(
            ErrorKind::NotFound,
            format!("needs {}", missing.join(", ")),
            format!(
                "AKS: missing {}: the AKS API cannot be read without them",
                missing.join(", ")
            ),
        );
        return unreadable(&cluster, &group, &subscription, &problem);
    }
    let arm = match Arm::new(settings).await {
        Ok(a) => a,
        Err(p) => return unreadable(&cluster, &group, &subscription, &p),
    };
    let base = format!(
        "/subscriptions/{subscription}/resourceGroups/{group}/providers/Microsoft.ContainerService/managedClusters/{cluster}"
    );
    let body = match arm.get(&base, AksCall::GetCluster).await {
        Ok(b) => b,
        Err(mut p) => {
            if p.kind == ErrorKind::NotFound {
                p.message = format!(
                    "AKS cluster {cluster:?} not found in resource group {group:?} of subscription {subscription} (give --provider-cluster NAME, --resource-group RG and --subscription ID): {}",
                    p.message
                );
                p.reason = format!(
                    "needs the AKS cluster: {cluster:?} not found in resource group {group:?}"
                );
            }
            return unreadable(&cluster, &group, &subscription, &p);
        }
    };
    let props = &body["properties"];
    let text = |v: &Value| v.as_str().map(str::to_owned);
    let mut facts = AksFacts {
        cluster: cluster.clone(),
        resource_group: group,
        subscription,
        version: text(&props["kubernetesVersion"]),
        current_version: text(&props["currentKubernetesVersion"]),
        support_plan: text(&props["supportPlan"]),
        read: Ok(()),
        pools: Ok(Vec::new()),
        upgrades: Ok(Vec::new()),
        pool_upgrades: Ok(()),
    };
    facts.upgrades = arm
        .get(
            &format!("{base}/upgradeProfiles/default"),
            AksCall::GetUpgradeProfile,
        )
        .await
        .map(|b| upgrades(&b["properties"]["controlPlaneProfile"]));
    facts.pools = arm.pools(&base).await;
    if let Ok(pools) = &mut facts.pools {
        for pool in pools.iter_mut() {
            let path = format!("{base}/agentPools/{}/upgradeProfiles/default", pool.name);
            match arm.get(&path, AksCall::GetAgentPoolUpgradeProfile).await {
                Ok(b) => pool.upgrades = Some(upgrades(&b["properties"])),
                Err(p) => {
                    facts.pool_upgrades = Err(p);
                    break;
                }
            }
        }
    }
    ProviderState::Aks(Box::new(facts))
}

fn unreadable(
    cluster: &str,
    group: &str,
    subscription: &str,
    p: &ProviderProblem,
) -> ProviderState {
    ProviderState::Aks(Box::new(AksFacts::unreadable(
        cluster,
        group,
        subscription,
        p,
    )))
}

/// `upgrades[]` of an upgrade profile (the control plane's, or a pool's), in the order given.
fn upgrades(profile: &Value) -> Vec<AksUpgrade> {
    profile["upgrades"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|u| {
            Some(AksUpgrade {
                version: u["kubernetesVersion"].as_str()?.to_owned(),
                preview: u["isPreview"].as_bool().unwrap_or(false),
            })
        })
        .collect()
}

/// An agent pool from its ARM resource.
fn pool(item: &Value) -> Option<AksPool> {
    let p = &item["properties"];
    let text = |v: &Value| v.as_str().map(str::to_owned);
    let settings = &p["upgradeSettings"];
    Some(AksPool {
        name: item["name"].as_str()?.to_owned(),
        mode: text(&p["mode"]),
        os_type: text(&p["osType"]),
        os_sku: text(&p["osSKU"]),
        orchestrator_version: text(&p["orchestratorVersion"]),
        current_orchestrator_version: text(&p["currentOrchestratorVersion"]),
        node_image_version: text(&p["nodeImageVersion"]),
        count: p["count"].as_u64(),
        max_surge: text(&settings["maxSurge"]).filter(|s| !s.is_empty()),
        drain_timeout_minutes: settings["drainTimeoutInMinutes"].as_u64(),
        undrainable_node_behavior: text(&settings["undrainableNodeBehavior"]),
        upgrades: None,
    })
}

/// An authenticated ARM client.
struct Arm {
    http: reqwest::Client,
    endpoint: String,
    token: String,
    attempts: u32,
    initial_backoff: Duration,
    max_retry_wait: Duration,
}

impl Arm {
    async fn new(settings: &AksSettings) -> Result<Self, ProviderProblem> {
        // reqwest is built without a crypto provider of its own: ring, as for the kube client.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let http = reqwest::Client::builder()
            .timeout(settings.timeout)
            .connect_timeout(settings.timeout)
            .user_agent(concat!("upcheck/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| {
                ProviderProblem::new(
                    ErrorKind::Connection,
                    "needs an HTTPS client for Azure Resource Manager",
                    format!("AKS: cannot build the HTTPS client: {e}"),
                )
            })?;
        let token = match &settings.token {
            Some(t) => t.clone(),
            None => credential_token().await?,
        };
        Ok(Self {
            http,
            endpoint: settings.endpoint.trim_end_matches('/').to_owned(),
            token,
            attempts: settings.attempts.max(1),
            initial_backoff: settings.initial_backoff,
            max_retry_wait: settings.max_retry_wait,
        })
    }

    /// `GET path` (below the endpoint), retried on 429 and server errors.
    async fn get(&self, path: &str, call: AksCall) -> Result<Value, ProviderProblem> {
        let url = format!("{}{path}?api-version={API_VERSION}", self.endpoint);
        self.get_url(&url, call).await
    }

    async fn get_url(&self, url: &str, call: AksCall) -> Result<Value, ProviderProblem> {
        let mut attempt = 1;
        loop {
            let sent = self
                .http
                .get(url)
                .bearer_auth(&self.token)
                .header("Accept", "application/json")
                .send()
                .await;
            let response = match sent {
                Ok(r) => r,
                Err(e) if attempt < self.attempts && (e.is_connect() || e.is_timeout()) => {
                    tokio::time::sleep(self.backoff(attempt)).await;
                    attempt += 1;
                    continue;
                }
                Err(e) => {
                    return Err(ProviderProblem::new(
                        ErrorKind::Connection,
                        format!(
                            "needs {}: Azure Resource Manager could not be reached",
                            call.action()
                        ),
                        format!("{} failed: {e}", call.action()),
                    ));
                }
            };
            let status = response.status().as_u16();
            let retry_after = response
                .headers()
                .get("Retry-After")
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse::<u64>().ok())
                .map(Duration::from_secs);
            let body = response.text().await.unwrap_or_default();
            if status == 200 {
                return serde_json::from_str(&body).map_err(|e| {
                    ProviderProblem::new(
                        ErrorKind::Response,
                        format!("needs {}: the answer was not JSON", call.action()),
                        format!("{} answered with invalid JSON: {e}", call.action()),
                    )
                });
            }
            if matches!(status, 429 | 500 | 502 | 503 | 504) && attempt < self.attempts {
                let wait = retry_after
                    .map_or_else(|| self.backoff(attempt), |w| w.min(self.max_retry_wait));
                tracing::info!(status, attempt, ?wait, call = call.action(), "ARM retry");
                tokio::time::sleep(wait).await;
                attempt += 1;
                continue;
            }
            return Err(arm_problem(call, status, &body));
        }
    }

    fn backoff(&self, attempt: u32) -> Duration {
        self.initial_backoff
            .saturating_mul(1 << attempt.saturating_sub(1).min(8))
    }

    /// Every agent pool, following `nextLink` (only to the same endpoint: the token is never
    /// sent elsewhere).
    async fn pools(&self, base: &str) -> Result<Vec<AksPool>, ProviderProblem> {
        let call = AksCall::ListAgentPools;
        let mut out = Vec::new();
        let mut url = format!(
            "{}{base}/agentPools?api-version={API_VERSION}",
            self.endpoint
        );
        loop {
            let page = self.get_url(&url, call).await?;
            out.extend(
                page["value"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(pool),
            );
            match page["nextLink"].as_str().filter(|l| !l.is_empty()) {
                Some(next) if next.starts_with(&format!("{}/", self.endpoint)) => {
                    next.clone_into(&mut url);
                }
                Some(next) => {
                    return Err(ProviderProblem::new(
                        ErrorKind::Response,
                        format!(
                            "needs {}: a nextLink outside the ARM endpoint",
                            call.action()
                        ),
                        format!(
                            "{} answered a nextLink outside {} ({next}); not followed",
                            call.action(),
                            self.endpoint
                        ),
                    ));
                }
                None => break,
            }
        }
        out.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(out)
    }
}

/// What a failed ARM answer means for the checks, in ARM's words (`{"error": {"code",
/// "message"}}`).
fn arm_problem(call: AksCall, status: u16, body: &str) -> ProviderProblem {
    let parsed: Value = serde_json::from_str(body).unwrap_or(Value::Null);
    let code = parsed["error"]["code"].as_str().unwrap_or_default();
    let message = parsed["error"]["message"].as_str().unwrap_or_default();
    let detail = match (code.is_empty(), message.is_empty()) {
        (false, false) => format!("{code}: {message}"),
        (false, true) => code.to_owned(),
        _ => format!("HTTP {status}"),
    };
    let action = call.action();
    let (kind, reason, message) = match status {
        401 | 403 => (
            ErrorKind::Forbidden,
            format!("needs {action}"),
            format!("not checked: needs {action} ({detail})"),
        ),
        404 => (
            ErrorKind::NotFound,
            format!("needs {action}: not found"),
            format!("{action} failed: {detail}"),
        ),
        429 | 500 | 502 | 503 | 504 => (
            ErrorKind::Unavailable,
            format!("needs {action}: throttled or failing after the retries"),
            format!("{action} failed after the retries: {detail}"),
        ),
        _ => (
            ErrorKind::Response,
            format!("needs {action}: HTTP {status}"),
            format!("{action} failed: {detail}"),
        ),
    };
    ProviderProblem::new(kind, reason, message)
}

/// A token for ARM from `azure_identity`: workload identity when its environment is set (a
/// pod with a federated token), a service principal's secret from the environment, else the
/// Azure CLI's login.
async fn credential_token() -> Result<String, ProviderProblem> {
    use azure_core::credentials::TokenCredential;
    let env = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
    let no_credential = |what: &str, e: &dyn std::fmt::Display| {
        ProviderProblem::new(
            ErrorKind::Forbidden,
            "needs Azure credentials (az login, workload identity or AZURE_CLIENT_SECRET)",
            format!("AKS: no Azure token from {what}: {e}"),
        )
    };
    let (what, credential): (&str, std::sync::Arc<dyn TokenCredential>) =
        if env("AZURE_FEDERATED_TOKEN_FILE").is_some() {
            let c = azure_identity::WorkloadIdentityCredential::new(None)
                .map_err(|e| no_credential("workload identity", &e))?;
            ("workload identity", c)
        } else if let (Some(tenant), Some(client), Some(secret)) = (
            env("AZURE_TENANT_ID"),
            env("AZURE_CLIENT_ID"),
            env("AZURE_CLIENT_SECRET"),
        ) {
            let c =
                azure_identity::ClientSecretCredential::new(&tenant, client, secret.into(), None)
                    .map_err(|e| no_credential("the environment's service principal", &e))?;
            ("the environment's service principal", c)
        } else {
            let c = azure_identity::AzureCliCredential::new(None)
                .map_err(|e| no_credential("the Azure CLI", &e))?;
            ("the Azure CLI (az login)", c)
        };
    let token = credential
        .get_token(&[SCOPE], None)
        .await
        .map_err(|e| no_credential(what, &e))?;
    Ok(token.token.secret().to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arm_errors_name_the_action_and_arm_s_words() {
        let p = arm_problem(
            AksCall::ListAgentPools,
            403,
            r#"{"error":{"code":"AuthorizationFailed","message":"no access"}}"#,
        );
        assert_eq!(p.kind, ErrorKind::Forbidden);
        assert_eq!(
            p.reason,
            "needs Microsoft.ContainerService/managedClusters/agentPools/read"
        );
        assert_eq!(
            p.message,
            "not checked: needs Microsoft.ContainerService/managedClusters/agentPools/read (AuthorizationFailed: no access)"
        );
        let p = arm_problem(AksCall::GetCluster, 429, "");
        assert_eq!(p.kind, ErrorKind::Unavailable);
        assert!(p.message.ends_with("HTTP 429"), "{}", p.message);
    }

    #[test]
    fn pools_read_their_upgrade_settings_and_defaults() {
        let p = pool(&serde_json::json!({
            "name": "np1",
            "properties": {"count": 3, "mode": "User", "osSKU": "Ubuntu",
                "upgradeSettings": {"maxSurge": "33%", "drainTimeoutInMinutes": 45,
                                    "undrainableNodeBehavior": "Cordon"}}
        }))
        .unwrap_or_default();
        assert_eq!(p.max_surge.as_deref(), Some("33%"));
        assert_eq!(p.drain_minutes(), 45);
        assert_eq!(p.undrainable_node_behavior.as_deref(), Some("Cordon"));
        let bare = pool(&serde_json::json!({"name": "np2", "properties": {}})).unwrap_or_default();
        assert_eq!(bare.drain_minutes(), 30);
        assert!(bare.surge().starts_with("AKS default"));
    }
}
