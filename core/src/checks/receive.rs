//! `config.receive.tls_certificate_name`: the certificate each server that receives mail from Exchange
//! Online serves (each Mailbox server without an Edge, each hybrid Edge, each address behind the public
//! name), against its receive connector's `TlsCertificateName`, with the `Set-ReceiveConnector` fix for that
//! server.
//!
//! The classic outage after a certificate renewal: the receive connector of one server of several still
//! names the old certificate. Exchange logs event 12014 on that server and stops offering STARTTLS there;
//! Exchange Online queues the mail it routes there (`451 5.7.3 STARTTLS is required to send mail`,
//! `450 4.4.101 Proxy session setup failed`, `4.7.320`). Probing only the first server hides it.

use crate::check::{Attachment, CheckDef, CheckResult, Place, Remediation, Status, Step};
use crate::checks::config::{same_x500, split_tls_certificate_name};
use crate::evidence::SmtpProbe;
use crate::profile::Profile;

const SET_RECEIVE: &str = "https://learn.microsoft.com/powershell/module/exchange/set-receiveconnector";
const NEW_CERT: &str = "https://learn.microsoft.com/troubleshoot/exchange/email-delivery/cannot-receive-mail-with-new-certificate";

/// `config.receive.tls_certificate_name`.
pub const RECEIVE_CERT: CheckDef = CheckDef {
    id: "config.receive.tls_certificate_name",
    title: "Each receiving server serves the certificate its receive connector names",
    why: "After a renewal the receive connector's TlsCertificateName often still names the old certificate on one \
          server of several: Exchange logs event 12014 and stops offering STARTTLS there, and Exchange Online queues \
          the mail it routes to that server (451 5.7.3 STARTTLS is required to send mail, 4.4.101, 4.7.320). Every \
          server that receives from Exchange Online must serve the certificate the connectors expect.",
    references: &[SET_RECEIVE, NEW_CERT],
};

/// Every definition of this module.
pub const DEFS: &[CheckDef] = &[RECEIVE_CERT];

/// What one receiving server showed of its certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReceiverTls {
    /// It was not probed (the diagnosis ran out of time).
    NotProbed,
    /// It could not be reached (see `tcp.smtp.reachable`).
    NotReached,
    /// It answered, but its SMTP dialogue ended before EHLO (see `smtp.*`).
    NoDialogue,
    /// An SMTP-inspecting device in front of it masks the dialogue: what the server offers is hidden
    /// (see `smtp.banner.masked`).
    Masked,
    /// It answered EHLO without offering STARTTLS.
    NoStartTls,
    /// STARTTLS was offered, but no certificate came (see `tls.*`).
    NoCertificate,
    /// It served a certificate with this issuer and subject.
    Served {
        /// The issuer, `CN=..., O=...`.
        issuer: String,
        /// The subject.
        subject: String,
    },
}

/// One server that receives from Exchange Online, and what it showed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceiverSeen {
    /// The server's name (`EX02`), or the address behind the public name.
    pub server: String,
    /// Its receive connector (`EX02\Default Frontend EX02`).
    pub connector: String,
    /// What was probed (`ex02.contoso.com:25`).
    pub target: String,
    /// The id of the probe's evidence.
    pub evidence_id: String,
    /// What it showed.
    pub observed: ReceiverTls,
}

/// What a probe showed of the certificate of a receiving server.
pub fn observed(probe: Option<&SmtpProbe>) -> ReceiverTls {
    let Some(probe) = probe else {
        return ReceiverTls::NotProbed;
    };
    if !probe.connect.is_connected() {
        return ReceiverTls::NotReached;
    }
    if probe.ehlo.as_ref().is_none_or(|r| r.code != 250) {
        return ReceiverTls::NoDialogue;
    }
    let masked = probe
        .banner
        .as_ref()
        .is_some_and(|b| crate::checks::smtp::is_masked(b.first()))
        || probe.extensions().iter().any(|x| x.starts_with("XXXX"));
    if masked {
        return ReceiverTls::Masked;
    }
    if !probe.extensions().iter().any(|x| x == "STARTTLS") {
        return ReceiverTls::NoStartTls;
    }
    let served = probe
        .tls
        .as_ref()
        .and_then(|tls| tls.chain.first())
        .and_then(|der| crate::cert::parse_certificate(der).ok());
    match served {
        Some(info) => ReceiverTls::Served {
            issuer: info.issuer,
            subject: info.subject,
        },
        None => ReceiverTls::NoCertificate,
    }
}

/// `config.receive.tls_certificate_name` of every receiving server: compared with the receive connector's
/// `TlsCertificateName` from the profile, or, when the profile does not give it, with what the other
/// servers serve.
pub fn receive_certificate_checks(
    profile: &Profile,
    receivers: &[ReceiverSeen],
    attachment: Attachment,
) -> Vec<CheckResult> {
    let configured = profile
        .connectors
        .receive
        .tls_certificate_name
        .as_deref()
        .and_then(split_tls_certificate_name);
    // The certificate most servers serve (the first such server's on a tie): the reference without a
    // configured name, and the value to put back where the connector lost it.
    let served: Vec<(&ReceiverSeen, &String, &String)> = receivers
        .iter()
        .filter_map(|r| match &r.observed {
            ReceiverTls::Served { issuer, subject } => Some((r, issuer, subject)),
            _ => None,
        })
        .collect();
    let majority = served
        .iter()
        .enumerate()
        .max_by_key(|(position, (_, i, s))| {
            let same = served
                .iter()
                .filter(|(_, i2, s2)| same_x500(i, i2) && same_x500(s, s2))
                .count();
            // The earlier server wins a tie.
            (same, std::cmp::Reverse(*position))
        })
        .map(|(_, (r, i, s))| (r.server.clone(), (*i).clone(), (*s).clone()));
    let reference = configured.clone().or_else(|| {
        majority
            .as_ref()
            .map(|(_, issuer, subject)| (issuer.clone(), subject.clone()))
    });
    receivers
        .iter()
        .map(|r| {
            one(r, configured.as_ref(), majority.as_ref(), reference.as_ref())
                .evidence(r.evidence_id.clone())
                .on(attachment.clone())
        })
        .collect()
}

fn one(
    r: &ReceiverSeen,
    configured: Option<&(String, String)>,
    majority: Option<&(String, String, String)>,
    reference: Option<&(String, String)>,
) -> CheckResult {
    let target = format!("{} ({})", r.connector, r.target);
    let set = |value: Option<&(String, String)>| match value {
        Some((issuer, subject)) => format!(
            "Set-ReceiveConnector \"{}\" -TlsCertificateName \"<I>{issuer}<S>{subject}\"",
            r.connector
        ),
        None => format!(
            "$c = Get-ExchangeCertificate -Server {} -Thumbprint <thumbprint of the certificate for SMTP>; \
             Set-ReceiveConnector \"{}\" -TlsCertificateName \"<I>$($c.Issuer)<S>$($c.Subject)\"",
            // A server known only by its address (behind the public name, not in the profile).
            if r.server.contains(' ') {
                "<SERVER>"
            } else {
                r.server.as_str()
            },
            r.connector
        ),
    };
    match &r.observed {
        ReceiverTls::NotProbed => CheckResult::new(&RECEIVE_CERT, Status::Skip, target, "not probed: the diagnosis ran out of time"),
        ReceiverTls::NotReached => CheckResult::new(&RECEIVE_CERT, Status::Skip, target, format!("{} was not reached (see tcp.smtp.reachable)", r.server)),
        ReceiverTls::NoDialogue => CheckResult::new(&RECEIVE_CERT, Status::Skip, target, format!("{} did not answer EHLO (see smtp.*)", r.server)),
        ReceiverTls::NoCertificate => CheckResult::new(&RECEIVE_CERT, Status::Skip, target, format!("{} sent no certificate to compare (see tls.*)", r.server)),
        ReceiverTls::Masked => CheckResult::new(&RECEIVE_CERT, Status::Skip, target, format!("an SMTP-inspecting device in front of {} hides what it offers (see smtp.banner.masked)", r.server)),
        ReceiverTls::NoStartTls => CheckResult::new(
            &RECEIVE_CERT,
            Status::Fail,
            target,
            format!("{} does not offer STARTTLS: its receive connector names a certificate it cannot use", r.server),
        )
        .detail(format!(
            "{} answers EHLO without STARTTLS. Exchange does that when the receive connector's TlsCertificateName names a certificate the server does not have (or that is not enabled for SMTP): it logs event 12014 (\"Microsoft Exchange could not find a certificate that contains the domain name\"). Exchange Online requires TLS to on-premises: the mail it routes to this server queues with 451 5.7.3 STARTTLS is required to send mail (450 4.4.101 Proxy session setup failed) while the other servers work.",
            r.server
        ))
        .remediation(Remediation::steps([
            Step::prose(format!(
                "On {}: enable the certificate the other servers use for SMTP (answer No to replacing the default SMTP certificate), name it on the receive connector, restart the transport:",
                r.server
            )),
            Step::command(Place::ExchangeShell, "Enable-ExchangeCertificate -Thumbprint <thumbprint> -Services SMTP"),
            Step::command(Place::ExchangeShell, set(reference)),
            Step::command(Place::ExchangeShell, "Restart-Service MSExchangeFrontEndTransport"),
            Step::confirm(Place::ExchangeShell, format!("Get-ReceiveConnector \"{}\" | Format-List Identity,TlsCertificateName", r.connector)),
        ])),
        ReceiverTls::Served { issuer, subject } => match (configured, majority) {
            (Some((ci, cs)), _) if same_x500(ci, issuer) && same_x500(cs, subject) => CheckResult::new(
                &RECEIVE_CERT,
                Status::Pass,
                target,
                format!("{} serves <I>{issuer}<S>{subject}, the certificate its receive connector names", r.server),
            ),
            (Some((ci, cs)), _) => CheckResult::new(
                &RECEIVE_CERT,
                Status::Fail,
                target,
                format!("{} serves <I>{issuer}<S>{subject}, but the receive connector names <I>{ci}<S>{cs}", r.server),
            )
            .detail("The certificate the connector names is not the one this server uses: it is missing on this server, not enabled for SMTP, or the connector still names a certificate that was replaced. Exchange Online validates what the server serves (4.7.320 certificate validation failed).")
            .remediation(Remediation::steps([
                Step::prose(format!(
                    "On {}: install the certificate the connector names (Import-ExchangeCertificate) and enable it for SMTP, then name it on the receive connector:",
                    r.server
                )),
                Step::command(Place::ExchangeShell, "Enable-ExchangeCertificate -Thumbprint <thumbprint> -Services SMTP"),
                Step::command(Place::ExchangeShell, set(configured)),
            ])),
            (None, Some((first, mi, ms))) if !(same_x500(mi, issuer) && same_x500(ms, subject)) => CheckResult::new(
                &RECEIVE_CERT,
                Status::Warn,
                target,
                format!("{} serves <I>{issuer}<S>{subject}, another certificate than {first} (<I>{mi}<S>{ms})", r.server),
            )
            .detail("The servers that receive from Exchange Online serve different certificates; the receive connectors' TlsCertificateName is not in the profile ([connectors.receive] tls_certificate_name), so mailpath cannot tell which one the connectors expect.")
            .remediation(Remediation::steps([
                Step::prose(format!("If {first}'s certificate is the current one:")),
                Step::command(Place::ExchangeShell, set(reference)),
            ])),
            (None, _) => CheckResult::new(
                &RECEIVE_CERT,
                Status::Info,
                target,
                format!("{} serves <I>{issuer}<S>{subject}; the receive connector's TlsCertificateName is not in the profile: not compared", r.server),
            )
            .detail("Copy it from Get-ReceiveConnector | fl Identity,TlsCertificateName into [connectors.receive] tls_certificate_name to have every receiving server compared with it."),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seen(server: &str, observed: ReceiverTls) -> ReceiverSeen {
        ReceiverSeen {
            server: server.into(),
            connector: format!("{server}\\Default Frontend {server}"),
            target: format!("{}.contoso.com:25", server.to_ascii_lowercase()),
            evidence_id: format!("smtp:{}.contoso.com:25", server.to_ascii_lowercase()),
            observed,
        }
    }

    fn served(issuer: &str, subject: &str) -> ReceiverTls {
        ReceiverTls::Served {
            issuer: issuer.into(),
            subject: subject.into(),
        }
    }

    fn profile(configured: Option<&str>) -> Profile {
        let mut p = Profile::from_toml_str(crate::profile::SAMPLE_DIRECT, "sample", None).unwrap();
        p.connectors.receive.tls_certificate_name = configured.map(str::to_string);
        p
    }

    fn statuses(results: &[CheckResult]) -> Vec<(String, Status)> {
        results
            .iter()
            .map(|r| {
                (
                    r.target.split(' ').next().unwrap_or_default().to_string(),
                    r.status,
                )
            })
            .collect()
    }

    const NEW: &str = "CN=GeoTrust TLS DV RSA Mixed SHA256 2020 CA-1, O=DigiCert Inc, C=US";

    #[test]
    fn the_server_without_starttls_is_named_with_its_own_fix() {
        let receivers = [
            seen("EX01", served(NEW, "CN=mail.contoso.com")),
            seen("EX02", ReceiverTls::NoStartTls),
        ];
        let r = receive_certificate_checks(&profile(None), &receivers, Attachment::None);
        assert_eq!(
            statuses(&r),
            [
                ("EX01\\Default".to_string(), Status::Info),
                ("EX02\\Default".to_string(), Status::Fail)
            ]
        );
        let ex02 = &r[1];
        assert!(ex02.summary.contains("EX02"), "{}", ex02.summary);
        assert!(ex02.detail.contains("12014"), "{}", ex02.detail);
        // The value to put back is what the healthy server serves.
        assert!(
            ex02.remediation.contains(&format!(
                "Set-ReceiveConnector \"EX02\\Default Frontend EX02\" -TlsCertificateName \"<I>{NEW}<S>CN=mail.contoso.com\""
            )),
            "{}",
            ex02.remediation
        );
    }

    #[test]
    fn each_server_is_compared_with_the_configured_name() {
        let configured = format!("<I>{NEW}<S>CN=mail.contoso.com");
        let receivers = [
            seen(
                "EX01",
                served(
                    "C=US, O=DigiCert Inc, CN=GeoTrust TLS DV RSA Mixed SHA256 2020 CA-1",
                    "CN=mail.contoso.com",
                ),
            ),
            seen("EX02", served("CN=Old CA", "CN=mail.contoso.com")),
            seen("EX03", ReceiverTls::NotReached),
        ];
        let r = receive_certificate_checks(&profile(Some(&configured)), &receivers, Attachment::None);
        assert_eq!(r[0].status, Status::Pass, "{:#?}", r[0]);
        assert_eq!(r[1].status, Status::Fail);
        assert!(
            r[1].summary.contains("EX02 serves <I>CN=Old CA"),
            "{}",
            r[1].summary
        );
        assert!(
            r[1].remediation
                .contains(&format!("-TlsCertificateName \"{configured}\"")),
            "{}",
            r[1].remediation
        );
        assert_eq!(r[2].status, Status::Skip);
    }

    #[test]
    fn without_a_configured_name_the_odd_server_is_a_warning() {
        let receivers = [
            seen("EX01", served(NEW, "CN=mail.contoso.com")),
            seen("EX02", served(NEW, "CN=mail.contoso.com")),
            seen("EX03", served("CN=EX03", "CN=EX03")),
        ];
        let r = receive_certificate_checks(&profile(None), &receivers, Attachment::None);
        assert_eq!(
            r.iter().map(|c| c.status).collect::<Vec<_>>(),
            [Status::Info, Status::Info, Status::Warn]
        );
        assert!(
            r[2].summary.contains("another certificate than EX01"),
            "{}",
            r[2].summary
        );
    }
}
