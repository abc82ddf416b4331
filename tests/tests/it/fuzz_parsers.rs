//! Property-based fuzzing of every parser that reads untrusted input: what an SMTP server sends, SPF
//! records, certificates, message headers, profiles and saved diagnoses. Each one gets random and mutated
//! input and must return a value or a typed error, never panic, and stay within its bounds.
//!
//! `PROPTEST_CASES=100000 cargo test -p mailpath-tests --release --test it fuzz_parsers` runs a long campaign;
//! the default (a few hundred cases per parser) keeps `cargo test` quick.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;

use mailpath_core::smtp::reply::{LineEvent, LineSplitter, MAX_LINE, MAX_REPLY_LINES, ReplyParser};
use proptest::prelude::*;

pub(crate) fn config() -> ProptestConfig {
    ProptestConfig {
        // Failures are reported with the minimal input; no files are written into the repository.
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

/// `cases` by default (the slower parsers), or `PROPTEST_CASES` for a long campaign.
pub(crate) fn fewer(cases: u32) -> ProptestConfig {
    let from_env = std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok());
    ProptestConfig {
        cases: from_env.unwrap_or(cases),
        ..config()
    }
}

/// Mutations of a valid input: flip, insert, delete and truncate bytes.
pub(crate) fn mutated(seed: Vec<u8>) -> impl Strategy<Value = Vec<u8>> {
    let len = seed.len().max(1);
    prop::collection::vec((0..4u8, 0..len, any::<u8>()), 1..16).prop_map(move |edits| {
        let mut data = seed.clone();
        for (kind, at, byte) in edits {
            let at = at.min(data.len());
            match kind {
                0 if at < data.len() => data[at] ^= byte | 1,
                1 => data.insert(at, byte),
                2 if at < data.len() => {
                    data.remove(at);
                }
                _ => data.truncate(at),
            }
        }
        data
    })
}

/// Bytes that look a little like SMTP: mostly printable, CR, LF, digits, dashes and spaces.
fn smtpish() -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(
        prop_oneof![
            4 => prop::sample::select(b"0123456789- \r\n".to_vec()),
            4 => 0x20u8..0x7f,
            1 => any::<u8>(),
        ],
        0..6000,
    )
}

/// A reply line: mostly `NNN-` / `NNN ` with some text, sometimes anything.
fn reply_line() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        4 => ("[1-6][0-9]{2}[- ]?", "[ -~]{0,40}").prop_map(|(code, text)| format!("{code}{text}").into_bytes()),
        1 => prop::collection::vec(any::<u8>(), 0..300),
    ]
}

/// Split `data` at the given cut points (chunk boundaries of the network).
fn chunks(data: &[u8], cuts: &[usize]) -> Vec<Vec<u8>> {
    let mut points: Vec<usize> = cuts.iter().map(|c| c % (data.len() + 1)).collect();
    points.sort_unstable();
    let mut out = Vec::new();
    let mut last = 0;
    for p in points {
        out.push(data[last..p].to_vec());
        last = p;
    }
    out.push(data[last..].to_vec());
    out
}

fn split_all(pieces: &[Vec<u8>]) -> Vec<LineEvent> {
    let mut splitter = LineSplitter::default();
    let mut events = Vec::new();
    for piece in pieces {
        splitter.feed(piece);
        while let Some(event) = splitter.next_line() {
            events.push(event);
        }
        // Never more than one line's bound (plus what was just fed) is held.
        assert!(splitter.pending().len() <= MAX_LINE + piece.len());
    }
    events
}

proptest! {
    #![proptest_config(config())]

    /// However the network chunks a byte stream, the same lines come out, each within the bound.
    #[test]
    fn line_splitting_does_not_depend_on_chunking(data in smtpish(), cuts in prop::collection::vec(any::<usize>(), 0..12)) {
        let whole = split_all(std::slice::from_ref(&data));
        let chunked = split_all(&chunks(&data, &cuts));
        for event in &whole {
            if let LineEvent::Line(line) = event {
                prop_assert!(line.len() <= MAX_LINE);
                prop_assert!(!line.contains(&b'\n'));
            }
        }
        // An overlong line is reported as soon as the bound is crossed, which depends on where the
        // chunks end; the lines before the first overlong one never do.
        let prefix = |events: &[LineEvent]| -> Vec<LineEvent> {
            events.iter().take_while(|e| matches!(e, LineEvent::Line(_))).cloned().collect()
        };
        prop_assert_eq!(prefix(&whole), prefix(&chunked));
    }

    /// Any line fed to the reply parser gives a reply, "not yet" or a typed error; a reply has a code the
    /// protocol allows and never more than the bound of lines.
    #[test]
    fn reply_parser_never_panics(lines in prop::collection::vec(reply_line(), 0..200)) {
        let mut parser = ReplyParser::default();
        for line in &lines {
            match parser.feed_line(line) {
                Ok(Some(reply)) => {
                    prop_assert!((200..=599).contains(&reply.code), "{}", reply.code);
                    prop_assert!(reply.lines.len() <= MAX_REPLY_LINES);
                }
                Ok(None) => prop_assert!(parser.in_progress()),
                Err(e) => {
                    prop_assert!(!e.to_string().is_empty());
                    parser = ReplyParser::default();
                }
            }
        }
    }

    /// Well-formed multi-line replies parse back to their code and text.
    #[test]
    fn well_formed_replies_round_trip(code in 200u16..=599, texts in prop::collection::vec("[ -~]{0,80}", 1..20)) {
        let mut parser = ReplyParser::default();
        let mut reply = None;
        for (i, text) in texts.iter().enumerate() {
            let sep = if i + 1 == texts.len() { ' ' } else { '-' };
            let line = format!("{code}{sep}{text}");
            let got = parser.feed_line(line.as_bytes()).unwrap();
            if i + 1 < texts.len() {
                prop_assert!(got.is_none());
            } else {
                reply = got;
            }
        }
        let reply = reply.unwrap();
        prop_assert_eq!(reply.code, code);
        prop_assert_eq!(reply.lines.len(), texts.len());
    }

    /// SPF: any text parses or is refused with a reason; the parser's view of a generated record keeps
    /// its mechanisms.
    #[test]
    fn spf_parse_never_panics(text in "(v=spf1)?( [-+~?]?(all|ip4:[0-9./]{0,20}|ip6:[0-9a-f:/]{0,30}|include:[a-z.]{0,20}|a|mx|exists:%\\{[a-z]\\}|redirect=[a-z.]{0,12}|[ -~]{0,12})){0,12}") {
        if let Err(reason) = mailpath_core::spf::parse(&text) {
            prop_assert!(!reason.to_string().is_empty());
        }
    }

    #[test]
    fn spf_parse_of_bytes_never_panics(data in prop::collection::vec(any::<u8>(), 0..600)) {
        let _ = mailpath_core::spf::parse(&String::from_utf8_lossy(&data));
    }
}

fn certificate() -> Vec<u8> {
    let ca = mailpath_core::ca::LabCa::generate(time::OffsetDateTime::now_utc()).unwrap();
    ca.intermediate_der().to_vec()
}

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(mailpath_tests::workspace_root().join(name)).unwrap()
}

proptest! {
    #![proptest_config(fewer(256))]

    /// A damaged certificate is parsed or refused, never a panic (x509-parser plus our analysis of it).
    #[test]
    fn certificate_parsing_survives_damage(der in mutated(certificate())) {
        if let Ok(info) = mailpath_core::cert::parse_certificate(&der) {
            let _ = mailpath_core::cert::cert_names(&info);
            let _ = mailpath_core::cert::days_left(&info, time::OffsetDateTime::now_utc());
        }
    }

    /// Damaged and random message headers give an analysis (with findings), never a panic.
    #[test]
    fn header_analysis_survives_damage(data in prop_oneof![
        mutated(fixture("tests/fixtures/headers/internal-hybrid.eml")),
        mutated(fixture("tests/fixtures/headers/third-party-hop.eml")),
        smtpish(),
    ]) {
        let options = mailpath_core::headers::Options {
            org_domains: vec!["contoso.com".into()],
            context: Default::default(),
            target: "fuzz.eml".into(),
        };
        let analysis = mailpath_core::headers::analyze(&data, &options);
        let _ = serde_json::to_string(&analysis).unwrap();
        let _ = mailpath_core::headers::summary(&data);
    }

    /// A damaged profile loads or is refused with where and what, never a panic.
    #[test]
    fn profile_loading_survives_damage(data in mutated(fixture("assets/profiles/contoso-edge.toml"))) {
        let text = String::from_utf8_lossy(&data);
        if let Err(e) = mailpath_core::profile::Profile::from_toml_str(&text, "fuzz.toml", Some(Path::new("/nonexistent"))) {
            prop_assert!(e.to_string().contains("fuzz.toml"), "{e}");
        }
    }
}

proptest! {
    #![proptest_config(fewer(64))]

    /// A damaged saved diagnosis opens or is refused with a message, never a panic.
    #[test]
    fn saved_diagnosis_survives_damage(data in mutated(saved_diagnosis())) {
        if let Err(e) = mailpath_core::report::parse(&data, Path::new("fuzz.json")) {
            prop_assert!(!e.to_string().is_empty());
        }
    }
}

/// A real diagnosis of the lab, as JSON (made once).
fn saved_diagnosis() -> Vec<u8> {
    static JSON: std::sync::OnceLock<Vec<u8>> = std::sync::OnceLock::new();
    JSON.get_or_init(|| {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            let lab = mailpath_core::lab::Lab::start_named("expired-cert", Default::default())
                .await
                .unwrap();
            let profile = mailpath_core::profile::Profile::load(&lab.info().profile_file).unwrap();
            let trust = mailpath_core::diagnose::trust_for(&profile).unwrap();
            let d = mailpath_core::diagnose::diagnose(
                &profile,
                mailpath_core::diagnose::DiagnoseOptions::new(trust),
            )
            .await;
            lab.shutdown().await;
            serde_json::to_vec(&d).unwrap()
        })
    })
    .clone()
}

proptest! {
    #![proptest_config(fewer(96))]

    /// `mailpath explain`'s extractor and matcher: damaged NDRs (RFC 3464 messages, HTML), protocol logs,
    /// message traces and random bytes explain something or find nothing, never panic, and stay within
    /// their bounds; nothing from the input reaches the output as a control character.
    #[test]
    fn explain_survives_damage(data in prop_oneof![
        mutated(fixture("tests/fixtures/explain/ndr-5.7.64-tenant-attribution.eml")),
        mutated(fixture("tests/fixtures/explain/ndr-5.1.10-recipient-not-found.eml")),
        mutated(fixture("tests/fixtures/explain/ndr-5.4.14-loop.html")),
        mutated(fixture("tests/fixtures/explain/sendlog-unknowncredentials.log")),
        mutated(fixture("tests/fixtures/explain/trace-4.7.320-subject-mismatch.txt")),
        mutated(fixture("tests/fixtures/explain/queue-4.4.0-connection-timed-out.txt")),
        smtpish(),
        prop::collection::vec(any::<u8>(), 0..4000),
    ]) {
        use mailpath_core::explain::{Context, MAX_OTHERS, explain, extract::MAX_TEXT};
        let e = explain(&data, &Context::default());
        prop_assert_eq!(e.found, !e.explained.is_empty());
        prop_assert!(e.explained.len() <= 1 + MAX_OTHERS);
        prop_assert!(e.input.excerpt.chars().count() <= MAX_TEXT);
        let clean = |s: &str| !s.chars().any(char::is_control);
        prop_assert!(clean(&e.input.excerpt));
        for x in &e.explained {
            prop_assert!(clean(&x.text) && x.text.chars().count() <= MAX_TEXT);
            prop_assert!(!x.causes.is_empty());
        }
        for s in [&e.reporting_server, &e.remote_server, &e.remote_ip].into_iter().flatten() {
            prop_assert!(clean(s) && s.len() <= 255);
        }
    }

    /// A reply with its enhanced status code is found wherever it stands in a line.
    #[test]
    fn replies_with_status_codes_are_found(
        reply in 400u16..=599,
        class in prop::sample::select(vec![4u8, 5]),
        subject in 0u16..8,
        detail in 0u16..1000,
        before in "[ -~]{0,30}",
        after in "[ -~]{0,60}",
    ) {
        let code = format!("{class}.{subject}.{detail}");
        let line = format!("{before} '{reply} {code} {after}");
        let found = mailpath_core::explain::extract::line_findings(&line, 0);
        prop_assert!(
            found.iter().any(|f| f.reply == Some(reply) && f.status.map(|s| s.to_string()) == Some(code.clone())),
            "{line}: {found:?}"
        );
    }
}
