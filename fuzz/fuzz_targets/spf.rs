//! SPF (RFC 7208) parsing and evaluation over gathered DNS answers: any records give a result within the
//! lookup limits, never a panic or a loop.
//!
//! Input: lines `NAME=TXT` give the TXT answer of NAME (the first line's name is the domain evaluated);
//! every name has the A record 192.0.2.1, the AAAA record 2001:db8::1 and the MX `mx.NAME`.
#![no_main]

use std::collections::HashMap;
use std::net::IpAddr;

use libfuzzer_sys::fuzz_target;
use mailpath_core::dns::{DnsAnswer, DnsOutcome, RecordData, RecordType};
use mailpath_core::spf;

fn answer(name: &str, rtype: RecordType, records: Vec<RecordData>) -> DnsAnswer {
    DnsAnswer {
        name: name.to_string(),
        rtype,
        server: "fuzz".into(),
        outcome: if records.is_empty() {
            DnsOutcome::NxDomain
        } else {
            DnsOutcome::Records(records)
        },
        elapsed_ms: 0,
    }
}

/// The gathered answers: TXT per name, the same A, AAAA and MX for every name.
struct Dns {
    txt: HashMap<String, DnsAnswer>,
    a: DnsAnswer,
    aaaa: DnsAnswer,
    mx: DnsAnswer,
}

impl Dns {
    fn get(&self, name: &str, rtype: RecordType) -> Option<&DnsAnswer> {
        match rtype {
            RecordType::A => Some(&self.a),
            RecordType::Aaaa => Some(&self.aaaa),
            RecordType::Mx => Some(&self.mx),
            RecordType::Txt => self.txt.get(&name.to_ascii_lowercase()),
            _ => None,
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let mut txt: HashMap<String, Vec<RecordData>> = HashMap::new();
    let mut first = None;
    for line in text.lines().take(64) {
        let (name, record) = line.split_once('=').unwrap_or(("example.com", line));
        let name = name.to_ascii_lowercase();
        let _ = spf::parse(record);
        let _ = spf::referenced_domains(record, &name);
        first.get_or_insert_with(|| name.clone());
        txt.entry(name).or_default().push(RecordData::Txt(record.to_string()));
    }
    let Some(domain) = first else { return };
    let dns = Dns {
        txt: txt
            .into_iter()
            .map(|(name, records)| {
                let answer = answer(&name, RecordType::Txt, records);
                (name, answer)
            })
            .collect(),
        a: answer("any", RecordType::A, vec![RecordData::A("192.0.2.1".parse().expect("an address"))]),
        aaaa: answer(
            "any",
            RecordType::Aaaa,
            vec![RecordData::Aaaa("2001:db8::1".parse().expect("an address"))],
        ),
        mx: answer(
            "any",
            RecordType::Mx,
            vec![RecordData::Mx {
                preference: 10,
                exchange: "mx.example.com".into(),
            }],
        ),
    };
    let lookup = |name: &str, rtype: RecordType| dns.get(name, rtype);
    for ip in ["192.0.2.1", "198.51.100.7", "2001:db8::1"] {
        let ip: IpAddr = ip.parse().expect("an address");
        let eval = spf::evaluate(&domain, ip, &lookup);
        assert!(eval.lookups <= 11, "{} lookups", eval.lookups);
    }
    let _ = spf::includes(&domain, "spf.protection.outlook.com", &lookup);
});
