//! The importer against the fixtures of `tests/fixtures/exchange` (real cmdlet shapes) and broken input.

use std::path::PathBuf;

use super::*;

fn fixture(name: &str) -> PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/fixtures/exchange")
        .join(name)
}

fn read(name: &str) -> Vec<u8> {
    std::fs::read(fixture(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

#[test]
fn the_on_premises_half_as_windows_powershell_writes_it() {
    let e = Export::parse(&read("onprem-two-mailbox.json"), "onprem.json").unwrap();
    assert_eq!(e.files[0].script_version.as_deref(), Some("1.1.0"));
    assert_eq!(e.servers.len(), 2);
    assert_eq!(e.server_fqdn("ex02").as_deref(), Some("ex02.contoso.com"));
    assert_eq!(e.certificates_on("EX01").count(), 2);
    let cert = &e.certificates_on("ex01.contoso.com").next().unwrap().item;
    assert!(cert.services.get().is_some_and(|s| s.has("SMTP")));
    assert!(cert.status.is("Valid"));
    assert_eq!(cert.domains.list().len(), 3);
    assert!(cert.not_after.get().is_some());
    let rc = &e.receive_connectors_on("EX02").next().unwrap().item;
    // `<` and `>` arrive escaped as \u003c / \u003e and read back as themselves.
    assert!(
        rc.tls_certificate_name
            .text()
            .is_some_and(|n| n.starts_with("<I>CN=GeoTrust TLS RSA CA G1"))
    );
    assert_eq!(rc.remote_ip_ranges.list().len(), 2);
    let send = &e.send_connectors[0];
    assert_eq!(send.item.source_servers.list(), ["EX01", "EX02"]);
    assert_eq!(send.from.cmdlet, "Get-SendConnector");
    assert_eq!(send.from.describe(), "Get-SendConnector, 2025-05-06 09:14 UTC");
    assert_eq!(e.send_connectors[1].item.smart_hosts.list(), ["[192.0.2.25]"]);
    let queue = e
        .queues
        .iter()
        .find(|q| q.item.message_count.get() == Some(&12))
        .unwrap();
    assert!(queue.item.last_error.text().is_some_and(|t| t.contains("4.7.5")));
    assert_eq!(queue.from.evidence_id(), "exchange:queues@EX01");
    // The failed Test-EdgeSynchronization is a problem naming its section, and nothing else is lost.
    let failed: Vec<String> = e.problems.iter().map(ToString::to_string).collect();
    assert_eq!(failed.len(), 1, "{failed:#?}");
    assert!(
        failed[0].starts_with("onprem.json: section edge_synchronization (Test-EdgeSynchronization): the cmdlet failed: There were no Edge Subscriptions found"),
        "{failed:?}"
    );
    assert!(!e.section_ok("edge_synchronization", None));
    assert!(e.section_ok("receive_connectors", Some("ex02.contoso.com")));
    assert!(e.has_on_premises() && !e.has_exchange_online());
}

#[test]
fn the_two_halves_make_one_export() {
    let on = fixture("onprem-two-mailbox.json");
    let exo = fixture("exo.json");
    let e = Export::load(&[on.as_path(), exo.as_path()]).unwrap();
    assert!(e.has_on_premises() && e.has_exchange_online());
    assert_eq!(e.files.len(), 2);
    let outbound = &e.exo_outbound[0].item;
    assert_eq!(outbound.smart_hosts.list(), ["mail.contoso.com"]);
    assert!(outbound.is_validated.or(false));
    assert!(outbound.tls_settings.is("DomainValidation"));
    assert_eq!(
        e.exo_inbound[0].item.tls_sender_certificate_name.text(),
        Some("mail.contoso.com")
    );
    assert!(e.exo_accepted_domains.iter().any(|d| d.item.initial.or(false)));
    // The same file twice: its sections replace themselves, nothing doubles.
    let twice = Export::load(&[on.as_path(), on.as_path()]).unwrap();
    assert_eq!(twice.servers.len(), 2);
    assert_eq!(twice.certificates.len(), 4);
}

#[test]
fn odd_shapes_are_read_or_named_field_by_field() {
    let e = Export::parse(&read("ps51-shapes.json"), "odd.json").unwrap();
    let send = &e.send_connectors[0].item;
    assert_eq!(send.name.text(), Some("Outbound to Office 365"));
    assert_eq!(
        send.address_spaces.list(),
        ["smtp:contoso.mail.onmicrosoft.com;1"]
    );
    assert!(send.smart_hosts.list().is_empty());
    assert_eq!(send.fqdn.text(), Some("mail.contoso.com"));
    assert_eq!(send.source_servers.list(), ["EX01"]);
    assert_eq!(send.cloud_services_mail.get(), Some(&false));
    assert_eq!(send.port.get(), Some(&25));
    assert_eq!(
        e.send_connectors[0].from.time,
        Some(time::macros::datetime!(2025-05-06 09:14:03 UTC))
    );
    let cert = &e.certificates[0].item;
    assert!(cert.not_before.get().is_some() && cert.not_after.get().is_some());
    let messages: Vec<String> = e.problems.iter().map(ToString::to_string).collect();
    let has = |needle: &str| messages.iter().any(|m| m.contains(needle));
    assert!(
        has("written by Export-MailpathConfig.ps1 0.9.0, older"),
        "{messages:#?}"
    );
    assert!(
        has(
            "odd.json: section send_connectors (Get-SendConnector), item \"Outbound to Office 365\", field TlsCertificateName: expected a text, found an object with CertificateIssuer, CertificateSubject"
        ),
        "{messages:#?}"
    );
    assert!(
        has("field Services: expected a list of names (flags written as a number"),
        "{messages:#?}"
    );
    assert!(has("field Status: expected a name"), "{messages:#?}");
    assert!(
        has("section transport_config (Get-TransportConfig): not a section this mailpath reads"),
        "{messages:#?}"
    );
    assert_eq!(
        send.tls_certificate_name,
        ps::Ps::Unreadable(
            "expected a text, found an object with CertificateIssuer, CertificateSubject".into()
        )
    );
}

#[test]
fn a_cut_short_file_keeps_its_whole_sections() {
    let full = read("onprem-two-mailbox.json");
    let text = String::from_utf8_lossy(&full).into_owned();
    let cut = text.find("\"send_connectors\"").unwrap();
    let e = Export::parse(&text.as_bytes()[..cut + 40], "cut.json").unwrap();
    assert_eq!(e.servers.len(), 2);
    assert_eq!(e.receive_connectors.len(), 2);
    assert!(e.send_connectors.is_empty());
    let first = e.problems[0].to_string();
    assert!(
        first.starts_with("cut.json: the file is cut short: the 7 whole section(s) before it are used; section(s) at position 8 could not be read"),
        "{first}"
    );
}

#[test]
fn what_is_not_an_export_is_refused_with_why() {
    let err = |bytes: &[u8]| Export::parse(bytes, "x.json").unwrap_err().to_string();
    assert!(err(b"name = \"contoso\"").starts_with("x.json: not a mailpath Exchange export (not JSON:"));
    assert_eq!(
        err(br#"{"schema": "mailpath/diagnosis/1"}"#),
        "x.json: not a mailpath Exchange export (\"schema\": \"mailpath/diagnosis/1\"); write one with assets/Export-MailpathConfig.ps1"
    );
    assert!(err(b"[1, 2]").contains("the document is a list of 2 value(s)"));
    assert!(err(&[0xFF, 0xD8, 0xFF]).contains("not UTF-8 text"));
    // A failed section is still a section read: the export is used, with the error as a problem.
    let failed = Export::parse(
        br#"{"schema": "mailpath/exchange-export/1", "sections": [{"name": "queues", "server": "EX01", "error": "Access denied", "items": []}]}"#,
        "x.json",
    )
    .unwrap();
    assert_eq!(failed.problems.len(), 1);
    assert!(
        err(br#"{"schema": "mailpath/exchange-export/1", "sections": []}"#).contains("it holds no section")
    );
    // A newer schema is read, with a warning.
    let newer = Export::parse(
        br#"{"schema": "mailpath/exchange-export/2", "sections": [{"name": "exchange_servers", "items": [{"Name": "EX01"}]}]}"#,
        "new.json",
    )
    .unwrap();
    assert!(
        newer.problems[0]
            .message
            .contains("newer than this mailpath reads")
    );
    assert_eq!(newer.servers.len(), 1);
    assert!(looks_like_export(&read("exo.json")));
    assert!(looks_like_export(&read("onprem-two-mailbox.json")));
    assert!(!looks_like_export(br#"{"schema": "mailpath/diagnosis/1"}"#));
}

#[test]
fn server_names_match_short_and_long() {
    assert!(same_server("EX01", "ex01.contoso.com"));
    assert!(same_server("ex01.contoso.com.", "EX01.CONTOSO.COM"));
    assert!(!same_server("ex01.contoso.com", "ex01.fabrikam.com"));
    assert!(!same_server("EX01", "EX02"));
}

/// The properties each section of `assets/Export-MailpathConfig.ps1` writes, read from the script
/// itself: every `Read-Section -Name '<section>' ... -Properties @('A', 'B', ...)`.
pub(crate) fn script_sections() -> Vec<(String, String, Vec<String>)> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../assets/Export-MailpathConfig.ps1");
    let script = std::fs::read_to_string(path).unwrap();
    let mut out = Vec::new();
    for chunk in script.split("Read-Section -Name '").skip(1) {
        let name = chunk.split('\'').next().unwrap_or_default().to_string();
        let cmdlet = chunk
            .split("-Cmdlet '")
            .nth(1)
            .and_then(|c| c.split('\'').next())
            .unwrap_or_default()
            .to_string();
        let Some(props) = chunk.split("-Properties @(").nth(1) else {
            continue;
        };
        let list = props.split(')').next().unwrap_or_default();
        let fields = list
            .split(',')
            .map(|f| {
                f.trim()
                    .trim_matches(|c: char| c == '\'' || c.is_whitespace() || c == '`')
            })
            .filter(|f| !f.is_empty())
            .map(str::to_string)
            .collect();
        out.push((name, cmdlet, fields));
    }
    out
}

#[test]
fn every_field_the_importer_reads_is_one_the_script_writes() {
    let script = script_sections();
    assert!(script.len() >= SECTIONS.len(), "{script:#?}");
    for def in SECTIONS {
        let Some((_, cmdlet, written)) = script.iter().find(|(n, _, _)| n == def.name) else {
            panic!("the script writes no section {:?}", def.name);
        };
        assert_eq!(cmdlet, def.cmdlet, "section {}", def.name);
        for field in def.fields {
            assert!(
                written.iter().any(|w| w == field),
                "the importer reads {}.{field}, which the script does not write ({written:?})",
                def.name
            );
        }
    }
    // And the script writes no section the importer does not know.
    for (name, _, _) in &script {
        assert!(
            SECTIONS.iter().any(|d| d.name == name),
            "the script writes {name}, which the importer ignores"
        );
    }
}

#[test]
fn the_script_is_read_only_and_exports_no_private_key() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../assets/Export-MailpathConfig.ps1");
    let script = std::fs::read_to_string(path).unwrap();
    // The code without its comments: the `<# ... #>` help block and `#` lines.
    let without_help = match (script.find("<#"), script.find("#>")) {
        (Some(a), Some(b)) if a < b => format!("{}{}", &script[..a], &script[b + 2..]),
        _ => script.clone(),
    };
    let code: String = without_help
        .lines()
        .filter(|l| !l.trim_start().starts_with('#'))
        .collect::<Vec<_>>()
        .join("\n");
    // Every command it runs (a `Verb-Noun` word) reads: Exchange's Get-* and Test-EdgeSynchronization,
    // or PowerShell's own helpers that change nothing in Exchange.
    let helpers = [
        "ConvertFrom-Json",
        "ConvertTo-Json",
        "ConvertTo-Flat",
        "ConvertTo-Iso",
        "Read-Section",
        "Select-Flat",
        "Select-Object",
        "Where-Object",
        "ForEach-Object",
        "Write-Host",
        "Write-Warning",
        "New-Object",
        "Set-StrictMode",
        "Test-Path",
        "Test-EdgeSynchronization",
    ];
    let commands: Vec<&str> = code
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '-'))
        .filter(|w| {
            w.split_once('-').is_some_and(|(verb, noun)| {
                verb.starts_with(|c: char| c.is_ascii_uppercase())
                    && noun.starts_with(|c: char| c.is_ascii_uppercase())
            })
        })
        .collect();
    assert!(commands.contains(&"Get-ExchangeCertificate"), "{commands:?}");
    for command in commands {
        assert!(
            command.starts_with("Get-") || helpers.contains(&command),
            "the script runs {command}, which is neither a Get- cmdlet nor a read-only helper"
        );
    }
    for secret in [
        "'PrivateKey'",
        "PrivateKeyExportable",
        "Password",
        "Credential",
        "Export-ExchangeCertificate",
    ] {
        assert!(!code.contains(secret), "the script touches {secret}");
    }
}
