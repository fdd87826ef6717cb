//! The connection to the API server: kubeconfig and context resolution, and plain GET
//! requests that hand back status, `Warning` headers and body, so every status code is the
//! caller's decision (a 403 on one resource is a finding about the scan, not a crash).

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result, bail};
use http_body_util::BodyExt;
use kube::config::{KubeConfigOptions, Kubeconfig};

use crate::args::ConnectionArgs;

/// A client for one cluster, with what the report says about it.
#[derive(Clone)]
pub struct Connection {
    client: kube::Client,
    /// The context name (`in-cluster` for the pod's service account).
    pub context: String,
    /// The API server URL.
    pub server: String,
    timeout: Duration,
}

impl std::fmt::Debug for Connection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Connection")
            .field("context", &self.context)
            .field("server", &self.server)
            .finish_non_exhaustive()
    }
}

/// One response. The body is kept as bytes: list pages are parsed by the caller into only
/// what it needs.
#[derive(Debug)]
pub struct Response {
    pub status: u16,
    /// `Retry-After` in seconds, when sent.
    pub retry_after: Option<u64>,
    /// The text of each `Warning` header (`299 - "text"` → `text`).
    pub warnings: Vec<String>,
    pub body: Vec<u8>,
}

impl Response {
    /// The `message` of a Kubernetes `Status` body, or the start of a plain-text body.
    pub fn message(&self) -> String {
        if let Ok(v) = serde_json::from_slice::<serde_json::Value>(&self.body)
            && let Some(m) = v.get("message").and_then(serde_json::Value::as_str)
        {
            return m.to_owned();
        }
        let text = String::from_utf8_lossy(&self.body);
        let text = text.trim();
        // Error pages from proxies can be long HTML; the start says enough.
        match text.char_indices().nth(200) {
            Some((i, _)) => format!("{}...", &text[..i]),
            None if text.is_empty() => format!("HTTP {}", self.status),
            None => text.to_owned(),
        }
    }
}

/// Why a request got no response.
#[derive(Debug)]
pub enum RequestError {
    Timeout(u64),
    Connection(String),
}

impl std::fmt::Display for RequestError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Timeout(s) => write!(f, "no answer within {s} s"),
            Self::Connection(e) => f.write_str(e),
        }
    }
}

impl Connection {
    /// Resolves the kubeconfig (or in-cluster configuration) and builds a client.
    pub async fn open(args: &ConnectionArgs) -> Result<Self> {
        if args.timeout == 0 {
            bail!("--timeout must be at least 1 second");
        }
        if args.concurrency == 0 {
            bail!("--concurrency must be at least 1");
        }
        if args.page_size == 0 {
            bail!("--page-size must be at least 1");
        }
        let timeout = Duration::from_secs(args.timeout);
        let (mut config, context) = if let Some((kubeconfig, path)) =
            load_kubeconfig(args.kubeconfig.as_deref())?
        {
            {
                let context = match &args.context {
                    Some(c) => c.clone(),
                    None => kubeconfig.current_context.clone().with_context(|| {
                        format!(
                            "kubeconfig {} has no current-context; choose one with --context",
                            path.display()
                        )
                    })?,
                };
                if !kubeconfig.contexts.iter().any(|c| c.name == context) {
                    let known: Vec<&str> = kubeconfig
                        .contexts
                        .iter()
                        .map(|c| c.name.as_str())
                        .collect();
                    bail!(
                        "context {context:?} is not in kubeconfig {} (it has: {})",
                        path.display(),
                        if known.is_empty() {
                            "no contexts".to_owned()
                        } else {
                            known.join(", ")
                        }
                    );
                }
                let options = KubeConfigOptions {
                    context: Some(context.clone()),
                    ..KubeConfigOptions::default()
                };
                let config = kube::Config::from_custom_kubeconfig(kubeconfig, &options)
                    .await
                    .with_context(|| {
                        format!(
                            "context {context:?} in kubeconfig {} cannot be used",
                            path.display()
                        )
                    })?;
                (config, context)
            }
        } else {
            {
                if let Some(c) = &args.context {
                    bail!("--context {c:?} given, but no kubeconfig was found (pass --kubeconfig)");
                }
                let config = kube::Config::incluster().context(
                    "no kubeconfig found ($KUBECONFIG, ~/.kube/config) and not running in a pod; pass --kubeconfig",
                )?;
                (config, "in-cluster".to_owned())
            }
        };
        // The client's built-in retry waits out a 503 for minutes; an aggregated API without a
        // backend answers 503 for good, and the scan reports it instead.
        config.default_retry = false;
        // The whole-request timeout in `get` is the one users see; the client's own read and
        // write timeouts only back it up.
        config.connect_timeout = Some(timeout);
        config.read_timeout = Some(timeout + Duration::from_secs(5));
        config.write_timeout = Some(timeout + Duration::from_secs(5));
        let server = config.cluster_url.to_string();
        let server = server.trim_end_matches('/').to_owned();
        let client = kube::Client::try_from(config)
            .with_context(|| format!("cannot set up a client for context {context:?}"))?;
        Ok(Self {
            client,
            context,
            server,
            timeout,
        })
    }

    /// GET `path_and_query`; any HTTP status is a response. A 429 (API priority and fairness
    /// throttling) is retried a few times after the delay the server asks for.
    pub async fn get(&self, path_and_query: &str) -> Result<Response, RequestError> {
        let mut attempt = 0;
        loop {
            let r = self.get_once(path_and_query).await?;
            if r.status != 429 || attempt >= 3 {
                return Ok(r);
            }
            attempt += 1;
            let wait = r.retry_after.unwrap_or(1).min(10);
            tokio::time::sleep(Duration::from_secs(wait)).await;
        }
    }

    async fn get_once(&self, path_and_query: &str) -> Result<Response, RequestError> {
        let secs = self.timeout.as_secs();
        let exchange = async {
            let request = http::Request::get(path_and_query)
                .header(http::header::ACCEPT, "application/json")
                .body(kube::client::Body::empty())
                .map_err(|e| RequestError::Connection(e.to_string()))?;
            let response = self
                .client
                .send(request)
                .await
                .map_err(|e| classify(&e, secs))?;
            let status = response.status().as_u16();
            let retry_after = response
                .headers()
                .get(http::header::RETRY_AFTER)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse().ok());
            let warnings = response
                .headers()
                .get_all(http::header::WARNING)
                .iter()
                .filter_map(|v| v.to_str().ok())
                .map(warning_text)
                .collect();
            let body = response
                .into_body()
                .collect()
                .await
                .map_err(|e| classify(&e, secs))?
                .to_bytes()
                .to_vec();
            Ok(Response {
                status,
                retry_after,
                warnings,
                body,
            })
        };
        // The client's own timeouts cover connecting and each read; this one bounds the
        // whole exchange, so a server that trickles bytes cannot stall the scan.
        match tokio::time::timeout(self.timeout, exchange).await {
            Ok(result) => result,
            Err(_) => Err(RequestError::Timeout(secs)),
        }
    }
}

/// The kubeconfig to use: `--kubeconfig`, else `$KUBECONFIG` / `~/.kube/config` when present;
/// `None` means in-cluster configuration.
fn load_kubeconfig(explicit: Option<&Path>) -> Result<Option<(Kubeconfig, PathBuf)>> {
    if let Some(path) = explicit {
        let kc = Kubeconfig::read_from(path)
            .with_context(|| format!("cannot read kubeconfig {}", path.display()))?;
        return Ok(Some((kc, path.to_path_buf())));
    }
    if let Some(paths) = std::env::var_os("KUBECONFIG").filter(|v| !v.is_empty()) {
        let shown = PathBuf::from(&paths);
        let kc = Kubeconfig::read().with_context(|| {
            format!(
                "cannot read kubeconfig from $KUBECONFIG ({})",
                shown.display()
            )
        })?;
        return Ok(Some((kc, shown)));
    }
    let default = std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".kube").join("config"));
    match default {
        Some(path) if path.exists() => {
            let kc = Kubeconfig::read_from(&path)
                .with_context(|| format!("cannot read kubeconfig {}", path.display()))?;
            Ok(Some((kc, path)))
        }
        _ => Ok(None),
    }
}

/// `299 - "text"` → `text`; anything else as sent.
fn warning_text(header: &str) -> String {
    let rest = header.trim();
    // warn-code SP warn-agent SP quoted-text [SP warn-date]
    let mut parts = rest.splitn(3, ' ');
    let (Some(_code), Some(_agent), Some(quoted)) = (parts.next(), parts.next(), parts.next())
    else {
        return rest.to_owned();
    };
    let Some(inner) = quoted.strip_prefix('"') else {
        return rest.to_owned();
    };
    let mut out = String::new();
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                if let Some(n) = chars.next() {
                    out.push(n);
                }
            }
            '"' => return out,
            c => out.push(c),
        }
    }
    rest.to_owned()
}

/// A timeout anywhere in the chain is a timeout; anything else a connection error.
fn classify(e: &(dyn std::error::Error + 'static), secs: u64) -> RequestError {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(s) = source {
        if s.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::TimedOut)
        {
            return RequestError::Timeout(secs);
        }
        source = s.source();
    }
    RequestError::Connection(describe_client_error(e))
}

/// The innermost cause of a client error: "Connection refused (os error 111)" says more than
/// "client error (Connect)".
fn describe_client_error(e: &(dyn std::error::Error + 'static)) -> String {
    let mut parts: Vec<String> = vec![e.to_string()];
    let mut source = e.source();
    while let Some(s) = source {
        let text = s.to_string();
        if !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        source = s.source();
    }
    parts.join(": ")
}

#[cfg(test)]
mod tests {
    use super::warning_text;

    #[test]
    fn warning_headers_are_unquoted() {
        assert_eq!(
            warning_text(r#"299 - "extensions/v1beta1 Ingress is deprecated in v1.14+""#),
            "extensions/v1beta1 Ingress is deprecated in v1.14+"
        );
        assert_eq!(warning_text(r#"299 - "a \"b\"""#), r#"a "b""#);
        assert_eq!(warning_text("garbage"), "garbage");
    }
}
