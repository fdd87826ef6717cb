//! The API server's own readiness checks: `GET /readyz?verbose` answers one line per check
//! (`[+]etcd ok`, `[-]etcd failed: reason withheld`) and a closing verdict, with HTTP 200 when
//! every check passes and 500 when one fails. The body is read either way: the failing lines
//! are the point.

/// One readiness check of the API server.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct ReadyzCheck {
    /// Its name (`etcd`, `poststarthook/rbac/bootstrap-roles`).
    pub name: String,
    /// Whether it passed.
    pub ok: bool,
    /// What the server says about a failure (`reason withheld` unless the caller may see more).
    pub reason: Option<String>,
}

/// Reads the body of `GET /readyz?verbose`. Fails, saying why, when no line has the
/// `[+]name ok` / `[-]name failed` shape: the answer is then not a readiness report (a proxy's
/// page, a server without `/readyz`), and judging it would be a guess.
pub fn parse_readyz(body: &str) -> Result<Vec<ReadyzCheck>, String> {
    let mut checks = Vec::new();
    for line in body.lines().map(str::trim) {
        if let Some(rest) = line.strip_prefix("[+]") {
            let name = rest.strip_suffix(" ok").unwrap_or(rest).trim();
            checks.push(ReadyzCheck {
                name: name.to_owned(),
                ok: true,
                reason: None,
            });
        } else if let Some(rest) = line.strip_prefix("[-]") {
            let (name, reason) = match rest.split_once(" failed") {
                Some((name, why)) => {
                    let why = why.trim_start_matches(':').trim();
                    (name, (!why.is_empty()).then(|| why.to_owned()))
                }
                None => (rest, None),
            };
            checks.push(ReadyzCheck {
                name: name.trim().to_owned(),
                ok: false,
                reason,
            });
        }
    }
    if checks.is_empty() {
        let first = body.lines().next().unwrap_or("").trim();
        return Err(if first.is_empty() {
            "the answer was empty".to_owned()
        } else {
            format!("the answer lists no readiness checks (it starts with {first:?})")
        });
    }
    checks.sort();
    checks.dedup();
    Ok(checks)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_recorded_1_34_answer() {
        let text = include_str!("../../../fixtures/cluster/v1.34/readyz-verbose.txt");
        let checks = parse_readyz(text).unwrap();
        assert_eq!(checks.len(), 34);
        assert!(checks.iter().all(|c| c.ok && c.reason.is_none()));
        assert!(
            checks
                .iter()
                .any(|c| c.name == "poststarthook/rbac/bootstrap-roles")
        );
    }

    #[test]
    fn reads_failures_with_and_without_reasons() {
        let text = "[+]ping ok\n[-]etcd failed: reason withheld\n[-]informer-sync failed\nreadyz check failed\n";
        let checks = parse_readyz(text).unwrap();
        assert_eq!(
            checks,
            vec![
                ReadyzCheck {
                    name: "etcd".into(),
                    ok: false,
                    reason: Some("reason withheld".into())
                },
                ReadyzCheck {
                    name: "informer-sync".into(),
                    ok: false,
                    reason: None
                },
                ReadyzCheck {
                    name: "ping".into(),
                    ok: true,
                    reason: None
                },
            ]
        );
    }

    #[test]
    fn refuses_what_is_not_a_readiness_report() {
        assert_eq!(parse_readyz("").unwrap_err(), "the answer was empty");
        assert!(
            parse_readyz("<html>gateway</html>")
                .unwrap_err()
                .contains("<html>gateway</html>")
        );
    }
}
