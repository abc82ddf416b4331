//! Monitoring formats of a diagnosis: one Nagios/Icinga plugin line with performance data, and a
//! Prometheus text exposition for node_exporter's textfile collector.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use time::OffsetDateTime;

use crate::check::{Attachment, Status};
use crate::diagnose::Diagnosis;
use crate::verdict::Verdict;

/// Days before a certificate's expiry that Nagios calls a warning (as `tls.cert.expiry` warns).
const EXPIRY_WARN_DAYS: i64 = 30;

/// The leaf certificate each endpoint served: (evidence id, subject, SHA-256, not after).
fn leaf_certificates(d: &Diagnosis) -> Vec<(String, String, String, OffsetDateTime)> {
    let smtp = d.evidence.smtp.iter().map(|p| (&p.id, p.tls.as_ref()));
    let ports = d.evidence.tls_ports.iter().map(|p| (&p.id, p.tls.as_ref()));
    smtp.chain(ports)
        .filter_map(|(id, tls)| {
            let der = tls?.chain.first()?;
            let info = crate::cert::parse_certificate(der).ok()?;
            Some((
                id.clone(),
                info.subject,
                crate::verdict::sha256_hex(der),
                info.not_after,
            ))
        })
        .collect()
}

/// Whole days from the run to the soonest expiry of a certificate the endpoints served.
pub fn soonest_expiry_days(d: &Diagnosis) -> Option<i64> {
    leaf_certificates(d)
        .iter()
        .map(|(_, _, _, not_after)| (*not_after - d.started_at).whole_days())
        .min()
}

/// The slowest endpoint probe, in milliseconds.
pub fn slowest_probe_ms(d: &Diagnosis) -> Option<u64> {
    let smtp = d.evidence.smtp.iter().map(|p| p.ms);
    smtp.chain(d.evidence.tls_ports.iter().map(|p| p.ms)).max()
}

/// One Nagios/Icinga plugin line (status, the worst problems, then `|` and the performance data), ending in
/// a newline. The exit code goes with it: [`Verdict::exit_code`] is the plugin's OK/WARNING/CRITICAL/UNKNOWN.
pub fn nagios(d: &Diagnosis) -> String {
    let (verdict, reason) = Verdict::of(d);
    let state = match verdict {
        Verdict::Pass => "OK",
        Verdict::Warn => "WARNING",
        Verdict::Fail => "CRITICAL",
        Verdict::Incomplete => "UNKNOWN",
    };
    let c = d.counts;
    let mut text = format!(
        "MAILPATH {state} - {}: {} fail, {} warn, {} skip",
        one_line(&d.profile.name),
        c.fail,
        c.warn,
        c.skip
    );
    if let Some(reason) = reason {
        let _ = write!(text, "; {reason}");
    }
    let mut problems: Vec<_> = d.checks.iter().filter(|c| c.status >= Status::Warn).collect();
    problems.sort_by_key(|c| std::cmp::Reverse(c.status));
    let mut seen = std::collections::BTreeSet::new();
    let named: Vec<String> = problems
        .iter()
        .filter(|c| seen.insert((c.id.as_str(), c.target.as_str())))
        .take(3)
        .map(|c| {
            format!(
                "{} {} {}",
                c.status.as_str().to_uppercase(),
                c.id,
                one_line(&c.target)
            )
        })
        .collect();
    if !named.is_empty() {
        let _ = write!(text, "; {}", named.join("; "));
    }
    // Performance data: 'label'=value[UOM];[warn];[crit];[min];[max].
    let _ = write!(
        text,
        " | fail={};;;0 warn={};;;0 skip={};;;0 info={};;;0 pass={};;;0",
        c.fail, c.warn, c.skip, c.info, c.pass
    );
    if let Some(days) = soonest_expiry_days(d) {
        let _ = write!(text, " cert_days_left={days};{EXPIRY_WARN_DAYS};0");
    }
    if let Some(ms) = slowest_probe_ms(d) {
        let _ = write!(text, " slowest_hop={ms}ms;;;0");
    }
    let _ = write!(text, " duration={}ms;;;0", d.duration_ms);
    text.push('\n');
    text
}

/// Nagios output is one line, and `|` starts the performance data.
fn one_line(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_control() || c == '|' { ' ' } else { c })
        .collect()
}

/// A Prometheus label value, escaped (backslash, double quote, newline).
fn label(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c if c.is_control() => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

/// The numeric value of a status in `mailpath_check_status` (higher is worse).
pub fn status_value(status: Status) -> u8 {
    match status {
        Status::Pass => 0,
        Status::Info => 1,
        Status::Skip => 2,
        Status::Warn => 3,
        Status::Fail => 4,
    }
}

/// A Prometheus text exposition for node_exporter's textfile collector: the verdict, counts per status,
/// one status gauge per check (the worst, when a check reports the same target twice), the certificate
/// expiry timestamps and the probe durations, each labelled with the profile.
pub fn prometheus(d: &Diagnosis) -> String {
    let profile = label(&d.profile.name);
    let (verdict, _) = Verdict::of(d);
    let mut out = String::new();
    let section = |out: &mut String, name: &str, help: &str, lines: Vec<String>| {
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} gauge");
        for l in lines {
            out.push_str(&l);
            out.push('\n');
        }
    };
    section(
        &mut out,
        "mailpath_exit_code",
        "Exit code of the diagnosis: 0 pass, 1 warnings, 2 failures, 3 incomplete.",
        vec![format!(
            "mailpath_exit_code{{profile=\"{profile}\"}} {}",
            verdict.exit_code()
        )],
    );
    section(
        &mut out,
        "mailpath_last_run_timestamp_seconds",
        "When the diagnosis started (Unix time).",
        vec![format!(
            "mailpath_last_run_timestamp_seconds{{profile=\"{profile}\"}} {}",
            d.started_at.unix_timestamp()
        )],
    );
    section(
        &mut out,
        "mailpath_duration_seconds",
        "How long the diagnosis took.",
        vec![format!(
            "mailpath_duration_seconds{{profile=\"{profile}\"}} {:.3}",
            d.duration_ms as f64 / 1000.0
        )],
    );
    let c = d.counts;
    section(
        &mut out,
        "mailpath_checks",
        "Checks per status.",
        c.worst_first()
            .iter()
            .map(|(n, s)| {
                format!(
                    "mailpath_checks{{profile=\"{profile}\",status=\"{}\"}} {n}",
                    s.as_str()
                )
            })
            .collect(),
    );
    let mut worst: BTreeMap<(String, String, String), Status> = BTreeMap::new();
    for check in &d.checks {
        let at = match &check.attachment {
            Attachment::Node(id) | Attachment::Hop(id) => id.clone(),
            Attachment::None => String::new(),
        };
        let key = (check.id.clone(), check.target.clone(), at);
        let e = worst.entry(key).or_insert(check.status);
        *e = (*e).max(check.status);
    }
    section(
        &mut out,
        "mailpath_check_status",
        "Status of each check: 0 pass, 1 info, 2 skip, 3 warn, 4 fail.",
        worst
            .iter()
            .map(|((id, target, at), s)| {
                format!(
                    "mailpath_check_status{{profile=\"{profile}\",id=\"{}\",target=\"{}\",on=\"{}\"}} {}",
                    label(id),
                    label(target),
                    label(at),
                    status_value(*s)
                )
            })
            .collect(),
    );
    let mut certs: BTreeMap<(String, String, String), i64> = BTreeMap::new();
    for (id, subject, sha256, not_after) in leaf_certificates(d) {
        certs.insert((id, subject, sha256), not_after.unix_timestamp());
    }
    section(
        &mut out,
        "mailpath_certificate_expiry_timestamp_seconds",
        "When the certificate each endpoint served expires (Unix time).",
        certs
            .iter()
            .map(|((id, subject, sha256), t)| {
                format!(
                    "mailpath_certificate_expiry_timestamp_seconds{{profile=\"{profile}\",endpoint=\"{}\",subject=\"{}\",sha256=\"{}\"}} {t}",
                    label(id),
                    label(subject),
                    label(sha256)
                )
            })
            .collect(),
    );
    let smtp = d.evidence.smtp.iter().map(|p| (&p.id, p.ms));
    let probes: BTreeMap<&String, u64> = smtp
        .chain(d.evidence.tls_ports.iter().map(|p| (&p.id, p.ms)))
        .collect();
    section(
        &mut out,
        "mailpath_probe_duration_seconds",
        "How long each endpoint probe took.",
        probes
            .iter()
            .map(|(id, ms)| {
                format!(
                    "mailpath_probe_duration_seconds{{profile=\"{profile}\",endpoint=\"{}\"}} {:.3}",
                    label(id),
                    *ms as f64 / 1000.0
                )
            })
            .collect(),
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_are_escaped_and_nagios_text_stays_on_one_line() {
        assert_eq!(label("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
        assert_eq!(one_line("x|y\nz"), "x y z");
    }
}
