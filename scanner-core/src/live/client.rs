//! The connection to the API server: kubeconfig and context resolution, and plain GET
//! requests that hand back status, `Warning` headers and body, so every status code is the
//! caller's decision (a 403 on one resource is a finding about the scan, not a crash).

use std::hash::BuildHasher;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use http_body_util::BodyExt;
use kube::config::{KubeConfigOptions, Kubeconfig};

use super::error::LiveError;
use crate::provider::ContextAuth;

/// A client for one cluster, with the names the report gives it.
///
/// Make it inside the async runtime that will drive the scan: the kube client starts a
/// background task on the runtime it is made on.
#[derive(Clone)]
pub struct LiveClient {
    client: kube::Client,
    context: String,
    server: String,
}

impl std::fmt::Debug for LiveClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LiveClient")
            .field("context", &self.context)
            .field("server", &self.server)
            .finish_non_exhaustive()
    }
}

/// The kube client's own connect timeout when the caller names none; every request is also
/// bounded by [`LiveSettings::timeout`](super::LiveSettings::timeout).
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

impl LiveClient {
    /// A client for `context` (default: the current context) of the kubeconfig at `path`
    /// (default: `$KUBECONFIG`, then `~/.kube/config`, then the pod's service account).
    pub async fn from_kubeconfig(
        path: Option<&Path>,
        context: Option<&str>,
    ) -> Result<Self, LiveError> {
        Self::from_kubeconfig_with_timeout(path, context, DEFAULT_TIMEOUT).await
    }

    /// As [`from_kubeconfig`](Self::from_kubeconfig), with the kube client's connect
    /// timeout (and, 5 s longer, its read and write timeouts) set to `timeout`: give the same
    /// value as [`LiveSettings::timeout`](super::LiveSettings::timeout).
    pub async fn from_kubeconfig_with_timeout(
        path: Option<&Path>,
        context: Option<&str>,
        timeout: Duration,
    ) -> Result<Self, LiveError> {
        let (mut config, context) = if let Some((kubeconfig, path)) = load_kubeconfig(path)? {
            let context = match context {
                Some(c) => c.to_owned(),
                None => kubeconfig
                    .current_context
                    .clone()
                    .ok_or_else(|| LiveError::NoCurrentContext { path: path.clone() })?,
            };
            if !kubeconfig.contexts.iter().any(|c| c.name == context) {
                let known = kubeconfig.contexts.iter().map(|c| c.name.clone()).collect();
                return Err(LiveError::UnknownContext {
                    context,
                    path,
                    known,
                });
            }
            let options = KubeConfigOptions {
                context: Some(context.clone()),
                ..KubeConfigOptions::default()
            };
            let config = kube::Config::from_custom_kubeconfig(kubeconfig, &options)
                .await
                .map_err(|source| LiveError::ContextUnusable {
                    context: context.clone(),
                    path,
                    source,
                })?;
            (config, context)
        } else {
            if let Some(c) = context {
                return Err(LiveError::ContextWithoutKubeconfig {
                    context: c.to_owned(),
                });
            }
            let config = kube::Config::incluster().map_err(LiveError::NoConfig)?;
            (config, "in-cluster".to_owned())
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
        let client = kube::Client::try_from(config).map_err(|source| LiveError::Client {
            context: context.clone(),
            source,
        })?;
        Ok(Self {
            client,
            context,
            server,
        })
    }

    /// Wraps a client the caller configured. Its 503 retry should be off
    /// (`Config::default_retry = false`), or an API without a backend stalls the scan for
    /// minutes. The report names it with [`named`](Self::named); by default both names are
    /// empty.
    pub fn from_client(client: kube::Client) -> Self {
        Self {
            client,
            context: String::new(),
            server: String::new(),
        }
    }

    /// Sets the context name and server URL the report and errors give.
    #[must_use]
    pub fn named(mut self, context: impl Into<String>, server: impl Into<String>) -> Self {
        self.context = context.into();
        server
            .into()
            .trim_end_matches('/')
            .clone_into(&mut self.server);
        self
    }

    /// The context name (`in-cluster` for the pod's service account).
    pub fn context(&self) -> &str {
        &self.context
    }

    /// The API server URL, without a trailing slash.
    pub fn server(&self) -> &str {
        &self.server
    }
}

/// A client with the per-scan request settings and the log of retried requests.
#[derive(Clone)]
pub(crate) struct Connection {
    client: kube::Client,
    /// The context name (`in-cluster` for the pod's service account).
    pub context: String,
    /// The API server URL.
    pub server: String,
    timeout: Duration,
    /// Retries allowed per request after a transient failure.
    retries: u32,
    /// Requests that needed retries, to be reported as warnings.
    retried: Arc<Mutex<Vec<Retried>>>,
}

/// A request that met transient failures: the path (without query), how many attempts it
/// took, what went wrong, and whether it succeeded in the end.
#[derive(Clone, Debug)]
pub(crate) struct Retried {
    pub path: String,
    pub attempts: u32,
    pub causes: Vec<String>,
    pub recovered: bool,
}

/// The longest wait before one retry, whatever `Retry-After` asks: an overloaded server may
/// ask for minutes, and the scan has a deadline.
const MAX_RETRY_WAIT: Duration = Duration::from_secs(10);
/// The most time one request may spend waiting between its attempts (the attempts themselves
/// are bounded by the request timeout each).
const RETRY_BUDGET: Duration = Duration::from_secs(30);
/// The first backoff when the server names no delay; doubled per retry.
const FIRST_BACKOFF: Duration = Duration::from_millis(200);

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
pub(crate) struct Response {
    pub status: u16,
    /// `Retry-After` in seconds, when sent.
    pub retry_after: Option<u64>,
    /// Requests sent to get this answer (more than 1 after transient failures).
    pub attempts: u32,
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
pub(crate) enum RequestError {
    Timeout(u64),
    /// No answer. `transient`: the connection was refused, reset or closed early, which a
    /// restarting apiserver or proxy does and a retry may cure; TLS, DNS and credential-plugin
    /// failures are not.
    Connection {
        message: String,
        transient: bool,
    },
}

impl std::fmt::Display for RequestError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Timeout(s) => write!(f, "no answer within {s} s"),
            Self::Connection { message, .. } => f.write_str(message),
        }
    }
}

impl Connection {
    /// A connection for one scan: `timeout` bounds each request, `retries` the attempts
    /// after transient failures.
    pub fn new(client: &LiveClient, timeout: Duration, retries: u32) -> Self {
        Self {
            client: client.client.clone(),
            context: client.context.clone(),
            server: client.server.clone(),
            timeout,
            retries,
            retried: Arc::default(),
        }
    }

    /// GET `path_and_query`; any HTTP status is a response. Transient failures are retried
    /// (every request here is a read, so repeating it is safe): 429 throttling and 500, 502,
    /// 503 and 504 after the delay the server asks for (`Retry-After`) or an exponential
    /// backoff, and connections that break or are refused (an apiserver restarting during an
    /// upgrade). At most `retries` times and [`RETRY_BUDGET`] of waiting per request. A
    /// request that times out is not repeated: it already took the whole timeout.
    pub async fn get(&self, path_and_query: &str) -> Result<Response, RequestError> {
        let mut waited = Duration::ZERO;
        let mut causes = Vec::new();
        loop {
            let result = self.get_once(path_and_query).await;
            let attempts = u32::try_from(causes.len()).unwrap_or(u32::MAX) + 1;
            let retry = match &result {
                Ok(r) if is_transient(r.status) => {
                    Some((format!("HTTP {}", r.status), r.retry_after))
                }
                Err(RequestError::Connection {
                    message,
                    transient: true,
                }) => Some((message.clone(), None)),
                _ => None,
            };
            if let Some((cause, asked)) = retry {
                causes.push(cause);
                let wait = asked
                    .map_or_else(|| backoff(attempts), Duration::from_secs)
                    .min(MAX_RETRY_WAIT);
                if attempts <= self.retries && waited + wait <= RETRY_BUDGET {
                    tracing::debug!(path = path_and_query, ?wait, "retrying a transient failure");
                    tokio::time::sleep(wait).await;
                    waited += wait;
                    continue;
                }
            }
            if attempts > 1 {
                let recovered = matches!(&result, Ok(r) if !is_transient(r.status));
                self.note_retried(path_and_query, attempts, causes, recovered);
            }
            return match result {
                Ok(mut r) => {
                    r.attempts = attempts;
                    Ok(r)
                }
                Err(RequestError::Connection { message, transient }) if attempts > 1 => {
                    Err(RequestError::Connection {
                        message: format!("{message} (after {attempts} attempts)"),
                        transient,
                    })
                }
                Err(e) => Err(e),
            };
        }
    }

    fn note_retried(
        &self,
        path_and_query: &str,
        attempts: u32,
        causes: Vec<String>,
        recovered: bool,
    ) {
        let path = path_and_query.split('?').next().unwrap_or(path_and_query);
        if let Ok(mut log) = self.retried.lock() {
            log.push(Retried {
                path: path.to_owned(),
                attempts,
                causes,
                recovered,
            });
        }
    }

    /// The requests that met transient failures so far, in a stable order, and forgets them.
    pub fn take_retried(&self) -> Vec<Retried> {
        let mut log = self
            .retried
            .lock()
            .map(|mut l| std::mem::take(&mut *l))
            .unwrap_or_default();
        log.sort_by(|a, b| a.path.cmp(&b.path).then(a.attempts.cmp(&b.attempts)));
        log
    }

    async fn get_once(&self, path_and_query: &str) -> Result<Response, RequestError> {
        let secs = self.timeout.as_secs();
        let exchange = async {
            let request = http::Request::get(path_and_query)
                .header(http::header::ACCEPT, "application/json")
                .body(kube::client::Body::empty())
                .map_err(|e| RequestError::Connection {
                    message: e.to_string(),
                    transient: false,
                })?;
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
                attempts: 1,
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

/// Statuses worth asking again for: throttling, and a server or proxy in trouble.
fn is_transient(status: u16) -> bool {
    matches!(status, 429 | 500 | 502 | 503 | 504)
}

/// The wait before retry `attempt` (1-based) when the server names none: 200 ms doubled per
/// retry, with jitter so that many clients throttled at once do not return in step.
/// `UPCHECK_RETRY_BACKOFF_MS` sets the first wait: the tests' recorded cluster has an API that
/// fails in every scan, and the default backoff made each scan a second slower.
fn backoff(attempt: u32) -> Duration {
    let first = std::env::var("UPCHECK_RETRY_BACKOFF_MS")
        .ok()
        .and_then(|ms| ms.parse().ok())
        .map_or(FIRST_BACKOFF, Duration::from_millis);
    let base = first.saturating_mul(1 << attempt.saturating_sub(1).min(8));
    // Any seeded hash is a fine source of jitter; it needs no dependency.
    let jitter = std::hash::RandomState::new().hash_one(attempt) % 1000;
    base.mul_f64(0.5 + f64::from(u32::try_from(jitter).unwrap_or(0)) / 2000.0)
}

/// The kubeconfig to use: `path`, else `$KUBECONFIG` / `~/.kube/config` when present;
/// `None` means in-cluster configuration.
/// The context names of a kubeconfig (the explicit file, else `$KUBECONFIG`, else
/// `~/.kube/config`), in the order the file lists them; none when there is no kubeconfig.
pub fn kubeconfig_contexts(explicit: Option<&Path>) -> Result<Vec<String>, LiveError> {
    Ok(load_kubeconfig(explicit)?
        .map(|(kc, _)| kc.contexts.into_iter().map(|c| c.name).collect())
        .unwrap_or_default())
}

/// How `context` (default: the current one) of the kubeconfig reaches its cluster: the
/// server URL and the exec plugin, from which [`crate::provider::detect_eks`] tells an EKS
/// cluster. `None` without a kubeconfig (in a pod) or when the context is not there.
pub fn kubeconfig_auth(
    explicit: Option<&Path>,
    context: Option<&str>,
) -> Result<Option<ContextAuth>, LiveError> {
    let Some((kc, _)) = load_kubeconfig(explicit)? else {
        return Ok(None);
    };
    let Some(name) = context.map(str::to_owned).or(kc.current_context.clone()) else {
        return Ok(None);
    };
    let Some(ctx) = kc
        .contexts
        .iter()
        .find(|c| c.name == name)
        .and_then(|c| c.context.as_ref())
    else {
        return Ok(None);
    };
    let server = kc
        .clusters
        .iter()
        .find(|c| c.name == ctx.cluster)
        .and_then(|c| c.cluster.as_ref())
        .and_then(|c| c.server.clone())
        .unwrap_or_default();
    let exec = ctx
        .user
        .as_deref()
        .and_then(|u| kc.auth_infos.iter().find(|a| a.name == u))
        .and_then(|a| a.auth_info.as_ref())
        .and_then(|a| a.exec.as_ref());
    Ok(Some(ContextAuth {
        server,
        command: exec.and_then(|e| e.command.clone()),
        args: exec.and_then(|e| e.args.clone()).unwrap_or_default(),
        env: exec
            .and_then(|e| e.env.as_ref())
            .map(|env| {
                env.iter()
                    .filter_map(|m| Some((m.get("name")?.clone(), m.get("value")?.clone())))
                    .collect()
            })
            .unwrap_or_default(),
    }))
}

fn load_kubeconfig(explicit: Option<&Path>) -> Result<Option<(Kubeconfig, PathBuf)>, LiveError> {
    if let Some(path) = explicit {
        let kc = Kubeconfig::read_from(path).map_err(|source| LiveError::Kubeconfig {
            path: path.to_path_buf(),
            source,
        })?;
        return Ok(Some((kc, path.to_path_buf())));
    }
    if let Some(paths) = std::env::var_os("KUBECONFIG").filter(|v| !v.is_empty()) {
        let shown = PathBuf::from(&paths);
        let kc = Kubeconfig::read().map_err(|source| LiveError::KubeconfigEnv {
            paths: shown.clone(),
            source,
        })?;
        return Ok(Some((kc, shown)));
    }
    let default = std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".kube").join("config"));
    match default {
        Some(path) if path.exists() => {
            let kc = Kubeconfig::read_from(&path).map_err(|source| LiveError::Kubeconfig {
                path: path.clone(),
                source,
            })?;
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

/// A timeout anywhere in the chain is a timeout; anything else a connection error, transient
/// when the connection was refused, reset or closed before the answer was complete.
fn classify(e: &(dyn std::error::Error + 'static), secs: u64) -> RequestError {
    let mut transient = false;
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(s) = source {
        if let Some(io) = s.downcast_ref::<std::io::Error>() {
            use std::io::ErrorKind as K;
            match io.kind() {
                K::TimedOut => return RequestError::Timeout(secs),
                K::ConnectionRefused
                | K::ConnectionReset
                | K::ConnectionAborted
                | K::BrokenPipe
                | K::UnexpectedEof
                | K::NotConnected => transient = true,
                _ => {}
            }
        }
        // hyper's own words for a connection closed mid-exchange (it is not a direct
        // dependency, so its error type cannot be named here).
        let text = s.to_string();
        if text.contains("connection closed before message completed")
            || text.contains("connection reset")
        {
            transient = true;
        }
        source = s.source();
    }
    RequestError::Connection {
        message: describe_client_error(e),
        transient,
    }
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
