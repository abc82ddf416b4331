//! `tls.cert.*` checks: pure functions of a certificate chain, the names the connectors expect,
//! the trust anchors and an injected clock. One fault fails one check: an expired certificate fails
//! `tls.cert.validity`, not also `tls.cert.trusted`.

use std::path::Path;

use rustls_pki_types::CertificateDer;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::cert::{
    CertError, CertInfo, ChainProblem, SignatureHash, Trust, Usage, cert_names, connector_matches,
    connector_names, days_left, matches_any, parse_certificate, verify_chain_for,
};
use crate::check::{Attachment, CheckDef, CheckResult, Place, Remediation, Status, Step};

const CERT_REQ: &str = "https://learn.microsoft.com/exchange/certificate-requirements#certificate-requirements-for-hybrid-deployments";
const KB3027536: &str =
    "https://learn.microsoft.com/troubleshoot/exchange/mail-flow/tls-fails-md5-certificates";
const RENEW: &str = "https://learn.microsoft.com/exchange/architecture/client-access/renew-certificates";
const EDGE_SUBSCRIPTIONS: &str =
    "https://learn.microsoft.com/exchange/architecture/edge-transport-servers/edge-subscriptions";
const EXCHANGE_CERTIFICATES: &str =
    "https://learn.microsoft.com/exchange/architecture/client-access/certificates";

/// `tls.cert.present`.
pub const PRESENT: CheckDef = CheckDef {
    id: "tls.cert.present",
    title: "Server presents a certificate",
    why: "Hybrid connectors authenticate the other side by its certificate; no certificate, no hybrid mail flow.",
    references: &[CERT_REQ],
};
/// `tls.cert.trusted`.
pub const TRUSTED: CheckDef = CheckDef {
    id: "tls.cert.trusted",
    title: "Certificate chains to a trusted root",
    why: "Exchange Online only accepts certificates from a trusted public CA: self-signed or internal-CA \
          certificates give 454 4.7.0 UntrustedRoot / 450 4.7.320 certificate validation failed.",
    references: &[CERT_REQ],
};
/// `tls.cert.chain_complete`.
pub const CHAIN_COMPLETE: CheckDef = CheckDef {
    id: "tls.cert.chain_complete",
    title: "Server sends the intermediate certificates",
    why: "Exchange Online does not fetch missing intermediates: a server that sends only its leaf gets \
          450 4.4.317 Cannot connect to remote server [Message=UntrustedRoot].",
    references: &[CERT_REQ],
};
/// `tls.cert.name`.
pub const NAME: CheckDef = CheckDef {
    id: "tls.cert.name",
    title: "Certificate carries the names the connectors expect",
    why: "The connectors compare the certificate with TlsDomain / TlsSenderCertificateName / the FQDN; a \
          missing name makes the other side refuse the session (SubjectMismatch) or mail arrive as external.",
    references: &[CERT_REQ],
};
/// `tls.cert.validity`.
pub const VALIDITY: CheckDef = CheckDef {
    id: "tls.cert.validity",
    title: "Certificate is within its validity period",
    why: "An expired (or not yet valid) certificate fails TLS validation on every hybrid connector: mail queues.",
    references: &[RENEW],
};
/// `tls.cert.expiry`.
pub const EXPIRY: CheckDef = CheckDef {
    id: "tls.cert.expiry",
    title: "Certificate does not expire within 60 days",
    why: "Renewing a hybrid certificate means updating connectors (TlsCertificateName) and rerunning the HCW; \
          start 60 days ahead (the same threshold as HealthChecker).",
    references: &[RENEW],
};
/// `tls.cert.key`.
pub const KEY: CheckDef = CheckDef {
    id: "tls.cert.key",
    title: "Key is strong enough",
    why: "RSA keys under 2048 bits (or EC under 256) are refused by modern TLS stacks, Exchange Online included.",
    references: &[CERT_REQ],
};
/// `tls.cert.signature`.
pub const SIGNATURE: CheckDef = CheckDef {
    id: "tls.cert.signature",
    title: "No weak signature hash in the chain",
    why: "MD5/MD2 anywhere in the chain fails TLS 1.2 (KB 3027536); SHA-1 signatures are refused too.",
    references: &[KB3027536],
};
/// `tls.cert.eku`.
pub const EKU: CheckDef = CheckDef {
    id: "tls.cert.eku",
    title: "Certificate is usable for server authentication, and what clientAuth means for sending to EOP",
    why: "The same certificate answers EOP (serverAuth) and is presented to EOP when sending. Microsoft's hybrid \
          certificate requirements name no EKU and nothing documents whether EOP requires clientAuth, which public \
          CAs stop issuing (Chrome Root Program): warned before such a certificate is installed or renewed.",
    references: &[CERT_REQ, crate::checks::eku::CHROME_ROOT_POLICY],
};

/// `tls.cert.direct_trust`.
pub const DIRECT_TRUST: CheckDef = CheckDef {
    id: "tls.cert.direct_trust",
    title: "Certificate is the one Exchange trusts directly (Edge subscription)",
    why: "Between Mailbox servers and a subscribed Edge, Exchange authenticates with direct trust: the Edge's \
          self-signed certificate published by the Edge subscription (and the Mailbox servers' own, published in \
          Active Directory), not a public CA. A certificate other than the published one breaks that \
          authentication; a self-signed one is expected.",
    references: &[EDGE_SUBSCRIPTIONS, EXCHANGE_CERTIFICATES],
};

/// Every definition of this module.
pub const DEFS: &[CheckDef] = &[
    PRESENT,
    TRUSTED,
    DIRECT_TRUST,
    CHAIN_COMPLETE,
    NAME,
    VALIDITY,
    EXPIRY,
    KEY,
    SIGNATURE,
    EKU,
];

/// The nine definitions a chain is judged by, in order: the `tls.cert.*` ones for a server's
/// chain ([`SERVER_DEFS`]), others (the relay's `relay.client-cert.*`) for a client's.
#[derive(Debug, Clone, Copy)]
pub struct CertDefs {
    /// A certificate was presented.
    pub present: CheckDef,
    /// It chains to a trust anchor.
    pub trusted: CheckDef,
    /// The intermediates were sent.
    pub chain_complete: CheckDef,
    /// It carries the expected names.
    pub name: CheckDef,
    /// It is within its validity period.
    pub validity: CheckDef,
    /// It does not expire within [`EXPIRY_WARNING_DAYS`].
    pub expiry: CheckDef,
    /// Its key is strong enough.
    pub key: CheckDef,
    /// No weak signature hash in the chain.
    pub signature: CheckDef,
    /// Its extended key usage fits.
    pub eku: CheckDef,
    /// The path-validation rules, one check each (judged when a certificate was presented).
    pub rules: crate::checks::chain::ChainDefs,
}

impl CertDefs {
    /// All nine, in order.
    pub fn all(&self) -> [&CheckDef; 9] {
        [
            &self.present,
            &self.trusted,
            &self.chain_complete,
            &self.name,
            &self.validity,
            &self.expiry,
            &self.key,
            &self.signature,
            &self.eku,
        ]
    }
}

/// The `tls.cert.*` definitions.
pub const SERVER_DEFS: CertDefs = CertDefs {
    present: PRESENT,
    trusted: TRUSTED,
    chain_complete: CHAIN_COMPLETE,
    name: NAME,
    validity: VALIDITY,
    expiry: EXPIRY,
    key: KEY,
    signature: SIGNATURE,
    eku: EKU,
    rules: crate::checks::chain::SERVER_CHAIN_DEFS,
};

/// The definitions of a server's chain on a hop between Exchange servers (direct trust): `tls.cert.direct_trust`
/// instead of `tls.cert.trusted`.
pub const DIRECT_TRUST_SERVER_DEFS: CertDefs = CertDefs {
    trusted: DIRECT_TRUST,
    ..SERVER_DEFS
};

/// Warn this many days before expiry.
pub const EXPIRY_WARNING_DAYS: i64 = 60;

/// How the setting that expects a name compares it with a certificate.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum NameRule {
    /// A host name the certificate must be valid for (RFC 6125: the SAN DNS names, the CN only without
    /// SANs, a wildcard covering one label); a wildcard reference is matched by the same wildcard. How a
    /// sender checks the server it connects to (TlsDomain of the send connector, `--name`).
    #[default]
    Host,
    /// A domain an Exchange Online connector expects (TlsSenderCertificateName of the inbound connector,
    /// TlsDomain of the outbound connector): `*.contoso.com` is the domain and all its subdomains, and the
    /// certificate's subject CN counts besides its SAN names ([`crate::cert::connector_name_matches`]).
    ConnectorDomain,
}

/// A name a connector expects on the certificate, and which setting expects it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExpectedName {
    /// The name (may be a wildcard such as `*.contoso.com`).
    pub name: String,
    /// The setting that expects it (`TlsDomain of the on-premises send connector`).
    pub source: String,
    /// How the setting compares it with the certificate.
    #[serde(default)]
    pub rule: NameRule,
}

impl ExpectedName {
    /// A host name the certificate must be valid for ([`NameRule::Host`]).
    pub fn host(name: impl Into<String>, source: impl Into<String>) -> ExpectedName {
        ExpectedName {
            name: name.into(),
            source: source.into(),
            rule: NameRule::Host,
        }
    }

    /// Adds `expected` to `list`, one entry a name naming every setting that expects it. A host name
    /// expected both as a host and by a connector is judged as a host (the stricter rule: SAN names only); a
    /// wildcard means something else to a connector (the domain and all its subdomains), so it keeps its own
    /// entry per rule. Empty names are left out.
    pub fn add_to(list: &mut Vec<ExpectedName>, expected: ExpectedName) {
        if expected.name.is_empty() {
            return;
        }
        let same = |e: &ExpectedName| {
            e.name.eq_ignore_ascii_case(&expected.name)
                && (e.rule == expected.rule || !expected.name.contains('*'))
        };
        match list.iter_mut().find(|e| same(e)) {
            Some(e) => {
                e.source = format!("{}; {}", e.source, expected.source);
                if e.rule != expected.rule {
                    e.rule = NameRule::Host;
                }
            }
            None => list.push(expected),
        }
    }

    /// A domain an Exchange Online connector expects ([`NameRule::ConnectorDomain`]).
    pub fn connector_domain(name: impl Into<String>, source: impl Into<String>) -> ExpectedName {
        ExpectedName {
            name: name.into(),
            source: source.into(),
            rule: NameRule::ConnectorDomain,
        }
    }
}

/// Where and how a chain is judged.
#[derive(Debug, Clone)]
pub struct CertCheckContext<'a> {
    /// The subject (`mail.contoso.com:25`, a file name).
    pub target: &'a str,
    /// The evidence id to reference.
    pub evidence_id: &'a str,
    /// The names expected.
    pub expected: &'a [ExpectedName],
    /// The trust anchors.
    pub trust: &'a Trust,
    /// "Now".
    pub now: OffsetDateTime,
    /// Whether the same certificate is also used to authenticate as a client (sending to EOP).
    pub used_as_client: bool,
    /// Where on the path.
    pub attachment: Attachment,
}

/// The `tls.cert.*` results of an endpoint that is Microsoft's (EOP), rewritten for what the admin can do:
/// Microsoft's certificate is not theirs to renew, replace or rename. A certificate EOP would not serve
/// (untrusted, another name, expired, an incomplete chain) means the connection did not reach EOP: a wrong
/// smart host, or a device in the path that inspects TLS and re-signs the session. An EOP certificate
/// close to its expiry is Microsoft's to renew: `info`.
pub fn on_microsoft_endpoint(results: &mut [CheckResult], host: &str) {
    for r in results
        .iter_mut()
        .filter(|r| r.id.starts_with("tls.cert.") && r.status >= Status::Warn)
    {
        if r.id == EXPIRY.id && r.status == Status::Warn {
            r.status = Status::Info;
            r.remediation = Remediation::steps([Step::prose(format!(
                "Nothing to do: Microsoft renews the certificate of {host}."
            ))]);
            continue;
        }
        r.detail = format!(
            "{host} is Microsoft's endpoint; the certificate EOP serves is Microsoft's, valid and issued to its \
             own names. This one is not, so the connection probably did not reach EOP.{}{}",
            if r.detail.is_empty() { "" } else { " " },
            r.detail
        );
        r.remediation = Remediation::steps([
            Step::prose(
                "Do not change any certificate for this: find what answers in EOP's place. Check the send \
                 connector's route (DNS routing to the EOP host, or the tenant's EOP endpoint as smart host):",
            ),
            Step::confirm(
                Place::MailboxShell,
                "Get-SendConnector \"Outbound to Office 365*\" | Format-List SmartHosts,DNSRoutingEnabled,TlsDomain",
            ),
            Step::prose(
                "and any firewall, proxy or filtering appliance between the servers and the internet that \
                 inspects SMTP/TLS on port 25 (it re-signs the session with its own certificate): exempt traffic \
                 to EOP from inspection. Compare the certificate from outside the network:",
            ),
            Step::confirm(
                Place::Workstation,
                format!("openssl s_client -starttls smtp -connect {host}:25"),
            ),
        ]);
    }
}

/// The `tls.cert.*` checks of a chain as a server sent it (leaf first).
pub fn cert_checks(chain: &[CertificateDer<'_>], ctx: &CertCheckContext<'_>) -> Vec<CheckResult> {
    judge_with_rules(chain, ctx, &SERVER_DEFS, Usage::Server)
}

/// The same checks of a chain a client presented (leaf first), reported under `defs`: the trust
/// is verified for client authentication, the EKU must allow clientAuth, the leaf's keyUsage must let it
/// sign the handshake, and the names are compared as an inbound connector compares them with its expected
/// name (subject CN or SAN, a wildcard on either side).
pub fn client_cert_checks(
    chain: &[CertificateDer<'_>],
    ctx: &CertCheckContext<'_>,
    defs: &CertDefs,
) -> Vec<CheckResult> {
    judge_with_rules(chain, ctx, defs, Usage::Client)
}

/// The certificate checks under `defs`, then one check per path-validation rule when there is a certificate.
fn judge_with_rules(
    chain: &[CertificateDer<'_>],
    ctx: &CertCheckContext<'_>,
    defs: &CertDefs,
    usage: Usage,
) -> Vec<CheckResult> {
    let mut out = judge(chain, ctx, defs, usage);
    if !chain.is_empty() {
        out.extend(crate::checks::chain::chain_checks(chain, ctx, &defs.rules));
    }
    out
}

/// How Exchange trusts the certificate of an internal hop (Mailbox <-> Edge): directly.
#[derive(Debug, Clone, Copy)]
pub struct DirectTrust<'a> {
    /// Who published the certificate Exchange accepts (`the Edge subscription`).
    pub publisher: &'a str,
    /// Its SHA-1 thumbprint (upper-case hex), when the profile gives it.
    pub thumbprint: Option<&'a str>,
    /// The profile key that can give it (`[[edge]] subscription_thumbprint`), if any.
    pub profile_key: Option<&'a str>,
}

/// The checks of a chain served on a hop between Exchange servers, judged by the rules Exchange applies
/// there: Exchange Server authentication over direct trust. The Edge's internal listener serves the
/// self-signed certificate its Edge subscription published (the Mailbox servers theirs, published in Active
/// Directory); Exchange compares that certificate itself, so a public chain is neither needed nor
/// checked. `tls.cert.trusted` gives way to `tls.cert.direct_trust`; a missing intermediate and the
/// signature of a self-signed certificate do not matter there. Names, validity, key and usage are judged
/// as on any hop.
pub fn direct_trust_checks(
    chain: &[CertificateDer<'_>],
    ctx: &CertCheckContext<'_>,
    direct: &DirectTrust<'_>,
) -> Vec<CheckResult> {
    let leaf = chain.first().and_then(|der| parse_certificate(der).ok());
    judge(chain, ctx, &SERVER_DEFS, Usage::Server)
        .into_iter()
        .map(|r| match (r.id.as_str(), &leaf) {
            (id, Some(leaf)) if id == TRUSTED.id => direct_trust_result(leaf, ctx, direct),
            (id, _) if id == TRUSTED.id => CheckResult::new(&DIRECT_TRUST, r.status, r.target, r.summary)
                .evidence(ctx.evidence_id)
                .on(ctx.attachment.clone()),
            (id, Some(leaf)) if id == CHAIN_COMPLETE.id && r.status == Status::Fail => {
                CheckResult::new(&CHAIN_COMPLETE, Status::Info, r.target, format!("only the leaf was sent (issued by {}): direct trust compares the certificate itself, no chain is built", leaf.issuer))
                    .evidence(ctx.evidence_id)
                    .on(ctx.attachment.clone())
            }
            (id, Some(leaf)) if id == SIGNATURE.id && r.status == Status::Fail && leaf.self_issued && chain.len() == 1 => {
                CheckResult::new(&SIGNATURE, Status::Info, r.target, format!("self-signed with {}: direct trust compares the certificate itself, not its signature", leaf.signature_algorithm))
                    .evidence(ctx.evidence_id)
                    .on(ctx.attachment.clone())
            }
            _ => r,
        })
        .collect()
}

/// `tls.cert.direct_trust` of a served leaf.
fn direct_trust_result(leaf: &CertInfo, ctx: &CertCheckContext<'_>, direct: &DirectTrust<'_>) -> CheckResult {
    let served = &leaf.sha1_thumbprint;
    let kind = if leaf.self_issued {
        "a self-signed certificate, as expected between Exchange servers"
    } else {
        "a CA-issued certificate"
    };
    let r = match direct.thumbprint {
        Some(published) if published.eq_ignore_ascii_case(served) => CheckResult::new(
            &DIRECT_TRUST,
            Status::Pass,
            ctx.target,
            format!("serves the certificate {} published ({served}): {kind}", direct.publisher),
        ),
        Some(published) => CheckResult::new(
            &DIRECT_TRUST,
            Status::Fail,
            ctx.target,
            format!("serves {served} ({}), but {} published {published}", leaf.subject, direct.publisher),
        )
        .detail(
            "Exchange Server authentication between the Mailbox servers and the Edge uses direct trust: each side \
             accepts only the certificate published by the Edge subscription (replicated by EdgeSync). After the \
             Edge's SMTP certificate was replaced (or renewed) the subscription still publishes the old one, and \
             mail between the Mailbox servers and the Edge queues.",
        )
        .remediation(Remediation::steps([
            Step::prose("Recreate the Edge subscription so that it publishes the current certificate:"),
            Step::command(Place::EdgeShell, "New-EdgeSubscription -FileName C:\\EdgeSubscription.xml"),
            Step::prose("copy the file to a Mailbox server, then:"),
            Step::command(
                Place::MailboxShell,
                "New-EdgeSubscription -FileData ([System.IO.File]::ReadAllBytes('C:\\EdgeSubscription.xml')) -Site <Active Directory site>",
            ),
            Step::command(Place::MailboxShell, "Start-EdgeSynchronization"),
            Step::prose("Or bind the published certificate to SMTP again on the Edge:"),
            Step::command(Place::EdgeShell, format!("Enable-ExchangeCertificate -Thumbprint {published} -Services SMTP")),
            Step::confirm(Place::MailboxShell, "Test-EdgeSynchronization"),
        ])),
        None => CheckResult::new(
            &DIRECT_TRUST,
            Status::Info,
            ctx.target,
            format!(
                "direct trust: the certificate Exchange accepts is the one {} published; not read from Exchange",
                direct.publisher
            ),
        )
        .detail(format!(
            "This hop is authenticated over direct trust with the certificate {} published, not by a public CA: \
             {kind} is fine here. It serves {served} ({}).{}",
            direct.publisher,
            leaf.subject,
            direct.profile_key.map_or_else(String::new, |key| format!(
                " To have mailpath compare it, give the published certificate's thumbprint in the profile ({key}; \
                 Get-ExchangeCertificate on the Edge lists it)."
            ))
        )),
    };
    r.evidence(ctx.evidence_id).on(ctx.attachment.clone())
}

/// Whether a certificate carries an expected name.
type NameMatcher = fn(&CertInfo, &str) -> bool;

fn judge(
    chain: &[CertificateDer<'_>],
    ctx: &CertCheckContext<'_>,
    defs: &CertDefs,
    usage: Usage,
) -> Vec<CheckResult> {
    let side = usage.side();
    let mk = |def: &CheckDef, status: Status, summary: String| {
        CheckResult::new(def, status, ctx.target, summary)
            .evidence(ctx.evidence_id)
            .on(ctx.attachment.clone())
    };
    // Where the certificate is installed: the server the hop reaches (the on-premises shell otherwise).
    let shell = crate::checks::smtp::server_shell(&ctx.attachment);
    let bind = |thumbprint: &str| {
        Step::command(
            shell,
            format!("Enable-ExchangeCertificate -Thumbprint {thumbprint} -Services SMTP"),
        )
    };
    let Some(leaf_der) = chain.first() else {
        let mut out = vec![
            mk(
                &defs.present,
                Status::Fail,
                format!("the {side} sent no certificate"),
            )
            .remediation(Remediation::steps([
                Step::prose("Bind a certificate to the SMTP service:"),
                bind("<thumbprint>"),
                Step::confirm(
                    shell,
                    "Get-ExchangeCertificate | Format-List Thumbprint,Services,Subject,NotAfter",
                ),
            ])),
        ];
        out.extend(
            defs.all()[1..]
                .iter()
                .map(|d| mk(d, Status::Skip, "no certificate to judge".into())),
        );
        return out;
    };
    let infos: Vec<Result<CertInfo, CertError>> = chain.iter().map(|c| parse_certificate(c)).collect();
    let leaf = match parse_certificate(leaf_der) {
        Ok(info) => info,
        Err(e) => {
            let mut out = vec![mk(
                &defs.present,
                Status::Fail,
                format!("the {side}'s certificate does not parse: {e}"),
            )];
            out.extend(
                defs.all()[1..]
                    .iter()
                    .map(|d| mk(d, Status::Skip, "the certificate could not be parsed".into())),
            );
            return out;
        }
    };
    let mut out = vec![mk(
        &defs.present,
        Status::Pass,
        format!("{} (issued by {})", leaf.subject, leaf.issuer),
    )];
    let thumb = leaf.sha1_thumbprint.clone();
    let cn = leaf.common_name.clone().unwrap_or_else(|| "<name>".into());

    // Trust, judged inside the validity window of the certificates sent so that expiry is reported once,
    // by tls.cert.validity (the leaf) or tls.cert.chain.ca_validity (the CAs).
    let judge_at = crate::chain_rules::judging_time(chain, ctx.now);
    let verdict = verify_chain_for(chain, ctx.trust, judge_at, usage);
    let sent_intermediates = chain.len() > 1;
    let missing_intermediate = !verdict.trusted
        && verdict.problem == Some(ChainProblem::UnknownIssuer)
        && !leaf.self_issued
        && !chain[1..]
            .iter()
            .any(|c| parse_certificate(c).is_ok_and(|i| i.subject == leaf.issuer));
    // A refusal that a tls.cert.chain.* (relay.client-cert.chain.*) check reports (the path reaches the root but breaks a rule) fails there.
    let explained = (!verdict.trusted && !missing_intermediate)
        .then(|| crate::checks::chain::refusal_explained(chain, ctx.trust, ctx.now, &defs.rules))
        .flatten();
    out.push(match (verdict.trusted, verdict.problem) {
        (true, _) => mk(&defs.trusted, Status::Pass, format!("chains to a trusted root ({})", ctx.trust.description())),
        (false, _) if explained.is_some() => {
            let (def, anchor) = explained.unwrap_or_default();
            mk(&defs.trusted, Status::Skip, format!("the path reaches the trusted root {anchor} but breaks a path-validation rule: judged by {def}"))
        }
        (false, _) if missing_intermediate => mk(
            &defs.trusted,
            Status::Fail,
            format!("cannot be verified: the issuing CA ({}) was not sent (see {})", leaf.issuer, defs.chain_complete.id),
        )
        .detail("Exchange Online sees this as UntrustedRoot; sending the intermediate fixes both checks."),
        (false, Some(ChainProblem::SelfSigned)) => mk(&defs.trusted, Status::Fail, format!("self-signed certificate ({})", leaf.subject))
            .detail("Exchange Online requires a certificate from a trusted public CA on every hybrid server; a self-signed one (often the default Exchange certificate selected by mistake) gives 454 4.7.0 UntrustedRoot.")
            .remediation(Remediation::steps([
                Step::prose(format!("Install a certificate from a public CA in place of the current one ({thumb}) and bind it to SMTP (answer No to replacing the default SMTP certificate):")),
                Step::command(shell, "Import-ExchangeCertificate -FileData ([System.IO.File]::ReadAllBytes('C:\\cert.pfx')) -Password (Read-Host -AsSecureString)"),
                bind("<new>"),
                Step::prose("Then rerun the Hybrid Configuration Wizard."),
            ])),
        (false, problem) => mk(&defs.trusted, Status::Fail, format!("does not chain to a trusted root: {}", verdict.message))
            .detail(format!("{}Trust used: {}. An internal-CA certificate works inside the organisation but Exchange Online rejects it (UntrustedRoot).", problem.map(|p| format!("{}. ", crate::checks::chain::problem_words(p))).unwrap_or_default(), ctx.trust.description()))
            .remediation(Remediation::steps([
                Step::prose("Use a certificate from a public CA trusted by Exchange Online, bound to SMTP on every hybrid server:"),
                bind("<new>"),
                Step::prose("Then rerun the Hybrid Configuration Wizard."),
            ])),
    });

    out.push(if missing_intermediate {
        mk(&defs.chain_complete, Status::Fail, format!("only the leaf was sent; the issuing CA {} is missing", leaf.issuer))
            .detail(if leaf.aia_ca_issuers.is_empty() {
                "Exchange Online does not fetch intermediates: 450 4.4.317 [Message=UntrustedRoot].".to_string()
            } else {
                format!("The certificate names its issuer at {} (AIA), but Exchange Online does not fetch it: 450 4.4.317 [Message=UntrustedRoot].", leaf.aia_ca_issuers.join(", "))
            })
            .remediation(Remediation::steps([
                Step::prose("Import the intermediate CA certificate into the server's Local Computer 'Intermediate Certification Authorities' store, then restart the transport service so that it sends the full chain:"),
                Step::command(shell, "Import-Certificate -CertStoreLocation Cert:\\LocalMachine\\CA -FilePath intermediate.cer"),
                Step::command(shell, match shell {
                    Place::EdgeShell => "Restart-Service MSExchangeTransport",
                    Place::MailboxShell => "Restart-Service MSExchangeFrontEndTransport",
                    _ => "Restart-Service MSExchangeTransport, MSExchangeFrontEndTransport",
                }),
                Step::confirm(Place::Workstation, format!("mailpath probe {}", ctx.target)),
            ]))
    } else if leaf.self_issued {
        mk(&defs.chain_complete, Status::Pass, format!("self-signed: there is no chain to complete (see {})", defs.trusted.id))
    } else {
        mk(&defs.chain_complete, Status::Pass, format!("{} certificate(s) sent{}", chain.len(), if sent_intermediates { ", issuer included" } else { "; the issuer is a trust anchor" }))
    });

    let (names, carries): (Vec<String>, NameMatcher) = match usage {
        Usage::Server => (cert_names(&leaf), matches_any),
        Usage::Client => (connector_names(&leaf), connector_matches),
    };
    if ctx.expected.is_empty() {
        out.push(mk(
            &defs.name,
            Status::Skip,
            "no expected name configured to compare with".into(),
        ));
    } else {
        let missing: Vec<&ExpectedName> = ctx
            .expected
            .iter()
            .filter(|e| match e.rule {
                NameRule::Host => !carries(&leaf, &e.name),
                NameRule::ConnectorDomain => !connector_matches(&leaf, &e.name),
            })
            .collect();
        if missing.is_empty() {
            let list: Vec<&str> = ctx.expected.iter().map(|e| e.name.as_str()).collect();
            let mut pass = mk(&defs.name, Status::Pass, format!("carries {}", list.join(", ")));
            if !leaf.has_san {
                // Said, not silently passed: Exchange matches the CN, other verifiers do not (tls.cert.san).
                pass.summary
                    .push_str(" in the subject CN (there is no subjectAltName)");
                pass = pass.detail(
                    "Exchange and Exchange Online match the connectors' names against the subject CN or the \
                     subjectAltName, so they accept it; RFC 6125 verifiers ignore the CN (see tls.cert.san).",
                );
            }
            out.push(pass);
        } else {
            let first = missing[0];
            let detail: Vec<String> = missing
                .iter()
                .map(|m| format!("{} (expected by {})", m.name, m.source))
                .collect();
            out.push(
                mk(&defs.name, Status::Fail, format!("{} is not on the certificate (names: {})", first.name, names.join(", ")))
                    .detail(format!("Missing: {}. The other side refuses the session (450 4.7.320 SubjectMismatch) or cannot attribute the mail to the organisation.", detail.join("; ")))
                    .remediation(Remediation::steps([
                        Step::prose(format!("Get a certificate whose subject or SAN includes {}:", first.name)),
                        Step::command(shell, format!(
                            "New-ExchangeCertificate -GenerateRequest -KeySize 2048 -SubjectName \"CN={}\" -DomainName {} -PrivateKeyExportable $true",
                            first.name.trim_start_matches("*."),
                            missing.iter().map(|m| m.name.as_str()).collect::<Vec<_>>().join(",")
                        )),
                        Step::prose("Have the CA sign the request, then import the certificate and bind it to SMTP:"),
                        Step::command(shell, "Import-ExchangeCertificate -FileData ([System.IO.File]::ReadAllBytes('C:\\cert.cer'))"),
                        bind("<new>"),
                        Step::prose("Then rerun the Hybrid Configuration Wizard."),
                    ])),
            );
        }
    }

    let date = |t: OffsetDateTime| t.date().to_string();
    let left = days_left(&leaf, ctx.now);
    let renew = Remediation::steps([
        Step::prose("Renew it (a request with the same names and key settings):"),
        Step::command(
            shell,
            format!(
                "Get-ExchangeCertificate -Thumbprint {thumb} | New-ExchangeCertificate -GenerateRequest -PrivateKeyExportable $true"
            ),
        ),
        Step::prose(
            "Have the CA sign the request, import it (Import-ExchangeCertificate) and bind it to SMTP:",
        ),
        bind("<new>"),
        Step::prose(
            "Point the hybrid send connector at the new certificate (one session: the first line reads it, the second sets it):",
        ),
        Step::command(
            Place::MailboxShell,
            "$c = Get-ExchangeCertificate -Server <server> -Thumbprint <new>",
        ),
        Step::command(
            Place::MailboxShell,
            "Set-SendConnector \"Outbound to Office 365 - <guid>\" -TlsCertificateName \"<I>$($c.Issuer)<S>$($c.Subject)\"",
        ),
        Step::prose("Then rerun the Hybrid Configuration Wizard."),
    ]);
    if ctx.now > leaf.not_after {
        out.push(
            mk(
                &defs.validity,
                Status::Fail,
                format!(
                    "certificate {}",
                    crate::chain_rules::validity_words(&leaf, ctx.now)
                ),
            )
            .remediation(renew.clone()),
        );
        out.push(mk(
            &defs.expiry,
            Status::Skip,
            format!("already expired (see {})", defs.validity.id),
        ));
    } else if ctx.now < leaf.not_before {
        out.push(
            mk(&defs.validity, Status::Fail, format!("certificate is {}", crate::chain_rules::validity_words(&leaf, ctx.now)))
                .detail("A certificate installed before its start date (or a server clock that is behind) fails validation.")
                .remediation(Remediation::steps([
                    Step::prose("Keep the previous certificate bound to SMTP until the new one is valid:"),
                    bind("<previous>"),
                    Step::prose("A server clock that is behind has the same effect:"),
                    Step::confirm(shell, "w32tm /query /status"),
                ])),
        );
        out.push(mk(
            &defs.expiry,
            Status::Skip,
            format!("not valid yet (see {})", defs.validity.id),
        ));
    } else {
        out.push(mk(
            &defs.validity,
            Status::Pass,
            format!("valid from {} to {}", date(leaf.not_before), date(leaf.not_after)),
        ));
        out.push(if left <= EXPIRY_WARNING_DAYS {
            mk(
                &defs.expiry,
                Status::Warn,
                format!(
                    "expires in {} ({})",
                    crate::chain_rules::days_words(left),
                    date(leaf.not_after)
                ),
            )
            .remediation(renew)
        } else {
            mk(
                &defs.expiry,
                Status::Pass,
                format!("{} left", crate::chain_rules::days_words(left)),
            )
        });
    }

    let weak_key = match leaf.key.algorithm.as_str() {
        "RSA" => leaf.key.bits < 2048,
        "ECDSA" => leaf.key.bits < 256,
        _ => false,
    };
    let key_words = format!(
        "{}-bit {}{}",
        leaf.key.bits,
        leaf.key.algorithm,
        leaf.key
            .curve
            .as_ref()
            .map(|c| format!(" {c}"))
            .unwrap_or_default()
    );
    out.push(if weak_key {
        mk(&defs.key, Status::Fail, format!("{key_words} key is too weak"))
            .remediation(Remediation::steps([
                Step::prose("Request a new certificate with a 2048-bit (or larger) key:"),
                Step::command(shell, format!("New-ExchangeCertificate -GenerateRequest -KeySize 2048 -SubjectName \"CN={cn}\" -DomainName {} -PrivateKeyExportable $true", names.join(","))),
                Step::prose("Have the CA sign it, import it (Import-ExchangeCertificate) and bind it to SMTP:"),
                bind("<new>"),
            ]))
    } else {
        mk(&defs.key, Status::Pass, key_words)
    });

    let mut weak_sigs = Vec::new();
    for (i, info) in infos.iter().enumerate() {
        let Ok(info) = info else { continue };
        // A root's own signature is not verified by anyone; skip self-issued CAs.
        if info.is_ca && info.self_issued {
            continue;
        }
        if matches!(
            info.signature_hash,
            SignatureHash::Md2 | SignatureHash::Md5 | SignatureHash::Sha1
        ) {
            weak_sigs.push(format!("[{i}] {} ({})", info.subject, info.signature_algorithm));
        }
    }
    out.push(if weak_sigs.is_empty() {
        mk(&defs.signature, Status::Pass, leaf.signature_algorithm.clone())
    } else {
        mk(
            &defs.signature,
            Status::Fail,
            format!("weak signature hash: {}", weak_sigs.join("; ")),
        )
        .remediation(
            "Reissue the certificate (and use a CA whose intermediates are) signed with SHA-256 or better.",
        )
    });

    out.push(crate::checks::eku::eku_result(
        &defs.eku,
        &leaf,
        usage,
        ctx.used_as_client,
        ctx.now,
        &mk,
    ));
    out
}

/// What `mailpath cert FILE` reports.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CertReport {
    /// `mailpath/cert/1`.
    pub schema: String,
    /// The file judged.
    pub file: String,
    /// Every certificate in the file, in order.
    pub chain: Vec<CertInfo>,
    /// The verdicts.
    pub checks: Vec<CheckResult>,
}

/// Judge a certificate file (PEM, DER, or PKCS#12 opened with `password`) offline, as the probes would
/// judge the same chain served by a server.
///
/// # Errors
/// When the file cannot be read or holds no certificate.
pub fn check_certificate_file(
    path: &Path,
    password: Option<&str>,
    names: &[String],
    trust: &Trust,
    now: OffsetDateTime,
) -> Result<CertReport, CertError> {
    let chain = crate::cert::load_chain_file_with_password(path, password)?;
    let expected: Vec<ExpectedName> = names
        .iter()
        .map(|n| ExpectedName::host(n.clone(), "--name"))
        .collect();
    Ok(check_certificate_chain(
        &chain,
        &path.display().to_string(),
        &expected,
        trust,
        now,
    ))
}

/// Judge a chain read from `file` (leaf first) against the names expected of it, as the probes would
/// judge the same chain served by a server.
pub fn check_certificate_chain(
    chain: &[CertificateDer<'_>],
    file: &str,
    expected: &[ExpectedName],
    trust: &Trust,
    now: OffsetDateTime,
) -> CertReport {
    let infos: Vec<CertInfo> = chain.iter().filter_map(|c| parse_certificate(c).ok()).collect();
    let file = file.to_string();
    let ctx = CertCheckContext {
        target: &file,
        evidence_id: &file,
        expected,
        trust,
        now,
        used_as_client: true,
        attachment: Attachment::None,
    };
    let mut checks = cert_checks(chain, &ctx);
    // In a file, a missing intermediate means the server will not have it to send.
    for c in &mut checks {
        if c.id == CHAIN_COMPLETE.id && c.status == Status::Fail {
            c.summary = format!("the file holds only the leaf: {}", c.summary);
        }
    }
    CertReport {
        schema: "mailpath/cert/1".into(),
        file,
        chain: infos,
        checks,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ca::{LabCa, LeafIssuer, LeafKey, LeafSpec};

    fn now() -> OffsetDateTime {
        time::macros::datetime!(2026-11-28 12:00 UTC)
    }

    fn judge(chain: &[CertificateDer<'_>], trust: &Trust, expected: &[&str]) -> Vec<(String, Status)> {
        let expected: Vec<ExpectedName> = expected.iter().map(|n| ExpectedName::host(*n, "test")).collect();
        let ctx = CertCheckContext {
            target: "mail.contoso.com:25",
            evidence_id: "smtp:mail.contoso.com:25",
            expected: &expected,
            trust,
            now: now(),
            used_as_client: true,
            attachment: Attachment::None,
        };
        cert_checks(chain, &ctx)
            .into_iter()
            .map(|r| (r.id, r.status))
            .collect()
    }

    fn not_pass(results: &[(String, Status)]) -> Vec<(&str, Status)> {
        results
            .iter()
            // A chain without a known CA (self-signed) has no CA rule to judge: skipped, with why.
            .filter(|(id, s)| {
                *s != Status::Pass && !(*s == Status::Skip && id.starts_with("tls.cert.chain."))
            })
            .map(|(id, s)| (id.as_str(), *s))
            .collect()
    }

    #[test]
    fn each_fault_fails_exactly_its_check() {
        let ca = LabCa::generate(now()).unwrap();
        let mut trust = Trust::empty();
        trust.add_der(ca.root_der());
        let day = time::Duration::days(1);
        let spec = || {
            LeafSpec::server(
                "mail.contoso.com",
                ["mail.contoso.com", "edge01.contoso.com"],
                now(),
            )
        };
        let good = ca.issue(&spec()).unwrap();
        let r = judge(&good.chain(true), &trust, &["mail.contoso.com"]);
        assert_eq!(
            r.len(),
            SERVER_DEFS.all().len() + crate::checks::chain::DEFS.len()
        );
        assert!(not_pass(&r).is_empty(), "{r:?}");

        let expired = ca
            .issue(&spec().with_validity(now() - 370 * day, now() - 5 * day))
            .unwrap();
        let r = judge(&expired.chain(true), &trust, &["mail.contoso.com"]);
        assert_eq!(
            not_pass(&r),
            [
                ("tls.cert.validity", Status::Fail),
                ("tls.cert.expiry", Status::Skip)
            ]
        );

        let future = ca
            .issue(&spec().with_validity(now() + 3 * day, now() + 300 * day))
            .unwrap();
        let r = judge(&future.chain(true), &trust, &["mail.contoso.com"]);
        assert_eq!(
            not_pass(&r),
            [
                ("tls.cert.validity", Status::Fail),
                ("tls.cert.expiry", Status::Skip)
            ]
        );

        let soon = ca
            .issue(&spec().with_validity(now() - 300 * day, now() + 10 * day))
            .unwrap();
        assert_eq!(
            not_pass(&judge(&soon.chain(true), &trust, &["mail.contoso.com"])),
            // The renewal is due, and the renewed certificate will lack clientAuth: two different warnings.
            [("tls.cert.expiry", Status::Warn), ("tls.cert.eku", Status::Warn)]
        );

        assert_eq!(
            not_pass(&judge(&good.chain(true), &trust, &["mail.fabrikam.com"])),
            [("tls.cert.name", Status::Fail)]
        );
        assert!(
            not_pass(&judge(&good.chain(true), &trust, &["*.contoso.com"])).len() == 1,
            "a wildcard reference needs the wildcard on the cert"
        );

        let selfs = ca.issue(&spec().with_issuer(LeafIssuer::SelfSigned)).unwrap();
        assert_eq!(
            not_pass(&judge(&selfs.chain(true), &trust, &["mail.contoso.com"])),
            [("tls.cert.trusted", Status::Fail)]
        );

        let r = judge(&good.chain(false), &trust, &["mail.contoso.com"]);
        assert_eq!(
            not_pass(&r),
            [
                ("tls.cert.trusted", Status::Fail),
                ("tls.cert.chain_complete", Status::Fail)
            ]
        );

        let weak = ca.issue(&spec().with_key(LeafKey::Rsa1024)).unwrap();
        assert_eq!(
            not_pass(&judge(&weak.chain(true), &trust, &["mail.contoso.com"])),
            [("tls.cert.key", Status::Fail)]
        );

        let r = judge(&good.chain(true), &Trust::empty(), &["mail.contoso.com"]);
        assert_eq!(not_pass(&r), [("tls.cert.trusted", Status::Fail)]);
    }

    #[test]
    fn no_certificate_fails_present_and_skips_the_rest() {
        let r = judge(&[], &Trust::empty(), &["x"]);
        assert_eq!(r[0], ("tls.cert.present".to_string(), Status::Fail));
        assert!(r[1..].iter().all(|(_, s)| *s == Status::Skip));
        let garbage = [CertificateDer::from(vec![0x30, 0x03, 0x02, 0x01, 0x00])];
        let r = judge(&garbage, &Trust::empty(), &["x"]);
        assert_eq!(r[0].1, Status::Fail);
    }

    #[test]
    fn certificate_file_report() {
        let dir = tempfile::tempdir().unwrap();
        let ca = LabCa::generate(now()).unwrap();
        let mut trust = Trust::empty();
        trust.add_der(ca.root_der());
        let leaf = ca
            .issue(&LeafSpec::server("mail.contoso.com", ["mail.contoso.com"], now()))
            .unwrap();
        let full = dir.path().join("full.pem");
        std::fs::write(&full, leaf.chain_pem(true)).unwrap();
        let rep = check_certificate_file(&full, None, &["mail.contoso.com".into()], &trust, now()).unwrap();
        assert_eq!(rep.chain.len(), 2);
        assert!(
            rep.checks.iter().all(|c| c.status == Status::Pass),
            "{:#?}",
            rep.checks
        );
        let only = dir.path().join("leaf.pem");
        std::fs::write(&only, leaf.leaf_pem()).unwrap();
        let rep = check_certificate_file(&only, None, &[], &trust, now()).unwrap();
        let cc = rep
            .checks
            .iter()
            .find(|c| c.id == "tls.cert.chain_complete")
            .unwrap();
        assert_eq!(cc.status, Status::Fail);
        assert!(
            cc.summary.starts_with("the file holds only the leaf"),
            "{}",
            cc.summary
        );
    }

    /// Issue 13 item 2: the Edge's self-signed certificate on Mailbox <-> Edge is judged by direct trust
    /// (the Edge subscription's certificate), where public trust fails it.
    #[test]
    fn the_edge_self_signed_certificate_passes_direct_trust_only_when_published() {
        let ca = LabCa::generate(now()).unwrap();
        let mut trust = Trust::empty();
        trust.add_der(ca.root_der());
        let edge = ca
            .issue(
                &LeafSpec::server("EDGE01", ["EDGE01", "edge01.contoso.com"], now())
                    .with_issuer(LeafIssuer::SelfSigned),
            )
            .unwrap();
        let chain = edge.chain(false);
        let expected = [ExpectedName::host("edge01.contoso.com".to_string(), "test")];
        let ctx = CertCheckContext {
            target: "edge01.contoso.com:25",
            evidence_id: "smtp:edge01.contoso.com:25",
            expected: &expected,
            trust: &trust,
            now: now(),
            used_as_client: false,
            attachment: Attachment::None,
        };
        // Public trust, as every hop was judged before: a false red.
        let public = cert_checks(&chain, &ctx);
        assert!(
            public
                .iter()
                .any(|r| r.id == TRUSTED.id && r.status == Status::Fail)
        );

        let published = crate::cert::parse_certificate(&chain[0]).unwrap().sha1_thumbprint;
        let direct = |thumbprint: Option<&str>| {
            direct_trust_checks(
                &chain,
                &ctx,
                &DirectTrust {
                    publisher: "the Edge subscription",
                    thumbprint,
                    profile_key: Some("[[edge]] subscription_thumbprint"),
                },
            )
        };
        let ok = direct(Some(&published));
        assert_eq!(ok.len(), DIRECT_TRUST_SERVER_DEFS.all().len());
        assert!(ok.iter().all(|r| r.status <= Status::Info), "{ok:#?}");
        assert!(
            ok.iter()
                .any(|r| r.id == DIRECT_TRUST.id && r.status == Status::Pass)
        );
        assert!(!ok.iter().any(|r| r.id == TRUSTED.id));

        let stale = direct(Some("0000000000000000000000000000000000000000"));
        let fail = stale.iter().find(|r| r.id == DIRECT_TRUST.id).unwrap();
        assert_eq!(fail.status, Status::Fail);
        assert!(
            fail.remediation.contains("New-EdgeSubscription"),
            "{}",
            fail.remediation
        );

        // Not in the profile: information, never a pass.
        let unknown = direct(None);
        let info = unknown.iter().find(|r| r.id == DIRECT_TRUST.id).unwrap();
        assert_eq!(info.status, Status::Info);
        assert!(info.detail.contains("subscription_thumbprint"), "{}", info.detail);
    }
}
