//! What a live scan reads and how: the typed settings an embedder (or the CLI, from its
//! arguments) fills in.

use std::sync::Arc;
use std::time::Duration;

use super::error::LiveError;
use super::progress::Progress;
use crate::checks::Selection;
use crate::report::provider::ProviderState;
use crate::{Catalog, KubeVersion, Targets};

/// Settings of a live scan.
///
/// Start from [`LiveSettings::new`] (or `default()`: the embedded catalog, no targets) and
/// change what differs, either through the fields or the chainable setters. The defaults
/// are those of `upcheck cluster`.
///
/// ```
/// use std::time::Duration;
/// use scanner_core::live::LiveSettings;
/// use scanner_core::{Catalog, KubeVersion, Targets};
///
/// let target: KubeVersion = "1.33".parse().unwrap();
/// let settings = LiveSettings::new(Catalog::embedded(), Targets::kubernetes(target, None))
///     .namespace(Some("payments".into()))
///     .concurrency(4)
///     .scan_timeout(Some(Duration::from_secs(120)));
/// assert_eq!(settings.page_size, 500);
/// ```
#[derive(Clone, Debug)]
#[non_exhaustive]
#[allow(clippy::struct_excessive_bools)] // one switch per part of the scan, as on the command line
pub struct LiveSettings<'c> {
    /// The API lifecycle data objects are judged against.
    pub catalog: &'c Catalog,
    /// The version each component is upgraded to (`k8s` for Kubernetes itself); a scan with
    /// no `k8s` target runs no readiness checks.
    pub targets: Targets,
    /// Take the Kubernetes current version from the server's `/version` (default): the
    /// replacements of deprecated APIs must be served there to migrate before the upgrade.
    /// Turn off when `targets` names the current version itself.
    pub current_from_server: bool,
    /// Report removals only; deprecations are counted, not listed.
    pub only_removed: bool,
    /// Only this namespace: cluster-scoped resources, CRDs and `/metrics` are then not read.
    pub namespace: Option<String>,
    /// Discover and list objects, CRDs and `/metrics` (default on); off for a Helm-only scan.
    pub objects: bool,
    /// Read Helm release records (default on).
    pub helm: bool,
    /// Every stored revision of each Helm release, not only the newest deployed one.
    pub all_revisions: bool,
    /// The readiness checks to run (default: all of them); `None` runs none and reads no
    /// lists for them.
    pub checks: Option<Selection>,
    /// The kubectl version pipelines use, for the checks that judge it.
    pub kubectl: Option<KubeVersion>,
    /// Seconds a node pool's drain may take, for DRN007 (default: the platform's timeout).
    pub drain_budget: Option<u64>,
    /// Requests in flight at once (at least 1; default 8).
    pub concurrency: usize,
    /// Objects per list page (at least 1; default 500).
    pub page_size: u32,
    /// The longest one request may take (at least 1 s; default 30 s).
    pub timeout: Duration,
    /// Retries of a request after throttling (429), a server error (500, 502, 503, 504) or a
    /// broken connection (default 3).
    pub retries: u32,
    /// The longest the whole read may take (default 600 s; `None`: no limit). A read cut
    /// short is [`LiveError::ScanTimeout`], never a partial report.
    pub scan_timeout: Option<Duration>,
    /// Counters the scan advances, for a progress display.
    pub progress: Option<Arc<Progress>>,
    /// What the cloud provider's API said (read before the scan: `provider::eks::read`):
    /// the provider checks read it, and what could not be read is in the report's errors.
    pub provider: ProviderState,
    /// Today (UTC), for the support-window check (PATH003); without it that check is not run.
    pub today: Option<crate::checks::Date>,
}

impl Default for LiveSettings<'_> {
    fn default() -> Self {
        Self::new(Catalog::embedded(), Targets::new())
    }
}

impl<'c> LiveSettings<'c> {
    /// The defaults of `upcheck cluster`, judging against `catalog` at `targets`.
    pub fn new(catalog: &'c Catalog, targets: Targets) -> Self {
        Self {
            catalog,
            targets,
            current_from_server: true,
            only_removed: false,
            namespace: None,
            objects: true,
            helm: true,
            all_revisions: false,
            checks: Some(Selection::default()),
            kubectl: None,
            drain_budget: None,
            concurrency: 8,
            page_size: 500,
            timeout: Duration::from_secs(30),
            retries: 3,
            scan_timeout: Some(Duration::from_mins(10)),
            progress: None,
            provider: ProviderState::None,
            today: None,
        }
    }

    /// Sets the `current_from_server` field.
    #[must_use]
    pub fn current_from_server(mut self, yes: bool) -> Self {
        self.current_from_server = yes;
        self
    }

    /// Sets the `only_removed` field.
    #[must_use]
    pub fn only_removed(mut self, yes: bool) -> Self {
        self.only_removed = yes;
        self
    }

    /// Sets the `namespace` field.
    #[must_use]
    pub fn namespace(mut self, namespace: Option<String>) -> Self {
        self.namespace = namespace;
        self
    }

    /// Sets the `objects` field.
    #[must_use]
    pub fn objects(mut self, yes: bool) -> Self {
        self.objects = yes;
        self
    }

    /// Sets the `helm` and `all_revisions` fields.
    #[must_use]
    pub fn helm(mut self, yes: bool, all_revisions: bool) -> Self {
        self.helm = yes;
        self.all_revisions = all_revisions;
        self
    }

    /// Sets the `checks` and `kubectl` fields.
    #[must_use]
    pub fn checks(mut self, checks: Option<Selection>, kubectl: Option<KubeVersion>) -> Self {
        self.checks = checks;
        self.kubectl = kubectl;
        self
    }

    /// Sets the `drain_budget` field.
    #[must_use]
    pub fn drain_budget(mut self, seconds: Option<u64>) -> Self {
        self.drain_budget = seconds;
        self
    }

    /// Sets the `concurrency` field.
    #[must_use]
    pub fn concurrency(mut self, n: usize) -> Self {
        self.concurrency = n;
        self
    }

    /// Sets the `page_size` field.
    #[must_use]
    pub fn page_size(mut self, n: u32) -> Self {
        self.page_size = n;
        self
    }

    /// Sets the `timeout` and `retries` fields.
    #[must_use]
    pub fn requests(mut self, timeout: Duration, retries: u32) -> Self {
        self.timeout = timeout;
        self.retries = retries;
        self
    }

    /// Sets the `scan_timeout` field.
    #[must_use]
    pub fn scan_timeout(mut self, limit: Option<Duration>) -> Self {
        self.scan_timeout = limit;
        self
    }

    /// Sets the `provider` field.
    #[must_use]
    pub fn provider(mut self, provider: ProviderState) -> Self {
        self.provider = provider;
        self
    }

    /// Sets the `today` field.
    #[must_use]
    pub fn today(mut self, today: Option<crate::checks::Date>) -> Self {
        self.today = today;
        self
    }

    /// Sets the `progress` field.
    #[must_use]
    pub fn progress(mut self, progress: Arc<Progress>) -> Self {
        self.progress = Some(progress);
        self
    }

    /// Refuses settings no scan can run with.
    pub(crate) fn validate(&self) -> Result<(), LiveError> {
        if self.timeout < Duration::from_secs(1) {
            return Err(LiveError::Settings(
                "the request timeout must be at least 1 second",
            ));
        }
        if self.concurrency == 0 {
            return Err(LiveError::Settings("concurrency must be at least 1"));
        }
        if self.page_size == 0 {
            return Err(LiveError::Settings("the page size must be at least 1"));
        }
        Ok(())
    }
}
