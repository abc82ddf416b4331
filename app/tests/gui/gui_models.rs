//! The GUI's plain logic, without a window: the certificate description, the Checks table's filter and
//! sort, the path preview, the profile problems.

use crate::common;

use mailpath_app::gui::state::{ChecksFilter, SortBy};
use mailpath_app::gui::{checks_view, path_view, profile_view};
use mailpath_core::cert::{CapturedCert, CertInfo, days_left};
use mailpath_core::check::Status;
use time::Duration;

#[test]
fn the_certificate_viewer_describes_the_expired_edge_certificate() {
    let d = common::fixture("expired-cert");
    let probe = d
        .evidence
        .smtp("smtp:mail.contoso.com:25")
        .expect("the Edge's public endpoint");
    // What the viewer shows is the core's one reading of the certificate.
    let chain: Vec<CapturedCert> = probe
        .tls
        .as_ref()
        .unwrap()
        .chain
        .iter()
        .map(|der| CapturedCert::read(der))
        .collect();
    assert_eq!(chain.len(), 2);
    let leaf: &CertInfo = chain[0].info().unwrap();
    assert_eq!(leaf.subject, "CN=mail.contoso.com");
    assert!(
        leaf.issuer.contains("mailpath Lab Issuing CA 1"),
        "{}",
        leaf.issuer
    );
    assert!(
        leaf.alt_names().contains(&"mail.contoso.com".to_string()),
        "{:?}",
        leaf.alt_names()
    );
    assert_eq!(leaf.key.to_string(), "EC P-256");
    assert_eq!(leaf.signature_algorithm, "ecdsa-with-SHA256");
    assert_eq!(leaf.sha1_thumbprint.len(), 40);
    assert_eq!(leaf.sha256_colons().split(':').count(), 32);
    assert!(!leaf.is_ca && leaf.eku.contains(&"serverAuth".to_string()));
    assert_eq!(leaf.validity(common::FIXED_NOW).to_string(), "expired 5 days ago");
    assert_eq!(days_left(leaf, common::FIXED_NOW), -5);
    assert_eq!(
        leaf.validity(leaf.not_after - Duration::days(1)).to_string(),
        "valid, 1 day left"
    );
    assert_eq!(
        leaf.validity(leaf.not_before - Duration::days(3)).to_string(),
        "not valid yet: starts in 3 days"
    );
    let ca: &CertInfo = chain[1].info().unwrap();
    assert!(ca.is_ca);
    assert!(CapturedCert::read(b"not a certificate").info().is_none());
    assert!(CapturedCert::read(b"\0\0\0").info().is_none());
    assert_eq!(
        CapturedCert::read(b"redacted:cert-1"),
        CapturedCert::Unparsed {
            reason: "redacted (cert-1)".to_string()
        }
    );
}

#[test]
fn the_checks_table_filters_searches_and_sorts() {
    let d = common::fixture("port-closed");
    let all = ChecksFilter::default();
    let rows = checks_view::filtered(&d.checks, &all);
    assert_eq!(rows.len(), d.checks.len());
    assert_eq!(d.checks[rows[0]].status, Status::Fail, "worst first by default");

    let only_fail = ChecksFilter {
        statuses: [Status::Fail].into_iter().collect(),
        ..ChecksFilter::default()
    };
    let rows = checks_view::filtered(&d.checks, &only_fail);
    assert!(rows.iter().all(|&i| d.checks[i].status == Status::Fail) && !rows.is_empty());

    let tls = ChecksFilter {
        family: Some("tls".into()),
        ..ChecksFilter::default()
    };
    assert!(
        checks_view::filtered(&d.checks, &tls)
            .iter()
            .all(|&i| d.checks[i].id.starts_with("tls."))
    );

    let search = ChecksFilter {
        search: "  REFUSED ".into(),
        ..ChecksFilter::default()
    };
    let rows = checks_view::filtered(&d.checks, &search);
    assert_eq!(rows.len(), 1);
    assert_eq!(d.checks[rows[0]].id, "tcp.smtp.reachable");

    let by_id = ChecksFilter {
        sort: SortBy::Id,
        descending: false,
        ..ChecksFilter::default()
    };
    let ids: Vec<&str> = checks_view::filtered(&d.checks, &by_id)
        .iter()
        .map(|&i| d.checks[i].id.as_str())
        .collect();
    assert!(ids.windows(2).all(|w| w[0] <= w[1]), "ascending ids");
    assert_eq!(checks_view::family("tls.cert.expiry"), "tls");
}

#[test]
fn the_preview_path_follows_the_profile_before_any_probe() {
    let edge =
        mailpath_core::profile::Profile::from_toml_str(mailpath_core::profile::SAMPLE_EDGE, "e.toml", None)
            .unwrap();
    let p = path_view::preview(&edge);
    assert_eq!(p.lanes[0].nodes, ["mailbox", "edge", "eop", "exo"]);
    assert!(p.hop("out.mailbox-edge").unwrap().endpoint.is_some());
    let direct =
        mailpath_core::profile::Profile::from_toml_str(mailpath_core::profile::SAMPLE_DIRECT, "d.toml", None)
            .unwrap();
    let p = path_view::preview(&direct);
    assert_eq!(p.lanes[1].nodes, ["exo", "eop", "mailbox"]);
    assert!(p.node("edge").is_none());
}

#[test]
fn profile_problems_carry_line_and_column() {
    assert!(profile_view::validate(mailpath_core::profile::SAMPLE_EDGE, "x.toml").is_empty());
    let problems = profile_view::validate("name = \"x\"\nbogus = 1\n", "x.toml");
    assert!(
        problems.iter().any(|p| p.starts_with("2:1: bogus")),
        "{problems:?}"
    );
    let syntax = profile_view::validate("name = \n", "x.toml");
    assert!(syntax[0].starts_with("1:"), "{syntax:?}");
}
