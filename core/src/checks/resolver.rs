//! `dns.resolver`: does each DNS server the diagnosis asks answer at all? And the `dns.host.resolves`
//! verdict on one host's A/AAAA answers, shared by `probe` so that a name that does not exist fails the
//! same way there as in `diagnose`.

use std::net::IpAddr;

use crate::check::{Attachment, CheckDef, CheckResult, Place, Remediation, Status, Step};
use crate::dns::{DnsAnswer, DnsOutcome};

const RFC1035: &str = "https://www.rfc-editor.org/rfc/rfc1035";

/// `dns.resolver`.
pub const RESOLVER: CheckDef = CheckDef {
    id: "dns.resolver",
    title: "DNS server answers",
    why: "Every DNS check and every probe's address comes from these servers: one that does not answer \
          turns them all into skips, and a transport server configured with it defers mail (4.4.3).",
    references: &[RFC1035],
};

/// The checks of this module.
pub const DEFS: &[CheckDef] = &[RESOLVER];

/// Whether an answer shows that its server answered (any RCODE a server sends, NXDOMAIN included).
pub fn answered(answer: &DnsAnswer) -> bool {
    !matches!(answer.outcome, DnsOutcome::Timeout | DnsOutcome::Error(_))
}

/// One `dns.resolver` result per server asked on its own (`answers`: one query each, from
/// [`crate::evidence::Evidence::resolvers`]).
pub fn resolver_checks(answers: &[DnsAnswer], attachment: &Attachment) -> Vec<CheckResult> {
    answers
        .iter()
        .map(|a| {
            let query = format!("{} {}", a.name, a.rtype.as_str());
            let r = if answered(a) {
                CheckResult::new(
                    &RESOLVER,
                    Status::Pass,
                    &a.server,
                    format!("answered ({query}: {}) in {} ms", a.outcome.kind(), a.elapsed_ms),
                )
            } else {
                let what = match &a.outcome {
                    DnsOutcome::Timeout => format!("no answer in {} ms", a.elapsed_ms),
                    other => other.to_string(),
                };
                CheckResult::new(
                    &RESOLVER,
                    Status::Fail,
                    &a.server,
                    format!("the DNS server {} did not answer: {what}", a.server),
                )
                .detail(format!(
                    "Asked {query} of {} alone. The lookups that depend on it could not be made, so the checks \
                     on what it should have answered are skipped, not passed.",
                    a.server
                ))
                .remediation(resolver_fix(a))
            };
            r.evidence(format!("dns:{}/{}", a.name, a.rtype.as_str()))
                .on(attachment.clone())
        })
        .collect()
}

/// What to do about a server that does not answer: make it answer (it runs, the firewall lets DNS through),
/// confirm with one query, or ask another.
fn resolver_fix(a: &DnsAnswer) -> Remediation {
    let server = a.server.as_str();
    let (ip, port) = match server.parse::<std::net::SocketAddr>() {
        Ok(addr) => (addr.ip().to_string(), addr.port()),
        Err(_) => (server.to_string(), 53),
    };
    let confirm = if port == 53 {
        Step::confirm(
            Place::Workstation,
            format!("Resolve-DnsName -Name {} -Type SOA -Server {ip} -DnsOnly", a.name),
        )
    } else {
        Step::confirm(Place::Workstation, format!("dig @{ip} -p {port} {} SOA", a.name))
    };
    Remediation::steps([
        Step::prose(format!(
            "Start the DNS service at {server}, or let UDP and TCP port {port} through to it on the firewall."
        ))
        .at(Place::Firewall),
        confirm,
        Step::prose(
            "Or ask a server that answers: --dns IP:PORT on the command line, or [resolvers] internal in the profile.",
        ),
    ])
}

/// The `dns.host.resolves` verdict on `host` from its A and AAAA answers, worded as the diagnosis words it:
/// pass with the addresses, fail when the name does not exist or has no address, skip when the lookup
/// itself failed (the server did not answer: that is `dns.resolver`'s finding).
pub fn host_resolution(host: &str, a: &DnsAnswer, aaaa: &DnsAnswer) -> CheckResult {
    let ips: Vec<IpAddr> = a.ips().into_iter().chain(aaaa.ips()).collect();
    let r = if !ips.is_empty() {
        let list: Vec<String> = ips.iter().map(ToString::to_string).collect();
        CheckResult::new(
            &super::dns::HOST,
            Status::Pass,
            host,
            format!("resolves to {}", list.join(", ")),
        )
    } else if !answered(a) {
        CheckResult::new(
            &super::dns::HOST,
            Status::Skip,
            host,
            format!("lookup failed: {}", a.outcome),
        )
    } else {
        CheckResult::new(
            &super::dns::HOST,
            Status::Fail,
            host,
            format!("does not resolve ({})", a.outcome),
        )
        .remediation(super::dns::a_record_fix(host))
    };
    r.evidence(format!("dns:{host}/A"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dns::RecordType;

    fn answer(server: &str, outcome: DnsOutcome) -> DnsAnswer {
        DnsAnswer {
            name: "contoso.mail.onmicrosoft.com".into(),
            rtype: RecordType::Soa,
            server: server.into(),
            outcome,
            elapsed_ms: 5000,
        }
    }

    #[test]
    fn a_silent_server_fails_naming_it_and_a_negative_answer_is_an_answer() {
        let checks = resolver_checks(
            &[
                answer("127.0.0.1:1", DnsOutcome::Timeout),
                answer("127.0.0.1:53", DnsOutcome::NxDomain),
            ],
            &Attachment::Node("mailbox".into()),
        );
        assert_eq!(checks[0].status, Status::Fail);
        assert!(checks[0].summary.contains("127.0.0.1:1"), "{}", checks[0].summary);
        assert_eq!(checks[0].target, "127.0.0.1:1");
        assert_eq!(checks[1].status, Status::Pass);
    }

    #[test]
    fn nxdomain_fails_the_host_and_a_timeout_skips_it() {
        let mut a = answer("s", DnsOutcome::NxDomain);
        a.rtype = RecordType::A;
        let mut aaaa = a.clone();
        aaaa.rtype = RecordType::Aaaa;
        let c = host_resolution("nope.contoso.com", &a, &aaaa);
        assert_eq!((c.id.as_str(), c.status), ("dns.host.resolves", Status::Fail));
        a.outcome = DnsOutcome::Timeout;
        assert_eq!(
            host_resolution("nope.contoso.com", &a, &aaaa).status,
            Status::Skip
        );
    }
}
