//! Unit tests of the report module on a hand-built diagnosis.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use time::macros::datetime;

use super::*;
use crate::ca::{LabCa, LeafSpec};
use crate::check::{CheckDef, Counts};
use crate::dns::{DnsAnswer, DnsOutcome, RecordData, RecordType};
use crate::evidence::{Connect, Direction, Evidence, Reply, SmtpProbe, TlsEvidence, TranscriptLine};
use crate::path::{MailPath, PathSpec};
use crate::profile::Profile;

const DEF: CheckDef = CheckDef {
    id: "tls.cert.validity",
    title: "Certificate validity",
    why: "w",
    references: &["https://learn.microsoft.com/exchange/x"],
};
const BANNER_DEF: CheckDef = CheckDef {
    id: "smtp.banner",
    title: "SMTP greeting",
    why: "w",
    references: &[],
};

fn line(ms: u64, dir: Direction, tls: bool, text: &str) -> TranscriptLine {
    TranscriptLine {
        ms,
        dir,
        tls,
        text: text.into(),
    }
}

/// A diagnosis of the sample Edge profile: an expired Edge certificate, a hostile banner.
pub(super) fn sample() -> Diagnosis {
    let profile = Profile::from_toml_str(crate::profile::SAMPLE_EDGE, "contoso-edge.toml", None)
        .expect("sample profile");
    let started = datetime!(2026-03-01 12:00:00 UTC);
    let ca = LabCa::generate(started).expect("lab CA");
    let leaf = ca
        .issue(
            &LeafSpec::server(
                "mail.contoso.com",
                ["mail.contoso.com", "edge01.contoso.com"],
                started,
            )
            .with_validity(
                started - time::Duration::days(400),
                started - time::Duration::days(5),
            ),
        )
        .expect("leaf");
    let chain = leaf.chain(true);
    let info = crate::cert::parse_certificate(&leaf.leaf).expect("leaf parses");
    let (fingerprint, thumbprint) = (info.sha256_colons(), info.sha1_thumbprint);
    let addr = SocketAddr::new(IpAddr::V4(Ipv4Addr::new(203, 0, 113, 10)), 25);
    let banner =
        "mail.contoso.com Microsoft ESMTP <script>alert(1)</script> ready at Sun, 1 Mar 2026 12:00:00 +0000";
    let probe = SmtpProbe {
        id: "smtp:mail.contoso.com:25".into(),
        host: "mail.contoso.com".into(),
        port: 25,
        addresses: vec![addr.ip()],
        helo: "mailpath.invalid".into(),
        connect: Connect::Connected { address: addr, ms: 3 },
        banner: Some(Reply {
            code: 220,
            lines: vec![banner.into()],
            ms: 5,
        }),
        ehlo: Some(Reply {
            code: 250,
            lines: vec!["mail.contoso.com Hello [198.51.100.7]".into(), "STARTTLS".into()],
            ms: 1,
        }),
        used_helo: false,
        starttls: Some(Reply {
            code: 220,
            lines: vec!["2.0.0 SMTP server ready".into()],
            ms: 1,
        }),
        tls: Some(TlsEvidence {
            sni: Some("mail.contoso.com".into()),
            version: Some("TLSv1.3".into()),
            cipher: Some("TLS13_AES_256_GCM_SHA384".into()),
            chain,
            error: None,
            alert: None,
            ms: Some(2),
            chain_from_scan: false,
        }),
        ehlo_tls: None,
        failure: None,
        partial: None,
        transcript: vec![
            line(0, Direction::Info, false, "Connected to 203.0.113.10:25"),
            line(5, Direction::Server, false, &format!("220 {banner}")),
            line(6, Direction::Client, false, "EHLO mailpath.invalid"),
            line(
                7,
                Direction::Server,
                false,
                "250-mail.contoso.com Hello [198.51.100.7]",
            ),
            line(9, Direction::Client, true, "EHLO mailpath.invalid"),
            line(10, Direction::Error, false, "admin@contoso.com said \u{1}no"),
        ],
        ms: 12,
        tls_scan: None,
    };
    let dns = DnsAnswer {
        name: "contoso.com".into(),
        rtype: RecordType::Mx,
        server: "10.0.0.53:53".into(),
        outcome: DnsOutcome::Records(vec![RecordData::Mx {
            preference: 0,
            exchange: "contoso-com.mail.protection.outlook.com".into(),
        }]),
        elapsed_ms: 4,
    };
    let mut path = MailPath::build(&PathSpec {
        mailbox_hosts: vec!["ex01.contoso.com".into()],
        edge_hosts: vec!["edge01.contoso.com".into(), "mail.contoso.com".into()],
        eop_host: profile.eop_endpoint(),
        from_eop: Some("mail.contoso.com:25".into()),
        ..PathSpec::default()
    });
    let checks = vec![
        CheckResult::new(&DEF, Status::Fail, "mail.contoso.com:25", "the certificate expired 5 days ago")
            .detail(format!("CN=mail.contoso.com, valid until 2026-02-24, SHA-256 {fingerprint}"))
            .remediation(format!("New-ExchangeCertificate -DomainName mail.contoso.com\nEnable-ExchangeCertificate -Services SMTP -Thumbprint <new> (current: {thumbprint})"))
            .evidence("smtp:mail.contoso.com:25")
            .on(Attachment::Hop("in.eop-edge".into())),
        CheckResult::new(&BANNER_DEF, Status::Pass, "mail.contoso.com:25", format!("220 {banner}"))
            .evidence("smtp:mail.contoso.com:25")
            .on(Attachment::Hop("in.eop-edge".into())),
        CheckResult::new(&BANNER_DEF, Status::Warn, "ex01.contoso.com:25", "slow greeting from 10.0.0.10")
            .on(Attachment::Node("mailbox".into())),
        CheckResult::new(&BANNER_DEF, Status::Skip, "cert.pem", "not on the path"),
    ];
    path.roll_up(&checks);
    Diagnosis {
        schema: crate::diagnose::SCHEMA.into(),
        mailpath_version: crate::version().into(),
        started_at: started,
        duration_ms: 1234,
        cancelled: false,
        counts: Counts::of(&checks),
        profile,
        path,
        checks,
        evidence: Evidence {
            dns: more_dns(dns),
            smtp: vec![probe],
            tls_ports: Vec::new(),
            resolvers: Vec::new(),
        },
        explained: None,
    }
}

/// DNS answers as the real DNS probe gathers them: SPF, DMARC, DKIM, PTR, SOA.
fn more_dns(mx: DnsAnswer) -> Vec<DnsAnswer> {
    let answer = |name: &str, rtype: RecordType, records: Vec<RecordData>| DnsAnswer {
        name: name.into(),
        rtype,
        server: "10.0.0.53:53".into(),
        outcome: DnsOutcome::Records(records),
        elapsed_ms: 1,
    };
    vec![
        mx,
        answer(
            "contoso.com",
            RecordType::Txt,
            vec![RecordData::Txt(
                "v=spf1 ip4:203.0.113.10 ip4:10.20.30.0/24 ip6:2001:db8:77::5 include:spf.protection.outlook.com -all".into(),
            )],
        ),
        answer(
            "_dmarc.contoso.com",
            RecordType::Txt,
            vec![RecordData::Txt(
                "v=DMARC1; p=reject; rua=mailto:dmarc-reports@contoso.com".into(),
            )],
        ),
        answer(
            "selector1._domainkey.contoso.com",
            RecordType::Cname,
            vec![RecordData::Cname(
                "selector1-contoso-com._domainkey.contoso.onmicrosoft.com".into(),
            )],
        ),
        answer(
            "10.113.0.203.in-addr.arpa",
            RecordType::Ptr,
            vec![RecordData::Ptr("mail.contoso.com".into())],
        ),
        answer(
            "contoso.com",
            RecordType::Soa,
            vec![RecordData::Soa {
                mname: "ns1.contoso-dns.net".into(),
                rname: "hostmaster.contoso.com".into(),
                serial: 7,
            }],
        ),
        DnsAnswer {
            name: "fabrikam-partner.com".into(),
            rtype: RecordType::Mx,
            server: "system".into(),
            outcome: DnsOutcome::Error("SERVFAIL from 192.168.77.1 for fabrikam-partner.com".into()),
            elapsed_ms: 2,
        },
    ]
}

fn report(redact: bool) -> Report {
    Report::new(
        &sample(),
        &ReportOptions {
            redact,
            ran_on: Some("WS-ADMIN01.contoso.com".into()),
        },
    )
    .expect("report")
}

#[test]
fn formats_come_from_the_extension() {
    assert_eq!(Format::from_path(Path::new("a/b.HTML")).unwrap(), Format::Html);
    assert_eq!(Format::from_path(Path::new("x.md")).unwrap(), Format::Markdown);
    assert_eq!(Format::from_path(Path::new("x.json")).unwrap(), Format::Json);
    assert!(matches!(
        Format::from_path(Path::new("x.pdf")),
        Err(ReportError::UnknownFormat { .. })
    ));
}

#[test]
fn html_escapes_the_hostile_banner_and_has_no_scripts() {
    let html = report(false).render(Format::Html).unwrap();
    assert!(
        !html.to_ascii_lowercase().contains("<script"),
        "raw script tag in the report"
    );
    assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
    assert!(html.contains("<svg") && html.contains("</svg>"));
    assert!(
        html.contains("\\x01no"),
        "control characters are shown, not emitted"
    );
    // The expired certificate is called out against the time of the run.
    assert!(
        html.contains("EXPIRED 5 days before this run"),
        "certificate validity note"
    );
    assert!(html.contains("Ran on") && html.contains("WS-ADMIN01.contoso.com"));
    // Worst problems first: the failure before the warning in the summary list.
    let summary = &html[html.find("id=\"summary\"").unwrap()..html.find("id=\"path\"").unwrap()];
    assert!(summary.find("tls.cert.validity").unwrap() < summary.find("smtp.banner").unwrap());
}

#[test]
fn markdown_lists_problems_with_their_fix() {
    let md = report(false).render(Format::Markdown).unwrap();
    assert!(md.contains("### \u{2715} **FAIL** `tls.cert.validity`"), "{md}");
    assert!(md.contains("```powershell\nNew-ExchangeCertificate"), "{md}");
    assert!(md.contains("&lt;script&gt;") || !md.contains("<script"), "{md}");
    assert!(md.contains("## Certificates to look at"), "{md}");
    assert!(
        !md.contains("smtp.banner` \u{2014} SMTP greeting\n\n- **Where**: Hop"),
        "passing checks are not listed"
    );
}

#[test]
fn json_round_trips() {
    let r = report(false);
    let text = r.render(Format::Json).unwrap();
    let back = parse(text.as_bytes(), Path::new("x.json")).unwrap();
    assert_eq!(back, r.diagnosis);
}

#[test]
fn a_saved_path_is_drawn_from_its_checks_not_from_stale_statuses() {
    let r = report(false);
    let mut saved: serde_json::Value = serde_json::from_str(&r.render(Format::Json).unwrap()).unwrap();
    // As an older mailpath wrote it: every node passing, whatever its checks said.
    for node in saved["path"]["nodes"].as_array_mut().unwrap() {
        node["status"] = serde_json::json!("pass");
    }
    let back = parse(saved.to_string().as_bytes(), Path::new("old.json")).unwrap();
    assert_eq!(back.path, r.diagnosis.path);
    assert!(
        back.path.nodes.iter().any(|n| n.status != Status::Pass),
        "{:#?}",
        back.path.nodes
    );
}

#[test]
fn loading_rejects_other_documents_clearly() {
    let p = Path::new("f.json");
    let e = |b: &str| parse(b.as_bytes(), p).unwrap_err().to_string();
    assert!(e("not json").contains("not JSON"), "{}", e("not json"));
    assert!(e("[1]").contains("not a JSON object"));
    assert!(e("{}").contains("no \"schema\""));
    assert!(e(r#"{"schema": "mailpath/probe/1"}"#).contains("\"mailpath/probe/1\""));
    assert!(e(r#"{"schema": "mailpath/diagnosis/1"}"#).contains("does not match it"));
}

#[test]
fn redaction_leaves_no_name_address_or_certificate_behind() {
    // One diagnosis, reported plain and redacted (each sample() has a new lab CA, new certificates).
    let d = sample();
    let options = |redact| ReportOptions {
        redact,
        ran_on: Some("WS-ADMIN01.contoso.com".into()),
    };
    let plain = Report::new(&d, &options(false)).expect("report");
    let fingerprint = plain.certs[0].leaf().unwrap().sha256.to_ascii_lowercase();
    let thumbprint = plain.certs[0]
        .leaf()
        .unwrap()
        .sha1_thumbprint
        .to_ascii_lowercase();
    assert!(
        plain.diagnosis.checks[0]
            .remediation
            .to_text()
            .to_ascii_lowercase()
            .contains(&thumbprint),
        "the remediation names the current certificate, as tls.cert.* remediations do"
    );
    let r = Report::new(&d, &options(true)).expect("report");
    let mut all = String::new();
    for f in [Format::Html, Format::Json, Format::Markdown] {
        all.push_str(&r.render(f).unwrap());
    }
    let lower = all.to_ascii_lowercase();
    for secret in [
        "contoso",
        "203.0.113.10",
        "10.0.0.10",
        "10.0.1.10",
        "198.51.100.7",
        "10.0.0.53",
        "ws-admin01",
        "admin@",
        "geotrust",
        "digicert",
        "mailpath lab",
        "10.20.30.0",
        "10.113.0.203",
        "dmarc-reports",
        "fabrikam",
        "192.168.77.1",
        "2001:db8:77::5",
    ] {
        assert!(!lower.contains(secret), "{secret} survived redaction");
    }
    assert!(
        !lower.contains(&fingerprint),
        "the certificate fingerprint survived redaction"
    );
    assert!(
        !lower.contains(&thumbprint),
        "the certificate's SHA-1 thumbprint survived redaction"
    );
    assert!(
        r.diagnosis.checks[0].detail.ends_with("SHA-256 cert-1"),
        "{}",
        r.diagnosis.checks[0].detail
    );
    // Stable placeholders: the same host everywhere.
    let d = &r.diagnosis;
    assert_eq!(d.evidence.smtp[0].host, d.profile.edges[0].external_fqdn);
    assert!(
        d.evidence.smtp[0].host.ends_with(".example"),
        "{}",
        d.evidence.smtp[0].host
    );
    let served = &d.evidence.smtp[0].tls.as_ref().unwrap().chain[0];
    assert!(
        crate::encoding::redacted_label(served).is_some_and(|l| l.starts_with("cert-")),
        "{served:?}"
    );
    assert_eq!(
        d.profile.tenant.eop_endpoint.as_deref(),
        Some("tenant-1.mail.protection.outlook.com"),
        "the tenant's EOP endpoint carries the tenant's one placeholder"
    );
    assert!(
        all.contains("mail.protection.outlook.com"),
        "public Microsoft names stay"
    );
    // Certificate details survive, with names replaced.
    let leaf = r.certs[0].leaf().unwrap();
    assert!(leaf.subject.starts_with("CN=host-"), "{}", leaf.subject);
    assert_eq!(leaf.sha256, "cert-1");
    assert_eq!(leaf.sha1_thumbprint, "cert-1");
    assert!(
        leaf.dns_names.iter().all(|n| n.starts_with("host-")),
        "{:?}",
        leaf.dns_names
    );
    // Check ids and statuses are untouched.
    assert_eq!(d.checks[0].id, "tls.cert.validity");
    assert_eq!(d.checks[0].status, Status::Fail);
    assert!(
        d.checks[0].remediation.contains("-DomainName host-"),
        "{}",
        d.checks[0].remediation
    );
}

#[test]
fn redaction_is_deterministic() {
    let a = report(true).render(Format::Json).unwrap();
    let b = report(true).render(Format::Json).unwrap();
    assert_eq!(a, b);
}

#[test]
fn compare_finds_a_fixed_check_and_a_new_certificate() {
    let old = sample();
    let mut new = sample();
    new.checks[0].status = Status::Pass;
    new.checks[1].status = Status::Fail;
    new.started_at += time::Duration::days(1);
    // A new certificate: another leaf for the same endpoint.
    let ca = LabCa::generate(new.started_at).unwrap();
    let leaf = ca
        .issue(&LeafSpec::server(
            "mail.contoso.com",
            ["mail.contoso.com"],
            new.started_at,
        ))
        .unwrap();
    new.evidence.smtp[0].tls.as_mut().unwrap().chain = leaf.chain(true);
    new.evidence.smtp[0].addresses = vec!["203.0.113.11".parse().unwrap()];
    let c = compare::compare(&old, &new);
    assert!(c.broke);
    assert_eq!(c.fixed.len(), 1, "{c:#?}");
    assert_eq!(c.fixed[0].id, "tls.cert.validity");
    assert_eq!(c.broken.len(), 1);
    assert_eq!(c.broken[0].id, "smtp.banner");
    let fields: Vec<&str> = c.endpoints.iter().map(|f| f.field.as_str()).collect();
    assert!(
        fields.contains(&"certificate sha256")
            && fields.contains(&"certificate expiry")
            && fields.contains(&"addresses"),
        "{fields:?}"
    );
    assert!(
        !fields.contains(&"banner"),
        "the banner's timestamp is not a change"
    );
    let text = compare::render_text(&c);
    assert!(
        text.contains("Broke (1)") && text.contains("Fixed (1)") && text.contains("something broke"),
        "{text}"
    );
    let same = compare::compare(&old, &old);
    assert!(!same.broke && same.endpoints.is_empty() && same.fixed.is_empty());
}

#[test]
fn five_hundred_checks_render_quickly() {
    let mut d = sample();
    let base = d.checks.clone();
    while d.checks.len() < 500 {
        let mut c = base[d.checks.len() % base.len()].clone();
        c.target = format!("host{}.contoso.com:25", d.checks.len());
        d.checks.push(c);
    }
    d.counts = Counts::of(&d.checks);
    let t0 = std::time::Instant::now();
    let r = Report::new(&d, &ReportOptions::default()).unwrap();
    for f in [Format::Html, Format::Json, Format::Markdown] {
        assert!(!r.render(f).unwrap().is_empty());
    }
    let plain = t0.elapsed();
    let t1 = std::time::Instant::now();
    let r = Report::new(
        &d,
        &ReportOptions {
            redact: true,
            ran_on: None,
        },
    )
    .unwrap();
    for f in [Format::Html, Format::Json, Format::Markdown] {
        assert!(!r.render(f).unwrap().is_empty());
    }
    let redacted = t1.elapsed();
    eprintln!("500 checks, three formats: {plain:?}; redacted: {redacted:?}");
}
