//! The configuration audit: `config.*` checks of an imported Exchange export (what the deployment
//! itself says, per server and connector), optionally cross-checked with the live probes.
//!
//! Pure functions of the profile, the export, the clock and the certificates the probes were served
//! ([`AuditInput`]). Every result names the server and connector it judged, cites the export section
//! as evidence (`exchange:receive_connectors@EX02`) and gives the fix with where to run it (the
//! Exchange Management Shell on-premises, Exchange Online PowerShell in the cloud). What the export
//! does not hold (a section whose cmdlet failed, the Exchange Online half not exported) is `skip`
//! with why, never a pass.

use time::{Duration, OffsetDateTime};

use crate::cert::{CertInfo, connector_name_matches, name_matches};
use crate::check::{Attachment, CheckDef, CheckResult, Place, Remediation, Status, Step};
use crate::checks::config::{same_x500, split_tls_certificate_name};
use crate::exchange::import::{
    address_space_domain, eop_receive_connectors, eop_send_connectors, exo_inbound_connector,
    exo_outbound_connector,
};
use crate::exchange::records::domain_covers;
use crate::exchange::{ExchangeCertificate, Export, Observed, same_server};
use crate::ip_ranges::{IpRange, covered, eop_ranges, eop_ranges_date};
use crate::profile::Profile;
use crate::topology::{Topology, hop, is_retired_office365_host};

const GET_CERT: &str =
    "https://learn.microsoft.com/powershell/module/exchangepowershell/get-exchangecertificate";
const ENABLE_CERT: &str =
    "https://learn.microsoft.com/powershell/module/exchangepowershell/enable-exchangecertificate";
const SET_SEND: &str = "https://learn.microsoft.com/powershell/module/exchangepowershell/set-sendconnector";
const SET_RECEIVE: &str =
    "https://learn.microsoft.com/powershell/module/exchangepowershell/set-receiveconnector";
const SET_INBOUND: &str =
    "https://learn.microsoft.com/powershell/module/exchangepowershell/set-inboundconnector";
const VALIDATE_OUTBOUND: &str =
    "https://learn.microsoft.com/powershell/module/exchangepowershell/validate-outboundconnector";
const ATTR36_KB: &str = "https://learn.microsoft.com/exchange/troubleshoot/email-delivery/550-5-7-64-tenantattribution-relay-access-denied";
const EOP_IPS: &str = "https://learn.microsoft.com/microsoft-365/enterprise/urls-and-ip-address-ranges";
const EDGE_SUB: &str =
    "https://learn.microsoft.com/exchange/architecture/edge-transport-servers/edge-subscriptions";
const QUEUES: &str = "https://learn.microsoft.com/exchange/mail-flow/queues/queue-properties";

macro_rules! def {
    ($name:ident, $id:literal, $title:literal, $why:literal, [$($r:expr),*]) => {
        #[doc = concat!("`", $id, "`.")]
        pub const $name: CheckDef = CheckDef { id: $id, title: $title, why: $why, references: &[$($r),*] };
    };
}

def!(
    CERT_INSTALLED,
    "config.cert.installed",
    "Connector's certificate is installed on its server",
    "Each server picks the certificate its connector's TlsCertificateName names from its own store; when it is not \
     there (renewed on one server only, the issuer changed at renewal) TLS with EOP fails: 454 4.7.5 on send, \
     no STARTTLS certificate on receive.",
    [GET_CERT, SET_RECEIVE, SET_SEND]
);
def!(
    CERT_SMTP,
    "config.cert.smtp",
    "Connector's certificate is enabled for SMTP",
    "A renewed certificate that was imported but not enabled for SMTP (Services without SMTP) is not used by the \
     transport service: it keeps presenting the old or the self-signed certificate.",
    [ENABLE_CERT]
);
def!(
    CERT_USABLE,
    "config.cert.usable",
    "Connector's certificate is Valid and has its private key",
    "Exchange uses a certificate for TLS only with Status Valid and its private key on that server; a certificate \
     copied without its key, or revoked, breaks TLS with EOP.",
    [GET_CERT]
);
def!(
    CERT_EXPIRY,
    "config.cert.expiry",
    "Connector's certificate is not about to expire",
    "An expired certificate stops hybrid mail flow in both directions; renew, enable for SMTP and update \
     TlsCertificateName on every server at least 30 days before.",
    [GET_CERT]
);
def!(
    CERT_NAMES,
    "config.cert.names",
    "Connector's certificate carries the names the other side expects",
    "EOP matches the certificate against the EXO inbound connector's TlsSenderCertificateName, and Exchange Online \
     delivers with TlsDomain of its outbound connector; the connector's Fqdn is what it announces.",
    [SET_INBOUND]
);
def!(
    CERT_ACCEPTED,
    "config.cert.accepted_domain",
    "Certificate domain is an accepted domain in Exchange Online",
    "Exchange Online attributes on-premises mail by the certificate domain, which must be an accepted domain of \
     the tenant; otherwise 550 5.7.64 TenantAttribution; Relay Access Denied ATTR36.",
    [ATTR36_KB]
);
def!(
    CERT_SAME,
    "config.cert.same_everywhere",
    "Every server facing EOP uses the same certificate",
    "EOP sees all hybrid servers as one endpoint: a server left on an older certificate after a renewal fails on \
     its own, so mail flow breaks intermittently, depending on which server handles the message.",
    [SET_RECEIVE]
);
def!(
    CERT_SERVED,
    "config.cert.served",
    "The certificate served is the one the connector names",
    "What a server presents on port 25 is decided by the transport service, not by the connector alone: a \
     thumbprint different from the named certificate means a stale binding or a device in between.",
    [GET_CERT]
);
def!(
    CLOUD_MAIL,
    "config.hybrid.cloud_services_mail",
    "All four hybrid connectors keep cross-premises headers",
    "CloudServicesMailEnabled (and AcceptCloudServicesMail on the receive connector) is what keeps mail between \
     on-premises and Exchange Online internal; one connector without it makes mail arrive as external.",
    [SET_SEND, SET_INBOUND]
);
def!(
    SEND_EOP_TLS,
    "config.send.eop_tls",
    "Send connector to EOP requires TLS with DomainValidation",
    "The HCW sets RequireTLS, TlsAuthLevel DomainValidation and TlsDomain mail.protection.outlook.com (the \
     cloud's name in other clouds) on 'Outbound to Office 365'.",
    [SET_SEND]
);
def!(
    SEND_LEGACY,
    "config.send.legacy_smart_host",
    "Send connector to EOP has no legacy smart host",
    "Smart hosts such as mail.messaging.microsoft.com, *.frontbridge.com or an EOP IP address route to the wrong \
     place: 451 4.4.62 Mail sent to the wrong Office 365 region. ATTR35.",
    [SET_SEND]
);
def!(
    EXO_VALIDATED,
    "config.exo_outbound.validated",
    "EXO outbound connector is validated",
    "Exchange Online records whether the connector to on-premises passed Validate-OutboundConnector; false, or a \
     validation older than the last change, means nobody has proved the route since.",
    [VALIDATE_OUTBOUND]
);
def!(
    EXO_SMART_HOSTS,
    "config.exo_outbound.receivers",
    "EXO delivers to servers that take EOP's mail",
    "The smart hosts of 'Outbound to <guid>' must be the servers whose receive connectors accept mail from EOP \
     (Get-HybridConfiguration's OnPremisesSmartHost, the receive connectors' Fqdn).",
    [SET_INBOUND]
);
def!(
    RECEIVE_RANGES,
    "config.receive.eop_ranges",
    "Receive connectors allow EOP's address ranges",
    "EOP delivers from its published ranges; a receive connector whose RemoteIPRanges leaves some out lets another \
     connector (without AcceptCloudServicesMail) take those sessions, or none: 450 4.4.316 in EOP's queue.",
    [EOP_IPS, SET_RECEIVE]
);
def!(
    EDGE_SYNC,
    "config.edge.subscription",
    "Edge servers are subscribed and synchronising",
    "Without a working Edge subscription the Edge has no send connector to EOP and no recipients: hybrid mail \
     through it stops or is rejected.",
    [EDGE_SUB]
);
def!(
    QUEUE_ERROR,
    "config.queue.last_error",
    "No queue towards a hybrid hop holds an error",
    "A queue in Retry with a LastError is Exchange's own record of the hop failing, with the remote reply.",
    [QUEUES]
);

/// Every definition of this module.
pub const DEFS: &[CheckDef] = &[
    CERT_INSTALLED,
    CERT_SMTP,
    CERT_USABLE,
    CERT_EXPIRY,
    CERT_NAMES,
    CERT_ACCEPTED,
    CERT_SAME,
    CERT_SERVED,
    CLOUD_MAIL,
    SEND_EOP_TLS,
    SEND_LEGACY,
    EXO_VALIDATED,
    EXO_SMART_HOSTS,
    RECEIVE_RANGES,
    EDGE_SYNC,
    QUEUE_ERROR,
];

/// Days before expiry at which a connector's certificate is a warning.
pub const EXPIRY_WARN_DAYS: i64 = 30;
/// Age of the last `Validate-OutboundConnector` after which it is a warning, in days.
pub const VALIDATION_MAX_AGE_DAYS: i64 = 365;

/// A certificate a probe was served, by host.
#[derive(Debug, Clone)]
pub struct Served {
    /// The host probed (`mail.contoso.com`, `ex01.contoso.com`).
    pub host: String,
    /// The leaf certificate.
    pub leaf: CertInfo,
}

/// What the audit reads.
#[derive(Debug, Clone, Copy)]
pub struct AuditInput<'a> {
    /// The profile (the hybrid servers, the EOP ranges override).
    pub profile: &'a Profile,
    /// The export.
    pub export: &'a Export,
    /// Now.
    pub now: OffsetDateTime,
    /// The certificates the probes were served (empty without probes).
    pub served: &'a [Served],
    /// Whether probes ran (without them, `config.cert.served` is a skip).
    pub probed: bool,
}

/// One connector that uses a certificate towards EOP, on one server.
struct Use<'a> {
    /// `Set-ReceiveConnector`/`Set-SendConnector`.
    setter: &'static str,
    /// The connector's identity.
    identity: String,
    /// The server.
    server: String,
    /// TlsCertificateName.
    name: Option<&'a str>,
    /// The connector's Fqdn.
    fqdn: Option<&'a str>,
    /// The evidence id of the connector's section.
    evidence: String,
    /// Receive (EOP -> on-premises) or send (on-premises -> EOP).
    receive: bool,
    attachment: Attachment,
    /// Where the connector is set: the Edge itself, the server its identity names, or (a send
    /// connector, organization-wide) any Mailbox server.
    shell: Place,
}

impl Use<'_> {
    /// `Get-ReceiveConnector`/`Get-SendConnector`.
    fn getter(&self) -> String {
        self.setter.replacen("Set-", "Get-", 1)
    }

    /// Name the certificate `thumbprint` of the connector's server on the connector (one session: the
    /// first line reads it, the second sets it).
    fn name_certificate(&self, thumbprint: &str) -> [Step; 2] {
        [
            Step::command(
                self.shell,
                format!(
                    "$c = Get-ExchangeCertificate -Server {} -Thumbprint {thumbprint}",
                    self.server
                ),
            ),
            Step::command(
                self.shell,
                format!(
                    "{} \"{}\" -TlsCertificateName \"<I>$($c.Issuer)<S>$($c.Subject)\"",
                    self.setter, self.identity
                ),
            ),
        ]
    }

    /// Read back the connector's TlsCertificateName.
    fn confirm_name(&self) -> Step {
        Step::confirm(
            self.shell,
            format!(
                "{} \"{}\" | Format-List Identity,TlsCertificateName",
                self.getter(),
                self.identity
            ),
        )
    }
}

/// Import a certificate (with its private key) on `server`.
fn import_certificate(shell: Place, server: &str) -> Step {
    Step::command(
        shell,
        format!(
            "Import-ExchangeCertificate -Server {server} -FileData ([System.IO.File]::ReadAllBytes('C:\\cert.pfx')) \
             -Password (Read-Host -AsSecureString) -PrivateKeyExportable $true"
        ),
    )
}

/// Bind the certificate `thumbprint` on `server` to SMTP.
fn enable_smtp(shell: Place, server: &str, thumbprint: &str) -> Step {
    Step::command(
        shell,
        format!("Enable-ExchangeCertificate -Server {server} -Thumbprint {thumbprint} -Services SMTP"),
    )
}

/// Run the audit.
pub fn audit(input: &AuditInput<'_>) -> Vec<CheckResult> {
    let topology = Topology::of(input.profile);
    let a = Audit { input, topology };
    let uses = a.uses();
    let mut out = Vec::new();
    out.extend(a.certificates(&uses));
    out.extend(a.same_everywhere(&uses));
    out.extend(a.served(&uses));
    out.extend(a.cloud_services_mail());
    out.extend(a.send_tls());
    out.extend(a.exo_outbound());
    out.extend(a.receive_ranges());
    out.extend(a.edge());
    out.extend(a.queues());
    out
}

/// What the export says about the hops to and from EOP, for the path: the servers that send through
/// the send connector(s) to EOP and those whose receive connectors take EOP's mail (`from EX01, EX02`,
/// `to EX01, EX02`), and a smart host when the send connector uses one.
pub fn hop_facts(profile: &Profile, export: &Export) -> Vec<(&'static str, String)> {
    let input = AuditInput {
        profile,
        export,
        now: OffsetDateTime::UNIX_EPOCH,
        served: &[],
        probed: false,
    };
    let a = Audit {
        input: &input,
        topology: Topology::of(profile),
    };
    let mut facts = Vec::new();
    let mut senders: Vec<String> = Vec::new();
    let mut smart_hosts: Vec<String> = Vec::new();
    for c in eop_send_connectors(export)
        .into_iter()
        .filter(|c| c.item.enabled.or(true))
    {
        for s in c.item.source_servers.list() {
            if !senders.iter().any(|o| same_server(o, s)) {
                senders.push(s.clone());
            }
        }
        smart_hosts.extend(c.item.smart_hosts.list().iter().cloned());
    }
    if !senders.is_empty() {
        facts.push((a.topology.hop_to_eop, format!("from {}", senders.join(", "))));
    }
    if !smart_hosts.is_empty() {
        facts.push((
            a.topology.hop_to_eop,
            format!("smart host {}", smart_hosts.join(", ")),
        ));
    }
    let receivers: Vec<String> = a
        .facing_servers()
        .into_iter()
        .filter(|s| !eop_receive_connectors(export, s).is_empty())
        .map(|s| {
            export
                .server(&s)
                .and_then(|x| x.item.name.text().map(str::to_string))
                .unwrap_or(s)
        })
        .collect();
    if !receivers.is_empty() {
        facts.push((a.topology.hop_from_eop, format!("to {}", receivers.join(", "))));
    }
    if exo_outbound_connector(export).is_some_and(|o| o.item.route_all_via_on_premises.or(false)) {
        facts.push((a.topology.hop_from_eop, "centralized mail transport".into()));
    }
    facts
}

struct Audit<'a> {
    input: &'a AuditInput<'a>,
    topology: Topology,
}

impl<'a> Audit<'a> {
    fn export(&self) -> &'a Export {
        self.input.export
    }

    fn hop_to_eop(&self) -> Attachment {
        Attachment::Hop(self.topology.hop_to_eop.into())
    }

    fn hop_from_eop(&self) -> Attachment {
        Attachment::Hop(self.topology.hop_from_eop.into())
    }

    /// The servers that face EOP: the hybrid Edges, else the hybrid Mailbox servers; the profile's
    /// and those Get-HybridConfiguration records.
    fn facing_servers(&self) -> Vec<String> {
        let p = self.input.profile;
        let export = self.export();
        let mut out: Vec<String> = if p.uses_edge() {
            p.hybrid_edges().map(|e| e.fqdn.clone()).collect()
        } else {
            p.mailboxes.iter().map(|m| m.fqdn.clone()).collect()
        };
        for h in &export.hybrid {
            let list = if p.uses_edge() {
                h.item.edge_servers.list()
            } else {
                h.item.receiving_servers.list()
            };
            for name in list {
                let fqdn = export
                    .server_fqdn(name)
                    .unwrap_or_else(|| name.to_ascii_lowercase());
                if !out.iter().any(|o| same_server(o, &fqdn)) {
                    out.push(fqdn);
                }
            }
        }
        out
    }

    /// Where a command about `server` runs: on the Edge itself (an Edge is outside the organisation), else
    /// in the Exchange Management Shell naming the server.
    fn shell_of(&self, server: &str) -> Place {
        let edge = self
            .input
            .profile
            .edges
            .iter()
            .any(|e| same_server(&e.fqdn, server))
            || self
                .export()
                .server(server)
                .is_some_and(|s| s.item.is_edge.or(false));
        if edge {
            Place::EdgeShell
        } else {
            Place::ExchangeShell
        }
    }

    /// Every connector that presents a certificate to EOP, per server.
    fn uses(&self) -> Vec<Use<'a>> {
        let export = self.export();
        let mut uses = Vec::new();
        for server in self.facing_servers() {
            for c in eop_receive_connectors(export, &server) {
                if !c.item.enabled.or(true) {
                    continue;
                }
                let on = c.from.server.clone().unwrap_or_else(|| server.clone());
                uses.push(Use {
                    setter: "Set-ReceiveConnector",
                    identity: c
                        .item
                        .identity
                        .text()
                        .or(c.item.name.text())
                        .unwrap_or("?")
                        .to_string(),
                    shell: self.shell_of(&on),
                    server: on,
                    name: c.item.tls_certificate_name.text(),
                    fqdn: c.item.fqdn.text(),
                    evidence: c.from.evidence_id(),
                    receive: true,
                    attachment: self.hop_from_eop(),
                });
            }
        }
        for c in eop_send_connectors(export) {
            if !c.item.enabled.or(true) {
                continue;
            }
            for server in c.item.source_servers.list() {
                uses.push(Use {
                    setter: "Set-SendConnector",
                    identity: c
                        .item
                        .identity
                        .text()
                        .or(c.item.name.text())
                        .unwrap_or("?")
                        .to_string(),
                    server: server.clone(),
                    name: c.item.tls_certificate_name.text(),
                    fqdn: c.item.fqdn.text(),
                    evidence: c.from.evidence_id(),
                    receive: false,
                    attachment: self.hop_to_eop(),
                    shell: Place::MailboxShell,
                });
            }
        }
        uses
    }

    /// The certificate on `server` that `TlsCertificateName` names.
    fn named_cert(&self, server: &str, name: &str) -> Option<&'a Observed<ExchangeCertificate>> {
        let (issuer, subject) = split_tls_certificate_name(name)?;
        self.export().certificates_on(server).find(|c| {
            c.item.issuer.text().is_some_and(|i| same_x500(i, &issuer))
                && c.item.subject.text().is_some_and(|s| same_x500(s, &subject))
        })
    }

    /// Install a new certificate on the connector's server, bind it to SMTP and name it on the connector.
    fn replace_certificate(&self, u: &Use<'_>, intro: String) -> Remediation {
        let shell = self.shell_of(&u.server);
        let mut steps = vec![
            Step::prose(intro),
            import_certificate(shell, &u.server),
            enable_smtp(shell, &u.server, "<new>"),
        ];
        steps.extend(u.name_certificate("<new>"));
        steps.push(Step::confirm(
            shell,
            format!(
                "Get-ExchangeCertificate -Server {} -Thumbprint <new> | Format-List Status,HasPrivateKey,Services",
                u.server
            ),
        ));
        steps.push(u.confirm_name());
        Remediation::steps(steps)
    }

    fn cert_section_ok(&self, server: &str) -> bool {
        self.export().section_ok("exchange_certificates", Some(server))
    }

    /// `config.cert.installed`, `.smtp`, `.usable`, `.expiry`, `.names`, `.accepted_domain`.
    fn certificates(&self, uses: &[Use<'a>]) -> Vec<CheckResult> {
        let mut out = Vec::new();
        let inbound = exo_inbound_connector(self.export());
        let outbound = exo_outbound_connector(self.export());
        for u in uses {
            let target = format!("{} on {}", u.identity, u.server);
            // Each summary starts with the server: the same connector is judged on each of them.
            let r = |def: &CheckDef, status: Status, summary: String| {
                CheckResult::new(def, status, target.clone(), format!("{}: {summary}", u.server))
                    .evidence(u.evidence.clone())
                    .on(u.attachment.clone())
            };
            let Some(name) = u.name else {
                out.push(
                    r(
                        &CERT_INSTALLED,
                        Status::Info,
                        "no TlsCertificateName: the server picks a certificate by its Fqdn".into(),
                    )
                    .detail(
                        "Without TlsCertificateName Exchange selects a certificate for the \
                            connector's FQDN itself; the HCW sets it to pin the certificate.",
                    ),
                );
                continue;
            };
            if !self.cert_section_ok(&u.server) {
                out.push(r(
                    &CERT_INSTALLED,
                    Status::Skip,
                    format!(
                        "the certificates of {} were not exported (Get-ExchangeCertificate \
                        failed or was not run there)",
                        u.server
                    ),
                ));
                continue;
            }
            let Some(cert) = self.named_cert(&u.server, name) else {
                let installed: Vec<String> = self
                    .export()
                    .certificates_on(&u.server)
                    .filter_map(|c| {
                        Some(format!(
                            "<I>{}<S>{} ({})",
                            c.item.issuer.text()?,
                            c.item.subject.text()?,
                            c.item.thumbprint.text().unwrap_or("?")
                        ))
                    })
                    .collect();
                let better = self.export().certificates_on(&u.server).find(|c| {
                    c.item.services.get().is_some_and(|s| s.has("SMTP")) && !c.item.is_self_signed.or(false)
                });
                let fix = match better.and_then(|c| Some((c.item.issuer.text()?, c.item.subject.text()?))) {
                    Some((i, s)) => Remediation::steps([
                        Step::prose(format!(
                            "Name a certificate that is installed on {} and bound to SMTP:",
                            u.server
                        )),
                        Step::command(
                            u.shell,
                            format!(
                                "{} \"{}\" -TlsCertificateName \"<I>{i}<S>{s}\"",
                                u.setter, u.identity
                            ),
                        ),
                        u.confirm_name(),
                    ]),
                    None => {
                        let mut steps = vec![
                            Step::prose(format!(
                                "Install the certificate on {}, bind it to SMTP, then name it on the connector:",
                                u.server
                            )),
                            import_certificate(self.shell_of(&u.server), &u.server),
                            enable_smtp(self.shell_of(&u.server), &u.server, "<new>"),
                        ];
                        steps.extend(u.name_certificate("<new>"));
                        steps.push(u.confirm_name());
                        Remediation::steps(steps)
                    }
                };
                out.push(
                    r(
                        &CERT_INSTALLED,
                        Status::Fail,
                        format!(
                            "TlsCertificateName names a certificate that is not installed on {}",
                            u.server
                        ),
                    )
                    .detail(format!(
                        "named: {name}\ninstalled on {}: {}",
                        u.server,
                        installed.join("; ")
                    ))
                    .evidence(format!("exchange:exchange_certificates@{}", u.server))
                    .remediation(fix),
                );
                continue;
            };
            let thumb = cert.item.thumbprint.text().unwrap_or("?");
            let cert_evidence = cert.from.evidence_id();
            out.push(
                r(
                    &CERT_INSTALLED,
                    Status::Pass,
                    format!("names {thumb}, installed on {}", u.server),
                )
                .evidence(cert_evidence.clone()),
            );
            // Bound to SMTP.
            let services = cert.item.services.get().map(|s| s.joined());
            out.push(
                match cert.item.services.get() {
                    Some(s) if s.has("SMTP") => r(
                        &CERT_SMTP,
                        Status::Pass,
                        format!("{thumb} Services {}", s.joined()),
                    ),
                    Some(s) => r(
                        &CERT_SMTP,
                        Status::Fail,
                        format!(
                            "{thumb} is not enabled for SMTP (Services {})",
                            if s.0.is_empty() { "None".into() } else { s.joined() }
                        ),
                    )
                    .remediation(Remediation::steps([
                        enable_smtp(self.shell_of(&u.server), &u.server, thumb),
                        Step::confirm(
                            self.shell_of(&u.server),
                            format!(
                                "Get-ExchangeCertificate -Server {} -Thumbprint {thumb} | Format-List Services",
                                u.server
                            ),
                        ),
                    ])),
                    None => r(
                        &CERT_SMTP,
                        Status::Skip,
                        format!(
                            "{thumb}: Services was not read{}",
                            services.map(|s| format!(" ({s})")).unwrap_or_default()
                        ),
                    ),
                }
                .evidence(cert_evidence.clone()),
            );
            // Valid, with its key.
            let valid = cert.item.status.name();
            let key = cert.item.has_private_key.get().copied();
            out.push(
                match (valid, key) {
                    (Some(v), Some(true)) if v.eq_ignore_ascii_case("Valid") => r(
                        &CERT_USABLE,
                        Status::Pass,
                        format!("{thumb} Status Valid, HasPrivateKey True"),
                    ),
                    (Some(v), k) if !v.eq_ignore_ascii_case("Valid") => r(
                        &CERT_USABLE,
                        Status::Fail,
                        format!(
                            "{thumb} Status {v}{}",
                            if k == Some(false) { ", no private key" } else { "" }
                        ),
                    )
                    .remediation(self.replace_certificate(
                        u,
                        format!(
                            "Install a valid certificate with its private key on {}, bind it to SMTP and name it \
                             on the connector:",
                            u.server
                        ),
                    )),
                    (_, Some(false)) => r(
                        &CERT_USABLE,
                        Status::Fail,
                        format!("{thumb} has no private key on {}", u.server),
                    )
                    .remediation(Remediation::steps([
                        Step::prose(format!(
                            "Import the certificate again with its private key (a .pfx) on {}, then bind it to SMTP:",
                            u.server
                        )),
                        import_certificate(self.shell_of(&u.server), &u.server),
                        enable_smtp(self.shell_of(&u.server), &u.server, thumb),
                        Step::confirm(
                            self.shell_of(&u.server),
                            format!(
                                "Get-ExchangeCertificate -Server {} -Thumbprint {thumb} | Format-List \
                                 HasPrivateKey,Services",
                                u.server
                            ),
                        ),
                    ])),
                    _ => r(
                        &CERT_USABLE,
                        Status::Skip,
                        format!("{thumb}: Status or HasPrivateKey was not read"),
                    ),
                }
                .evidence(cert_evidence.clone()),
            );
            // Expiry.
            out.push(
                match cert.item.not_after.get() {
                    Some(w) => {
                        let days = (w.0 - self.input.now).whole_days();
                        if w.0 < self.input.now {
                            r(
                                &CERT_EXPIRY,
                                Status::Fail,
                                format!("{thumb} expired {} day(s) ago", -days),
                            )
                        } else if days < EXPIRY_WARN_DAYS {
                            r(
                                &CERT_EXPIRY,
                                Status::Warn,
                                format!("{thumb} expires in {days} day(s)"),
                            )
                        } else {
                            r(
                                &CERT_EXPIRY,
                                Status::Pass,
                                format!("{thumb} valid for {days} more day(s)"),
                            )
                        }
                        .remediation(if days < EXPIRY_WARN_DAYS {
                            let shell = self.shell_of(&u.server);
                            let mut steps = vec![
                                Step::prose("Renew it (a request with the same names and key settings):"),
                                Step::command(
                                    shell,
                                    format!(
                                        "Get-ExchangeCertificate -Server {} -Thumbprint {thumb} | \
                                         New-ExchangeCertificate -GenerateRequest -PrivateKeyExportable $true",
                                        u.server
                                    ),
                                ),
                            ];
                            steps.extend(
                                self.replace_certificate(
                                    u,
                                    format!(
                                        "Have the CA sign the request, then import the new certificate on every \
                                         hybrid server (here {}), bind it to SMTP and name it on the connector:",
                                        u.server
                                    ),
                                )
                                .steps,
                            );
                            Remediation::steps(steps)
                        } else {
                            Remediation::default()
                        })
                    }
                    None => r(
                        &CERT_EXPIRY,
                        Status::Skip,
                        format!("{thumb}: NotAfter was not read"),
                    ),
                }
                .evidence(cert_evidence.clone()),
            );
            // Names.
            let domains: Vec<&String> = cert.item.domains.list().iter().collect();
            let carries = |want: &str| {
                domains
                    .iter()
                    .any(|d| connector_name_matches(d, want) || name_matches(d, want))
            };
            let mut wanted: Vec<(String, &'static str)> = Vec::new();
            if let Some(f) = u.fqdn {
                wanted.push((f.to_ascii_lowercase(), "the connector's Fqdn"));
            }
            if u.receive {
                if let Some(o) = outbound.and_then(|o| o.item.tls_domain.text()) {
                    wanted.push((o.to_ascii_lowercase(), "EXO outbound connector's TlsDomain"));
                }
            } else if let Some(i) = inbound.and_then(|i| i.item.tls_sender_certificate_name.text()) {
                wanted.push((
                    i.to_ascii_lowercase(),
                    "EXO inbound connector's TlsSenderCertificateName",
                ));
            }
            let missing: Vec<String> = wanted
                .iter()
                .filter(|(w, _)| !carries(w))
                .map(|(w, why)| format!("{w} ({why})"))
                .collect();
            out.push(
                if domains.is_empty() {
                    r(
                        &CERT_NAMES,
                        Status::Skip,
                        format!("{thumb}: CertificateDomains was not read"),
                    )
                } else if wanted.is_empty() {
                    r(
                        &CERT_NAMES,
                        Status::Info,
                        format!(
                            "{thumb}: no name to compare (no Fqdn, Exchange Online's connectors not \
                    exported)"
                        ),
                    )
                } else if missing.is_empty() {
                    r(
                        &CERT_NAMES,
                        Status::Pass,
                        format!(
                            "{thumb} carries {}",
                            wanted
                                .iter()
                                .map(|(w, _)| w.as_str())
                                .collect::<Vec<_>>()
                                .join(", ")
                        ),
                    )
                } else {
                    let (setter, connector, parameter) = if u.receive {
                        (
                            "Set-OutboundConnector",
                            outbound
                                .and_then(|o| o.item.name.text())
                                .unwrap_or("Outbound to <guid>"),
                            "TlsDomain",
                        )
                    } else {
                        (
                            "Set-InboundConnector",
                            inbound
                                .and_then(|i| i.item.name.text())
                                .unwrap_or("Inbound from <guid>"),
                            "TlsSenderCertificateName",
                        )
                    };
                    let mut steps = vec![
                        Step::prose(format!(
                            "Set Exchange Online's connector to a name the certificate carries ({}):",
                            cert.item.domains.list().join(", ")
                        )),
                        Step::command(
                            Place::ExchangeOnline,
                            format!("{setter} \"{connector}\" -{parameter} <a name on the certificate>"),
                        ),
                        Step::confirm(
                            Place::ExchangeOnline,
                            format!(
                                "{} \"{connector}\" | Format-List Name,{parameter}",
                                setter.replacen("Set-", "Get-", 1)
                            ),
                        ),
                        Step::prose(format!(
                            "Or name on the connector a certificate installed on {} that carries {}:",
                            u.server,
                            missing.join(", ")
                        )),
                    ];
                    steps.extend(u.name_certificate("<thumbprint>"));
                    steps.push(u.confirm_name());
                    let fix = Remediation::steps(steps);
                    r(
                        &CERT_NAMES,
                        Status::Fail,
                        format!("{thumb} does not carry {}", missing.join(", ")),
                    )
                    .detail(format!(
                        "CertificateDomains: {}",
                        cert.item.domains.list().join(", ")
                    ))
                    .remediation(fix)
                }
                .evidence(cert_evidence.clone()),
            );
            // ATTR36: the domain the inbound connector matches must be an EXO accepted domain.
            if !u.receive {
                out.push(self.accepted_domain(u, cert, &r));
            }
        }
        out
    }

    fn accepted_domain(
        &self,
        u: &Use<'_>,
        cert: &Observed<ExchangeCertificate>,
        r: &dyn Fn(&CheckDef, Status, String) -> CheckResult,
    ) -> CheckResult {
        let export = self.export();
        let thumb = cert.item.thumbprint.text().unwrap_or("?");
        if !export.section_ok("exo_accepted_domains", None) {
            return r(
                &CERT_ACCEPTED,
                Status::Skip,
                "Exchange Online's accepted domains were not exported (run the script with -ExchangeOnline)"
                    .into(),
            );
        }
        let accepted: Vec<&str> = export
            .exo_accepted_domains
            .iter()
            .filter_map(|d| d.item.domain_name.text())
            .collect();
        // The name EXO attributes by: TlsSenderCertificateName, else the certificate's subject name.
        let name = exo_inbound_connector(export)
            .and_then(|i| i.item.tls_sender_certificate_name.text())
            .map(str::to_string)
            .or_else(|| cert.item.domains.list().first().cloned());
        let Some(name) = name else {
            return r(
                &CERT_ACCEPTED,
                Status::Skip,
                format!("{thumb}: no certificate domain to compare"),
            );
        };
        let by = accepted.iter().find(|a| domain_covers(a, &name));
        match by {
            Some(a) => r(
                &CERT_ACCEPTED,
                Status::Pass,
                format!("{name} is under the accepted domain {a}"),
            ),
            None => r(
                &CERT_ACCEPTED,
                Status::Fail,
                format!(
                    "{name} is not under any accepted domain of the tenant: 550 5.7.64 \
                TenantAttribution; Relay Access Denied ATTR36"
                ),
            )
            .detail(format!(
                "accepted domains in Exchange Online: {}",
                accepted.join(", ")
            ))
            .remediation({
                let inbound = exo_inbound_connector(export)
                    .and_then(|i| i.item.name.text())
                    .unwrap_or("Inbound from <guid>");
                let mut steps = vec![
                    Step::prose(format!(
                        "In the Microsoft 365 admin center, add and verify the domain of {name} (it becomes an \
                         accepted domain)."
                    )),
                    Step::prose(format!(
                        "Or name on the connector a certificate for an accepted domain ({}):",
                        accepted.join(", ")
                    )),
                ];
                steps.extend(u.name_certificate("<thumbprint>"));
                steps.push(Step::prose("Then name it on Exchange Online's inbound connector:"));
                steps.push(Step::command(
                    Place::ExchangeOnline,
                    format!("Set-InboundConnector \"{inbound}\" -TlsSenderCertificateName <that name>"),
                ));
                steps.push(Step::confirm(
                    Place::ExchangeOnline,
                    format!("Get-InboundConnector \"{inbound}\" | Format-List Name,TlsSenderCertificateName"),
                ));
                Remediation::steps(steps)
            }),
        }
        .evidence("exchange:exo_accepted_domains")
    }

    /// `config.cert.same_everywhere`.
    fn same_everywhere(&self, uses: &[Use<'a>]) -> Vec<CheckResult> {
        let mut seen: Vec<(String, String)> = Vec::new();
        let mut certs: Vec<&Observed<ExchangeCertificate>> = Vec::new();
        for u in uses {
            if let Some(name) = u.name
                && let Some(c) = self.named_cert(&u.server, name)
                && let Some(t) = c.item.thumbprint.text()
                && !seen.iter().any(|(s, _)| same_server(s, &u.server))
            {
                seen.push((u.server.clone(), t.to_ascii_uppercase()));
                certs.push(c);
            }
        }
        if seen.len() < 2 {
            return Vec::new();
        }
        let first = &seen[0].1;
        let others: Vec<&(String, String)> = seen.iter().filter(|(_, t)| t != first).collect();
        let listing = seen
            .iter()
            .map(|(s, t)| format!("{s}: {t}"))
            .collect::<Vec<_>>()
            .join(", ");
        let result = if others.is_empty() {
            CheckResult::new(
                &CERT_SAME,
                Status::Pass,
                "servers facing EOP",
                format!("{} servers use {first}", seen.len()),
            )
        } else {
            CheckResult::new(
                &CERT_SAME,
                Status::Warn,
                "servers facing EOP",
                format!("the servers use different certificates ({listing})"),
            )
            .remediation({
                // The one that expires last.
                let best = (0..certs.len())
                    .max_by_key(|&i| certs[i].item.not_after.get().map(|w| w.0))
                    .unwrap_or_default();
                let (server, thumb) = &seen[best];
                self.one_certificate(
                    &uses.iter().collect::<Vec<_>>(),
                    thumb,
                    certs[best],
                    format!(
                        "Use one certificate on every server facing EOP, {thumb} (named on {server}, the one that \
                         expires last): bind it to SMTP on each server that names another (importing it with its \
                         private key where it is not installed):"
                    ),
                )
            })
        };
        vec![
            result
                .detail(listing)
                .evidence("exchange:exchange_certificates")
                .on(self.hop_from_eop()),
        ]
    }

    /// The certificate `thumb` (`cert`) on every server of `uses`: imported where it is not installed,
    /// bound to SMTP where another is named, and named on every connector that names another.
    fn one_certificate(
        &self,
        uses: &[&Use<'a>],
        thumb: &str,
        cert: &Observed<ExchangeCertificate>,
        intro: String,
    ) -> Remediation {
        let current = |u: &Use<'a>| {
            u.name
                .and_then(|n| self.named_cert(&u.server, n))
                .and_then(|c| c.item.thumbprint.text())
                .is_some_and(|c| c.eq_ignore_ascii_case(thumb))
        };
        let mut steps = vec![Step::prose(intro)];
        let mut servers: Vec<&str> = Vec::new();
        for u in uses.iter().filter(|u| !current(u)) {
            if servers.iter().any(|s| same_server(s, &u.server)) {
                continue;
            }
            servers.push(&u.server);
            let shell = self.shell_of(&u.server);
            let installed = self.export().certificates_on(&u.server).any(|c| {
                c.item
                    .thumbprint
                    .text()
                    .is_some_and(|t| t.eq_ignore_ascii_case(thumb))
            });
            if !installed {
                steps.push(import_certificate(shell, &u.server));
            }
            steps.push(enable_smtp(shell, &u.server, thumb));
        }
        steps.push(Step::prose("Name it on each connector that names another:"));
        let mut named: Vec<(&str, &str)> = Vec::new();
        for u in uses.iter().filter(|u| !current(u)) {
            if named.contains(&(u.setter, u.identity.as_str())) {
                continue;
            }
            named.push((u.setter, u.identity.as_str()));
            match (cert.item.issuer.text(), cert.item.subject.text()) {
                (Some(i), Some(s)) => steps.push(Step::command(
                    u.shell,
                    format!(
                        "{} \"{}\" -TlsCertificateName \"<I>{i}<S>{s}\"",
                        u.setter, u.identity
                    ),
                )),
                _ => steps.extend(u.name_certificate(thumb)),
            }
            steps.push(u.confirm_name());
        }
        Remediation::steps(steps)
    }

    /// `config.cert.served`: the thumbprint the probes were served against the connector's certificate.
    fn served(&self, uses: &[Use<'a>]) -> Vec<CheckResult> {
        let mut out = Vec::new();
        let receive: Vec<&Use<'a>> = uses.iter().filter(|u| u.receive && u.name.is_some()).collect();
        if receive.is_empty() {
            return out;
        }
        if !self.input.probed {
            out.push(
                CheckResult::new(
                    &CERT_SERVED,
                    Status::Skip,
                    "port 25",
                    "no probe ran: the served certificate is not known (run diagnose)",
                )
                .on(self.hop_from_eop()),
            );
            return out;
        }
        // The public name(s) EOP delivers to stand for every facing server; a server's own FQDN for it.
        for s in self.input.served {
            let public = self
                .topology
                .public_names
                .iter()
                .any(|p| p.eq_ignore_ascii_case(&s.host));
            let matching: Vec<&&Use<'a>> = receive
                .iter()
                .filter(|u| {
                    public
                        || same_server(&u.server, &s.host)
                        || self
                            .export()
                            .server_fqdn(&u.server)
                            .is_some_and(|f| f.eq_ignore_ascii_case(&s.host))
                })
                .collect();
            if matching.is_empty() {
                continue;
            }
            let named: Vec<(String, String)> = matching
                .iter()
                .filter_map(|u| {
                    let c = self.named_cert(&u.server, u.name?)?;
                    Some((u.server.clone(), c.item.thumbprint.text()?.to_ascii_uppercase()))
                })
                .collect();
            if named.is_empty() {
                continue;
            }
            let served = s.leaf.sha1_thumbprint.to_ascii_uppercase();
            let target = format!("{}:25", s.host);
            let wrong: Vec<&(String, String)> = named.iter().filter(|(_, t)| *t != served).collect();
            let listing = named
                .iter()
                .map(|(s, t)| format!("{s} names {t}"))
                .collect::<Vec<_>>()
                .join(", ");
            let result = if wrong.is_empty() {
                CheckResult::new(
                    &CERT_SERVED,
                    Status::Pass,
                    target,
                    format!("served {served}, the certificate the connector names"),
                )
            } else if wrong.len() < named.len() {
                CheckResult::new(
                    &CERT_SERVED,
                    Status::Warn,
                    target,
                    format!("served {served}; {listing}: the servers behind {} differ", s.host),
                )
                .remediation({
                    let served_cert = matching
                        .iter()
                        .filter_map(|u| self.named_cert(&u.server, u.name?))
                        .find(|c| c.item.thumbprint.text().is_some_and(|t| t.eq_ignore_ascii_case(&served)));
                    match served_cert {
                        Some(cert) => self.one_certificate(
                            &matching.iter().map(|u| **u).collect::<Vec<_>>(),
                            &served,
                            cert,
                            format!(
                                "Make every server behind {} present {served}, the certificate served: bind it to \
                                 SMTP on each server that names another (importing it with its private key where \
                                 it is not installed):",
                                s.host
                            ),
                        ),
                        None => Remediation::default(),
                    }
                })
            } else {
                CheckResult::new(
                    &CERT_SERVED,
                    Status::Fail,
                    target,
                    format!("served {served} ({}), but {listing}", s.leaf.subject),
                )
                .remediation({
                    let mut steps = Vec::new();
                    for (server, thumb) in &named {
                        let shell = self.shell_of(server);
                        steps.push(
                            Step::prose(format!(
                                "On {server}, bind the named certificate to SMTP and restart the transport \
                                 service(s):"
                            ))
                            .at(shell),
                        );
                        steps.push(enable_smtp(shell, server, thumb));
                        steps.push(Step::command(
                            shell,
                            crate::checks::chain::transport_service(shell),
                        ));
                    }
                    steps.push(Step::prose(
                        "If it still differs, a device between EOP and the server terminates TLS.",
                    ));
                    steps.push(Step::confirm(
                        Place::Workstation,
                        format!("mailpath probe {}", s.host),
                    ));
                    Remediation::steps(steps)
                })
            };
            out.push(
                result
                    .detail(listing)
                    .evidence(format!("smtp:{}", s.host))
                    .on(self.hop_from_eop()),
            );
        }
        out
    }

    /// `config.hybrid.cloud_services_mail`: the send connector(s), the receive connectors' capability, EXO's two.
    fn cloud_services_mail(&self) -> Vec<CheckResult> {
        let export = self.export();
        let mut off: Vec<(String, Step)> = Vec::new();
        let mut read = Vec::new();
        for c in eop_send_connectors(export) {
            let id = c.item.name.text().unwrap_or("?").to_string();
            match c.item.cloud_services_mail.get() {
                Some(true) => read.push(id),
                Some(false) => off.push((
                    id.clone(),
                    Step::command(
                        Place::MailboxShell,
                        format!("Set-SendConnector \"{id}\" -CloudServicesMailEnabled $true"),
                    ),
                )),
                None => {}
            }
        }
        for server in self.facing_servers() {
            for c in eop_receive_connectors(export, &server) {
                let id = c
                    .item
                    .identity
                    .text()
                    .or(c.item.name.text())
                    .unwrap_or("?")
                    .to_string();
                if c.item.tls_domain_capabilities.get().is_none() {
                    continue; // not read: neither on nor off
                }
                let caps = c.item.tls_domain_capabilities.list();
                if caps.iter().any(|t| {
                    t.to_ascii_lowercase().contains("acceptcloudservicesmail")
                        || t.to_ascii_lowercase().contains("acceptoorgprotocol")
                }) {
                    read.push(id);
                } else {
                    let on = c.from.server.clone().unwrap_or_else(|| server.clone());
                    off.push((
                        id.clone(),
                        Step::command(
                            self.shell_of(&on),
                            format!(
                                "Set-ReceiveConnector \"{id}\" -TlsDomainCapabilities {}:AcceptCloudServicesMail",
                                self.eop_tls_domain()
                            ),
                        ),
                    ));
                }
            }
        }
        if let Some(i) = exo_inbound_connector(export) {
            let id = i.item.name.text().unwrap_or("?").to_string();
            match i.item.cloud_services_mail.get() {
                Some(true) => read.push(id),
                Some(false) => off.push((
                    id.clone(),
                    Step::command(
                        Place::ExchangeOnline,
                        format!("Set-InboundConnector \"{id}\" -CloudServicesMailEnabled $true"),
                    ),
                )),
                None => {}
            }
        }
        if let Some(o) = exo_outbound_connector(export) {
            let id = o.item.name.text().unwrap_or("?").to_string();
            match o.item.cloud_services_mail.get() {
                Some(true) => read.push(id),
                Some(false) => off.push((
                    id.clone(),
                    Step::command(
                        Place::ExchangeOnline,
                        format!("Set-OutboundConnector \"{id}\" -CloudServicesMailEnabled $true"),
                    ),
                )),
                None => {}
            }
        }
        if read.is_empty() && off.is_empty() {
            return Vec::new();
        }
        let result = if off.is_empty() {
            let status = if export.has_exchange_online() {
                Status::Pass
            } else {
                Status::Info
            };
            let mut r = CheckResult::new(
                &CLOUD_MAIL,
                status,
                "hybrid connectors",
                format!("set on {}", read.join(", ")),
            );
            if !export.has_exchange_online() {
                r.summary
                    .push_str(" (Exchange Online's connectors were not exported)");
            }
            r
        } else {
            CheckResult::new(
                &CLOUD_MAIL,
                Status::Fail,
                "hybrid connectors",
                format!(
                    "not set on {}: mail between on-premises and Exchange Online arrives as external",
                    off.iter().map(|(i, _)| i.as_str()).collect::<Vec<_>>().join(", ")
                ),
            )
            .remediation(Remediation::steps(off.iter().map(|(_, f)| f.clone())))
        };
        vec![result.evidence("exchange:send_connectors").on(self.hop_to_eop())]
    }

    /// The TlsDomain EOP's certificate carries in this organisation's cloud.
    fn eop_tls_domain(&self) -> &'static str {
        let instance = self
            .export()
            .hybrid
            .first()
            .and_then(|h| h.item.service_instance.get().copied());
        if instance == Some(1) {
            crate::cloud::Cloud::China21Vianet.names().eop_tls_domain
        } else {
            self.input.profile.tenant.cloud.names().eop_tls_domain
        }
    }

    /// `config.send.eop_tls` and `config.send.legacy_smart_host`.
    fn send_tls(&self) -> Vec<CheckResult> {
        let mut out = Vec::new();
        let want = self.eop_tls_domain();
        for c in eop_send_connectors(self.export()) {
            let s = &c.item;
            let id = s.name.text().unwrap_or("?").to_string();
            let mut wrong = Vec::new();
            if s.require_tls.get() == Some(&false) {
                wrong.push("RequireTLS False".to_string());
            }
            match s.tls_auth_level.name() {
                Some(l) if l.eq_ignore_ascii_case("DomainValidation") => {}
                Some(l) => wrong.push(format!("TlsAuthLevel {l}")),
                None => wrong.push("TlsAuthLevel not set".into()),
            }
            match s.tls_domain.text() {
                Some(d) if d.eq_ignore_ascii_case(want) => {}
                Some(d) => wrong.push(format!("TlsDomain {d}")),
                None => wrong.push("TlsDomain not set".into()),
            }
            let r = if wrong.is_empty() && s.require_tls.get().is_none() {
                // Never a pass on what was not read.
                CheckResult::new(
                    &SEND_EOP_TLS,
                    Status::Info,
                    id.clone(),
                    format!("DomainValidation, TlsDomain {want}; RequireTLS was not read"),
                )
            } else if wrong.is_empty() {
                CheckResult::new(
                    &SEND_EOP_TLS,
                    Status::Pass,
                    id.clone(),
                    format!("RequireTLS, DomainValidation, TlsDomain {want}"),
                )
            } else {
                CheckResult::new(
                    &SEND_EOP_TLS,
                    if s.require_tls.get() == Some(&false) {
                        Status::Fail
                    } else {
                        Status::Warn
                    },
                    id.clone(),
                    format!(
                        "{}; the HCW sets RequireTLS, DomainValidation, TlsDomain {want}",
                        wrong.join(", ")
                    ),
                )
                .remediation(Remediation::steps([
                    Step::command(
                        Place::MailboxShell,
                        format!(
                            "Set-SendConnector \"{id}\" -RequireTLS $true -TlsAuthLevel DomainValidation -TlsDomain {want}"
                        ),
                    ),
                    Step::confirm(
                        Place::MailboxShell,
                        format!("Get-SendConnector \"{id}\" | Format-List RequireTLS,TlsAuthLevel,TlsDomain"),
                    ),
                ]))
            };
            out.push(r.evidence(c.from.evidence_id()).on(self.hop_to_eop()));
            let legacy: Vec<&String> = s
                .smart_hosts
                .list()
                .iter()
                .filter(|h| {
                    let bare = h.trim().trim_start_matches('[').trim_end_matches(']');
                    is_retired_office365_host(bare) || bare.parse::<std::net::IpAddr>().is_ok()
                })
                .collect();
            let spaces: Vec<String> = s
                .address_spaces
                .list()
                .iter()
                .map(|a| address_space_domain(a))
                .collect();
            let r = if legacy.is_empty() {
                CheckResult::new(
                    &SEND_LEGACY,
                    Status::Pass,
                    id.clone(),
                    if s.smart_hosts.list().is_empty() {
                        format!("MX lookup of {}", spaces.join(", "))
                    } else {
                        format!("smart hosts {}", s.smart_hosts.list().join(", "))
                    },
                )
            } else {
                CheckResult::new(
                    &SEND_LEGACY,
                    Status::Fail,
                    id.clone(),
                    format!(
                        "legacy smart host(s) {}: 451 4.4.62 Mail sent to the wrong Office 365 \
                    region. ATTR35",
                        legacy.iter().map(|h| h.as_str()).collect::<Vec<_>>().join(", ")
                    ),
                )
                .remediation(Remediation::steps([
                    Step::prose(format!(
                        "Send by MX lookup of {}, as the HCW sets it:",
                        self.topology.routing_domain
                    )),
                    Step::command(
                        Place::MailboxShell,
                        format!("Set-SendConnector \"{id}\" -DNSRoutingEnabled $true -SmartHosts $null"),
                    ),
                    Step::prose("Or keep a smart host, the tenant's own endpoint:"),
                    Step::command(
                        Place::MailboxShell,
                        format!(
                            "Set-SendConnector \"{id}\" -SmartHosts {}",
                            self.input.profile.eop_endpoint()
                        ),
                    ),
                    Step::confirm(
                        Place::MailboxShell,
                        format!("Get-SendConnector \"{id}\" | Format-List DNSRoutingEnabled,SmartHosts"),
                    ),
                ]))
            };
            out.push(r.evidence(c.from.evidence_id()).on(self.hop_to_eop()));
        }
        out
    }

    /// `config.exo_outbound.validated` and `config.exo_outbound.receivers`.
    fn exo_outbound(&self) -> Vec<CheckResult> {
        let export = self.export();
        let Some(o) = exo_outbound_connector(export) else {
            return Vec::new();
        };
        let id = o.item.name.text().unwrap_or("?").to_string();
        let mut out = Vec::new();
        let last = o.item.last_validation.get().map(|w| w.0);
        let validated = o.item.is_validated.get().copied();
        let old = last.is_some_and(|t| self.input.now - t > Duration::days(VALIDATION_MAX_AGE_DAYS));
        let fix = Remediation::steps([
            Step::command(
                Place::ExchangeOnline,
                format!("Validate-OutboundConnector -Identity \"{id}\" -Recipients <a mailbox on-premises>"),
            ),
            Step::confirm(
                Place::ExchangeOnline,
                format!("Get-OutboundConnector \"{id}\" | Format-List IsValidated,LastValidationTimestamp"),
            ),
        ]);
        let r = match (validated, last) {
            (Some(true), Some(t)) if !old => CheckResult::new(
                &EXO_VALIDATED,
                Status::Pass,
                id.clone(),
                format!("validated {}", crate::exchange::short_time(t)),
            ),
            (Some(true), Some(t)) => CheckResult::new(
                &EXO_VALIDATED,
                Status::Warn,
                id.clone(),
                format!(
                    "last validated {}, more than {VALIDATION_MAX_AGE_DAYS} days ago",
                    crate::exchange::short_time(t)
                ),
            )
            .remediation(fix.clone()),
            (Some(false), _) => CheckResult::new(
                &EXO_VALIDATED,
                Status::Warn,
                id.clone(),
                "IsValidated False: the route to on-premises was never proved (or failed \
                its last validation)",
            )
            .remediation(fix),
            _ => CheckResult::new(
                &EXO_VALIDATED,
                Status::Info,
                id.clone(),
                "IsValidated or LastValidationTimestamp was not exported",
            ),
        };
        out.push(r.evidence(o.from.evidence_id()).on(self.hop_from_eop()));
        // The smart hosts must be names the EOP-facing receive connectors announce or the hybrid
        // configuration records as the on-premises smart host.
        let hosts = o.item.smart_hosts.list();
        if !hosts.is_empty() && export.has_on_premises() {
            let mut receivers: Vec<String> = Vec::new();
            for server in self.facing_servers() {
                for c in eop_receive_connectors(export, &server) {
                    if let Some(f) = c.item.fqdn.text() {
                        receivers.push(f.to_ascii_lowercase());
                    }
                }
                receivers.push(server.to_ascii_lowercase());
            }
            for h in &export.hybrid {
                if let Some(s) = h.item.on_premises_smart_host.text() {
                    receivers.push(s.to_ascii_lowercase());
                }
            }
            let unknown: Vec<&String> = hosts
                .iter()
                .filter(|h| !receivers.iter().any(|r| r.eq_ignore_ascii_case(h)))
                .collect();
            let r = if unknown.is_empty() {
                CheckResult::new(
                    &EXO_SMART_HOSTS,
                    Status::Pass,
                    id.clone(),
                    format!(
                        "smart hosts {} are the receiving servers' names",
                        hosts.join(", ")
                    ),
                )
            } else {
                CheckResult::new(
                    &EXO_SMART_HOSTS,
                    Status::Warn,
                    id.clone(),
                    format!(
                        "smart host(s) {} are not a name of the servers that take EOP's mail ({})",
                        unknown.iter().map(|h| h.as_str()).collect::<Vec<_>>().join(", "),
                        receivers.join(", ")
                    ),
                )
                .remediation(Remediation::steps([
                    Step::command(
                        Place::ExchangeOnline,
                        format!(
                            "Set-OutboundConnector \"{id}\" -SmartHosts {}",
                            if self.topology.public_names.is_empty() {
                                "<the public name of the hybrid servers>".to_string()
                            } else {
                                self.topology.public_names.join(",")
                            }
                        ),
                    ),
                    Step::prose("Or rerun the Hybrid Configuration Wizard, which sets them."),
                    Step::confirm(
                        Place::ExchangeOnline,
                        format!("Get-OutboundConnector \"{id}\" | Format-List Name,SmartHosts"),
                    ),
                ]))
            };
            out.push(r.evidence(o.from.evidence_id()).on(self.hop_from_eop()));
        }
        out
    }

    /// `config.receive.eop_ranges`.
    fn receive_ranges(&self) -> Vec<CheckResult> {
        let p = self.input.profile;
        let (list, source) = if p.eop_ip_ranges.is_empty() {
            (
                eop_ranges(),
                format!("the list shipped with mailpath, published {}", eop_ranges_date()),
            )
        } else {
            (p.eop_ip_ranges.clone(), "the profile's eop_ip_ranges".to_string())
        };
        let mut bad = Vec::new();
        let eop: Vec<IpRange> = list
            .iter()
            .filter_map(|r| IpRange::parse(r).map_err(|e| bad.push(e.to_string())).ok())
            .collect();
        let mut out = Vec::new();
        for server in self.facing_servers() {
            for c in eop_receive_connectors(self.export(), &server) {
                let id = c
                    .item
                    .identity
                    .text()
                    .or(c.item.name.text())
                    .unwrap_or("?")
                    .to_string();
                let mut unreadable = Vec::new();
                let allowed: Vec<IpRange> = c
                    .item
                    .remote_ip_ranges
                    .list()
                    .iter()
                    .filter_map(|r| IpRange::parse(r).map_err(|e| unreadable.push(e.to_string())).ok())
                    .collect();
                let target = format!("{id} on {}", c.from.server.as_deref().unwrap_or(&server));
                let r = if c.item.remote_ip_ranges.get().is_none() {
                    CheckResult::new(
                        &RECEIVE_RANGES,
                        Status::Skip,
                        target,
                        "RemoteIPRanges was not read",
                    )
                } else {
                    let missing: Vec<&IpRange> = eop.iter().filter(|e| !covered(&allowed, e)).collect();
                    if missing.is_empty() {
                        CheckResult::new(
                            &RECEIVE_RANGES,
                            Status::Pass,
                            target,
                            format!("RemoteIPRanges covers EOP's {} ranges", eop.len()),
                        )
                    } else {
                        let shown: Vec<String> = missing.iter().map(ToString::to_string).collect();
                        CheckResult::new(
                            &RECEIVE_RANGES,
                            Status::Fail,
                            target,
                            format!("RemoteIPRanges leaves out EOP's {}", shown.join(", ")),
                        )
                        .remediation({
                            let shell = self.shell_of(c.from.server.as_deref().unwrap_or(&server));
                            Remediation::steps([
                                Step::command(
                                    shell,
                                    format!(
                                        "Set-ReceiveConnector \"{id}\" -RemoteIPRanges @{{Add=\"{}\"}}",
                                        list.join("\",\"")
                                    ),
                                ),
                                Step::confirm(
                                    shell,
                                    format!(
                                        "Get-ReceiveConnector \"{id}\" | Format-List Identity,RemoteIPRanges"
                                    ),
                                ),
                            ])
                        })
                    }
                };
                let mut detail = format!("EOP ranges: {source}");
                if !bad.is_empty() {
                    detail.push_str(&format!("; unreadable in the list: {}", bad.join("; ")));
                }
                if !unreadable.is_empty() {
                    detail.push_str(&format!(
                        "; unreadable in RemoteIPRanges: {}",
                        unreadable.join("; ")
                    ));
                }
                out.push(
                    r.detail(detail)
                        .evidence(c.from.evidence_id())
                        .on(self.hop_from_eop()),
                );
            }
        }
        out
    }

    /// `config.edge.subscription`.
    fn edge(&self) -> Vec<CheckResult> {
        let export = self.export();
        let p = self.input.profile;
        if !p.uses_edge() {
            return Vec::new();
        }
        let on = Attachment::Hop(hop::MAILBOX_EDGE.into());
        let mut out = Vec::new();
        for edge in p.hybrid_edges() {
            let target = edge.fqdn.clone();
            let sub = export
                .edge_subscriptions
                .iter()
                .find(|s| s.item.name.text().is_some_and(|n| same_server(n, &edge.fqdn)));
            let sync = export
                .edge_sync
                .iter()
                .find(|s| s.item.name.text().is_some_and(|n| same_server(n, &edge.fqdn)));
            let site = export
                .servers
                .iter()
                .filter(|s| !s.item.is_edge.or(false))
                .find_map(|s| s.item.site.text())
                .unwrap_or("<AD site>");
            let fix = Remediation::steps([
                Step::prose(format!("On {}, export a subscription file:", edge.fqdn)).at(Place::EdgeShell),
                Step::command(
                    Place::EdgeShell,
                    "New-EdgeSubscription -FileName C:\\EdgeSubscription.xml",
                ),
                Step::prose(
                    "Copy the file to a Mailbox server of the site, import it there and synchronise:",
                ),
                Step::command(
                    Place::MailboxShell,
                    format!(
                        "New-EdgeSubscription -FileData ([System.IO.File]::ReadAllBytes('C:\\EdgeSubscription.xml')) \
                         -Site \"{site}\""
                    ),
                ),
                Step::command(Place::MailboxShell, "Start-EdgeSynchronization"),
                Step::confirm(
                    Place::MailboxShell,
                    "Test-EdgeSynchronization -ExcludeRecipientTest",
                ),
            ]);
            let r = if !export.section_ok("edge_subscriptions", None) {
                CheckResult::new(
                    &EDGE_SYNC,
                    Status::Skip,
                    target,
                    "Get-EdgeSubscription was not exported (run the script on a Mailbox server)",
                )
            } else if sub.is_none() {
                CheckResult::new(
                    &EDGE_SYNC,
                    Status::Fail,
                    target,
                    "no Edge subscription for this Edge",
                )
                .remediation(fix)
            } else {
                match sync.map(|s| (s.item.sync_status.name(), s.item.failure_detail.text())) {
                    Some((Some(s), _)) if s.eq_ignore_ascii_case("Normal") => {
                        CheckResult::new(&EDGE_SYNC, Status::Pass, target, "subscribed, SyncStatus Normal")
                    }
                    Some((Some(s), detail)) => CheckResult::new(
                        &EDGE_SYNC,
                        Status::Fail,
                        target,
                        format!(
                            "subscribed, SyncStatus {s}{}",
                            detail.map(|d| format!(": {d}")).unwrap_or_default()
                        ),
                    )
                    .remediation(Remediation::steps([
                        Step::prose(format!(
                            "Check that TCP 50636 (EdgeSync's LDAP over TLS) reaches {} from each Mailbox server:",
                            edge.fqdn
                        )),
                        Step::confirm(
                            Place::MailboxShell,
                            format!("Test-NetConnection {} -Port 50636", edge.fqdn),
                        ),
                        Step::prose("Once it does, synchronise again:"),
                        Step::command(Place::MailboxShell, "Start-EdgeSynchronization"),
                        Step::confirm(Place::MailboxShell, "Test-EdgeSynchronization -ExcludeRecipientTest"),
                    ])),
                    _ => CheckResult::new(
                        &EDGE_SYNC,
                        Status::Info,
                        target,
                        "subscribed; its synchronisation was not exported (Test-EdgeSynchronization)",
                    ),
                }
            };
            out.push(r.evidence("exchange:edge_subscriptions").on(on.clone()));
        }
        out
    }

    /// `config.queue.last_error`: each queue with a LastError, on the hop it belongs to.
    fn queues(&self) -> Vec<CheckResult> {
        let export = self.export();
        let routing = self.topology.routing_domain.to_ascii_lowercase();
        let mut out = Vec::new();
        for q in &export.queues {
            let Some(error) = q.item.last_error.text() else {
                continue;
            };
            let next = q.item.next_hop_domain.text().unwrap_or("?").to_ascii_lowercase();
            let server = q.from.server.clone().unwrap_or_default();
            let to_eop = next == routing
                || next.ends_with(".mail.onmicrosoft.com")
                || next.ends_with(".mail.protection.outlook.com")
                || next.ends_with(".outlook.com");
            let to_edge = self
                .input
                .profile
                .edges
                .iter()
                .any(|e| same_server(&e.fqdn, &next) || next.contains("edge"));
            let attachment = if to_eop {
                self.hop_to_eop()
            } else if to_edge {
                Attachment::Hop(hop::MAILBOX_EDGE.into())
            } else {
                Attachment::Node("mailbox".into())
            };
            let count = q.item.message_count.get().copied().unwrap_or(0);
            let status = q.item.status.name().unwrap_or("?");
            let severity = if status.eq_ignore_ascii_case("Retry") || status.eq_ignore_ascii_case("Suspended")
            {
                Status::Fail
            } else {
                Status::Warn
            };
            out.push(
                CheckResult::new(
                    &QUEUE_ERROR,
                    severity,
                    format!("{} ({next})", q.item.identity.text().unwrap_or("?")),
                    format!("{status}, {count} message(s): {error}"),
                )
                .detail(format!("on {server}, {}", q.from.describe()))
                .remediation({
                    let identity = q.item.identity.text().unwrap_or("?");
                    let shell = self.shell_of(&server);
                    Remediation::steps([
                        Step::prose("Decode the reply:"),
                        Step::confirm(
                            Place::Workstation,
                            format!("mailpath explain \"{}\"", error.replace('"', "'")),
                        ),
                        Step::prose("Look at the queue:"),
                        Step::confirm(shell, format!("Get-Queue -Identity \"{identity}\" | Format-List")),
                        Step::prose("Once the cause is fixed, retry it:"),
                        Step::command(shell, format!("Retry-Queue -Identity \"{identity}\"")),
                    ])
                })
                .evidence(q.from.evidence_id())
                .on(attachment),
            );
        }
        if out.is_empty() && export.section_ok("queues", None) {
            out.push(
                CheckResult::new(
                    &QUEUE_ERROR,
                    Status::Pass,
                    "queues",
                    format!(
                        "no queue with a LastError on {} server(s)",
                        export
                            .sections
                            .iter()
                            .filter(|s| s.from.section == "queues" && s.error.is_none())
                            .count()
                    ),
                )
                .evidence("exchange:queues")
                .on(Attachment::Node("mailbox".into())),
            );
        }
        out
    }
}

#[cfg(test)]
mod tests;
