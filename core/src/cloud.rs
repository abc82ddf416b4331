//! Microsoft's clouds and the names each gives the same things: the tenant's initial and routing
//! domains, the EOP endpoint and the name on EOP's certificate, the SPF record to include, the hosts
//! that are Microsoft's in a Received chain.
//!
//! One table ([`CLOUDS`]), one row a cloud, each with the Microsoft pages it comes from. Everything that
//! needs one of these names (the profile's derived domains and connector defaults, the topology's EOP
//! endpoint, the DNS checks, the header analysis, the lab) reads it here.
//! [`crate::topology`] re-exports it as the topology's vocabulary. It imports nothing from the crate, so
//! that the profile (below the topology) can use it too.
//!
//! ```
//! # use mailpath_core::cloud::{Cloud, CloudNames};
//! let gcc = Cloud::GccHigh.names();
//! assert_eq!(gcc.routing_domain("contoso"), "contoso.mail.onmicrosoft.us");
//! assert_eq!(gcc.eop_endpoint("contoso", Some("contoso.com")), "contoso.mail.protection.office365.us");
//! assert_eq!(Cloud::Commercial.names().spf_include, "spf.protection.outlook.com");
//! ```

use serde::{Deserialize, Serialize};

/// The Microsoft 365 cloud a tenant lives in (`[tenant] cloud`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Cloud {
    /// The worldwide (commercial) service, GCC (moderate) included.
    #[default]
    #[serde(rename = "commercial")]
    Commercial,
    /// Office 365 GCC High.
    #[serde(rename = "gcc-high")]
    GccHigh,
    /// Office 365 DoD.
    #[serde(rename = "dod")]
    Dod,
    /// Office 365 operated by 21Vianet (China).
    #[serde(rename = "21vianet")]
    China21Vianet,
}

/// How a cloud names a domain's EOP endpoint (the MX target).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EopToken {
    /// From the accepted domain, dots replaced by hyphens (`contoso.com` -> `contoso-com`).
    AcceptedDomain,
    /// The tenant name (`contoso` for `contoso.onmicrosoft.us`).
    TenantName,
}

/// The names one cloud gives the things hybrid mail flow touches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CloudNames {
    /// The cloud.
    pub cloud: Cloud,
    /// Its value in a profile (`gcc-high`).
    pub key: &'static str,
    /// What Microsoft calls it.
    pub label: &'static str,
    /// The suffix of the tenant's initial domain (`onmicrosoft.com`: `contoso.onmicrosoft.com`).
    pub initial_domain_suffix: &'static str,
    /// The suffix of the tenant's coexistence (routing) domain, which the on-premises send connector resolves
    /// by MX (`mail.onmicrosoft.com`).
    pub routing_domain_suffix: &'static str,
    /// The zone of the tenant's EOP endpoints (`mail.protection.outlook.com`).
    pub eop_zone: &'static str,
    /// How the first label of a domain's EOP endpoint is formed.
    pub eop_token: EopToken,
    /// The name the HCW sets as the send connector's TlsDomain and as the domain of the receive
    /// connector's TlsDomainCapabilities: what EOP's certificate carries.
    pub eop_tls_domain: &'static str,
    /// The SPF record senders through this cloud include.
    pub spf_include: &'static str,
    /// Suffixes of EOP's hosts (endpoints and front ends) in DNS and in Received fields.
    pub eop_host_suffixes: &'static [&'static str],
    /// Suffixes of Exchange Online's (mailbox and front-door) hosts in Received fields.
    pub exo_host_suffixes: &'static [&'static str],
    /// Suffixes of the DKIM keys Exchange Online publishes besides `<initial domain>` (none: only there).
    pub dkim_key_suffixes: &'static [&'static str],
    /// Where these names come from.
    pub sources: &'static [&'static str],
}

const EXTERNAL_DNS: &str =
    "https://learn.microsoft.com/microsoft-365/enterprise/external-domain-name-system-records";
const SPF_CONFIGURE: &str =
    "https://learn.microsoft.com/defender-office-365/email-authentication-spf-configure";
const HCW_CONNECTORS: &str =
    "https://learn.microsoft.com/exchange/transport-options#hybrid-deployment-transport-options";
const GCC_HIGH_DNS: &str =
    "https://learn.microsoft.com/microsoft-365/enterprise/dns-records-for-office-365-gcc-high";
const DOD_DNS: &str = "https://learn.microsoft.com/microsoft-365/enterprise/dns-records-for-office-365-dod";
const VIANET_ENDPOINTS: &str =
    "https://learn.microsoft.com/microsoft-365/enterprise/urls-and-ip-address-ranges-21vianet";
const VIANET_DNS: &str = "https://learn.microsoft.com/microsoft-365/admin/services-in-china/create-dns-records-when-you-manage-your-dns-records?view=o365-21vianet";

/// GCC High's names (DoD's are the same).
const GCC_HIGH: CloudNames = CloudNames {
    cloud: Cloud::GccHigh,
    key: "gcc-high",
    label: "Office 365 GCC High",
    initial_domain_suffix: "onmicrosoft.us",
    routing_domain_suffix: "mail.onmicrosoft.us",
    eop_zone: "mail.protection.office365.us",
    eop_token: EopToken::TenantName,
    eop_tls_domain: "mail.protection.office365.us",
    spf_include: "spf.protection.office365.us",
    eop_host_suffixes: &["protection.office365.us"],
    exo_host_suffixes: &["office365.us"],
    dkim_key_suffixes: &[],
    sources: &[GCC_HIGH_DNS, SPF_CONFIGURE],
};

/// Every cloud's names, in [`Cloud`] order.
///
/// Confirmed in the pages named: the EOP endpoint zones and how the endpoint is named (GCC High and DoD name
/// it after the tenant: "replacing tenant with the first part of your default tenant name"), the SPF
/// includes, the initial domains. Not confirmed by a Microsoft page, and marked so in the docs: the routing
/// domains `mail.onmicrosoft.us` / `mail.partner.onmschina.cn` (Microsoft's own DL-migration module uses
/// them), the GCC High/DoD TlsDomain `mail.protection.office365.us`, and 21Vianet's
/// `*.mail.protection.partner.outlook.cn` (the HCW's built-in value for that instance, whose certificate is
/// issued to the wildcard). The profile lets every derived name be overridden (`eop_endpoint`, the
/// connectors' TlsDomain), so that the real ones, read from Exchange, replace them.
pub const CLOUDS: [CloudNames; 4] = [
    CloudNames {
        cloud: Cloud::Commercial,
        key: "commercial",
        label: "Microsoft 365 (worldwide)",
        initial_domain_suffix: "onmicrosoft.com",
        routing_domain_suffix: "mail.onmicrosoft.com",
        eop_zone: "mail.protection.outlook.com",
        eop_token: EopToken::AcceptedDomain,
        eop_tls_domain: "mail.protection.outlook.com",
        spf_include: "spf.protection.outlook.com",
        eop_host_suffixes: &["protection.outlook.com", "mx.microsoft"],
        exo_host_suffixes: &["outlook.com", "office365.com", "outlook.office.com"],
        dkim_key_suffixes: &["dkim.mail.microsoft"],
        sources: &[EXTERNAL_DNS, SPF_CONFIGURE, HCW_CONNECTORS],
    },
    GCC_HIGH,
    // DoD names its side as GCC High does.
    CloudNames {
        cloud: Cloud::Dod,
        key: "dod",
        label: "Office 365 DoD",
        sources: &[DOD_DNS, SPF_CONFIGURE],
        ..GCC_HIGH
    },
    CloudNames {
        cloud: Cloud::China21Vianet,
        key: "21vianet",
        label: "Office 365 operated by 21Vianet",
        initial_domain_suffix: "partner.onmschina.cn",
        routing_domain_suffix: "mail.partner.onmschina.cn",
        eop_zone: "mail.protection.partner.outlook.cn",
        eop_token: EopToken::AcceptedDomain,
        eop_tls_domain: "*.mail.protection.partner.outlook.cn",
        spf_include: "spf.protection.partner.outlook.cn",
        eop_host_suffixes: &["protection.partner.outlook.cn"],
        exo_host_suffixes: &["partner.outlook.cn"],
        dkim_key_suffixes: &[],
        sources: &[VIANET_ENDPOINTS, VIANET_DNS, SPF_CONFIGURE],
    },
];

impl Cloud {
    /// Every cloud.
    pub const ALL: [Cloud; 4] = [
        Cloud::Commercial,
        Cloud::GccHigh,
        Cloud::Dod,
        Cloud::China21Vianet,
    ];

    /// Its names ([`CLOUDS`]).
    pub fn names(self) -> &'static CloudNames {
        match self {
            Cloud::Commercial => &CLOUDS[0],
            Cloud::GccHigh => &CLOUDS[1],
            Cloud::Dod => &CLOUDS[2],
            Cloud::China21Vianet => &CLOUDS[3],
        }
    }

    /// Its value in a profile (`gcc-high`).
    pub fn as_str(self) -> &'static str {
        self.names().key
    }
}

impl std::fmt::Display for Cloud {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Whether `host` is `domain` or under it (case-insensitive, trailing dots ignored).
fn within(host: &str, domain: &str) -> bool {
    let h = host.trim_end_matches('.').to_ascii_lowercase();
    let d = domain.trim_end_matches('.').to_ascii_lowercase();
    h == d || (h.len() > d.len() && h.ends_with(&d) && h.as_bytes()[h.len() - d.len() - 1] == b'.')
}

impl CloudNames {
    /// `<tenant>.<initial_domain_suffix>`, lower case: the tenant's initial domain.
    pub fn initial_domain(&self, tenant: &str) -> String {
        format!("{}.{}", tenant.to_ascii_lowercase(), self.initial_domain_suffix)
    }

    /// `<tenant>.<routing_domain_suffix>`, lower case: the coexistence (routing) domain.
    pub fn routing_domain(&self, tenant: &str) -> String {
        format!("{}.{}", tenant.to_ascii_lowercase(), self.routing_domain_suffix)
    }

    /// The EOP endpoint of a tenant as this cloud names it: from `first_domain` (dots as hyphens) or from
    /// the tenant name ([`EopToken`]); without a domain, the tenant name's (the initial domain's endpoint).
    pub fn eop_endpoint(&self, tenant: &str, first_domain: Option<&str>) -> String {
        let token = match (self.eop_token, first_domain) {
            (EopToken::AcceptedDomain, Some(d)) => d.to_ascii_lowercase().replace('.', "-"),
            _ => tenant.to_ascii_lowercase(),
        };
        format!("{token}.{}", self.eop_zone)
    }

    /// Whether `host` is one of this cloud's EOP hosts (endpoint or front end).
    pub fn is_eop_host(&self, host: &str) -> bool {
        self.eop_host_suffixes
            .iter()
            .any(|s| within(host, s) && !within(s, host))
    }

    /// Whether `host` is one of this cloud's Exchange Online hosts (not EOP's).
    pub fn is_exo_host(&self, host: &str) -> bool {
        !self.is_eop_host(host) && self.exo_host_suffixes.iter().any(|s| within(host, s))
    }

    /// Whether `domain` is the initial or routing domain of some tenant of this cloud (a name Microsoft
    /// owns, never one of the organization's accepted domains).
    pub fn is_tenant_domain(&self, domain: &str) -> bool {
        [self.routing_domain_suffix, self.initial_domain_suffix]
            .iter()
            .any(|s| within(domain, s) && !within(s, domain))
    }

    /// Whether `target` lies under one of [`CloudNames::dkim_key_suffixes`] (the DKIM keys Exchange Online
    /// publishes outside the initial domain).
    pub fn is_dkim_zone_key(&self, target: &str) -> bool {
        self.dkim_key_suffixes
            .iter()
            .any(|s| within(target, s) && !within(s, target))
    }
}

impl CloudNames {
    /// `text` (written with the commercial cloud's names, as the NDR catalogue is) with this cloud's names:
    /// the SPF include, the routing and initial domains, the EOP endpoints' zone and the name on EOP's
    /// certificate. The commercial cloud returns it unchanged.
    ///
    /// ```
    /// # use mailpath_core::cloud::Cloud;
    /// assert_eq!(
    ///     Cloud::GccHigh.names().localize("-TlsDomainCapabilities mail.protection.outlook.com:AcceptCloudServicesMail"),
    ///     "-TlsDomainCapabilities mail.protection.office365.us:AcceptCloudServicesMail"
    /// );
    /// ```
    pub fn localize(&self, text: &str) -> String {
        let commercial = Cloud::Commercial.names();
        if self.cloud == Cloud::Commercial {
            return text.to_string();
        }
        // Longest names first, so that a shorter one never rewrites part of a longer one.
        let mut out = text.replace(commercial.spf_include, self.spf_include);
        out = out.replace(
            &format!(".{}", commercial.routing_domain_suffix),
            &format!(".{}", self.routing_domain_suffix),
        );
        out = out.replace(
            &format!(".{}", commercial.eop_zone),
            &format!(".{}", self.eop_zone),
        );
        // What is left of the zone's name stands alone: the name on EOP's certificate (TlsDomain).
        out = out.replace(commercial.eop_tls_domain, self.eop_tls_domain);
        out.replace(
            &format!(".{}", commercial.initial_domain_suffix),
            &format!(".{}", self.initial_domain_suffix),
        )
    }
}

/// Whether `host` is an EOP host of any cloud.
pub fn is_any_eop_host(host: &str) -> bool {
    CLOUDS.iter().any(|c| c.is_eop_host(host))
}

/// Whether `name` is the name on EOP's certificate (the send connector's TlsDomain) in any cloud.
pub fn is_any_eop_tls_domain(name: &str) -> bool {
    CLOUDS.iter().any(|c| name.eq_ignore_ascii_case(c.eop_tls_domain))
}

/// Whether `host` is an Exchange Online host of any cloud.
pub fn is_any_exo_host(host: &str) -> bool {
    !is_any_eop_host(host) && CLOUDS.iter().any(|c| c.is_exo_host(host))
}

/// The cloud whose EOP `host` belongs to, if any.
pub fn cloud_of_eop_host(host: &str) -> Option<Cloud> {
    CLOUDS.iter().find(|c| c.is_eop_host(host)).map(|c| c.cloud)
}

/// Whether `domain` is the initial or routing domain of a tenant of any cloud.
pub fn is_any_tenant_domain(domain: &str) -> bool {
    CLOUDS.iter().any(|c| c.is_tenant_domain(domain))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_is_in_cloud_order_and_keys_round_trip() {
        for (i, cloud) in Cloud::ALL.iter().enumerate() {
            assert_eq!(CLOUDS[i].cloud, *cloud);
            assert_eq!(cloud.names().cloud, *cloud);
            let json = serde_json::to_string(cloud).unwrap();
            assert_eq!(json, format!("\"{}\"", cloud.as_str()));
            assert_eq!(serde_json::from_str::<Cloud>(&json).unwrap(), *cloud);
            assert!(!cloud.names().sources.is_empty());
        }
    }

    #[test]
    fn each_cloud_derives_its_own_names() {
        let c = Cloud::Commercial.names();
        assert_eq!(c.initial_domain("Contoso"), "contoso.onmicrosoft.com");
        assert_eq!(c.routing_domain("contoso"), "contoso.mail.onmicrosoft.com");
        assert_eq!(
            c.eop_endpoint("contoso", Some("Contoso.com")),
            "contoso-com.mail.protection.outlook.com"
        );
        let g = Cloud::GccHigh.names();
        assert_eq!(
            g.eop_endpoint("contoso", Some("contoso.com")),
            "contoso.mail.protection.office365.us"
        );
        assert_eq!(Cloud::Dod.names().spf_include, "spf.protection.office365.us");
        let v = Cloud::China21Vianet.names();
        assert_eq!(v.routing_domain("contoso"), "contoso.mail.partner.onmschina.cn");
        assert_eq!(
            v.eop_endpoint("contoso", Some("contoso.cn")),
            "contoso-cn.mail.protection.partner.outlook.cn"
        );
    }

    #[test]
    fn hosts_are_recognised_per_cloud() {
        let c = Cloud::Commercial.names();
        let g = Cloud::GccHigh.names();
        assert!(c.is_eop_host("contoso-com.mail.protection.outlook.com"));
        assert!(c.is_eop_host("DM6NAM11FT058.eop-nam11.prod.protection.outlook.com."));
        assert!(c.is_eop_host("contoso-com.a-v1.mx.microsoft"));
        assert!(!c.is_eop_host("protection.outlook.com"));
        assert!(!c.is_eop_host("contoso.mail.protection.office365.us"));
        assert!(g.is_eop_host("CY1USG02FT007.mail.protection.office365.us"));
        assert!(g.is_exo_host("BN1P110MB0001.usgp110.prod.office365.us"));
        assert!(!g.is_exo_host("CY1USG02FT007.mail.protection.office365.us"));
        assert!(c.is_exo_host("DM6PR11CA0012.namprd11.prod.outlook.com"));
        assert!(!c.is_eop_host("notprotection.outlook.com"));
        assert!(is_any_eop_host("x.mail.protection.partner.outlook.cn"));
        assert_eq!(
            cloud_of_eop_host("contoso.mail.protection.office365.us"),
            Some(Cloud::GccHigh)
        );
        assert!(is_any_tenant_domain("contoso.mail.onmicrosoft.us"));
        assert!(is_any_tenant_domain("contoso.onmicrosoft.com"));
        assert!(!is_any_tenant_domain("onmicrosoft.com"));
        assert!(!is_any_tenant_domain("contoso.com"));
        assert!(c.is_dkim_zone_key("selector1-contoso-com._domainkey.contoso.n-v1.dkim.mail.microsoft"));
        assert!(!c.is_dkim_zone_key("dkim.mail.microsoft"));
        assert!(!g.is_dkim_zone_key("selector1-contoso-com._domainkey.contoso.n-v1.dkim.mail.microsoft"));
    }
}
