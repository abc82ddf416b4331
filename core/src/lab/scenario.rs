//! The lab's scenarios: a healthy deployment with or without Edge, and one switchable fault each.

use serde::Serialize;

use crate::cloud::Cloud;

/// What a scenario breaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Fault {
    /// Nothing: a healthy deployment.
    None,
    /// The Edge's certificate expired.
    ExpiredCert,
    /// The Edge's certificate is not valid yet.
    NotYetValid,
    /// The Edge's certificate lacks the FQDN the connectors expect.
    NameMismatch,
    /// The Edge serves a self-signed certificate.
    SelfSigned,
    /// The Edge sends only its leaf certificate, not the intermediate.
    MissingIntermediate,
    /// The Edge's certificate has an RSA 1024-bit key.
    WeakKey,
    /// The Edge's certificate is valid but expires in 10 days.
    ExpiringSoon,
    /// An SMTP-inspecting firewall in front of the Edge masks the banner and strips STARTTLS.
    StartTlsStripped,
    /// Port 25 of the Edge refuses connections.
    PortClosed,
    /// Port 25 of the Edge never completes a connection (dropped SYNs).
    PortFiltered,
    /// The Edge delays its greeting by 20 seconds, then behaves.
    Tarpit,
    /// The Edge only speaks TLS 1.0/1.1: a client that requires TLS 1.2+ gets a protocol_version alert.
    LegacyTls,
    /// The Edge speaks TLS 1.2 with CBC suites only (ECDHE-RSA with AES-CBC).
    CbcOnly,
    /// The Edge speaks TLS 1.2 with RSA key exchange only (AES-GCM without ECDHE).
    RsaKexOnly,
    /// The tenant routing domain's MX points somewhere that is not EOP.
    WrongMx,
    /// The accepted domain's SPF record lacks include:spf.protection.outlook.com.
    SpfMissingEop,
    /// EdgeSync's LDAPS port 50636 is closed while port 25 is open.
    EdgeSyncBlocked,
    /// The Edge's port 25 speaks non-SMTP bytes.
    GarbageServer,
    /// The Edge answers one byte per second.
    SlowDrip,
    /// The Edge's certificate was renewed but the TLSA record of its public name was not (DANE).
    DaneMismatch,
    /// The Edge's internal listener serves a new self-signed certificate, but the Edge subscription still
    /// publishes the old one (direct trust between the Mailbox servers and the Edge breaks).
    EdgeSubscriptionStale,
    /// One of two Mailbox servers receiving from Exchange Online has a receive connector whose
    /// TlsCertificateName names the certificate replaced at the last renewal: it offers no STARTTLS
    /// (event 12014), the other server is healthy.
    ReceiveCertStale,
    /// mailpath runs on the LAN: the DMZ firewall drops the workstation's connections to the Edge's internal
    /// SMTP and EdgeSync ports (only the Mailbox servers may reach them), and public DNS answers the public
    /// name with another address than internal DNS (split DNS). Nothing is broken.
    LanVantage,
    /// The accepted domain's MX points to a third-party mail gateway in front of Exchange Online, not to
    /// EOP.
    MxThirdParty,
    /// The accepted domain's MX points to the on-premises public endpoint: internet mail enters on-premises
    /// (a supported hybrid design, with Exchange Online behind it).
    MxOnPremises,
    /// The on-premises send connector relays cloud mail to a retired Office 365 smart host
    /// (mail.messaging.microsoft.com) instead of the tenant's endpoint: Exchange Online answers ATTR35.
    SmartHostLegacy,
}

/// One lab scenario.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Scenario {
    /// The name used on the command line (`mailpath lab NAME`).
    pub name: &'static str,
    /// One line on what it breaks.
    pub summary: &'static str,
    /// Whether the deployment has an Edge Transport server handling hybrid mail.
    pub edge: bool,
    /// The fault switched on.
    pub fault: Fault,
    /// The Microsoft 365 cloud the lab's tenant lives in (its EOP, routing domain and SPF names).
    pub cloud: Cloud,
    /// Whether the Exchange Online connectors name the on-premises certificate by a wildcard
    /// (TlsSenderCertificateName and TlsDomain `*.contoso.com`: the domain and all its subdomains), as the
    /// shipped `contoso-direct.toml` sample does; otherwise by the public host name.
    pub wildcard_connectors: bool,
}

/// The scenario used when none is named.
pub const DEFAULT_SCENARIO: &str = "healthy-edge";

/// Every scenario, healthy ones first.
pub const SCENARIOS: &[Scenario] = &[
    Scenario {
        name: "healthy-edge",
        summary: "nothing broken: Mailbox -> Edge -> EOP, certificates from the lab CA, all ports open",
        edge: true,
        fault: Fault::None,
        cloud: Cloud::Commercial,
        wildcard_connectors: false,
    },
    Scenario {
        name: "healthy-direct",
        summary: "nothing broken, no Edge: Mailbox servers talk to EOP directly",
        edge: false,
        fault: Fault::None,
        cloud: Cloud::Commercial,
        wildcard_connectors: false,
    },
    Scenario {
        name: "gcc-high",
        summary: "nothing broken, in Office 365 GCC High: EOP at mail.protection.office365.us, routing domain contoso.mail.onmicrosoft.us, SPF include:spf.protection.office365.us",
        edge: true,
        fault: Fault::None,
        cloud: Cloud::GccHigh,
        wildcard_connectors: false,
    },
    Scenario {
        name: "wildcard-connectors",
        summary: "nothing broken: the Exchange Online connectors expect *.contoso.com (TlsSenderCertificateName, TlsDomain), which the mail.contoso.com certificate satisfies",
        edge: false,
        fault: Fault::None,
        cloud: Cloud::Commercial,
        wildcard_connectors: true,
    },
    Scenario {
        name: "expired-cert",
        summary: "the Edge certificate expired 5 days ago",
        edge: true,
        fault: Fault::ExpiredCert,
        cloud: Cloud::Commercial,
        wildcard_connectors: false,
    },
    Scenario {
        name: "not-yet-valid",
        summary: "the Edge certificate only becomes valid in 3 days",
        edge: true,
        fault: Fault::NotYetValid,
        cloud: Cloud::Commercial,
        wildcard_connectors: false,
    },
    Scenario {
        name: "name-mismatch",
        summary: "the Edge certificate lacks mail.contoso.com, the FQDN the connectors expect",
        edge: true,
        fault: Fault::NameMismatch,
        cloud: Cloud::Commercial,
        wildcard_connectors: false,
    },
    Scenario {
        name: "self-signed",
        summary: "the Edge serves a self-signed certificate instead of one from a trusted CA",
        edge: true,
        fault: Fault::SelfSigned,
        cloud: Cloud::Commercial,
        wildcard_connectors: false,
    },
    Scenario {
        name: "missing-intermediate",
        summary: "the Edge sends only its leaf certificate, without the issuing CA",
        edge: true,
        fault: Fault::MissingIntermediate,
        cloud: Cloud::Commercial,
        wildcard_connectors: false,
    },
    Scenario {
        name: "weak-key",
        summary: "the Edge certificate has a 1024-bit RSA key",
        edge: true,
        fault: Fault::WeakKey,
        cloud: Cloud::Commercial,
        wildcard_connectors: false,
    },
    Scenario {
        name: "expiring-soon",
        summary: "the Edge certificate is valid but expires in 10 days",
        edge: true,
        fault: Fault::ExpiringSoon,
        cloud: Cloud::Commercial,
        wildcard_connectors: false,
    },
    Scenario {
        name: "starttls-stripped",
        summary: "an SMTP-inspecting firewall masks the Edge banner with asterisks and strips STARTTLS",
        edge: true,
        fault: Fault::StartTlsStripped,
        cloud: Cloud::Commercial,
        wildcard_connectors: false,
    },
    Scenario {
        name: "port-closed",
        summary: "port 25 of the Edge refuses connections",
        edge: true,
        fault: Fault::PortClosed,
        cloud: Cloud::Commercial,
        wildcard_connectors: false,
    },
    Scenario {
        name: "port-filtered",
        summary: "port 25 of the Edge never completes a connection (packets dropped)",
        edge: true,
        fault: Fault::PortFiltered,
        cloud: Cloud::Commercial,
        wildcard_connectors: false,
    },
    Scenario {
        name: "tarpit",
        summary: "the Edge delays its SMTP greeting by 20 seconds, then behaves normally",
        edge: true,
        fault: Fault::Tarpit,
        cloud: Cloud::Commercial,
        wildcard_connectors: false,
    },
    Scenario {
        name: "legacy-tls",
        summary: "the Edge only speaks TLS 1.0/1.1: a client that requires TLS 1.2+ gets a protocol_version alert",
        edge: true,
        fault: Fault::LegacyTls,
        cloud: Cloud::Commercial,
        wildcard_connectors: false,
    },
    Scenario {
        name: "cbc-only",
        summary: "the Edge speaks TLS 1.2 with CBC cipher suites only (ECDHE-RSA-AES256-SHA384, ...), which rustls does not implement",
        edge: true,
        fault: Fault::CbcOnly,
        cloud: Cloud::Commercial,
        wildcard_connectors: false,
    },
    Scenario {
        name: "rsa-kex-only",
        summary: "the Edge speaks TLS 1.2 with RSA key exchange only (AES256-GCM-SHA384, no ECDHE), as Windows Server 2012 R2 without its ECDHE suites",
        edge: true,
        fault: Fault::RsaKexOnly,
        cloud: Cloud::Commercial,
        wildcard_connectors: false,
    },
    Scenario {
        name: "wrong-mx",
        summary: "the MX of contoso.mail.onmicrosoft.com points to a legacy endpoint, not EOP",
        edge: true,
        fault: Fault::WrongMx,
        cloud: Cloud::Commercial,
        wildcard_connectors: false,
    },
    Scenario {
        name: "spf-missing-eop",
        summary: "the SPF record of contoso.com lacks include:spf.protection.outlook.com",
        edge: true,
        fault: Fault::SpfMissingEop,
        cloud: Cloud::Commercial,
        wildcard_connectors: false,
    },
    Scenario {
        name: "edgesync-blocked",
        summary: "EdgeSync's LDAPS port 50636 on the Edge is closed while port 25 is open",
        edge: true,
        fault: Fault::EdgeSyncBlocked,
        cloud: Cloud::Commercial,
        wildcard_connectors: false,
    },
    Scenario {
        name: "garbage-server",
        summary: "port 25 of the Edge answers with non-SMTP bytes",
        edge: true,
        fault: Fault::GarbageServer,
        cloud: Cloud::Commercial,
        wildcard_connectors: false,
    },
    Scenario {
        name: "slow-drip",
        summary: "the Edge answers one byte per second",
        edge: true,
        fault: Fault::SlowDrip,
        cloud: Cloud::Commercial,
        wildcard_connectors: false,
    },
    Scenario {
        name: "dane-mismatch",
        summary: "the Edge's certificate was renewed but the TLSA record of mail.contoso.com still names the old key",
        edge: true,
        fault: Fault::DaneMismatch,
        cloud: Cloud::Commercial,
        wildcard_connectors: false,
    },
    Scenario {
        name: "edge-subscription-stale",
        summary: "the Edge's internal listener serves a new self-signed certificate; the Edge subscription still publishes the old one",
        edge: true,
        fault: Fault::EdgeSubscriptionStale,
        cloud: Cloud::Commercial,
        wildcard_connectors: false,
    },
    Scenario {
        name: "receive-cert-stale",
        summary: "two Mailbox servers receive from EOP; ex02's receive connector names the replaced certificate and offers no STARTTLS",
        edge: false,
        fault: Fault::ReceiveCertStale,
        cloud: Cloud::Commercial,
        wildcard_connectors: false,
    },
    Scenario {
        name: "lan-vantage",
        summary: "mailpath runs on the LAN: the DMZ firewall drops it at the Edge's ports 25 and 50636, and public DNS differs (split DNS); nothing is broken",
        edge: true,
        fault: Fault::LanVantage,
        cloud: Cloud::Commercial,
        wildcard_connectors: false,
    },
    Scenario {
        name: "mx-third-party",
        summary: "the MX of contoso.com points to a third-party mail gateway, not to EOP",
        edge: true,
        fault: Fault::MxThirdParty,
        cloud: Cloud::Commercial,
        wildcard_connectors: false,
    },
    Scenario {
        name: "mx-on-premises",
        summary: "the MX of contoso.com points to the Edge (mail.contoso.com): internet mail enters on-premises",
        edge: true,
        fault: Fault::MxOnPremises,
        cloud: Cloud::Commercial,
        wildcard_connectors: false,
    },
    Scenario {
        name: "smart-host-legacy",
        summary: "the send connector relays to the retired smart host mail.messaging.microsoft.com (ATTR35)",
        edge: true,
        fault: Fault::SmartHostLegacy,
        cloud: Cloud::Commercial,
        wildcard_connectors: false,
    },
];

/// Look a scenario up by name.
pub fn scenario(name: &str) -> Option<&'static Scenario> {
    SCENARIOS.iter().find(|s| s.name == name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_kebab_case() {
        let mut names: Vec<_> = SCENARIOS.iter().map(|s| s.name).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), SCENARIOS.len());
        for n in names {
            assert!(n.chars().all(|c| c.is_ascii_lowercase() || c == '-'), "{n}");
        }
        assert!(scenario(DEFAULT_SCENARIO).is_some());
    }

    #[test]
    fn only_the_healthy_scenarios_have_no_fault() {
        let healthy: Vec<_> = SCENARIOS
            .iter()
            .filter(|s| s.fault == Fault::None)
            .map(|s| s.name)
            .collect();
        assert_eq!(
            healthy,
            [
                "healthy-edge",
                "healthy-direct",
                "gcc-high",
                "wildcard-connectors"
            ]
        );
    }
}
