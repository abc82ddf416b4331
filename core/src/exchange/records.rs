//! The records of an export: one struct per section, with the cmdlets' own property names.
//!
//! Each struct lists exactly the properties mailpath reads; the export script writes these (and a few
//! more for people). [`SECTIONS`] names every section with its cmdlet and the properties read from it,
//! and a test parses `assets/Export-MailpathConfig.ps1` to prove the script writes each of them.

use serde::Deserialize;

use super::ps::{Enum, Flags, Ps, When};

/// One section the importer reads: its name in the file, the cmdlet behind it, the properties read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SectionDef {
    /// The section's `name` in the export (`receive_connectors`).
    pub name: &'static str,
    /// The cmdlet that fills it (`Get-ReceiveConnector`).
    pub cmdlet: &'static str,
    /// The properties read from each item.
    pub fields: &'static [&'static str],
}

/// A record type of one section.
pub trait Record: for<'de> Deserialize<'de> + Default {
    /// The section's name.
    const SECTION: &'static str;
    /// The cmdlet.
    const CMDLET: &'static str;
    /// The properties read.
    const FIELDS: &'static [&'static str];
    /// The properties that were present but unreadable, with what was found.
    fn unreadable(&self) -> Vec<(&'static str, &str)>;
    /// How messages name one item (its identity, name or thumbprint).
    fn label(&self) -> Option<&str>;
}

macro_rules! records {
    ($(
        $(#[$doc:meta])*
        $name:ident ($section:literal, $cmdlet:literal, label: [$($label:ident),*]) {
            $( $(#[$fdoc:meta])* $field:ident: $ty:ty = $ps:literal, )*
        }
    )*) => {
        $(
            $(#[$doc])*
            #[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
            #[serde(default)]
            pub struct $name {
                $( $(#[$fdoc])* #[serde(rename = $ps)] pub $field: Ps<$ty>, )*
            }

            impl Record for $name {
                const SECTION: &'static str = $section;
                const CMDLET: &'static str = $cmdlet;
                const FIELDS: &'static [&'static str] = &[$($ps),*];

                fn unreadable(&self) -> Vec<(&'static str, &str)> {
                    let mut found = Vec::new();
                    $( if let Some(why) = self.$field.unreadable() { found.push(($ps, why)); } )*
                    found
                }

                fn label(&self) -> Option<&str> {
                    None$(.or_else(|| self.$label.text()))*
                }
            }
        )*

        /// Every section the importer reads, in the order the script writes them.
        pub const SECTIONS: &[SectionDef] = &[
            $( SectionDef { name: $section, cmdlet: $cmdlet, fields: <$name as Record>::FIELDS }, )*
        ];
    };
}

records! {
    /// `Get-ExchangeServer`: the organisation's Exchange servers.
    ExchangeServer("exchange_servers", "Get-ExchangeServer", label: [name]) {
        /// `Name` (the NetBIOS name, `EX01`).
        name: String = "Name",
        /// `Fqdn`.
        fqdn: String = "Fqdn",
        /// `ServerRole` (`Mailbox`, `Edge`).
        server_role: Flags = "ServerRole",
        /// `AdminDisplayVersion` (`Version 15.2 (Build 1544.4)`).
        version: String = "AdminDisplayVersion",
        /// `Site`.
        site: String = "Site",
        /// `IsEdgeServer`.
        is_edge: bool = "IsEdgeServer",
    }

    /// `Get-ExchangeCertificate -Server`: the certificates installed on one server (public part only).
    ExchangeCertificate("exchange_certificates", "Get-ExchangeCertificate", label: [thumbprint, subject]) {
        /// `Thumbprint` (SHA-1, hex).
        thumbprint: String = "Thumbprint",
        /// `Subject` (`CN=mail.contoso.com, O=Contoso, C=US`).
        subject: String = "Subject",
        /// `Issuer`.
        issuer: String = "Issuer",
        /// `CertificateDomains`: the names it carries.
        domains: Vec<String> = "CertificateDomains",
        /// `NotBefore`.
        not_before: When = "NotBefore",
        /// `NotAfter`.
        not_after: When = "NotAfter",
        /// `Services` (`IIS, SMTP`): what it is enabled for.
        services: Flags = "Services",
        /// `Status` (`Valid`, `DateInvalid`, `Invalid`, `PendingRequest`, `RevocationCheckFailure`,
        /// `Revoked`, `Unknown`, `Untrusted`).
        status: Enum = "Status",
        /// `HasPrivateKey`.
        has_private_key: bool = "HasPrivateKey",
        /// `IsSelfSigned`.
        is_self_signed: bool = "IsSelfSigned",
        /// `FriendlyName`.
        friendly_name: String = "FriendlyName",
        /// `RawData`: the DER certificate, base64.
        raw_data: String = "RawData",
    }

    /// `Get-ReceiveConnector -Server`: one server's receive connectors.
    ReceiveConnector("receive_connectors", "Get-ReceiveConnector", label: [identity, name]) {
        /// `Identity` (`EX01\Default Frontend EX01`).
        identity: String = "Identity",
        /// `Name`.
        name: String = "Name",
        /// `Server`.
        server: String = "Server",
        /// `Enabled`.
        enabled: bool = "Enabled",
        /// `TransportRole` (`FrontendTransport`, `HubTransport`).
        transport_role: Enum = "TransportRole",
        /// `Bindings` (`[::]:25`, `0.0.0.0:25`).
        bindings: Vec<String> = "Bindings",
        /// `RemoteIPRanges`.
        remote_ip_ranges: Vec<String> = "RemoteIPRanges",
        /// `Fqdn`.
        fqdn: String = "Fqdn",
        /// `TlsCertificateName` (`<I>issuer<S>subject`).
        tls_certificate_name: String = "TlsCertificateName",
        /// `TlsDomainCapabilities` (`mail.protection.outlook.com:AcceptCloudServicesMail`).
        tls_domain_capabilities: Vec<String> = "TlsDomainCapabilities",
        /// `AuthMechanism`.
        auth_mechanism: Flags = "AuthMechanism",
        /// `PermissionGroups`.
        permission_groups: Flags = "PermissionGroups",
        /// `RequireTLS`.
        require_tls: bool = "RequireTLS",
    }

    /// `Get-Queue -Server`: one server's delivery queues.
    Queue("queues", "Get-Queue", label: [identity, next_hop_domain]) {
        /// `Identity` (`EX01\15`).
        identity: String = "Identity",
        /// `DeliveryType` (`SmtpRelayToRemoteAdSite`, `DnsConnectorDelivery`, ...).
        delivery_type: Enum = "DeliveryType",
        /// `NextHopDomain`.
        next_hop_domain: String = "NextHopDomain",
        /// `Status` (`Active`, `Ready`, `Retry`, `Suspended`).
        status: Enum = "Status",
        /// `MessageCount`.
        message_count: i64 = "MessageCount",
        /// `LastError`.
        last_error: String = "LastError",
        /// `LastRetryTime`.
        last_retry: When = "LastRetryTime",
    }

    /// `Get-SendConnector`: the organisation's send connectors.
    SendConnector("send_connectors", "Get-SendConnector", label: [identity, name]) {
        /// `Identity`.
        identity: String = "Identity",
        /// `Name`.
        name: String = "Name",
        /// `Enabled`.
        enabled: bool = "Enabled",
        /// `AddressSpaces` (`SMTP:contoso.mail.onmicrosoft.com;1`).
        address_spaces: Vec<String> = "AddressSpaces",
        /// `SmartHosts` (host names, or IP addresses in brackets).
        smart_hosts: Vec<String> = "SmartHosts",
        /// `DNSRoutingEnabled`.
        dns_routing: bool = "DNSRoutingEnabled",
        /// `SourceTransportServers`: the servers that send through it.
        source_servers: Vec<String> = "SourceTransportServers",
        /// `Fqdn`.
        fqdn: String = "Fqdn",
        /// `TlsAuthLevel`.
        tls_auth_level: Enum = "TlsAuthLevel",
        /// `TlsDomain`.
        tls_domain: String = "TlsDomain",
        /// `TlsCertificateName`.
        tls_certificate_name: String = "TlsCertificateName",
        /// `RequireTLS`.
        require_tls: bool = "RequireTLS",
        /// `CloudServicesMailEnabled`.
        cloud_services_mail: bool = "CloudServicesMailEnabled",
        /// `Port`.
        port: i64 = "Port",
    }

    /// `Get-HybridConfiguration`: what the Hybrid Configuration Wizard recorded.
    HybridConfiguration("hybrid_configuration", "Get-HybridConfiguration", label: []) {
        /// `Domains`: the hybrid domains.
        domains: Vec<String> = "Domains",
        /// `Features` (`Centralized` means centralized mail transport).
        features: Flags = "Features",
        /// `TlsCertificateName`.
        tls_certificate_name: String = "TlsCertificateName",
        /// `SendingTransportServers`.
        sending_servers: Vec<String> = "SendingTransportServers",
        /// `ReceivingTransportServers`.
        receiving_servers: Vec<String> = "ReceivingTransportServers",
        /// `EdgeTransportServers`.
        edge_servers: Vec<String> = "EdgeTransportServers",
        /// `OnPremisesSmartHost`.
        on_premises_smart_host: String = "OnPremisesSmartHost",
        /// `ServiceInstance` (1: Office 365 operated by 21Vianet).
        service_instance: i64 = "ServiceInstance",
    }

    /// `Get-AcceptedDomain` on-premises.
    AcceptedDomain("accepted_domains", "Get-AcceptedDomain", label: [domain_name, name]) {
        /// `DomainName`.
        domain_name: String = "DomainName",
        /// `DomainType` (`Authoritative`, `InternalRelay`, `ExternalRelay`).
        domain_type: Enum = "DomainType",
        /// `Default`.
        default: bool = "Default",
        /// `Name`.
        name: String = "Name",
    }

    /// `Get-RemoteDomain` on-premises.
    RemoteDomain("remote_domains", "Get-RemoteDomain", label: [domain_name, name]) {
        /// `DomainName`.
        domain_name: String = "DomainName",
        /// `TargetDeliveryDomain`.
        target_delivery_domain: bool = "TargetDeliveryDomain",
        /// `Name`.
        name: String = "Name",
    }

    /// `Get-EdgeSubscription`: the subscribed Edge servers.
    EdgeSubscription("edge_subscriptions", "Get-EdgeSubscription", label: [name]) {
        /// `Name` (the Edge server).
        name: String = "Name",
        /// `Site`.
        site: String = "Site",
    }

    /// `Test-EdgeSynchronization -ExcludeRecipientTest`: one subscribed Edge's synchronisation.
    EdgeSyncStatus("edge_synchronization", "Test-EdgeSynchronization", label: [name]) {
        /// `Name` (the Edge server).
        name: String = "Name",
        /// `SyncStatus` (`Normal`, `Failed`, `Inconclusive`, `NoSyncConfigured`).
        sync_status: Enum = "SyncStatus",
        /// `LastSynchronizedUtc`.
        last_synchronized: When = "LastSynchronizedUtc",
        /// `FailureDetail`.
        failure_detail: String = "FailureDetail",
    }

    /// `Get-ConnectionInformation` in an Exchange Online session: the tenant.
    ExoConnection("exo_connection", "Get-ConnectionInformation", label: [organization]) {
        /// `TenantID`.
        tenant_id: String = "TenantID",
        /// `Organization` (set for app-only connections).
        organization: String = "Organization",
        /// `ConnectionUri` (`https://outlook.office365.com`, `.us` or `.cn` in other clouds).
        connection_uri: String = "ConnectionUri",
        /// `UserPrincipalName`.
        user: String = "UserPrincipalName",
    }

    /// `Get-OrganizationConfig` in Exchange Online.
    ExoOrganizationConfig("exo_organization_config", "Get-OrganizationConfig", label: [name]) {
        /// `Name` (`contoso.onmicrosoft.com`).
        name: String = "Name",
        /// `RejectDirectSend`.
        reject_direct_send: bool = "RejectDirectSend",
    }

    /// `Get-AcceptedDomain` in Exchange Online.
    ExoAcceptedDomain("exo_accepted_domains", "Get-AcceptedDomain", label: [domain_name, name]) {
        /// `DomainName`.
        domain_name: String = "DomainName",
        /// `DomainType`.
        domain_type: Enum = "DomainType",
        /// `Default`.
        default: bool = "Default",
        /// `InitialDomain` (the tenant's `*.onmicrosoft.com` domain).
        initial: bool = "InitialDomain",
        /// `Name`.
        name: String = "Name",
    }

    /// `Get-InboundConnector` in Exchange Online.
    InboundConnector("exo_inbound_connectors", "Get-InboundConnector", label: [name]) {
        /// `Name`.
        name: String = "Name",
        /// `Enabled`.
        enabled: bool = "Enabled",
        /// `ConnectorType` (`OnPremises`, `Partner`).
        connector_type: Enum = "ConnectorType",
        /// `ConnectorSource` (`HybridWizard`, `Default`).
        connector_source: Enum = "ConnectorSource",
        /// `RequireTls`.
        require_tls: bool = "RequireTls",
        /// `TlsSenderCertificateName`.
        tls_sender_certificate_name: String = "TlsSenderCertificateName",
        /// `SenderIPAddresses`.
        sender_ip_addresses: Vec<String> = "SenderIPAddresses",
        /// `CloudServicesMailEnabled`.
        cloud_services_mail: bool = "CloudServicesMailEnabled",
    }

    /// `Get-OutboundConnector` in Exchange Online.
    OutboundConnector("exo_outbound_connectors", "Get-OutboundConnector", label: [name]) {
        /// `Name`.
        name: String = "Name",
        /// `Enabled`.
        enabled: bool = "Enabled",
        /// `ConnectorType`.
        connector_type: Enum = "ConnectorType",
        /// `ConnectorSource`.
        connector_source: Enum = "ConnectorSource",
        /// `SmartHosts`.
        smart_hosts: Vec<String> = "SmartHosts",
        /// `UseMXRecord`.
        use_mx_record: bool = "UseMXRecord",
        /// `RecipientDomains`.
        recipient_domains: Vec<String> = "RecipientDomains",
        /// `TlsSettings`.
        tls_settings: Enum = "TlsSettings",
        /// `TlsDomain`.
        tls_domain: String = "TlsDomain",
        /// `RouteAllMessagesViaOnPremises` (centralized mail transport).
        route_all_via_on_premises: bool = "RouteAllMessagesViaOnPremises",
        /// `CloudServicesMailEnabled`.
        cloud_services_mail: bool = "CloudServicesMailEnabled",
        /// `IsValidated`.
        is_validated: bool = "IsValidated",
        /// `LastValidationTimestamp`.
        last_validation: When = "LastValidationTimestamp",
        /// `SmtpDaneMode`.
        smtp_dane_mode: Enum = "SmtpDaneMode",
    }
}

/// Whether a name is an `InternalRelay`/`Authoritative` accepted domain's shape (`*.contoso.com`
/// covers subdomains).
pub fn domain_covers(accepted: &str, name: &str) -> bool {
    let a = accepted.trim().trim_end_matches('.').to_ascii_lowercase();
    let n = name
        .trim()
        .trim_start_matches("*.")
        .trim_end_matches('.')
        .to_ascii_lowercase();
    match a.strip_prefix("*.") {
        Some(base) => n == base || n.ends_with(&format!(".{base}")),
        None => n == a || n.ends_with(&format!(".{a}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_section_is_named_once() {
        let mut names: Vec<&str> = SECTIONS.iter().map(|s| s.name).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), SECTIONS.len());
        assert!(SECTIONS.iter().all(|s| !s.fields.is_empty()));
    }

    #[test]
    fn labels_and_unreadable_fields() {
        let c: ReceiveConnector = serde_json::from_value(serde_json::json!({
            "Identity": "EX01\\Default Frontend EX01",
            "RequireTLS": "perhaps",
            "Bindings": ["0.0.0.0:25"],
        }))
        .unwrap_or_default();
        assert_eq!(c.label(), Some("EX01\\Default Frontend EX01"));
        assert_eq!(c.bindings.list(), ["0.0.0.0:25"]);
        assert_eq!(
            c.unreadable(),
            [("RequireTLS", "expected True or False, found the text \"perhaps\"")]
        );
        assert!(domain_covers("contoso.com", "mail.contoso.com"));
        assert!(domain_covers("*.contoso.com", "contoso.com"));
        assert!(!domain_covers("contoso.com", "contoso.net"));
        assert!(!domain_covers("contoso.com", "notcontoso.com"));
    }
}
