//! Open-relay attempts against the real `mailpath relay`, as an attacker would make them: more than
//! 50 address forms (quoted local parts hiding `>` and parameters, the percent hack, `!` paths,
//! source routes, trailing dots, IDN and punycode look-alikes, address literals, case variants,
//! escaped quotes, controls, mixed accepted and refused recipients, the null sender, ...) against
//! every role (sink, eop, edge, mailbox), with and without forwarding. Each must end in a refusal or
//! in delivery to the accepted domain only: checked in the spool, and at a capturing smart host that
//! records exactly the MAIL and RCPT lines it receives. Plus EOP's exception (relaying for a session
//! attributed by its client certificate) holds only for a certificate whose chain verifies.

use std::time::Duration;

use mailpath_core::ca::{LabCa, LeafIssuer, LeafSpec};
use mailpath_tests::{mailpath, run_with_timeout, text};
use time::OffsetDateTime;

use crate::relay_capture::{CaptureHost, Outcome, Tls, Transaction, message, smtp_client};
use crate::relay_python::write_cert;
use crate::relay_support::{RelayProcess, spool_metas};

/// The only domain the relays accept.
const DOMAIN: &str = "contoso.com";
/// The usual sender (outside the accepted domain: relays judge recipients, not senders).
const SENDER: &str = "adele@fabrikam.com";

/// What must become of one RCPT line.
#[derive(Debug, Clone, Copy)]
enum Expect {
    /// 250, and delivered as this address (the parsed one written back).
    Accept(&'static str),
    /// Refused with this code.
    Refuse(u16),
}
use Expect::{Accept, Refuse};

#[derive(Debug, Clone)]
struct Case {
    name: &'static str,
    mail: String,
    /// The sender as it must be forwarded, or the code MAIL must be refused with.
    sender: Result<&'static str, u16>,
    rcpt: Vec<(String, Expect)>,
}

fn to(path: &str) -> String {
    format!("RCPT TO:{path}")
}

fn case(name: &'static str, rcpt: &[(&str, Expect)]) -> Case {
    Case {
        name,
        mail: format!("MAIL FROM:<{SENDER}>"),
        sender: Ok(SENDER),
        rcpt: rcpt.iter().map(|(line, e)| (line.to_string(), *e)).collect(),
    }
}

fn one(name: &'static str, path: &str, expect: Expect) -> Case {
    case(name, &[(&to(path), expect)])
}

fn with_sender(mut case: Case, mail: &str, sender: Result<&'static str, u16>) -> Case {
    case.mail = mail.to_string();
    case.sender = sender;
    case
}

fn cases() -> Vec<Case> {
    let long_local = format!("<{}@contoso.com>", "a".repeat(65));
    vec![
        one("plain", "<megan@contoso.com>", Accept("megan@contoso.com")),
        one("open relay", "<victim@evil.example>", Refuse(550)),
        one(
            "quoted local part hiding '>' and ORCPT",
            "<\"victim@evil.example> ORCPT=rfc822;x\"@contoso.com>",
            Refuse(501),
        ),
        one(
            "quoted '@' (user@elsewhere@domain)",
            "<\"user@evil.example\"@contoso.com>",
            Refuse(550),
        ),
        one("percent hack", "<user%evil.example@contoso.com>", Refuse(550)),
        one("bang path", "<evil.example!user@contoso.com>", Refuse(550)),
        one("two unquoted '@'", "<user@evil.example@contoso.com>", Refuse(501)),
        one(
            "source route out",
            "<@contoso.com:victim@evil.example>",
            Refuse(550),
        ),
        one(
            "source route in",
            "<@relay.example,@contoso.com:megan@contoso.com>",
            Refuse(550),
        ),
        one("trailing dot", "<megan@contoso.com.>", Refuse(501)),
        one("trailing dot outside", "<victim@evil.example.>", Refuse(501)),
        one(
            "suffix look-alike",
            "<victim@contoso.com.evil.example>",
            Refuse(550),
        ),
        one("prefix look-alike", "<victim@evilcontoso.com>", Refuse(550)),
        one("subdomain", "<victim@mail.contoso.com>", Refuse(550)),
        one("punycode look-alike", "<victim@xn--cntoso-wqf.com>", Refuse(550)),
        one(
            "IDN look-alike (Cyrillic o)",
            "<victim@c\u{43e}ntoso.com>",
            Refuse(550),
        ),
        one(
            "full-width look-alike",
            "<victim@\u{ff43}\u{ff4f}\u{ff4e}\u{ff54}\u{ff4f}\u{ff53}\u{ff4f}.com>",
            Refuse(501),
        ),
        one("IPv4 literal", "<victim@[192.0.2.1]>", Refuse(550)),
        one("loopback literal", "<victim@[127.0.0.1]>", Refuse(550)),
        one("IPv6 literal", "<victim@[IPv6:2001:db8::1]>", Refuse(550)),
        one("general literal", "<victim@[x-tag:evil.example]>", Refuse(501)),
        one("upper case", "<MEGAN@CONTOSO.COM>", Accept("MEGAN@CONTOSO.COM")),
        one("mixed case", "<Megan@Contoso.Com>", Accept("Megan@Contoso.Com")),
        one(
            "needless quotes",
            "<\"megan\"@contoso.com>",
            Accept("megan@contoso.com"),
        ),
        one(
            "quoted space",
            "<\"megan smith\"@contoso.com>",
            Accept("\"megan smith\"@contoso.com"),
        ),
        one(
            "escaped quote",
            r#"<"megan\"x"@contoso.com>"#,
            Accept(r#""megan\"x"@contoso.com"#),
        ),
        one(
            "escaped quote hiding '@'",
            r#"<"a\"@evil.example"@contoso.com>"#,
            Refuse(550),
        ),
        one("unbalanced quote", "<\"megan@contoso.com>", Refuse(501)),
        one("'>' inside quotes", "<\"a>b\"@contoso.com>", Refuse(501)),
        one("control character", "<meg\u{1}an@contoso.com>", Refuse(501)),
        one("bare CR", "<megan\r@contoso.com>", Refuse(501)),
        one("quoted DEL", "<\"meg\u{7f}an\"@contoso.com>", Refuse(501)),
        one("nested angle brackets", "<<victim@evil.example>>", Refuse(501)),
        case(
            "no angle brackets",
            &[("RCPT TO:victim@evil.example", Refuse(501))],
        ),
        case(
            "space before the path",
            &[("RCPT TO: <megan@contoso.com>", Accept("megan@contoso.com"))],
        ),
        case(
            "mixed recipients",
            &[
                (&to("<megan@contoso.com>"), Accept("megan@contoso.com")),
                (&to("<victim@evil.example>"), Refuse(550)),
                (&to("<user%evil.example@contoso.com>"), Refuse(550)),
                (&to("<adele@contoso.com>"), Accept("adele@contoso.com")),
            ],
        ),
        with_sender(
            case(
                "null sender",
                &[
                    (&to("<victim@evil.example>"), Refuse(550)),
                    (&to("<megan@contoso.com>"), Accept("megan@contoso.com")),
                ],
            ),
            "MAIL FROM:<>",
            Ok(""),
        ),
        one("Postmaster", "<Postmaster>", Accept("Postmaster@contoso.com")),
        one("postmaster elsewhere", "<postmaster@evil.example>", Refuse(550)),
        case(
            "ORCPT parameter naming another host",
            &[(
                "RCPT TO:<megan@contoso.com> NOTIFY=NEVER ORCPT=rfc822;victim@evil.example",
                Accept("megan@contoso.com"),
            )],
        ),
        case(
            "unknown parameter",
            &[(
                "RCPT TO:<megan@contoso.com> XRCPT=victim@evil.example",
                Refuse(555),
            )],
        ),
        case(
            "tab before a parameter",
            &[("RCPT TO:<megan@contoso.com>\tNOTIFY=NEVER", Refuse(501))],
        ),
        one("local part over 64 octets", &long_local, Refuse(501)),
        one("empty local part", "<@contoso.com>", Refuse(501)),
        one("leading dot", "<.megan@contoso.com>", Refuse(501)),
        one("backslash outside quotes", "<meg\\an@contoso.com>", Refuse(501)),
        with_sender(
            one(
                "UTF-8 local part",
                "<m\u{e9}gan@contoso.com>",
                Accept("m\u{e9}gan@contoso.com"),
            ),
            &format!("MAIL FROM:<{SENDER}> SMTPUTF8"),
            Ok(SENDER),
        ),
        // RFC 6531 3.4: a non-ASCII address only in a transaction whose MAIL gave SMTPUTF8.
        one(
            "UTF-8 local part without SMTPUTF8",
            "<m\u{e9}gan@contoso.com>",
            Refuse(553),
        ),
        one(
            "another address encoded in the local part",
            "<victim=evil.example@contoso.com>",
            Accept("victim=evil.example@contoso.com"),
        ),
        case(
            "duplicates",
            &[
                (&to("<megan@contoso.com>"), Accept("megan@contoso.com")),
                (&to("<megan@contoso.com>"), Accept("megan@contoso.com")),
                (&to("<MEGAN@contoso.com>"), Accept("megan@contoso.com")),
                (&to("<\"megan\"@contoso.com>"), Accept("megan@contoso.com")),
            ],
        ),
        with_sender(
            one(
                "sender hiding '>' and ORCPT",
                "<megan@contoso.com>",
                Accept("megan@contoso.com"),
            ),
            "MAIL FROM:<\"x> ORCPT=rfc822;victim@evil.example\"@fabrikam.com>",
            Err(501),
        ),
        with_sender(
            one(
                "quoted sender",
                "<megan@contoso.com>",
                Accept("megan@contoso.com"),
            ),
            "MAIL FROM:<\"adele vance\"@fabrikam.com>",
            Ok("\"adele vance\"@fabrikam.com"),
        ),
        with_sender(
            one(
                "sender with a source route",
                "<megan@contoso.com>",
                Accept("megan@contoso.com"),
            ),
            "MAIL FROM:<@evil.example:adele@fabrikam.com>",
            Ok(SENDER),
        ),
        with_sender(
            one(
                "SIZE that overflows",
                "<megan@contoso.com>",
                Accept("megan@contoso.com"),
            ),
            "MAIL FROM:<adele@fabrikam.com> SIZE=184467440737095516160",
            Err(552),
        ),
    ]
}

/// The recipients a case must be delivered to: the accepted ones, each once.
fn delivered(case: &Case) -> Vec<&'static str> {
    if case.sender.is_err() {
        return Vec::new();
    }
    let mut out: Vec<&'static str> = Vec::new();
    for (_, expect) in &case.rcpt {
        if let Accept(address) = expect
            && !out.iter().any(|a| a.eq_ignore_ascii_case(address))
        {
            out.push(address);
        }
    }
    out
}

/// Independent of the relay's parser: a forwarded RCPT line names a mailbox of the accepted domain,
/// without parameters, and asks for no routing (no `@`, `%` or `!` before the domain).
fn safe_rcpt_line(line: &str) -> bool {
    let Some(path) = line.strip_prefix("RCPT TO:<").and_then(|l| l.strip_suffix('>')) else {
        return false;
    };
    let Some((local, domain)) = path.rsplit_once('@') else {
        return false;
    };
    !path.contains(['<', '>', '\r', '\n'])
        && domain.eq_ignore_ascii_case(DOMAIN)
        && !local.is_empty()
        && !local.contains(['@', '%', '!'])
        && (!local.contains(' ') || (local.starts_with('"') && local.ends_with('"')))
}

/// Check the replies of one configuration against the cases.
fn check_replies(config: &str, cases: &[Case], outcomes: &[Outcome], failures: &mut Vec<String>) {
    for (case, outcome) in cases.iter().zip(outcomes) {
        let mut fail = |what: String| failures.push(format!("[{config}] {}: {what}", case.name));
        match case.sender {
            Err(code) => {
                if outcome.mail.code != code {
                    fail(format!("MAIL got {:?}, expected {code}", outcome.mail));
                }
                continue;
            }
            Ok(_) if outcome.mail.code != 250 => {
                fail(format!("MAIL got {:?}", outcome.mail));
                continue;
            }
            Ok(_) => {}
        }
        for ((line, expect), got) in case.rcpt.iter().zip(&outcome.rcpt) {
            let want = match expect {
                Accept(_) => 250,
                Refuse(code) => *code,
            };
            if got.code != want {
                fail(format!("{line:?} got {} {}, expected {want}", got.code, got.text));
            }
        }
        let data = outcome.data.as_ref().map(|r| r.code);
        if !delivered(case).is_empty() && data != Some(250) {
            fail(format!("the message was not taken: {:?}", outcome.data));
        }
    }
}

/// Without forwarding: what the spool holds, per case.
fn check_spool(config: &str, relay: &RelayProcess, cases: &[Case], failures: &mut Vec<String>) {
    let mut stored = Vec::new();
    for (id, meta) in spool_metas(&relay.spool) {
        let eml = std::fs::read_to_string(relay.spool.join("messages").join(format!("{id}.eml")))
            .unwrap_or_default();
        let case = eml
            .lines()
            .find_map(|l| l.strip_prefix("X-Case: "))
            .unwrap_or_default()
            .to_string();
        stored.push((case, meta));
    }
    for case in cases {
        let want = delivered(case);
        let found: Vec<_> = stored.iter().filter(|(c, _)| c == case.name).collect();
        let fail = |what: String| format!("[{config}] {}: {what}", case.name);
        match (want.is_empty(), found.as_slice()) {
            (true, []) => {}
            (true, _) => {
                let envelopes: Vec<_> = found
                    .iter()
                    .map(|(_, m)| (&m["mail_from"], &m["rcpt_to"]))
                    .collect();
                failures.push(fail(format!("stored although refused: {envelopes:?}")));
            }
            (false, [(_, meta)]) => {
                let rcpt: Vec<&str> = meta["rcpt_to"]
                    .as_array()
                    .map(|a| a.iter().filter_map(|v| v.as_str()).collect())
                    .unwrap_or_default();
                if rcpt != want {
                    failures.push(fail(format!("stored for {rcpt:?}, expected {want:?}")));
                }
                if meta["mail_from"].as_str() != case.sender.ok() {
                    failures.push(fail(format!(
                        "stored from {}, expected {:?}",
                        meta["mail_from"], case.sender
                    )));
                }
            }
            (false, _) => failures.push(fail(format!("stored {} times", found.len()))),
        }
    }
}

/// With forwarding: what reached the smart host, per case.
fn check_forwarded(config: &str, capture: &CaptureHost, cases: &[Case], failures: &mut Vec<String>) {
    let expected = cases.iter().filter(|c| !delivered(c).is_empty()).count();
    let mine = |seen: &[crate::relay_capture::Captured]| {
        seen.iter()
            .filter(|t| t.header("X-Config").as_deref() == Some(config))
            .cloned()
            .collect::<Vec<_>>()
    };
    let seen = mine(&capture.wait_for(Duration::from_secs(60), |seen| mine(seen).len() >= expected));
    for case in cases {
        let want = delivered(case);
        let found: Vec<_> = seen
            .iter()
            .filter(|t| t.header("X-Case").as_deref() == Some(case.name))
            .collect();
        let fail = |what: String| format!("[{config}] {}: {what}", case.name);
        match (want.is_empty(), found.as_slice()) {
            (true, []) => {}
            (true, _) => {
                let lines: Vec<_> = found.iter().map(|t| (&t.mail, &t.rcpt)).collect();
                failures.push(fail(format!("forwarded although refused: {lines:?}")));
            }
            (false, [t]) => {
                let want_lines: Vec<String> = want.iter().map(|a| format!("RCPT TO:<{a}>")).collect();
                if t.rcpt != want_lines {
                    failures.push(fail(format!(
                        "forwarded as {:?}, expected {want_lines:?}",
                        t.rcpt
                    )));
                }
                let sender = case.sender.unwrap_or_default();
                // RFC 6531: non-ASCII addresses go out with SMTPUTF8, ASCII ones without it.
                let utf8 = !sender.is_ascii() || want.iter().any(|a| !a.is_ascii());
                let mail = if utf8 {
                    t.mail.strip_suffix(" SMTPUTF8").unwrap_or_default()
                } else {
                    t.mail.as_str()
                };
                let size = mail.strip_prefix(&format!("MAIL FROM:<{sender}> SIZE="));
                if !size.is_some_and(|s| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())) {
                    failures.push(fail(format!("forwarded MAIL line {:?}", t.mail)));
                }
            }
            (false, _) => failures.push(fail(format!("forwarded {} times", found.len()))),
        }
    }
}

#[test]
fn no_address_form_makes_any_role_an_open_relay() {
    let cases = cases();
    assert!(cases.len() >= 30);
    let capture = CaptureHost::start(&[]);
    let forward = capture.address();
    let mut failures = Vec::new();
    // The CA eop verifies client certificates with (any CA file will do: here the first relay's).
    let ca_dir = tempfile::tempdir().unwrap();
    let client_ca = ca_dir.path().join("client-ca.pem");
    let mut ran = 0;
    for role in ["sink", "edge", "mailbox", "eop"] {
        for forwarding in [false, true] {
            let config = format!("{role}{}", if forwarding { "+forward" } else { "" });
            let spool = tempfile::tempdir().unwrap();
            let mut args = vec!["--role", role, "--accept-domain", DOMAIN, "--retry-base", "0.2"];
            if forwarding {
                args.extend(["--forward", &forward]);
            }
            let ca_arg = client_ca.display().to_string();
            if role == "eop" {
                args.extend(["--expect-cert-name", "mail.contoso.com", "--client-ca", &ca_arg]);
            }
            let relay = RelayProcess::start(spool.path(), &args);
            let ca_file = relay.ca_file.clone().expect("a generated CA");
            if !client_ca.exists() {
                std::fs::copy(&ca_file, &client_ca).unwrap();
            }
            let transactions: Vec<Transaction> = cases
                .iter()
                .map(|c| Transaction {
                    mail: c.mail.clone(),
                    rcpt: c.rcpt.iter().map(|(l, _)| l.clone()).collect(),
                    data: message(&config, c.name),
                })
                .collect();
            // EOP wants STARTTLS before MAIL; the others are tried in plain text.
            let tls = Tls {
                ca: (role == "eop").then_some(ca_file.as_path()),
                cert: None,
            };
            let Some(outcomes) = smtp_client(relay.addr.port(), tls, &transactions) else {
                return;
            };
            assert_eq!(outcomes.len(), cases.len());
            check_replies(&config, &cases, &outcomes, &mut failures);
            if forwarding {
                check_forwarded(&config, &capture, &cases, &mut failures);
            } else {
                check_spool(&config, &relay, &cases, &mut failures);
            }
            ran += 1;
            assert!(relay.stop().success());
        }
    }
    assert_eq!(ran, 8);
    // Whatever reached the smart host, from every configuration: the accepted domain only.
    for line in capture.lines() {
        if line.starts_with("RCPT") && !safe_rcpt_line(&line) {
            failures.push(format!("the smart host received {line:?}"));
        }
    }
    assert!(
        failures.is_empty(),
        "{} failure(s):\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// The EOP role relays for a session attributed by its client certificate, as EOP does for an
/// organisation with a certificate-based inbound connector: only when the chain verifies. Without
/// `--client-ca` the system store is the trust (here made to hold exactly one CA with
/// `SSL_CERT_FILE`): a self-signed certificate with the right name relays nothing.
#[test]
fn eop_relays_only_for_a_certificate_whose_chain_verifies() {
    let now = OffsetDateTime::now_utc();
    let dir = tempfile::tempdir().unwrap();
    let ca = LabCa::generate(now).unwrap();
    let store = dir.path().join("system-store.pem");
    std::fs::write(&store, ca.root_pem()).unwrap();
    let no_certs = dir.path().join("no-certs");
    std::fs::create_dir(&no_certs).unwrap();
    let spec = LeafSpec::server("mail.contoso.com", ["mail.contoso.com"], now);
    let issued = write_cert(dir.path(), "issued", &ca, &spec);
    let forged = write_cert(
        dir.path(),
        "forged",
        &ca,
        &spec.clone().with_issuer(LeafIssuer::SelfSigned),
    );
    let capture = CaptureHost::start(&[]);
    let spool = tempfile::tempdir().unwrap();
    let relay = RelayProcess::start_with_env(
        spool.path(),
        &[
            "--role",
            "eop",
            "--expect-cert-name",
            "mail.contoso.com",
            "--accept-domain",
            DOMAIN,
            "--forward",
            &capture.address(),
            "--retry-base",
            "0.2",
        ],
        &[
            ("SSL_CERT_FILE", store.as_os_str()),
            ("SSL_CERT_DIR", no_certs.as_os_str()),
        ],
    );
    let relay_ca = relay.ca_file.clone().unwrap();
    let relaying = |case: &str| Transaction {
        mail: "MAIL FROM:<adele@contoso.com>".into(),
        rcpt: vec!["RCPT TO:<partner@fabrikam.com>".into()],
        data: message("eop-trust", case),
    };
    let send = |cert: &(std::path::PathBuf, std::path::PathBuf), case: &str| {
        let tls = Tls {
            ca: Some(&relay_ca),
            cert: Some((&cert.0, &cert.1)),
        };
        smtp_client(relay.addr.port(), tls, &[relaying(case)]).map(|mut o| o.remove(0))
    };
    let Some(refused) = send(&forged, "forged") else {
        return;
    };
    assert_eq!(refused.rcpt[0].code, 550, "{refused:?}");
    assert!(
        refused.rcpt[0]
            .text
            .starts_with("5.7.64 TenantAttribution; Relay Access Denied")
            && refused.rcpt[0].text.contains("not trusted"),
        "{refused:?}"
    );
    let relayed = send(&issued, "issued").expect("python");
    assert_eq!(relayed.rcpt[0].code, 250, "{relayed:?}");
    assert_eq!(relayed.data.as_ref().map(|r| r.code), Some(250), "{relayed:?}");
    let seen = capture.wait_for(Duration::from_secs(30), |seen| {
        seen.iter()
            .any(|t| t.header("X-Case").as_deref() == Some("issued"))
    });
    let cases: Vec<String> = seen.iter().filter_map(|t| t.header("X-Case")).collect();
    assert_eq!(cases, ["issued"], "only the verified session relays");
    assert!(relay.stop().success());
}

#[test]
fn eop_forwarding_without_a_trust_anchor_does_not_start() {
    let dir = tempfile::tempdir().unwrap();
    let empty = dir.path().join("empty.pem");
    std::fs::write(&empty, "").unwrap();
    let no_certs = dir.path().join("no-certs");
    std::fs::create_dir(&no_certs).unwrap();
    let (out, _) = run_with_timeout(
        mailpath()
            .args(["relay", "--listen", "127.0.0.1:0", "--role", "eop"])
            .args([
                "--expect-cert-name",
                "mail.contoso.com",
                "--accept-domain",
                DOMAIN,
            ])
            .args(["--forward", "127.0.0.1:9", "--spool"])
            .arg(dir.path().join("spool"))
            .env("SSL_CERT_FILE", &empty)
            .env("SSL_CERT_DIR", &no_certs),
        Duration::from_secs(30),
    );
    let shown = text(&out);
    assert_eq!(out.status.code(), Some(3), "{shown}");
    assert!(
        shown.contains("no trust anchor") && shown.contains("--client-ca"),
        "{shown}"
    );
}
