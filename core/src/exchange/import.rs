//! From an export to a profile: which connector is the hybrid one, which servers handle hybrid
//! transport, and every value marked with where it came from (observed from a cmdlet, set by hand in a
//! profile that imports the export, or assumed: the Hybrid Configuration Wizard's default).
//!
//! - [`profile_from_export`]: a profile built from an export alone (`mailpath import`).
//! - [`load_profile`]: what `--profile` reads: a profile, a profile with `import = "export.json"` (its
//!   keys win over the export's), or an export itself.
//! - [`annotated_toml`]: the profile as TOML, each value followed by a comment saying where it came from.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::ps::{Enum, Ps};
use super::records::{InboundConnector, OutboundConnector, ReceiveConnector, SendConnector};
use super::{Export, ExportError, ImportProblem, Observed, Source};
use crate::profile::{EdgeServer, MailboxServer, Problem, Profile, ProfileError, TlsAuthLevel};

/// Where a profile value came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// Read from a cmdlet's output: the section, the item and the property.
    Observed {
        /// The section (cmdlet, server, time).
        from: Arc<Source>,
        /// The item it was read from (its identity or name).
        item: Option<String>,
        /// The property (`TlsCertificateName`).
        property: String,
    },
    /// Written in the profile by hand (it wins over the export).
    ByHand,
    /// Not in the export: the Hybrid Configuration Wizard's default, or derived; why.
    Assumed(String),
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Origin::Observed { from, item, property } => {
                write!(f, "observed: {}", from.cmdlet)?;
                if let Some(item) = item {
                    write!(f, " \"{item}\"")?;
                }
                write!(f, " .{property}")?;
                if let Some(server) = &from.server {
                    write!(f, " on {server}")?;
                }
                if let Some(t) = from.time {
                    write!(f, ", {}", super::short_time(t))?;
                }
                Ok(())
            }
            Origin::ByHand => f.write_str("set by hand"),
            Origin::Assumed(why) => write!(f, "assumed: {why}"),
        }
    }
}

/// One profile value and where it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Setting {
    /// Its key path in the profile (`connectors.send.fqdn`, `mailbox[1].fqdn`).
    pub key: String,
    /// The value, as written in the profile.
    pub value: String,
    /// Where it came from.
    pub origin: Origin,
}

/// A profile built from an export.
#[derive(Debug, Clone)]
pub struct Imported {
    /// The profile (not validated: what the export could not give is missing).
    pub profile: Profile,
    /// Every value set, with its origin.
    pub settings: Vec<Setting>,
    /// What the import had to decide or could not find, for the admin to review.
    pub notes: Vec<String>,
}

impl Imported {
    /// The origin of the value at `key`, when one was recorded.
    pub fn origin(&self, key: &str) -> Option<&Origin> {
        self.settings.iter().find(|s| s.key == key).map(|s| &s.origin)
    }
}

/// Why a profile (with its export) could not be loaded.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ImportError {
    /// The export could not be used.
    #[error(transparent)]
    Export(#[from] ExportError),
    /// The profile is invalid.
    #[error(transparent)]
    Profile(#[from] ProfileError),
    /// The profile file could not be read.
    #[error("{path}: cannot read the profile: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The error.
        #[source]
        source: std::io::Error,
    },
    /// The profile built from an export lacks what probes need.
    #[error("{origin}: the export does not give a complete profile: {}; write a profile with `import = {origin:?}` and set these keys by hand", .problems.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "))]
    Incomplete {
        /// The export.
        origin: String,
        /// What is missing or wrong.
        problems: Vec<Problem>,
    },
}

/// A profile as `--profile` reads it, with the export it refers to.
#[derive(Debug, Clone)]
pub struct LoadedProfile {
    /// The profile, validated.
    pub profile: Profile,
    /// The export, when the file was one or the profile imports one.
    pub export: Option<Arc<Export>>,
    /// Where each value came from (empty for a profile without export).
    pub settings: Vec<Setting>,
    /// What the import decided or could not find.
    pub notes: Vec<String>,
}

/// The send connectors that send to Exchange Online: address space of the tenant's routing domain
/// (`*.mail.onmicrosoft.com`), TlsDomain or smart host at EOP, or the HCW's name. Disabled ones last.
pub fn eop_send_connectors(export: &Export) -> Vec<&Observed<SendConnector>> {
    let mut found: Vec<&Observed<SendConnector>> = export
        .send_connectors
        .iter()
        .filter(|c| {
            let s = &c.item;
            s.address_spaces
                .list()
                .iter()
                .any(|a| address_space_domain(a).ends_with(".mail.onmicrosoft.com"))
                || s.tls_domain
                    .text()
                    .is_some_and(crate::cloud::is_any_eop_tls_domain)
                || s.smart_hosts
                    .list()
                    .iter()
                    .any(|h| h.to_ascii_lowercase().ends_with(".mail.protection.outlook.com"))
                || s.name
                    .text()
                    .is_some_and(|n| n.starts_with("Outbound to Office 365"))
        })
        .collect();
    found.sort_by_key(|c| {
        (
            !c.item.enabled.or(true),
            !c.item
                .name
                .text()
                .is_some_and(|n| n.starts_with("Outbound to Office 365")),
            // Active Directory's copy before an Edge's replica of the same connector (AD LDS, -Append).
            c.from.server.is_some(),
        )
    });
    // The same connector read twice (from Active Directory and from an Edge's AD LDS) counts once.
    let mut seen: Vec<String> = Vec::new();
    found.retain(|c| {
        let id = c
            .item
            .identity
            .text()
            .or(c.item.name.text())
            .unwrap_or_default()
            .to_ascii_lowercase();
        if id.is_empty() || !seen.contains(&id) {
            seen.push(id);
            true
        } else {
            false
        }
    });
    found
}

/// The domain of an address space as `Get-SendConnector` prints it (`SMTP:contoso.mail.onmicrosoft.com;1`).
pub fn address_space_domain(space: &str) -> String {
    let s = space.trim();
    let s = s.split_once(':').map_or(s, |(_, rest)| rest);
    s.split(';').next().unwrap_or(s).trim().to_ascii_lowercase()
}

/// Whether a receive connector takes mail from EOP: its TlsDomainCapabilities names
/// `mail.protection.outlook.com` (the HCW's setting).
pub fn takes_eop_mail(c: &ReceiveConnector) -> bool {
    c.tls_domain_capabilities
        .list()
        .iter()
        .any(|t| is_eop_capability(t))
}

/// Whether one TlsDomainCapabilities entry (`domain:Capability,...`) is for the name on EOP's certificate.
fn is_eop_capability(entry: &str) -> bool {
    entry
        .split_once(':')
        .is_some_and(|(d, _)| crate::cloud::is_any_eop_tls_domain(d.trim()))
}

/// The receive connectors that take mail from EOP on `server` (by TlsDomainCapabilities; else the
/// `Default Frontend` connector listening on port 25).
pub fn eop_receive_connectors<'a>(export: &'a Export, server: &str) -> Vec<&'a Observed<ReceiveConnector>> {
    let on: Vec<&Observed<ReceiveConnector>> = export.receive_connectors_on(server).collect();
    let by_capability: Vec<_> = on.iter().copied().filter(|c| takes_eop_mail(&c.item)).collect();
    if !by_capability.is_empty() {
        return by_capability;
    }
    on.into_iter()
        .filter(|c| {
            let name = c.item.name.text().unwrap_or_default().to_ascii_lowercase();
            (name.starts_with("default frontend") || name.starts_with("default internal receive connector"))
                && c.item.bindings.list().iter().any(|b| b.ends_with(":25"))
        })
        .collect()
}

/// The Exchange Online inbound connector from on-premises (type OnPremises, the HCW's first).
pub fn exo_inbound_connector(export: &Export) -> Option<&Observed<InboundConnector>> {
    hcw_first(&export.exo_inbound, |c| {
        (&c.connector_type, &c.enabled, &c.connector_source)
    })
}

/// The Exchange Online outbound connector to on-premises (type OnPremises, the HCW's first).
pub fn exo_outbound_connector(export: &Export) -> Option<&Observed<OutboundConnector>> {
    hcw_first(&export.exo_outbound, |c| {
        (&c.connector_type, &c.enabled, &c.connector_source)
    })
}

/// The first connector of type OnPremises: enabled ones first, then the Hybrid Configuration Wizard's.
fn hcw_first<T>(
    connectors: &[Observed<T>],
    facts: impl Fn(&T) -> (&Ps<Enum>, &Ps<bool>, &Ps<Enum>),
) -> Option<&Observed<T>> {
    let mut on: Vec<&Observed<T>> = connectors
        .iter()
        .filter(|c| facts(&c.item).0.is("OnPremises"))
        .collect();
    on.sort_by_key(|c| {
        let (_, enabled, source) = facts(&c.item);
        (!enabled.or(true), !source.is("HybridWizard"))
    });
    on.first().copied()
}

/// The tenant name (`contoso` of `contoso.onmicrosoft.com`) and where it was read.
fn tenant_name(export: &Export) -> Option<(String, Arc<Source>, Option<String>, &'static str)> {
    for d in &export.exo_accepted_domains {
        if d.item.initial.or(false)
            && let Some(name) = d
                .item
                .domain_name
                .text()
                .and_then(|n| strip_ci(n, ".onmicrosoft.com"))
        {
            return Some((
                name,
                Arc::clone(&d.from),
                Some(d.item.domain_name.text()?.into()),
                "InitialDomain",
            ));
        }
    }
    for o in &export.exo_organization {
        if let Some(name) = o.item.name.text().and_then(|n| strip_ci(n, ".onmicrosoft.com")) {
            return Some((name, Arc::clone(&o.from), None, "Name"));
        }
    }
    for c in eop_send_connectors(export) {
        for space in c.item.address_spaces.list() {
            if let Some(name) = strip_ci(&address_space_domain(space), ".mail.onmicrosoft.com") {
                return Some((
                    name,
                    Arc::clone(&c.from),
                    c.item.name.text().map(Into::into),
                    "AddressSpaces",
                ));
            }
        }
    }
    for h in &export.hybrid {
        for d in h.item.domains.list() {
            if let Some(name) = strip_ci(d.trim(), ".mail.onmicrosoft.com") {
                return Some((name, Arc::clone(&h.from), None, "Domains"));
            }
        }
    }
    for r in &export.remote_domains {
        if let Some(name) = r
            .item
            .domain_name
            .text()
            .and_then(|n| strip_ci(n, ".mail.onmicrosoft.com"))
        {
            return Some((
                name,
                Arc::clone(&r.from),
                r.item.name.text().map(Into::into),
                "DomainName",
            ));
        }
    }
    None
}

fn strip_ci(text: &str, suffix: &str) -> Option<String> {
    let lower = text.trim().trim_end_matches('.').to_ascii_lowercase();
    lower
        .strip_suffix(suffix)
        .filter(|n| !n.is_empty() && !n.contains('.'))
        .map(str::to_string)
}

/// Collects the profile and the origin of each value.
struct Builder {
    profile: Profile,
    settings: Vec<Setting>,
    notes: Vec<String>,
}

impl Builder {
    fn observed<T>(
        &mut self,
        key: &str,
        value: impl fmt::Display,
        from: &Observed<T>,
        item: Option<&str>,
        property: &str,
    ) {
        self.settings.push(Setting {
            key: key.to_string(),
            value: value.to_string(),
            origin: Origin::Observed {
                from: Arc::clone(&from.from),
                item: item.map(str::to_string),
                property: property.to_string(),
            },
        });
    }

    fn observed_from(
        &mut self,
        key: &str,
        value: impl fmt::Display,
        from: &Arc<Source>,
        item: Option<String>,
        property: &str,
    ) {
        self.settings.push(Setting {
            key: key.to_string(),
            value: value.to_string(),
            origin: Origin::Observed {
                from: Arc::clone(from),
                item,
                property: property.to_string(),
            },
        });
    }

    fn assumed(&mut self, key: &str, value: impl fmt::Display, why: &str) {
        self.settings.push(Setting {
            key: key.to_string(),
            value: value.to_string(),
            origin: Origin::Assumed(why.to_string()),
        });
    }
}

fn list(values: &[String]) -> String {
    format!(
        "[{}]",
        values
            .iter()
            .map(|v| format!("{v:?}"))
            .collect::<Vec<_>>()
            .join(", ")
    )
}

fn tls_level(name: &str) -> Option<TlsAuthLevel> {
    [
        TlsAuthLevel::EncryptionOnly,
        TlsAuthLevel::CertificateValidation,
        TlsAuthLevel::DomainValidation,
    ]
    .into_iter()
    .find(|l| l.as_str().eq_ignore_ascii_case(name.trim()))
}

const HCW_DEFAULT: &str = "not in the export; the Hybrid Configuration Wizard's value";

/// Build a profile from an export alone. What the export does not give is the HCW's default (marked
/// assumed) or missing (a note says which key to set by hand).
pub fn profile_from_export(export: &Export) -> Imported {
    let mut b = Builder {
        profile: Profile::default(),
        settings: Vec::new(),
        notes: Vec::new(),
    };
    tenant(export, &mut b);
    servers(export, &mut b);
    send_connector(export, &mut b);
    receive_connector(export, &mut b);
    exo_connectors(export, &mut b);
    Imported {
        profile: b.profile,
        settings: b.settings,
        notes: b.notes,
    }
}

fn tenant(export: &Export, b: &mut Builder) {
    match tenant_name(export) {
        Some((name, from, item, property)) => {
            b.observed_from("tenant.name", format!("{name:?}"), &from, item, property);
            b.profile.name = format!("{name} hybrid (imported)");
            b.profile.tenant.name = name;
            b.assumed("name", format!("{:?}", b.profile.name), "named after the tenant");
        }
        None => {
            b.notes.push(
                "tenant.name: the tenant was not found (no Exchange Online half, no send connector to \
                 <tenant>.mail.onmicrosoft.com): set it by hand"
                    .into(),
            );
            b.profile.name = "hybrid (imported)".into();
        }
    }
    // The hybrid domains: Get-HybridConfiguration's Domains; else the authoritative accepted domains.
    let routing = |d: &str| d.to_ascii_lowercase().ends_with(".onmicrosoft.com");
    let default_first = |domains: &mut Vec<String>| {
        if let Some(i) = export
            .accepted_domains
            .iter()
            .position(|d| d.item.default.or(false))
            && let Some(name) = export.accepted_domains[i].item.domain_name.text()
            && let Some(at) = domains.iter().position(|d| d.eq_ignore_ascii_case(name))
        {
            let d = domains.remove(at);
            domains.insert(0, d);
        }
    };
    if let Some(h) = export.hybrid.first() {
        let mut domains: Vec<String> = h
            .item
            .domains
            .list()
            .iter()
            // `autod:contoso.com` marks the Autodiscover domain (Set-HybridConfiguration -Domains).
            .map(|d| {
                let d = d.split(',').next().unwrap_or(d).trim().to_ascii_lowercase();
                d.strip_prefix("autod:").map_or(d.clone(), str::to_string)
            })
            .filter(|d| !d.is_empty() && !routing(d))
            .collect();
        domains.dedup();
        if !domains.is_empty() {
            default_first(&mut domains);
            b.observed("tenant.accepted_domains", list(&domains), h, None, "Domains");
            b.profile.tenant.accepted_domains = domains;
            return;
        }
    }
    let mut domains: Vec<String> = export
        .accepted_domains
        .iter()
        .filter(|d| d.item.domain_type.is("Authoritative") || d.item.domain_type.name().is_none())
        .filter_map(|d| d.item.domain_name.text().map(str::to_ascii_lowercase))
        .filter(|d| !routing(d) && !d.starts_with("*."))
        .collect();
    domains.dedup();
    if let Some(first) = export.accepted_domains.first()
        && !domains.is_empty()
    {
        default_first(&mut domains);
        b.observed(
            "tenant.accepted_domains",
            list(&domains),
            first,
            None,
            "DomainName (Authoritative)",
        );
        b.profile.tenant.accepted_domains = domains;
    } else {
        b.notes.push(
            "tenant.accepted_domains: no hybrid or accepted domain in the export: set them by hand".into(),
        );
    }
}

/// The FQDN of a server named in the export (a NetBIOS name, or already an FQDN).
fn fqdn_of(export: &Export, name: &str) -> Option<String> {
    export.server_fqdn(name).or_else(|| {
        name.contains('.')
            .then(|| name.trim().trim_end_matches('.').to_ascii_lowercase())
    })
}

fn servers(export: &Export, b: &mut Builder) {
    let is_edge = |name: &str| {
        export.server(name).is_some_and(|s| {
            s.item.is_edge.or(false) || s.item.server_role.get().is_some_and(|r| r.has("Edge"))
        })
    };
    // The hybrid transport servers: Get-HybridConfiguration; else the EOP send connector's sources;
    // else every Mailbox server.
    let mut names: Vec<(String, Arc<Source>, &'static str)> = Vec::new();
    if let Some(h) = export.hybrid.first() {
        for (list, property) in [
            (h.item.sending_servers.list(), "SendingTransportServers"),
            (h.item.receiving_servers.list(), "ReceivingTransportServers"),
        ] {
            for n in list {
                names.push((n.clone(), Arc::clone(&h.from), property));
            }
        }
    }
    if names.is_empty()
        && let Some(c) = eop_send_connectors(export).first()
    {
        for n in c.item.source_servers.list() {
            names.push((n.clone(), Arc::clone(&c.from), "SourceTransportServers"));
        }
    }
    if names.is_empty() {
        for s in &export.servers {
            if let Some(n) = s.item.name.text()
                && s.item.server_role.get().is_none_or(|r| r.has("Mailbox"))
            {
                names.push((n.to_string(), Arc::clone(&s.from), "Name (every Mailbox server)"));
            }
        }
    }
    for (name, from, property) in names {
        if is_edge(&name) {
            continue;
        }
        let Some(fqdn) = fqdn_of(export, &name) else {
            b.notes.push(format!(
                "mailbox: the server {name} ({}) has no FQDN in Get-ExchangeServer: add it by hand",
                from.cmdlet
            ));
            continue;
        };
        if b.profile.mailboxes.iter().any(|m| m.fqdn == fqdn) {
            continue;
        }
        let key = format!("mailbox[{}].fqdn", b.profile.mailboxes.len());
        b.observed_from(&key, format!("{fqdn:?}"), &from, Some(name), property);
        b.profile.mailboxes.push(MailboxServer { fqdn, address: None });
    }
    if b.profile.mailboxes.is_empty() {
        b.notes
            .push("mailbox: no hybrid Mailbox server found in the export: add [[mailbox]] by hand".into());
    }

    // Edge servers: Get-HybridConfiguration's EdgeTransportServers, else subscribed Edges.
    let mut edges: Vec<(String, Arc<Source>, &'static str)> = Vec::new();
    if let Some(h) = export.hybrid.first() {
        for n in h.item.edge_servers.list() {
            edges.push((n.clone(), Arc::clone(&h.from), "EdgeTransportServers"));
        }
    }
    if edges.is_empty() {
        for s in &export.edge_subscriptions {
            if let Some(n) = s.item.name.text() {
                edges.push((n.to_string(), Arc::clone(&s.from), "Name"));
            }
        }
    }
    // The public name EOP connects to: EXO's outbound smart host, else the send connector's Fqdn.
    let public = exo_outbound_connector(export)
        .and_then(|c| {
            c.item.smart_hosts.list().first().map(|h| {
                (
                    h.to_ascii_lowercase(),
                    Arc::clone(&c.from),
                    c.item.name.text().map(str::to_string),
                    "SmartHosts",
                )
            })
        })
        .or_else(|| {
            eop_send_connectors(export).first().and_then(|c| {
                c.item.fqdn.text().map(|f| {
                    (
                        f.to_ascii_lowercase(),
                        Arc::clone(&c.from),
                        c.item.name.text().map(str::to_string),
                        "Fqdn",
                    )
                })
            })
        });
    for (name, from, property) in edges {
        let fqdn = fqdn_of(export, &name).unwrap_or_else(|| name.to_ascii_lowercase());
        if b.profile.edges.iter().any(|e| e.fqdn == fqdn) {
            continue;
        }
        let i = b.profile.edges.len();
        b.observed_from(
            &format!("edge[{i}].fqdn"),
            format!("{fqdn:?}"),
            &from,
            Some(name.clone()),
            property,
        );
        let external_fqdn = match &public {
            Some((host, from, item, property)) => {
                b.observed_from(
                    &format!("edge[{i}].external_fqdn"),
                    format!("{host:?}"),
                    from,
                    item.clone(),
                    property,
                );
                host.clone()
            }
            None => {
                b.notes.push(format!(
                    "edge[{i}].external_fqdn: the Edge's public name is not in the export: set it by hand"
                ));
                String::new()
            }
        };
        b.profile.edges.push(EdgeServer {
            fqdn,
            external_fqdn,
            ..EdgeServer::default()
        });
    }
}

fn send_connector(export: &Export, b: &mut Builder) {
    let found = eop_send_connectors(export);
    if found.len() > 1 {
        b.notes.push(format!(
            "connectors.send: {} send connectors route to Exchange Online ({}); the first is used, the audit checks them all",
            found.len(),
            found.iter().filter_map(|c| c.item.name.text()).collect::<Vec<_>>().join(", ")
        ));
    }
    let Some(c) = found.first().copied() else {
        b.notes.push("connectors.send: no send connector to Exchange Online in the export; the HCW's values are assumed".into());
        let send = b.profile.connectors.send.clone();
        let cloud = b.profile.tenant.cloud;
        b.assumed(
            "connectors.send.tls_domain",
            format!("{:?}", send.tls_domain(cloud).value),
            HCW_DEFAULT,
        );
        b.assumed(
            "connectors.send.tls_auth_level",
            format!("{:?}", send.tls_auth_level().value.as_str()),
            HCW_DEFAULT,
        );
        b.assumed(
            "connectors.send.require_tls",
            send.require_tls().value,
            HCW_DEFAULT,
        );
        b.assumed(
            "connectors.send.cloud_services_mail_enabled",
            send.cloud_services_mail_enabled().value,
            HCW_DEFAULT,
        );
        return;
    };
    let item = c.item.name.text();
    let cloud = b.profile.tenant.cloud;
    let s = &mut b.profile.connectors.send;
    s.observed = Some(CMDLET_SEND.to_string());
    let mut marks: Vec<(&str, String, &str)> = Vec::new();
    if let Some(f) = c.item.fqdn.text() {
        s.fqdn = Some(f.to_ascii_lowercase());
        marks.push(("fqdn", format!("{:?}", f.to_ascii_lowercase()), "Fqdn"));
    }
    if let Some(d) = c.item.tls_domain.text() {
        s.tls_domain = Some(d.to_ascii_lowercase());
        marks.push(("tls_domain", format!("{:?}", d.to_ascii_lowercase()), "TlsDomain"));
    }
    if let Some(level) = c.item.tls_auth_level.name().and_then(tls_level) {
        s.tls_auth_level = Some(level);
        marks.push(("tls_auth_level", format!("{:?}", level.as_str()), "TlsAuthLevel"));
    }
    if let Some(n) = c.item.tls_certificate_name.text() {
        s.tls_certificate_name = Some(n.to_string());
        marks.push(("tls_certificate_name", format!("{n:?}"), "TlsCertificateName"));
    }
    if let Some(v) = c.item.require_tls.get() {
        s.require_tls = Some(*v);
        marks.push(("require_tls", v.to_string(), "RequireTLS"));
    }
    if let Some(v) = c.item.cloud_services_mail.get() {
        s.cloud_services_mail_enabled = Some(*v);
        marks.push((
            "cloud_services_mail_enabled",
            v.to_string(),
            "CloudServicesMailEnabled",
        ));
    }
    let send = s.clone();
    for (key, value, property) in &marks {
        b.observed(&format!("connectors.send.{key}"), value, c, item, property);
    }
    for (key, value) in [
        ("tls_domain", format!("{:?}", send.tls_domain(cloud).value)),
        (
            "tls_auth_level",
            format!("{:?}", send.tls_auth_level().value.as_str()),
        ),
        ("require_tls", send.require_tls().value.to_string()),
        (
            "cloud_services_mail_enabled",
            send.cloud_services_mail_enabled().value.to_string(),
        ),
    ] {
        if !marks.iter().any(|(k, _, _)| *k == key) {
            b.assumed(&format!("connectors.send.{key}"), value, HCW_DEFAULT);
        }
    }
}

/// The cmdlets the connector tables of an imported profile were read with (their `observed` key).
const CMDLET_SEND: &str = "Get-SendConnector (export)";
const CMDLET_RECEIVE: &str = "Get-ReceiveConnector (export)";
const CMDLET_INBOUND: &str = "Get-InboundConnector (export)";
const CMDLET_OUTBOUND: &str = "Get-OutboundConnector (export)";

/// `connectors.receive.tls_domain_capabilities` as the HCW sets it in the profile's cloud, marked assumed.
fn assume_receive_capabilities(b: &mut Builder) {
    let hcw = b
        .profile
        .connectors
        .receive
        .tls_domain_capabilities(b.profile.tenant.cloud)
        .value;
    b.assumed(
        "connectors.receive.tls_domain_capabilities",
        format!("{hcw:?}"),
        HCW_DEFAULT,
    );
}

fn receive_connector(export: &Export, b: &mut Builder) {
    // The servers EOP delivers to: the hybrid Edges, else the hybrid Mailbox servers.
    let servers: Vec<String> = if b.profile.edges.is_empty() {
        b.profile.mailboxes.iter().map(|m| m.fqdn.clone()).collect()
    } else {
        b.profile.edges.iter().map(|e| e.fqdn.clone()).collect()
    };
    let found: Vec<&Observed<ReceiveConnector>> = servers
        .iter()
        .flat_map(|s| eop_receive_connectors(export, s))
        .collect();
    let Some(c) = found.first().copied() else {
        assume_receive_capabilities(b);
        if !export.receive_connectors.is_empty() {
            b.notes.push("connectors.receive: no receive connector of the hybrid servers takes mail from EOP (TlsDomainCapabilities mail.protection.outlook.com:...)".into());
        }
        return;
    };
    let item = c.item.identity.text().or(c.item.name.text());
    if let Some(cap) = c
        .item
        .tls_domain_capabilities
        .list()
        .iter()
        .find(|t| is_eop_capability(t))
    {
        b.profile.connectors.receive.observed = Some(CMDLET_RECEIVE.to_string());
        b.profile.connectors.receive.tls_domain_capabilities = Some(cap.trim().to_string());
        b.observed(
            "connectors.receive.tls_domain_capabilities",
            format!("{:?}", cap.trim()),
            c,
            item,
            "TlsDomainCapabilities",
        );
    } else {
        assume_receive_capabilities(b);
    }
    if let Some(n) = c.item.tls_certificate_name.text() {
        b.profile.connectors.receive.tls_certificate_name = Some(n.to_string());
        b.observed(
            "connectors.receive.tls_certificate_name",
            format!("{n:?}"),
            c,
            item,
            "TlsCertificateName",
        );
        let differ: Vec<String> = found
            .iter()
            .filter(|o| o.item.tls_certificate_name.text().is_some_and(|m| m != n))
            .filter_map(|o| o.from.server.clone())
            .collect();
        if !differ.is_empty() {
            b.notes.push(format!(
                "connectors.receive.tls_certificate_name: {} receive connector(s) name another certificate on {}; the profile holds {}'s, the audit checks each server",
                differ.len(),
                differ.join(", "),
                c.from.server.as_deref().unwrap_or("the first server")
            ));
        }
    }
}

fn exo_connectors(export: &Export, b: &mut Builder) {
    let exo_read = export.has_exchange_online();
    let why = if exo_read {
        HCW_DEFAULT
    } else {
        "no Exchange Online half in the export (run the script with -ExchangeOnline); the HCW's value"
    };
    match exo_inbound_connector(export) {
        Some(c) => {
            let item = c.item.name.text();
            let i = &mut b.profile.connectors.exo_inbound;
            i.observed = Some(CMDLET_INBOUND.to_string());
            let mut marks: Vec<(&str, String, &str)> = Vec::new();
            if let Some(n) = c.item.tls_sender_certificate_name.text() {
                i.tls_sender_certificate_name = Some(n.to_ascii_lowercase());
                marks.push((
                    "tls_sender_certificate_name",
                    format!("{:?}", n.to_ascii_lowercase()),
                    "TlsSenderCertificateName",
                ));
            }
            if let Some(v) = c.item.require_tls.get() {
                i.require_tls = Some(*v);
                marks.push(("require_tls", v.to_string(), "RequireTls"));
            }
            if let Some(v) = c.item.cloud_services_mail.get() {
                i.cloud_services_mail_enabled = Some(*v);
                marks.push((
                    "cloud_services_mail_enabled",
                    v.to_string(),
                    "CloudServicesMailEnabled",
                ));
            }
            for (key, value, property) in &marks {
                b.observed(&format!("connectors.exo_inbound.{key}"), value, c, item, property);
            }
        }
        None => {
            b.assumed("connectors.exo_inbound.require_tls", "true", why);
            b.assumed("connectors.exo_inbound.cloud_services_mail_enabled", "true", why);
            if exo_read {
                b.notes.push(
                    "connectors.exo_inbound: no OnPremises inbound connector in Exchange Online".into(),
                );
            }
        }
    }
    match exo_outbound_connector(export) {
        Some(c) => {
            let item = c.item.name.text();
            let o = &mut b.profile.connectors.exo_outbound;
            o.observed = Some(CMDLET_OUTBOUND.to_string());
            let mut marks: Vec<(&str, String, &str)> = Vec::new();
            let hosts: Vec<String> = c
                .item
                .smart_hosts
                .list()
                .iter()
                .map(|h| h.to_ascii_lowercase())
                .collect();
            if !hosts.is_empty() {
                marks.push(("smart_hosts", list(&hosts), "SmartHosts"));
                o.smart_hosts = hosts;
            }
            if let Some(d) = c.item.tls_domain.text() {
                o.tls_domain = Some(d.to_ascii_lowercase());
                marks.push(("tls_domain", format!("{:?}", d.to_ascii_lowercase()), "TlsDomain"));
            }
            if let Some(level) = c.item.tls_settings.name().and_then(tls_level) {
                o.tls_settings = Some(level);
                marks.push(("tls_settings", format!("{:?}", level.as_str()), "TlsSettings"));
            }
            if let Some(v) = c.item.route_all_via_on_premises.get() {
                o.route_all_via_on_premises = Some(*v);
                marks.push((
                    "route_all_via_on_premises",
                    v.to_string(),
                    "RouteAllMessagesViaOnPremises",
                ));
            }
            if let Some(v) = c.item.cloud_services_mail.get() {
                o.cloud_services_mail_enabled = Some(*v);
                marks.push((
                    "cloud_services_mail_enabled",
                    v.to_string(),
                    "CloudServicesMailEnabled",
                ));
            }
            for (key, value, property) in &marks {
                b.observed(
                    &format!("connectors.exo_outbound.{key}"),
                    value,
                    c,
                    item,
                    property,
                );
            }
        }
        None => {
            b.assumed(
                "connectors.exo_outbound.tls_settings",
                "\"DomainValidation\"",
                why,
            );
            if exo_read {
                b.notes.push(
                    "connectors.exo_outbound: no OnPremises outbound connector in Exchange Online".into(),
                );
            }
        }
    }
    if !exo_read {
        b.notes.push(
            "connectors.exo_*: the export has no Exchange Online half: run the script with -ExchangeOnline \
             and import both files"
                .into(),
        );
    }
}

/// The profile as TOML, each value followed by a comment saying where it came from, and a header
/// naming the export files and the notes.
///
/// # Errors
/// When the profile cannot be serialized.
pub fn annotated_toml(imported: &Imported, export: &Export) -> Result<String, ProfileError> {
    let body = imported.profile.to_toml_string()?;
    let mut out = String::from(
        "# mailpath profile, built by `mailpath import` from an Exchange configuration export.\n",
    );
    for f in &export.files {
        out.push_str(&format!(
            "#   {} ({}{}{})\n",
            f.origin,
            f.schema,
            f.script_version
                .as_deref()
                .map(|v| format!(", script {v}"))
                .unwrap_or_default(),
            f.generated
                .map(|g| format!(", {}", super::short_time(g)))
                .unwrap_or_default()
        ));
    }
    out.push_str(
        "# Each value says where it came from: observed (the cmdlet and property), or assumed (not in the\n\
         # export). To keep a profile in step with a fresh export, write only `name`, `import = \"export.json\"`\n\
         # and the keys you set by hand: those win over the export.\n",
    );
    for n in &imported.notes {
        out.push_str(&format!("# NOTE {n}\n"));
    }
    for p in &export.problems {
        out.push_str(&format!("# IMPORT {p}\n"));
    }
    out.push('\n');
    let mut table = String::new();
    let mut counters: Vec<(String, usize)> = Vec::new();
    for line in body.lines() {
        let t = line.trim();
        if let Some(name) = t.strip_prefix("[[").and_then(|r| r.strip_suffix("]]")) {
            let i = match counters.iter_mut().find(|(n, _)| n == name) {
                Some((_, i)) => {
                    *i += 1;
                    *i
                }
                None => {
                    counters.push((name.to_string(), 0));
                    0
                }
            };
            table = format!("{name}[{i}]");
        } else if let Some(name) = t.strip_prefix('[').and_then(|r| r.strip_suffix(']')) {
            table = name.to_string();
        } else if let Some((key, _)) = t.split_once(" = ") {
            let path = if table.is_empty() {
                key.trim().to_string()
            } else {
                format!("{table}.{}", key.trim())
            };
            if let Some(origin) = imported.origin(&path) {
                out.push_str(&format!("{line}  # {origin}\n"));
                continue;
            }
        }
        out.push_str(line);
        out.push('\n');
    }
    Ok(out)
}

/// Read what `--profile` names: a profile; a profile with `import = "export.json"` (its export fills
/// what it does not set, its own keys win); or an export itself (`mailpath diagnose --profile
/// export.json`).
///
/// # Errors
/// An unreadable or invalid profile, an unusable export, or an export that does not give a complete
/// profile.
pub fn load_profile(path: &Path) -> Result<LoadedProfile, ImportError> {
    // Read as much as an export may hold; a profile is held to its own, smaller limit below.
    let (bytes, _) =
        crate::bounded::read_start(path, crate::bounded::Limit::EXPORT).map_err(|e| ImportError::Io {
            path: path.to_path_buf(),
            source: e.into(),
        })?;
    if super::looks_like_export(&bytes) {
        return load_exports(&[path]);
    }
    let profile_limit = crate::bounded::Limit::PROFILE;
    if bytes.len() as u64 > profile_limit.bytes {
        return Err(ImportError::Io {
            path: path.to_path_buf(),
            source: crate::bounded::ReadError::TooLarge { limit: profile_limit }.into(),
        });
    }
    let text = String::from_utf8_lossy(&bytes);
    let hand: Option<toml::Table> = toml::from_str(&text).ok();
    // `import = "export.json"` or `import = ["onprem.json", "exo.json"]`.
    let import: Vec<PathBuf> = match hand.as_ref().and_then(|t| t.get("import")) {
        Some(toml::Value::String(one)) => vec![PathBuf::from(one)],
        Some(toml::Value::Array(many)) => many
            .iter()
            .filter_map(toml::Value::as_str)
            .map(PathBuf::from)
            .collect(),
        _ => Vec::new(),
    };
    let (Some(mut hand), false) = (hand, import.is_empty()) else {
        let profile = Profile::load(path)?;
        return Ok(LoadedProfile {
            profile,
            export: None,
            settings: Vec::new(),
            notes: Vec::new(),
        });
    };
    let base = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let export_paths: Vec<PathBuf> = import
        .iter()
        .map(|p| if p.is_relative() { base.join(p) } else { p.clone() })
        .collect();
    let export = Export::load(&export_paths.iter().map(PathBuf::as_path).collect::<Vec<_>>())?;
    let mut imported = profile_from_export(&export);
    hand.remove("import");
    let mut merged = toml::Table::try_from(&imported.profile).map_err(|e| ProfileError::Serialize {
        message: e.to_string(),
    })?;
    let mut by_hand = Vec::new();
    overlay(&mut merged, hand, "", &mut by_hand);
    for key in by_hand {
        imported.settings.retain(|s| {
            !(s.key == key || s.key.starts_with(&format!("{key}.")) || s.key.starts_with(&format!("{key}[")))
        });
        imported.settings.push(Setting {
            value: String::new(),
            key,
            origin: Origin::ByHand,
        });
    }
    merged.insert(
        "import".into(),
        toml::Value::Array(
            import
                .iter()
                .map(|p| toml::Value::String(p.display().to_string()))
                .collect(),
        ),
    );
    let text = toml::to_string(&merged).map_err(|e| ProfileError::Serialize {
        message: e.to_string(),
    })?;
    let origin = format!(
        "{} (with the export {})",
        path.display(),
        export_paths
            .iter()
            .map(|p| p.display().to_string())
            .collect::<Vec<_>>()
            .join(" and ")
    );
    let profile = Profile::from_toml_str(&text, &origin, Some(base))?;
    Ok(LoadedProfile {
        profile,
        export: Some(Arc::new(export)),
        settings: imported.settings,
        notes: imported.notes,
    })
}

/// Read exports alone (the on-premises half and, optionally, the Exchange Online half) into a
/// validated profile.
///
/// # Errors
/// An unusable export, or one that does not give a complete profile.
pub fn load_exports(paths: &[&Path]) -> Result<LoadedProfile, ImportError> {
    let export = Export::load(paths)?;
    let imported = profile_from_export(&export);
    let problems = imported.profile.validate();
    if !problems.is_empty() {
        return Err(ImportError::Incomplete {
            origin: paths.first().map(|p| p.display().to_string()).unwrap_or_default(),
            problems,
        });
    }
    Ok(LoadedProfile {
        profile: imported.profile,
        export: Some(Arc::new(export)),
        settings: imported.settings,
        notes: imported.notes,
    })
}

/// Lay `hand` over `base`: tables merge key by key, anything else (values, arrays of tables such as
/// `[[mailbox]]`) replaces. Records the key paths set by hand.
fn overlay(base: &mut toml::Table, hand: toml::Table, prefix: &str, by_hand: &mut Vec<String>) {
    for (key, value) in hand {
        let path = if prefix.is_empty() {
            key.clone()
        } else {
            format!("{prefix}.{key}")
        };
        match (base.get_mut(&key), value) {
            (Some(toml::Value::Table(b)), toml::Value::Table(h)) => overlay(b, h, &path, by_hand),
            (_, value) => {
                by_hand.push(path);
                base.insert(key, value);
            }
        }
    }
}

/// What the import could not read, as lines for a terminal (`file: section ...: message`).
pub fn problem_lines(problems: &[ImportProblem]) -> Vec<String> {
    problems.iter().map(ToString::to_string).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(name: &str) -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../tests/fixtures/exchange")
            .join(name)
    }

    fn both() -> Export {
        Export::load(&[
            fixture("onprem-two-mailbox.json").as_path(),
            fixture("exo.json").as_path(),
        ])
        .unwrap()
    }

    #[test]
    fn the_two_halves_give_a_valid_profile_with_origins() {
        let export = both();
        let imported = profile_from_export(&export);
        let p = &imported.profile;
        assert!(p.validate().is_empty(), "{:?}", p.validate());
        assert_eq!(p.tenant.name, "contoso");
        assert_eq!(p.tenant.accepted_domains[0], "contoso.com");
        assert_eq!(
            p.mailboxes.iter().map(|m| m.fqdn.as_str()).collect::<Vec<_>>(),
            ["ex01.contoso.com", "ex02.contoso.com"]
        );
        assert_eq!(p.connectors.send.fqdn.as_deref(), Some("mail.contoso.com"));
        assert_eq!(p.connectors.exo_outbound.smart_hosts, ["mail.contoso.com"]);
        let origin = imported
            .origin("connectors.send.tls_certificate_name")
            .unwrap()
            .to_string();
        assert!(
            origin.starts_with("observed: Get-SendConnector \"Outbound to Office 365"),
            "{origin}"
        );
        assert!(origin.contains(".TlsCertificateName"), "{origin}");
        let tenant = imported.origin("tenant.name").unwrap().to_string();
        assert!(
            tenant.starts_with("observed: Get-AcceptedDomain \"contoso.onmicrosoft.com\" .InitialDomain"),
            "{tenant}"
        );
        // EX02 names another certificate: the import says so, the audit judges it.
        assert!(
            imported
                .notes
                .iter()
                .any(|n| n.contains("another certificate on EX02")),
            "{:?}",
            imported.notes
        );
        let toml = annotated_toml(&imported, &export).unwrap();
        let reread = Profile::from_toml_str(&toml, "x.toml", None).unwrap();
        assert_eq!(&reread, p);
        assert!(
            toml.contains("fqdn = \"mail.contoso.com\"  # observed: Get-SendConnector"),
            "{toml}"
        );
        assert!(
            toml.contains("[[mailbox]]\nfqdn = \"ex02.contoso.com\"  # observed: Get-HybridConfiguration"),
            "{toml}"
        );
    }

    #[test]
    fn the_autodiscover_domain_mark_is_not_part_of_the_domain() {
        let mut export = both();
        let mut h = export.hybrid[0].clone();
        h.item.domains =
            crate::exchange::ps::Ps::Value(vec!["autod:contoso.com".into(), "fabrikam.com".into()]);
        export.hybrid = vec![h];
        let imported = profile_from_export(&export);
        assert_eq!(
            imported.profile.tenant.accepted_domains,
            ["contoso.com", "fabrikam.com"]
        );
    }

    #[test]
    fn an_edges_replica_of_the_send_connector_counts_once() {
        let mut export = both();
        let mut replica = export.send_connectors[0].clone();
        let mut from = (*replica.from).clone();
        from.server = Some("EDGE01".into());
        replica.from = Arc::new(from);
        export.send_connectors.push(replica);
        let found = eop_send_connectors(&export);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].from.server, None);
    }

    #[test]
    fn the_on_premises_half_alone_assumes_the_cloud_side_and_says_so() {
        let export = Export::load(&[fixture("onprem-two-mailbox.json").as_path()]).unwrap();
        let imported = profile_from_export(&export);
        // The tenant comes from the send connector's address space.
        assert_eq!(imported.profile.tenant.name, "contoso");
        assert!(
            matches!(imported.origin("connectors.exo_inbound.require_tls"), Some(Origin::Assumed(why)) if why.contains("-ExchangeOnline"))
        );
        assert!(
            imported
                .notes
                .iter()
                .any(|n| n.contains("no Exchange Online half"))
        );
    }

    #[test]
    fn a_profile_that_imports_keeps_its_own_keys() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::copy(fixture("onprem-two-mailbox.json"), dir.path().join("export.json")).unwrap();
        let path = dir.path().join("contoso.toml");
        std::fs::write(
            &path,
            "name = \"Contoso by hand\"\nimport = \"export.json\"\n[connectors.send]\nfqdn = \"smtp.contoso.com\"\n",
        )
        .unwrap();
        let loaded = load_profile(&path).unwrap();
        assert_eq!(loaded.profile.name, "Contoso by hand");
        assert_eq!(
            loaded.profile.connectors.send.fqdn.as_deref(),
            Some("smtp.contoso.com")
        );
        assert_eq!(loaded.profile.tenant.name, "contoso");
        assert_eq!(loaded.profile.import, [PathBuf::from("export.json")]);
        assert!(loaded.export.is_some());
        let origin = |k: &str| {
            loaded
                .settings
                .iter()
                .find(|s| s.key == k)
                .map(|s| s.origin.clone())
        };
        assert_eq!(origin("connectors.send.fqdn"), Some(Origin::ByHand));
        assert!(matches!(
            origin("connectors.send.tls_certificate_name"),
            Some(Origin::Observed { .. })
        ));
        // The two halves, as a list.
        std::fs::copy(fixture("exo.json"), dir.path().join("exo.json")).unwrap();
        let two = dir.path().join("two.toml");
        std::fs::write(
            &two,
            "name = \"Contoso\"\nimport = [\"export.json\", \"exo.json\"]\n",
        )
        .unwrap();
        let loaded = load_profile(&two).unwrap();
        assert!(
            loaded
                .export
                .as_ref()
                .is_some_and(|e| e.has_exchange_online() && e.has_on_premises())
        );
        assert_eq!(
            loaded.profile.connectors.exo_outbound.smart_hosts,
            ["mail.contoso.com"]
        );
        // An export given as the profile is imported.
        let direct = load_profile(&dir.path().join("export.json")).unwrap();
        assert_eq!(direct.profile.mailboxes.len(), 2);
        // A profile whose export is missing names the export.
        std::fs::write(&path, "name = \"x\"\nimport = \"gone.json\"\n").unwrap();
        let err = load_profile(&path).unwrap_err().to_string();
        assert!(err.contains("gone.json: cannot read the export"), "{err}");
    }
}
