//! The certificate chains of a diagnosis, read for reports: each endpoint's chain (`evidence.smtp[].tls`,
//! `evidence.tls_ports[].tls`) as [`CapturedCert`]s, the core's one reading of a certificate.

use serde::{Deserialize, Serialize};

use crate::cert::{CapturedCert, CertInfo};
use crate::evidence::Evidence;

/// The chain one endpoint sent, by evidence id (`smtp:host:port`, `ldaps:host:port`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EndpointCerts {
    /// The evidence id of the probe.
    pub evidence_id: String,
    /// The certificates, leaf first.
    pub chain: Vec<CapturedCert>,
}

impl EndpointCerts {
    /// The leaf certificate, when it parsed.
    pub fn leaf(&self) -> Option<&CertInfo> {
        self.chain.first().and_then(CapturedCert::info)
    }
}

/// Read every chain in the evidence.
pub fn collect(evidence: &Evidence) -> Vec<EndpointCerts> {
    let smtp = evidence.smtp.iter().map(|p| (&p.id, p.tls.as_ref()));
    let ports = evidence.tls_ports.iter().map(|p| (&p.id, p.tls.as_ref()));
    smtp.chain(ports)
        .filter_map(|(id, tls)| {
            let tls = tls.filter(|tls| !tls.chain.is_empty())?;
            Some(EndpointCerts {
                evidence_id: id.clone(),
                chain: tls.chain.iter().map(|der| CapturedCert::read(der)).collect(),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ca::{LabCa, LeafSpec};
    use time::macros::datetime;

    #[test]
    fn lab_chain_reads_with_names_validity_and_key() {
        let now = datetime!(2026-03-01 12:00:00 UTC);
        let ca = LabCa::generate(now).expect("lab CA");
        let leaf = ca
            .issue(&LeafSpec::server(
                "mail.contoso.com",
                ["mail.contoso.com", "192.0.2.7"],
                now,
            ))
            .expect("leaf");
        let read = CapturedCert::read(&leaf.leaf);
        let d = read.info().expect("parses");
        assert_eq!(d.subject, "CN=mail.contoso.com");
        assert!(d.issuer.contains("CN="), "{}", d.issuer);
        assert_eq!(d.alt_names(), ["mail.contoso.com", "IP:192.0.2.7"]);
        assert_eq!(d.not_after, now + time::Duration::days(365));
        assert_eq!(crate::cert::days_left(d, now), 365);
        assert_eq!(d.sha256_colons().len(), 32 * 3 - 1);
        assert!(d.eku.contains(&"serverAuth".to_string()), "{:?}", d.eku);
        assert!(!d.is_ca && !d.self_issued);
        let root = CapturedCert::read(&ca.root_der());
        let root = root.info().expect("root parses");
        assert!(root.is_ca && root.self_issued);
        assert!(matches!(
            CapturedCert::read(b"\0\0\0"),
            CapturedCert::Unparsed { .. }
        ));
        assert_eq!(
            CapturedCert::read(b"redacted:cert-3"),
            CapturedCert::Unparsed {
                reason: "redacted (cert-3)".into()
            }
        );
    }
}
