//! `tls.cert.chain.*` and `tls.cert.san`: one check per path-validation rule ([`crate::chain_rules`]), so
//! that a chain webpki refuses (or accepts while the Windows chain engine would not) says which certificate
//! breaks which rule. A client's chain (what the relay sees) is judged by the same rules under other ids
//! ([`ChainDefs`]). Pure functions of the chain, the trust anchors and an injected clock.

use rustls_pki_types::CertificateDer;

use crate::cert::Usage;
use crate::chain_rules::{ChainAnalysis, Finding, Rule, Severity, analyse};
use crate::check::{CheckDef, CheckResult, Place, Remediation, Status, Step};
use crate::checks::cert::CertCheckContext;

pub(crate) const RFC5280: &str = "https://www.rfc-editor.org/rfc/rfc5280#section-6.1";
pub(crate) const TRUST_STATUS: &str =
    "https://learn.microsoft.com/windows/win32/api/wincrypt/ns-wincrypt-cert_trust_status";
pub(crate) const CABF_BR: &str =
    "https://cabforum.org/working-groups/server/baseline-requirements/requirements/";
const CERT_REQ: &str = "https://learn.microsoft.com/exchange/certificate-requirements#certificate-requirements-for-hybrid-deployments";

/// `tls.cert.chain.ca_validity`.
pub const CA_VALIDITY: CheckDef = CheckDef {
    id: "tls.cert.chain.ca_validity",
    title: "Every CA certificate of the chain, the root included, is within its validity period",
    why: "An expired intermediate or root makes the Windows chain engine report CERT_TRUST_IS_NOT_TIME_VALID: \
          Exchange Online and Exchange refuse the certificate although the leaf itself is valid.",
    references: &[TRUST_STATUS, RFC5280],
};
/// `tls.cert.chain.ca_constraints`.
pub const CA_CONSTRAINTS: CheckDef = CheckDef {
    id: "tls.cert.chain.ca_constraints",
    title: "Every issuing certificate is a CA (basicConstraints CA=true, critical)",
    why: "A certificate issued by something that is not a CA is refused (CERT_TRUST_INVALID_BASIC_CONSTRAINTS; \
          RFC 5280 6.1.4 (k)).",
    references: &[RFC5280, TRUST_STATUS],
};
/// `tls.cert.chain.ca_key_usage`.
pub const CA_KEY_USAGE: CheckDef = CheckDef {
    id: "tls.cert.chain.ca_key_usage",
    title: "Every issuing certificate may sign certificates (keyUsage keyCertSign)",
    why: "A CA whose keyUsage lacks keyCertSign may not have issued the certificate below it (RFC 5280 6.1.4 (n)); \
          verifiers refuse the chain.",
    references: &[RFC5280, CABF_BR],
};
/// `tls.cert.chain.path_length`.
pub const PATH_LENGTH: CheckDef = CheckDef {
    id: "tls.cert.chain.path_length",
    title: "No CA has more intermediates below it than its pathLenConstraint allows",
    why: "A path longer than a CA allows is refused (RFC 5280 6.1.4 (m), CERT_TRUST_INVALID_BASIC_CONSTRAINTS).",
    references: &[RFC5280, TRUST_STATUS],
};
/// `tls.cert.chain.leaf_ca`.
pub const LEAF_CA: CheckDef = CheckDef {
    id: "tls.cert.chain.leaf_ca",
    title: "The server certificate is not a CA certificate",
    why: "A server certificate with CA=true or keyCertSign could issue certificates for any name; verifiers refuse \
          it as an end-entity certificate and public CAs never issue one (CA/Browser Forum BR 7.1.2.7).",
    references: &[CABF_BR, RFC5280],
};
/// `tls.cert.chain.leaf_key_usage`.
pub const LEAF_KEY_USAGE: CheckDef = CheckDef {
    id: "tls.cert.chain.leaf_key_usage",
    title: "The server certificate's keyUsage allows a TLS handshake",
    why: "A keyUsage without digitalSignature (or keyEncipherment for RSA key exchange) forbids the key for TLS: \
          the other side refuses the handshake (CERT_TRUST_IS_NOT_VALID_FOR_USAGE).",
    references: &[TRUST_STATUS, CABF_BR],
};
/// `tls.cert.chain.critical_extensions`.
pub const CRITICAL_EXTENSIONS: CheckDef = CheckDef {
    id: "tls.cert.chain.critical_extensions",
    title: "No certificate of the chain has an unknown critical extension",
    why: "A verifier must refuse a certificate with a critical extension it does not understand (RFC 5280 4.2); \
          Windows reports CERT_TRUST_HAS_NOT_SUPPORTED_CRITICAL_EXT.",
    references: &[RFC5280, TRUST_STATUS],
};
/// `tls.cert.chain.name_constraints`.
pub const NAME_CONSTRAINTS: CheckDef = CheckDef {
    id: "tls.cert.chain.name_constraints",
    title: "The certificate's names are within every CA's name constraints",
    why: "A CA restricted to some domains (nameConstraints) cannot vouch for other names: Windows reports \
          CERT_TRUST_HAS_NOT_PERMITTED_NAME_CONSTRAINT / CERT_TRUST_HAS_EXCLUDED_NAME_CONSTRAINT.",
    references: &[RFC5280, TRUST_STATUS],
};
/// `tls.cert.chain.key_ids`.
pub const KEY_IDS: CheckDef = CheckDef {
    id: "tls.cert.chain.key_ids",
    title: "Authority and subject key identifiers are present and match",
    why: "Windows finds a certificate's issuer by its authorityKeyIdentifier: a mismatch leaves the chain \
          incomplete (UntrustedRoot). Missing identifiers break RFC 5280 4.2.1.1/4.2.1.2 (OpenSSL -x509_strict and \
          pyca/cryptography refuse them) but Windows still builds the chain by name.",
    references: &[RFC5280],
};
/// `tls.cert.san`.
pub const SAN: CheckDef = CheckDef {
    id: "tls.cert.san",
    title: "The certificate carries its names in the subjectAltName",
    why: "Exchange and Exchange Online match a connector's name against the subject CN or the subjectAltName, so a \
          CN-only certificate works for hybrid; RFC 6125 and the CA/Browser Forum require the subjectAltName, and \
          other senders verifying the name (DANE, MTA-STS, OpenSSL) ignore the CN.",
    references: &[CERT_REQ, CABF_BR],
};

/// The rules, in the order of a [`ChainDefs`].
pub const RULES: [Rule; 10] = [
    Rule::CaValidity,
    Rule::CaConstraints,
    Rule::CaKeyUsage,
    Rule::PathLength,
    Rule::LeafIsCa,
    Rule::LeafKeyUsage,
    Rule::CriticalExtension,
    Rule::NameConstraints,
    Rule::KeyIdentifiers,
    Rule::SubjectAltName,
];

/// One definition per path-validation rule, in [`RULES`] order: the `tls.cert.chain.*` ones for a server's
/// chain ([`SERVER_CHAIN_DEFS`]), others (the relay's `relay.client-cert.chain.*`) for a client's.
#[derive(Debug, Clone, Copy)]
pub struct ChainDefs {
    /// The usage the leaf is judged for.
    pub usage: Usage,
    /// The definitions, in [`RULES`] order.
    pub defs: [CheckDef; 10],
}

impl ChainDefs {
    /// The definition of `rule`.
    pub fn of(&self, rule: Rule) -> &CheckDef {
        let i = RULES.iter().position(|r| *r == rule).unwrap_or(RULES.len() - 1);
        &self.defs[i]
    }
}

/// The `tls.cert.chain.*` definitions and `tls.cert.san`, for a server's chain.
pub const SERVER_CHAIN_DEFS: ChainDefs = ChainDefs {
    usage: Usage::Server,
    defs: [
        CA_VALIDITY,
        CA_CONSTRAINTS,
        CA_KEY_USAGE,
        PATH_LENGTH,
        LEAF_CA,
        LEAF_KEY_USAGE,
        CRITICAL_EXTENSIONS,
        NAME_CONSTRAINTS,
        KEY_IDS,
        SAN,
    ],
};

/// Every definition of this module.
pub const DEFS: &[CheckDef] = &SERVER_CHAIN_DEFS.defs;

/// The service that presents the certificate on port 25 where `shell` runs: the Edge's transport service, the
/// front end on a Mailbox server (both, when the server is not known).
pub(crate) fn transport_service(shell: Place) -> &'static str {
    match shell {
        Place::EdgeShell => "Restart-Service MSExchangeTransport",
        Place::MailboxShell => "Restart-Service MSExchangeFrontEndTransport",
        _ => "Restart-Service MSExchangeTransport, MSExchangeFrontEndTransport",
    }
}

/// Request a server certificate for `cn` and `names` (placeholders when not known), have it signed, import
/// it and bind it to SMTP, run at `shell`.
pub(crate) fn request_server_certificate(shell: Place, cn: Option<&str>, names: &[String]) -> Vec<Step> {
    let cn = cn.unwrap_or("<name>");
    let names = if names.is_empty() {
        format!("{cn},<other names>")
    } else {
        names.join(",")
    };
    let mut steps = vec![Step::command(
        shell,
        format!(
            "New-ExchangeCertificate -GenerateRequest -SubjectName \"CN={cn}\" -DomainName {names} \
             -PrivateKeyExportable $true"
        ),
    )];
    steps.push(Step::prose(
        "Have the CA sign it, then import it and bind it to SMTP:",
    ));
    steps.extend(import_and_bind(shell, "cert.cer"));
    steps
}

/// Import a signed certificate and bind it to SMTP, run at `shell`.
fn import_and_bind(shell: Place, file: &str) -> [Step; 2] {
    [
        Step::command(
            shell,
            format!(
                "Import-ExchangeCertificate -FileData ([System.IO.File]::ReadAllBytes('C:\\{file}')) -Password \
                 (Read-Host -AsSecureString)"
            ),
        ),
        Step::command(
            shell,
            "Enable-ExchangeCertificate -Thumbprint <new> -Services SMTP",
        ),
    ]
}

/// Import the intermediate the CA issues today into the server's store and restart the service that sends
/// the chain, run at `shell`.
fn send_current_intermediate(shell: Place) -> [Step; 2] {
    [
        Step::command(
            shell,
            "Import-Certificate -CertStoreLocation Cert:\\LocalMachine\\CA -FilePath intermediate.cer",
        ),
        Step::command(shell, transport_service(shell)),
    ]
}

/// What to do about a broken rule on the server whose Exchange Management Shell is `shell`.
fn remediation(rule: Rule, shell: Place, usage: Usage) -> Remediation {
    let mut steps = Vec::new();
    match rule {
        Rule::CaValidity => {
            steps.push(Step::prose(
                "Install the CA's current certificate: get the intermediate the CA issues today (its repository, or \
                 the certificate bundle of the renewal) and import it (a renewed root goes into \
                 Cert:\\LocalMachine\\Root):",
            ));
            let [import, restart] = send_current_intermediate(shell);
            steps.push(import);
            steps.push(Step::prose("Remove the expired one, then restart the transport service so that the server sends the current chain:"));
            steps.push(Step::command(
                shell,
                "Get-ChildItem Cert:\\LocalMachine\\CA | Where-Object NotAfter -lt (Get-Date) | Remove-Item",
            ));
            steps.push(restart);
            steps.push(Step::prose(
                "If the root itself expired, the certificate must be reissued under a current root.",
            ));
        }
        Rule::CaConstraints | Rule::CaKeyUsage | Rule::PathLength | Rule::NameConstraints => {
            steps.push(Step::prose(
                "The CA hierarchy itself is faulty: have the certificate reissued by a public CA (or fix the internal \
                 CA's certificate template and reissue), then import it and bind it to SMTP:",
            ));
            steps.extend(import_and_bind(shell, "cert.pfx"));
            steps.push(Step::prose("Then rerun the Hybrid Configuration Wizard."));
        }
        Rule::LeafIsCa | Rule::LeafKeyUsage => {
            steps.push(Step::prose(match usage {
                Usage::Server => {
                    "Request a server certificate from a web-server/SSL template (end entity, keyUsage \
                     digitalSignature and keyEncipherment, EKU serverAuth):"
                }
                Usage::Client => {
                    "The send connector presents the server's SMTP certificate as its client certificate. Request \
                     one from a template for end entities with keyUsage digitalSignature (and keyEncipherment) and \
                     EKU serverAuth and clientAuth, then name it in TlsCertificateName (rerun the Hybrid \
                     Configuration Wizard):"
                }
            }));
            steps.extend(request_server_certificate(shell, None, &[]));
        }
        Rule::CriticalExtension => {
            steps.push(Step::prose(
                "Have the certificate (or the CA certificate named) reissued without the unknown critical extension; \
                 a reissued server certificate is then imported and bound to SMTP:",
            ));
            steps.extend(import_and_bind(shell, "cert.pfx"));
        }
        Rule::KeyIdentifiers => {
            steps.push(Step::prose(
                "Send the intermediate the CA issues today (a re-keyed CA has a new key identifier):",
            ));
            steps.extend(send_current_intermediate(shell));
            steps.push(Step::prose(
                "Or have the certificate reissued by a CA that sets authority and subject key identifiers.",
            ));
        }
        Rule::SubjectAltName => {
            steps.push(Step::prose(
                "At the next renewal, request the names as subjectAltName too (every public CA adds them):",
            ));
            steps.push(Step::command(
                shell,
                "New-ExchangeCertificate -GenerateRequest -SubjectName \"CN=<name>\" -DomainName <name>,<other names> \
                 -PrivateKeyExportable $true",
            ));
        }
    }
    Remediation::steps(steps)
}

/// A [`ChainProblem`](crate::cert::ChainProblem) in words (never its debug name).
pub fn problem_words(problem: crate::cert::ChainProblem) -> &'static str {
    use crate::cert::ChainProblem as P;
    match problem {
        P::Expired => "A certificate of the chain has expired",
        P::NotYetValid => "A certificate of the chain is not valid yet",
        P::UnknownIssuer => "No path to a trusted root",
        P::SelfSigned => "A self-signed certificate that is not trusted",
        P::BadSignature => "A signature in the chain does not verify or uses a refused algorithm",
        P::NotServerAuth => "The certificate is not valid for server authentication",
        P::NotClientAuth => "The certificate is not valid for client authentication",
        _ => "The chain breaks a path-validation rule (see the tls.cert.chain.* checks)",
    }
}

fn describe(f: &Finding) -> String {
    format!("{} {}", f.certificate, f.problem)
}

/// When a chain reaches a trust anchor but breaks a rule a `tls.cert.chain.*` check fails (so that webpki
/// refuses it for that reason): the id of that check and the anchor's subject.
pub fn refusal_explained(
    chain: &[CertificateDer<'_>],
    trust: &crate::cert::Trust,
    now: time::OffsetDateTime,
    defs: &ChainDefs,
) -> Option<(&'static str, String)> {
    let analysis = analyse(chain, trust.anchor_certs(), now, defs.usage)?;
    if !analysis.anchored {
        return None;
    }
    let finding = analysis.findings.iter().find(|f| {
        f.severity == Severity::Fail && !matches!(f.rule, Rule::KeyIdentifiers | Rule::SubjectAltName)
    })?;
    let anchor = analysis
        .path
        .last()
        .map(|p| p.subject.clone())
        .unwrap_or_default();
    Some((defs.of(finding.rule).id, anchor))
}

/// One result per rule for `chain` (leaf first, as sent), judged against the anchors of `ctx.trust` at
/// `ctx.now` and reported under `defs`.
pub fn chain_checks(
    chain: &[CertificateDer<'_>],
    ctx: &CertCheckContext<'_>,
    defs: &ChainDefs,
) -> Vec<CheckResult> {
    let mk = |def: &CheckDef, status: Status, summary: String| {
        CheckResult::new(def, status, ctx.target, summary)
            .evidence(ctx.evidence_id)
            .on(ctx.attachment.clone())
    };
    let Some(analysis) = analyse(chain, ctx.trust.anchor_certs(), ctx.now, defs.usage) else {
        return defs
            .defs
            .iter()
            .map(|d| mk(d, Status::Skip, "no certificate that parses to judge".into()))
            .collect();
    };
    // Where the certificate is installed: the server the hop reaches (the on-premises shell otherwise).
    let shell = crate::checks::smtp::server_shell(&ctx.attachment);
    RULES
        .iter()
        .zip(&defs.defs)
        .map(|(rule, def)| rule_result(*rule, def, defs.usage, &analysis, shell, &mk))
        .collect()
}

fn rule_result(
    rule: Rule,
    def: &CheckDef,
    usage: Usage,
    analysis: &ChainAnalysis,
    shell: Place,
    mk: &dyn Fn(&CheckDef, Status, String) -> CheckResult,
) -> CheckResult {
    let found: Vec<&Finding> = analysis.of(rule).collect();
    let cas = analysis.path.len().saturating_sub(1);
    let ca_rule = matches!(
        rule,
        Rule::CaValidity | Rule::CaConstraints | Rule::CaKeyUsage | Rule::PathLength | Rule::NameConstraints
    );
    if found.is_empty() {
        if ca_rule && cas == 0 {
            return mk(
                def,
                Status::Skip,
                "no CA certificate of the chain is known here (neither sent nor a trust anchor)".into(),
            );
        }
        let scope = if ca_rule {
            let root = if analysis.anchored {
                "the root included"
            } else {
                "no trust anchor reached"
            };
            format!("{cas} CA certificate(s) judged, {root}")
        } else {
            format!("{} certificate(s) judged", analysis.path.len())
        };
        let summary = match rule {
            Rule::SubjectAltName => "the names are in the subjectAltName".to_string(),
            _ => format!("no problem ({scope})"),
        };
        return mk(def, Status::Pass, summary);
    }
    let worst = found.iter().map(|f| f.severity).max().unwrap_or(Severity::Warn);
    let status = match worst {
        Severity::Fail => Status::Fail,
        Severity::Warn => Status::Warn,
    };
    let summary = found.iter().map(|f| describe(f)).collect::<Vec<_>>().join("; ");
    let detail = match rule {
        Rule::SubjectAltName => "Exchange and Exchange Online compare the connector's name (TlsDomain, \
             TlsSenderCertificateName, the FQDN) with the subject CN or the subjectAltName, so hybrid mail flow works \
             with it (tls.cert.name compares the CN as Exchange does). Other verifiers do not: RFC 6125 and the \
             CA/Browser Forum Baseline Requirements (7.1.2.7.12) require the DNS names in the subjectAltName, and \
             OpenSSL with -verify_hostname, pyca/cryptography, browsers and senders using DANE or MTA-STS ignore the CN."
            .to_string(),
        Rule::KeyIdentifiers if worst == Severity::Warn => "RFC 5280 requires these identifiers and OpenSSL's \
             -x509_strict and pyca/cryptography refuse the chain without them; the Windows chain engine, and so \
             Exchange and Exchange Online, build the chain by name and accept it."
            .to_string(),
        _ if worst == Severity::Warn => "A standard requires it (RFC 5280 or the CA/Browser Forum Baseline \
             Requirements) and strict verifiers refuse it; the Windows chain engine, and so Exchange and Exchange \
             Online, accept it."
            .to_string(),
        _ => "Exchange Online validates this chain with the Windows chain engine when it connects (and when your \
              server presents it to Exchange Online as a client): it refuses the certificate, so TLS and mail flow \
              on the hybrid connectors fail (450 4.4.317 / 454 4.7.5 certificate validation failure)."
            .to_string(),
    };
    mk(def, status, summary)
        .detail(detail)
        .remediation(remediation(rule, shell, usage))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ca::{LabCa, LeafSpec};
    use crate::cert::Trust;
    use crate::check::Attachment;

    fn now() -> time::OffsetDateTime {
        time::macros::datetime!(2026-11-28 12:00 UTC)
    }

    #[test]
    fn every_rule_has_a_command_to_run_one_per_step_on_the_server() {
        use crate::check::StepKind;
        for (rule, usage) in RULES
            .iter()
            .flat_map(|r| [(*r, Usage::Server), (*r, Usage::Client)])
        {
            let def = SERVER_CHAIN_DEFS.of(rule);
            for shell in [Place::EdgeShell, Place::MailboxShell, Place::ExchangeShell] {
                let fix = remediation(rule, shell, usage);
                assert!(
                    fix.steps.iter().any(|s| s.kind == StepKind::Command),
                    "{}: no command\n{fix}",
                    def.id
                );
                for step in &fix.steps {
                    if step.is_command() {
                        assert_eq!(step.place, Some(shell), "{}: {}", def.id, step.text);
                        for two in ["; ", ", then ", " then ", " and "] {
                            assert!(!step.text.contains(two), "{}: {}", def.id, step.text);
                        }
                    } else {
                        for cmdlet in ["-ExchangeCertificate", "Import-Certificate", "Restart-Service"] {
                            assert!(!step.text.contains(cmdlet), "{}: {}", def.id, step.text);
                        }
                    }
                }
            }
        }
        // The Edge restarts the service that presents the certificate there.
        assert!(
            remediation(Rule::CaValidity, Place::EdgeShell, Usage::Server)
                .contains("Restart-Service MSExchangeTransport")
        );
    }

    #[test]
    fn a_healthy_lab_chain_passes_every_rule_and_an_expired_root_fails_one() {
        let ca = LabCa::generate(now()).unwrap();
        let mut trust = Trust::empty();
        trust.add_der(ca.root_der());
        let leaf = ca
            .issue(&LeafSpec::server("mail.contoso.com", ["mail.contoso.com"], now()))
            .unwrap();
        let ctx = CertCheckContext {
            target: "t",
            evidence_id: "e",
            expected: &[],
            trust: &trust,
            now: now(),
            used_as_client: true,
            attachment: Attachment::None,
        };
        let r = chain_checks(&leaf.chain(true), &ctx, &SERVER_CHAIN_DEFS);
        assert_eq!(r.len(), DEFS.len());
        assert!(r.iter().all(|c| c.status == Status::Pass), "{r:#?}");
        // Far in the future the root has expired too: the CA rule says so, with the date in words.
        let later = CertCheckContext {
            now: now() + time::Duration::days(365 * 30),
            ..ctx
        };
        let r = chain_checks(&leaf.chain(true), &later, &SERVER_CHAIN_DEFS);
        let v = r.iter().find(|c| c.id == CA_VALIDITY.id).unwrap();
        assert_eq!(v.status, Status::Fail, "{v:#?}");
        assert!(
            v.summary.contains("expired") && v.summary.contains("days ago ("),
            "{}",
            v.summary
        );
    }
}
