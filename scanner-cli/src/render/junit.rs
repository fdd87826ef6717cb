//! JUnit XML, for CI test reports: a suite for deprecated APIs and one for readiness, a test
//! case per finding. A finding that fails the gate is a `<failure>`, one that does not
//! (`--ignore-deprecations`, a readiness note) passes with its message in `<system-out>`;
//! suppressed findings are `<skipped>`, inputs that could not be read are `<error>`. A clean
//! scan is one passing case, so the report shows the gate ran.

use std::fmt::Write as _;
use std::io::Write;

use anyhow::Result;
use scanner_core::Report;

use super::{RenderOptions, summary};
use crate::exit;

/// Escapes text for XML attributes and content; drops characters XML 1.0 cannot carry.
fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\n' => out.push_str("&#10;"),
            '\t' | '\r' => out.push(' '),
            c if (c as u32) < 0x20 || c == '\u{fffe}' || c == '\u{ffff}' => {}
            c => out.push(c),
        }
    }
    out
}

#[derive(Default)]
struct Suite {
    name: String,
    cases: String,
    tests: usize,
    failures: usize,
    errors: usize,
    skipped: usize,
}

impl Suite {
    fn case(&mut self, classname: &str, name: &str, body: &str) {
        self.tests += 1;
        let _ = write!(
            self.cases,
            "    <testcase classname=\"{}\" name=\"{}\"",
            esc(classname),
            esc(name)
        );
        if body.is_empty() {
            self.cases.push_str("/>\n");
        } else {
            let _ = write!(self.cases, ">\n{body}    </testcase>\n");
        }
    }

    fn write(&self, out: &mut dyn Write) -> Result<()> {
        writeln!(
            out,
            "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{}\" errors=\"{}\" skipped=\"{}\">",
            esc(&self.name),
            self.tests,
            self.failures,
            self.errors,
            self.skipped
        )?;
        out.write_all(self.cases.as_bytes())?;
        writeln!(out, "  </testsuite>")?;
        Ok(())
    }
}

pub fn render(report: &Report, opts: &RenderOptions, out: &mut dyn Write) -> Result<()> {
    let gate = opts.gate;
    let mut apis = Suite {
        name: format!("upcheck: API versions at {}", super::targets_line(report)),
        ..Suite::default()
    };
    for e in &report.errors {
        apis.errors += 1;
        let body = format!(
            "      <error type=\"{}\" message=\"{}\"/>\n",
            esc(e.kind.as_str()),
            esc(&e.message)
        );
        apis.case(&e.path, "readable", &body);
    }
    for f in &report.findings {
        let object = f.object_ref();
        let name = if f.origin.is_none() {
            format!("{object} ({} line {})", f.api_version, f.location.line)
        } else {
            format!("{object} ({})", f.api_version)
        };
        let body = if exit::fails(f, gate) {
            apis.failures += 1;
            format!(
                "      <failure type=\"{}\" message=\"{}\">{}</failure>\n",
                f.code,
                esc(&f.message),
                esc(&format!(
                    "{}:{}: {}",
                    f.location.path, f.location.line, f.message
                ))
            )
        } else {
            format!("      <system-out>{}</system-out>\n", esc(&f.message))
        };
        apis.case(&f.location.path, &name, &body);
    }
    for s in &report.suppressed {
        apis.skipped += 1;
        let body = format!(
            "      <skipped message=\"{}\"/>\n",
            esc(&format!("{} suppressed by {}", s.code, s.by))
        );
        apis.case("suppressed", &s.subject, &body);
    }
    if apis.tests == 0 {
        apis.case("upcheck", "no deprecated or removed API versions", "");
    }

    let mut suites = vec![apis];
    if let Some(r) = &report.readiness {
        let mut ready = Suite {
            name: format!("upcheck: upgrade readiness {} to {}", r.current, r.target),
            ..Suite::default()
        };
        for f in &r.findings {
            let body = if exit::check_fails(f, gate) {
                ready.failures += 1;
                format!(
                    "      <failure type=\"{}\" message=\"{}\">{}</failure>\n",
                    f.code,
                    esc(&f.message),
                    esc(&format!(
                        "{} ({}): {}",
                        f.object,
                        f.severity.as_str(),
                        f.message
                    ))
                )
            } else {
                format!(
                    "      <system-out>{}</system-out>\n",
                    esc(&format!("{}: {}", f.severity.as_str(), f.message))
                )
            };
            ready.case(&f.code, &f.object, &body);
        }
        for n in &r.not_run {
            ready.skipped += 1;
            let body = format!("      <skipped message=\"{}\"/>\n", esc(&n.reason));
            ready.case(&n.code, "not run", &body);
        }
        if ready.tests == 0 {
            ready.case("upcheck", "no readiness findings", "");
        }
        suites.push(ready);
    }

    let total = |f: fn(&Suite) -> usize| suites.iter().map(f).sum::<usize>();
    writeln!(out, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>")?;
    writeln!(
        out,
        "<testsuites name=\"upcheck\" tests=\"{}\" failures=\"{}\" errors=\"{}\" skipped=\"{}\">",
        total(|s| s.tests),
        total(|s| s.failures),
        total(|s| s.errors),
        total(|s| s.skipped)
    )?;
    for s in &suites {
        s.write(out)?;
    }
    writeln!(
        out,
        "  <!-- {} -->",
        esc(&summary(report)).replace("--", "- -")
    )?;
    writeln!(out, "</testsuites>")?;
    Ok(())
}
