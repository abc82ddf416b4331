//! The Exchange configuration export a lab deployment would produce (`mailpath lab SCENARIO
//! --write-export FILE`): what `assets/Export-MailpathConfig.ps1` would write on its Mailbox server
//! and in its tenant, with the certificate the lab really serves (its thumbprint, names, dates, DER).
//!
//! Some faults live only in the configuration, where no probe sees them: the scenarios of
//! [`EXPORT_SCENARIOS`] run a healthy lab and change its export, and only the configuration audit
//! (`config.*` of `checks::audit`) finds them. A scenario of the same name among the probe scenarios
//! (`receive-cert-stale`) combines with its export fault here: [`export_fault`] goes by name.

use std::path::Path;

use data_encoding::{BASE64, HEXUPPER};
use serde::Serialize;
use serde_json::{Value, json};
use sha1::Digest as _;
use time::{Duration, OffsetDateTime};

use super::{Lab, LabError, LabInfo, LabOptions, names, scenario};
use crate::cert::{CertInfo, load_chain_file, parse_certificate};

/// A fault of the configuration only.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ExportFault {
    /// Nothing.
    None,
    /// One of two Mailbox servers' receive connector names the previous (expired) certificate.
    ReceiveCertStale,
    /// The renewed certificate the connectors name is not enabled for SMTP.
    CertNotSmtp,
    /// The EXO inbound connector's TlsSenderCertificateName is not a name the on-premises certificate carries.
    ExoConnectorDrift,
    /// The certificate's domain is not an accepted domain in Exchange Online (ATTR36).
    Attr36,
}

/// A scenario whose fault is in the export only: a healthy lab (`base`) and a changed export.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct ExportScenario {
    /// Its name (`mailpath lab NAME`).
    pub name: &'static str,
    /// What it breaks.
    pub summary: &'static str,
    /// The probe scenario that runs.
    pub base: &'static str,
    /// The configuration fault.
    pub fault: ExportFault,
}

/// The configuration-only scenarios.
pub const EXPORT_SCENARIOS: &[ExportScenario] = &[
    ExportScenario {
        name: "receive-cert-stale",
        summary: "two Mailbox servers, the second's receive connector still names the previous, expired certificate (found by the configuration audit)",
        base: "healthy-direct",
        fault: ExportFault::ReceiveCertStale,
    },
    ExportScenario {
        name: "cert-not-smtp",
        summary: "the renewed certificate the connectors name is not enabled for SMTP (found by the configuration audit)",
        base: "healthy-edge",
        fault: ExportFault::CertNotSmtp,
    },
    ExportScenario {
        name: "exo-connector-drift",
        summary: "EXO's inbound connector expects a TlsSenderCertificateName the on-premises certificate does not carry (found by the configuration audit)",
        base: "healthy-edge",
        fault: ExportFault::ExoConnectorDrift,
    },
    ExportScenario {
        name: "attr36",
        summary: "the certificate's domain is not an accepted domain in Exchange Online: ATTR36 (found by the configuration audit)",
        base: "healthy-direct",
        fault: ExportFault::Attr36,
    },
];

/// The export fault of a scenario, by name (none for the probe scenarios).
pub fn export_fault(name: &str) -> ExportFault {
    EXPORT_SCENARIOS
        .iter()
        .find(|s| s.name == name)
        .map_or(ExportFault::None, |s| s.fault)
}

/// Start a scenario: a probe scenario, or the base of a configuration-only one.
///
/// # Errors
/// An unknown scenario, or a lab that does not start.
pub async fn start(name: &str, options: LabOptions) -> Result<Lab, LabError> {
    if let Some(s) = scenario(name) {
        return Lab::start(s, options).await;
    }
    let Some(s) = EXPORT_SCENARIOS.iter().find(|s| s.name == name) else {
        return Err(LabError::UnknownScenario(name.to_string()));
    };
    Lab::start_named(s.base, options).await
}

/// The name of the scenario a lab plays: its own, or the configuration-only one it was started for.
fn fault_for(lab: &Lab, name: &str) -> ExportFault {
    match export_fault(name) {
        ExportFault::None => export_fault(lab.scenario().name),
        f => f,
    }
}

/// The export of a running lab, as the script writes it (on-premises and Exchange Online halves in
/// one file), with the fault of the scenario `name` (the lab's own name or the configuration-only
/// scenario it was started for).
///
/// # Errors
/// When the lab's certificate cannot be read.
pub fn export(lab: &Lab, name: &str, now: OffsetDateTime) -> Result<Value, LabError> {
    build(lab.info(), lab.scenario().edge, fault_for(lab, name), now)
}

/// Write [`export`] to `path`.
///
/// # Errors
/// When the certificate cannot be read or the file written.
pub fn write(lab: &Lab, name: &str, path: &Path, now: OffsetDateTime) -> Result<(), LabError> {
    let doc = export(lab, name, now)?;
    let text = serde_json::to_string_pretty(&doc).map_err(|e| LabError::Io {
        what: "serialize the lab export".into(),
        source: std::io::Error::other(e.to_string()),
    })?;
    std::fs::write(path, text).map_err(LabError::io(format!("write {}", path.display())))
}

/// ISO 8601 in UTC, whole seconds, as the script writes dates.
fn iso(t: OffsetDateTime) -> String {
    t.to_offset(time::UtcOffset::UTC)
        .replace_nanosecond(0)
        .ok()
        .and_then(|t| t.format(&time::format_description::well_known::Rfc3339).ok())
        .unwrap_or_default()
}

/// X.500 names as Windows prints them: most specific first (`CN=..., O=..., C=...`).
fn windows_name(rfc: &str) -> String {
    let mut parts: Vec<&str> = rfc.split(", ").collect();
    if parts.first().is_some_and(|p| !p.starts_with("CN="))
        && parts.last().is_some_and(|p| p.starts_with("CN="))
    {
        parts.reverse();
    }
    parts.join(", ")
}

fn tls_certificate_name(issuer: &str, subject: &str) -> String {
    format!("<I>{issuer}<S>{subject}")
}

fn section(name: &str, cmdlet: &str, server: Option<&str>, now: OffsetDateTime, items: Vec<Value>) -> Value {
    json!({"name": name, "cmdlet": cmdlet, "server": server, "time": iso(now), "error": null, "items": items})
}

/// A certificate as `Get-ExchangeCertificate` shows it.
fn cert_item(info: &CertInfo, der: Option<&[u8]>, services: &str, friendly: &str) -> Value {
    let issuer = windows_name(&info.issuer);
    let subject = windows_name(&info.subject);
    json!({
        "Thumbprint": info.sha1_thumbprint,
        "Subject": subject,
        "Issuer": issuer,
        "CertificateDomains": info.dns_names,
        "NotBefore": iso(info.not_before),
        "NotAfter": iso(info.not_after),
        "Services": services,
        "Status": "Valid",
        "HasPrivateKey": true,
        "IsSelfSigned": info.self_issued,
        "FriendlyName": friendly,
        "RawData": der.map(|d| BASE64.encode(d)),
    })
}

/// The default self-signed certificate Exchange setup creates on each server (no DER: the lab does
/// not issue it).
fn default_cert(server: &str, fqdn: &str, now: OffsetDateTime) -> Value {
    let thumb = HEXUPPER.encode(&sha1::Sha1::digest(format!("self-signed {fqdn}").as_bytes()));
    json!({
        "Thumbprint": thumb,
        "Subject": format!("CN={server}"),
        "Issuer": format!("CN={server}"),
        "CertificateDomains": [server, fqdn],
        "NotBefore": iso(now - Duration::days(400)),
        "NotAfter": iso(now + Duration::days(1425)),
        "Services": "IMAP, POP, IIS, SMTP",
        "Status": "Valid",
        "HasPrivateKey": true,
        "IsSelfSigned": true,
        "FriendlyName": "Microsoft Exchange",
        "RawData": null,
    })
}

fn build(info: &LabInfo, edge: bool, fault: ExportFault, now: OffsetDateTime) -> Result<Value, LabError> {
    let chain = load_chain_file(&info.onprem_cert_file).map_err(|e| LabError::Io {
        what: format!("read {}", info.onprem_cert_file.display()),
        source: std::io::Error::other(e.to_string()),
    })?;
    let der = chain.first().map(|c| c.as_ref().to_vec()).unwrap_or_default();
    let leaf = parse_certificate(&der).map_err(|e| LabError::Io {
        what: "parse the lab's on-premises certificate".into(),
        source: std::io::Error::other(e.to_string()),
    })?;
    let issuer = windows_name(&leaf.issuer);
    let subject = windows_name(&leaf.subject);
    let named = tls_certificate_name(&issuer, &subject);
    let t = now - Duration::minutes(5);

    let two_mailboxes = fault == ExportFault::ReceiveCertStale && !edge;
    let mut mailboxes = vec![("EX01", names::MAILBOX_HOST.to_string())];
    if two_mailboxes {
        mailboxes.push(("EX02", "ex02.contoso.com".to_string()));
    }
    let edge_name = "EDGE01";
    // The servers EOP connects to and that send to EOP.
    let facing: Vec<(&str, String)> = if edge {
        vec![(edge_name, names::EDGE_HOST.to_string())]
    } else {
        mailboxes.clone()
    };

    let mut servers: Vec<Value> = mailboxes
        .iter()
        .map(|(n, f)| {
            json!({
                "Name": n,
                "Fqdn": f,
                "ServerRole": "Mailbox",
                "AdminDisplayVersion": "Version 15.2 (Build 1544.4)",
                "Site": "contoso.com/Configuration/Sites/Default-First-Site-Name",
                "IsEdgeServer": false,
                "Edition": "Standard",
            })
        })
        .collect();
    if edge {
        servers.push(json!({
            "Name": edge_name,
            "Fqdn": names::EDGE_HOST,
            "ServerRole": "Edge",
            "AdminDisplayVersion": "Version 15.2 (Build 1544.4)",
            "Site": null,
            "IsEdgeServer": true,
            "Edition": "Standard",
        }));
    }
    let mut sections = vec![section(
        "exchange_servers",
        "Get-ExchangeServer",
        None,
        t,
        servers,
    )];

    // Per server: certificates, receive connectors, queues.
    let all: Vec<(&str, String, bool)> = mailboxes
        .iter()
        .map(|(n, f)| (*n, f.clone(), !edge))
        .chain(edge.then(|| (edge_name, names::EDGE_HOST.to_string(), true)))
        .collect();
    for (server, fqdn, faces_eop) in &all {
        let mut certs = vec![default_cert(server, fqdn, now)];
        let mut receive_name = named.clone();
        if *faces_eop {
            let services = if fault == ExportFault::CertNotSmtp {
                "IIS"
            } else {
                "IIS, SMTP"
            };
            certs.push(cert_item(&leaf, Some(&der), services, "mail.contoso.com (lab)"));
            if *server == "EX02" && fault == ExportFault::ReceiveCertStale {
                // The previous certificate: same names, issued by the CA's earlier intermediate,
                // expired ten days ago; EX02's connector still names it.
                let old_issuer = format!("{issuer} (2024)");
                let old = json!({
                    "Thumbprint": HEXUPPER.encode(&sha1::Sha1::digest(b"previous mail.contoso.com")),
                    "Subject": subject,
                    "Issuer": old_issuer,
                    "CertificateDomains": leaf.dns_names,
                    "NotBefore": iso(now - Duration::days(375)),
                    "NotAfter": iso(now - Duration::days(10)),
                    "Services": "SMTP",
                    "Status": "DateInvalid",
                    "HasPrivateKey": true,
                    "IsSelfSigned": false,
                    "FriendlyName": "mail.contoso.com (previous)",
                    "RawData": null,
                });
                certs.push(old);
                receive_name = tls_certificate_name(&old_issuer, &subject);
            }
        }
        sections.push(section(
            "exchange_certificates",
            "Get-ExchangeCertificate",
            Some(server),
            t,
            certs,
        ));
        let receive = if *faces_eop {
            let connector = if edge {
                format!("Default internal receive connector {server}")
            } else {
                format!("Default Frontend {server}")
            };
            vec![json!({
                "Identity": format!("{server}\\{connector}"),
                "Name": connector,
                "Server": server,
                "Enabled": true,
                "TransportRole": if edge { "HubTransport" } else { "FrontendTransport" },
                "Bindings": ["[::]:25", "0.0.0.0:25"],
                "RemoteIPRanges": ["::-ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "0.0.0.0-255.255.255.255"],
                "Fqdn": names::PUBLIC_HOST,
                "TlsCertificateName": receive_name,
                "TlsDomainCapabilities": [format!("{}:AcceptCloudServicesMail", names::EOP_TLS_DOMAIN)],
                "AuthMechanism": "Tls, Integrated, BasicAuth, BasicAuthRequireTLS, ExchangeServer",
                "PermissionGroups": "AnonymousUsers, ExchangeServers, ExchangeLegacyServers, Partners",
                "RequireTLS": false,
            })]
        } else {
            vec![json!({
                "Identity": format!("{server}\\Default Frontend {server}"),
                "Name": format!("Default Frontend {server}"),
                "Server": server,
                "Enabled": true,
                "TransportRole": "FrontendTransport",
                "Bindings": ["[::]:25", "0.0.0.0:25"],
                "RemoteIPRanges": ["0.0.0.0-255.255.255.255"],
                "Fqdn": fqdn,
                "TlsCertificateName": null,
                "TlsDomainCapabilities": [],
                "AuthMechanism": "Tls, Integrated, BasicAuth, BasicAuthRequireTLS, ExchangeServer",
                "PermissionGroups": "AnonymousUsers, ExchangeServers, ExchangeLegacyServers",
                "RequireTLS": false,
            })]
        };
        sections.push(section(
            "receive_connectors",
            "Get-ReceiveConnector",
            Some(server),
            t,
            receive,
        ));
        sections.push(section(
            "queues",
            "Get-Queue",
            Some(server),
            t,
            vec![json!({
                "Identity": format!("{server}\\Submission"),
                "DeliveryType": "Undefined",
                "NextHopDomain": "Submission",
                "Status": "Ready",
                "MessageCount": 0,
                "LastError": null,
                "LastRetryTime": null,
                "NextRetryTime": null,
            })],
        ));
    }

    let facing_names: Vec<&str> = facing.iter().map(|(n, _)| *n).collect();
    sections.push(section(
        "send_connectors",
        "Get-SendConnector",
        None,
        t,
        vec![json!({
            "Identity": "Outbound to Office 365 - 0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0",
            "Name": "Outbound to Office 365 - 0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0",
            "Enabled": true,
            "AddressSpaces": [format!("smtp:{};1", names::ROUTING_DOMAIN)],
            "SmartHosts": [],
            "DNSRoutingEnabled": true,
            "SourceTransportServers": facing_names,
            "Fqdn": names::PUBLIC_HOST,
            "TlsAuthLevel": "DomainValidation",
            "TlsDomain": names::EOP_TLS_DOMAIN,
            "TlsCertificateName": named,
            "RequireTLS": true,
            "IgnoreSTARTTLS": false,
            "CloudServicesMailEnabled": true,
            "IsScopedConnector": false,
            "Port": 25,
        })],
    ));
    let mailbox_names: Vec<&str> = mailboxes.iter().map(|(n, _)| *n).collect();
    sections.push(section(
        "hybrid_configuration",
        "Get-HybridConfiguration",
        None,
        t,
        vec![json!({
            "Domains": [names::DOMAIN, names::ROUTING_DOMAIN],
            "Features": "FreeBusy, MoveMailbox, Mailtips, MessageTracking, OwaRedirection, OnlineArchive, SecureMail, Photos",
            "TlsCertificateName": named,
            "SendingTransportServers": if edge { Vec::new() } else { mailbox_names.clone() },
            "ReceivingTransportServers": if edge { Vec::new() } else { mailbox_names.clone() },
            "EdgeTransportServers": if edge { vec![edge_name] } else { Vec::new() },
            "OnPremisesSmartHost": names::PUBLIC_HOST,
            "ServiceInstance": 0,
        })],
    ));
    sections.push(section(
        "accepted_domains",
        "Get-AcceptedDomain",
        None,
        t,
        vec![
            json!({
                "Name": names::DOMAIN,
                "DomainName": names::DOMAIN,
                "DomainType": "Authoritative",
                "Default": true,
            }),
            json!({
                "Name": names::ROUTING_DOMAIN,
                "DomainName": names::ROUTING_DOMAIN,
                "DomainType": "Authoritative",
                "Default": false,
            }),
        ],
    ));
    sections.push(section(
        "remote_domains",
        "Get-RemoteDomain",
        None,
        t,
        vec![
            json!({
                "Name": "Default",
                "DomainName": "*",
                "TargetDeliveryDomain": false,
                "TrustedMailInboundEnabled": false,
                "TrustedMailOutboundEnabled": false,
            }),
            json!({
                "Name": "Hybrid Domain - contoso.mail.onmicrosoft.com",
                "DomainName": names::ROUTING_DOMAIN,
                "TargetDeliveryDomain": true,
                "TrustedMailInboundEnabled": true,
                "TrustedMailOutboundEnabled": true,
            }),
        ],
    ));
    let subscriptions: Vec<Value> = if edge {
        vec![json!({
            "Name": edge_name,
            "Site": "contoso.com/Configuration/Sites/Default-First-Site-Name",
            "Domain": names::DOMAIN,
        })]
    } else {
        Vec::new()
    };
    sections.push(section(
        "edge_subscriptions",
        "Get-EdgeSubscription",
        None,
        t,
        subscriptions,
    ));
    if edge {
        sections.push(section(
            "edge_synchronization",
            "Test-EdgeSynchronization",
            None,
            t,
            vec![json!({
                "Name": edge_name,
                "SyncStatus": "Normal",
                "LeaseHolder": "EX01",
                "LeaseType": "Option",
                "LeaseExpiryUtc": iso(now + Duration::hours(1)),
                "LastSynchronizedUtc": iso(now - Duration::minutes(3)),
                "FailureDetail": null,
            })],
        ));
    }

    // The Exchange Online half.
    let sender_name = if fault == ExportFault::ExoConnectorDrift {
        "smtp.contoso.com"
    } else {
        names::PUBLIC_HOST
    };
    let mut exo_domains = vec![
        json!({
            "Name": names::ONMICROSOFT_DOMAIN,
            "DomainName": names::ONMICROSOFT_DOMAIN,
            "DomainType": "Authoritative",
            "Default": fault == ExportFault::Attr36,
            "InitialDomain": true,
        }),
        json!({
            "Name": names::ROUTING_DOMAIN,
            "DomainName": names::ROUTING_DOMAIN,
            "DomainType": "Authoritative",
            "Default": false,
            "InitialDomain": false,
        }),
    ];
    if fault != ExportFault::Attr36 {
        exo_domains.insert(
            0,
            json!({
                "Name": names::DOMAIN,
                "DomainName": names::DOMAIN,
                "DomainType": "Authoritative",
                "Default": true,
                "InitialDomain": false,
            }),
        );
    }
    sections.extend([
        section(
            "exo_connection",
            "Get-ConnectionInformation",
            None,
            t,
            vec![json!({
                "TenantID": "00000000-0000-4000-8000-00000000c0de",
                "Organization": null,
                "ConnectionUri": "https://outlook.office365.com",
                "UserPrincipalName": "admin@contoso.onmicrosoft.com",
            })],
        ),
        section(
            "exo_organization_config",
            "Get-OrganizationConfig",
            None,
            t,
            vec![json!({
                "Name": names::ONMICROSOFT_DOMAIN,
                "DisplayName": "Contoso",
                "RejectDirectSend": false,
            })],
        ),
        section("exo_accepted_domains", "Get-AcceptedDomain", None, t, exo_domains),
        section(
            "exo_inbound_connectors",
            "Get-InboundConnector",
            None,
            t,
            vec![json!({
                "Name": "Inbound from 0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0",
                "Enabled": true,
                "ConnectorType": "OnPremises",
                "ConnectorSource": "HybridWizard",
                "RequireTls": true,
                "TlsSenderCertificateName": sender_name,
                "SenderIPAddresses": [],
                "CloudServicesMailEnabled": true,
            })],
        ),
        section(
            "exo_outbound_connectors",
            "Get-OutboundConnector",
            None,
            t,
            vec![json!({
                "Name": "Outbound to 0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0",
                "Enabled": true,
                "ConnectorType": "OnPremises",
                "ConnectorSource": "HybridWizard",
                "SmartHosts": [names::PUBLIC_HOST],
                "UseMXRecord": false,
                "RecipientDomains": [names::DOMAIN],
                "TlsSettings": "DomainValidation",
                "TlsDomain": names::PUBLIC_HOST,
                "RouteAllMessagesViaOnPremises": false,
                "CloudServicesMailEnabled": true,
                "IsValidated": true,
                "LastValidationTimestamp": iso(now - Duration::days(10)),
                "SmtpDaneMode": "Opportunistic",
            })],
        ),
    ]);
    Ok(json!({
        "schema": crate::exchange::SCHEMA,
        "script_version": "1.1.0",
        "generated": iso(now),
        "computer": "EX01",
        "sections": sections,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::Status;
    use crate::checks::audit::{AuditInput, Served, audit};
    use crate::exchange::Export;

    /// Start `name`, write its export, read it back and audit it with the certificate the lab serves.
    async fn audited(name: &str) -> Vec<crate::check::CheckResult> {
        let lab = start(name, LabOptions::default()).await.unwrap();
        let now = OffsetDateTime::now_utc();
        let doc = export(&lab, name, now).unwrap();
        let export = Export::parse(doc.to_string().as_bytes(), name).unwrap();
        assert!(export.problems.is_empty(), "{name}: {:#?}", export.problems);
        let profile = crate::profile::Profile::load(&lab.info().profile_file).unwrap();
        let chain = load_chain_file(&lab.info().onprem_cert_file).unwrap();
        let served = vec![Served {
            host: names::PUBLIC_HOST.to_string(),
            leaf: parse_certificate(chain[0].as_ref()).unwrap(),
        }];
        let results = audit(&AuditInput {
            profile: &profile,
            export: &export,
            now,
            served: &served,
            probed: true,
        });
        lab.shutdown().await;
        results
    }

    fn worst<'a>(results: &'a [crate::check::CheckResult], id: &str) -> (Status, &'a str) {
        results
            .iter()
            .filter(|r| r.id == id)
            .max_by_key(|r| r.status)
            .map(|r| (r.status, r.summary.as_str()))
            .unwrap_or_else(|| panic!("no {id}"))
    }

    #[tokio::test]
    async fn the_lab_writes_only_sections_and_properties_the_script_writes() {
        let script = crate::exchange::tests::script_sections();
        for name in ["healthy-edge", "receive-cert-stale"] {
            let lab = start(name, LabOptions::default()).await.unwrap();
            let doc = export(&lab, name, OffsetDateTime::now_utc()).unwrap();
            lab.shutdown().await;
            for section in doc["sections"].as_array().unwrap() {
                let section_name = section["name"].as_str().unwrap();
                let Some((_, cmdlet, written)) = script.iter().find(|(n, _, _)| n == section_name) else {
                    panic!("{name}: the script writes no section {section_name}");
                };
                assert_eq!(
                    section["cmdlet"].as_str(),
                    Some(cmdlet.as_str()),
                    "{section_name}"
                );
                for item in section["items"].as_array().unwrap() {
                    for key in item.as_object().unwrap().keys() {
                        assert!(
                            written.contains(key),
                            "{name}: {section_name}.{key} is not written by the script"
                        );
                    }
                }
            }
        }
    }

    #[tokio::test]
    async fn a_healthy_labs_export_passes_the_audit_and_each_fault_is_found() {
        for base in ["healthy-direct", "healthy-edge"] {
            let results = audited(base).await;
            let bad: Vec<_> = results.iter().filter(|r| r.status >= Status::Warn).collect();
            assert!(bad.is_empty(), "{base}: {bad:#?}");
            assert_eq!(worst(&results, "config.cert.served").0, Status::Pass, "{base}");
        }
        let results = audited("cert-not-smtp").await;
        assert_eq!(worst(&results, "config.cert.smtp").0, Status::Fail);
        assert_eq!(worst(&results, "config.edge.subscription").0, Status::Pass);
        let results = audited("exo-connector-drift").await;
        let (status, summary) = worst(&results, "config.cert.names");
        assert_eq!(status, Status::Fail);
        assert!(summary.contains("smtp.contoso.com"), "{summary}");
        let results = audited("attr36").await;
        assert_eq!(worst(&results, "config.cert.accepted_domain").0, Status::Fail);
        let results = audited("receive-cert-stale").await;
        let installed = results
            .iter()
            .find(|r| r.id == "config.cert.expiry" && r.target.contains("EX02"))
            .unwrap();
        assert_eq!(installed.status, Status::Fail, "{installed:#?}");
        assert_eq!(worst(&results, "config.cert.same_everywhere").0, Status::Warn);
        assert_eq!(worst(&results, "config.cert.served").0, Status::Warn);
    }
}
