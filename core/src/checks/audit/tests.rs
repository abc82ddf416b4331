//! The audit on the export fixtures (tests/fixtures/exchange), each fault made by editing one value.

use std::path::Path;

use serde_json::Value;
use time::macros::datetime;

use super::*;
use crate::check::{Place, StepKind};
use crate::exchange::import::profile_from_export;

fn fixture(name: &str) -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/fixtures/exchange")
        .join(name);
    let text = std::fs::read_to_string(path).unwrap();
    serde_json::from_str(text.trim_start_matches('\u{feff}')).unwrap()
}

/// The two halves, each edited by `edit` (the section name and its items).
fn export_with(edit: impl Fn(&str, Option<&str>, &mut Vec<Value>)) -> Export {
    let mut all = Export::default();
    for name in ["onprem-two-mailbox.json", "exo.json"] {
        let mut doc = fixture(name);
        for s in doc["sections"].as_array_mut().unwrap() {
            let section = s["name"].as_str().unwrap().to_string();
            let server = s["server"].as_str().map(str::to_string);
            if let Some(items) = s["items"].as_array_mut() {
                edit(&section, server.as_deref(), items);
            }
        }
        all.merge(Export::parse(doc.to_string().as_bytes(), name).unwrap());
    }
    all
}

fn run(export: &Export, now: OffsetDateTime) -> Vec<CheckResult> {
    let profile = profile_from_export(export).profile;
    audit(&AuditInput {
        profile: &profile,
        export,
        now,
        served: &[],
        probed: false,
    })
}

const NOW: OffsetDateTime = datetime!(2025-05-06 12:00 UTC);

fn find<'a>(results: &'a [CheckResult], id: &str, target: &str) -> &'a CheckResult {
    results
        .iter()
        .find(|r| r.id == id && r.target.contains(target))
        .unwrap_or_else(|| {
            panic!(
                "no {id} for {target}: {:#?}",
                results.iter().map(|r| (&r.id, &r.target)).collect::<Vec<_>>()
            )
        })
}

#[test]
fn the_fixture_finds_ex02s_stale_certificate_and_the_failing_queue() {
    let export = export_with(|_, _, _| {});
    let results = run(&export, NOW);
    let ex01 = find(&results, "config.cert.installed", "Default Frontend EX01 on EX01");
    assert_eq!(ex01.status, Status::Pass, "{ex01:#?}");
    let ex02 = find(&results, "config.cert.installed", "Default Frontend EX02 on EX02");
    assert_eq!(ex02.status, Status::Fail, "{ex02:#?}");
    assert!(ex02.remediation.contains("Set-ReceiveConnector \"EX02\\Default Frontend EX02\" -TlsCertificateName \"<I>CN=GeoTrust TLS DV RSA Mixed SHA256 2020 CA-1"), "{}", ex02.remediation);
    assert!(
        ex02.remediation
            .to_text()
            .starts_with("[Exchange Management Shell"),
        "{}",
        ex02.remediation
    );
    assert_eq!(ex02.attachment, Attachment::Hop(hop::EOP_MAILBOX.into()));
    assert!(
        ex02.evidence
            .contains(&"exchange:receive_connectors@EX02".to_string())
    );
    let queue = find(&results, "config.queue.last_error", "EX01\\17");
    assert_eq!(queue.status, Status::Fail);
    assert_eq!(queue.attachment, Attachment::Hop(hop::MAILBOX_EOP.into()));
    for id in [
        "config.send.eop_tls",
        "config.send.legacy_smart_host",
        "config.hybrid.cloud_services_mail",
        "config.exo_outbound.validated",
        "config.exo_outbound.receivers",
        "config.receive.eop_ranges",
        "config.cert.accepted_domain",
        "config.cert.smtp",
        "config.cert.expiry",
        "config.cert.names",
    ] {
        let r = results
            .iter()
            .find(|r| r.id == id)
            .unwrap_or_else(|| panic!("{id}"));
        assert_eq!(r.status, Status::Pass, "{r:#?}");
    }
    // Without probes, the served certificate is not known: a skip, never a pass.
    assert_eq!(
        find(&results, "config.cert.served", "port 25").status,
        Status::Skip
    );
    // Every id is catalogued.
    for r in &results {
        assert!(DEFS.iter().any(|d| d.id == r.id), "{}", r.id);
    }
}

#[test]
fn a_renewed_certificate_not_bound_to_smtp_fails_with_enable_exchangecertificate() {
    let export = export_with(|section, server, items| {
        if section == "exchange_certificates" && server == Some("EX01") {
            items[0]["Services"] = Value::from("IMAP, POP, IIS");
        }
    });
    let results = run(&export, NOW);
    let r = results
        .iter()
        .find(|r| r.id == "config.cert.smtp" && r.status == Status::Fail)
        .unwrap();
    assert!(r.target.ends_with("on EX01"), "{}", r.target);
    assert!(r.remediation.contains("Enable-ExchangeCertificate -Server EX01 -Thumbprint 8A2C1F0E9B7D6C5A4F3E2D1C0B9A8F7E6D5C4B3A -Services SMTP"), "{}", r.remediation);
}

#[test]
fn expiry_status_and_key_are_judged_at_the_injected_time() {
    let export = export_with(|section, _, items| {
        if section == "exchange_certificates" {
            items[0]["HasPrivateKey"] = Value::from(false);
        }
    });
    let soon = run(&export, datetime!(2026-04-15 00:00 UTC));
    assert!(soon.iter().any(|r| r.id == "config.cert.expiry"
        && r.status == Status::Warn
        && r.summary.contains("expires in 15 day(s)")));
    assert!(soon.iter().any(|r| r.id == "config.cert.usable"
        && r.status == Status::Fail
        && r.summary.contains("no private key")));
    let late = run(&export, datetime!(2026-05-02 00:00 UTC));
    assert!(
        late.iter()
            .any(|r| r.id == "config.cert.expiry" && r.status == Status::Fail)
    );
}

#[test]
fn attr36_when_the_certificate_domain_is_not_accepted_in_exchange_online() {
    let export = export_with(|section, _, items| {
        if section == "exo_accepted_domains" {
            items.retain(|d| d["DomainName"] != "contoso.com");
        }
    });
    let results = run(&export, NOW);
    let r = results
        .iter()
        .find(|r| r.id == "config.cert.accepted_domain")
        .unwrap();
    assert_eq!(r.status, Status::Fail, "{r:#?}");
    assert!(r.summary.contains("ATTR36"));
    // Without the Exchange Online half, it cannot be known: a skip.
    let mut on_prem = Export::parse(fixture("onprem-two-mailbox.json").to_string().as_bytes(), "x").unwrap();
    on_prem.problems.clear();
    let results = run(&on_prem, NOW);
    assert_eq!(
        results
            .iter()
            .find(|r| r.id == "config.cert.accepted_domain")
            .unwrap()
            .status,
        Status::Skip
    );
}

#[test]
fn exo_connector_drift_is_a_name_the_certificate_does_not_carry() {
    let export = export_with(|section, _, items| {
        if section == "exo_inbound_connectors" {
            items[0]["TlsSenderCertificateName"] = Value::from("smtp.contoso.com");
        }
    });
    let results = run(&export, NOW);
    let r = results
        .iter()
        .find(|r| r.id == "config.cert.names" && r.status == Status::Fail)
        .unwrap();
    assert!(
        r.summary
            .contains("smtp.contoso.com (EXO inbound connector's TlsSenderCertificateName)"),
        "{}",
        r.summary
    );
    assert!(
        r.remediation.contains("Set-InboundConnector"),
        "{}",
        r.remediation
    );
}

#[test]
fn connector_settings_legacy_smart_hosts_ranges_and_validation() {
    let export = export_with(|section, _, items| match section {
        "send_connectors" => {
            items[0]["SmartHosts"] = Value::from(vec!["mail.messaging.microsoft.com"]);
            items[0]["TlsAuthLevel"] = Value::from("EncryptionOnly");
            items[0]["CloudServicesMailEnabled"] = Value::from(false);
        }
        "receive_connectors" => items[0]["RemoteIPRanges"] = Value::from(vec!["10.0.0.0/8", "40.92.0.0/15"]),
        "exo_outbound_connectors" => items[0]["IsValidated"] = Value::from(false),
        _ => {}
    });
    let results = run(&export, NOW);
    let status = |id: &str| {
        results
            .iter()
            .filter(|r| r.id == id)
            .map(|r| r.status)
            .max()
            .unwrap()
    };
    assert_eq!(status("config.send.legacy_smart_host"), Status::Fail);
    assert_eq!(status("config.send.eop_tls"), Status::Warn);
    assert_eq!(status("config.hybrid.cloud_services_mail"), Status::Fail);
    assert_eq!(status("config.exo_outbound.validated"), Status::Warn);
    let ranges = results
        .iter()
        .find(|r| r.id == "config.receive.eop_ranges" && r.status == Status::Fail)
        .unwrap();
    assert!(
        ranges.summary.contains("40.107.0.0-40.107.255.255"),
        "{}",
        ranges.summary
    );
    assert!(
        ranges.detail.contains("published 2023-07-31"),
        "{}",
        ranges.detail
    );
    // The profile's own list replaces the shipped one.
    let mut profile = profile_from_export(&export).profile;
    profile.eop_ip_ranges = vec!["40.92.0.0/16".into()];
    let own = audit(&AuditInput {
        profile: &profile,
        export: &export,
        now: NOW,
        served: &[],
        probed: false,
    });
    let r = own
        .iter()
        .find(|r| r.id == "config.receive.eop_ranges" && r.target.contains("EX01"))
        .unwrap();
    assert_eq!(r.status, Status::Pass, "{r:#?}");
    assert!(r.detail.contains("the profile's eop_ip_ranges"));
}

#[test]
fn a_failed_certificate_section_is_a_skip_not_a_verdict() {
    let mut doc = fixture("onprem-two-mailbox.json");
    for s in doc["sections"].as_array_mut().unwrap() {
        if s["name"] == "exchange_certificates" && s["server"] == "EX02" {
            s["error"] =
                Value::from("The operation couldn't be performed because object 'EX02' couldn't be found");
            s["items"] = Value::Array(Vec::new());
        }
    }
    let export = Export::parse(doc.to_string().as_bytes(), "x.json").unwrap();
    let results = run(&export, NOW);
    assert_eq!(
        find(&results, "config.cert.installed", "on EX02").status,
        Status::Skip
    );
    assert_eq!(
        find(&results, "config.cert.installed", "Default Frontend EX01 on EX01").status,
        Status::Pass
    );
}

#[test]
fn the_hops_name_the_servers_each_connector_uses() {
    let export = export_with(|_, _, _| {});
    let profile = profile_from_export(&export).profile;
    let facts = hop_facts(&profile, &export);
    assert_eq!(
        facts,
        [
            (hop::MAILBOX_EOP, "from EX01, EX02".to_string()),
            (hop::EOP_MAILBOX, "to EX01, EX02".to_string()),
        ]
    );
}

#[test]
fn centralized_transport_is_a_fact_of_the_inbound_hop() {
    let export = export_with(|section, _, items| {
        if section == "exo_outbound_connectors" {
            items[0]["RouteAllMessagesViaOnPremises"] = Value::from(true);
        }
    });
    let profile = profile_from_export(&export).profile;
    assert!(
        hop_facts(&profile, &export).contains(&(hop::EOP_MAILBOX, "centralized mail transport".to_string()))
    );
}

#[test]
fn what_was_not_read_is_never_a_pass() {
    let export = export_with(|section, _, items| {
        if section == "send_connectors" {
            items[0].as_object_mut().unwrap().remove("RequireTLS");
        }
        if section == "receive_connectors" {
            items[0].as_object_mut().unwrap().remove("RemoteIPRanges");
        }
    });
    let results = run(&export, NOW);
    assert_eq!(
        results
            .iter()
            .find(|r| r.id == "config.send.eop_tls")
            .unwrap()
            .status,
        Status::Info
    );
    assert_eq!(
        find(&results, "config.receive.eop_ranges", "EX01").status,
        Status::Skip
    );
}

/// Every failing or warning result of the audit over faults that reach each remediation.
fn every_fault() -> Vec<CheckResult> {
    let mut all = Vec::new();
    // The fixture as it is (EX02 names a certificate it does not have, a queue in Retry).
    all.extend(run(&export_with(|_, _, _| {}), NOW));
    // Not bound to SMTP; revoked; no private key and about to expire (then expired).
    all.extend(run(
        &export_with(|section, server, items| {
            if section == "exchange_certificates" && server == Some("EX01") {
                items[0]["Services"] = Value::from("IMAP, POP, IIS");
            }
            if section == "exchange_certificates" && server == Some("EX02") {
                items[0]["Status"] = Value::from("Revoked");
            }
        }),
        NOW,
    ));
    let keyless = export_with(|section, _, items| {
        if section == "exchange_certificates" {
            items[0]["HasPrivateKey"] = Value::from(false);
        }
    });
    all.extend(run(&keyless, datetime!(2026-04-15 00:00 UTC)));
    all.extend(run(&keyless, datetime!(2026-05-02 00:00 UTC)));
    // EX02 still names (and has) the certificate before the renewal.
    let stale = export_with(|section, server, items| {
        if section == "exchange_certificates" && server == Some("EX02") {
            items[0]["Issuer"] =
                Value::from("CN=GeoTrust TLS RSA CA G1, OU=www.digicert.com, O=DigiCert Inc, C=US");
            items[0]["Thumbprint"] = Value::from("0B1C2D3E4F5A6B7C8D9E0F1A2B3C4D5E6F7A8B9C");
            items[0]["NotAfter"] = Value::from("2025-06-30T23:59:59Z");
        }
    });
    all.extend(run(&stale, NOW));
    // EX02 has no certificate bound to SMTP to name instead.
    all.extend(run(
        &export_with(|section, server, items| {
            if section == "exchange_certificates" && server == Some("EX02") {
                for c in items.iter_mut() {
                    c["Services"] = Value::from("IIS");
                }
            }
        }),
        NOW,
    ));
    // ATTR36; Exchange Online's connectors naming names the certificate does not carry.
    all.extend(run(
        &export_with(|section, _, items| match section {
            "exo_accepted_domains" => items.retain(|d| d["DomainName"] != "contoso.com"),
            "exo_inbound_connectors" => {
                items[0]["TlsSenderCertificateName"] = Value::from("smtp.contoso.com")
            }
            "exo_outbound_connectors" => {
                items[0]["TlsDomain"] = Value::from("smtp.contoso.com");
                items[0]["SmartHosts"] = Value::from(vec!["smtp.contoso.com"]);
                items[0]["IsValidated"] = Value::from(false);
                items[0]["CloudServicesMailEnabled"] = Value::from(false);
            }
            _ => {}
        }),
        NOW,
    ));
    // The connectors' own settings.
    all.extend(run(
        &export_with(|section, _, items| match section {
            "send_connectors" => {
                items[0]["SmartHosts"] = Value::from(vec!["mail.messaging.microsoft.com"]);
                items[0]["RequireTLS"] = Value::from(false);
                items[0]["CloudServicesMailEnabled"] = Value::from(false);
            }
            "receive_connectors" => {
                items[0]["RemoteIPRanges"] = Value::from(vec!["10.0.0.0/8"]);
                items[0]["TlsDomainCapabilities"] = Value::Array(Vec::new());
            }
            "exo_inbound_connectors" => items[0]["CloudServicesMailEnabled"] = Value::from(false),
            _ => {}
        }),
        NOW,
    ));
    // What the probes were served: another certificate than the named ones, then one of them.
    let export = export_with(|_, _, _| {});
    let profile = profile_from_export(&export).profile;
    let host = Topology::of(&profile).public_names[0].clone();
    let ca = crate::ca::LabCa::generate(NOW).unwrap();
    let leaf = ca
        .issue(&crate::ca::LeafSpec::server(&host, [host.as_str()], NOW))
        .unwrap();
    let mut leaf = crate::cert::parse_certificate(&leaf.leaf).unwrap();
    let served_run = |export: &Export, leaf: &CertInfo| {
        audit(&AuditInput {
            profile: &profile,
            export,
            now: NOW,
            served: &[Served {
                host: host.clone(),
                leaf: leaf.clone(),
            }],
            probed: true,
        })
    };
    all.extend(served_run(&export, &leaf));
    // EX01's certificate, while EX02 names another.
    leaf.sha1_thumbprint = "8A2C1F0E9B7D6C5A4F3E2D1C0B9A8F7E6D5C4B3A".into();
    let warned = served_run(&stale, &leaf);
    assert!(
        warned
            .iter()
            .any(|r| r.id == "config.cert.served" && r.status == Status::Warn),
        "{warned:#?}"
    );
    all.extend(warned);
    // An Edge with no subscription.
    let mut profile = profile_from_export(&export).profile;
    profile.edges.push(crate::profile::EdgeServer {
        fqdn: "edge01.contoso.com".into(),
        ..Default::default()
    });
    all.extend(audit(&AuditInput {
        profile: &profile,
        export: &export,
        now: NOW,
        served: &[],
        probed: false,
    }));
    all.retain(|r| matches!(r.status, Status::Fail | Status::Warn));
    all
}

#[test]
fn every_audit_fix_is_one_command_per_step_with_its_place() {
    let faults = every_fault();
    // The faults reach every remediation of the audit.
    for def in DEFS {
        assert!(
            faults.iter().any(|r| r.id == def.id),
            "no fault reaches {}",
            def.id
        );
    }
    let cmdlet = |text: &str| {
        [
            "Set-",
            "Get-",
            "Enable-",
            "Import-",
            "New-",
            "Start-",
            "Test-",
            "Retry-",
            "Validate-",
            "Restart-",
        ]
        .iter()
        .any(|verb| text.contains(verb))
    };
    for r in &faults {
        let fix = &r.remediation;
        assert!(
            fix.steps.iter().any(|s| s.kind == StepKind::Command),
            "{} {}: no command to run\n{fix}",
            r.id,
            r.target
        );
        for step in &fix.steps {
            let text = step.text.as_str();
            if step.is_command() {
                for two in [
                    "; ",
                    ", then ",
                    " then ",
                    "then in Exchange Online",
                    "Exchange Management Shell",
                    "Exchange Online PowerShell",
                    " or -",
                    " once fixed",
                ] {
                    assert!(
                        !text.contains(two),
                        "{} {}: a step holds more than one command ({two:?}): {text}",
                        r.id,
                        r.target
                    );
                }
                assert!(step.place.is_some(), "{}: {text} runs nowhere", r.id);
                // A cmdlet that only reads confirms; one that changes is a command.
                let reads = (text.starts_with("Get-") || text.starts_with("Test-"))
                    && !["| New-", "| Set-", "| Remove-", "| Enable-"]
                        .iter()
                        .any(|c| text.contains(c));
                assert_eq!(
                    step.kind == StepKind::Confirm,
                    reads || text.starts_with("mailpath "),
                    "{}: {text}",
                    r.id
                );
            } else {
                assert!(
                    !cmdlet(text),
                    "{} {}: a command left in prose: {text}",
                    r.id,
                    r.target
                );
            }
        }
        // No step says the same thing twice, and Exchange Online's cmdlets run there.
        for step in fix.commands() {
            assert_eq!(step.text, crate::check::dedup_list_arguments(&step.text));
            if step.text.contains("boundConnector") {
                assert_eq!(step.place, Some(Place::ExchangeOnline), "{}", step.text);
            }
        }
    }
    // The servers and connectors the check knows are filled in.
    let edge = faults
        .iter()
        .find(|r| r.id == "config.edge.subscription")
        .unwrap();
    assert_eq!(edge.remediation.steps[1].place, Some(Place::EdgeShell));
    let same = faults
        .iter()
        .find(|r| r.id == "config.cert.same_everywhere")
        .unwrap();
    assert!(
        same.remediation.commands().any(|s| s.text.starts_with(
            "Set-ReceiveConnector \"EX02\\Default Frontend EX02\" -TlsCertificateName \"<I>CN="
        )),
        "{}",
        same.remediation
    );
}
