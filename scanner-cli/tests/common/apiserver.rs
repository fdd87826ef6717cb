//! A real HTTP server on 127.0.0.1 that answers like a kube-apiserver from recorded responses
//! (`fixtures/cluster/<version>/`), so the real kube client in `upcheck` talks to it over TCP.
//!
//! Exact recorded exchanges (discovery, errors, /metrics) are replayed byte for byte with
//! their `Content-Type` and `Warning` headers. Lists are served from the recorded full list of
//! the collection: filtered by label and field selectors and cut into pages with continue
//! tokens, as a real server does. A [`Scenario`] injects faults: 403s, expired continue
//! tokens, slow answers, missing group versions.
#![allow(dead_code, clippy::unwrap_used)] // each test file uses part of it; tests fail loudly

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Value, json};

/// A fault answered instead of the normal response.
#[derive(Clone, Debug)]
pub enum Fault {
    /// An HTTP status with a Kubernetes `Status` body, and `Retry-After` when given.
    Status(u16, Option<u64>),
    /// The connection is closed after the request is read, with no answer (a reset).
    Reset,
}

/// Faults to inject. Paths are matched without their query string.
#[derive(Clone, Debug, Default)]
pub struct Scenario {
    /// Answer 403 Forbidden.
    pub forbidden: BTreeSet<String>,
    /// Answer 404 (a group version that is no longer served).
    pub not_found: BTreeSet<String>,
    /// The first request with a continue token answers 410 Gone, with a fresh token.
    pub expire_continue: BTreeSet<String>,
    /// The same, without a token in the 410 body, so the client must restart the list.
    pub expire_continue_without_token: BTreeSet<String>,
    /// Wait this long before answering.
    pub slow: BTreeMap<String, Duration>,
    /// Serve this list instead of the recorded one (cluster-wide collection path).
    pub replace: BTreeMap<String, Value>,
    /// The first requests for a path get these faults, one each, in order; later ones are
    /// answered normally.
    pub faults: BTreeMap<String, Vec<Fault>>,
    /// Every request for a path gets this fault.
    pub failing: BTreeMap<String, Fault>,
    /// List pages after the first carry the token of the page before (a looping server).
    pub repeat_continue: BTreeSet<String>,
}

#[derive(Clone)]
struct Recorded {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

struct State {
    dir: PathBuf,
    exact: BTreeMap<String, Recorded>,
    scenario: Scenario,
    expired: Mutex<BTreeSet<String>>,
    /// Faults still to inject, per path.
    pending: Mutex<BTreeMap<String, std::collections::VecDeque<Fault>>>,
    log: Mutex<Vec<(std::time::Instant, String)>>,
}

/// A running server. It stops with the test process.
pub struct ApiServer {
    pub port: u16,
    state: Arc<State>,
}

impl ApiServer {
    /// Serves `fixtures/cluster/<version>` with `scenario`.
    pub fn start(fixture_dir: &Path, scenario: Scenario) -> Self {
        let exact = load_index(fixture_dir);
        let pending = Mutex::new(
            scenario
                .faults
                .iter()
                .map(|(k, v)| (k.clone(), v.iter().cloned().collect()))
                .collect(),
        );
        let state = Arc::new(State {
            dir: fixture_dir.to_path_buf(),
            exact,
            scenario,
            expired: Mutex::new(BTreeSet::new()),
            pending,
            log: Mutex::new(Vec::new()),
        });
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let shared = Arc::clone(&state);
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { continue };
                let state = Arc::clone(&shared);
                std::thread::spawn(move || serve_connection(stream, &state));
            }
        });
        Self { port, state }
    }

    /// Every request line received (`/api/v1/secrets?labelSelector=...`), in order.
    pub fn requests(&self) -> Vec<String> {
        self.state
            .log
            .lock()
            .unwrap()
            .iter()
            .map(|(_, r)| r.clone())
            .collect()
    }

    /// When each request for `path` (without query) arrived, in order.
    pub fn arrivals(&self, path: &str) -> Vec<std::time::Instant> {
        self.state
            .log
            .lock()
            .unwrap()
            .iter()
            .filter(|(_, r)| r.split('?').next() == Some(path))
            .map(|(t, _)| *t)
            .collect()
    }

    /// A kubeconfig with contexts `recorded` (valid token) and `bad-creds` (rejected token),
    /// written into `dir`.
    pub fn kubeconfig(&self, dir: &Path) -> PathBuf {
        let text = format!(
            "apiVersion: v1
kind: Config
clusters:
- name: fixture
  cluster:
    server: http://127.0.0.1:{port}
contexts:
- name: recorded
  context: {{cluster: fixture, user: admin}}
- name: bad-creds
  context: {{cluster: fixture, user: bad}}
current-context: recorded
users:
- name: admin
  user: {{token: admin-token}}
- name: bad
  user: {{token: bad}}
",
            port = self.port
        );
        let path = dir.join("kubeconfig");
        std::fs::write(&path, text).unwrap();
        path
    }
}

/// Reads `INDEX.tsv`: successful and error GETs by a user with full read access.
fn load_index(dir: &Path) -> BTreeMap<String, Recorded> {
    let index = std::fs::read_to_string(dir.join("INDEX.tsv")).unwrap();
    let mut out = BTreeMap::new();
    for line in index.lines().skip(1) {
        let cols: Vec<&str> = line.split('\t').collect();
        let (file, method, path, user) = (cols[0], cols[1], cols[2], cols[4]);
        if method != "GET" || !matches!(user, "admin" | "scanner") {
            continue;
        }
        // Paging and selector exchanges are regenerated from the full lists instead.
        if file.starts_with("paginate/")
            || file.starts_with("helm/")
            || file.starts_with("metadata/")
        {
            continue;
        }
        let meta_path = dir.join(meta_name(file));
        let meta: Value =
            serde_json::from_str(&std::fs::read_to_string(&meta_path).unwrap()).unwrap();
        let headers = meta["headers"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|h| {
                let name = h[0].as_str()?;
                let keep = name.eq_ignore_ascii_case("content-type")
                    || name.eq_ignore_ascii_case("warning");
                let value = h[1].as_str()?;
                keep.then(|| (name.to_owned(), value.to_owned()))
            })
            .collect();
        let recorded = Recorded {
            status: u16::try_from(meta["status"].as_u64().unwrap()).unwrap(),
            headers,
            body: std::fs::read(dir.join(file)).unwrap(),
        };
        out.entry(path.to_owned()).or_insert(recorded);
    }
    out
}

fn meta_name(file: &str) -> String {
    let stem = file
        .strip_suffix(".json")
        .or_else(|| file.strip_suffix(".txt"))
        .unwrap_or(file);
    format!("{stem}.meta.json")
}

fn serve_connection(stream: TcpStream, state: &State) {
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut writer = stream;
    loop {
        let mut request_line = String::new();
        if reader.read_line(&mut request_line).unwrap_or(0) == 0 {
            return;
        }
        let mut token = None;
        let mut length = 0usize;
        loop {
            let mut header = String::new();
            if reader.read_line(&mut header).unwrap_or(0) == 0 {
                return;
            }
            let header = header.trim_end();
            if header.is_empty() {
                break;
            }
            let (name, value) = header.split_once(':').unwrap_or((header, ""));
            if name.eq_ignore_ascii_case("authorization") {
                token = value.trim().strip_prefix("Bearer ").map(str::to_owned);
            } else if name.eq_ignore_ascii_case("content-length") {
                length = value.trim().parse().unwrap_or(0);
            }
        }
        let mut body = vec![0; length];
        if reader.read_exact(&mut body).is_err() {
            return;
        }
        let target = request_line
            .split_whitespace()
            .nth(1)
            .unwrap_or("/")
            .to_owned();
        state
            .log
            .lock()
            .unwrap()
            .push((std::time::Instant::now(), target.clone()));
        let path = target.split('?').next().unwrap_or("").to_owned();
        let fault = state
            .pending
            .lock()
            .unwrap()
            .get_mut(&path)
            .and_then(std::collections::VecDeque::pop_front)
            .or_else(|| state.scenario.failing.get(&path).cloned());
        let response = match fault {
            Some(Fault::Reset) => return,
            Some(Fault::Status(code, retry_after)) => {
                let mut r = json_response(
                    code,
                    &status_body(code, "InternalError", &format!("injected fault {code}")),
                );
                if let Some(secs) = retry_after {
                    r.headers.push(("Retry-After".into(), secs.to_string()));
                }
                r
            }
            None => answer(state, &target, token.as_deref()),
        };
        let mut head = format!(
            "HTTP/1.1 {} {}\r\n",
            response.status,
            reason(response.status)
        );
        for (name, value) in &response.headers {
            let _ = write!(head, "{name}: {value}\r\n");
        }
        let _ = write!(head, "Content-Length: {}\r\n\r\n", response.body.len());
        if writer.write_all(head.as_bytes()).is_err() || writer.write_all(&response.body).is_err() {
            return;
        }
    }
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        410 => "Gone",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        _ => "Status",
    }
}

fn json_response(status: u16, body: &Value) -> Recorded {
    Recorded {
        status,
        headers: vec![("Content-Type".into(), "application/json".into())],
        body: format!("{body}\n").into_bytes(),
    }
}

fn status_body(code: u16, reason: &str, message: &str) -> Value {
    json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
           "message": message, "reason": reason, "code": code})
}

fn answer(state: &State, target: &str, token: Option<&str>) -> Recorded {
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    if let Some(delay) = state.scenario.slow.get(path) {
        std::thread::sleep(*delay);
    }
    if token == Some("bad") {
        // The recorded 401 body.
        return Recorded {
            status: 401,
            headers: vec![("Content-Type".into(), "application/json".into())],
            body: std::fs::read(state.dir.join("errors/401-bad-token-list-namespaces.json"))
                .unwrap_or_else(|_| b"{\"kind\":\"Status\",\"code\":401}".to_vec()),
        };
    }
    if state.scenario.forbidden.contains(path) {
        let resource = path.rsplit('/').next().unwrap_or("");
        return json_response(
            403,
            &status_body(
                403,
                "Forbidden",
                &format!(
                    "{resource} is forbidden: User \"upgrade-scanner\" cannot list resource \"{resource}\" at the cluster scope"
                ),
            ),
        );
    }
    if state.scenario.not_found.contains(path) {
        return json_response(
            404,
            &status_body(
                404,
                "NotFound",
                "the server could not find the requested resource",
            ),
        );
    }
    let params: BTreeMap<String, String> = query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (k.to_owned(), decode(v))
        })
        .collect();
    if let Some(r) = state.exact.get(target)
        && !state.scenario.replace.contains_key(path)
    {
        return r.clone();
    }
    match collection(state, path) {
        Some((mut list, headers)) => page(state, path, &params, &mut list, headers),
        None => json_response(
            404,
            &status_body(
                404,
                "NotFound",
                "the server could not find the requested resource",
            ),
        ),
    }
}

/// The recorded full list behind a collection path, narrowed to a namespace for namespaced
/// paths; an empty list for a collection that had no objects when recorded.
fn collection(state: &State, path: &str) -> Option<(Value, Vec<(String, String)>)> {
    let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    let (prefix, rest) = match segments.first() {
        Some(&"api") => (
            segments[..2.min(segments.len())].join("/"),
            &segments[2.min(segments.len())..],
        ),
        Some(&"apis") if segments.len() >= 3 => (segments[..3].join("/"), &segments[3..]),
        _ => return None,
    };
    let (namespace, resource) = match rest {
        [resource] => (None, *resource),
        ["namespaces", ns, resource] => (Some(*ns), *resource),
        _ => return None,
    };
    let cluster_wide = format!("/{prefix}/{resource}");
    let replaced = state.scenario.replace.get(&cluster_wide).map(|list| {
        let headers = vec![("Content-Type".to_owned(), "application/json".to_owned())];
        (list.clone(), headers)
    });
    let (mut list, headers) = match replaced {
        Some(r) => r,
        None => match state.exact.get(&cluster_wide) {
            Some(r) if r.status == 200 => (
                serde_json::from_slice::<Value>(&r.body).ok()?,
                r.headers.clone(),
            ),
            Some(_) => return None,
            None => (
                json!({"kind": "List", "apiVersion": "v1", "metadata": {"resourceVersion": "1"}, "items": []}),
                vec![("Content-Type".to_owned(), "application/json".to_owned())],
            ),
        },
    };
    if let Some(ns) = namespace {
        list["items"]
            .as_array_mut()?
            .retain(|i| i.pointer("/metadata/namespace").and_then(Value::as_str) == Some(ns));
    }
    Some((list, headers))
}

fn page(
    state: &State,
    path: &str,
    params: &BTreeMap<String, String>,
    list: &mut Value,
    headers: Vec<(String, String)>,
) -> Recorded {
    let mut items: Vec<Value> = list["items"].as_array().cloned().unwrap_or_default();
    if let Some(selector) = params.get("labelSelector") {
        for term in selector.split(',') {
            let (k, v) = term.split_once('=').unwrap();
            items.retain(|i| {
                i.pointer("/metadata/labels")
                    .and_then(|l| l.get(k))
                    .and_then(Value::as_str)
                    == Some(v)
            });
        }
    }
    if let Some(selector) = params.get("fieldSelector") {
        for term in selector.split(',') {
            let (k, v) = term.split_once('=').unwrap();
            let pointer = format!("/{}", k.replace('.', "/"));
            items.retain(|i| i.pointer(&pointer).and_then(Value::as_str) == Some(v));
        }
    }
    let start: usize = match params.get("continue") {
        None => 0,
        Some(token) => {
            let Some(offset) = token
                .strip_prefix("fixture-offset-")
                .and_then(|o| o.parse().ok())
            else {
                return json_response(
                    400,
                    &status_body(400, "BadRequest", "continue key is not valid"),
                );
            };
            let key = path.to_owned();
            if state.scenario.expire_continue.contains(path)
                && state.expired.lock().unwrap().insert(key.clone())
            {
                let mut body = status_body(
                    410,
                    "Expired",
                    "The provided continue parameter is too old to display a consistent list result.",
                );
                body["metadata"]["continue"] = json!(token);
                return json_response(410, &body);
            }
            if state.scenario.expire_continue_without_token.contains(path)
                && state.expired.lock().unwrap().insert(key)
            {
                return json_response(
                    410,
                    &status_body(
                        410,
                        "Expired",
                        "The provided continue parameter is too old to display a consistent list result.",
                    ),
                );
            }
            offset
        }
    };
    let limit: usize = params
        .get("limit")
        .and_then(|l| l.parse().ok())
        .unwrap_or(usize::MAX);
    let end = start.saturating_add(limit).min(items.len());
    let chunk: Vec<Value> = items
        .get(start..end)
        .map(<[Value]>::to_vec)
        .unwrap_or_default();
    let mut meta = json!({"resourceVersion": list.pointer("/metadata/resourceVersion").cloned().unwrap_or(json!("1"))});
    if state.scenario.repeat_continue.contains(path) && start > 0 {
        // Sends the client back a page: tokens cycle, and a client that follows them never
        // ends.
        meta["continue"] = json!(format!("fixture-offset-{}", start - 1));
    } else if end < items.len() {
        meta["continue"] = json!(format!("fixture-offset-{end}"));
        meta["remainingItemCount"] = json!(items.len() - end);
    }
    let body = json!({"kind": list["kind"], "apiVersion": list["apiVersion"], "metadata": meta, "items": chunk});
    Recorded {
        status: 200,
        headers,
        body: format!("{body}\n").into_bytes(),
    }
}

/// Percent-decoding of a query value.
fn decode(v: &str) -> String {
    let bytes = v.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && let Ok(b) = u8::from_str_radix(&v[i + 1..i + 3], 16)
        {
            out.push(b);
            i += 3;
            continue;
        }
        out.push(if bytes[i] == b'+' { b' ' } else { bytes[i] });
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}
