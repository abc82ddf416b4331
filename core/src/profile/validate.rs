//! Semantic validation of a [`Profile`]: every rule, collected into [`Problem`]s keyed by path.

use std::collections::HashMap;
use std::net::IpAddr;
use std::path::Path;

use super::error::{KeyPath, Problem};
use super::fields::{PORT_EXPECTED, timeout_expected};
use super::{MAX_TIMEOUT_SECS, MAX_TLS_CERTIFICATE_NAME_CHARS, Profile};

const TENANT_EXPECTED: &str =
    "the tenant name alone, such as contoso for contoso.onmicrosoft.com (letters, digits and hyphens)";
const CERT_NAME_EXPECTED: &str =
    "<I>issuer<S>subject, such as <I>CN=Contoso CA, O=Contoso, C=US<S>CN=mail.contoso.com";
const CAPABILITIES_EXPECTED: &str =
    "<domain>:<capability>[,<capability>], such as mail.protection.outlook.com:AcceptCloudServicesMail";
const REQUIRED: &str = "this key is required";
const THUMBPRINT_EXPECTED: &str =
    "the certificate's SHA-1 thumbprint as Get-ExchangeCertificate prints it: 40 hex digits";

#[derive(Default)]
struct Validator {
    problems: Vec<Problem>,
}

impl Validator {
    fn push(
        &mut self,
        key: KeyPath,
        message: impl Into<String>,
        expected: impl Into<String>,
    ) -> &mut Problem {
        self.problems.push(Problem::new(key, message).expected(expected));
        let last = self.problems.len() - 1;
        &mut self.problems[last]
    }

    fn push_found(
        &mut self,
        key: KeyPath,
        message: impl Into<String>,
        expected: impl Into<String>,
        found: &str,
    ) {
        self.push(key, message, expected).found = Some(found.to_owned());
    }

    /// A required host name, such as a server FQDN.
    fn required_host(&mut self, key: KeyPath, value: &str, expected: &str) {
        if value.is_empty() {
            self.push(key, REQUIRED, expected);
        } else {
            self.host(key, value, expected, Names::Host);
        }
    }

    fn host(&mut self, key: KeyPath, value: &str, expected: &str, names: Names) {
        if names == Names::HostOrIp && value.parse::<IpAddr>().is_ok() {
            return;
        }
        if let Some(reason) = host_name_problem(value, names == Names::HostOrWildcard) {
            let what = if names == Names::HostOrWildcard {
                "name"
            } else {
                "host name"
            };
            self.push_found(
                key,
                format!("{value:?} is not a valid {what}: {reason}"),
                expected,
                value,
            );
        }
    }

    fn ip(&mut self, key: KeyPath, ip: Option<IpAddr>) {
        let Some(ip) = ip else { return };
        let reason = if ip.is_unspecified() {
            "the unspecified address"
        } else if ip.is_multicast() {
            "a multicast address"
        } else if ip == IpAddr::from([255, 255, 255, 255]) {
            "the broadcast address"
        } else {
            return;
        };
        self.push_found(
            key,
            format!("{ip} is {reason}"),
            "the server's unicast IP address",
            &ip.to_string(),
        );
    }

    /// A list of host names or IP addresses, each listed once (smart hosts).
    fn host_list(&mut self, key: &KeyPath, hosts: &[String], expected: &str) {
        let mut seen: HashMap<String, usize> = HashMap::new();
        for (i, host) in hosts.iter().enumerate() {
            let item = key.index(i);
            let lower = host.to_ascii_lowercase();
            if let Some(first) = seen.get(&lower) {
                let message = format!("{host:?} is listed twice (first as {key}[{first}])");
                self.push_found(item, message, "each smart host once", host);
            } else {
                self.host(item, host, expected, Names::HostOrIp);
                seen.insert(lower, i);
            }
        }
    }

    fn certificate_name(&mut self, key: KeyPath, value: Option<&str>) {
        let Some(value) = value else { return };
        if let Some(reason) = certificate_name_problem(value) {
            self.push_found(key.clone(), reason, CERT_NAME_EXPECTED, value);
        }
        let chars = value.chars().count();
        if chars > MAX_TLS_CERTIFICATE_NAME_CHARS {
            let message = format!(
                "is {chars} characters long; EdgeSync cannot replicate a TlsCertificateName longer than \
                 {MAX_TLS_CERTIFICATE_NAME_CHARS} (KB 4052493)"
            );
            let expected = format!("at most {MAX_TLS_CERTIFICATE_NAME_CHARS} characters");
            self.push_found(key, message, expected, value);
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Names {
    Host,
    HostOrWildcard,
    HostOrIp,
}

/// Why `name` is not an RFC 1123 host name with at least two labels (or, with `wildcard`, `*.` and one).
pub(super) fn host_name_problem(name: &str, wildcard: bool) -> Option<String> {
    if name.is_empty() {
        return Some("it is empty".to_owned());
    }
    if name.ends_with('.') {
        return Some("it ends with a dot (write it without the trailing dot)".to_owned());
    }
    if !name.is_ascii() {
        return Some("it contains non-ASCII characters (write the xn-- form)".to_owned());
    }
    if name.len() > 253 {
        return Some(format!("it is {} characters long (at most 253)", name.len()));
    }
    if name.parse::<IpAddr>().is_ok() {
        return Some("it is an IP address".to_owned());
    }
    let rest = match name.strip_prefix("*.") {
        Some(rest) if wildcard => rest,
        _ => name,
    };
    let labels: Vec<&str> = rest.split('.').collect();
    for label in &labels {
        if label.is_empty() {
            return Some("it has an empty label".to_owned());
        }
        if label.contains('*') {
            let hint = if wildcard {
                "a wildcard is only allowed as the whole first label"
            } else {
                "no wildcard"
            };
            return Some(format!("label {label:?} contains '*' ({hint})"));
        }
        if let Some(c) = label.chars().find(|c| !c.is_ascii_alphanumeric() && *c != '-') {
            return Some(format!("it contains {c:?}, which is not allowed in a host name"));
        }
        if label.len() > 63 {
            return Some(format!("label {label:?} is longer than 63 characters"));
        }
        if label.starts_with('-') || label.ends_with('-') {
            return Some(format!("label {label:?} starts or ends with a hyphen"));
        }
    }
    if labels.len() < 2 {
        return Some("it is not fully qualified".to_owned());
    }
    if labels
        .last()
        .is_some_and(|tld| tld.bytes().all(|b| b.is_ascii_digit()))
    {
        return Some("its last label is all digits".to_owned());
    }
    None
}

/// Why `value` is not in Exchange's `<I>issuer<S>subject` syntax.
fn certificate_name_problem(value: &str) -> Option<String> {
    let Some(rest) = value.strip_prefix("<I>") else {
        return Some(format!("{value:?} does not start with <I>"));
    };
    let mut parts = rest.split("<S>");
    let (Some(issuer), Some(subject), None) = (parts.next(), parts.next(), parts.next()) else {
        let reason = if rest.contains("<S>") {
            "more than one <S>"
        } else {
            "no <S> before the subject"
        };
        return Some(format!("{value:?} has {reason}"));
    };
    for (part, what) in [(issuer, "issuer"), (subject, "subject")] {
        if !looks_like_x500_name(part) {
            return Some(format!(
                "the {what} {:?} is not an X.500 name such as CN=mail.contoso.com",
                part.trim()
            ));
        }
    }
    None
}

fn looks_like_x500_name(name: &str) -> bool {
    match name.trim().split_once('=') {
        Some((attribute, value)) => {
            let attribute = attribute.trim();
            !attribute.is_empty()
                && attribute.chars().all(|c| c.is_ascii_alphanumeric() || c == '.')
                && !value.trim().is_empty()
        }
        None => false,
    }
}

pub(super) fn validate(profile: &Profile) -> Vec<Problem> {
    let mut v = Validator::default();
    let root = KeyPath::root();
    if profile.name.trim().is_empty() {
        v.push(
            root.key("name"),
            REQUIRED,
            "a display name such as \"Contoso hybrid\"",
        );
    }
    tenant(&mut v, profile);
    servers(&mut v, profile);
    connectors(&mut v, profile);
    resolvers(&mut v, profile);
    trust(&mut v, profile);
    timeouts(&mut v, profile);
    ports(&mut v, profile);
    eop_ip_ranges(&mut v, profile);
    v.problems
}

/// `eop_ip_ranges`: each an address, a range `a-b` or CIDR, as Exchange writes RemoteIPRanges.
fn eop_ip_ranges(v: &mut Validator, profile: &Profile) {
    let key = KeyPath::root().key("eop_ip_ranges");
    for (i, range) in profile.eop_ip_ranges.iter().enumerate() {
        if let Err(why) = crate::ip_ranges::IpRange::parse(range) {
            v.push_found(
                key.index(i),
                why.to_string(),
                "an address, a range such as 40.92.0.0-40.93.255.255, or CIDR such as 40.92.0.0/15",
                range,
            );
        }
    }
}

fn tenant(v: &mut Validator, profile: &Profile) {
    let tenant = &profile.tenant;
    let key = KeyPath::root().key("tenant");
    let name = tenant.name.as_str();
    let lower = name.to_ascii_lowercase();
    let name_key = key.key("name");
    if name.is_empty() {
        v.push(name_key, REQUIRED, TENANT_EXPECTED);
    } else if let Some(base) = lower
        .split_once('.')
        .filter(|_| crate::cloud::is_any_tenant_domain(&lower))
        .map(|(base, _)| base)
    {
        let expected = format!("the tenant name alone: name = {base:?}");
        v.push_found(
            name_key,
            format!("{name:?} is a domain, not a tenant name"),
            expected,
            name,
        );
    } else if name.contains('.') {
        v.push_found(name_key, format!("{name:?} contains dots"), TENANT_EXPECTED, name);
    } else if let Some(c) = name.chars().find(|c| !c.is_ascii_alphanumeric() && *c != '-') {
        v.push_found(
            name_key,
            format!("{name:?} contains {c:?}"),
            TENANT_EXPECTED,
            name,
        );
    } else if name.starts_with('-') || name.ends_with('-') {
        v.push_found(
            name_key,
            format!("{name:?} starts or ends with a hyphen"),
            TENANT_EXPECTED,
            name,
        );
    } else if name.len() > 63 {
        v.push_found(
            name_key,
            format!("{name:?} is longer than 63 characters"),
            TENANT_EXPECTED,
            name,
        );
    }

    let domains_key = key.key("accepted_domains");
    if tenant.accepted_domains.is_empty() {
        v.push(
            domains_key.clone(),
            "at least one accepted domain is required",
            "a list such as [\"contoso.com\"]",
        );
    }
    let derived = [tenant.onmicrosoft_domain(), tenant.routing_domain()];
    let mut seen: HashMap<String, usize> = HashMap::new();
    for (i, domain) in tenant.accepted_domains.iter().enumerate() {
        let item = domains_key.index(i);
        let lower = domain.to_ascii_lowercase();
        if !name.is_empty() && derived.contains(&lower) {
            v.push_found(
                item,
                format!("{domain:?} is derived from tenant.name and must not be listed"),
                "only the organization's own domains, such as contoso.com",
                domain,
            );
        } else if let Some(first) = seen.get(&lower) {
            v.push_found(
                item,
                format!("{domain:?} is listed twice (first as tenant.accepted_domains[{first}])"),
                "each domain once",
                domain,
            );
        } else {
            v.host(item, domain, "a domain name such as contoso.com", Names::Host);
        }
        seen.entry(lower).or_insert(i);
    }
    if let Some(endpoint) = &tenant.eop_endpoint {
        let expected = "a host name such as contoso-com.mail.protection.outlook.com";
        v.host(key.key("eop_endpoint"), endpoint, expected, Names::Host);
    }
}

fn servers(v: &mut Validator, profile: &Profile) {
    let root = KeyPath::root();
    if profile.mailboxes.is_empty() {
        v.push(
            root.key("mailbox"),
            "at least one [[mailbox]] server is required",
            "a [[mailbox]] table with fqdn = \"ex01.contoso.com\"",
        );
    }
    let mut seen: HashMap<String, KeyPath> = HashMap::new();
    let mut once = |v: &mut Validator, key: KeyPath, fqdn: &str| {
        if fqdn.is_empty() {
            return;
        }
        let lower = fqdn.to_ascii_lowercase();
        if let Some(first) = seen.get(&lower) {
            v.push_found(
                key,
                format!("{fqdn:?} is already listed as {first}"),
                "each server once (an Edge server is not a Mailbox server, HCW8043)",
                fqdn,
            );
        } else {
            seen.insert(lower, key);
        }
    };
    for (i, mailbox) in profile.mailboxes.iter().enumerate() {
        let key = root.key("mailbox").index(i);
        v.required_host(
            key.key("fqdn"),
            &mailbox.fqdn,
            "a DNS name such as ex01.contoso.com",
        );
        once(v, key.key("fqdn"), &mailbox.fqdn);
        v.ip(key.key("address"), mailbox.address);
    }
    for (i, edge) in profile.edges.iter().enumerate() {
        let key = root.key("edge").index(i);
        v.required_host(
            key.key("fqdn"),
            &edge.fqdn,
            "the Edge's internal DNS name, such as edge01.contoso.com",
        );
        once(v, key.key("fqdn"), &edge.fqdn);
        let external = "the Edge's public DNS name that EOP connects to, such as mail.contoso.com";
        if edge.external_fqdn.is_empty() {
            v.push(
                key.key("external_fqdn"),
                "an Edge server needs its external_fqdn",
                external,
            );
        } else {
            v.host(
                key.key("external_fqdn"),
                &edge.external_fqdn,
                external,
                Names::Host,
            );
        }
        v.ip(key.key("address"), edge.address);
        v.ip(key.key("external_address"), edge.external_address);
        if let Some(thumbprint) = &edge.subscription_thumbprint {
            let normalized = super::normalize_thumbprint(thumbprint);
            let hex = normalized.chars().all(|c| c.is_ascii_hexdigit());
            if normalized.len() != 40 || !hex {
                let what = if hex {
                    format!("has {} hex digits, not 40", normalized.len())
                } else {
                    "is not hexadecimal".to_owned()
                };
                v.push_found(
                    key.key("subscription_thumbprint"),
                    format!("{thumbprint:?} {what}"),
                    THUMBPRINT_EXPECTED,
                    thumbprint,
                );
            }
        }
    }
}

fn connectors(v: &mut Validator, profile: &Profile) {
    let c = &profile.connectors;
    let key = KeyPath::root().key("connectors");

    let send = key.key("send");
    if let Some(fqdn) = &c.send.fqdn {
        v.host(
            send.key("fqdn"),
            fqdn,
            "the DNS name announced to EOP, such as mail.contoso.com",
            Names::Host,
        );
    }
    let eop_expected = profile.tenant.cloud.names().eop_tls_domain;
    match c.send.tls_domain.as_deref() {
        None => {}
        Some("") => {
            v.push(send.key("tls_domain"), REQUIRED, eop_expected);
        }
        Some(domain) => v.host(
            send.key("tls_domain"),
            domain,
            eop_expected,
            Names::HostOrWildcard,
        ),
    }
    v.certificate_name(
        send.key("tls_certificate_name"),
        c.send.tls_certificate_name.as_deref(),
    );
    v.host_list(
        &send.key("smart_hosts"),
        &c.send.smart_hosts,
        "a host name or IP address such as contoso-com.mail.protection.outlook.com",
    );
    let mut seen: HashMap<IpAddr, usize> = HashMap::new();
    for (i, ip) in c.send.egress_addresses.iter().enumerate() {
        let item = send.key("egress_addresses").index(i);
        if let Some(first) = seen.get(ip) {
            let message =
                format!("{ip} is listed twice (first as connectors.send.egress_addresses[{first}])");
            v.push_found(item, message, "each address once", &ip.to_string());
        } else {
            v.ip(item, Some(*ip));
            seen.insert(*ip, i);
        }
    }

    let receive = key.key("receive");
    let capabilities_key = receive.key("tls_domain_capabilities");
    match c.receive.tls_domain_capabilities.as_deref() {
        None => {}
        Some("") => {
            v.push(capabilities_key, REQUIRED, CAPABILITIES_EXPECTED);
        }
        Some(capabilities) => {
            if let Some(reason) = capabilities_problem(capabilities) {
                v.push_found(capabilities_key, reason, CAPABILITIES_EXPECTED, capabilities);
            }
        }
    }
    v.certificate_name(
        receive.key("tls_certificate_name"),
        c.receive.tls_certificate_name.as_deref(),
    );

    let onprem_name = "the name on the on-premises certificate, such as mail.contoso.com or *.contoso.com";
    if let Some(name) = &c.exo_inbound.tls_sender_certificate_name {
        let key = key.key("exo_inbound").key("tls_sender_certificate_name");
        v.host(key, name, onprem_name, Names::HostOrWildcard);
    }

    let outbound = key.key("exo_outbound");
    v.host_list(
        &outbound.key("smart_hosts"),
        &c.exo_outbound.smart_hosts,
        "a host name or IP address such as mail.contoso.com",
    );
    if let Some(domain) = &c.exo_outbound.tls_domain {
        v.host(
            outbound.key("tls_domain"),
            domain,
            onprem_name,
            Names::HostOrWildcard,
        );
    }
}

/// Why `value` is not `<domain>:<capability>[,<capability>]`.
fn capabilities_problem(value: &str) -> Option<String> {
    let Some((domain, capabilities)) = value.rsplit_once(':') else {
        return Some(format!(
            "{value:?} has no ':' between the domain and the capability"
        ));
    };
    if let Some(reason) = host_name_problem(domain.trim(), true) {
        return Some(format!("the domain {:?} is not valid: {reason}", domain.trim()));
    }
    for capability in capabilities.split(',').map(str::trim) {
        if capability.is_empty() || !capability.chars().all(|c| c.is_ascii_alphanumeric()) {
            return Some(format!(
                "{capability:?} is not a capability name such as AcceptCloudServicesMail"
            ));
        }
    }
    None
}

fn resolvers(v: &mut Validator, profile: &Profile) {
    let r = &profile.resolvers;
    let key = KeyPath::root().key("resolvers");
    for (list, addresses) in [("internal", &r.internal), ("external", &r.external)] {
        for (i, address) in addresses.iter().enumerate() {
            let item = key.key(list).index(i);
            let expected = "a DNS server address such as 10.0.0.1 or 10.0.0.1:5353";
            if address.port() == 0 {
                v.push_found(
                    item,
                    format!("{address} has port 0"),
                    expected,
                    &address.to_string(),
                );
            } else if address.ip().is_unspecified() || address.ip().is_multicast() {
                v.push_found(
                    item,
                    format!("{address} is not a unicast address"),
                    expected,
                    &address.to_string(),
                );
            }
        }
    }
    if !r.system && r.internal.is_empty() && r.external.is_empty() {
        v.push(
            key.key("system"),
            "no DNS resolver: system is false and no internal or external server is listed",
            "system = true, or servers in resolvers.internal or resolvers.external",
        );
    }
}

fn trust(v: &mut Validator, profile: &Profile) {
    let t = &profile.trust;
    let key = KeyPath::root().key("trust");
    let expected =
        "a readable CA certificate file (PEM); a relative path resolves against the profile's directory";
    for (i, file) in t.ca_files.iter().enumerate() {
        let item = key.key("ca_files").index(i);
        let shown = file.display().to_string();
        if let Some(reason) = unreadable(file) {
            v.push_found(item, reason, expected, &shown);
        }
    }
    if !t.system_store && t.ca_files.is_empty() {
        v.push(
            key.key("system_store"),
            "nothing to trust: system_store is false and ca_files is empty",
            "system_store = true, or CA files in trust.ca_files",
        );
    }
}

/// Why the file at `path` cannot be read, if it cannot.
fn unreadable(path: &Path) -> Option<String> {
    if path.as_os_str().is_empty() {
        return Some("the path is empty".to_owned());
    }
    let shown = path.display();
    match std::fs::metadata(path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Some(format!("{shown} does not exist")),
        Err(e) => return Some(format!("cannot read {shown}: {e}")),
        Ok(meta) if meta.is_dir() => return Some(format!("{shown} is a directory")),
        Ok(_) => {}
    }
    std::fs::File::open(path)
        .err()
        .map(|e| format!("cannot read {shown}: {e}"))
}

fn timeouts(v: &mut Validator, profile: &Profile) {
    let key = KeyPath::root().key("timeouts");
    for (name, duration) in profile.timeouts.entries() {
        let secs = duration.as_secs_f64();
        if duration.is_zero() {
            v.push_found(
                key.key(name),
                "0 seconds is not a usable timeout",
                timeout_expected(),
                "0",
            );
        } else if duration.as_secs_f64() > MAX_TIMEOUT_SECS as f64 {
            let message = format!("{secs} seconds is longer than the {MAX_TIMEOUT_SECS} s limit");
            v.push_found(key.key(name), message, timeout_expected(), &secs.to_string());
        }
    }
}

fn ports(v: &mut Validator, profile: &Profile) {
    let key = KeyPath::root().key("ports");
    let mut seen: HashMap<String, usize> = HashMap::new();
    for (i, entry) in profile.port_overrides.iter().enumerate() {
        let item = key.index(i);
        let host_expected = "the host name (or IP address) the ports apply to, such as mail.contoso.com";
        if entry.host.is_empty() {
            v.push(item.key("host"), REQUIRED, host_expected);
        } else {
            let lower = entry.host.to_ascii_lowercase();
            if let Some(first) = seen.get(&lower) {
                let message = format!("{:?} already has a port override (ports[{first}])", entry.host);
                v.push_found(
                    item.key("host"),
                    message,
                    "one [[ports]] entry per host",
                    &entry.host,
                );
            } else {
                v.host(item.key("host"), &entry.host, host_expected, Names::HostOrIp);
                seen.insert(lower, i);
            }
        }
        for (name, port) in [("smtp", entry.smtp), ("edgesync", entry.edgesync)] {
            if port == Some(0) {
                v.push_found(item.key(name), "0 is not a valid port number", PORT_EXPECTED, "0");
            }
        }
        if entry.smtp.is_none() && entry.edgesync.is_none() {
            v.push(
                item,
                "this port override sets neither smtp nor edgesync",
                "smtp = <port>, edgesync = <port>, or both",
            );
        }
    }
}
