//! `config.*` checks: the connector settings of the profile against what the Hybrid Configuration
//! Wizard sets, and against the certificates the endpoints really serve.

use crate::check::{Attachment, CheckDef, CheckResult, Place, Remediation, Status, Step};
use crate::profile::{Profile, TlsAuthLevel};
use crate::topology::Topology;

const SET_SEND: &str = "https://learn.microsoft.com/powershell/module/exchange/set-sendconnector";
const SET_RECEIVE: &str = "https://learn.microsoft.com/powershell/module/exchange/set-receiveconnector";
const SET_INBOUND: &str = "https://learn.microsoft.com/powershell/module/exchange/set-inboundconnector";
const SET_OUTBOUND: &str = "https://learn.microsoft.com/powershell/module/exchange/set-outboundconnector";
const HCW: &str = "https://learn.microsoft.com/exchange/hybrid-configuration-wizard";

/// `config.send.tls_domain`.
pub const SEND_TLS_DOMAIN: CheckDef = CheckDef {
    id: "config.send.tls_domain",
    title: "Send connector verifies EOP's certificate name",
    why: "The HCW sets TlsDomain mail.protection.outlook.com with DomainValidation on 'Outbound to Office 365'; \
          a different TlsDomain makes every TLS session to EOP fail validation and mail queues.",
    references: &[SET_SEND, HCW],
};
/// Set the hybrid send connector (organization-wide: once, from any Mailbox server), then read back `fields`.
fn send_connector_fix(command: &str, fields: &str) -> Remediation {
    Remediation::steps([
        Step::command(Place::MailboxShell, command),
        Step::confirm(
            Place::MailboxShell,
            format!("Get-SendConnector \"{SEND_NAME} - <guid>\" | Format-List {fields}"),
        ),
    ])
}

/// `config.send.tls_auth_level`.
pub const SEND_TLS_AUTH: CheckDef = CheckDef {
    id: "config.send.tls_auth_level",
    title: "Send connector uses DomainValidation",
    why: "DomainValidation is what lets EOP attribute the mail to the organisation (XOORG, client certificate); \
          weaker levels still deliver but mail may be treated as external.",
    references: &[SET_SEND],
};
/// `config.send.cloud_services_mail`.
pub const SEND_CLOUD: CheckDef = CheckDef {
    id: "config.send.cloud_services_mail",
    title: "Send connector keeps cross-premises headers",
    why: "With CloudServicesMailEnabled False the X-MS-Exchange-Organization-* headers are stripped \
          (X-CrossPremisesHeadersFilteredBySendConnector): mail arrives in Exchange Online as external.",
    references: &[
        SET_SEND,
        "https://learn.microsoft.com/exchange/troubleshoot/email-delivery/cross-premises-headers",
    ],
};
/// `config.send.tls_certificate_name`.
pub const SEND_CERT_NAME: CheckDef = CheckDef {
    id: "config.send.tls_certificate_name",
    title: "Send connector's TlsCertificateName matches the served certificate",
    why: "After a renewal the connector still names the old certificate: 454 4.7.5 The certificate specified in \
          TlsCertificateName of the SendConnector could not be found.",
    references: &[SET_SEND],
};
/// `config.receive.capabilities`.
pub const RECEIVE_CAPS: CheckDef = CheckDef {
    id: "config.receive.capabilities",
    title: "Receive connector trusts EOP for cross-premises mail",
    why: "TlsDomainCapabilities mail.protection.outlook.com:AcceptCloudServicesMail is what makes mail from \
          Exchange Online arrive as internal (AcceptOorgProtocol on Exchange 2010).",
    references: &[SET_RECEIVE],
};
/// `config.exo_inbound.certificate_domain`.
pub const INBOUND_CERT_DOMAIN: CheckDef = CheckDef {
    id: "config.exo_inbound.certificate_domain",
    title: "Inbound connector's certificate name is an accepted domain",
    why: "Exchange Online attributes on-premises mail to the tenant by the certificate domain, which must be a \
          verified accepted domain; otherwise 550 5.7.64 TenantAttribution; Relay Access Denied ATTR36.",
    references: &[SET_INBOUND],
};
/// `config.exo_outbound.tls`.
pub const OUTBOUND_TLS: CheckDef = CheckDef {
    id: "config.exo_outbound.tls",
    title: "EXO outbound connector validates the on-premises certificate",
    why: "The HCW sets TlsSettings DomainValidation and TlsDomain to the on-premises FQDN; without them, \
          Exchange Online sends to whatever answers.",
    references: &[SET_OUTBOUND],
};
/// `config.exo_outbound.smart_hosts`.
pub const OUTBOUND_SMART_HOSTS: CheckDef = CheckDef {
    id: "config.exo_outbound.smart_hosts",
    title: "EXO outbound connector routes to the on-premises hybrid endpoint",
    why: "Exchange Online delivers on-premises mail to the smart hosts of 'Outbound to <guid>'; they must be the \
          hybrid Edge or Mailbox servers' public names.",
    references: &[SET_OUTBOUND],
};

/// Every definition of this module.
pub const DEFS: &[CheckDef] = &[
    SEND_TLS_DOMAIN,
    SEND_TLS_AUTH,
    SEND_CLOUD,
    SEND_CERT_NAME,
    RECEIVE_CAPS,
    INBOUND_CERT_DOMAIN,
    OUTBOUND_TLS,
    OUTBOUND_SMART_HOSTS,
];

/// What the public endpoint served (the rest comes from the profile and its topology).
#[derive(Debug, Clone)]
pub struct ConfigContext {
    /// Issuer and subject (as `CN=..., O=...`) of the certificate the public endpoint served, when known.
    pub served_certificate: Option<(String, String)>,
}

/// What every `config.*` check reads.
struct Config<'a> {
    profile: &'a Profile,
    topology: Topology,
    ctx: &'a ConfigContext,
}

impl Config<'_> {
    /// The hop into EOP (send connector, EXO inbound connector).
    fn hop_to_eop(&self) -> Attachment {
        Attachment::Hop(self.topology.hop_to_eop.into())
    }

    /// The hop from EOP (receive connector, EXO outbound connector).
    fn hop_from_eop(&self) -> Attachment {
        Attachment::Hop(self.topology.hop_from_eop.into())
    }
}

/// The send connector's name, as the HCW creates it (`Outbound to Office 365 - <guid>`).
const SEND_NAME: &str = "Outbound to Office 365";

/// The `config.*` checks, one a setting, in the order of [`DEFS`].
const CHECKS: &[fn(&Config<'_>) -> CheckResult] = &[
    send_tls_domain,
    send_tls_auth,
    send_cloud_services_mail,
    send_tls_certificate_name,
    receive_capabilities,
    inbound_certificate_domain,
    outbound_tls,
    outbound_smart_hosts,
];

/// The `config.*` checks.
pub fn config_checks(profile: &Profile, ctx: &ConfigContext) -> Vec<CheckResult> {
    let c = Config {
        profile,
        topology: Topology::of(profile),
        ctx,
    };
    CHECKS.iter().map(|check| check(&c)).collect()
}

/// `config.send.tls_domain`.
fn send_tls_domain(c: &Config<'_>) -> CheckResult {
    let send_name = SEND_NAME;
    let send = &c.profile.connectors.send;
    let td = send.tls_domain.to_ascii_lowercase();
    if td == "mail.protection.outlook.com" || td.ends_with(".outlook.com") {
        CheckResult::new(&SEND_TLS_DOMAIN, Status::Pass, send_name, format!("TlsDomain {td}"))
    } else {
        CheckResult::new(&SEND_TLS_DOMAIN, Status::Fail, send_name, format!("TlsDomain is {td:?}, not mail.protection.outlook.com"))
            .remediation(send_connector_fix(
                &format!("Set-SendConnector \"{send_name} - <guid>\" -TlsDomain mail.protection.outlook.com -TlsAuthLevel DomainValidation"),
                "TlsDomain,TlsAuthLevel",
            ))
    }.on(c.hop_to_eop())
}

/// `config.send.tls_auth_level`.
fn send_tls_auth(c: &Config<'_>) -> CheckResult {
    let send_name = SEND_NAME;
    let send = &c.profile.connectors.send;
    if send.tls_auth_level == TlsAuthLevel::DomainValidation {
        CheckResult::new(&SEND_TLS_AUTH, Status::Pass, send_name, "TlsAuthLevel DomainValidation")
    } else {
        CheckResult::new(&SEND_TLS_AUTH, Status::Warn, send_name, format!("TlsAuthLevel {}, the HCW sets DomainValidation", send.tls_auth_level))
            .remediation(send_connector_fix(
                &format!("Set-SendConnector \"{send_name} - <guid>\" -TlsAuthLevel DomainValidation -TlsDomain mail.protection.outlook.com"),
                "TlsAuthLevel,TlsDomain",
            ))
    }.on(c.hop_to_eop())
}

/// `config.send.cloud_services_mail`.
fn send_cloud_services_mail(c: &Config<'_>) -> CheckResult {
    let send_name = SEND_NAME;
    let send = &c.profile.connectors.send;
    if send.cloud_services_mail_enabled {
        CheckResult::new(
            &SEND_CLOUD,
            Status::Pass,
            send_name,
            "CloudServicesMailEnabled True",
        )
    } else {
        CheckResult::new(
            &SEND_CLOUD,
            Status::Fail,
            send_name,
            "CloudServicesMailEnabled False: cross-premises headers are stripped, mail arrives as external",
        )
        .remediation(send_connector_fix(
            &format!("Set-SendConnector \"{send_name} - <guid>\" -CloudServicesMailEnabled $true"),
            "CloudServicesMailEnabled",
        ))
    }
    .on(c.hop_to_eop())
}

/// `config.send.tls_certificate_name`.
fn send_tls_certificate_name(c: &Config<'_>) -> CheckResult {
    let send_name = SEND_NAME;
    let send = &c.profile.connectors.send;
    match (&send.tls_certificate_name, &c.ctx.served_certificate) {
        (None, _) => CheckResult::new(&SEND_CERT_NAME, Status::Info, send_name, "TlsCertificateName not given in the profile: not compared")
            .detail("Copy it from Get-SendConnector \"Outbound to Office 365*\" | fl TlsCertificateName to let mailpath compare it with the served certificate."),
        (Some(_), None) => CheckResult::new(&SEND_CERT_NAME, Status::Skip, send_name, "no certificate was received from the public endpoint to compare with"),
        (Some(configured), Some((issuer, subject))) => match split_tls_certificate_name(configured) {
            Some((ci, cs)) if same_x500(&ci, issuer) && same_x500(&cs, subject) => {
                CheckResult::new(&SEND_CERT_NAME, Status::Pass, send_name, format!("matches the served certificate ({subject})"))
            }
            Some((ci, cs)) => CheckResult::new(&SEND_CERT_NAME, Status::Fail, send_name, format!("names <I>{ci}<S>{cs}, but the endpoint serves <I>{issuer}<S>{subject}"))
                .detail("After a certificate renewal the connector keeps naming the old certificate; the transport service then fails with 454 4.7.5.")
                .remediation(Remediation::steps([
                    Step::prose("Point the connector at the certificate the endpoint serves (one session: the first line reads it, the second sets it):"),
                    Step::command(Place::MailboxShell, "$c = Get-ExchangeCertificate -Server <server> -Thumbprint <new thumbprint>"),
                    Step::command(Place::MailboxShell, format!("Set-SendConnector \"{send_name} - <guid>\" -TlsCertificateName \"<I>$($c.Issuer)<S>$($c.Subject)\"")),
                    Step::confirm(Place::MailboxShell, format!("Get-SendConnector \"{send_name} - <guid>\" | Format-List TlsCertificateName")),
                    Step::prose("Then rerun the Hybrid Configuration Wizard."),
                ])),
            None => CheckResult::new(&SEND_CERT_NAME, Status::Fail, send_name, format!("{configured:?} is not in <I>issuer<S>subject form")),
        },
    }.on(c.hop_to_eop())
}

/// `config.receive.capabilities`.
fn receive_capabilities(c: &Config<'_>) -> CheckResult {
    let profile = c.profile;
    let caps = profile
        .connectors
        .receive
        .tls_domain_capabilities
        .to_ascii_lowercase();
    if caps.contains("mail.protection.outlook.com:") && (caps.contains("acceptcloudservicesmail") || caps.contains("acceptoorgprotocol")) {
        CheckResult::new(&RECEIVE_CAPS, Status::Pass, "receive connector", profile.connectors.receive.tls_domain_capabilities.clone())
    } else {
        CheckResult::new(&RECEIVE_CAPS, Status::Fail, "receive connector", format!("TlsDomainCapabilities is {:?}: mail from Exchange Online arrives as external", profile.connectors.receive.tls_domain_capabilities))
            .remediation(if c.topology.uses_edge() {
                Remediation::steps([
                    Step::command(Place::EdgeShell, "Set-ReceiveConnector \"<EDGE>\\Default internal Receive connector <EDGE>\" -TlsDomainCapabilities mail.protection.outlook.com:AcceptCloudServicesMail"),
                    Step::confirm(Place::EdgeShell, "Get-ReceiveConnector | Format-List Name,TlsDomainCapabilities"),
                ])
            } else {
                Remediation::steps([
                    Step::command(Place::MailboxShell, "Set-ReceiveConnector \"<SERVER>\\Default Frontend <SERVER>\" -TlsDomainCapabilities mail.protection.outlook.com:AcceptCloudServicesMail"),
                    Step::confirm(Place::MailboxShell, "Get-ReceiveConnector | Format-List Name,TlsDomainCapabilities"),
                ])
            })
    }.on(c.hop_from_eop())
}

/// `config.exo_inbound.certificate_domain`.
fn inbound_certificate_domain(c: &Config<'_>) -> CheckResult {
    let profile = c.profile;
    match &profile.connectors.exo_inbound.tls_sender_certificate_name {
        None => CheckResult::new(&INBOUND_CERT_DOMAIN, Status::Info, "Inbound from <guid>", "TlsSenderCertificateName not given in the profile: not compared"),
        Some(name) => {
            let domain = name.trim_start_matches("*.").to_ascii_lowercase();
            let accepted = profile.tenant.accepted_domains.iter().any(|d| {
                let d = d.to_ascii_lowercase();
                domain == d || domain.ends_with(&format!(".{d}"))
            });
            if accepted {
                CheckResult::new(&INBOUND_CERT_DOMAIN, Status::Pass, "Inbound from <guid>", format!("{name} is in an accepted domain"))
            } else {
                CheckResult::new(&INBOUND_CERT_DOMAIN, Status::Fail, "Inbound from <guid>", format!("{name} is not in any accepted domain ({})", profile.tenant.accepted_domains.join(", ")))
                    .remediation(Remediation::steps([
                        Step::prose("Use a certificate whose name is in a verified accepted domain, and name it on the inbound connector (or rerun the Hybrid Configuration Wizard):"),
                        Step::command(Place::ExchangeOnline, "Set-InboundConnector \"Inbound from <guid>\" -TlsSenderCertificateName <name>"),
                        Step::confirm(Place::ExchangeOnline, "Get-InboundConnector | Format-List Name,TlsSenderCertificateName"),
                    ]))
            }
        }
    }.on(c.hop_to_eop())
}

/// `config.exo_outbound.tls`.
fn outbound_tls(c: &Config<'_>) -> CheckResult {
    let profile = c.profile;
    let out_conn = &profile.connectors.exo_outbound;
    match (&out_conn.tls_domain, out_conn.tls_settings) {
        (Some(d), TlsAuthLevel::DomainValidation) => CheckResult::new(&OUTBOUND_TLS, Status::Pass, "Outbound to <guid>", format!("TlsSettings DomainValidation, TlsDomain {d}")),
        (None, TlsAuthLevel::DomainValidation) => CheckResult::new(&OUTBOUND_TLS, Status::Info, "Outbound to <guid>", "TlsDomain not given in the profile: names are checked against the public host names"),
        (_, level) => CheckResult::new(&OUTBOUND_TLS, Status::Warn, "Outbound to <guid>", format!("TlsSettings {level}, the HCW sets DomainValidation"))
            .remediation(Remediation::steps([
                Step::command(Place::ExchangeOnline, "Set-OutboundConnector \"Outbound to <guid>\" -TlsSettings DomainValidation -TlsDomain <on-premises FQDN>"),
                Step::confirm(Place::ExchangeOnline, "Get-OutboundConnector | Format-List Name,TlsSettings,TlsDomain"),
            ])),
    }.on(c.hop_from_eop())
}

/// `config.exo_outbound.smart_hosts`.
fn outbound_smart_hosts(c: &Config<'_>) -> CheckResult {
    let out_conn = &c.profile.connectors.exo_outbound;
    if out_conn.smart_hosts.is_empty() {
        CheckResult::new(&OUTBOUND_SMART_HOSTS, Status::Info, "Outbound to <guid>", "smart hosts not given in the profile: the public host names are probed instead")
    } else {
        let unknown: Vec<&String> = out_conn
            .smart_hosts
            .iter()
            .filter(|h| !c.topology.public_names.iter().any(|p| p.eq_ignore_ascii_case(h)))
            .collect();
        if unknown.is_empty() {
            CheckResult::new(&OUTBOUND_SMART_HOSTS, Status::Pass, "Outbound to <guid>", format!("smart hosts {}", out_conn.smart_hosts.join(", ")))
        } else {
            CheckResult::new(&OUTBOUND_SMART_HOSTS, Status::Warn, "Outbound to <guid>", format!("smart host(s) {} are not the hybrid servers' public names ({})", unknown.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", "), c.topology.public_names.join(", ")))
                .remediation(Remediation::steps([
                    Step::prose("Name the hybrid servers' public FQDNs as smart hosts (or rerun the Hybrid Configuration Wizard):"),
                    Step::command(Place::ExchangeOnline, format!("Set-OutboundConnector \"Outbound to <guid>\" -SmartHosts {}", c.topology.public_names.join(","))),
                    Step::confirm(Place::ExchangeOnline, "Get-OutboundConnector | Format-List Name,SmartHosts"),
                ]))
        }
    }.on(c.hop_from_eop())
}

/// Split `<I>issuer<S>subject`.
pub fn split_tls_certificate_name(value: &str) -> Option<(String, String)> {
    let rest = value.trim().strip_prefix("<I>")?;
    let (issuer, subject) = rest.split_once("<S>")?;
    Some((issuer.trim().to_string(), subject.trim().to_string()))
}

/// Whether two X.500 names are the same set of attributes, whatever their order and spacing
/// (Windows prints `CN=a, O=b, C=US`; RFC 4514 prints `C=US,O=b,CN=a`).
pub fn same_x500(a: &str, b: &str) -> bool {
    fn parts(s: &str) -> Vec<String> {
        let mut v: Vec<String> = s
            .split([',', '+'])
            .map(|p| p.trim().to_ascii_lowercase().replace(" = ", "="))
            .filter(|p| !p.is_empty())
            .collect();
        v.sort();
        v
    }
    parts(a) == parts(b)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx() -> ConfigContext {
        ConfigContext {
            served_certificate: Some(("CN=Issuing CA 1, O=Contoso".into(), "CN=mail.contoso.com".into())),
        }
    }

    fn profile() -> Profile {
        Profile::from_toml_str(crate::profile::SAMPLE_EDGE, "sample", None).unwrap()
    }

    #[test]
    fn sample_profile_is_hcw_like() {
        let mut p = profile();
        p.connectors.send.tls_certificate_name =
            Some("<I>O=Contoso,CN=Issuing CA 1<S>CN=mail.contoso.com".into());
        let results = config_checks(&p, &ctx());
        let bad: Vec<_> = results.iter().filter(|r| r.status >= Status::Warn).collect();
        assert!(bad.is_empty(), "{bad:#?}");
        assert_eq!(results.len(), DEFS.len());
    }

    #[test]
    fn each_deviation_fails_its_own_check() {
        let mut p = profile();
        p.connectors.send.cloud_services_mail_enabled = false;
        p.connectors.exo_inbound.tls_sender_certificate_name = Some("mail.fabrikam.com".into());
        p.connectors.send.tls_certificate_name = Some("<I>CN=Old CA<S>CN=mail.contoso.com".into());
        let results = config_checks(&p, &ctx());
        let failed: Vec<&str> = results
            .iter()
            .filter(|r| r.status == Status::Fail)
            .map(|r| r.id.as_str())
            .collect();
        assert_eq!(
            failed,
            [
                "config.send.cloud_services_mail",
                "config.send.tls_certificate_name",
                "config.exo_inbound.certificate_domain"
            ]
        );
    }

    #[test]
    fn x500_names_compare_as_sets() {
        assert!(same_x500("CN=a, O=b, C=US", "C=US,O=b,CN=a"));
        assert!(!same_x500("CN=a, O=b", "CN=a, O=c"));
        assert_eq!(
            split_tls_certificate_name("<I>CN=x<S>CN=y"),
            Some(("CN=x".into(), "CN=y".into()))
        );
        assert_eq!(split_tls_certificate_name("CN=y"), None);
    }
}
