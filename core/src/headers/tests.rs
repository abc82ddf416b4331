//! Header analysis on the fixtures in tests/fixtures/headers/.

use super::parse::ends_with_domain;
use super::*;
use crate::check::Status;

fn fixture(name: &str) -> Vec<u8> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/fixtures/headers")
        .join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn run(name: &str, context: Context) -> HeaderAnalysis {
    run_for(name, context, &[])
}

/// The analysis of a fixture for an organization whose accepted domains are `org_domains`.
fn run_for(name: &str, context: Context, org_domains: &[&str]) -> HeaderAnalysis {
    analyze(
        &fixture(name),
        &Options {
            org_domains: org_domains.iter().map(|d| d.to_string()).collect(),
            context,
            target: name.to_string(),
        },
    )
}

fn status(a: &HeaderAnalysis, id: &str) -> Status {
    a.checks
        .iter()
        .find(|c| c.id == id)
        .unwrap_or_else(|| panic!("no {id} in {:#?}", a.checks))
        .status
}

#[test]
fn internal_hybrid_message() {
    let a = run("internal-hybrid.eml", Context::Delivered);
    assert_eq!(
        a.verdict.classification,
        Classification::Internal,
        "{:#?}",
        a.verdict
    );
    assert!(a.verdict.hybrid);
    let roles: Vec<HopRole> = a.hops.iter().map(|h| h.role).collect();
    assert_eq!(
        roles,
        [
            HopRole::OnPremises,
            HopRole::OnPremises,
            HopRole::Eop,
            HopRole::ExchangeOnline,
            HopRole::ExchangeOnline
        ]
    );
    assert_eq!(
        a.hops[0].tls,
        TlsSeen::Unknown,
        "mapi submission is not an SMTP hop"
    );
    assert_eq!(a.hops[2].tls_version.as_deref(), Some("TLSv1.2"));
    assert_eq!(a.hops[2].delay_secs, Some(3));
    assert_eq!(a.total_delay_secs, Some(6));
    assert_eq!(a.summary.subject.as_deref(), Some("Quarterly numbers"));
    for (id, expected) in [
        ("headers.received", Status::Pass),
        ("headers.tls", Status::Pass),
        ("headers.third-party-hop", Status::Pass),
        ("headers.authas", Status::Pass),
        ("headers.cross-premises.promoted", Status::Pass),
        ("headers.antispam.double-scan", Status::Pass),
    ] {
        assert_eq!(status(&a, id), expected, "{id}");
    }
    assert_eq!(a.counts.worst(), Status::Pass, "{:#?}", a.checks);
}

#[test]
fn anonymous_hybrid_message_names_the_unpromoted_headers() {
    let a = run("anonymous-hybrid.eml", Context::Delivered);
    assert_eq!(a.verdict.classification, Classification::Anonymous);
    assert!(a.verdict.hybrid);
    assert!(
        a.verdict.reasons.iter().any(|r| r.contains("not promoted")),
        "{:#?}",
        a.verdict
    );
    assert_eq!(status(&a, "headers.authas"), Status::Fail);
    assert_eq!(status(&a, "headers.cross-premises.promoted"), Status::Fail);
    assert_eq!(a.exchange.cross_tenant("FromEntityHeader"), Some("Internet"));
}

#[test]
fn filtered_by_send_connector() {
    // Without the accepted domains, nothing says who sent it (the filtered headers were the evidence).
    let unknown = run("filtered-by-send-connector.eml", Context::Delivered);
    assert_eq!(unknown.verdict.originated, None);
    assert_eq!(status(&unknown, "headers.authas"), Status::Warn);
    let a = run_for(
        "filtered-by-send-connector.eml",
        Context::Delivered,
        &["contoso.com"],
    );
    assert_eq!(a.verdict.classification, Classification::Anonymous);
    assert_eq!(
        a.verdict.basis.as_deref(),
        Some("X-CrossPremisesHeadersFilteredBySendConnector")
    );
    assert!(a.verdict.reasons[0].contains("EX02.contoso.com"));
    assert_eq!(status(&a, "headers.cross-premises.filtered"), Status::Fail);
    assert_eq!(status(&a, "headers.authas"), Status::Fail);
    let filtered = a
        .checks
        .iter()
        .find(|c| c.id == "headers.cross-premises.filtered")
        .unwrap();
    assert!(filtered.remediation.contains("CloudServicesMailEnabled $true"));
}

#[test]
fn double_scan_untrusted() {
    let a = run_for("double-scan-untrusted.eml", Context::Delivered, &["contoso.com"]);
    // Both reports by the same tenant (two stamps of one X-MS-Exchange-CrossTenant-Id).
    assert_eq!(status(&a, "headers.antispam.double-scan"), Status::Warn);
    // Internet mail from fabrikam: anonymous is right, the double scan is the problem.
    assert_eq!(a.verdict.originated, Some(false));
    assert_eq!(status(&a, "headers.authas"), Status::Info);
    let untrusted = a.exchange.antispam_untrusted.as_ref().unwrap();
    assert_eq!(untrusted.get("SFV"), Some("NSPM"));
    assert_eq!(a.exchange.antispam.as_ref().unwrap().get("SFV"), Some("SPM"));
    assert_eq!(status(&a, "headers.third-party-hop"), Status::Pass);
}

#[test]
fn third_party_hop_between_on_premises_and_eop() {
    let a = run("third-party-hop.eml", Context::Delivered);
    assert_eq!(a.hops[1].by.as_deref(), Some("relay.filter-cloud.example"));
    assert_eq!(a.hops[1].role, HopRole::Other);
    assert_eq!(a.hops[1].tls, TlsSeen::No);
    assert_eq!(status(&a, "headers.third-party-hop"), Status::Fail);
    // The plain hop lies on the crossing: a failure, not a warning.
    assert_eq!(status(&a, "headers.tls"), Status::Fail);
    // 14 minutes in the filter's queue.
    assert_eq!(status(&a, "headers.delay"), Status::Warn);
    assert_eq!(a.verdict.classification, Classification::Anonymous);
    assert!(a.verdict.hybrid);
}

#[test]
fn internet_mail_is_anonymous_and_that_is_fine() {
    let a = run("internet-inbound.eml", Context::Delivered);
    assert_eq!(a.verdict.classification, Classification::Anonymous);
    assert!(!a.verdict.hybrid);
    assert_eq!(status(&a, "headers.authas"), Status::Info);
    assert_eq!(status(&a, "headers.third-party-hop"), Status::Skip);
    assert_eq!(status(&a, "headers.tls"), Status::Pass, "{:#?}", a.hops);
    assert_eq!(a.hops[1].tls_version.as_deref(), Some("TLSv1.3"));
    assert_eq!(
        a.hops[0].delay_secs,
        Some(1),
        "first hop against the Date header (-0700)"
    );
}

#[test]
fn in_transit_to_eop_would_be_internal() {
    let a = run("in-transit-to-eop.eml", Context::ArrivingAtEop);
    assert_eq!(a.verdict.classification, Classification::Internal);
    assert_eq!(
        a.verdict.basis.as_deref(),
        Some("X-MS-Exchange-CrossPremises-AuthAs")
    );
    assert_eq!(status(&a, "headers.cross-premises.promoted"), Status::Info);
    assert_eq!(status(&a, "headers.cross-premises.filtered"), Status::Pass);
    // The same message stripped of its cross-premises headers can only be anonymous at EOP.
    let stripped: Vec<u8> = String::from_utf8(fixture("in-transit-to-eop.eml"))
        .unwrap()
        .lines()
        .filter(|l| !l.starts_with("X-MS-Exchange-CrossPremises"))
        .flat_map(|l| format!("{l}\r\n").into_bytes())
        .collect();
    let a = analyze(
        &stripped,
        &Options {
            context: Context::ArrivingAtEop,
            ..Options::default()
        },
    );
    assert_eq!(a.verdict.classification, Classification::Anonymous);
}

#[test]
fn bounded_and_garbage_input_never_panics() {
    for input in [
        &b""[..],
        b"\r\n\r\n",
        b"Received: ;;;;\r\n\r\n",
        b"Received:\r\nReceived: from\r\n\r\n",
        b"\xff\xfe\x00garbage",
        b"Microsoft Mail Internet Headers Version 2.0\r\nX-MS-Exchange-Organization-AuthAs: Internal\r\n",
    ] {
        let a = analyze(input, &Options::default());
        assert_eq!(a.schema, SCHEMA);
    }
    let outlook = analyze(
        b"Microsoft Mail Internet Headers Version 2.0\r\nX-MS-Exchange-Organization-AuthAs: Internal\r\n",
        &Options::default(),
    );
    assert_eq!(outlook.verdict.classification, Classification::Internal);
    let mut many = Vec::new();
    for i in 0..(MAX_HOPS + 20) {
        many.extend_from_slice(
            format!(
                "Received: from a{i}.example by b{i}.example with ESMTPS; Mon, 1 Apr 2024 10:00:00 +0000\r\n"
            )
            .as_bytes(),
        );
    }
    many.extend(std::iter::repeat_n(b'X', MAX_HEADER_BYTES));
    let a = analyze(&many, &Options::default());
    assert_eq!((a.hops.len(), a.hops_dropped), (MAX_HOPS, 20));
    assert!(a.truncated);
}

#[test]
fn first_header_unfolds_and_ignores_the_body() {
    let data = b"Subject: a\r\n b\r\nX-Mailpath-Tracking: mp-1\r\n\r\nX-Mailpath-Tracking: body\r\n";
    assert_eq!(first_header(data, "subject").as_deref(), Some("a b"));
    assert_eq!(first_header(data, TRACKING_HEADER).as_deref(), Some("mp-1"));
    assert_eq!(first_header(data, "To"), None);
    assert_eq!(summary(data).tracking_id.as_deref(), Some("mp-1"));
}

/// A small deterministic generator (xorshift), enough to throw varied bytes at the parser.
struct Noise(u64);

impl Noise {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

#[test]
fn random_and_mutated_headers_never_panic() {
    let seeds: Vec<Vec<u8>> = [
        "internal-hybrid.eml",
        "third-party-hop.eml",
        "double-scan-untrusted.eml",
    ]
    .iter()
    .map(|f| fixture(f))
    .collect();
    let mut noise = Noise(0x9e37_79b9_7f4a_7c15);
    let alphabet =
        b"Received: from by with ESMTPS id for ; ()[]<>@.:=-_\r\n\t version=TLS1_2 X-MS-Exchange-\xff\x00";
    for round in 0..3000 {
        let mut data = seeds[round % seeds.len()].clone();
        let edits = 1 + (noise.next() % 40) as usize;
        for _ in 0..edits {
            let pos = (noise.next() as usize) % (data.len() + 1);
            match noise.next() % 3 {
                0 if pos < data.len() => {
                    data.remove(pos);
                }
                1 => data.insert(pos, alphabet[(noise.next() as usize) % alphabet.len()]),
                _ if pos < data.len() => data[pos] = (noise.next() & 0xff) as u8,
                _ => {}
            }
        }
        let a = analyze(&data, &Options::default());
        assert!(a.hops.len() <= MAX_HOPS);
        let _ = serde_json::to_string(&a).unwrap();
    }
}

/// Found by `tests/tests/it/fuzz_parsers.rs`: a host name whose domain suffix starts inside a multi-byte
/// character once panicked when sliced as a `str`.
#[test]
fn domain_suffixes_of_non_ascii_host_names_never_slice_inside_a_character() {
    assert!(!ends_with_domain(
        "DM6PR11CA0012.outlook.\u{6bf}ffice365.com",
        "outlook.office365.com"
    ));
    // The suffix "office365.com" begins at the second byte of U+06BF: the slice that panicked.
    assert!(!ends_with_domain(
        "DM6PR11CA0012.outlook.\u{6bf}ffice365.com",
        "office365.com"
    ));
    assert!(!ends_with_domain(
        "\u{6bf}protection.outlook.com",
        "protection.outlook.com"
    ));
    assert!(ends_with_domain(
        "EOP.Protection.Outlook.com.",
        "protection.outlook.com"
    ));
    assert!(ends_with_domain("mail.contoso.com", ".contoso.com"));
    assert!(!ends_with_domain("notcontoso.com", "contoso.com"));
    let raw = "Received: from a.contoso.com by DM6PR11CA0012.outlook.\u{6bf}ffice365.com with SMTP; \
               Mon, 1 Apr 2024 10:00:05 +0000\r\nSubject: x\r\n\r\n";
    let a = analyze(raw.as_bytes(), &Options::default());
    assert_eq!(a.hops.len(), 1);
}

/// Issue 13 item 12: internet mail keeps AuthAs Anonymous through EOP and hybrid by design. Delivered to an
/// on-premises mailbox through EOP (MX at EOP, outbound connector to the Edge), it is not a fault.
#[test]
fn internet_mail_delivered_on_premises_through_eop_passes() {
    for org in [&[][..], &["contoso.com"][..]] {
        let a = run_for("internet-via-eop-to-onprem.eml", Context::Delivered, org);
        assert_eq!(a.verdict.classification, Classification::Anonymous);
        assert!(a.verdict.hybrid, "it crossed from EOP to on-premises");
        assert_eq!(a.verdict.originated, Some(false), "{org:?}");
        assert_eq!(status(&a, "headers.authas"), Status::Info, "{org:?}");
        assert_eq!(status(&a, "headers.third-party-hop"), Status::Pass);
        assert_eq!(status(&a, "headers.cross-premises.promoted"), Status::Pass);
        assert!(a.counts.worst() < Status::Warn, "{org:?}: {:#?}", a.checks);
    }
}

/// The same headers with the organization's own sender: anonymous is then a fault.
#[test]
fn the_organizations_own_mail_arriving_anonymous_fails() {
    let text = String::from_utf8(fixture("internet-via-eop-to-onprem.eml"))
        .unwrap()
        .replace(
            "Someone <someone@gmail.example>",
            "Adele Vance <adele@contoso.com>",
        );
    let a = analyze(
        text.as_bytes(),
        &Options {
            org_domains: vec!["contoso.com".into()],
            context: Context::Delivered,
            target: "t".into(),
        },
    );
    assert_eq!(a.verdict.originated, Some(true));
    assert_eq!(status(&a, "headers.authas"), Status::Fail);
    // Originating, whatever the sender: also the organization's.
    let originating = String::from_utf8(fixture("internet-via-eop-to-onprem.eml"))
        .unwrap()
        .replace(
            "MessageDirectionality: Incoming",
            "MessageDirectionality: Originating",
        );
    let a = analyze(originating.as_bytes(), &Options::default());
    assert_eq!(a.verdict.originated, Some(true));
    assert_eq!(status(&a, "headers.authas"), Status::Fail);
}

/// Issue 13 item 13: an -Untrusted report from another tenant (the sender's) is not a double scan.
#[test]
fn untrusted_report_of_another_tenant_is_not_a_double_scan() {
    let a = run_for("cross-tenant-untrusted.eml", Context::Delivered, &["contoso.com"]);
    assert!(a.exchange.antispam_untrusted.is_some() && a.exchange.antispam.is_some());
    assert_eq!(status(&a, "headers.antispam.double-scan"), Status::Info);
    assert!(
        a.checks
            .iter()
            .any(|c| c.id == "headers.antispam.double-scan" && c.summary.contains("sending organization")),
        "{:#?}",
        a.checks
    );
    assert!(a.counts.worst() < Status::Warn, "{:#?}", a.checks);
}

/// Issue 13 item 13: AuthAs Partner is domain-secured external mail, not internal.
#[test]
fn partner_is_domain_secured_external_mail_not_internal() {
    let a = run_for("partner-domain-secured.eml", Context::Delivered, &["contoso.com"]);
    assert_eq!(a.verdict.classification, Classification::Partner);
    assert_ne!(status(&a, "headers.authas"), Status::Pass);
    assert_eq!(status(&a, "headers.authas"), Status::Info);
    assert!(
        a.verdict.reasons.iter().any(|r| r.contains("domain security")),
        "{:#?}",
        a.verdict
    );
}

/// Hosts of every Microsoft cloud are Microsoft's hops.
#[test]
fn hops_of_other_clouds_are_microsofts() {
    let text = String::from_utf8(fixture("internet-via-eop-to-onprem.eml"))
        .unwrap()
        .replace(
            "DM6NAM11FT058.eop-nam11.prod.protection.outlook.com",
            "CY1USG02FT007.mail.protection.office365.us",
        )
        .replace(
            "DM6NAM11FT058.mail.protection.outlook.com",
            "CY1USG02FT008.mail.protection.office365.us",
        );
    let a = analyze(text.as_bytes(), &Options::default());
    assert_eq!(a.hops[1].role, HopRole::Eop, "{:#?}", a.hops);
    assert_eq!(a.hops[2].role, HopRole::OnPremises);
}
