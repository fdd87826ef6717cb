//! Choosing how an object moves from the API version it uses to one served at the target: the
//! versions to move through, each served from the release where the move is made until the
//! next move, the first move made at the running release or later, the last version served at
//! the target. Pure: the catalog gathers the candidates (`Catalog::migration_path`).

use crate::gvk::version_priority;
use crate::version::KubeVersion;

/// An API version with the releases that serve it: `[introduced, removed_in)`. An unknown
/// `introduced` counts as served from the start (unknown availability is never "unavailable").
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Candidate<'c> {
    pub(crate) api_version: &'c str,
    pub(crate) kind: Option<&'c str>,
    pub(crate) introduced: Option<KubeVersion>,
    pub(crate) removed_in: Option<KubeVersion>,
}

impl Candidate<'_> {
    fn served_at(&self, at: KubeVersion) -> bool {
        self.introduced.is_none_or(|i| i <= at) && self.removed_in.is_none_or(|r| r > at)
    }

    /// The last release that serves it (`None`: no removal recorded).
    fn last_served(&self) -> Option<KubeVersion> {
        self.removed_in.map(KubeVersion::prev_minor)
    }

    /// GA over beta over alpha, then the newer version; odd spellings rank lowest.
    fn priority(&self) -> (u8, u32, u32) {
        let version = self
            .api_version
            .rsplit('/')
            .next()
            .unwrap_or(self.api_version);
        version_priority(version).unwrap_or((0, 0, 0))
    }
}

/// One move of a migration path.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MigrationStep<'c> {
    /// `apiVersion` to move to.
    pub api_version: &'c str,
    /// Its kind; `None` when the catalog names no single successor kind.
    pub kind: Option<&'c str>,
    /// First release serving it, when recorded.
    pub introduced: Option<KubeVersion>,
    /// First release no longer serving it, when recorded.
    pub removed_in: Option<KubeVersion>,
    /// The first release at which the move can be made: the cluster runs it, and it serves
    /// both the version moved from and this one. For the first move, the running release when
    /// the new version is already served there.
    pub earliest: KubeVersion,
    /// The last release at which the move can be made: before the hop past it, the version
    /// moved from (or a later move) is no longer served, or the upgrade reaches its target.
    pub latest: KubeVersion,
}

impl MigrationStep<'_> {
    /// `apiVersion` and kind for people (`flowcontrol.apiserver.k8s.io/v1 FlowSchema`).
    pub fn display(&self) -> String {
        match self.kind {
            Some(k) => format!("{} {k}", self.api_version),
            None => self.api_version.to_owned(),
        }
    }
}

/// The search state: the version the object is on, since when, and until when it can stay.
#[derive(Clone, Copy)]
struct On {
    since: KubeVersion,
    until: KubeVersion,
}

/// The path from `own` (the object's version) at `current` to a version served at `target`,
/// through `candidates`: the fewest moves, then the most stable final version (GA over beta),
/// then the newest; `None` when no sequence of moves keeps the object on a served version.
///
/// Moves are made while the cluster runs a release from `current` up to the one before the
/// target (the target itself when there is no upgrade), and only while both versions are
/// served: the object stays on each version from the release it moved there until it moves
/// on. An object whose own version is not served at `current` moves at `current`. An object
/// still served at the target that cannot move before it moves at the target (v2beta2 HPAs
/// on the way to 1.23, where v2 first appears): nothing forces it earlier.
pub(crate) fn choose<'c>(
    own: &Candidate<'c>,
    candidates: &[Candidate<'c>],
    current: KubeVersion,
    target: KubeVersion,
) -> Option<Vec<MigrationStep<'c>>> {
    let current = current.min(target);
    let before_target = if current < target {
        target.prev_minor()
    } else {
        current
    };
    choose_until(own, candidates, current, target, before_target).or_else(|| {
        (before_target < target && own.served_at(target))
            .then(|| choose_until(own, candidates, current, target, target))
            .flatten()
    })
}

/// The best path whose moves are made no later than `last_move`.
fn choose_until<'c>(
    own: &Candidate<'c>,
    candidates: &[Candidate<'c>],
    current: KubeVersion,
    target: KubeVersion,
    last_move: KubeVersion,
) -> Option<Vec<MigrationStep<'c>>> {
    let until = |c: &Candidate<'_>| c.last_served().map_or(last_move, |l| l.min(last_move));
    let start = On {
        since: current,
        until: if own.served_at(current) {
            until(own)
        } else {
            current
        },
    };
    let mut search = Search {
        candidates,
        target,
        until: &until,
        best: None,
        trail: Vec::new(),
    };
    search.walk(start);
    let moves = search.best?.1;

    // Each move as late as it can be: before the version moved from leaves, and no later
    // than the next move.
    let mut steps: Vec<MigrationStep<'c>> = Vec::with_capacity(moves.len());
    let mut latest = last_move;
    for (n, &(i, earliest)) in moves.iter().enumerate().rev() {
        let from_until = match n {
            0 => start.until,
            _ => until(&candidates[moves[n - 1].0]),
        };
        latest = latest.min(from_until);
        let c = &candidates[i];
        steps.push(MigrationStep {
            api_version: c.api_version,
            kind: c.kind,
            introduced: c.introduced,
            removed_in: c.removed_in,
            earliest,
            latest,
        });
    }
    steps.reverse();
    Some(steps)
}

/// How good a complete path is: smaller is better.
type Rank = (
    usize,
    std::cmp::Reverse<Vec<((u8, u32, u32), KubeVersion)>>,
    Vec<String>,
);

struct Search<'a, 'c, F> {
    candidates: &'a [Candidate<'c>],
    target: KubeVersion,
    until: &'a F,
    /// The best path so far: its rank and its moves (candidate index, earliest release).
    best: Option<(Rank, Vec<(usize, KubeVersion)>)>,
    trail: Vec<(usize, KubeVersion)>,
}

impl<F: Fn(&Candidate<'_>) -> KubeVersion> Search<'_, '_, F> {
    /// Depth first over the moves from `on`; candidate lists are a handful of versions, and a
    /// version is never visited twice on one path, so the search is small and ends.
    fn walk(&mut self, on: On) {
        if self
            .best
            .as_ref()
            .is_some_and(|(rank, _)| rank.0 <= self.trail.len())
        {
            return; // a path as short exists: a longer one cannot win
        }
        for (i, c) in self.candidates.iter().enumerate() {
            if self.trail.iter().any(|&(t, _)| t == i) {
                continue;
            }
            // The earliest release serving both: staying on the old version as long as
            // needed leaves the most room for later moves.
            let at = c.introduced.map_or(on.since, |v| v.max(on.since));
            if at > on.until || !c.served_at(at) {
                continue;
            }
            self.trail.push((i, at));
            if c.served_at(self.target) {
                self.offer();
            } else {
                let until = (self.until)(c);
                self.walk(On { since: at, until });
            }
            self.trail.pop();
        }
    }

    fn offer(&mut self) {
        // Fewest moves; then, from the final version back, the most stable and newest
        // version, the one served longest; then the spelling, so the answer is deterministic.
        let quality = self
            .trail
            .iter()
            .rev()
            .map(|&(i, _)| {
                let c = &self.candidates[i];
                (
                    c.priority(),
                    c.removed_in.unwrap_or(KubeVersion::new(u16::MAX, u16::MAX)),
                )
            })
            .collect();
        let names = self
            .trail
            .iter()
            .map(|&(i, _)| self.candidates[i].api_version.to_owned())
            .collect();
        let rank: Rank = (self.trail.len(), std::cmp::Reverse(quality), names);
        if self.best.as_ref().is_none_or(|(b, _)| rank < *b) {
            self.best = Some((rank, self.trail.clone()));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(s: &str) -> KubeVersion {
        s.parse().expect("test version")
    }

    fn c<'a>(api_version: &'a str, introduced: &str, removed: Option<&str>) -> Candidate<'a> {
        Candidate {
            api_version,
            kind: Some("FlowSchema"),
            introduced: Some(v(introduced)),
            removed_in: removed.map(v),
        }
    }

    #[test]
    fn bridges_a_gap_through_an_intermediate_version() {
        let own = c("fc/v1beta2", "1.23", Some("1.29"));
        let cands = [
            c("fc/v1beta3", "1.26", Some("1.32")),
            c("fc/v1", "1.29", None),
        ];
        let path = choose(&own, &cands, v("1.27"), v("1.33")).expect("a path");
        let got: Vec<_> = path
            .iter()
            .map(|s| (s.api_version, s.earliest.to_string(), s.latest.to_string()))
            .collect();
        assert_eq!(
            got,
            [
                ("fc/v1beta3", "1.27".into(), "1.28".into()),
                ("fc/v1", "1.29".into(), "1.31".into())
            ]
        );
    }

    #[test]
    fn prefers_one_move_served_today_over_waiting_for_ga_at_the_target() {
        let own = c("a/v1alpha1", "1.32", Some("1.38"));
        let cands = [
            c("a/v1beta1", "1.34", Some("1.40")),
            c("a/v1", "1.36", None),
        ];
        let path = choose(&own, &cands, v("1.34"), v("1.36")).expect("a path");
        assert_eq!(path.len(), 1);
        assert_eq!(path[0].api_version, "a/v1beta1");
        // Without an upgrade (current = target 1.36) GA is served and wins.
        let path = choose(&own, &cands, v("1.36"), v("1.36")).expect("a path");
        assert_eq!(path[0].api_version, "a/v1");
    }

    #[test]
    fn no_path_when_no_version_overlaps() {
        let own = c("b/v1beta1", "1.10", Some("1.25"));
        let cands = [c("b/v1", "1.25", None)];
        assert_eq!(choose(&own, &cands, v("1.24"), v("1.25")), None);
        // An object already broken moves at the running release.
        let path = choose(&own, &cands, v("1.26"), v("1.27")).expect("a path");
        assert_eq!((path[0].earliest, path[0].latest), (v("1.26"), v("1.26")));
    }
}
