#![allow(clippy::unwrap_used, clippy::expect_used)]

use super::*;
use crate::check::CheckDef;
use crate::path::{MailPath, PathSpec};

fn all_hops() -> Vec<String> {
    let mut hops = Vec::new();
    for edge in [true, false] {
        let spec = PathSpec {
            mailbox_hosts: vec!["ex01".into()],
            edge_hosts: if edge { vec!["edge01".into()] } else { vec![] },
            ..PathSpec::default()
        };
        hops.extend(MailPath::build(&spec).hops.into_iter().map(|h| h.id));
    }
    hops
}

fn known_check_ids() -> Vec<&'static str> {
    let mut ids: Vec<&str> = crate::catalog::catalog().iter().map(|d| d.id).collect();
    ids.extend(crate::headers::DEFS.iter().map(|d| d.id));
    ids
}

#[test]
fn the_catalogue_is_well_formed() {
    assert!(ENTRIES.len() >= 40, "{} entries", ENTRIES.len());
    let hops = all_hops();
    let checks = known_check_ids();
    let mut ids = std::collections::BTreeSet::new();
    for e in ENTRIES {
        assert!(ids.insert(e.id), "duplicate id {}", e.id);
        assert!(
            e.id.chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '-')),
            "{}",
            e.id
        );
        assert!(
            !e.codes.is_empty() || !e.needles.is_empty(),
            "{} matches nothing",
            e.id
        );
        for c in e.codes {
            let base = c.split('-').next().unwrap();
            assert!(rfc3463::StatusCode::parse(base).is_some(), "{}: code {c}", e.id);
        }
        assert!(!e.hops.is_empty(), "{}", e.id);
        for h in e.hops {
            assert!(
                hops.iter().any(|x| x == h),
                "{}: hop {h} is not a hop of the mail path",
                e.id
            );
        }
        assert!(!e.causes.is_empty(), "{}", e.id);
        for cause in e.causes {
            assert!(!cause.fix.is_empty() && !cause.text.is_empty(), "{}", e.id);
            for r in cause.checks {
                let (id, side) = catalogue::split_ref(r);
                assert!(
                    checks.contains(&id),
                    "{}: check {id} is not in the check catalogue",
                    e.id
                );
                assert!(
                    !r.contains('@') || side.is_some(),
                    "{}: unknown side in {r}",
                    e.id
                );
            }
        }
        assert!(!e.sources.is_empty(), "{}", e.id);
        for s in e.sources {
            assert!(
                s.starts_with("https://learn.microsoft.com/")
                    || s.starts_with("https://techcommunity.microsoft.com/")
                    || s.starts_with("https://www.rfc-editor.org/rfc/"),
                "{}: source {s} is neither Microsoft documentation nor an RFC",
                e.id
            );
        }
    }
}

#[test]
fn the_codes_the_issue_lists_are_catalogued() {
    for code in [
        "4.4.316", "4.7.320", "4.4.101", "4.4.0", "5.7.3", "4.7.5", "5.7.64", "5.7.68", "4.4.62", "5.4.14",
        "5.4.6", "5.4.1", "5.1.10", "5.7.54", "4.7.500", "5.7.708", "5.7.750", "4.7.323", "5.7.321", "4.4.7",
        "5.7.1", "5.7.606", "5.7.649", "4.3.2", "4.4.2",
    ] {
        let s = rfc3463::StatusCode::parse(code).unwrap();
        assert!(
            ENTRIES.iter().any(|e| code_match(e, s).is_some()),
            "{code} is not catalogued"
        );
    }
    for needle in ["UnknownCredentials", "NoCredentials", "ATTR36"] {
        assert!(
            ENTRIES.iter().any(|e| e.needles.contains(&needle)),
            "{needle} is not catalogued"
        );
    }
}

#[test]
fn ndr_doc_matches_the_code() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/ndr.md");
    let want = catalogue::catalogue_markdown();
    if std::env::var_os("MAILPATH_UPDATE_DOCS").is_some() {
        std::fs::write(&path, &want).unwrap();
    }
    let have = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        have == want,
        "docs/ndr.md is out of date: MAILPATH_UPDATE_DOCS=1 cargo test -p mailpath-core ndr_doc"
    );
}

fn main_of(text: &str) -> Explained {
    let e = explain(text.as_bytes(), &Context::default());
    assert!(e.found, "{text}: {}", e.summary);
    e.explained[0].clone()
}

#[test]
fn the_most_specific_entry_wins_over_wrappers_and_generic_codes() {
    let m = main_of(
        "450 4.4.101 Proxy session setup failed on Frontend with '451 4.4.0 Primary target IP address responded with \"451 5.7.3 STARTTLS is required to send mail.\" Attempted failover to alternate host, but that did not succeed.'",
    );
    assert_eq!(m.entry.as_deref(), Some("4.4.101-proxy-starttls-required"));
    assert_eq!(m.code, "450 4.4.101");
    let m = main_of(
        "451 4.4.0 Primary target IP address responded with: \"421 4.4.1 Connection timed out.\" Attempted failover to alternate host, but that did not succeed.",
    );
    assert_eq!(m.entry.as_deref(), Some("4.4.0-primary-target-timed-out"));
    let m =
        main_of("451 4.4.0 Primary target IP address responded with: \"554 5.6.1 Body type not supported.\"");
    // The wrapper loses to nothing catalogued: 5.6.1 is not, so the wrapper explains it.
    assert_eq!(m.entry.as_deref(), Some("4.4.0-primary-target"));
    let m = main_of(
        "Reason: [{LED=450 4.7.320 Certificate validation failed [Message=SubjectMismatch]};{MSG=};{FQDN=mail.contoso.com};{IP=203.0.113.25};{LRT=1/29/2025 7:07:29 PM}]",
    );
    assert_eq!(m.entry.as_deref(), Some("4.7.320-subject-mismatch"));
    assert_eq!(m.hops, ["in.eop-edge", "in.eop-mailbox"]);
}

#[test]
fn direction_narrows_the_hops_of_codes_seen_both_ways() {
    // Exchange Online's message trace about an on-premises server: the hop from EOP.
    let e = explain(
        b"Reason: [{LED=550 4.4.7 QUEUE.Expired; message expired};{MSG=};{FQDN=mail.contoso.com};{IP=203.0.113.25};{LRT=}]",
        &Context::default(),
    );
    assert_eq!(e.direction, Direction::FromMicrosoft);
    assert_eq!(e.explained[0].hops, ["in.eop-edge", "in.eop-mailbox"]);
    // An on-premises queue towards Exchange Online: the hop into EOP, and only the topology's hop.
    let ctx = Context {
        edge: Some(false),
        ..Context::default()
    };
    let e = explain(
        b"Identity: EX01\\4\nNextHopDomain: contoso.mail.onmicrosoft.com\nLastError: 550 4.4.7 QUEUE.Expired; message expired",
        &ctx,
    );
    assert_eq!(e.direction, Direction::ToMicrosoft);
    assert_eq!(e.explained[0].hops, ["out.mailbox-eop"]);
}

#[test]
fn unknown_codes_are_explained_from_rfc_3463_and_said_to_be() {
    let m = main_of("550 5.2.2 Mailbox full");
    assert!(!m.catalogued && m.entry.is_none());
    assert!(m.title.starts_with("Not in mailpath's catalogue"), "{}", m.title);
    assert!(
        m.meaning.contains("Mailbox full") && m.meaning.contains("Permanent failure"),
        "{}",
        m.meaning
    );
    assert_eq!(
        m.rfc3463.as_ref().unwrap().detail.as_deref(),
        Some("Mailbox full")
    );
    let m = main_of("451 4.9.99 something new");
    assert!(m.meaning.contains("not in RFC 3463's table"), "{}", m.meaning);
}

#[test]
fn text_without_a_reply_is_found_to_have_none() {
    for text in [
        "Hello, my mail does not arrive since Monday. Can you help?",
        "",
        "<html><script>alert(1)</script><p>nothing here</p></html>",
        "2025-01-29T20:14:51.470Z,E19\\Default Frontend E19,08DD34FA3086278D,3,10.0.0.1:25,104.47.58.43:57811,+,,",
    ] {
        let e = explain(text.as_bytes(), &Context::default());
        assert!(!e.found, "{text}");
        assert!(e.explained.is_empty());
        assert_eq!(e.summary, "found no SMTP reply or status code");
    }
    let e = explain(
        b"250 2.6.0 <id@host> Queued mail for delivery",
        &Context::default(),
    );
    assert!(!e.found);
    assert!(e.summary.contains("only successful"), "{}", e.summary);
}

fn check(id: &'static str, status: Status, hop: &str) -> CheckResult {
    let def: &'static CheckDef = Box::leak(Box::new(CheckDef {
        id,
        title: "t",
        why: "w",
        references: &[],
    }));
    CheckResult::new(def, status, "mail.contoso.com:25", format!("{id} is {status}"))
        .on(Attachment::Hop(hop.into()))
}

const SUBJECT_MISMATCH: &[u8] =
    b"Reason: [{LED=450 4.7.320 Certificate validation failed [Message=SubjectMismatch]};{MSG=};{FQDN=mail.contoso.com};{IP=203.0.113.25};{LRT=}]";

#[test]
fn a_failing_check_on_that_hop_says_this_is_it() {
    let ctx = Context {
        edge: Some(true),
        checks: vec![
            check("tls.cert.name", Status::Fail, "in.eop-edge"),
            check("tls.cert.name", Status::Pass, "out.edge-eop"),
            check("config.exo_outbound.tls", Status::Pass, "in.eop-edge"),
        ],
        source: EvidenceSource::Diagnosis,
        onprem_names: vec![],
        cloud: crate::cloud::Cloud::Commercial,
    };
    let e = explain(SUBJECT_MISMATCH, &ctx);
    let m = &e.explained[0];
    assert_eq!(m.hops, ["in.eop-edge"]);
    assert_eq!(m.causes[0].verdict, CauseVerdict::Confirmed);
    assert!(m.verdict.starts_with("This is it:"), "{}", m.verdict);
    assert!(
        m.verdict.contains("tls.cert.name on in.eop-edge fails"),
        "{}",
        m.verdict
    );
    // The passing tls.cert.name of the other direction (EOP's own certificate) is not looked at.
    assert!(
        m.causes[0]
            .observed
            .iter()
            .all(|o| o.hop.as_deref() == Some("in.eop-edge"))
    );
    let last = m.causes.last().unwrap();
    assert_eq!(last.verdict, CauseVerdict::RuledOut, "{:#?}", m.causes);
}

#[test]
fn passing_checks_on_that_hop_say_what_else_to_look_at() {
    let ctx = Context {
        edge: Some(true),
        checks: vec![
            check("tls.cert.name", Status::Pass, "in.eop-edge"),
            check("tls.cert.trusted", Status::Pass, "in.eop-edge"),
            check("config.exo_outbound.tls", Status::Pass, "in.eop-edge"),
        ],
        source: EvidenceSource::Diagnosis,
        onprem_names: vec![],
        cloud: crate::cloud::Cloud::Commercial,
    };
    let m = explain(SUBJECT_MISMATCH, &ctx).explained[0].clone();
    assert!(
        m.causes.iter().all(|c| c.verdict == CauseVerdict::RuledOut),
        "{:#?}",
        m.causes
    );
    assert!(!m.verdict.starts_with("This is it"), "{}", m.verdict);
    assert!(
        m.verdict.contains("pass") && m.verdict.contains("look at"),
        "{}",
        m.verdict
    );
    // Without evidence the catalogue's order stands and says so.
    let m = explain(SUBJECT_MISMATCH, &Context::default()).explained[0].clone();
    assert!(m.verdict.starts_with("Most likely:"), "{}", m.verdict);
    assert!(m.causes.iter().all(|c| c.verdict == CauseVerdict::Unverified));
}

#[test]
fn a_cause_the_input_names_comes_first() {
    let m = main_of(
        "451 4.4.0 Primary target IP address responded with: \"421 4.4.1 Connection timed out.\" Attempted failover to alternate host\n2017-10-07T04:42:56.804Z,Outbound to Office 365,08D50D3D9730A8D2,21,10.10.248.7:16547,216.32.181.234:25,*,,TLS negotiation failed with error NoCredentials",
    );
    assert_eq!(m.entry.as_deref(), Some("4.4.0-primary-target-timed-out"));
    assert_eq!(m.causes[0].verdict, CauseVerdict::Named);
    assert!(m.causes[0].cause.contains("private key"), "{:#?}", m.causes);
}

#[test]
fn a_profile_ranks_by_its_configuration_checks() {
    let mut profile = crate::profile::Profile::load(
        &std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../assets/profiles/contoso-edge.toml"),
    )
    .unwrap();
    profile.connectors.receive.tls_domain_capabilities = Some(
        "<I>CN=MSIT Machine Auth CA 2, DC=Redmond, DC=corp, DC=microsoft, DC=com<S>CN=*.outlook.com".into(),
    );
    let ctx = Context::for_profile(&profile);
    assert_eq!(ctx.edge, Some(true));
    let e = explain(
        b"451 4.7.0 Temporary server error. Please try again later. PRX5",
        &ctx,
    );
    let m = &e.explained[0];
    assert_eq!(m.entry.as_deref(), Some("4.7.0-prx5"));
    assert_eq!(m.hops, ["in.eop-edge"]);
    assert_eq!(m.causes[0].verdict, CauseVerdict::Confirmed, "{:#?}", m.causes);
    assert!(m.verdict.contains("config.receive.capabilities"), "{}", m.verdict);
}

#[test]
fn hostile_input_stays_bounded_and_clean() {
    let mut text = String::from("<html><body><script>document.write('550 5.7.64')</script>");
    text.push_str("<p>\u{1b}[2J\u{1b}]0;pwned\u{7}451 4.4.62 Mail sent to the wrong Office 365 region. ATTR35 \u{202e}evil</p>");
    text.push_str(&"x".repeat(100_000));
    let e = explain(text.as_bytes(), &Context::default());
    let json = serde_json::to_string(&e).unwrap();
    assert!(
        !json.contains("\\u001b") && !json.contains("\\u0007") && !json.contains('\u{202e}'),
        "{json}"
    );
    assert_eq!(e.explained[0].entry.as_deref(), Some("4.4.62-wrong-region"));
    assert!(
        e.explained
            .iter()
            .all(|x| x.entry.as_deref() != Some("5.7.64-tenant-attribution")),
        "script content was read"
    );
    assert!(e.input.excerpt.chars().count() <= extract::MAX_TEXT);
    let binary: Vec<u8> = (0..=255u8).cycle().take(1 << 20).collect();
    let e = explain(&binary, &Context::default());
    assert!(serde_json::to_string(&e).is_ok());
}

/// The fixtures of tests/fixtures/explain: each one's expected code, entry, hop and first cause.
#[test]
fn fixtures_explain_as_expected() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/explain");
    let expected: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("expected.json")).unwrap()).unwrap();
    let cases = expected.as_array().unwrap();
    assert!(cases.len() >= 25, "{} fixtures", cases.len());
    for case in cases {
        let file = case["file"].as_str().unwrap();
        let data = std::fs::read(dir.join(file)).unwrap();
        let e = explain(&data, &Context::default());
        assert!(e.found, "{file}: {}", e.summary);
        let m = &e.explained[0];
        assert_eq!(m.code, case["code"].as_str().unwrap(), "{file}");
        assert_eq!(m.entry.as_deref(), case["entry"].as_str(), "{file}");
        let hop = case["hop"].as_str().unwrap();
        assert!(
            m.hops.iter().any(|h| h == hop),
            "{file}: {hop} not in {:?}",
            m.hops
        );
        let first = case["first_cause"].as_str().unwrap();
        assert!(
            m.causes[0].cause.contains(first),
            "{file}: first cause {:?}",
            m.causes[0].cause
        );
        if let Some(kind) = case["kind"].as_str() {
            assert_eq!(serde_json::to_value(e.input.kind).unwrap(), kind, "{file}");
        }
    }
}

/// Issue 13 item 10: with a GCC High profile the causes and fixes name GCC High's EOP, not the commercial one.
#[test]
fn a_gcc_high_profile_gets_its_clouds_names_in_the_fixes() {
    let mut profile = crate::profile::Profile::load(
        &std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../assets/profiles/contoso-edge.toml"),
    )
    .unwrap();
    profile.tenant.cloud = crate::cloud::Cloud::GccHigh;
    profile.tenant.eop_endpoint = None;
    let ctx = Context::for_profile(&profile);
    let e = explain(
        b"451 4.7.0 Temporary server error. Please try again later. PRX5",
        &ctx,
    );
    let fixes: Vec<&str> = e.explained[0].causes.iter().map(|c| c.fix.as_str()).collect();
    let all = format!("{} {}", e.explained[0].meaning, fixes.join(" "));
    assert!(
        all.contains("mail.protection.office365.us:AcceptCloudServicesMail"),
        "{all}"
    );
    assert!(!all.contains("outlook.com"), "{all}");
    let commercial = explain(
        b"451 4.7.0 Temporary server error. Please try again later. PRX5",
        &Context::default(),
    );
    let fix = &commercial.explained[0].causes[0].fix;
    assert!(
        fix.contains("mail.protection.outlook.com:AcceptCloudServicesMail"),
        "{fix}"
    );
}
