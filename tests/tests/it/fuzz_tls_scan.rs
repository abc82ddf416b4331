//! Property-based fuzzing of the TLS handshake scanner's parsers, which read what hostile servers
//! (and, in the lab, hostile clients) send: the answer reader fed in any chunking, the ServerHello,
//! Certificate and ServerKeyExchange parsers, the ClientHello parser. Random and mutated input must
//! give a value or a typed error, never a panic, and stay within the bounds.
//! `PROPTEST_CASES=100000 cargo test -p mailpath-tests --release --test it fuzz_tls_scan` runs long.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use mailpath_core::tls_scan::answer::{Answer, AnswerReader, MAX_ANSWER, read_all, read_client_hello};
use mailpath_core::tls_scan::wire::{
    self, ClientHello, MAX_CERTIFICATES, ServerHello, certificate_message, content, ecdhe_params, records,
    server_hello_done, server_key_exchange_message,
};
use mailpath_core::tls_suites::Kex;
use proptest::prelude::*;

use crate::fuzz_parsers::{fewer, mutated};

fn config() -> ProptestConfig {
    fewer(256)
}

/// Feed `bytes` to a fresh reader in chunks of `cut`; the answer once it has one (or at the end).
fn feed(bytes: &[u8], cut: usize) -> Answer {
    let mut r = AnswerReader::new();
    for chunk in bytes.chunks(cut.max(1)) {
        if let Some(a) = r.feed(chunk) {
            return a;
        }
    }
    r.end()
}

/// A well-formed TLS 1.2 first flight: ServerHello, Certificate, ServerKeyExchange, ServerHelloDone.
fn flight(suite: u16, certs: usize, cert_len: usize, record: usize) -> Vec<u8> {
    let sh = ServerHello {
        version: 0x0303,
        random: [7; 32],
        suite,
        group: None,
        retry: false,
        renegotiation_info: true,
    };
    let mut hs = sh.encode(&[], &[(wire::ext::RENEGOTIATION_INFO, vec![0])]);
    let der = vec![0x30u8; cert_len.max(1)];
    let chain: Vec<&[u8]> = (0..certs).map(|_| der.as_slice()).collect();
    hs.extend(certificate_message(&chain));
    hs.extend(server_key_exchange_message(
        &ecdhe_params(0x001D, &[9; 32]),
        Some(0x0401),
        &[1; 64],
    ));
    hs.extend(server_hello_done());
    // Records of a chosen size, as servers fragment differently.
    let mut out = Vec::new();
    for chunk in hs.chunks(record.max(1)) {
        out.extend(records(content::HANDSHAKE, 0x0303, chunk));
    }
    out
}

fn client_hello(suites: Vec<u16>, name: Option<String>) -> ClientHello {
    ClientHello {
        legacy_version: 0x0303,
        versions: vec![0x0304, 0x0303],
        random: [1; 32],
        session_id: vec![2; 32],
        suites,
        groups: vec![0x001D, 0x0017],
        signature_algorithms: vec![0x0804, 0x0403],
        server_name: name,
        key_shares: vec![(0x001D, vec![3; 32])],
        renegotiation_info: true,
    }
}

fn check_answer(a: &Answer) {
    if let Answer::Hello(n) = a {
        assert!(n.chain.len() <= MAX_CERTIFICATES);
        assert!(n.chain.iter().all(|c| !c.is_empty()));
    }
    // Words never panic, whatever the server sent.
    let _ = a.words();
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn any_bytes_in_any_chunking_end_in_an_answer(
        data in prop::collection::vec(any::<u8>(), 0..4096),
        cut in 1usize..64,
    ) {
        check_answer(&feed(&data, cut));
    }

    #[test]
    fn mutated_flights_never_panic(data in mutated(flight(0xC028, 2, 700, 300))) {
        check_answer(&read_all(&data));
    }

    #[test]
    fn well_formed_flights_read_the_same_in_any_chunking(
        certs in 1usize..4,
        cert_len in 1usize..3000,
        record in 1usize..17000,
        cut in 1usize..5000,
    ) {
        let bytes = flight(0xC030, certs, cert_len, record);
        let whole = read_all(&bytes);
        let Answer::Hello(n) = &whole else { panic!("{whole:?}") };
        prop_assert_eq!(n.chain.len(), certs);
        prop_assert_eq!(n.group, Some(0x001D));
        prop_assert!(n.complete);
        prop_assert_eq!(feed(&bytes, cut), whole);
    }

    #[test]
    fn an_endless_answer_is_cut_at_the_bound(fill in any::<u8>()) {
        // A Certificate that never ends: the reader gives up within MAX_ANSWER bytes.
        let mut bytes = flight(0xC030, 1, 10, 16384)[..60].to_vec();
        bytes.extend(std::iter::repeat_n(fill, 2 * MAX_ANSWER));
        let mut r = AnswerReader::new();
        let mut fed = 0;
        let mut got = None;
        for chunk in bytes.chunks(4096) {
            fed += chunk.len();
            if let Some(a) = r.feed(chunk) {
                got = Some(a);
                break;
            }
        }
        prop_assert!(got.is_some(), "an answer within the bound");
        prop_assert!(fed <= MAX_ANSWER + 4096, "read {} bytes", fed);
    }

    #[test]
    fn server_message_parsers_take_any_bytes(data in prop::collection::vec(any::<u8>(), 0..2048)) {
        let _ = ServerHello::parse(&data);
        let _ = wire::parse_certificates(&data);
        for kex in [Kex::Ecdhe, Kex::Dhe, Kex::Rsa, Kex::EcdhAnon, Kex::DhAnon, Kex::Tls13] {
            let _ = wire::parse_server_key_exchange(&data, kex);
        }
    }

    #[test]
    fn client_hellos_round_trip_and_survive_mutation(
        suites in prop::collection::vec(any::<u16>(), 1..120),
        name in proptest::option::of("[a-z0-9.-]{1,60}"),
        edits in prop::collection::vec((0..4u8, any::<usize>(), any::<u8>()), 0..8),
    ) {
        let hello = client_hello(suites, name);
        let records = hello.to_records();
        prop_assert_eq!(read_client_hello(&records), Ok(Some(hello)));
        let mut bad = records;
        for (kind, at, byte) in edits {
            let at = at % (bad.len() + 1);
            match kind {
                0 if at < bad.len() => bad[at] ^= byte | 1,
                1 => bad.insert(at, byte),
                2 if at < bad.len() => { bad.remove(at); }
                _ => bad.truncate(at),
            }
        }
        let _ = read_client_hello(&bad);
    }
}
