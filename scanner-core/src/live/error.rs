//! Why a live scan made no report. Anything narrower (a 403 on one resource, a list that
//! failed) is recorded in the report instead, so an embedder gets the rest of the scan.

use std::path::PathBuf;
use std::time::Duration;

/// A live scan that could not run or could not finish.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LiveError {
    /// A kubeconfig file could not be read or parsed.
    #[error("cannot read kubeconfig {}", .path.display())]
    Kubeconfig {
        /// The file.
        path: PathBuf,
        /// What was wrong with it.
        #[source]
        source: kube::config::KubeconfigError,
    },
    /// The files named by `$KUBECONFIG` could not be read or merged.
    #[error("cannot read kubeconfig from $KUBECONFIG ({})", .paths.display())]
    KubeconfigEnv {
        /// `$KUBECONFIG` as set.
        paths: PathBuf,
        /// What was wrong with them.
        #[source]
        source: kube::config::KubeconfigError,
    },
    /// No context was asked for and the kubeconfig has no current one.
    #[error("kubeconfig {} has no current-context; choose a context", .path.display())]
    NoCurrentContext {
        /// The kubeconfig.
        path: PathBuf,
    },
    /// The context asked for is not in the kubeconfig.
    #[error(
        "context {context:?} is not in kubeconfig {} (it has: {})",
        .path.display(),
        context_list(.known)
    )]
    UnknownContext {
        /// The context asked for.
        context: String,
        /// The kubeconfig.
        path: PathBuf,
        /// The contexts the kubeconfig has.
        known: Vec<String>,
    },
    /// The context exists but its cluster or user cannot be used (bad certificate, missing
    /// file, failing credential plugin).
    #[error("context {context:?} in kubeconfig {} cannot be used", .path.display())]
    ContextUnusable {
        /// The context.
        context: String,
        /// The kubeconfig.
        path: PathBuf,
        /// Why it cannot be used.
        #[source]
        source: kube::config::KubeconfigError,
    },
    /// A context was asked for, but there is no kubeconfig to find it in.
    #[error("context {context:?} given, but no kubeconfig was found")]
    ContextWithoutKubeconfig {
        /// The context asked for.
        context: String,
    },
    /// No kubeconfig, and not running in a pod.
    #[error("no kubeconfig found ($KUBECONFIG, ~/.kube/config) and not running in a pod")]
    NoConfig(#[source] kube::config::InClusterError),
    /// The kube client could not be built from the configuration.
    #[error("cannot set up a client for context {context:?}")]
    Client {
        /// The context.
        context: String,
        /// Why the client could not be built.
        #[source]
        source: kube::Error,
    },
    /// A request that the whole scan depends on got no connection.
    #[error("cannot reach the API server at {server} (context {context:?}): {reason}")]
    Unreachable {
        /// The API server URL.
        server: String,
        /// The context.
        context: String,
        /// What the connection attempt met (refused, reset, TLS, DNS).
        reason: String,
    },
    /// A request that the whole scan depends on got no answer in time.
    #[error("the API server at {server} (context {context:?}) did not answer GET {path}: {reason}")]
    NoAnswer {
        /// The API server URL.
        server: String,
        /// The context.
        context: String,
        /// The request path.
        path: String,
        /// How long it waited.
        reason: String,
    },
    /// The server refused the credentials (401): nothing else would work either.
    #[error(
        "the API server at {server} rejected the credentials of context {context:?} (401 Unauthorized: {message})"
    )]
    Unauthorized {
        /// The API server URL.
        server: String,
        /// The context whose credentials were refused.
        context: String,
        /// The server's message.
        message: String,
    },
    /// `/version` answered with a status that means the server cannot be scanned.
    #[error(
        "the API server at {server} (context {context:?}) answered GET {path} with HTTP {status}: {message}"
    )]
    Unusable {
        /// The API server URL.
        server: String,
        /// The context.
        context: String,
        /// The request path.
        path: String,
        /// The HTTP status.
        status: u16,
        /// The server's message, or the start of its body.
        message: String,
    },
    /// The whole read took longer than the `scan_timeout` of
    /// [`LiveSettings`](super::LiveSettings); no partial report is made.
    #[error("the cluster read did not finish within {} s; nothing was reported", .0.as_secs())]
    ScanTimeout(Duration),
    /// A setting is out of range (zero concurrency, page size or timeout).
    #[error("{0}")]
    Settings(&'static str),
    /// The blocking entry points could not start their runtime.
    #[error("cannot start the async runtime")]
    Runtime(#[source] std::io::Error),
}

/// `a, b` or `no contexts`.
fn context_list(known: &[String]) -> String {
    if known.is_empty() {
        "no contexts".to_owned()
    } else {
        known.join(", ")
    }
}
