//! Tests of the profile: the samples, round trips, derived values, and one test per kind of bad profile.

use std::path::{Path, PathBuf};
use std::time::Duration;

use super::*;

/// A valid profile of 6 lines; tests append to it, so their own lines start at 7.
const MINIMAL: &str = r#"name = "t"
[tenant]
name = "contoso"
accepted_domains = ["contoso.com"]
[[mailbox]]
fqdn = "ex01.contoso.com"
"#;

fn assets() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../assets/profiles")
}

fn problems(text: &str) -> Vec<Problem> {
    match Profile::from_toml_str(text, "t.toml", None) {
        Err(ProfileError::Invalid { origin, problems }) => {
            assert_eq!(origin, "t.toml");
            assert!(!problems.is_empty());
            problems
        }
        other => panic!("expected an invalid profile, got {other:?}"),
    }
}

fn one(text: &str) -> Problem {
    let mut all = problems(text);
    assert_eq!(all.len(), 1, "expected one problem, got {all:#?}");
    all.remove(0)
}

#[track_caller]
fn check(problem: &Problem, line: usize, column: usize, key: &str, fragment: &str) {
    assert_eq!(problem.key, key, "{problem:#?}");
    assert_eq!(
        (problem.line(), problem.column()),
        (Some(line), Some(column)),
        "{problem:#?}"
    );
    let shown = problem.to_string();
    assert!(
        shown.contains(fragment),
        "{shown:?} does not contain {fragment:?}"
    );
}

#[test]
fn minimal_profile_loads_with_defaults() {
    let p = Profile::from_toml_str(MINIMAL, "t.toml", None).unwrap();
    // Unstated connector settings are the HCW's values, marked assumed.
    let td = p.connectors.send.tls_domain(p.tenant.cloud);
    assert_eq!(td.value, "mail.protection.outlook.com");
    assert!(td.is_assumed());
    let ts = p.connectors.exo_outbound.tls_settings();
    assert_eq!(ts.value, TlsAuthLevel::DomainValidation);
    assert!(ts.is_assumed());
    assert_eq!(
        p.connectors.receive.tls_domain_capabilities(p.tenant.cloud).value,
        "mail.protection.outlook.com:AcceptCloudServicesMail"
    );
    assert_eq!(p.tenant.cloud, crate::cloud::Cloud::Commercial);
    assert!(p.resolvers.system && p.trust.system_store);
    assert_eq!(p.timeouts, Timeouts::default());
    assert_eq!(p.timeouts.connect, Duration::from_secs(10));
    assert!(!p.uses_edge());
}

#[test]
fn samples_load_and_validate() {
    for (file, embedded) in [
        ("contoso-edge.toml", SAMPLE_EDGE),
        ("contoso-direct.toml", SAMPLE_DIRECT),
    ] {
        let loaded = Profile::load(&assets().join(file)).unwrap_or_else(|e| panic!("{e}"));
        assert!(loaded.validate().is_empty());
        assert_eq!(Profile::from_toml_str(embedded, file, None).unwrap(), loaded);
    }
    let edge = Profile::load(&assets().join("contoso-edge.toml")).unwrap();
    assert!(edge.uses_edge());
    assert_eq!(edge.hybrid_edges().count(), 1);
    assert_eq!(
        edge.edges[0].external_address,
        Some("203.0.113.10".parse().unwrap())
    );
    let direct = Profile::load(&assets().join("contoso-direct.toml")).unwrap();
    assert!(!direct.uses_edge());
    assert_eq!(direct.mailboxes.len(), 2);
    assert_eq!(direct.timeouts.greeting, Duration::from_secs(45));
    assert_eq!(direct.timeouts.total, Duration::from_secs(180));
    assert_eq!(direct.timeouts.dns, Timeouts::DEFAULT_DNS);
    assert_eq!(
        direct
            .connectors
            .exo_inbound
            .tls_sender_certificate_name
            .as_deref(),
        Some("*.contoso.com")
    );
}

#[test]
fn round_trip() {
    for file in ["contoso-edge.toml", "contoso-direct.toml"] {
        let loaded = Profile::load(&assets().join(file)).unwrap();
        let text = loaded.to_toml_string().unwrap();
        assert_eq!(
            Profile::from_toml_str(&text, "rt.toml", None).unwrap(),
            loaded,
            "{text}"
        );
    }
}

#[test]
fn round_trip_of_every_field() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("lab-ca.pem"), "-----BEGIN CERTIFICATE-----\n").unwrap();
    let text = format!(
        r#"{MINIMAL}
[[edge]]
fqdn = "edge01.contoso.com"
external_fqdn = "mail.contoso.com"
hybrid = false
[connectors.exo_outbound]
smart_hosts = ["mail.contoso.com", "203.0.113.10"]
tls_settings = "certificatevalidation"
route_all_via_on_premises = true
[resolvers]
system = false
internal = ["10.0.0.1", "[2001:db8::1]:5353"]
external = ["192.0.2.53:53"]
[trust]
system_store = false
ca_files = ["lab-ca.pem"]
[timeouts]
connect = 0.25
total = 600
[[ports]]
host = "mail.contoso.com"
smtp = 20025
edgesync = 20636
"#
    );
    let p = Profile::from_toml_str(&text, "t.toml", Some(dir.path())).unwrap();
    assert_eq!(
        p.connectors.exo_outbound.tls_settings,
        Some(TlsAuthLevel::CertificateValidation)
    );
    assert_eq!(p.resolvers.internal[0], "10.0.0.1:53".parse().unwrap());
    assert_eq!(p.resolvers.internal[1], "[2001:db8::1]:5353".parse().unwrap());
    assert!(p.trust.ca_files[0].is_absolute());
    assert_eq!(p.timeouts.connect, Duration::from_millis(250));
    let written = p.to_toml_string().unwrap();
    assert_eq!(
        Profile::from_toml_str(&written, "rt.toml", None).unwrap(),
        p,
        "{written}"
    );
}

#[test]
fn load_resolves_ca_files_against_the_profile_directory() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("certs")).unwrap();
    std::fs::write(dir.path().join("certs/lab-ca.pem"), "pem").unwrap();
    let path = dir.path().join("p.toml");
    std::fs::write(
        &path,
        format!("{MINIMAL}[trust]\nca_files = [\"certs/lab-ca.pem\"]\n"),
    )
    .unwrap();
    let p = Profile::load(&path).unwrap();
    assert_eq!(
        p.trust.ca_files,
        vec![std::path::absolute(dir.path().join("certs/lab-ca.pem")).unwrap()]
    );
}

#[test]
fn derived_values() {
    let mut p = Profile::from_toml_str(SAMPLE_DIRECT, "d.toml", None).unwrap();
    assert_eq!(p.tenant.onmicrosoft_domain(), "contoso.onmicrosoft.com");
    assert_eq!(p.tenant.routing_domain(), "contoso.mail.onmicrosoft.com");
    assert_eq!(p.eop_endpoint(), "contoso-com.mail.protection.outlook.com");
    p.tenant.eop_endpoint = Some("contoso-com.e-v1.mx.microsoft".into());
    assert_eq!(p.eop_endpoint(), "contoso-com.e-v1.mx.microsoft");
    p.tenant.eop_endpoint = None;
    p.tenant.accepted_domains.clear();
    assert_eq!(p.eop_endpoint(), "contoso.mail.protection.outlook.com");

    let text = format!("{MINIMAL}[[ports]]\nhost = \"Mail.Contoso.com\"\nsmtp = 20025\n");
    let p = Profile::from_toml_str(&text, "t.toml", None).unwrap();
    assert_eq!(p.smtp_port_for("mail.contoso.com"), 20025);
    assert_eq!(p.smtp_port_for("mail.contoso.com."), 20025);
    assert_eq!(p.edgesync_port_for("mail.contoso.com"), EDGESYNC_PORT);
    assert_eq!(p.smtp_port_for("ex01.contoso.com"), SMTP_PORT);
}

#[test]
fn io_error_names_the_path() {
    let err = Profile::load(Path::new("/nonexistent/p.toml")).unwrap_err();
    assert!(matches!(err, ProfileError::Io { .. }));
    assert!(
        err.to_string()
            .starts_with("/nonexistent/p.toml: cannot read the profile"),
        "{err}"
    );
    assert!(err.problems().is_empty());
}

// ---- bad profiles, one kind per test ----

#[test]
fn unknown_key() {
    let p = one(&format!("{MINIMAL}adress = \"10.0.0.10\"\n"));
    check(
        &p,
        7,
        1,
        "mailbox[0].adress",
        "unknown key `adress` (expected `fqdn` or `address`)",
    );
    let p = one(&format!(
        "{MINIMAL}[connectors.sned]\nfqdn = \"mail.contoso.com\"\n"
    ));
    check(&p, 7, 13, "connectors.sned", "unknown key `sned`");
}

#[test]
fn toml_syntax_error() {
    let p = one("name = \"t\"\n[tenant\nname = \"contoso\"\n");
    check(&p, 2, 8, "", "unclosed table (expected `]`)");
    let p = one(&format!("{MINIMAL}address = 10.0.0.10\n"));
    check(
        &p,
        7,
        15,
        "mailbox[0].address",
        "mailbox[0].address: invalid float",
    );
    assert_eq!(p.expected, None);
    let p = one("name = \"t\"\nname = \"u\"\n");
    check(&p, 2, 1, "", "duplicate key `name`");
}

#[test]
fn wrong_type() {
    let p = one(&format!("{MINIMAL}[timeouts]\nconnect = \"ten\"\n"));
    check(
        &p,
        8,
        11,
        "timeouts.connect",
        "string \"ten\" is the wrong type (expected a number of seconds",
    );
    let p = one(&format!("{MINIMAL}[resolvers]\nsystem = \"yes\"\n"));
    check(
        &p,
        8,
        10,
        "resolvers.system",
        "is the wrong type (expected a boolean)",
    );
    assert_eq!(p.found.as_deref(), Some("\"yes\""));
}

#[test]
fn tenant_with_dots() {
    let text = MINIMAL.replace("name = \"contoso\"", "name = \"contoso.onmicrosoft.com\"");
    let p = one(&text);
    check(
        &p,
        3,
        8,
        "tenant.name",
        "is a domain, not a tenant name (expected the tenant name alone: name = \"contoso\")",
    );
    let p = one(&MINIMAL.replace("name = \"contoso\"", "name = \"contoso.com\""));
    check(&p, 3, 8, "tenant.name", "\"contoso.com\" contains dots");
    let p = one(&MINIMAL.replace("name = \"contoso\"", "name = \"contoso_it\""));
    check(&p, 3, 8, "tenant.name", "contains '_'");
}

#[test]
fn empty_accepted_domains() {
    let p = one(&MINIMAL.replace("[\"contoso.com\"]", "[]"));
    check(
        &p,
        4,
        20,
        "tenant.accepted_domains",
        "at least one accepted domain is required",
    );
    // Missing altogether: points at the [tenant] header.
    let p = one(&MINIMAL.replace("accepted_domains = [\"contoso.com\"]\n", ""));
    check(
        &p,
        2,
        1,
        "tenant.accepted_domains",
        "at least one accepted domain",
    );
}

#[test]
fn bad_accepted_domains() {
    let text = MINIMAL.replace(
        "[\"contoso.com\"]",
        "[\"contoso.com\", \"Contoso.com\", \"contoso.mail.onmicrosoft.com\", \"-x.com\"]",
    );
    let all = problems(&text);
    assert_eq!(all.len(), 3, "{all:#?}");
    check(
        &all[0],
        4,
        36,
        "tenant.accepted_domains[1]",
        "listed twice (first as tenant.accepted_domains[0])",
    );
    check(
        &all[1],
        4,
        51,
        "tenant.accepted_domains[2]",
        "is derived from tenant.name",
    );
    check(
        &all[2],
        4,
        83,
        "tenant.accepted_domains[3]",
        "starts or ends with a hyphen",
    );
}

#[test]
fn invalid_host_name() {
    let text =
        format!("{MINIMAL}[[edge]]\nfqdn = \"edge01.contoso.com\"\nexternal_fqdn = \"mail..contoso.com\"\n");
    let p = one(&text);
    check(
        &p,
        9,
        17,
        "edge[0].external_fqdn",
        "\"mail..contoso.com\" is not a valid host name: it has an empty label (expected the Edge's public DNS name",
    );
    for (bad, reason) in [
        ("ex01", "not fully qualified"),
        ("ex01.contoso.com.", "ends with a dot"),
        ("ex 01.contoso.com", "contains ' '"),
        ("10.0.0.10", "is an IP address"),
        ("*.contoso.com", "contains '*'"),
        ("exé.contoso.com", "non-ASCII"),
    ] {
        let p = one(&MINIMAL.replace("\"ex01.contoso.com\"", &format!("{bad:?}")));
        check(&p, 6, 8, "mailbox[0].fqdn", reason);
    }
}

#[test]
fn invalid_ip_address() {
    let p = one(&format!("{MINIMAL}address = \"10.0.0.300\"\n"));
    check(
        &p,
        7,
        11,
        "mailbox[0].address",
        "\"10.0.0.300\" is not a valid IP address (expected an IPv4 or IPv6 address such as 10.0.0.10)",
    );
    let p = one(&format!("{MINIMAL}address = \"0.0.0.0\"\n"));
    check(
        &p,
        7,
        11,
        "mailbox[0].address",
        "0.0.0.0 is the unspecified address",
    );
}

#[test]
fn invalid_resolver_address() {
    let p = one(&format!(
        "{MINIMAL}[resolvers]\ninternal = [\"10.0.0.1\", \"dns.contoso.com:53\"]\n"
    ));
    check(
        &p,
        8,
        25,
        "resolvers.internal[1]",
        "\"dns.contoso.com:53\" is not a valid DNS server address",
    );
    let p = one(&format!("{MINIMAL}[resolvers]\nsystem = false\n"));
    check(&p, 8, 10, "resolvers.system", "no DNS resolver");
}

#[test]
fn bad_tls_certificate_name_syntax() {
    let p = one(&format!(
        "{MINIMAL}[connectors.send]\ntls_certificate_name = \"CN=mail.contoso.com\"\n"
    ));
    check(
        &p,
        8,
        24,
        "connectors.send.tls_certificate_name",
        "does not start with <I> (expected <I>issuer<S>subject",
    );
    let p = one(&format!(
        "{MINIMAL}[connectors.receive]\ntls_certificate_name = \"<I>CN=CA\"\n"
    ));
    check(
        &p,
        8,
        24,
        "connectors.receive.tls_certificate_name",
        "has no <S> before the subject",
    );
    let p = one(&format!(
        "{MINIMAL}[connectors.receive]\ntls_certificate_name = \"<I>CN=CA<S>mail\"\n"
    ));
    check(
        &p,
        8,
        24,
        "connectors.receive.tls_certificate_name",
        "the subject \"mail\" is not an X.500 name",
    );
}

#[test]
fn too_long_tls_certificate_name() {
    let long = format!(
        "<I>CN=Contoso CA, O={}, C=US<S>CN=mail.contoso.com",
        "x".repeat(230)
    );
    let p = one(&format!(
        "{MINIMAL}[connectors.send]\ntls_certificate_name = \"{long}\"\n"
    ));
    check(
        &p,
        8,
        24,
        "connectors.send.tls_certificate_name",
        "is 278 characters long; EdgeSync cannot replicate",
    );
    assert_eq!(p.expected.as_deref(), Some("at most 256 characters"));
}

#[test]
fn bad_tls_settings_value() {
    let p = one(&format!(
        "{MINIMAL}[connectors.exo_outbound]\ntls_settings = \"Domain\"\n"
    ));
    check(
        &p,
        8,
        16,
        "connectors.exo_outbound.tls_settings",
        "\"Domain\" is not a TLS authentication level (expected one of EncryptionOnly, CertificateValidation, \
         DomainValidation)",
    );
}

#[test]
fn bad_tls_domain_capabilities() {
    let p = one(&format!(
        "{MINIMAL}[connectors.receive]\ntls_domain_capabilities = \"mail.protection.outlook.com\"\n"
    ));
    check(
        &p,
        8,
        27,
        "connectors.receive.tls_domain_capabilities",
        "has no ':'",
    );
}

#[test]
fn missing_ca_file() {
    let dir = tempfile::tempdir().unwrap();
    let text = format!("{MINIMAL}[trust]\nca_files = [\"missing-ca.pem\"]\n");
    let err = Profile::from_toml_str(&text, "t.toml", Some(dir.path())).unwrap_err();
    let p = &err.problems()[0];
    let expected_path = std::path::absolute(dir.path().join("missing-ca.pem")).unwrap();
    check(
        p,
        8,
        13,
        "trust.ca_files[0]",
        &format!("{} does not exist", expected_path.display()),
    );
    let p = one(&format!("{MINIMAL}[trust]\nca_files = [\"/\"]\n"));
    check(&p, 8, 13, "trust.ca_files[0]", "/ is a directory");
    let p = one(&format!("{MINIMAL}[trust]\nsystem_store = false\n"));
    check(&p, 8, 16, "trust.system_store", "nothing to trust");
}

#[test]
fn zero_negative_and_huge_timeouts() {
    let p = one(&format!("{MINIMAL}[timeouts]\ndns = 0\n"));
    check(
        &p,
        8,
        7,
        "timeouts.dns",
        "0 seconds is not a usable timeout (expected a number of seconds greater than 0",
    );
    let p = one(&format!("{MINIMAL}[timeouts]\ntls = -1.5\n"));
    check(&p, 8, 7, "timeouts.tls", "-1.5 is negative");
    let p = one(&format!("{MINIMAL}[timeouts]\ntotal = 601\n"));
    check(
        &p,
        8,
        9,
        "timeouts.total",
        "601 seconds is longer than the 600 s limit",
    );
    let p = one(&format!("{MINIMAL}[timeouts]\ncommand = nan\n"));
    check(&p, 8, 11, "timeouts.command", "nan is not a number");
}

#[test]
fn port_out_of_range() {
    let p = one(&format!(
        "{MINIMAL}[[ports]]\nhost = \"mail.contoso.com\"\nsmtp = 0\n"
    ));
    check(
        &p,
        9,
        8,
        "ports[0].smtp",
        "0 is not a valid port number (expected a TCP port number from 1 to 65535)",
    );
    let p = one(&format!(
        "{MINIMAL}[[ports]]\nhost = \"mail.contoso.com\"\nedgesync = 70000\n"
    ));
    check(
        &p,
        9,
        12,
        "ports[0].edgesync",
        "70000 is not a valid port number (expected a TCP port number from 1",
    );
    let p = one(&format!("{MINIMAL}[[ports]]\nhost = \"mail.contoso.com\"\n"));
    check(&p, 7, 1, "ports[0]", "sets neither smtp nor edgesync");
}

#[test]
fn duplicate_port_override_host() {
    let text = format!(
        "{MINIMAL}[[ports]]\nhost = \"mail.contoso.com\"\nsmtp = 20025\n[[ports]]\nhost = \"MAIL.contoso.com\"\nsmtp = 20026\n"
    );
    let p = one(&text);
    check(
        &p,
        11,
        8,
        "ports[1].host",
        "\"MAIL.contoso.com\" already has a port override (ports[0])",
    );
}

#[test]
fn edge_without_external_fqdn() {
    let p = one(&format!("{MINIMAL}\n[[edge]]\nfqdn = \"edge01.contoso.com\"\n"));
    check(
        &p,
        8,
        1,
        "edge[0].external_fqdn",
        "an Edge server needs its external_fqdn (expected the Edge's public",
    );
}

#[test]
fn server_listed_twice() {
    let text =
        format!("{MINIMAL}[[edge]]\nfqdn = \"EX01.contoso.com\"\nexternal_fqdn = \"mail.contoso.com\"\n");
    let p = one(&text);
    check(&p, 8, 8, "edge[0].fqdn", "is already listed as mailbox[0].fqdn");
}

#[test]
fn no_mailbox() {
    let text = "name = \"t\"\n[tenant]\nname = \"contoso\"\naccepted_domains = [\"contoso.com\"]\n";
    let p = one(text);
    check(&p, 1, 1, "mailbox", "at least one [[mailbox]] server is required");
    let p = one(&format!("mailbox = []\n{text}"));
    check(
        &p,
        1,
        11,
        "mailbox",
        "at least one [[mailbox]] server is required",
    );
}

#[test]
fn empty_document_lists_every_required_key() {
    let all = problems("");
    let keys: Vec<String> = all.iter().map(|p| p.key.to_string()).collect();
    assert_eq!(
        keys,
        ["name", "tenant.name", "tenant.accepted_domains", "mailbox"]
    );
}

#[test]
fn multiple_problems_are_reported_together() {
    let text = r#"name = "Contoso"
[tenant]
name = "contoso.com"
accepted_domains = []
[[mailbox]]
fqdn = "ex01.contoso.com"
address = "10.0.0.300"
colour = "blue"
[[edge]]
fqdn = "edge01.contoso.com"
[connectors.exo_outbound]
tls_settings = "Strict"
[timeouts]
connect = 0
dns = "five"
[[ports]]
host = "mail.contoso.com"
smtp = 70000
[[ports]]
host = "mail.contoso.com"
smtp = 20025
"#;
    let err = Profile::from_toml_str(text, "multi.toml", None).unwrap_err();
    let all = err.problems();
    let got: Vec<(usize, String)> = all
        .iter()
        .map(|p| (p.line().unwrap(), p.key.to_string()))
        .collect();
    let want = [
        (3, "tenant.name"),
        (4, "tenant.accepted_domains"),
        (7, "mailbox[0].address"),
        (8, "mailbox[0].colour"),
        (9, "edge[0].external_fqdn"),
        (12, "connectors.exo_outbound.tls_settings"),
        (14, "timeouts.connect"),
        (15, "timeouts.dns"),
        (18, "ports[0].smtp"),
        (20, "ports[1].host"),
    ];
    let want: Vec<(usize, String)> = want.iter().map(|(l, k)| (*l, k.to_string())).collect();
    assert_eq!(got, want, "{err}");
    // Display: one problem per line, each with file:line:column.
    let shown = err.to_string();
    let lines: Vec<&str> = shown.lines().collect();
    assert_eq!(lines.len(), want.len(), "{shown}");
    assert_eq!(
        lines[2],
        "multi.toml:7:11: mailbox[0].address: \"10.0.0.300\" is not a valid IP address \
         (expected an IPv4 or IPv6 address such as 10.0.0.10)"
    );
    assert_eq!(
        lines[3],
        "multi.toml:8:1: mailbox[0].colour: unknown key `colour` (expected `fqdn` or `address`)"
    );
    assert!(lines.iter().all(|l| l.starts_with("multi.toml:")), "{shown}");
}

#[test]
fn display_of_a_single_problem() {
    let text =
        format!("{MINIMAL}[[edge]]\nfqdn = \"edge01.contoso.com\"\nexternal_fqdn = \"mail..contoso.com\"\n");
    let err = Profile::from_toml_str(&text, "profile.toml", None).unwrap_err();
    assert_eq!(
        err.to_string(),
        "profile.toml:9:17: edge[0].external_fqdn: \"mail..contoso.com\" is not a valid host name: it has an \
         empty label (expected the Edge's public DNS name that EOP connects to, such as mail.contoso.com)"
    );
}

#[test]
fn validate_without_text_has_no_locations() {
    let mut p = Profile::from_toml_str(MINIMAL, "t.toml", None).unwrap();
    assert!(p.validate().is_empty());
    p.timeouts.tls = Duration::ZERO;
    p.port_overrides.push(PortOverride {
        host: "x.contoso.com".into(),
        smtp: Some(0),
        edgesync: None,
    });
    let all = p.validate();
    assert_eq!(all.len(), 2, "{all:#?}");
    assert!(all.iter().all(|p| p.location.is_none()));
    assert_eq!(all[0].key, "timeouts.tls");
    assert_eq!(all[1].key, "ports[0].smtp");
}

#[test]
fn columns_count_characters() {
    let text = MINIMAL.replace(
        "name = \"t\"",
        "name = \"Ünïcode\"\n# é\n      [timeouts]\n      dns = 0",
    );
    let p = one(&text);
    check(&p, 4, 13, "timeouts.dns", "not a usable timeout");
    let loc = Location::from_span("é\néa", 5..6);
    assert_eq!((loc.line, loc.column), (2, 2));
}

#[test]
fn host_name_rules() {
    use super::validate::host_name_problem;
    let label63 = "a".repeat(63);
    assert_eq!(host_name_problem(&format!("{label63}.contoso.com"), false), None);
    let reason = host_name_problem(&format!("a{label63}.contoso.com"), false).unwrap();
    assert!(reason.contains("longer than 63"), "{reason}");
    let long = vec!["abcdefghi"; 26].join(".");
    assert!(host_name_problem(&long, false).unwrap().contains("at most 253"));
    assert_eq!(host_name_problem("*.contoso.com", true), None);
    assert!(
        host_name_problem("mail.*.com", true)
            .unwrap()
            .contains("only allowed as the whole first label")
    );
    assert!(
        host_name_problem("*.com", true)
            .unwrap()
            .contains("not fully qualified")
    );
    assert!(
        host_name_problem("mail.contoso.123", false)
            .unwrap()
            .contains("all digits")
    );
    assert_eq!(host_name_problem("xn--exmple-cua.contoso.com", false), None);

    let text = format!("{MINIMAL}[connectors.exo_inbound]\ntls_sender_certificate_name = \"mail.*.com\"\n");
    let p = one(&text);
    check(
        &p,
        8,
        31,
        "connectors.exo_inbound.tls_sender_certificate_name",
        "\"mail.*.com\" is not a valid name",
    );
}

#[test]
fn eop_ip_ranges_are_checked_where_they_are_written() {
    let text = format!("eop_ip_ranges = [\"40.92.0.0/15\", \"40.107.0.0/33\"]\n{MINIMAL}");
    let err = Profile::from_toml_str(&text, "p.toml", None)
        .unwrap_err()
        .to_string();
    assert!(err.contains("eop_ip_ranges[1]"), "{err}");
    assert!(err.contains("40.107.0.0/33"), "{err}");
    let ok = format!(
        "eop_ip_ranges = [\"40.92.0.0/15\", \"2a01:111:f400::/48\", \"192.0.2.1-192.0.2.9\"]\n{MINIMAL}"
    );
    assert_eq!(
        Profile::from_toml_str(&ok, "p.toml", None)
            .unwrap()
            .eop_ip_ranges
            .len(),
        3
    );
}
