//! `tls.dane`: the TLSA records published for an SMTP endpoint (`_25._tcp.HOST`, RFC 7672) against the
//! certificate chain it actually serves. A pure function of the DNS answer and the probe.
//!
//! A stale TLSA record after a certificate renewal is the classic DANE outage: every sender that validates
//! DANE (Exchange Online delivering to a DNSSEC-signed domain, or over an outbound connector whose
//! `SmtpDaneMode` asks for it; Postfix with `smtp_tls_security_level = dane`) refuses to deliver
//! (`4.7.323 tlsa-invalid`) and the mail queues. mailpath does not validate DNSSEC itself: a TLSA record
//! only matters when its zone is signed, which the detail says.

use data_encoding::HEXLOWER;
use rustls_pki_types::CertificateDer;
use sha2::Digest as _;

use crate::check::{Attachment, CheckDef, CheckResult, Place, Remediation, Status, Step};
use crate::dns::{DnsAnswer, DnsOutcome, RecordData};
use crate::evidence::SmtpProbe;
use crate::topology::tlsa_name;

const DANE_EXO: &str = "https://learn.microsoft.com/purview/how-smtp-dane-works";
const RFC7672: &str = "https://www.rfc-editor.org/rfc/rfc7672";

/// `tls.dane`.
pub const DANE: CheckDef = CheckDef {
    id: "tls.dane",
    title: "TLSA records (DANE) match the certificate served",
    why: "Exchange Online validates DANE for DNSSEC-signed domains and on outbound connectors with SmtpDaneMode: \
          a TLSA record that no longer matches the certificate (renewed, but the record not updated) makes it \
          refuse delivery (4.7.323 tlsa-invalid) and mail to on-premises queues.",
    references: &[DANE_EXO, RFC7672],
};

/// Every check of this family.
pub const DEFS: &[&CheckDef] = &[&DANE];

/// One TLSA record, parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Tlsa {
    usage: u8,
    selector: u8,
    matching: u8,
    data_hex: String,
}

impl Tlsa {
    fn text(&self) -> String {
        format!(
            "{} {} {} {}",
            self.usage, self.selector, self.matching, self.data_hex
        )
    }

    /// Whether this record can authenticate an SMTP server at all (RFC 7672 §3.1.3: PKIX-TA(0) and
    /// PKIX-EE(1) are unusable for SMTP; only DANE-TA(2) and DANE-EE(3)), with a selector and a matching
    /// type this checker knows.
    fn usable(&self) -> bool {
        matches!(self.usage, 2 | 3) && self.selector <= 1 && self.matching <= 2
    }

    /// Whether the record matches this certificate (DER).
    fn matches(&self, cert_der: &[u8]) -> bool {
        let Some(selected) = select(cert_der, self.selector) else {
            return false;
        };
        let digest = match self.matching {
            0 => selected,
            1 => sha2::Sha256::digest(&selected).to_vec(),
            2 => sha2::Sha512::digest(&selected).to_vec(),
            _ => return false,
        };
        HEXLOWER.encode(&digest) == self.data_hex.to_ascii_lowercase()
    }
}

/// The bytes a selector names: the whole certificate (0) or its SubjectPublicKeyInfo (1).
fn select(cert_der: &[u8], selector: u8) -> Option<Vec<u8>> {
    match selector {
        0 => Some(cert_der.to_vec()),
        1 => {
            let (_, cert) = x509_parser::parse_x509_certificate(cert_der).ok()?;
            Some(cert.tbs_certificate.subject_pki.raw.to_vec())
        }
        _ => None,
    }
}

/// Whether the usable TLSA records of `answer` match `chain` (leaf first; DANE-EE against the leaf,
/// DANE-TA against the others); `None` when there is no usable record.
pub fn chain_matches(answer: &DnsAnswer, chain: &[CertificateDer<'_>]) -> Option<bool> {
    let usable: Vec<Tlsa> = tlsa_records(answer).into_iter().filter(Tlsa::usable).collect();
    if usable.is_empty() {
        return None;
    }
    let leaf = chain.first()?;
    Some(usable.iter().any(|t| match t.usage {
        3 => t.matches(leaf),
        _ => chain.iter().skip(1).any(|c| t.matches(c)),
    }))
}

fn tlsa_records(answer: &DnsAnswer) -> Vec<Tlsa> {
    answer
        .records_of_requested_type()
        .filter_map(|r| match r {
            RecordData::Tlsa {
                usage,
                selector,
                matching,
                data_hex,
            } => Some(Tlsa {
                usage: *usage,
                selector: *selector,
                matching: *matching,
                data_hex: data_hex.clone(),
            }),
            _ => None,
        })
        .collect()
}

/// The TLSA record (`3 1 1`, DANE-EE of the public key's SHA-256, which survives renewals that keep the
/// key) that matches a certificate.
pub fn tlsa_for(cert_der: &[u8]) -> Option<String> {
    let spki = select(cert_der, 1)?;
    Some(format!("3 1 1 {}", HEXLOWER.encode(&sha2::Sha256::digest(&spki))))
}

/// Judge the TLSA records of `host` (the answer for [`crate::topology::tlsa_name`]) against what `probe` was served.
/// `answer` is `None` when no TLSA lookup was made.
pub fn dane_check(
    host: &str,
    answer: Option<&DnsAnswer>,
    probe: Option<&SmtpProbe>,
    attachment: Attachment,
) -> CheckResult {
    let name = tlsa_name(host);
    let target = format!("{host}:25");
    let result = |status: Status, summary: String| {
        let mut r = CheckResult::new(&DANE, status, target.clone(), summary).on(attachment.clone());
        if answer.is_some() {
            r = r.evidence(format!("dns:{name}/TLSA"));
        }
        if let Some(p) = probe {
            r = r.evidence(p.id.clone());
        }
        r
    };
    let Some(answer) = answer else {
        return result(Status::Skip, format!("{name}: not looked up"));
    };
    let records = tlsa_records(answer);
    match &answer.outcome {
        DnsOutcome::NxDomain | DnsOutcome::NoData => {
            return result(
                Status::Info,
                format!("no TLSA record at {name}: DANE is not in use for {host}"),
            )
            .detail(
                "Without TLSA records senders use opportunistic TLS (or, for Exchange Online's hybrid connectors, \
                 the certificate checks of the connector). Nothing to keep in step at certificate renewals.",
            );
        }
        DnsOutcome::Timeout | DnsOutcome::Error(_) => {
            let why = match &answer.outcome {
                DnsOutcome::Error(e) => e.clone(),
                _ => "timed out".into(),
            };
            return result(
                Status::Warn,
                format!("the TLSA lookup of {name} failed ({why})"),
            )
            .detail(
                "A DANE-validating sender that cannot get a DNSSEC-secure answer for the TLSA name must defer the \
                 mail (RFC 7672 §2.2): a broken DNSSEC chain or a server answering SERVFAIL for TLSA queries \
                 delays mail even when no TLSA record exists.",
            )
            .remediation(Remediation::steps([
                Step::prose(format!(
                    "Make the authoritative servers of {host}'s zone answer TLSA queries (NOERROR, empty when there \
                     is none), with a DNSSEC chain that validates."
                ))
                .at(Place::Dns),
                Step::confirm(Place::Workstation, format!("Resolve-DnsName -Name {name} -Type TLSA -DnssecOk")),
            ]));
        }
        DnsOutcome::Records(_) if records.is_empty() => {
            return result(
                Status::Info,
                format!("no TLSA record at {name} (only other records): DANE is not in use for {host}"),
            );
        }
        DnsOutcome::Records(_) => {}
    }
    let listed = records.iter().map(Tlsa::text).collect::<Vec<_>>().join("; ");
    let chain: &[CertificateDer<'static>] = probe
        .and_then(|p| p.tls.as_ref())
        .map_or(&[], |tls| tls.chain.as_slice());
    let Some(leaf) = chain.first() else {
        return result(
            Status::Skip,
            format!(
                "{name} publishes TLSA ({listed}), but no certificate was received from {host} to compare"
            ),
        );
    };
    let want = tlsa_for(leaf).unwrap_or_default();
    let usable: Vec<&Tlsa> = records.iter().filter(|t| t.usable()).collect();
    if usable.is_empty() {
        return result(
            Status::Warn,
            format!("{name} publishes only TLSA records SMTP cannot use ({listed})"),
        )
        .detail(
            "SMTP senders ignore PKIX-TA (0) and PKIX-EE (1) TLSA records (RFC 7672 §3.1.3): with only those, a \
             DANE sender requires TLS but authenticates nothing.",
        )
        .remediation(Remediation::steps([
            Step::prose("Publish a DANE-EE record for the certificate served now:"),
            Step::command(Place::Dns, format!("{name}. 3600 IN TLSA {want}")),
            Step::confirm(Place::Workstation, format!("Resolve-DnsName -Name {name} -Type TLSA")),
        ]));
    }
    // DANE-EE: the server's own certificate; DANE-TA: a trust anchor it sends in its chain (not the leaf).
    let matched = usable.iter().find(|t| match t.usage {
        3 => t.matches(leaf),
        _ => chain.iter().skip(1).any(|c| t.matches(c)),
    });
    match matched {
        Some(t) => result(
            Status::Pass,
            format!("{name}: TLSA {} matches the certificate {host} serves", t.text()),
        )
        .detail(format!(
            "Published: {listed}. DANE applies only when the zone is DNSSEC-signed (mailpath does not validate \
             DNSSEC). At the next renewal, publish the new record beside the old one before switching \
             certificates: {want} is the record of the current key."
        )),
        None => result(
            Status::Fail,
            format!("no TLSA record at {name} matches the certificate {host} serves"),
        )
        .detail(format!(
            "Published: {listed}. The certificate served now needs {want}. DANE-validating senders (Exchange Online \
             for DNSSEC-signed domains or with SmtpDaneMode on its outbound connector, Postfix with dane) refuse \
             to deliver: 4.7.323 tlsa-invalid. Typical cause: the certificate (or its key) was renewed and the \
             TLSA record was not updated. If the zone is not DNSSEC-signed, senders ignore the records, but they \
             are wrong all the same."
        ))
        .remediation(Remediation::steps([
            Step::prose("Publish the record of the certificate served now (keep the old one until caches expire, then remove it):"),
            Step::command(Place::Dns, format!("{name}. 3600 IN TLSA {want}")),
            Step::prose("With Windows DNS, on the DNS server:"),
            Step::command(
                Place::Dns,
                format!(
                    "Add-DnsServerResourceRecord -ZoneName <zone> -Name _25._tcp.<host> -TLSA -CertificateUsage \
                     DomainIssuedCertificate -Selector SubjectPublicKeyInfo -MatchingType Sha256Hash \
                     -CertificateAssociationData {}",
                    want.rsplit(' ').next().unwrap_or_default()
                ),
            ),
            Step::confirm(Place::Workstation, format!("Resolve-DnsName -Name {name} -Type TLSA")),
        ])),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(bytes: &[u8]) -> String {
        HEXLOWER.encode(bytes)
    }
    use crate::ca::{LabCa, LeafSpec};
    use crate::dns::RecordType;
    use crate::evidence::{Connect, TlsEvidence};

    fn answer(outcome: DnsOutcome) -> DnsAnswer {
        DnsAnswer {
            name: "_25._tcp.mail.contoso.com".into(),
            rtype: RecordType::Tlsa,
            server: "test".into(),
            outcome,
            elapsed_ms: 1,
        }
    }

    fn tlsa(usage: u8, selector: u8, matching: u8, data_hex: &str) -> RecordData {
        RecordData::Tlsa {
            usage,
            selector,
            matching,
            data_hex: data_hex.into(),
        }
    }

    fn probe(chain: &[Vec<u8>]) -> SmtpProbe {
        let connect = Connect::Connected {
            address: "127.0.0.1:25".parse().unwrap(),
            ms: 1,
        };
        let mut p = SmtpProbe::new("mail.contoso.com", 25, Vec::new(), "mailpath.invalid", connect);
        p.tls = Some(TlsEvidence {
            version: Some("TLSv1.3".into()),
            chain: chain.iter().map(|c| CertificateDer::from(c.clone())).collect(),
            ..TlsEvidence::default()
        });
        p
    }

    fn chain() -> (Vec<u8>, Vec<u8>) {
        let now = time::OffsetDateTime::now_utc();
        let ca = LabCa::generate(now).unwrap();
        let leaf = ca
            .issue(&LeafSpec::server("mail.contoso.com", ["mail.contoso.com"], now))
            .unwrap();
        let c = leaf.chain(true);
        (c[0].to_vec(), c[1].to_vec())
    }

    fn check(outcome: DnsOutcome, chain: &[Vec<u8>]) -> CheckResult {
        let p = probe(chain);
        dane_check(
            "mail.contoso.com",
            Some(&answer(outcome)),
            Some(&p),
            Attachment::None,
        )
    }

    #[test]
    fn a_matching_dane_ee_record_passes_in_every_selector_and_matching_type() {
        let (leaf, inter) = chain();
        let spki = select(&leaf, 1).unwrap();
        for record in [
            tlsa(3, 1, 1, &hex(&sha2::Sha256::digest(&spki))),
            tlsa(3, 0, 1, &hex(&sha2::Sha256::digest(&leaf))),
            tlsa(3, 1, 2, &hex(&sha2::Sha512::digest(&spki))),
            tlsa(3, 0, 0, &hex(&leaf)),
        ] {
            let r = check(
                DnsOutcome::Records(vec![record.clone()]),
                &[leaf.clone(), inter.clone()],
            );
            assert_eq!(r.status, Status::Pass, "{record:?}: {}", r.summary);
        }
        assert_eq!(
            tlsa_for(&leaf).unwrap(),
            format!("3 1 1 {}", hex(&sha2::Sha256::digest(&spki)))
        );
    }

    #[test]
    fn a_dane_ta_record_matches_the_intermediate_not_the_leaf() {
        let (leaf, inter) = chain();
        let ta = tlsa(2, 0, 1, &hex(&sha2::Sha256::digest(&inter)));
        let r = check(
            DnsOutcome::Records(vec![ta.clone()]),
            &[leaf.clone(), inter.clone()],
        );
        assert_eq!(r.status, Status::Pass, "{}", r.summary);
        // The same record naming the leaf as a trust anchor does not match.
        let wrong = tlsa(2, 0, 1, &hex(&sha2::Sha256::digest(&leaf)));
        let r = check(DnsOutcome::Records(vec![wrong]), &[leaf.clone(), inter]);
        assert_eq!(r.status, Status::Fail, "{}", r.summary);
    }

    #[test]
    fn a_stale_record_fails_with_the_record_to_publish() {
        let (leaf, inter) = chain();
        let (old, _) = chain();
        let stale = tlsa(3, 1, 1, &hex(&sha2::Sha256::digest(select(&old, 1).unwrap())));
        let r = check(DnsOutcome::Records(vec![stale]), &[leaf.clone(), inter]);
        assert_eq!(r.status, Status::Fail);
        let want = tlsa_for(&leaf).unwrap();
        assert!(r.remediation.contains(&want), "{}", r.remediation);
        assert!(r.detail.contains("4.7.323"), "{}", r.detail);
        assert!(
            r.evidence
                .contains(&"dns:_25._tcp.mail.contoso.com/TLSA".to_string())
        );
    }

    #[test]
    fn no_record_is_information_a_failed_lookup_a_warning_and_pkix_records_unusable() {
        let (leaf, inter) = chain();
        let c = [leaf.clone(), inter];
        assert_eq!(check(DnsOutcome::NoData, &c).status, Status::Info);
        assert_eq!(check(DnsOutcome::NxDomain, &c).status, Status::Info);
        assert_eq!(check(DnsOutcome::Timeout, &c).status, Status::Warn);
        assert_eq!(
            check(DnsOutcome::Error("SERVFAIL".into()), &c).status,
            Status::Warn
        );
        let pkix = tlsa(1, 1, 1, &hex(&sha2::Sha256::digest(select(&leaf, 1).unwrap())));
        let r = check(DnsOutcome::Records(vec![pkix]), &c);
        assert_eq!(r.status, Status::Warn, "{}", r.summary);
        assert!(r.remediation.contains("3 1 1"), "{}", r.remediation);
    }

    #[test]
    fn records_but_no_certificate_is_a_skip_and_no_lookup_too() {
        let r = check(DnsOutcome::Records(vec![tlsa(3, 1, 1, "00")]), &[]);
        assert_eq!(r.status, Status::Skip, "{}", r.summary);
        let r = dane_check("mail.contoso.com", None, None, Attachment::None);
        assert_eq!(r.status, Status::Skip);
    }

    #[test]
    fn garbage_certificates_and_odd_records_never_match_or_panic() {
        let junk = vec![vec![0x30, 0x03, 0x02, 0x01, 0x00]];
        for record in [
            tlsa(3, 1, 1, "zz"),
            tlsa(3, 7, 1, "00"),
            tlsa(3, 1, 9, "00"),
            tlsa(3, 0, 0, ""),
        ] {
            let r = check(DnsOutcome::Records(vec![record]), &junk);
            assert!(matches!(r.status, Status::Fail | Status::Warn), "{}", r.summary);
        }
    }
}
