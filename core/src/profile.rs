//! The hybrid profile: one Exchange hybrid deployment, described in TOML.
//!
//! A profile names the tenant and its accepted domains, the on-premises Mailbox and Edge servers, the four
//! connectors the Hybrid Configuration Wizard (HCW) creates, which DNS resolvers and trust anchors probes use,
//! the timeouts, and port overrides for labs. The format is documented field by field in `docs/profile.md`;
//! `assets/profiles/` holds two commented samples ([`SAMPLE_EDGE`], [`SAMPLE_DIRECT`]).
//!
//! ```
//! # use mailpath_core::profile::Profile;
//! let profile = Profile::from_toml_str(mailpath_core::profile::SAMPLE_EDGE, "contoso-edge.toml", None)?;
//! assert_eq!(profile.tenant.routing_domain(), "contoso.mail.onmicrosoft.com");
//! assert!(profile.uses_edge());
//! # Ok::<(), mailpath_core::profile::ProfileError>(())
//! ```
//!
//! Loading never stops at the first problem: TOML syntax errors are reported together; otherwise unknown keys,
//! wrong types and every semantic problem are reported together, each with its file, line, column and key
//! path (see [`ProfileError::Invalid`]).
//!
//! The structs hold plain values (no spans), so that a profile built in code (the GUI editor, `lab
//! --write-profile`) is as easy to use as a loaded one; [`Profile::validate`] checks such a profile and
//! returns problems without locations, and the loader finds the line and column of each problem from its key
//! path in the parsed document.
#![warn(missing_docs)]

mod edit;
mod error;
mod fields;
mod parse;
mod provenance;
mod validate;

#[cfg(test)]
mod tests;

use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};

pub use crate::cloud::{Cloud, CloudNames};
pub use edit::{EditError, location_in, set_location};
pub use error::{KeyPath, KeySegment, Location, Problem, ProfileError};
pub use fields::DNS_PORT;
pub use provenance::{ConnectorTable, Provenance, Sourced};

/// The SMTP port used when a host has no [`PortOverride`].
pub const SMTP_PORT: u16 = 25;
/// The EdgeSync (AD LDS over LDAPS) port of an Edge server, used when a host has no [`PortOverride`].
pub const EDGESYNC_PORT: u16 = 50636;
/// The largest timeout a profile accepts, in seconds.
pub const MAX_TIMEOUT_SECS: u64 = 600;
/// The longest `TlsCertificateName` EdgeSync can replicate (AD LDS `rangeUpper`, KB 4052493), in characters.
pub const MAX_TLS_CERTIFICATE_NAME_CHARS: usize = 256;

/// The sample profile with an Edge server (`assets/profiles/contoso-edge.toml`).
pub const SAMPLE_EDGE: &str = include_str!("../../assets/profiles/contoso-edge.toml");
/// The sample profile without an Edge server (`assets/profiles/contoso-direct.toml`).
pub const SAMPLE_DIRECT: &str = include_str!("../../assets/profiles/contoso-direct.toml");

/// One Exchange hybrid deployment.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Profile {
    /// A display name for reports and the GUI, such as `Contoso hybrid (Edge)`. Required.
    pub name: String,
    /// The Exchange configuration export(s) (`assets/Export-MailpathConfig.ps1`: one file, or the
    /// on-premises and Exchange Online halves) whose settings fill what this profile does not set (keys
    /// set here win), relative to the profile's directory. Written as a string or a list of strings.
    /// Read by [`crate::exchange::import::load_profile`]; the configuration audit (`config.*`) uses it too.
    #[serde(deserialize_with = "one_or_many", skip_serializing_if = "Vec::is_empty")]
    pub import: Vec<PathBuf>,
    /// The addresses Exchange Online Protection delivers from, instead of the list shipped with mailpath
    /// (`core/data/eop-ip-ranges.txt`): CIDR, `a-b` or single addresses. Empty: the shipped list.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub eop_ip_ranges: Vec<String>,
    /// The Microsoft 365 tenant. Required.
    pub tenant: Tenant,
    /// The on-premises Mailbox servers that handle hybrid transport (`[[mailbox]]`). At least one.
    #[serde(rename = "mailbox", skip_serializing_if = "Vec::is_empty")]
    pub mailboxes: Vec<MailboxServer>,
    /// The Edge Transport servers (`[[edge]]`). None means the Mailbox servers talk to EOP directly.
    #[serde(rename = "edge", skip_serializing_if = "Vec::is_empty")]
    pub edges: Vec<EdgeServer>,
    /// The four hybrid connectors, as the HCW configures them.
    pub connectors: Connectors,
    /// The DNS resolvers probes use.
    pub resolvers: Resolvers,
    /// The certificates probes trust.
    pub trust: Trust,
    /// The probe timeouts.
    pub timeouts: Timeouts,
    /// Where mailpath runs from (`[workstation]`): what it can and cannot observe.
    pub workstation: Workstation,
    /// Port overrides per host name (`[[ports]]`), for labs that listen on high ports.
    #[serde(rename = "ports", skip_serializing_if = "Vec::is_empty")]
    pub port_overrides: Vec<PortOverride>,
}

/// Where mailpath runs from (`[workstation]`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Workstation {
    /// The network this workstation is on. Default [`NetworkLocation::Lan`].
    pub location: NetworkLocation,
}

/// The network mailpath runs from: it decides which hops are expected to be observable. A hop that cannot
/// be observed from here is a `skip` that says why, never a `fail`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum NetworkLocation {
    /// The internal network, where the Mailbox servers are (the usual place for an admin's workstation). The
    /// Edge's internal listeners (SMTP 25, EdgeSync 50636) are usually not reachable from here: the DMZ
    /// firewall lets only the Mailbox servers in. DNS is the internal view (split DNS).
    #[default]
    Lan,
    /// The perimeter network, where the Edge Transport servers are. The Mailbox servers are usually not
    /// reachable from here.
    Dmz,
    /// Outside the organisation, where Exchange Online Protection and other senders are: only the public
    /// endpoints are reachable, and DNS is the public view.
    Internet,
}

impl NetworkLocation {
    /// Every location, in the order the GUI offers them.
    pub const ALL: [NetworkLocation; 3] = [
        NetworkLocation::Lan,
        NetworkLocation::Dmz,
        NetworkLocation::Internet,
    ];

    /// The profile's name (`lan`, `dmz`, `internet`).
    pub fn as_str(self) -> &'static str {
        match self {
            NetworkLocation::Lan => "lan",
            NetworkLocation::Dmz => "dmz",
            NetworkLocation::Internet => "internet",
        }
    }

    /// In words, after "from": `the LAN`, `the DMZ`, `the internet`.
    pub fn words(self) -> &'static str {
        match self {
            NetworkLocation::Lan => "the LAN",
            NetworkLocation::Dmz => "the DMZ",
            NetworkLocation::Internet => "the internet",
        }
    }
}

impl std::fmt::Display for NetworkLocation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The Microsoft 365 tenant (`[tenant]`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Tenant {
    /// The tenant name: `contoso` for `contoso.onmicrosoft.com`. Letters, digits and hyphens. Required.
    pub name: String,
    /// The accepted domains that are hybrid (shared between on-premises and the cloud). At least one; the
    /// first one also names the default EOP endpoint.
    pub accepted_domains: Vec<String>,
    /// The tenant's EOP endpoint (the MX target), when it is not the default derived from the first
    /// accepted domain (see [`Tenant::eop_endpoint`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub eop_endpoint: Option<String>,
    /// The Microsoft 365 cloud the tenant lives in, which names Microsoft's side (EOP, the routing domain,
    /// SPF). Default `commercial`.
    #[serde(skip_serializing_if = "is_commercial")]
    pub cloud: Cloud,
}

fn is_commercial(cloud: &Cloud) -> bool {
    *cloud == Cloud::Commercial
}

impl Tenant {
    /// The names of the tenant's cloud.
    pub fn cloud_names(&self) -> &'static CloudNames {
        self.cloud.names()
    }

    /// `<name>.onmicrosoft.com` (`.onmicrosoft.us`, `.partner.onmschina.cn` in other clouds), lower case:
    /// the tenant's initial domain.
    pub fn onmicrosoft_domain(&self) -> String {
        self.cloud_names().initial_domain(&self.name)
    }

    /// `<name>.mail.onmicrosoft.com` (`.mail.onmicrosoft.us`, `.mail.partner.onmschina.cn`), lower case: the
    /// coexistence (routing) domain that the on-premises send connector resolves by MX.
    pub fn routing_domain(&self) -> String {
        self.cloud_names().routing_domain(&self.name)
    }

    /// The EOP endpoint: [`eop_endpoint`](Tenant::eop_endpoint) when set; otherwise derived as the cloud
    /// names it ([`CloudNames::eop_endpoint`]): in the commercial cloud from the first accepted domain, dots
    /// replaced by hyphens (`contoso.com` -> `contoso-com.mail.protection.outlook.com`), in GCC High and DoD
    /// from the tenant name (`contoso.mail.protection.office365.us`).
    ///
    /// The derivation is only a guess for some domains: Microsoft adds a suffix to the token of a domain
    /// that contains hyphens (such as `contosotech-com01e`), and domains added since 2024 may get an
    /// `<token>.<zone>.mx.microsoft` endpoint. Set `eop_endpoint` from the admin center or the MX record then.
    pub fn eop_endpoint(&self) -> String {
        if let Some(endpoint) = &self.eop_endpoint {
            return endpoint.to_ascii_lowercase();
        }
        self.cloud_names()
            .eop_endpoint(&self.name, self.accepted_domains.first().map(String::as_str))
    }
}

/// An on-premises Mailbox server (`[[mailbox]]`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MailboxServer {
    /// The server's FQDN, such as `ex01.contoso.com`. Required.
    pub fqdn: String,
    /// Its IP address, when it should not (or cannot) be resolved.
    #[serde(deserialize_with = "fields::ip_opt", skip_serializing_if = "Option::is_none")]
    pub address: Option<IpAddr>,
}

/// An Edge Transport server (`[[edge]]`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct EdgeServer {
    /// The internal FQDN, which the Mailbox servers use (EdgeSync on 50636, the internal receive connector).
    /// Required.
    pub fqdn: String,
    /// The public FQDN, which EOP connects to and the Edge announces, such as `mail.contoso.com`. Required.
    pub external_fqdn: String,
    /// The internal IP address, when it should not be resolved.
    #[serde(deserialize_with = "fields::ip_opt", skip_serializing_if = "Option::is_none")]
    pub address: Option<IpAddr>,
    /// The public IP address EOP connects to, when it should not be resolved. It is not assumed to be the
    /// address outbound mail leaves from (NAT may differ): that is `[connectors.send] egress_addresses`.
    #[serde(deserialize_with = "fields::ip_opt", skip_serializing_if = "Option::is_none")]
    pub external_address: Option<IpAddr>,
    /// Whether this Edge handles hybrid transport (was selected in the HCW). Default `true`.
    pub hybrid: bool,
    /// The thumbprint (SHA-1, 40 hex digits; spaces and colons ignored) of the certificate the Edge
    /// subscription published: the one the Mailbox servers accept from this Edge over direct trust
    /// (`Get-ExchangeCertificate` on the Edge, the certificate with `Services` SMTP created at setup). Unknown
    /// when omitted.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subscription_thumbprint: Option<String>,
}

impl Default for EdgeServer {
    fn default() -> Self {
        EdgeServer {
            fqdn: String::new(),
            external_fqdn: String::new(),
            address: None,
            external_address: None,
            hybrid: true,
            subscription_thumbprint: None,
        }
    }
}

impl EdgeServer {
    /// [`subscription_thumbprint`](EdgeServer::subscription_thumbprint) in upper case without spaces or
    /// colons, as `Get-ExchangeCertificate` prints it.
    pub fn subscription_thumbprint(&self) -> Option<String> {
        self.subscription_thumbprint.as_deref().map(normalize_thumbprint)
    }
}

/// A certificate thumbprint in upper case, without the spaces and colons tools put between bytes.
pub fn normalize_thumbprint(thumbprint: &str) -> String {
    thumbprint
        .chars()
        .filter(|c| !c.is_whitespace() && *c != ':')
        .collect::<String>()
        .to_ascii_uppercase()
}

/// The four connectors the HCW creates (`[connectors.*]`).
///
/// A setting the profile does not state is `None`; its accessor (such as [`SendConnector::tls_domain`])
/// gives the value the HCW sets, marked [`Provenance::Assumed`], which checks show but never pass on. A
/// connector table copied from Exchange names the cmdlet it was read with (`observed`), and
/// its values are [`Provenance::Observed`]; otherwise they are [`Provenance::Stated`].
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Connectors {
    /// The on-premises send connector `Outbound to Office 365 - <guid>`.
    pub send: SendConnector,
    /// The on-premises receive connector (`Default Frontend <server>`, or the Edge's
    /// `Default internal Receive connector <edge>`).
    pub receive: ReceiveConnector,
    /// The Exchange Online inbound connector `Inbound from <guid>`.
    pub exo_inbound: ExoInboundConnector,
    /// The Exchange Online outbound connector `Outbound to <guid>`.
    pub exo_outbound: ExoOutboundConnector,
}

/// The TLS authentication level of a connector: `TlsAuthLevel` on an on-premises send connector,
/// `TlsSettings` on an Exchange Online outbound connector. Written with its Exchange name, case-insensitively.
///
/// It only says how the sending side validates the certificate of the server it delivers to (EOP's, for
/// the send connector). It does not decide attribution: Exchange Online attributes on-premises mail by the
/// certificate on-premises presents (TlsCertificateName) matching the inbound connector's
/// TlsSenderCertificateName.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum TlsAuthLevel {
    /// Encrypt, without checking the certificate.
    EncryptionOnly,
    /// Encrypt and require a trusted certificate.
    CertificateValidation,
    /// Encrypt, require a trusted certificate and that it names the expected domain (the HCW setting).
    #[default]
    DomainValidation,
}

impl TlsAuthLevel {
    /// The Exchange name, such as `DomainValidation`.
    pub fn as_str(self) -> &'static str {
        match self {
            TlsAuthLevel::EncryptionOnly => "EncryptionOnly",
            TlsAuthLevel::CertificateValidation => "CertificateValidation",
            TlsAuthLevel::DomainValidation => "DomainValidation",
        }
    }
}

impl std::fmt::Display for TlsAuthLevel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The `TlsDomainCapabilities` the HCW sets on the receive connector for `cloud`:
/// `<EOP's certificate domain>:AcceptCloudServicesMail`.
pub fn hcw_tls_domain_capabilities(cloud: Cloud) -> String {
    format!("{}:AcceptCloudServicesMail", cloud.names().eop_tls_domain)
}

/// The on-premises send connector `Outbound to Office 365 - <guid>` (`[connectors.send]`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SendConnector {
    /// The cmdlet these values were read with (`Get-SendConnector`); `None` when they
    /// were written by hand.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub observed: Option<String>,
    /// `Fqdn`: the name announced in EHLO and expected on the certificate, such as `mail.contoso.com`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fqdn: Option<String>,
    /// `TlsDomain`: the name EOP's certificate must carry ([`SendConnector::tls_domain`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tls_domain: Option<String>,
    /// `TlsAuthLevel` ([`SendConnector::tls_auth_level`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tls_auth_level: Option<TlsAuthLevel>,
    /// `TlsCertificateName`: `<I>issuer<S>subject` of the certificate offered to EOP, at most 256 characters.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tls_certificate_name: Option<String>,
    /// `RequireTLS` ([`SendConnector::require_tls`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub require_tls: Option<bool>,
    /// `CloudServicesMailEnabled`: keeps cross-premises headers ([`SendConnector::cloud_services_mail_enabled`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cloud_services_mail_enabled: Option<bool>,
    /// `SmartHosts`: where the connector relays instead of looking up the MX of the routing domain (the HCW
    /// sets none). Empty when none or unknown.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub smart_hosts: Vec<String>,
    /// The public addresses on-premises mail leaves from, after NAT: what EOP and internet receivers see,
    /// what SPF must authorise and whose PTR must name [`fqdn`](SendConnector::fqdn). Unknown when empty
    /// (the address a probe reached is never taken for it).
    #[serde(deserialize_with = "fields::ips", skip_serializing_if = "Vec::is_empty")]
    pub egress_addresses: Vec<IpAddr>,
}

impl ConnectorTable for SendConnector {
    fn observed(&self) -> Option<&str> {
        self.observed.as_deref()
    }
}

impl SendConnector {
    /// `TlsDomain`; the HCW sets the name on EOP's certificate in `cloud` (`mail.protection.outlook.com`).
    pub fn tls_domain(&self, cloud: Cloud) -> Sourced<String> {
        self.sourced(self.tls_domain.clone(), || {
            cloud.names().eop_tls_domain.to_string()
        })
    }

    /// `TlsAuthLevel`; the HCW sets `DomainValidation`.
    pub fn tls_auth_level(&self) -> Sourced<TlsAuthLevel> {
        self.sourced(self.tls_auth_level, TlsAuthLevel::default)
    }

    /// `RequireTLS`; the HCW sets `$true`.
    pub fn require_tls(&self) -> Sourced<bool> {
        self.sourced(self.require_tls, || true)
    }

    /// `CloudServicesMailEnabled`; the HCW sets `$true`.
    pub fn cloud_services_mail_enabled(&self) -> Sourced<bool> {
        self.sourced(self.cloud_services_mail_enabled, || true)
    }
}

/// The on-premises receive connector that accepts mail from EOP (`[connectors.receive]`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ReceiveConnector {
    /// The cmdlet these values were read with (`Get-ReceiveConnector`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub observed: Option<String>,
    /// `TlsDomainCapabilities`: `<domain>:<capability>[,<capability>...]`
    /// ([`ReceiveConnector::tls_domain_capabilities`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tls_domain_capabilities: Option<String>,
    /// `TlsCertificateName`: `<I>issuer<S>subject` of the certificate offered to EOP, at most 256 characters.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tls_certificate_name: Option<String>,
}

impl ConnectorTable for ReceiveConnector {
    fn observed(&self) -> Option<&str> {
        self.observed.as_deref()
    }
}

impl ReceiveConnector {
    /// `TlsDomainCapabilities`; the HCW sets [`hcw_tls_domain_capabilities`] of `cloud`.
    pub fn tls_domain_capabilities(&self, cloud: Cloud) -> Sourced<String> {
        self.sourced(self.tls_domain_capabilities.clone(), || {
            hcw_tls_domain_capabilities(cloud)
        })
    }
}

/// The Exchange Online inbound connector `Inbound from <guid>` (`[connectors.exo_inbound]`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ExoInboundConnector {
    /// The cmdlet these values were read with (`Get-InboundConnector`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub observed: Option<String>,
    /// `TlsSenderCertificateName`: the name the on-premises certificate must carry, such as
    /// `mail.contoso.com` or `*.contoso.com` (the domain and all its subdomains).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tls_sender_certificate_name: Option<String>,
    /// `RequireTls` ([`ExoInboundConnector::require_tls`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub require_tls: Option<bool>,
    /// `CloudServicesMailEnabled` ([`ExoInboundConnector::cloud_services_mail_enabled`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cloud_services_mail_enabled: Option<bool>,
}

impl ConnectorTable for ExoInboundConnector {
    fn observed(&self) -> Option<&str> {
        self.observed.as_deref()
    }
}

impl ExoInboundConnector {
    /// `RequireTls`; the HCW sets `$true`.
    pub fn require_tls(&self) -> Sourced<bool> {
        self.sourced(self.require_tls, || true)
    }

    /// `CloudServicesMailEnabled`; the HCW sets `$true`.
    pub fn cloud_services_mail_enabled(&self) -> Sourced<bool> {
        self.sourced(self.cloud_services_mail_enabled, || true)
    }
}

/// The Exchange Online outbound connector `Outbound to <guid>` (`[connectors.exo_outbound]`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ExoOutboundConnector {
    /// The cmdlet these values were read with (`Get-OutboundConnector`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub observed: Option<String>,
    /// `SmartHosts`: where Exchange Online delivers on-premises mail, such as `mail.contoso.com`
    /// (host names or IP addresses). Empty when unknown.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub smart_hosts: Vec<String>,
    /// `TlsDomain`: the name the on-premises certificate must carry (with `DomainValidation`), such as
    /// `mail.contoso.com` or `*.contoso.com` (all subdomains of contoso.com).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tls_domain: Option<String>,
    /// `TlsSettings` ([`ExoOutboundConnector::tls_settings`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tls_settings: Option<TlsAuthLevel>,
    /// `RouteAllMessagesViaOnPremises` (centralized mail transport)
    /// ([`ExoOutboundConnector::route_all_via_on_premises`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub route_all_via_on_premises: Option<bool>,
    /// `CloudServicesMailEnabled` ([`ExoOutboundConnector::cloud_services_mail_enabled`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cloud_services_mail_enabled: Option<bool>,
}

impl ConnectorTable for ExoOutboundConnector {
    fn observed(&self) -> Option<&str> {
        self.observed.as_deref()
    }
}

impl ExoOutboundConnector {
    /// `TlsSettings`; the HCW sets `DomainValidation`.
    pub fn tls_settings(&self) -> Sourced<TlsAuthLevel> {
        self.sourced(self.tls_settings, TlsAuthLevel::default)
    }

    /// `RouteAllMessagesViaOnPremises`; the HCW sets `$false` unless centralized mail transport is chosen.
    pub fn route_all_via_on_premises(&self) -> Sourced<bool> {
        self.sourced(self.route_all_via_on_premises, || false)
    }

    /// `CloudServicesMailEnabled`; the HCW sets `$true`.
    pub fn cloud_services_mail_enabled(&self) -> Sourced<bool> {
        self.sourced(self.cloud_services_mail_enabled, || true)
    }
}

/// The DNS resolvers probes use (`[resolvers]`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Resolvers {
    /// Use the system resolver. Default `true`.
    pub system: bool,
    /// Internal DNS servers (`IP` or `IP:port`, port 53 when omitted).
    #[serde(deserialize_with = "fields::resolvers", skip_serializing_if = "Vec::is_empty")]
    pub internal: Vec<SocketAddr>,
    /// External DNS servers. When both lists are given, probes compare their answers (split brain).
    #[serde(deserialize_with = "fields::resolvers", skip_serializing_if = "Vec::is_empty")]
    pub external: Vec<SocketAddr>,
}

impl Default for Resolvers {
    fn default() -> Self {
        Resolvers {
            system: true,
            internal: Vec::new(),
            external: Vec::new(),
        }
    }
}

/// The certificates probes trust (`[trust]`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Trust {
    /// Trust the system's root store. Default `true`.
    pub system_store: bool,
    /// Extra CA certificates (PEM files). A relative path resolves against the profile file's directory; a
    /// loaded profile holds absolute paths.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub ca_files: Vec<PathBuf>,
}

impl Default for Trust {
    fn default() -> Self {
        Trust {
            system_store: true,
            ca_files: Vec::new(),
        }
    }
}

impl Trust {
    /// Makes relative `ca_files` absolute, relative to `base_dir` (itself made absolute against the current
    /// directory when relative).
    pub fn resolve_relative(&mut self, base_dir: &Path) {
        let base = std::path::absolute(base_dir).unwrap_or_else(|_| base_dir.to_path_buf());
        for file in &mut self.ca_files {
            if file.is_relative() && !file.as_os_str().is_empty() {
                *file = base.join(&*file);
            }
        }
    }
}

/// The probe timeouts (`[timeouts]`), written in seconds (integer or float), each greater than 0 and at most
/// [`MAX_TIMEOUT_SECS`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Timeouts {
    /// TCP connect. Default 10 s.
    #[serde(deserialize_with = "fields::seconds", serialize_with = "fields::seconds_ser")]
    pub connect: Duration,
    /// Waiting for the SMTP banner (a tarpit is reported as slow, not as a failure). Default 30 s.
    #[serde(deserialize_with = "fields::seconds", serialize_with = "fields::seconds_ser")]
    pub greeting: Duration,
    /// Each SMTP command's reply. Default 30 s.
    #[serde(deserialize_with = "fields::seconds", serialize_with = "fields::seconds_ser")]
    pub command: Duration,
    /// The TLS handshake. Default 15 s.
    #[serde(deserialize_with = "fields::seconds", serialize_with = "fields::seconds_ser")]
    pub tls: Duration,
    /// Each DNS query. Default 5 s.
    #[serde(deserialize_with = "fields::seconds", serialize_with = "fields::seconds_ser")]
    pub dns: Duration,
    /// A whole diagnosis. Default 120 s.
    #[serde(deserialize_with = "fields::seconds", serialize_with = "fields::seconds_ser")]
    pub total: Duration,
}

impl Timeouts {
    /// Default [`connect`](Timeouts::connect) timeout.
    pub const DEFAULT_CONNECT: Duration = Duration::from_secs(10);
    /// Default [`greeting`](Timeouts::greeting) timeout.
    pub const DEFAULT_GREETING: Duration = Duration::from_secs(30);
    /// Default [`command`](Timeouts::command) timeout.
    pub const DEFAULT_COMMAND: Duration = Duration::from_secs(30);
    /// Default [`tls`](Timeouts::tls) timeout.
    pub const DEFAULT_TLS: Duration = Duration::from_secs(15);
    /// Default [`dns`](Timeouts::dns) timeout.
    pub const DEFAULT_DNS: Duration = Duration::from_secs(5);
    /// Default [`total`](Timeouts::total) timeout.
    pub const DEFAULT_TOTAL: Duration = Duration::from_secs(120);

    /// The timeouts with their TOML key, in declaration order.
    pub fn entries(&self) -> [(&'static str, Duration); 6] {
        [
            ("connect", self.connect),
            ("greeting", self.greeting),
            ("command", self.command),
            ("tls", self.tls),
            ("dns", self.dns),
            ("total", self.total),
        ]
    }
}

impl Default for Timeouts {
    fn default() -> Self {
        Timeouts {
            connect: Self::DEFAULT_CONNECT,
            greeting: Self::DEFAULT_GREETING,
            command: Self::DEFAULT_COMMAND,
            tls: Self::DEFAULT_TLS,
            dns: Self::DEFAULT_DNS,
            total: Self::DEFAULT_TOTAL,
        }
    }
}

/// Ports to use for one host instead of the standard ones (`[[ports]]`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PortOverride {
    /// The host name (or IP address) as it appears elsewhere in the profile or in DNS answers. Required;
    /// compared case-insensitively.
    pub host: String,
    /// The SMTP port instead of 25.
    #[serde(
        deserialize_with = "fields::port_opt",
        skip_serializing_if = "Option::is_none"
    )]
    pub smtp: Option<u16>,
    /// The EdgeSync port instead of 50636.
    #[serde(
        deserialize_with = "fields::port_opt",
        skip_serializing_if = "Option::is_none"
    )]
    pub edgesync: Option<u16>,
}

impl Profile {
    /// Reads, parses and validates the profile at `path`. Relative `trust.ca_files` are resolved against the
    /// file's directory and stored as absolute paths. Messages name the file as `path` was given.
    pub fn load(path: &Path) -> Result<Profile, ProfileError> {
        let text = crate::bounded::read_to_string(path, crate::bounded::Limit::PROFILE).map_err(|e| {
            ProfileError::Io {
                path: path.to_path_buf(),
                source: e.into(),
            }
        })?;
        let base_dir = match path.parent() {
            Some(parent) if !parent.as_os_str().is_empty() => parent,
            _ => Path::new("."),
        };
        Profile::from_toml_str(&text, &path.display().to_string(), Some(base_dir))
    }

    /// Parses and validates a profile from TOML text. `origin` names it in messages (usually the file name).
    /// With `base_dir`, relative `trust.ca_files` are resolved against it (and made absolute); without it,
    /// they stay as written and are checked relative to the current directory.
    pub fn from_toml_str(text: &str, origin: &str, base_dir: Option<&Path>) -> Result<Profile, ProfileError> {
        parse::parse(text, origin, base_dir)
    }

    /// Writes the profile as TOML; [`from_toml_str`](Profile::from_toml_str) reads it back equal. Optional
    /// values that are unset and empty lists are left out.
    pub fn to_toml_string(&self) -> Result<String, ProfileError> {
        toml::to_string(self).map_err(|e| ProfileError::Serialize {
            message: e.to_string(),
        })
    }

    /// Checks the profile and returns every problem, without locations (a loaded profile has none; a profile
    /// built or edited in code may). Checks that `trust.ca_files` exist and are readable.
    pub fn validate(&self) -> Vec<Problem> {
        validate::validate(self)
    }

    /// The tenant's EOP endpoint (see [`Tenant::eop_endpoint`]).
    pub fn eop_endpoint(&self) -> String {
        self.tenant.eop_endpoint()
    }

    /// The Edge servers that handle hybrid transport.
    pub fn hybrid_edges(&self) -> impl Iterator<Item = &EdgeServer> {
        self.edges.iter().filter(|edge| edge.hybrid)
    }

    /// Whether hybrid mail goes through an Edge server (at least one Edge has `hybrid = true`); otherwise the
    /// Mailbox servers talk to EOP directly.
    pub fn uses_edge(&self) -> bool {
        self.hybrid_edges().next().is_some()
    }

    /// The port override for `host` (case-insensitive, a trailing dot ignored), if any.
    pub fn port_override(&self, host: &str) -> Option<&PortOverride> {
        let host = host.strip_suffix('.').unwrap_or(host);
        self.port_overrides
            .iter()
            .find(|o| o.host.eq_ignore_ascii_case(host))
    }

    /// The SMTP port of `host`: its override, or [`SMTP_PORT`] (25).
    pub fn smtp_port_for(&self, host: &str) -> u16 {
        self.port_override(host).and_then(|o| o.smtp).unwrap_or(SMTP_PORT)
    }

    /// The EdgeSync port of `host`: its override, or [`EDGESYNC_PORT`] (50636).
    pub fn edgesync_port_for(&self, host: &str) -> u16 {
        self.port_override(host)
            .and_then(|o| o.edgesync)
            .unwrap_or(EDGESYNC_PORT)
    }
}

/// A path or a list of paths (`import = "export.json"` or `import = ["onprem.json", "exo.json"]`).
fn one_or_many<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<Vec<PathBuf>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum OneOrMany {
        One(PathBuf),
        Many(Vec<PathBuf>),
    }
    Ok(match OneOrMany::deserialize(deserializer)? {
        OneOrMany::One(p) => vec![p],
        OneOrMany::Many(v) => v,
    })
}
