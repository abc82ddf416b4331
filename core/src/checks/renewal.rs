//! `tls.renewal.*`: what changes when this certificate replaces the one the on-premises endpoint serves
//! now (`mailpath cert NEW.pfx --profile FILE`). Pure functions of the profile, the candidate chain and the
//! TLSA answers of the public names.
//!
//! Renewals are the most common cause of a hybrid mail-flow outage: the connectors keep naming the old
//! certificate by issuer and subject (`TlsCertificateName`), Exchange Online's inbound connector expects a
//! name the new certificate no longer carries, or a DANE record still pins the old key. These checks say
//! so before the certificate is installed.

use rustls_pki_types::CertificateDer;

use crate::cert::{CertInfo, parse_certificate};
use crate::check::{Attachment, CheckDef, CheckResult, Place, Remediation, Status, Step};
use crate::checks::cert::ExpectedName;
use crate::checks::config::{same_x500, split_tls_certificate_name};
use crate::checks::dane;
use crate::dns::{DnsAnswer, DnsOutcome};
use crate::profile::Profile;
use crate::topology::{Topology, tlsa_name};

const HCW_CERT: &str = "https://learn.microsoft.com/exchange/hybrid-deployment/certificate-requirements";
const RENEW: &str = "https://learn.microsoft.com/exchange/architecture/client-access/renew-certificates";

/// `tls.renewal.connectors`.
pub const CONNECTORS: CheckDef = CheckDef {
    id: "tls.renewal.connectors",
    title: "Connectors that name the certificate will name the new one",
    why: "The hybrid send and receive connectors name their certificate as <I>issuer<S>subject \
          (TlsCertificateName). After a renewal they keep naming the old one until changed (or the Hybrid \
          Configuration Wizard runs again): Exchange then cannot find the certificate, TLS to Exchange Online \
          fails (454 4.7.5) and mail queues.",
    references: &[HCW_CERT, RENEW],
};
/// `tls.renewal.dane`.
pub const DANE: CheckDef = CheckDef {
    id: "tls.renewal.dane",
    title: "TLSA records are ready for the new certificate",
    why: "A TLSA record pins a key or a certificate: installing a certificate with a new key before the \
          record for it is published (and cached everywhere) makes DANE-validating senders, Exchange Online \
          among them, refuse to deliver (4.7.323 tlsa-invalid).",
    references: &[RENEW],
};

/// Every check of this family.
pub const DEFS: &[&CheckDef] = &[&CONNECTORS, &DANE];

/// The names the certificate of the on-premises public endpoint must carry, and which setting expects
/// each: the public host names, TlsDomain of Exchange Online's outbound connector and
/// TlsSenderCertificateName of its inbound connector.
pub fn expected_names(profile: &Profile) -> Vec<ExpectedName> {
    let mut out: Vec<ExpectedName> = Vec::new();
    let mut add = |expected: ExpectedName| ExpectedName::add_to(&mut out, expected);
    for host in Topology::of(profile).public_names {
        add(ExpectedName::host(
            host,
            "the public host name Exchange Online connects to",
        ));
    }
    // The connectors compare domains (`*.contoso.com` is the domain and all its subdomains).
    if let Some(d) = &profile.connectors.exo_outbound.tls_domain {
        add(ExpectedName::connector_domain(
            d.clone(),
            "TlsDomain of the Exchange Online outbound connector",
        ));
    }
    if let Some(n) = &profile.connectors.exo_inbound.tls_sender_certificate_name {
        add(ExpectedName::connector_domain(
            n.clone(),
            "TlsSenderCertificateName of the Exchange Online inbound connector",
        ));
    }
    out
}

/// The `tls.renewal.*` checks of `candidate` (leaf first) for the deployment of `profile`. `tlsa` holds
/// the TLSA answers of the on-premises hosts Exchange Online delivers to (`_25._tcp.HOST`), when looked
/// up; `file` names the candidate in the results.
pub fn renewal_checks(
    profile: &Profile,
    candidate: &[CertificateDer<'_>],
    tlsa: Option<&[DnsAnswer]>,
    file: &str,
) -> Vec<CheckResult> {
    let Some(leaf) = candidate.first().and_then(|c| parse_certificate(c).ok()) else {
        return DEFS
            .iter()
            .map(|d| CheckResult::new(d, Status::Skip, file, "no readable certificate in the file"))
            .collect();
    };
    let mut out = connector_checks(profile, &leaf, file);
    out.extend(dane_checks(profile, candidate, tlsa, file));
    out
}

fn connector_checks(profile: &Profile, leaf: &CertInfo, file: &str) -> Vec<CheckResult> {
    let wanted = format!("<I>{}<S>{}", leaf.issuer, leaf.subject);
    let thumb = &leaf.sha1_thumbprint;
    let connectors = [
        (
            "the send connector (Outbound to Office 365)",
            profile.connectors.send.tls_certificate_name.as_deref(),
            "Set-SendConnector \"Outbound to Office 365 - <guid>\"",
        ),
        (
            "the receive connector Exchange Online connects to",
            profile.connectors.receive.tls_certificate_name.as_deref(),
            "Set-ReceiveConnector \"<server>\\Default Frontend <server>\" (on an Edge: \"Default internal receive connector <server>\")",
        ),
    ];
    let mut out = Vec::new();
    for (what, configured, cmdlet) in connectors {
        let Some(configured) = configured else { continue };
        let r = match split_tls_certificate_name(configured) {
            Some((issuer, subject)) if same_x500(&issuer, &leaf.issuer) && same_x500(&subject, &leaf.subject) => {
                CheckResult::new(
                    &CONNECTORS,
                    Status::Pass,
                    file,
                    format!("TlsCertificateName of {what} already names this certificate's issuer and subject"),
                )
                .detail(format!(
                    "{configured} matches: after Enable-ExchangeCertificate -Thumbprint {thumb} -Services SMTP \
                     the connector picks the new certificate up by itself."
                ))
            }
            _ => CheckResult::new(
                &CONNECTORS,
                Status::Warn,
                file,
                format!("TlsCertificateName of {what} names another certificate: change it when you install this one"),
            )
            .detail(format!(
                "The profile says {configured}; this certificate is {wanted}. Until the connector names it, \
                 Exchange keeps looking for the old certificate (454 4.7.5 once it is removed or expires)."
            ))
            .remediation({
                let place = if cmdlet.starts_with("Set-SendConnector") {
                    Place::MailboxShell
                } else {
                    Place::ExchangeShell
                };
                Remediation::steps([
                    Step::prose("Import the certificate and bind it to SMTP on the server that serves it:"),
                    Step::command(Place::ExchangeShell, format!("Enable-ExchangeCertificate -Thumbprint {thumb} -Services SMTP")),
                    Step::prose("Then name it on the connector (one session: the first line reads it, the second sets it):"),
                    Step::command(place, format!("$c = Get-ExchangeCertificate -Server <server> -Thumbprint {thumb}")),
                    Step::command(place, format!("{cmdlet} -TlsCertificateName \"<I>$($c.Issuer)<S>$($c.Subject)\"")),
                    Step::prose("Or rerun the Hybrid Configuration Wizard and pick the new certificate (it sets both connectors). Remove the old certificate only afterwards."),
                ])
            }),
        };
        out.push(r.on(Attachment::None));
    }
    if out.is_empty() {
        out.push(
            CheckResult::new(
                &CONNECTORS,
                Status::Info,
                file,
                "the profile names no connector TlsCertificateName: nothing to compare",
            )
            .detail(format!(
                "Copy TlsCertificateName from Get-SendConnector and Get-ReceiveConnector into the profile to \
                 have it compared. This certificate is {wanted} (thumbprint {thumb})."
            )),
        );
    }
    out
}

fn dane_checks(
    profile: &Profile,
    candidate: &[CertificateDer<'_>],
    tlsa: Option<&[DnsAnswer]>,
    file: &str,
) -> Vec<CheckResult> {
    let Some(tlsa) = tlsa else {
        return vec![CheckResult::new(
            &DANE,
            Status::Skip,
            file,
            "TLSA records not looked up (give --profile or --lab to look them up with the profile's resolvers)",
        )];
    };
    let want = candidate
        .first()
        .and_then(|leaf| dane::tlsa_for(leaf))
        .unwrap_or_default();
    let mut out = Vec::new();
    for host in Topology::of(profile).inbound_hosts {
        let name = tlsa_name(&host);
        let answer = tlsa.iter().find(|a| a.name.eq_ignore_ascii_case(&name));
        let result = match answer.map(|a| (a, dane::chain_matches(a, candidate))) {
            None => CheckResult::new(&DANE, Status::Skip, &host, format!("{name}: not looked up")),
            Some((a, _)) if matches!(a.outcome, DnsOutcome::Timeout | DnsOutcome::Error(_)) => CheckResult::new(
                &DANE,
                Status::Skip,
                &host,
                format!("{name}: the lookup failed, cannot tell whether DANE is in use"),
            ),
            Some((_, None)) => CheckResult::new(
                &DANE,
                Status::Info,
                &host,
                format!("no usable TLSA record at {name}: nothing to update"),
            ),
            Some((_, Some(true))) => CheckResult::new(
                &DANE,
                Status::Pass,
                &host,
                format!("a TLSA record at {name} already matches the new certificate"),
            )
            .detail("The same key, or a DANE-TA record for its issuer: the renewal needs no DNS change."),
            Some((_, Some(false))) => CheckResult::new(
                &DANE,
                Status::Warn,
                &host,
                format!("no TLSA record at {name} matches the new certificate: publish {want} first"),
            )
            .detail(
                "Publish the new record beside the current one, wait at least two TTLs so that every resolver \
                 has both, install the certificate, then remove the old record (the \"current + next\" rollover \
                 of RFC 7671 §8.1).",
            )
            .remediation(Remediation::steps([
                Step::prose("Add the record of the new key; keep the current record until the new certificate is in service:"),
                Step::command(Place::Dns, format!("{name}. 3600 IN TLSA {want}")),
                Step::confirm(Place::Workstation, format!("Resolve-DnsName -Name {name} -Type TLSA")),
            ])),
        };
        out.push(result.evidence(format!("dns:{name}/TLSA")));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ca::{LabCa, LeafSpec};
    use crate::dns::{RecordData, RecordType};

    fn profile() -> Profile {
        Profile::from_toml_str(
            include_str!("../../../assets/profiles/contoso-edge.toml"),
            "contoso-edge.toml",
            None,
        )
        .unwrap()
    }

    fn candidate() -> Vec<CertificateDer<'static>> {
        let now = time::OffsetDateTime::now_utc();
        let ca = LabCa::generate(now).unwrap();
        ca.issue(&LeafSpec::server("mail.contoso.com", ["mail.contoso.com"], now))
            .unwrap()
            .chain(true)
    }

    fn tlsa(outcome: DnsOutcome) -> Vec<DnsAnswer> {
        vec![DnsAnswer {
            name: "_25._tcp.mail.contoso.com".into(),
            rtype: RecordType::Tlsa,
            server: "test".into(),
            outcome,
            elapsed_ms: 1,
        }]
    }

    fn status_of(checks: &[CheckResult], def: &CheckDef) -> Vec<Status> {
        checks
            .iter()
            .filter(|c| c.id == def.id)
            .map(|c| c.status)
            .collect()
    }

    #[test]
    fn every_expected_name_names_all_the_settings_that_expect_it() {
        let names = expected_names(&profile());
        let mail = names.iter().find(|e| e.name == "mail.contoso.com").unwrap();
        assert!(mail.source.contains("public host name"), "{}", mail.source);
        assert!(
            mail.source.contains("TlsSenderCertificateName"),
            "{}",
            mail.source
        );
        assert_eq!(
            names
                .iter()
                .filter(|e| e.name.eq_ignore_ascii_case("mail.contoso.com"))
                .count(),
            1
        );
    }

    /// Issue 13 item 3: the shipped contoso-direct.toml names the inbound connector's
    /// TlsSenderCertificateName `*.contoso.com` (the domain and all its subdomains, Set-InboundConnector);
    /// a mail.contoso.com certificate satisfies it, in `cert --profile` as in the probes.
    use crate::checks::cert::NameRule;

    #[test]
    fn a_wildcard_sender_certificate_name_is_satisfied_by_a_host_certificate() {
        let direct =
            Profile::from_toml_str(crate::profile::SAMPLE_DIRECT, "contoso-direct.toml", None).unwrap();
        assert_eq!(
            direct
                .connectors
                .exo_inbound
                .tls_sender_certificate_name
                .as_deref(),
            Some("*.contoso.com")
        );
        let names = expected_names(&direct);
        let wildcard = names.iter().find(|e| e.name == "*.contoso.com").unwrap();
        assert_eq!(wildcard.rule, NameRule::ConnectorDomain);
        let report = crate::checks::cert::check_certificate_chain(
            &candidate(),
            "new.pem",
            &names,
            &crate::cert::Trust::empty(),
            time::OffsetDateTime::now_utc(),
        );
        let name = report.checks.iter().find(|c| c.id == "tls.cert.name").unwrap();
        assert_eq!(name.status, Status::Pass, "{name:#?}");
        // A certificate outside contoso.com does not.
        let now = time::OffsetDateTime::now_utc();
        let other = LabCa::generate(now)
            .unwrap()
            .issue(&LeafSpec::server("mail.fabrikam.com", ["mail.fabrikam.com"], now))
            .unwrap()
            .chain(true);
        let report = crate::checks::cert::check_certificate_chain(
            &other,
            "other.pem",
            &names,
            &crate::cert::Trust::empty(),
            now,
        );
        let name = report.checks.iter().find(|c| c.id == "tls.cert.name").unwrap();
        assert_eq!(name.status, Status::Fail, "{name:#?}");
    }

    #[test]
    fn connectors_naming_another_issuer_are_told_to_change() {
        // The sample profile names a GeoTrust certificate; the candidate comes from the lab CA.
        let checks = renewal_checks(&profile(), &candidate(), None, "new.pem");
        assert_eq!(status_of(&checks, &CONNECTORS), [Status::Warn, Status::Warn]);
        assert!(
            checks[0].remediation.contains("Set-SendConnector"),
            "{}",
            checks[0].remediation
        );
        assert!(
            checks[1].remediation.contains("Set-ReceiveConnector"),
            "{}",
            checks[1].remediation
        );
        assert_eq!(status_of(&checks, &DANE), [Status::Skip], "no lookup: skip");
    }

    #[test]
    fn tlsa_records_pass_when_they_already_match_and_warn_with_the_record_otherwise() {
        let chain = candidate();
        let want = dane::tlsa_for(&chain[0]).unwrap();
        let mut parts = want.split(' ').skip(3);
        let matching = RecordData::Tlsa {
            usage: 3,
            selector: 1,
            matching: 1,
            data_hex: parts.next().unwrap().to_string(),
        };
        let checks = renewal_checks(
            &profile(),
            &chain,
            Some(&tlsa(DnsOutcome::Records(vec![matching]))),
            "n",
        );
        assert_eq!(status_of(&checks, &DANE), [Status::Pass]);
        let stale = RecordData::Tlsa {
            usage: 3,
            selector: 1,
            matching: 1,
            data_hex: "00".repeat(32),
        };
        let checks = renewal_checks(
            &profile(),
            &chain,
            Some(&tlsa(DnsOutcome::Records(vec![stale]))),
            "n",
        );
        assert_eq!(status_of(&checks, &DANE), [Status::Warn]);
        let dane = checks.iter().find(|c| c.id == DANE.id).unwrap();
        assert!(dane.remediation.contains(&want), "{}", dane.remediation);
        let checks = renewal_checks(&profile(), &chain, Some(&tlsa(DnsOutcome::NoData)), "n");
        assert_eq!(status_of(&checks, &DANE), [Status::Info]);
        let checks = renewal_checks(&profile(), &chain, Some(&tlsa(DnsOutcome::Timeout)), "n");
        assert_eq!(status_of(&checks, &DANE), [Status::Skip]);
    }

    #[test]
    fn an_unreadable_candidate_skips_everything() {
        let junk = vec![CertificateDer::from(vec![0x30, 0x00])];
        let checks = renewal_checks(&profile(), &junk, None, "junk.pem");
        assert!(checks.iter().all(|c| c.status == Status::Skip));
        assert_eq!(checks.len(), DEFS.len());
    }
}
