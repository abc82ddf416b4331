//! `config.*` checks: the connector settings of the profile against what the Hybrid Configuration
//! Wizard sets, and against the certificates the endpoints really serve.

use crate::check::{Attachment, CheckDef, CheckResult, Place, Remediation, Status, Step};
use crate::cloud::CloudNames;
use crate::profile::{ConnectorTable, Profile, Sourced, TlsAuthLevel};
use crate::topology::Topology;

const SET_SEND: &str = "https://learn.microsoft.com/powershell/module/exchange/set-sendconnector";
const SET_RECEIVE: &str = "https://learn.microsoft.com/powershell/module/exchange/set-receiveconnector";
const SET_INBOUND: &str = "https://learn.microsoft.com/powershell/module/exchange/set-inboundconnector";
const SET_OUTBOUND: &str = "https://learn.microsoft.com/powershell/module/exchange/set-outboundconnector";
const HCW: &str = "https://learn.microsoft.com/exchange/hybrid-configuration-wizard";
const HEADER_FIREWALL: &str =
    "https://learn.microsoft.com/exchange/mail-flow/mail-routing/cross-premises-mail-routing";
const TRANSPORT_OPTIONS: &str =
    "https://learn.microsoft.com/exchange/transport-options#hybrid-deployment-transport-options";

/// `config.send.tls_domain`.
pub const SEND_TLS_DOMAIN: CheckDef = CheckDef {
    id: "config.send.tls_domain",
    title: "Send connector verifies EOP's certificate name",
    why: "The HCW sets TlsDomain to the name on EOP's certificate (mail.protection.outlook.com; \
          mail.protection.office365.us in GCC High and DoD) on 'Outbound to Office 365'; with DomainValidation a \
          different TlsDomain makes every TLS session to EOP fail validation and mail queues.",
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
    title: "Send connector validates EOP's certificate (DomainValidation)",
    why: "TlsAuthLevel says how the send connector checks the certificate EOP presents: DomainValidation (the HCW \
          setting) verifies its chain and that it carries TlsDomain, CertificateValidation the chain only, \
          EncryptionOnly nothing, so a weaker level would also deliver to whatever answers in EOP's place. It \
          does not decide attribution: Exchange Online attributes the mail to the tenant by the certificate \
          on-premises presents, matched against the inbound connector's TlsSenderCertificateName, whose domain \
          must be an accepted domain (ATTR36).",
    references: &[SET_SEND],
};
/// `config.send.cloud_services_mail`.
pub const SEND_CLOUD: CheckDef = CheckDef {
    id: "config.send.cloud_services_mail",
    title: "Send connector keeps cross-premises headers",
    why: "With CloudServicesMailEnabled False the X-MS-Exchange-Organization-* headers are stripped \
          (X-CrossPremisesHeadersFilteredBySendConnector): mail arrives in Exchange Online as external.",
    references: &[SET_SEND, HEADER_FIREWALL],
};
/// `config.send.require_tls`.
pub const SEND_REQUIRE_TLS: CheckDef = CheckDef {
    id: "config.send.require_tls",
    title: "Send connector requires TLS",
    why: "The HCW sets RequireTLS $true. Without it the connector falls back to plain SMTP when TLS fails, and its \
          TlsAuthLevel and TlsDomain are not applied (they need RequireTLS); without TLS there is no certificate \
          for Exchange Online to attribute the mail by.",
    references: &[SET_SEND, HCW],
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
    why: "TlsDomainCapabilities <name on EOP's certificate>:AcceptCloudServicesMail (AcceptOorgProtocol on \
          Exchange 2010) is what makes mail from Exchange Online arrive as internal.",
    references: &[SET_RECEIVE],
};
/// `config.exo_inbound.certificate_domain`.
pub const INBOUND_CERT_DOMAIN: CheckDef = CheckDef {
    id: "config.exo_inbound.certificate_domain",
    title: "Inbound connector's certificate name is an accepted domain",
    why: "Exchange Online attributes on-premises mail to the tenant by the certificate the sending server presents, \
          matched against TlsSenderCertificateName; the certificate's domain must be a verified accepted domain, \
          otherwise 550 5.7.64 TenantAttribution; Relay Access Denied ATTR36.",
    references: &[SET_INBOUND],
};
/// `config.exo_inbound.require_tls`.
pub const INBOUND_REQUIRE_TLS: CheckDef = CheckDef {
    id: "config.exo_inbound.require_tls",
    title: "Inbound connector requires TLS from on-premises",
    why: "The HCW sets RequireTls $true on 'Inbound from <guid>': mail from on-premises must come over TLS, with the \
          certificate Exchange Online attributes it by.",
    references: &[SET_INBOUND, HCW],
};
/// `config.exo_inbound.cloud_services_mail`.
pub const INBOUND_CLOUD: CheckDef = CheckDef {
    id: "config.exo_inbound.cloud_services_mail",
    title: "Inbound connector promotes cross-premises headers",
    why: "With CloudServicesMailEnabled False on 'Inbound from <guid>' Exchange Online removes the cross-premises \
          headers on-premises sends instead of promoting them: mail from on-premises arrives as external.",
    references: &[SET_INBOUND, HEADER_FIREWALL],
};
/// `config.exo_outbound.tls`.
pub const OUTBOUND_TLS: CheckDef = CheckDef {
    id: "config.exo_outbound.tls",
    title: "EXO outbound connector validates the on-premises certificate",
    why: "The HCW sets TlsSettings DomainValidation and TlsDomain to the on-premises FQDN; without them, \
          Exchange Online sends to whatever answers.",
    references: &[SET_OUTBOUND],
};
/// `config.exo_outbound.cloud_services_mail`.
pub const OUTBOUND_CLOUD: CheckDef = CheckDef {
    id: "config.exo_outbound.cloud_services_mail",
    title: "EXO outbound connector keeps cross-premises headers",
    why: "With CloudServicesMailEnabled False on 'Outbound to <guid>' the cross-premises headers are removed on the \
          way to on-premises: mail from Exchange Online mailboxes arrives on-premises as external.",
    references: &[SET_OUTBOUND, HEADER_FIREWALL],
};
/// `config.exo_outbound.centralized`.
pub const OUTBOUND_CENTRALIZED: CheckDef = CheckDef {
    id: "config.exo_outbound.centralized",
    title: "Where Exchange Online's internet mail leaves (centralized mail transport)",
    why: "RouteAllMessagesViaOnPremises $true (centralized mail transport) sends all mail from Exchange Online, \
          internet mail included, through on-premises; the on-premises servers must then relay it (550 5.7.54 \
          otherwise) and their outbound path carries the cloud's mail too. $false (the HCW default) sends internet \
          mail from EOP directly.",
    references: &[SET_OUTBOUND, TRANSPORT_OPTIONS],
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
    SEND_REQUIRE_TLS,
    SEND_CERT_NAME,
    RECEIVE_CAPS,
    INBOUND_CERT_DOMAIN,
    INBOUND_REQUIRE_TLS,
    INBOUND_CLOUD,
    OUTBOUND_TLS,
    OUTBOUND_CLOUD,
    OUTBOUND_CENTRALIZED,
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

    /// The names of the tenant's cloud.
    fn cloud(&self) -> &'static CloudNames {
        self.profile.tenant.cloud.names()
    }
}

/// The send connector's name, as the HCW creates it (`Outbound to Office 365 - <guid>`).
const SEND_NAME: &str = "Outbound to Office 365";
/// The Exchange Online inbound connector's name, as the HCW creates it.
const INBOUND_NAME: &str = "Inbound from <guid>";
/// The Exchange Online outbound connector's name, as the HCW creates it.
const OUTBOUND_NAME: &str = "Outbound to <guid>";

/// The `config.*` checks, one a setting, in the order of [`DEFS`].
const CHECKS: &[fn(&Config<'_>) -> CheckResult] = &[
    send_tls_domain,
    send_tls_auth,
    send_cloud_services_mail,
    send_require_tls,
    send_tls_certificate_name,
    receive_capabilities,
    inbound_certificate_domain,
    inbound_require_tls,
    inbound_cloud_services_mail,
    outbound_tls,
    outbound_cloud_services_mail,
    outbound_centralized,
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

/// The `info` result of a setting the profile does not state: mailpath assumed the HCW default, which
/// says nothing about the real connector, so the check neither passes nor fails on it.
fn assumed(
    def: &CheckDef,
    target: &str,
    setting: &str,
    default: impl std::fmt::Display,
    cmdlet: &str,
) -> CheckResult {
    CheckResult::new(
        def,
        Status::Info,
        target,
        format!("{setting} {default}: assumed the HCW default; not read from Exchange"),
    )
    .detail(format!(
        "The profile does not state {setting}, so mailpath assumed the value the Hybrid Configuration Wizard \
         sets. Read it with {cmdlet} | fl {setting} and write it in the profile to have it judged."
    ))
}

/// A boolean connector setting the HCW sets to `want`: `info` when assumed, `pass` when it holds, else
/// `bad` with the fix.
#[allow(clippy::too_many_arguments)]
fn boolean_setting(
    def: &CheckDef,
    target: &str,
    setting: &str,
    value: &Sourced<bool>,
    want: bool,
    bad: (Status, &str),
    cmdlet_get: &str,
    fix: Remediation,
) -> CheckResult {
    let ps = |b: bool| if b { "$true" } else { "$false" };
    if value.is_assumed() {
        return assumed(def, target, setting, ps(value.value), cmdlet_get);
    }
    let words = value.provenance.words();
    if value.value == want {
        CheckResult::new(
            def,
            Status::Pass,
            target,
            format!("{setting} {} ({words})", ps(value.value)),
        )
    } else {
        CheckResult::new(
            def,
            bad.0,
            target,
            format!("{setting} {} ({words}): {}", ps(value.value), bad.1),
        )
        .remediation(fix)
    }
}

/// `config.send.tls_domain`.
fn send_tls_domain(c: &Config<'_>) -> CheckResult {
    let cloud = c.cloud();
    let value = c.profile.connectors.send.tls_domain(c.profile.tenant.cloud);
    let want = cloud.eop_tls_domain;
    let fix = format!(
        "Set-SendConnector \"{SEND_NAME} - <guid>\" -TlsDomain {want} -TlsAuthLevel DomainValidation"
    );
    if value.is_assumed() {
        return assumed(
            &SEND_TLS_DOMAIN,
            SEND_NAME,
            "TlsDomain",
            want,
            "Get-SendConnector \"Outbound to Office 365*\"",
        )
        .on(c.hop_to_eop());
    }
    let td = value.value.to_ascii_lowercase();
    let words = value.provenance.words();
    let covers_eop = td == want
        || td
            .strip_prefix("*.")
            .is_some_and(|base| want.trim_start_matches("*.").ends_with(&format!(".{base}")));
    if covers_eop {
        CheckResult::new(&SEND_TLS_DOMAIN, Status::Pass, SEND_NAME, format!("TlsDomain {td} ({words})"))
    } else {
        let other_cloud = crate::cloud::CLOUDS
            .iter()
            .find(|n| n.cloud != cloud.cloud && n.eop_tls_domain == td)
            .map(|n| format!(" (that is {}'s name: is `cloud` in the profile right?)", n.label))
            .unwrap_or_default();
        CheckResult::new(&SEND_TLS_DOMAIN, Status::Fail, SEND_NAME, format!("TlsDomain is {td:?} ({words}), not {want}{other_cloud}"))
            .detail(format!("EOP's certificate in {} carries {want}; with DomainValidation the send connector refuses any other.", cloud.label))
            .remediation(send_connector_fix(&fix, "TlsDomain,TlsAuthLevel"))
    }
    .on(c.hop_to_eop())
}

/// `config.send.tls_auth_level`.
fn send_tls_auth(c: &Config<'_>) -> CheckResult {
    let value = c.profile.connectors.send.tls_auth_level();
    let want = c.cloud().eop_tls_domain;
    if value.is_assumed() {
        return assumed(
            &SEND_TLS_AUTH,
            SEND_NAME,
            "TlsAuthLevel",
            value.value,
            "Get-SendConnector \"Outbound to Office 365*\"",
        )
        .on(c.hop_to_eop());
    }
    let words = value.provenance.words();
    match value.value {
        TlsAuthLevel::DomainValidation => CheckResult::new(&SEND_TLS_AUTH, Status::Pass, SEND_NAME, format!("TlsAuthLevel DomainValidation ({words}): EOP's certificate and its name are verified")),
        level => CheckResult::new(&SEND_TLS_AUTH, Status::Warn, SEND_NAME, format!("TlsAuthLevel {level} ({words}): EOP's certificate name is not verified; the HCW sets DomainValidation"))
            .detail("This only weakens how the send connector checks the server it delivers to. Whether Exchange Online attributes the mail to the tenant depends on the certificate the send connector presents (TlsCertificateName) matching the inbound connector's TlsSenderCertificateName.")
            .remediation(send_connector_fix(&format!("Set-SendConnector \"{SEND_NAME} - <guid>\" -TlsAuthLevel DomainValidation -TlsDomain {want}"), "TlsAuthLevel,TlsDomain")),
    }
    .on(c.hop_to_eop())
}

/// `config.send.cloud_services_mail`.
fn send_cloud_services_mail(c: &Config<'_>) -> CheckResult {
    boolean_setting(
        &SEND_CLOUD,
        SEND_NAME,
        "CloudServicesMailEnabled",
        &c.profile.connectors.send.cloud_services_mail_enabled(),
        true,
        (
            Status::Fail,
            "cross-premises headers are stripped, mail arrives as external",
        ),
        "Get-SendConnector \"Outbound to Office 365*\"",
        send_connector_fix(
            &format!("Set-SendConnector \"{SEND_NAME} - <guid>\" -CloudServicesMailEnabled $true"),
            "CloudServicesMailEnabled",
        ),
    )
    .on(c.hop_to_eop())
}

/// `config.send.require_tls`.
fn send_require_tls(c: &Config<'_>) -> CheckResult {
    boolean_setting(
        &SEND_REQUIRE_TLS,
        SEND_NAME,
        "RequireTLS",
        &c.profile.connectors.send.require_tls(),
        true,
        (Status::Warn, "the connector may send in plain text, and TlsAuthLevel/TlsDomain are not applied"),
        "Get-SendConnector \"Outbound to Office 365*\"",
        send_connector_fix(
            &format!(
                "Set-SendConnector \"{SEND_NAME} - <guid>\" -RequireTLS $true -TlsAuthLevel DomainValidation -TlsDomain {}",
                c.cloud().eop_tls_domain
            ),
            "RequireTLS,TlsAuthLevel,TlsDomain",
        ),
    )
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
    const TARGET: &str = "receive connector";
    let cloud = c.cloud();
    let value = c
        .profile
        .connectors
        .receive
        .tls_domain_capabilities(c.profile.tenant.cloud);
    let hcw = crate::profile::hcw_tls_domain_capabilities(c.profile.tenant.cloud);
    if value.is_assumed() {
        return assumed(
            &RECEIVE_CAPS,
            TARGET,
            "TlsDomainCapabilities",
            &hcw,
            "Get-ReceiveConnector",
        )
        .on(c.hop_from_eop());
    }
    let words = value.provenance.words();
    let caps = value.value.to_ascii_lowercase();
    let (domain, rights) = caps.rsplit_once(':').unwrap_or((caps.as_str(), ""));
    let eop_domain = domain.trim() == cloud.eop_tls_domain;
    let accepts = rights.contains("acceptcloudservicesmail") || rights.contains("acceptoorgprotocol");
    if eop_domain && accepts {
        CheckResult::new(
            &RECEIVE_CAPS,
            Status::Pass,
            TARGET,
            format!("{} ({words})", value.value),
        )
    } else {
        let why = if eop_domain {
            "grants no AcceptCloudServicesMail"
        } else {
            "does not name the domain on EOP's certificate"
        };
        CheckResult::new(
            &RECEIVE_CAPS,
            Status::Fail,
            TARGET,
            format!(
                "TlsDomainCapabilities {:?} ({words}) {why}: mail from Exchange Online arrives as external",
                value.value
            ),
        )
        .remediation(if c.topology.uses_edge() {
            Remediation::steps([
                Step::command(Place::EdgeShell, format!("Set-ReceiveConnector \"<EDGE>\\Default internal Receive connector <EDGE>\" -TlsDomainCapabilities {hcw}")),
                Step::confirm(Place::EdgeShell, "Get-ReceiveConnector | Format-List Name,TlsDomainCapabilities"),
            ])
        } else {
            Remediation::steps([
                Step::command(Place::MailboxShell, format!("Set-ReceiveConnector \"<SERVER>\\Default Frontend <SERVER>\" -TlsDomainCapabilities {hcw}")),
                Step::confirm(Place::MailboxShell, "Get-ReceiveConnector | Format-List Name,TlsDomainCapabilities"),
            ])
        })
    }
    .on(c.hop_from_eop())
}

/// `config.exo_inbound.certificate_domain`.
fn inbound_certificate_domain(c: &Config<'_>) -> CheckResult {
    let profile = c.profile;
    match &profile.connectors.exo_inbound.tls_sender_certificate_name {
        None => CheckResult::new(&INBOUND_CERT_DOMAIN, Status::Info, INBOUND_NAME, "TlsSenderCertificateName not given in the profile: not compared"),
        Some(name) => {
            let domain = name.trim_start_matches("*.").to_ascii_lowercase();
            let accepted = profile.tenant.accepted_domains.iter().any(|d| {
                let d = d.to_ascii_lowercase();
                domain == d || domain.ends_with(&format!(".{d}"))
            });
            let words = profile.connectors.exo_inbound.provenance(true).words();
            if accepted {
                CheckResult::new(&INBOUND_CERT_DOMAIN, Status::Pass, INBOUND_NAME, format!("{name} ({words}) is in an accepted domain"))
            } else {
                CheckResult::new(&INBOUND_CERT_DOMAIN, Status::Fail, INBOUND_NAME, format!("{name} ({words}) is not in any accepted domain ({})", profile.tenant.accepted_domains.join(", ")))
                    .remediation(Remediation::steps([
                        Step::prose("Use a certificate whose name is in a verified accepted domain, and name it on the inbound connector (or rerun the Hybrid Configuration Wizard):"),
                        Step::command(Place::ExchangeOnline, "Set-InboundConnector \"Inbound from <guid>\" -TlsSenderCertificateName <name>"),
                        Step::confirm(Place::ExchangeOnline, "Get-InboundConnector | Format-List Name,TlsSenderCertificateName"),
                    ]))
            }
        }
    }.on(c.hop_to_eop())
}

/// `config.exo_inbound.require_tls`.
fn inbound_require_tls(c: &Config<'_>) -> CheckResult {
    boolean_setting(
        &INBOUND_REQUIRE_TLS,
        INBOUND_NAME,
        "RequireTls",
        &c.profile.connectors.exo_inbound.require_tls(),
        true,
        (Status::Warn, "Exchange Online takes mail from on-premises without TLS, and without a certificate to attribute it by"),
        "Get-InboundConnector",
        Remediation::steps([
            Step::command(Place::ExchangeOnline, "Set-InboundConnector \"Inbound from <guid>\" -RequireTls $true"),
            Step::prose("(or rerun the Hybrid Configuration Wizard, which sets it)"),
            Step::confirm(Place::ExchangeOnline, "Get-InboundConnector | Format-List Name,RequireTls"),
        ]),
    )
    .on(c.hop_to_eop())
}

/// `config.exo_inbound.cloud_services_mail`.
fn inbound_cloud_services_mail(c: &Config<'_>) -> CheckResult {
    boolean_setting(
        &INBOUND_CLOUD,
        INBOUND_NAME,
        "CloudServicesMailEnabled",
        &c.profile.connectors.exo_inbound.cloud_services_mail_enabled(),
        true,
        (Status::Fail, "cross-premises headers from on-premises are removed, not promoted: mail arrives as external"),
        "Get-InboundConnector",
        Remediation::steps([
            Step::prose("Rerun the Hybrid Configuration Wizard, which sets CloudServicesMailEnabled $true on \"Inbound from <guid>\" (set it by hand only when Microsoft support asks):"),
            Step::confirm(Place::ExchangeOnline, "Get-InboundConnector | Format-List Name,CloudServicesMailEnabled"),
        ]),
    )
    .on(c.hop_to_eop())
}

/// `config.exo_outbound.tls`.
fn outbound_tls(c: &Config<'_>) -> CheckResult {
    let out_conn = &c.profile.connectors.exo_outbound;
    let settings = out_conn.tls_settings();
    if settings.is_assumed() {
        return assumed(
            &OUTBOUND_TLS,
            OUTBOUND_NAME,
            "TlsSettings",
            settings.value,
            "Get-OutboundConnector",
        )
        .on(c.hop_from_eop());
    }
    let words = settings.provenance.words();
    match (&out_conn.tls_domain, settings.value) {
        (Some(d), TlsAuthLevel::DomainValidation) => CheckResult::new(&OUTBOUND_TLS, Status::Pass, OUTBOUND_NAME, format!("TlsSettings DomainValidation, TlsDomain {d} ({words})")),
        (None, TlsAuthLevel::DomainValidation) => CheckResult::new(&OUTBOUND_TLS, Status::Info, OUTBOUND_NAME, "TlsDomain not given in the profile: names are checked against the public host names"),
        (_, level) => CheckResult::new(&OUTBOUND_TLS, Status::Warn, OUTBOUND_NAME, format!("TlsSettings {level} ({words}), the HCW sets DomainValidation"))
            .remediation(Remediation::steps([
                Step::command(Place::ExchangeOnline, "Set-OutboundConnector \"Outbound to <guid>\" -TlsSettings DomainValidation -TlsDomain <on-premises FQDN>"),
                Step::confirm(Place::ExchangeOnline, "Get-OutboundConnector | Format-List Name,TlsSettings,TlsDomain"),
            ])),
    }.on(c.hop_from_eop())
}

/// `config.exo_outbound.cloud_services_mail`.
fn outbound_cloud_services_mail(c: &Config<'_>) -> CheckResult {
    boolean_setting(
        &OUTBOUND_CLOUD,
        OUTBOUND_NAME,
        "CloudServicesMailEnabled",
        &c.profile.connectors.exo_outbound.cloud_services_mail_enabled(),
        true,
        (Status::Fail, "cross-premises headers are removed on the way to on-premises: mail from Exchange Online arrives as external"),
        "Get-OutboundConnector",
        Remediation::steps([
            Step::prose("Rerun the Hybrid Configuration Wizard, which sets CloudServicesMailEnabled $true on \"Outbound to <guid>\" (set it by hand only when Microsoft support asks):"),
            Step::confirm(Place::ExchangeOnline, "Get-OutboundConnector | Format-List Name,CloudServicesMailEnabled"),
        ]),
    )
    .on(c.hop_from_eop())
}

/// `config.exo_outbound.centralized`: the mode, stated or assumed; both values are legitimate, so the result
/// is `info` with what the mode means for the paths.
fn outbound_centralized(c: &Config<'_>) -> CheckResult {
    let value = c.profile.connectors.exo_outbound.route_all_via_on_premises();
    if value.is_assumed() {
        return assumed(
            &OUTBOUND_CENTRALIZED,
            OUTBOUND_NAME,
            "RouteAllMessagesViaOnPremises",
            "$false",
            "Get-OutboundConnector",
        )
        .on(c.hop_from_eop());
    }
    let words = value.provenance.words();
    let hosts = if c.topology.inbound_hosts.is_empty() {
        "the on-premises smart hosts".to_string()
    } else {
        c.topology.inbound_hosts.join(", ")
    };
    if value.value {
        CheckResult::new(&OUTBOUND_CENTRALIZED, Status::Info, OUTBOUND_NAME, format!("RouteAllMessagesViaOnPremises $true ({words}): centralized mail transport, internet mail from Exchange Online leaves through {hosts}"))
            .detail("The on-premises servers must accept relaying from EOP for every domain (550 5.7.54 Unable to relay otherwise) and deliver it to the internet; their egress addresses then send the cloud's mail too (SPF). If the cross-premises headers are not promoted on the way back, messages are filtered twice (X-Forefront-Antispam-Report-Untrusted, KB 3079142).")
    } else {
        CheckResult::new(&OUTBOUND_CENTRALIZED, Status::Info, OUTBOUND_NAME, format!("RouteAllMessagesViaOnPremises $false ({words}): internet mail from Exchange Online leaves through EOP directly"))
    }
    .on(c.hop_from_eop())
}

/// `config.exo_outbound.smart_hosts`.
fn outbound_smart_hosts(c: &Config<'_>) -> CheckResult {
    let out_conn = &c.profile.connectors.exo_outbound;
    if out_conn.smart_hosts.is_empty() {
        CheckResult::new(&OUTBOUND_SMART_HOSTS, Status::Info, OUTBOUND_NAME, "smart hosts not given in the profile: the public host names are probed instead")
    } else {
        let unknown: Vec<&String> = out_conn
            .smart_hosts
            .iter()
            .filter(|h| !c.topology.public_names.iter().any(|p| p.eq_ignore_ascii_case(h)))
            .collect();
        if unknown.is_empty() {
            CheckResult::new(&OUTBOUND_SMART_HOSTS, Status::Pass, OUTBOUND_NAME, format!("smart hosts {}", out_conn.smart_hosts.join(", ")))
        } else {
            CheckResult::new(&OUTBOUND_SMART_HOSTS, Status::Warn, OUTBOUND_NAME, format!("smart host(s) {} are not the hybrid servers' public names ({})", unknown.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", "), c.topology.public_names.join(", ")))
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
        p.connectors.send.cloud_services_mail_enabled = Some(false);
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

    /// Issue 13 item 4: a setting the profile does not state is assumed, shown as information, never a pass.
    #[test]
    fn assumed_settings_are_information_never_a_pass() {
        let minimal = "name = \"t\"\n[tenant]\nname = \"contoso\"\naccepted_domains = [\"contoso.com\"]\n\
                       [[mailbox]]\nfqdn = \"ex01.contoso.com\"\n";
        let p = Profile::from_toml_str(minimal, "t.toml", None).unwrap();
        let results = config_checks(&p, &ctx());
        for id in [
            "config.send.tls_domain",
            "config.send.tls_auth_level",
            "config.send.cloud_services_mail",
            "config.send.require_tls",
            "config.receive.capabilities",
            "config.exo_inbound.require_tls",
            "config.exo_inbound.cloud_services_mail",
            "config.exo_outbound.tls",
            "config.exo_outbound.cloud_services_mail",
            "config.exo_outbound.centralized",
        ] {
            let r = results.iter().find(|r| r.id == id).unwrap();
            assert_eq!(r.status, Status::Info, "{id}: {r:#?}");
            assert!(
                r.summary
                    .contains("assumed the HCW default; not read from Exchange"),
                "{id}: {}",
                r.summary
            );
        }
        assert!(
            results.iter().all(|r| r.status != Status::Pass),
            "nothing passes on an assumed value: {results:#?}"
        );
    }

    /// Issue 13 item 4: the parsed settings no check used to read are judged when stated.
    #[test]
    fn stated_require_tls_and_cloud_services_mail_are_judged() {
        let mut p = profile();
        p.connectors.send.require_tls = Some(false);
        p.connectors.exo_inbound.require_tls = Some(false);
        p.connectors.exo_inbound.cloud_services_mail_enabled = Some(false);
        p.connectors.exo_outbound.cloud_services_mail_enabled = Some(false);
        p.connectors.exo_outbound.route_all_via_on_premises = Some(true);
        let results = config_checks(&p, &ctx());
        let status = |id: &str| results.iter().find(|r| r.id == id).unwrap().status;
        assert_eq!(status("config.send.require_tls"), Status::Warn);
        assert_eq!(status("config.exo_inbound.require_tls"), Status::Warn);
        assert_eq!(status("config.exo_inbound.cloud_services_mail"), Status::Fail);
        assert_eq!(status("config.exo_outbound.cloud_services_mail"), Status::Fail);
        let centralized = results
            .iter()
            .find(|r| r.id == "config.exo_outbound.centralized")
            .unwrap();
        assert_eq!(centralized.status, Status::Info);
        assert!(
            centralized.summary.contains("centralized mail transport"),
            "{}",
            centralized.summary
        );
        // Observed values say where they were read.
        p.connectors.send.observed = Some("Get-SendConnector".into());
        let results = config_checks(&p, &ctx());
        let auth = results
            .iter()
            .find(|r| r.id == "config.send.tls_auth_level")
            .unwrap();
        assert!(
            auth.summary.contains("read from Exchange (Get-SendConnector)"),
            "{}",
            auth.summary
        );
    }

    /// Issue 13 item 6: TlsAuthLevel is how the send connector validates EOP's certificate, not attribution.
    #[test]
    fn tls_auth_level_is_about_validating_eop_not_attribution() {
        let mut p = profile();
        p.connectors.send.tls_auth_level = Some(TlsAuthLevel::EncryptionOnly);
        let results = config_checks(&p, &ctx());
        let r = results
            .iter()
            .find(|r| r.id == "config.send.tls_auth_level")
            .unwrap();
        assert_eq!(r.status, Status::Warn);
        assert!(
            r.summary.contains("EOP's certificate name is not verified"),
            "{}",
            r.summary
        );
        assert!(r.detail.contains("TlsSenderCertificateName"), "{}", r.detail);
        assert!(!SEND_TLS_AUTH.why.contains("XOORG"));
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
