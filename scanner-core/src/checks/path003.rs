//! PATH003: the support window of the running minor and of the target, on the date of the
//! scan. On EKS it is the EKS release calendar (standard, then extended support; the cluster's
//! upgrade policy); elsewhere the upstream end of life. [`judge`] is the one rule: the plan's
//! support notes call it too.

use std::fmt;
use std::str::FromStr;

use api_catalog::{EKS_SUPPORT_CSV, KUBERNETES_RELEASES_CSV, KubeVersion};

use super::{Check, CheckFinding, CodeInfo, Context, Family, Severity};
use crate::report::provider::ProviderState;

pub static CHECK: Check = Check {
    info: CodeInfo {
        code: "PATH003",
        family: Family::Readiness,
        title: "Support window",
        severity: Severity::Info,
        reads: "the running control-plane minor and the target; today's date; on EKS the EKS release calendar (api-catalog eks-support.csv: end of standard and of extended support per minor) and DescribeCluster upgradePolicy.supportType, elsewhere the upstream end of life (api-catalog kubernetes-releases.csv)",
        applies: "the running minor and the target, on any cluster (offline too, with --current)",
        remediation: "Upgrade before the support window closes: on EKS before the end of standard support (extended support is billed extra per cluster hour, and with the upgrade policy STANDARD EKS upgrades the control plane itself), and before the end of extended support at the latest, when EKS upgrades it on its own; elsewhere before the upstream end of life. Pick a target that is still supported.",
        explanation: "A minor is supported for a fixed window. Upstream Kubernetes patches a minor for about 14 months. Amazon EKS gives each minor 14 months of standard support from its EKS release, then 12 months of extended support at an extra charge per cluster hour (the default upgrade policy, EXTENDED); with the policy STANDARD the control plane is upgraded by EKS at the end of standard support, and at the end of extended support every cluster still on the minor is upgraded by EKS to the next one, at a time it does not announce. The check judges the running minor and the target on the day of the scan: information when the window closes within 90 days, a warning once it has closed (in extended support, or past the end of life). The dates are the catalog's (eks-support.csv from AWS's \"Amazon EKS Kubernetes release calendar\", kubernetes-releases.csv from the Kubernetes release history), so a minor the calendar does not list is said to be unknown, never judged supported.",
        retired: None,
    },
    needs: &[],
    offline: true,
    needs_kubectl: false,
    uses: &[],
    run,
};

/// Why the check cannot run: it needs the date.
pub(super) fn unavailable(today: Option<Date>) -> Option<String> {
    today.is_none().then(|| {
        "needs today's date (checks::Options::today; the CLI gives the system date or UPCHECK_TODAY)"
            .to_owned()
    })
}

/// A calendar day (UTC), `YYYY-MM-DD`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Date {
    year: i32,
    month: u8,
    day: u8,
}

impl Date {
    /// Days since 1970-01-01 (Howard Hinnant's `days_from_civil`).
    fn days(self) -> i64 {
        let y = i64::from(self.year) - i64::from(self.month <= 2);
        let era = y.div_euclid(400);
        let yoe = y.rem_euclid(400);
        let m = i64::from(self.month);
        let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(self.day) - 1;
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
        era * 146_097 + doe - 719_468
    }

    /// The day `days` days after 1970-01-01 (Howard Hinnant's `civil_from_days`).
    pub fn from_unix_days(days: i64) -> Self {
        let z = days + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z.rem_euclid(146_097);
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let d = doy - (153 * mp + 2) / 5 + 1;
        let m = if mp < 10 { mp + 3 } else { mp - 9 };
        let y = yoe + era * 400 + i64::from(m <= 2);
        Self {
            year: i32::try_from(y).unwrap_or(i32::MAX),
            month: u8::try_from(m).unwrap_or(1),
            day: u8::try_from(d).unwrap_or(1),
        }
    }
}

/// A date that is not `YYYY-MM-DD`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not a date: expected YYYY-MM-DD")]
pub struct DateError(String);

impl FromStr for Date {
    type Err = DateError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || DateError(s.to_owned());
        let mut parts = s.split('-');
        let (Some(y), Some(m), Some(d), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(bad());
        };
        if y.len() != 4 || m.len() != 2 || d.len() != 2 {
            return Err(bad());
        }
        let year: i32 = y.parse().map_err(|_| bad())?;
        let month: u8 = m.parse().map_err(|_| bad())?;
        let day: u8 = d.parse().map_err(|_| bad())?;
        let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
        let last = match month {
            1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
            4 | 6 | 9 | 11 => 30,
            2 if leap => 29,
            2 => 28,
            _ => return Err(bad()),
        };
        if day == 0 || day > last {
            return Err(bad());
        }
        Ok(Self { year, month, day })
    }
}

impl fmt::Display for Date {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}-{:02}", self.year, self.month, self.day)
    }
}

/// One row of the upstream release table.
#[derive(Debug)]
pub(crate) struct Release {
    pub(crate) minor: KubeVersion,
    pub(crate) released: Option<String>,
    pub(crate) end_of_life: Option<String>,
}

/// The upstream release table (`kubernetes-releases.csv`).
pub(crate) fn releases() -> Vec<Release> {
    KUBERNETES_RELEASES_CSV
        .lines()
        .skip(1)
        .filter_map(|l| {
            let mut cols = l.split(',');
            let minor = cols.next()?.trim().parse().ok()?;
            let date = |c: Option<&str>| {
                c.map(str::trim)
                    .filter(|d| !d.is_empty())
                    .map(str::to_owned)
            };
            Some(Release {
                minor,
                released: date(cols.next()),
                end_of_life: date(cols.next()),
            })
        })
        .collect()
}

/// One row of the EKS release calendar (`eks-support.csv`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct EksWindow {
    pub(crate) minor: KubeVersion,
    pub(crate) end_of_standard: Date,
    pub(crate) end_of_extended: Date,
}

/// The EKS release calendar; a row that does not read is left out (a unit test keeps every
/// row readable, so none is in the shipped table).
pub(crate) fn eks_calendar() -> Vec<EksWindow> {
    EKS_SUPPORT_CSV
        .lines()
        .skip(1)
        .filter_map(|l| {
            let mut cols = l.split(',');
            let minor = cols.next()?.trim().parse().ok()?;
            let _released: Date = cols.next()?.trim().parse().ok()?;
            Some(EksWindow {
                minor,
                end_of_standard: cols.next()?.trim().parse().ok()?,
                end_of_extended: cols.next()?.trim().parse().ok()?,
            })
        })
        .collect()
}

/// Which end of the upgrade a minor is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum End {
    /// The version running now.
    Running,
    /// The oldest apiserver's, mid-upgrade.
    OldestApiserver,
    /// The target.
    Target,
}

impl End {
    fn label(self) -> &'static str {
        match self {
            Self::Running => "running",
            Self::OldestApiserver => "oldest apiserver's",
            Self::Target => "target",
        }
    }

    fn advice(self) -> &'static str {
        match self {
            Self::Target => "; pick a newer target",
            _ => "",
        }
    }
}

/// Where the support dates come from: the upstream project, or EKS with the cluster's upgrade
/// policy (`STANDARD` / `EXTENDED`) when it was read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Calendar<'a> {
    /// Upstream end of life.
    Upstream,
    /// The EKS release calendar, and `DescribeCluster.upgradePolicy.supportType`.
    Eks(Option<&'a str>),
    /// The AKS release calendar, and the cluster's `supportPlan` (`AKSLongTermSupport`).
    Aks(Option<&'a str>),
}

/// What the support window says about a minor on a day.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Verdict {
    pub(crate) severity: Severity,
    pub(crate) message: String,
}

/// How far ahead a closing window is told.
const SOON_DAYS: i64 = 90;

/// The one rule: `minor` (the `end` of the upgrade) on `today` under `calendar`. `None` when
/// there is nothing to say (supported for more than 90 days).
pub(crate) fn judge(
    minor: KubeVersion,
    end: End,
    today: Date,
    calendar: Calendar<'_>,
) -> Option<Verdict> {
    let what = end.label();
    let advice = end.advice();
    let warn = |message: String| {
        Some(Verdict {
            severity: Severity::Warning,
            message,
        })
    };
    let info = |message: String| {
        Some(Verdict {
            severity: Severity::Info,
            message,
        })
    };
    match calendar {
        Calendar::Aks(plan) => {
            let Some(r) = api_catalog::aks_release(minor) else {
                return info(format!(
                    "the {what} version {minor} is not in upcheck's AKS release calendar: check `az aks get-versions` for the region"
                ));
            };
            let end: Date = r.end_of_support(plan).parse().ok()?;
            let kind = if end.to_string() == r.end_of_life {
                "AKS community support"
            } else {
                "AKS long-term support"
            };
            if end < today {
                warn(format!(
                    "the {what} version {minor} left {kind} on {end}: only platform support remains, and AKS upgrades such clusters on its own{advice}"
                ))
            } else if end.days() - today.days() <= SOON_DAYS {
                info(format!("the {what} version {minor} leaves {kind} on {end}"))
            } else {
                None
            }
        }
        Calendar::Upstream => {
            let eol: Date = releases()
                .into_iter()
                .find(|r| r.minor == minor)?
                .end_of_life?
                .parse()
                .ok()?;
            if eol < today {
                // The plan's long-standing wording.
                warn(format!(
                    "the {what} version {minor} reached end of life on {eol}: it gets no more patches{advice}"
                ))
            } else if eol.days() - today.days() <= SOON_DAYS {
                info(format!(
                    "the {what} version {minor} reaches end of life on {eol}: no patches after it"
                ))
            } else {
                None
            }
        }
        Calendar::Eks(policy) => {
            let calendar = eks_calendar();
            let Some(w) = calendar.iter().find(|w| w.minor == minor) else {
                let first = calendar.first().map(|w| w.minor.to_string());
                let last = calendar.last().map(|w| w.minor.to_string());
                return info(format!(
                    "the {what} version {minor} is not in upcheck's EKS release calendar ({}–{}): its EKS support dates are not known",
                    first.unwrap_or_default(),
                    last.unwrap_or_default()
                ));
            };
            let (standard, extended) = (w.end_of_standard, w.end_of_extended);
            if extended <= today {
                warn(format!(
                    "the {what} version {minor} reached the end of EKS extended support on {extended}: EKS upgrades such control planes to the next minor on its own, at a time it does not announce{advice}"
                ))
            } else if standard <= today && policy == Some("STANDARD") {
                warn(format!(
                    "the {what} version {minor} left EKS standard support on {standard} and the cluster's upgrade policy is STANDARD: EKS upgrades the control plane on its own{advice}"
                ))
            } else if standard <= today {
                warn(format!(
                    "the {what} version {minor} is in EKS extended support since {standard} (billed extra per cluster hour) until {extended}, when EKS upgrades it on its own{advice}"
                ))
            } else if standard.days() - today.days() <= SOON_DAYS {
                info(format!(
                    "the {what} version {minor} leaves EKS standard support on {standard}: {}",
                    if policy == Some("STANDARD") {
                        "with the upgrade policy STANDARD, EKS then upgrades the control plane on its own"
                    } else {
                        "extended support after it is billed extra per cluster hour"
                    }
                ))
            } else {
                None
            }
        }
    }
}

fn run(ctx: &Context<'_>, out: &mut Vec<CheckFinding>) {
    let Some(today) = ctx.today else {
        return;
    };
    // An EKS cluster whose API could not be read is still on the EKS calendar; its upgrade
    // policy is then unknown, and extended support is EKS's default.
    let calendar = match ctx.state.provider() {
        ProviderState::Eks(f) => Calendar::Eks(f.support_type.as_deref()),
        ProviderState::Aks(f) => Calendar::Aks(f.support_plan.as_deref()),
        ProviderState::Failed(_) => Calendar::Eks(None),
        ProviderState::None => Calendar::Upstream,
    };
    let mut ends = vec![(ctx.current, End::Running, "control plane")];
    if ctx.target != ctx.current {
        ends.push((ctx.target, End::Target, "target"));
    }
    for (minor, end, object) in ends {
        if let Some(v) = judge(minor, end, today, calendar) {
            out.push(CheckFinding::new(
                &CHECK,
                v.severity,
                format!("{object} {minor}"),
                v.message,
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::ClusterState;
    use crate::report::ErrorKind;
    use crate::report::provider::{EksFacts, ProviderProblem};

    fn v(minor: u16) -> KubeVersion {
        KubeVersion::new(1, minor)
    }

    fn day(s: &str) -> Date {
        s.parse().unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn dates_read_and_count() {
        assert_eq!(day("2026-12-08").to_string(), "2026-12-08");
        assert_eq!(day("2024-03-01").days() - day("2024-02-28").days(), 2);
        assert_eq!(
            Date::from_unix_days(day("2026-12-08").days()),
            day("2026-12-08")
        );
        for bad in [
            "2026-13-01",
            "2026-02-29",
            "26-01-01",
            "2026-1-01",
            "today",
            "2026-01-01-1",
        ] {
            assert!(bad.parse::<Date>().is_err(), "{bad}");
        }
        assert!("2024-02-29".parse::<Date>().is_ok());
    }

    #[test]
    fn every_calendar_row_reads_and_is_ordered() {
        let rows = EKS_SUPPORT_CSV
            .lines()
            .skip(1)
            .filter(|l| !l.is_empty())
            .count();
        let calendar = eks_calendar();
        assert_eq!(
            calendar.len(),
            rows,
            "a row of eks-support.csv does not read"
        );
        assert_eq!(calendar.first().map(|w| w.minor), Some(v(23)));
        assert_eq!(calendar.last().map(|w| w.minor), Some(v(34)));
        for pair in calendar.windows(2) {
            assert_eq!(pair[1].minor, pair[0].minor.next_minor());
            assert!(pair[0].end_of_standard < pair[1].end_of_standard);
        }
        for w in &calendar {
            // Extended support is 12 months after standard support ends.
            let gap = w.end_of_extended.days() - w.end_of_standard.days();
            assert!((365..=366).contains(&gap), "{w:?}");
        }
    }

    #[test]
    fn eks_windows() {
        let today = day("2026-12-08");
        // 1.30: standard ended 2025-07-23, extended 2026-07-23.
        let gone = judge(v(30), End::Running, today, Calendar::Eks(Some("EXTENDED")));
        assert!(
            gone.as_ref()
                .is_some_and(|g| g.severity == Severity::Warning
                    && g.message
                        .contains("end of EKS extended support on 2026-07-23")),
            "{gone:?}"
        );
        // 1.32: in extended support until 2027-03-23.
        let ext = judge(v(32), End::Running, today, Calendar::Eks(None));
        assert!(
            ext.as_ref().is_some_and(|e| e.severity == Severity::Warning
                && e.message
                    .contains("in EKS extended support since 2026-03-23")),
            "{ext:?}"
        );
        let standard = judge(v(32), End::Running, today, Calendar::Eks(Some("STANDARD")));
        assert!(
            standard
                .as_ref()
                .is_some_and(|s| s.message.contains("upgrade policy is STANDARD")),
            "{standard:?}"
        );
        // 1.33 on 2026-06-01: standard support ends within 90 days.
        let soon = judge(v(33), End::Target, day("2026-06-01"), Calendar::Eks(None));
        assert_eq!(soon.map(|s| s.severity), Some(Severity::Info));
        // 1.34 on 2026-01-01: nothing to say.
        assert_eq!(
            judge(v(34), End::Target, day("2026-01-01"), Calendar::Eks(None)),
            None
        );
        // Outside the calendar: unknown, never supported.
        let unknown = judge(v(35), End::Target, today, Calendar::Eks(None));
        assert!(
            unknown.as_ref().is_some_and(|u| u
                .message
                .contains("not in upcheck's EKS release calendar (1.23–1.34)")),
            "{unknown:?}"
        );
    }

    #[test]
    fn upstream_end_of_life() {
        let eol = judge(v(30), End::Target, day("2026-12-08"), Calendar::Upstream);
        assert_eq!(
            eol.map(|e| e.message),
            Some("the target version 1.30 reached end of life on 2025-07-15: it gets no more patches; pick a newer target".to_owned())
        );
        assert_eq!(
            judge(v(35), End::Running, day("2026-12-08"), Calendar::Upstream).map(|e| e.severity),
            Some(Severity::Info)
        );
        assert_eq!(
            judge(v(36), End::Running, day("2026-12-08"), Calendar::Upstream),
            None
        );
    }

    fn findings(state: &ClusterState, current: u16, target: u16) -> Vec<CheckFinding> {
        let mut ctx = Context::new(state, v(current), v(target));
        ctx.today = Some(day("2026-12-08"));
        let mut out = Vec::new();
        run(&ctx, &mut out);
        out
    }

    #[test]
    fn the_check_uses_the_eks_calendar_on_eks_clusters() {
        let mut state = ClusterState::new();
        let upstream = findings(&state, 32, 33);
        // Upstream, 1.32 ended 2026-02-28 and 1.33 2026-06-28.
        assert_eq!(upstream.len(), 2);
        assert!(
            upstream[0]
                .message
                .contains("reached end of life on 2026-02-28")
        );
        state.set_provider(ProviderState::Failed(ProviderProblem::new(
            ErrorKind::Forbidden,
            "needs eks:DescribeCluster",
            "denied",
        )));
        let eks = findings(&state, 32, 33);
        assert_eq!(eks.len(), 2, "{eks:?}");
        assert_eq!(eks[0].object, "control plane 1.32");
        assert!(
            eks[0]
                .message
                .contains("EKS extended support since 2026-03-23")
        );
        assert!(
            eks[1]
                .message
                .contains("target version 1.33 is in EKS extended support")
        );
        state.set_provider(ProviderState::Eks(Box::new(EksFacts {
            cluster: "prod".into(),
            region: "eu-west-1".into(),
            version: Some("1.33".into()),
            addons: Ok(Vec::new()),
            addon_versions: Ok(std::collections::BTreeMap::new()),
            nodegroups: Ok(Vec::new()),
            health: Vec::new(),
            support_type: Some("STANDARD".into()),
            insights: Ok(Vec::new()),
        })));
        let eks = findings(&state, 33, 34);
        assert!(
            eks[0].message.contains("upgrade policy is STANDARD"),
            "{eks:?}"
        );
    }
}
