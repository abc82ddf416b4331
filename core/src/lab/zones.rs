//! The lab's DNS zones: what a realistic hybrid deployment publishes, bent by the scenario's fault.

use std::net::IpAddr;

use super::dns_server::{LabRecord, Zone};
use super::scenario::{Fault, Scenario};
use super::{LabNames, names};
use crate::dns::RecordData;

const TTL: u32 = 300;

/// Microsoft's SPF record for EOP (the published ranges; the lab never connects to them).
const EOP_SPF: &str = "v=spf1 ip4:40.92.0.0/15 ip4:40.107.0.0/16 ip4:52.100.0.0/15 ip4:52.102.0.0/16 \
ip4:52.103.0.0/16 ip4:104.47.0.0/17 ip6:2a01:111:f400::/48 ip6:2a01:111:f403::/49 \
ip6:2a01:111:f403:8000::/51 ip6:2a01:111:f403:c000::/51 ip6:2a01:111:f403:f000::/52 -all";

fn rec(name: &str, data: RecordData) -> LabRecord {
    LabRecord {
        name: name.to_string(),
        ttl: TTL,
        data,
    }
}

fn addr(name: &str, ip: IpAddr) -> LabRecord {
    match ip {
        IpAddr::V4(v4) => rec(name, RecordData::A(v4)),
        IpAddr::V6(v6) => rec(name, RecordData::Aaaa(v6)),
    }
}

/// The zones for a scenario, every address record pointing at `ip` (the lab's loopback address), with
/// Microsoft's names of the scenario's cloud (`n`).
pub(super) fn zones(scenario: &Scenario, n: &LabNames, ip: IpAddr, dkim_seed: &str) -> Vec<Zone> {
    let fault = scenario.fault;
    let accepted_mx = match fault {
        Fault::MxThirdParty => names::GATEWAY_MX_HOST.to_string(),
        Fault::MxOnPremises => names::PUBLIC_HOST.to_string(),
        _ => n.eop_host.clone(),
    };
    let mut contoso = vec![
        rec(
            names::DOMAIN,
            RecordData::Mx {
                preference: 0,
                exchange: accepted_mx.clone(),
            },
        ),
        addr(names::PUBLIC_HOST, ip),
        addr(names::MAILBOX_HOST, ip),
        rec(
            "autodiscover.contoso.com",
            RecordData::Cname(names::PUBLIC_HOST.to_string()),
        ),
        rec(
            "_dmarc.contoso.com",
            RecordData::Txt("v=DMARC1; p=quarantine; pct=100; rua=mailto:dmarc@contoso.com".into()),
        ),
    ];
    let egress = match ip {
        IpAddr::V4(v4) => format!("ip4:{v4}"),
        IpAddr::V6(v6) => format!("ip6:{v6}"),
    };
    let spf = if fault == Fault::SpfMissingEop {
        format!("v=spf1 {egress} mx -all")
    } else {
        format!("v=spf1 {egress} include:{} -all", n.spf_include)
    };
    contoso.push(rec(names::DOMAIN, RecordData::Txt(spf)));
    contoso.push(rec(names::DOMAIN, RecordData::Txt("MS=ms48207319".into())));
    for selector in ["selector1", "selector2"] {
        contoso.push(rec(
            &format!("{selector}._domainkey.contoso.com"),
            RecordData::Cname(format!(
                "{selector}-contoso-com._domainkey.{}",
                n.onmicrosoft_domain
            )),
        ));
    }
    if scenario.edge {
        contoso.push(addr(names::EDGE_HOST, ip));
    }
    if fault == Fault::ReceiveCertStale {
        // Two Mailbox servers behind the public name (DNS round robin).
        if let IpAddr::V4(v4) = ip {
            let [a, b, c, d] = v4.octets();
            let second = IpAddr::V4(std::net::Ipv4Addr::new(a, b, c, d.saturating_add(1)));
            contoso.push(addr(names::PUBLIC_HOST, second));
            contoso.push(addr(names::MAILBOX2_HOST, second));
        }
    }

    let mut onmicrosoft = Vec::new();
    for selector in ["selector1", "selector2"] {
        onmicrosoft.push(rec(
            &format!("{selector}-contoso-com._domainkey.{}", n.onmicrosoft_domain),
            RecordData::Txt(format!("v=DKIM1; k=ed25519; p={}", dkim_key(dkim_seed, selector))),
        ));
    }
    onmicrosoft.push(rec(
        &n.onmicrosoft_domain,
        RecordData::Mx {
            preference: 0,
            exchange: n.eop_host.clone(),
        },
    ));

    let routing_mx = if fault == Fault::WrongMx {
        names::LEGACY_MX_HOST
    } else {
        &n.eop_host
    };
    let routing = vec![rec(
        &n.routing_domain,
        RecordData::Mx {
            preference: 0,
            exchange: routing_mx.to_string(),
        },
    )];

    let protection = vec![
        rec(n.spf_include, RecordData::Txt(EOP_SPF.to_string())),
        addr(&n.eop_host, ip),
        addr(&n.eop_frontend, ip),
    ];

    let mut zones = vec![
        Zone {
            origin: names::DOMAIN.to_string(),
            records: contoso,
        },
        Zone {
            origin: n.onmicrosoft_domain.clone(),
            records: onmicrosoft,
        },
        Zone {
            origin: n.routing_domain.clone(),
            records: routing,
        },
        Zone {
            origin: n.protection_zone.clone(),
            records: protection,
        },
    ];
    if matches!(fault, Fault::WrongMx | Fault::SmartHostLegacy) {
        zones.push(Zone {
            origin: "messaging.microsoft.com".to_string(),
            records: vec![addr(names::LEGACY_MX_HOST, ip)],
        });
    }
    if fault == Fault::MxThirdParty {
        zones.push(Zone {
            origin: "gateway.example".to_string(),
            records: vec![addr(names::GATEWAY_MX_HOST, ip)],
        });
    }
    if let IpAddr::V4(v4) = ip {
        let [a, b, c, d] = v4.octets();
        zones.push(Zone {
            origin: format!("{a}.in-addr.arpa"),
            records: vec![rec(
                &format!("{d}.{c}.{b}.{a}.in-addr.arpa"),
                RecordData::Ptr(names::PUBLIC_HOST.into()),
            )],
        });
    }
    zones
}

/// What public DNS publishes of `zones` (split DNS): the public name at its public address
/// ([`names::PUBLIC_VIEW_ADDRESS`]) and none of the internal servers' names; everything else as inside.
pub(super) fn public_view(zones: &[Zone]) -> Vec<Zone> {
    let internal = [names::MAILBOX_HOST, names::MAILBOX2_HOST, names::EDGE_HOST];
    zones
        .iter()
        .map(|z| Zone {
            origin: z.origin.clone(),
            records: z
                .records
                .iter()
                .filter(|r| !internal.contains(&r.name.as_str()))
                .map(|r| match &r.data {
                    RecordData::A(_) if r.name == names::PUBLIC_HOST => {
                        rec(names::PUBLIC_HOST, RecordData::A(names::PUBLIC_VIEW_ADDRESS))
                    }
                    _ => r.clone(),
                })
                .collect(),
        })
        .collect()
}

/// The TLSA records of the `dane-mismatch` scenario, as (zone, record): EOP publishes a record matching
/// the certificate it serves (as Microsoft does for DNSSEC-enabled domains), the on-premises public name
/// one for the key its certificate had before a renewal. Other scenarios publish none.
pub(super) fn dane_records(fault: Fault, n: &LabNames, eop_leaf_der: &[u8]) -> Vec<(String, LabRecord)> {
    if fault != Fault::DaneMismatch {
        return Vec::new();
    }
    let tlsa = |text: &str| -> Option<RecordData> {
        let mut parts = text.split(' ');
        let usage = parts.next()?.parse().ok()?;
        let selector = parts.next()?.parse().ok()?;
        let matching = parts.next()?.parse().ok()?;
        let data_hex = parts.next()?.to_string();
        Some(RecordData::Tlsa {
            usage,
            selector,
            matching,
            data_hex,
        })
    };
    let mut out = Vec::new();
    if let Some(data) = crate::checks::dane::tlsa_for(eop_leaf_der)
        .as_deref()
        .and_then(tlsa)
    {
        out.push((
            n.protection_zone.clone(),
            rec(&crate::topology::tlsa_name(&n.eop_host), data),
        ));
    }
    // The SHA-256 of a key the Edge no longer has.
    let stale = {
        use sha2::Digest as _;
        let digest = sha2::Sha256::digest(b"the Edge's key before the renewal");
        data_encoding::HEXLOWER.encode(&digest)
    };
    out.push((
        names::DOMAIN.to_string(),
        rec(
            &crate::topology::tlsa_name(names::PUBLIC_HOST),
            RecordData::Tlsa {
                usage: 3,
                selector: 1,
                matching: 1,
                data_hex: stale,
            },
        ),
    ));
    out
}

/// A stable, syntactically valid DKIM public key (32 bytes, base64) derived from the lab's CA.
fn dkim_key(seed: &str, selector: &str) -> String {
    use sha2::Digest as _;
    let digest = sha2::Sha256::new()
        .chain_update(seed.as_bytes())
        .chain_update(selector.as_bytes())
        .finalize();
    data_encoding::BASE64.encode(&digest)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn faults_bend_the_right_records() {
        let ip: IpAddr = "127.0.0.1".parse().unwrap();
        let find_txt = |zones: &[Zone]| -> Vec<String> {
            zones
                .iter()
                .flat_map(|z| &z.records)
                .filter(|r| r.name == names::DOMAIN)
                .filter_map(|r| match &r.data {
                    RecordData::Txt(t) if t.starts_with("v=spf1") => Some(t.clone()),
                    _ => None,
                })
                .collect()
        };
        let commercial = LabNames::of(crate::cloud::Cloud::Commercial);
        let healthy = zones(
            super::super::scenario("healthy-edge").unwrap(),
            &commercial,
            ip,
            "x",
        );
        assert!(find_txt(&healthy)[0].contains("include:spf.protection.outlook.com"));
        let bad = zones(
            super::super::scenario("spf-missing-eop").unwrap(),
            &commercial,
            ip,
            "x",
        );
        assert!(!find_txt(&bad)[0].contains("include:spf.protection.outlook.com"));
        let gcc = super::super::scenario("gcc-high").unwrap();
        let gcc_names = LabNames::of(gcc.cloud);
        let gcc_zones = zones(gcc, &gcc_names, ip, "x");
        assert!(find_txt(&gcc_zones)[0].contains("include:spf.protection.office365.us"));
        let origins: Vec<&str> = gcc_zones.iter().map(|z| z.origin.as_str()).collect();
        assert!(origins.contains(&"contoso.mail.onmicrosoft.us"), "{origins:?}");
        assert!(origins.contains(&"protection.office365.us"), "{origins:?}");
        let wrong = zones(super::super::scenario("wrong-mx").unwrap(), &commercial, ip, "x");
        let mx = wrong
            .iter()
            .find(|z| z.origin == commercial.routing_domain)
            .and_then(|z| z.records.first())
            .map(|r| r.data.clone());
        assert_eq!(
            mx,
            Some(RecordData::Mx {
                preference: 0,
                exchange: names::LEGACY_MX_HOST.into()
            })
        );
    }
}
