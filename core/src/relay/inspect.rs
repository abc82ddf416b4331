//! Judging what the relay captured: the session (TLS, the client certificate against the name the
//! connector expects) and each message (its hybrid headers), as `relay.*` and `headers.*` checks,
//! plus EOP's attribution decision used by the `eop` role's policy.

use rustls_pki_types::CertificateDer;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::Role;
use super::spool::MessageMeta;
use super::tls::CertSummary;
use crate::cert::{Trust, Usage, verify_chain_for};
use crate::check::{Attachment, CheckDef, CheckResult, Place, Remediation, Status, Step};
use crate::checks::cert::{CertCheckContext, CertDefs, ExpectedName, client_cert_checks};
use crate::checks::chain::{self, CABF_BR, ChainDefs, RFC5280, TRUST_STATUS};
use crate::headers::{self, Classification, Context, Verdict};
use crate::smtp::server::{SessionInfo, SessionPolicy, domain_accepted};

const INBOUND_CONNECTOR: &str = "https://learn.microsoft.com/powershell/module/exchange/set-inboundconnector";
const CERT_REQUIREMENTS: &str = "https://learn.microsoft.com/exchange/certificate-requirements#certificate-requirements-for-hybrid-deployments";
const TLS12: &str = "https://learn.microsoft.com/exchange/exchange-tls-configuration";
const RFC8446_CERTIFICATE_VERIFY: &str = "https://www.rfc-editor.org/rfc/rfc8446#section-4.4.3";
const RECEIVE_CONNECTOR: &str = "https://learn.microsoft.com/powershell/module/exchange/set-receiveconnector";

/// `relay.tls`.
pub const TLS: CheckDef = CheckDef {
    id: "relay.tls",
    title: "Sender used TLS 1.2 or newer",
    why: "Hybrid connectors require TLS; Exchange Online refuses mail from on-premises without it \
          (451 5.7.3 STARTTLS is required to send mail).",
    references: &[TLS12],
};
/// `relay.client-cert`.
pub const CLIENT_CERT: CheckDef = CheckDef {
    id: "relay.client-cert",
    title: "Sender presented a client certificate",
    why: "Exchange Online attributes mail from on-premises to the tenant by the certificate the sending server \
          presents; without one the connection cannot match the inbound connector.",
    references: &[INBOUND_CONNECTOR, CERT_REQUIREMENTS],
};
/// `relay.client-cert.name`.
pub const CLIENT_CERT_NAME: CheckDef = CheckDef {
    id: "relay.client-cert.name",
    title: "Client certificate matches the expected name",
    why: "The subject or a SAN of the sender's certificate must match the connector's TlsSenderCertificateName \
          (EOP) or TlsDomainCapabilities domain (on-premises); otherwise EOP answers 550 5.7.64 \
          TenantAttribution; Relay Access Denied, or on-premises treats EOP as anonymous.",
    references: &[INBOUND_CONNECTOR, RECEIVE_CONNECTOR],
};
/// `relay.client-cert.trust`.
pub const CLIENT_CERT_TRUST: CheckDef = CheckDef {
    id: "relay.client-cert.trust",
    title: "Client certificate chain is trusted",
    why: "Exchange Online does not fetch intermediates and trusts only public CAs: the sender must send its full \
          chain, issued by a CA the receiver trusts.",
    references: &[CERT_REQUIREMENTS],
};
/// `relay.client-cert.validity`.
pub const CLIENT_CERT_VALIDITY: CheckDef = CheckDef {
    id: "relay.client-cert.validity",
    title: "Client certificate is within its validity period",
    why: "An expired certificate breaks the TLS authentication of the connector the day it expires.",
    references: &[CERT_REQUIREMENTS],
};
/// `relay.client-cert.chain`.
pub const CLIENT_CERT_CHAIN: CheckDef = CheckDef {
    id: "relay.client-cert.chain",
    title: "Sender sends the intermediate certificates",
    why: "Exchange Online does not fetch missing intermediates: a sender that presents only its leaf cannot be \
          verified (UntrustedRoot) and is not attributed to the tenant.",
    references: &[CERT_REQUIREMENTS],
};
/// `relay.client-cert.expiry`.
pub const CLIENT_CERT_EXPIRY: CheckDef = CheckDef {
    id: "relay.client-cert.expiry",
    title: "Client certificate does not expire within 60 days",
    why: "Renewing the hybrid certificate means updating TlsCertificateName on the send connector and rerunning \
          the HCW; start 60 days ahead (as the probes' tls.cert.expiry).",
    references: &[CERT_REQUIREMENTS],
};
/// `relay.client-cert.key`.
pub const CLIENT_CERT_KEY: CheckDef = CheckDef {
    id: "relay.client-cert.key",
    title: "Client certificate key is strong enough",
    why: "RSA keys under 2048 bits (or EC under 256) are refused by modern TLS stacks, Exchange Online included: \
          the handshake fails or the certificate is ignored.",
    references: &[CERT_REQUIREMENTS],
};
/// `relay.client-cert.signature`.
pub const CLIENT_CERT_SIGNATURE: CheckDef = CheckDef {
    id: "relay.client-cert.signature",
    title: "No weak signature hash in the client chain",
    why: "MD5/MD2 anywhere in the chain fails TLS 1.2 (KB 3027536); SHA-1 signatures are refused too.",
    references: &[CERT_REQUIREMENTS],
};
/// `relay.client-cert.eku`.
pub const CLIENT_CERT_EKU: CheckDef = CheckDef {
    id: "relay.client-cert.eku",
    title: "Client certificate is usable for client authentication",
    why: "The send connector presents the hybrid certificate as a TLS client certificate; without the clientAuth \
          usage the receiver cannot accept it for authentication.",
    references: &[CERT_REQUIREMENTS],
};

/// `relay.client-cert.chain.ca_validity`.
pub const CLIENT_CHAIN_CA_VALIDITY: CheckDef = CheckDef {
    id: "relay.client-cert.chain.ca_validity",
    title: "Every CA certificate of the client's chain, the root included, is within its validity period",
    why: "The receiver verifies the chain the sender presents: an expired intermediate or root \
          (CERT_TRUST_IS_NOT_TIME_VALID on Windows) leaves the certificate unverified although the leaf is valid, \
          so it does not attribute the connection (EOP: 550 5.7.64 TenantAttribution).",
    references: &[TRUST_STATUS, RFC5280, CERT_REQUIREMENTS],
};
/// `relay.client-cert.chain.ca_constraints`.
pub const CLIENT_CHAIN_CA_CONSTRAINTS: CheckDef = CheckDef {
    id: "relay.client-cert.chain.ca_constraints",
    title: "Every issuing certificate of the client's chain is a CA (basicConstraints CA=true, critical)",
    why: "A certificate issued by something that is not a CA is refused (CERT_TRUST_INVALID_BASIC_CONSTRAINTS; \
          RFC 5280 6.1.4 (k)): the sender is not authenticated by it.",
    references: &[RFC5280, TRUST_STATUS],
};
/// `relay.client-cert.chain.ca_key_usage`.
pub const CLIENT_CHAIN_CA_KEY_USAGE: CheckDef = CheckDef {
    id: "relay.client-cert.chain.ca_key_usage",
    title: "Every issuing certificate of the client's chain may sign certificates (keyUsage keyCertSign)",
    ..chain::CA_KEY_USAGE
};
/// `relay.client-cert.chain.path_length`.
pub const CLIENT_CHAIN_PATH_LENGTH: CheckDef = CheckDef {
    id: "relay.client-cert.chain.path_length",
    title: "No CA of the client's chain has more intermediates below it than its pathLenConstraint allows",
    ..chain::PATH_LENGTH
};
/// `relay.client-cert.chain.leaf_ca`.
pub const CLIENT_CHAIN_LEAF_CA: CheckDef = CheckDef {
    id: "relay.client-cert.chain.leaf_ca",
    title: "The client certificate is not a CA certificate",
    why: "A certificate with CA=true or keyCertSign could issue certificates for any name; verifiers refuse it as \
          an end-entity certificate and public CAs never issue one (CA/Browser Forum BR 7.1.2.7).",
    references: &[CABF_BR, RFC5280],
};
/// `relay.client-cert.chain.leaf_key_usage`.
pub const CLIENT_CHAIN_LEAF_KEY_USAGE: CheckDef = CheckDef {
    id: "relay.client-cert.chain.leaf_key_usage",
    title: "The client certificate's keyUsage lets it sign the handshake (digitalSignature)",
    why: "A TLS client proves it holds the key by signing the handshake (CertificateVerify, RFC 8446 4.4.3, \
          RFC 5246 7.4.8): a keyUsage without digitalSignature forbids that, whatever the key (keyEncipherment \
          serves only a server; RFC 5280 4.2.1.3), and receivers refuse the certificate (OpenSSL: unsuitable \
          certificate purpose).",
    references: &[RFC8446_CERTIFICATE_VERIFY, RFC5280],
};
/// `relay.client-cert.chain.critical_extensions`.
pub const CLIENT_CHAIN_CRITICAL_EXTENSIONS: CheckDef = CheckDef {
    id: "relay.client-cert.chain.critical_extensions",
    title: "No certificate of the client's chain has an unknown critical extension",
    ..chain::CRITICAL_EXTENSIONS
};
/// `relay.client-cert.chain.name_constraints`.
pub const CLIENT_CHAIN_NAME_CONSTRAINTS: CheckDef = CheckDef {
    id: "relay.client-cert.chain.name_constraints",
    title: "The client certificate's names are within every CA's name constraints",
    ..chain::NAME_CONSTRAINTS
};
/// `relay.client-cert.chain.key_ids`.
pub const CLIENT_CHAIN_KEY_IDS: CheckDef = CheckDef {
    id: "relay.client-cert.chain.key_ids",
    title: "Authority and subject key identifiers of the client's chain are present and match",
    why: "Windows finds a certificate's issuer by its authorityKeyIdentifier: a mismatch leaves the chain \
          incomplete (UntrustedRoot). Missing identifiers break RFC 5280 4.2.1.1/4.2.1.2 but Windows still builds \
          the chain by name.",
    references: &[RFC5280],
};
/// `relay.client-cert.san`.
pub const CLIENT_CERT_SAN: CheckDef = CheckDef {
    id: "relay.client-cert.san",
    title: "The client certificate carries its names in the subjectAltName",
    why: "Exchange Online matches TlsSenderCertificateName against the subject CN or the subjectAltName, so a \
          CN-only certificate attributes; RFC 6125 and the CA/Browser Forum require the subjectAltName, and public \
          CAs always add it.",
    references: &[CERT_REQUIREMENTS, CABF_BR],
};

/// The path-validation rules of a client's chain, under `relay.client-cert.chain.*` and `relay.client-cert.san`.
pub const CLIENT_CHAIN_DEFS: ChainDefs = ChainDefs {
    usage: Usage::Client,
    defs: [
        CLIENT_CHAIN_CA_VALIDITY,
        CLIENT_CHAIN_CA_CONSTRAINTS,
        CLIENT_CHAIN_CA_KEY_USAGE,
        CLIENT_CHAIN_PATH_LENGTH,
        CLIENT_CHAIN_LEAF_CA,
        CLIENT_CHAIN_LEAF_KEY_USAGE,
        CLIENT_CHAIN_CRITICAL_EXTENSIONS,
        CLIENT_CHAIN_NAME_CONSTRAINTS,
        CLIENT_CHAIN_KEY_IDS,
        CLIENT_CERT_SAN,
    ],
};

/// The client certificate is judged by the probes' certificate checks
/// ([`crate::checks::cert::client_cert_checks`]) under these `relay.client-cert.*` ids.
pub const CLIENT_CERT_DEFS: CertDefs = CertDefs {
    present: CLIENT_CERT,
    trusted: CLIENT_CERT_TRUST,
    chain_complete: CLIENT_CERT_CHAIN,
    name: CLIENT_CERT_NAME,
    validity: CLIENT_CERT_VALIDITY,
    expiry: CLIENT_CERT_EXPIRY,
    key: CLIENT_CERT_KEY,
    signature: CLIENT_CERT_SIGNATURE,
    eku: CLIENT_CERT_EKU,
    rules: CLIENT_CHAIN_DEFS,
};
/// `relay.verdict`.
pub const VERDICT: CheckDef = CheckDef {
    id: "relay.verdict",
    title: "Message would arrive as internal",
    why: "Mail between on-premises and Exchange Online must keep its organization headers and be attributed \
          to the tenant; otherwise it is treated as internet mail (anti-spam, transport rules, Junk).",
    references: &[INBOUND_CONNECTOR],
};

/// Every definition of this module but the path-validation rules ([`CLIENT_CHAIN_DEFS`]).
pub const DEFS: &[CheckDef] = &[
    TLS,
    CLIENT_CERT,
    CLIENT_CERT_TRUST,
    CLIENT_CERT_CHAIN,
    CLIENT_CERT_NAME,
    CLIENT_CERT_VALIDITY,
    CLIENT_CERT_EXPIRY,
    CLIENT_CERT_KEY,
    CLIENT_CERT_SIGNATURE,
    CLIENT_CERT_EKU,
    VERDICT,
];

/// Certificates expiring within this many days get a warning (the probes' threshold).
pub const EXPIRY_WARN_DAYS: i64 = crate::checks::cert::EXPIRY_WARNING_DAYS;

/// The system trust store, loaded once (client chains are verified against it without
/// `--client-ca`).
fn system_trust() -> &'static Trust {
    static SYSTEM: std::sync::OnceLock<Trust> = std::sync::OnceLock::new();
    SYSTEM.get_or_init(|| Trust::system().unwrap_or_default())
}

/// What the judgement needs to know about the relay.
#[derive(Debug, Clone, Default)]
pub struct Inspector {
    /// The role played.
    pub role: Role,
    /// Names the sender's certificate must match (TlsSenderCertificateName for `eop`, the
    /// TlsDomainCapabilities domain such as `mail.protection.outlook.com` for `edge`/`mailbox`).
    pub expected_names: Vec<String>,
    /// Trust anchors for client chains (`--client-ca`); `None` = the system store, for the
    /// `relay.client-cert.trust` check and for the attribution alike.
    pub client_roots: Option<Vec<CertificateDer<'static>>>,
    /// The organization's domains, for the header analysis.
    pub org_domains: Vec<String>,
}

/// Trust anchors from DER certificates (`--client-ca`).
fn anchors(roots: &[CertificateDer<'static>]) -> Trust {
    let mut trust = Trust::empty().named("--client-ca");
    for root in roots {
        trust.add_der(root.clone());
    }
    trust
}

/// The fix for a sender that did not use TLS: on-premises' send connector towards EOP (the eop role), or
/// Exchange Online's outbound connector towards on-premises (the edge and mailbox roles).
fn no_tls_fix(role: Role) -> Remediation {
    match role {
        Role::Eop | Role::Sink => Remediation::steps([
            Step::command(
                Place::MailboxShell,
                "Set-SendConnector \"Outbound to Office 365 - <GUID>\" -RequireTLS $true",
            ),
            Step::prose(
                "The sending server (the Edge, or the Mailbox servers without one) needs a certificate enabled for SMTP:",
            ),
            Step::confirm(
                Place::ExchangeShell,
                "Get-ExchangeCertificate | Where-Object { $_.Services -match 'SMTP' } | Format-List Thumbprint,Services,Subject,NotAfter",
            ),
        ]),
        Role::Edge | Role::Mailbox => Remediation::steps([
            Step::command(
                Place::ExchangeOnline,
                "Set-OutboundConnector \"Outbound to <GUID>\" -TlsSettings DomainValidation -TlsDomain <name on the on-premises certificate>",
            ),
            Step::confirm(
                Place::ExchangeOnline,
                "Get-OutboundConnector \"Outbound to <GUID>\" | Format-List TlsSettings,TlsDomain,SmartHosts",
            ),
        ]),
    }
}

/// How EOP would attribute a session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Attribution {
    /// The certificate matched this expected name and its chain verified (against `--client-ca`, or
    /// the system store without it).
    Matched(String),
    /// Not attributed, and why.
    Refused(String),
}

impl Inspector {
    /// EOP's attribution of a session: TLS, a client certificate, a matching name, a trusted chain.
    pub fn attribution(&self, session: &SessionInfo) -> Attribution {
        let Some(tls) = &session.tls else {
            return Attribution::Refused("no TLS".into());
        };
        let chain = tls.client_chain();
        let Some(leaf) = chain.first() else {
            return Attribution::Refused("no client certificate".into());
        };
        let summary = match CertSummary::parse(leaf) {
            Ok(s) => s,
            Err(e) => return Attribution::Refused(format!("unreadable client certificate: {e}")),
        };
        let Some(name) = summary.matching(&self.expected_names) else {
            return Attribution::Refused(format!(
                "certificate names {} do not match {}",
                summary.names().join(", "),
                self.expected_names.join(", ")
            ));
        };
        // ATTR36: the certificate's domain must be an accepted domain of the tenant.
        if !self.org_domains.is_empty() {
            let in_accepted = summary
                .names()
                .into_iter()
                .filter(|n| super::tls::name_matches(n, name))
                .any(|n| {
                    let n = n
                        .trim_start_matches("*.")
                        .trim_end_matches('.')
                        .to_ascii_lowercase();
                    self.org_domains.iter().any(|d| {
                        let d = d.trim_end_matches('.').to_ascii_lowercase();
                        n == d || n.ends_with(&format!(".{d}"))
                    })
                });
            if !in_accepted {
                return Attribution::Refused(format!(
                    "the certificate's domain is not an accepted domain ({}): ATTR36",
                    self.org_domains.join(", ")
                ));
            }
        }
        // A name is only worth something when the chain verifies: anyone can make a self-signed
        // certificate with the right name.
        let trust = self.trust();
        if trust.is_empty() {
            return Attribution::Refused(format!(
                "no trust anchors to verify the certificate chain ({})",
                trust.description()
            ));
        }
        let chain: Vec<CertificateDer<'_>> =
            chain.iter().map(|c| CertificateDer::from(c.as_slice())).collect();
        let now = OffsetDateTime::now_utc();
        let verdict = verify_chain_for(&chain, &trust, now, Usage::Client);
        if !verdict.trusted {
            return Attribution::Refused(format!("certificate chain not trusted: {}", verdict.message));
        }
        // What webpki does not judge and the receiver's chain engine does (the leaf's keyUsage, key
        // identifiers): the same rules the relay.client-cert.chain.* checks report.
        let broken =
            crate::chain_rules::analyse(&chain, trust.anchor_certs(), now, Usage::Client).and_then(|a| {
                a.findings
                    .into_iter()
                    .find(|f| f.severity == crate::chain_rules::Severity::Fail)
            });
        if let Some(f) = broken {
            return Attribution::Refused(format!(
                "certificate chain not valid for client authentication: {} {} ({})",
                f.certificate,
                f.problem,
                CLIENT_CHAIN_DEFS.of(f.rule).id
            ));
        }
        Attribution::Matched(name.to_string())
    }

    /// The trust anchors client chains are verified against (the `relay.client-cert.trust` check and
    /// the attribution): `--client-ca`, or the system store.
    pub fn trust(&self) -> std::borrow::Cow<'static, Trust> {
        match &self.client_roots {
            Some(roots) => std::borrow::Cow::Owned(anchors(roots)),
            None => std::borrow::Cow::Borrowed(system_trust()),
        }
    }

    /// The `relay.*` checks of a session (TLS and client certificate).
    pub fn session_checks(&self, session: &SessionInfo, now: OffsetDateTime) -> Vec<CheckResult> {
        let target = format!(
            "{} ({})",
            session.peer,
            session.helo.as_deref().unwrap_or("no EHLO")
        );
        let evidence = format!("session:{}", session.id);
        let mk = |def: &CheckDef, status: Status, summary: String| {
            CheckResult::new(def, status, target.clone(), summary)
                .evidence(evidence.clone())
                .on(self.attachment())
        };
        let eop = self.role == Role::Eop;
        let mut out = Vec::new();
        let Some(tls) = &session.tls else {
            out.push(
                mk(
                    &TLS,
                    if eop { Status::Fail } else { Status::Warn },
                    "no TLS".into(),
                )
                .remediation(no_tls_fix(self.role)),
            );
            for def in CLIENT_CERT_DEFS.all() {
                out.push(mk(def, Status::Skip, "no TLS".into()));
            }
            return out;
        };
        let tls_status = if tls.is_modern() {
            Status::Pass
        } else {
            Status::Fail
        };
        out.push(mk(&TLS, tls_status, format!("{} {}", tls.version, tls.cipher)));
        let chain = tls.client_chain();
        if chain.is_empty() {
            let status = if eop {
                Status::Fail
            } else if self.expected_names.is_empty() {
                Status::Info
            } else {
                Status::Warn
            };
            out.push(
                mk(&CLIENT_CERT, status, "no client certificate".into())
                    .detail(
                        "The relay asked for a certificate during the handshake and got none. Exchange presents \
                         the certificate its send connector names in TlsCertificateName (the HCW sets it); that \
                         certificate, matched against the inbound connector's TlsSenderCertificateName, is what \
                         attributes the mail to the organization. TlsAuthLevel plays no part in it: it only says \
                         how the send connector validates the receiving server's certificate.",
                    )
                    .remediation(Remediation::steps([
                        Step::prose(
                            "Make the hybrid send connector present the certificate bound to SMTP (the Hybrid \
                             Configuration Wizard sets this; rerunning it is the other way):",
                        ),
                        Step::command(
                            Place::MailboxShell,
                            "Set-SendConnector \"Outbound to Office 365 - <GUID>\" -TlsCertificateName \
                             \"<I>issuer<S>subject\"",
                        ),
                        Step::confirm(
                            Place::MailboxShell,
                            "Get-SendConnector \"Outbound to Office 365 - <GUID>\" | Format-List \
                             TlsCertificateName",
                        ),
                    ])),
            );
            for def in &CLIENT_CERT_DEFS.all()[1..] {
                out.push(mk(def, Status::Skip, "no client certificate".into()));
            }
            return out;
        }
        let chain: Vec<CertificateDer<'_>> =
            chain.iter().map(|c| CertificateDer::from(c.as_slice())).collect();
        let source = if eop {
            "the EXO inbound connector's TlsSenderCertificateName (--expect-cert-name)"
        } else {
            "the receive connector's TlsDomainCapabilities domain (--expect-cert-name)"
        };
        let expected: Vec<ExpectedName> = self
            .expected_names
            .iter()
            .map(|name| ExpectedName::connector_domain(name.clone(), source))
            .collect();
        let trust = self.trust();
        let ctx = CertCheckContext {
            target: &target,
            evidence_id: &evidence,
            expected: &expected,
            trust: &trust,
            now,
            used_as_client: true,
            attachment: self.attachment(),
        };
        for mut check in client_cert_checks(&chain, &ctx, &CLIENT_CERT_DEFS) {
            if check.id == CLIENT_CERT.id && check.status == Status::Pass {
                check = check.detail(format!("{} certificate(s) in the chain", chain.len()));
            }
            // A name mismatch stops EOP (5.7.64); on-premises only treats EOP as anonymous.
            if check.id == CLIENT_CERT_NAME.id && check.status == Status::Fail && !eop {
                check.status = Status::Warn;
            }
            if check.id == CLIENT_CERT_TRUST.id && self.client_roots.is_none() && check.status == Status::Fail
            {
                check.summary = format!(
                    "{} (trust: the system store; --client-ca to give the issuing CA)",
                    check.summary
                );
            }
            out.push(check);
        }
        out
    }

    fn attachment(&self) -> Attachment {
        match self.role {
            Role::Eop => Attachment::Node("eop".into()),
            Role::Edge => Attachment::Node("edge".into()),
            Role::Mailbox => Attachment::Node("mailbox".into()),
            Role::Sink => Attachment::None,
        }
    }

    /// Judge one stored message: session checks, header checks and the combined verdict.
    pub fn message_report(&self, meta: &MessageMeta, data: &[u8]) -> MessageReport {
        let now = OffsetDateTime::now_utc();
        let context = match self.role {
            Role::Eop => Context::ArrivingAtEop,
            Role::Edge | Role::Mailbox => Context::ArrivingOnPremises,
            Role::Sink => Context::Captured,
        };
        let analysis = headers::analyze(
            data,
            &headers::Options {
                org_domains: self.org_domains.clone(),
                context,
                target: format!("message {}", meta.id),
            },
        );
        let mut checks = self.session_checks(&meta.session, now);
        let mut verdict = analysis.verdict.clone();
        let attributed = match self.role {
            Role::Sink => None,
            _ if self.expected_names.is_empty() => None,
            _ => Some(self.attribution(&meta.session)),
        };
        match &attributed {
            Some(Attribution::Refused(why)) if verdict.classification == Classification::Internal => {
                verdict.classification = Classification::Anonymous;
                verdict.reasons.insert(
                    0,
                    format!("the connection is not attributed to the organization: {why}"),
                );
            }
            Some(Attribution::Matched(name)) => verdict.reasons.push(format!(
                "the connection is attributed by its certificate ({name})"
            )),
            _ => {}
        }
        let target = format!("message {}", meta.id);
        // The same rule as the header analysis, in the eop, edge and mailbox roles: anything but internal
        // fails only for mail the organization sent (internet mail arrives anonymous through EOP and hybrid by
        // design). A plain sink is no Exchange hop: there a message that shows no hybrid crossing is only
        // information.
        let status = match verdict.status() {
            Status::Warn | Status::Fail if self.role == Role::Sink && !verdict.hybrid => Status::Info,
            status => status,
        };
        checks.push(
            CheckResult::new(&VERDICT, status, target, verdict.classification.as_str())
                .detail(verdict.reasons.join("; "))
                .evidence(format!("message:{}", meta.id))
                .on(self.attachment()),
        );
        checks.extend(analysis.checks);
        MessageReport {
            id: meta.id.clone(),
            session_id: meta.session.id.clone(),
            received_at: meta.received_at,
            peer: meta.session.peer.to_string(),
            helo: meta.session.helo.clone(),
            mail_from: meta.mail_from.clone(),
            rcpt_to: meta.rcpt_to.clone(),
            size: meta.size,
            subject: meta.subject.clone(),
            tracking_id: meta.tracking_id.clone(),
            tls: meta
                .session
                .tls
                .as_ref()
                .map(|t| format!("{} {}", t.version, t.cipher)),
            client_cert: meta
                .session
                .tls
                .as_ref()
                .and_then(|t| t.client_chain().into_iter().next())
                .and_then(|leaf| CertSummary::parse(&leaf).ok()),
            verdict,
            hops: analysis.hops.len(),
            checks,
        }
    }
}

/// One captured message, judged (the relay's `message` event).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MessageReport {
    /// The spool id.
    pub id: String,
    /// The session it came in.
    pub session_id: String,
    /// When it arrived.
    #[serde(with = "time::serde::rfc3339")]
    pub received_at: OffsetDateTime,
    /// The client's address.
    pub peer: String,
    /// Its EHLO name.
    pub helo: Option<String>,
    /// The reverse path.
    pub mail_from: String,
    /// The forward paths.
    pub rcpt_to: Vec<String>,
    /// Bytes.
    pub size: usize,
    /// The subject.
    pub subject: Option<String>,
    /// The tracking id of a `mailpath relay send` message.
    pub tracking_id: Option<String>,
    /// TLS version and cipher, when TLS was used.
    pub tls: Option<String>,
    /// The client certificate's names and dates, when one was presented.
    pub client_cert: Option<CertSummary>,
    /// Internal or anonymous, and why.
    pub verdict: Verdict,
    /// Received fields in the message.
    pub hops: usize,
    /// `relay.*` and `headers.*` checks.
    pub checks: Vec<CheckResult>,
}

/// The `eop` role's policy (also the lab's EOP endpoint's): recipients in the accepted domains are
/// taken from anyone; others (relaying) only in a session attributed to the organization by its
/// client certificate, else `550 5.7.64 TenantAttribution; Relay Access Denied`.
#[derive(Debug, Clone)]
pub struct EopAttribution {
    /// The judgement.
    pub inspector: Inspector,
}

impl SessionPolicy for EopAttribution {
    /// As EOP: mail for the tenant's accepted domains is taken from anyone (the attribution only
    /// decides whether it arrives as internal or anonymous); a recipient elsewhere is relaying, and
    /// relaying needs a session attributed by its certificate, or `550 5.7.64`. Without accepted
    /// domains every recipient counts as relaying.
    fn rcpt(&self, session: &SessionInfo, rcpt: &str) -> Option<String> {
        if !self.inspector.org_domains.is_empty() && domain_accepted(&self.inspector.org_domains, rcpt) {
            return None;
        }
        match self.inspector.attribution(session) {
            Attribution::Matched(_) => None,
            Attribution::Refused(why) => Some(format!(
                "550 5.7.64 TenantAttribution; Relay Access Denied [mailpath: {}]",
                why.chars().take(300).collect::<String>()
            )),
        }
    }

    fn relays(&self, session: &SessionInfo, _rcpt: &str) -> bool {
        matches!(self.inspector.attribution(session), Attribution::Matched(_))
    }
}
