//! `tls.cert.eku` (and the relay's `relay.client-cert.eku`): what the extended key usage of a certificate
//! means for hybrid mail flow, now that public CAs stop putting clientAuth in TLS server certificates.
//!
//! The on-premises send connector to Exchange Online presents the same certificate as a TLS client (the
//! certificate-based inbound connector of Exchange Online identifies the organisation by its name).
//! Microsoft's certificate requirements for hybrid deployments name no extended key usage, and no Microsoft
//! statement says whether Exchange Online requires clientAuth on that client certificate: the check says
//! exactly that, warns before a certificate without clientAuth is put in use, and warns ahead of the renewal
//! of one that still has it.

use time::OffsetDateTime;

use crate::cert::{CertInfo, Usage};
use crate::check::{CheckDef, CheckResult, Place, Remediation, Status, Step};

/// Microsoft's certificate requirements for hybrid deployments (no EKU listed).
pub const CERT_REQ: &str = "https://learn.microsoft.com/exchange/certificate-requirements#certificate-requirements-for-hybrid-deployments";
/// The Chrome Root Program Policy: TLS server hierarchies dedicated to serverAuth.
pub const CHROME_ROOT_POLICY: &str = "https://googlechrome.github.io/chromerootprogram/";

/// Warn this many days before a certificate that still has clientAuth is due for renewal.
pub const RENEWAL_NOTICE_DAYS: i64 = 90;

/// What Microsoft states, in one place, so every message says the same.
pub const MICROSOFT_STATES: &str = "Microsoft's certificate requirements for hybrid deployments (learn.microsoft.com/exchange/certificate-requirements) \
     ask for a certificate from a trusted third-party CA carrying the names the connectors use, and name no extended key \
     usage; mailpath found no Microsoft statement that Exchange Online requires, or ignores, clientAuth on the certificate \
     your send connector presents to it.";

/// Why public certificates lose clientAuth.
pub const CA_CHANGE: &str = "Public CAs remove clientAuth from TLS server certificates: the Chrome Root Program Policy requires \
     TLS hierarchies dedicated to serverAuth (new subordinate CAs from 2026-06-15, every new server certificate from \
     2027-03-15), and most CAs stopped issuing clientAuth by default during 2026.";

fn has(info: &CertInfo, eku: &str) -> bool {
    !info.has_eku || info.eku.iter().any(|e| e == eku || e == "anyExtendedKeyUsage")
}

/// Try a new certificate on one of the servers that send to Exchange Online before it replaces the
/// current one everywhere, run at `shell`.
fn test_first(shell: Place) -> Vec<Step> {
    vec![
        Step::prose(
            "Before it replaces the current certificate on the servers that send to Exchange Online, try it on one: \
             bind it to SMTP on that server only:",
        ),
        Step::command(
            shell,
            "Enable-ExchangeCertificate -Thumbprint <new> -Services SMTP",
        ),
        Step::prose(
            "Send a message to a cloud mailbox, then look for a TLS failure (450 4.4.317 / 454 4.7.5) in the queues \
             and the message tracking log:",
        ),
        Step::confirm(shell, "Get-Queue | Format-List Identity,Status,LastError"),
        Step::confirm(
            shell,
            "Get-MessageTrackingLog -EventId SEND -Start (Get-Date).AddHours(-1) | Format-List \
             Timestamp,Recipients,RecipientStatus",
        ),
        Step::prose("Keep the previous certificate bound elsewhere until it works."),
    ]
}

/// `result` with the remediation `steps` gives for the Exchange Management Shell of the server it is on.
fn fix(result: CheckResult, steps: impl FnOnce(Place) -> Vec<Step>) -> CheckResult {
    let shell = crate::checks::smtp::server_shell(&result.attachment);
    result.remediation(Remediation::steps(steps(shell)))
}

/// The EKU verdict on `leaf`, used for `usage` (and, for a server certificate, also as a client towards
/// Exchange Online when `used_as_client`), at `now`.
pub fn eku_result(
    def: &CheckDef,
    leaf: &CertInfo,
    usage: Usage,
    used_as_client: bool,
    now: OffsetDateTime,
    mk: &dyn Fn(&CheckDef, Status, String) -> CheckResult,
) -> CheckResult {
    let server = has(leaf, "serverAuth");
    let client = has(leaf, "clientAuth");
    let usages = if leaf.has_eku {
        leaf.eku.join(", ")
    } else {
        "no EKU extension (any usage)".to_string()
    };
    if usage == Usage::Client && !client {
        return fix(
            mk(def, Status::Warn, format!("no clientAuth in the client certificate ({usages})")).detail(format!(
                "The receiving side may refuse a client certificate without clientAuth; whether Exchange Online does is not \
                 documented. {MICROSOFT_STATES} {CA_CHANGE}"
            )),
            test_first,
        );
    }
    if usage == Usage::Client {
        return mk(def, Status::Pass, usages);
    }
    if !server {
        return fix(
            mk(
                def,
                Status::Fail,
                format!("not valid for server authentication ({usages})"),
            )
            .detail(
                "Without serverAuth, TLS clients (Exchange Online sending to this server included) refuse the certificate \
                 (CERT_TRUST_IS_NOT_VALID_FOR_USAGE).",
            ),
            |shell| {
                let mut steps = vec![Step::prose(
                    "Request the certificate from a web-server/SSL template (EKU serverAuth):",
                )];
                steps.extend(crate::checks::chain::request_server_certificate(
                    shell,
                    leaf.common_name.as_deref(),
                    &leaf.dns_names,
                ));
                steps
            },
        );
    }
    if !used_as_client {
        return mk(def, Status::Pass, usages);
    }
    if !client {
        return fix(
            mk(
                def,
                Status::Warn,
                format!("no clientAuth ({usages}), and the send connector presents this certificate to Exchange Online as a client"),
            )
            .detail(format!("{MICROSOFT_STATES} {CA_CHANGE}")),
            test_first,
        );
    }
    let left = (leaf.not_after - now).whole_days();
    if leaf.has_eku && (0..=RENEWAL_NOTICE_DAYS).contains(&left) {
        let result = mk(
            def,
            Status::Warn,
            format!(
                "has clientAuth ({usages}), but its renewal is due in {} ({}): a renewed public certificate will not \
                 have it",
                crate::chain_rules::days_words(left),
                leaf.not_after.date()
            ),
        )
        .detail(format!("{CA_CHANGE} {MICROSOFT_STATES}"));
        return fix(result, |shell| {
            let mut steps = vec![
                Step::prose("Judge the renewed certificate before installing it:"),
                Step::confirm(Place::Workstation, "mailpath cert NEW.pfx --profile <profile>"),
            ];
            steps.extend(test_first(shell));
            steps
        });
    }
    mk(def, Status::Pass, usages)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ca::{LabCa, LeafSpec};

    fn now() -> OffsetDateTime {
        time::macros::datetime!(2026-11-28 12:00 UTC)
    }

    fn judge(info: &CertInfo, usage: Usage, as_client: bool, at: OffsetDateTime) -> CheckResult {
        let mk = |d: &CheckDef, s: Status, summary: String| CheckResult::new(d, s, "t", summary);
        eku_result(&crate::checks::cert::EKU, info, usage, as_client, at, &mk)
    }

    #[test]
    fn clientauth_is_judged_by_what_microsoft_states_and_warned_ahead_of_renewal() {
        let ca = LabCa::generate(now()).unwrap();
        let leaf = ca
            .issue(&LeafSpec::server("mail.contoso.com", ["mail.contoso.com"], now()))
            .unwrap();
        let mut info = crate::cert::parse_certificate(&leaf.leaf).unwrap();
        assert!(info.eku.iter().any(|e| e == "clientAuth"));
        assert_eq!(judge(&info, Usage::Server, true, now()).status, Status::Pass);
        // Renewal ahead: warned, with the date in words.
        let soon = info.not_after - time::Duration::days(30);
        let r = judge(&info, Usage::Server, true, soon);
        assert_eq!(r.status, Status::Warn);
        assert!(r.summary.contains("renewal is due in 30 days ("), "{}", r.summary);
        // A server-only certificate presented to EOP: a warning that says what Microsoft states, not a red.
        info.eku = vec!["serverAuth".into()];
        let r = judge(&info, Usage::Server, true, now());
        assert_eq!(r.status, Status::Warn);
        assert!(r.detail.contains("no Microsoft statement"), "{r:?}");
        assert!(
            r.references
                .iter()
                .any(|u| u.contains("certificate-requirements"))
        );
        assert!(r.references.iter().any(|u| u.contains("chromerootprogram")));
        assert_eq!(judge(&info, Usage::Server, false, now()).status, Status::Pass);
        info.eku = vec!["clientAuth".into()];
        assert_eq!(judge(&info, Usage::Server, true, now()).status, Status::Fail);
    }

    #[test]
    fn each_eku_fix_is_one_command_per_step_on_the_server_it_is_attached_to() {
        use crate::check::{Attachment, Place, StepKind};
        let ca = LabCa::generate(now()).unwrap();
        let leaf = ca
            .issue(&LeafSpec::server("mail.contoso.com", ["mail.contoso.com"], now()))
            .unwrap();
        let mut info = crate::cert::parse_certificate(&leaf.leaf).unwrap();
        let on_edge = |d: &CheckDef, s: Status, summary: String| {
            CheckResult::new(d, s, "t", summary).on(Attachment::Hop("eop-edge".into()))
        };
        let judge_on_edge = |info: &CertInfo, usage: Usage, at: OffsetDateTime| {
            eku_result(
                &crate::checks::cert::EKU,
                info,
                usage,
                usage == Usage::Server,
                at,
                &on_edge,
            )
        };
        let mut fixes = vec![judge_on_edge(
            &info,
            Usage::Server,
            info.not_after - time::Duration::days(30),
        )];
        info.eku = vec!["serverAuth".into()];
        fixes.push(judge_on_edge(&info, Usage::Server, now()));
        fixes.push(judge_on_edge(&info, Usage::Client, now()));
        info.eku = vec!["clientAuth".into()];
        fixes.push(judge_on_edge(&info, Usage::Server, now()));
        for r in &fixes {
            assert_ne!(r.status, Status::Pass, "{r:#?}");
            assert!(
                r.remediation.steps.iter().any(|s| s.kind == StepKind::Command),
                "{}",
                r.remediation
            );
            for step in &r.remediation.steps {
                if step.is_command() && step.text.contains("ExchangeCertificate") {
                    assert_eq!(step.place, Some(Place::EdgeShell), "{}", step.text);
                }
                if step.is_command() {
                    assert!(!step.text.contains(" and "), "{}", step.text);
                } else {
                    assert!(!step.text.contains("-ExchangeCertificate"), "{}", step.text);
                }
            }
        }
        // A certificate without serverAuth is requested again for the names it has.
        assert!(
            fixes[3]
                .remediation
                .contains("-SubjectName \"CN=mail.contoso.com\" -DomainName mail.contoso.com"),
            "{}",
            fixes[3].remediation
        );
    }
}
