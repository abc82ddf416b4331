//! Reading the header section: bounded to [`MAX_HEADER_BYTES`], unfolded, the `Received` fields made hops
//! (with TLS and the role of the receiving host), the Exchange headers collected.

use std::borrow::Cow;

use mail_parser::{HeaderValue, Host, MessageParser, Protocol, TlsVersion};

use super::{
    AntispamReport, ExchangeHeaders, Hop, HopRole, MAX_HEADER_BYTES, Summary, TRACKING_HEADER, TlsSeen,
};

/// The header section of a message (up to the first empty line), bounded by [`MAX_HEADER_BYTES`];
/// a leading `Microsoft Mail Internet Headers Version 2.0` line (Outlook's copy) is skipped.
pub fn header_section(data: &[u8]) -> (&[u8], bool) {
    let mut data = data;
    let outlook = b"Microsoft Mail Internet Headers Version 2.0";
    if data.starts_with(outlook) {
        let skip = data
            .iter()
            .position(|&b| b == b'\n')
            .map_or(data.len(), |p| p + 1);
        data = &data[skip..];
    }
    let end = find_blank_line(data).unwrap_or(data.len());
    if end > MAX_HEADER_BYTES {
        // Cut at a line end so the last field is whole.
        let cut = data[..MAX_HEADER_BYTES]
            .iter()
            .rposition(|&b| b == b'\n')
            .map_or(MAX_HEADER_BYTES, |p| p + 1);
        return (&data[..cut], true);
    }
    (&data[..end], false)
}

fn find_blank_line(data: &[u8]) -> Option<usize> {
    let mut start = 0;
    while start < data.len() {
        let end = data[start..]
            .iter()
            .position(|&b| b == b'\n')
            .map_or(data.len(), |p| start + p);
        let line = &data[start..end];
        if line.is_empty() || line == b"\r" {
            return Some(start);
        }
        start = end + 1;
    }
    None
}

/// Whether `data` starts with a header field (`Name: value`), after an optional Outlook preamble.
pub fn looks_like_headers(data: &[u8]) -> bool {
    let (section, _) = header_section(data);
    let first = section.split(|&b| b == b'\n').next().unwrap_or_default();
    match first.iter().position(|&b| b == b':') {
        Some(colon) if colon > 0 => first[..colon].iter().all(|&b| b.is_ascii_graphic()),
        _ => false,
    }
}

/// The first header named `name` (case-insensitive), unfolded and trimmed; a cheap scan of the
/// header section without decoding.
pub fn first_header(data: &[u8], name: &str) -> Option<String> {
    let (section, _) = header_section(data);
    let mut found: Option<Vec<u8>> = None;
    for line in section.split(|&b| b == b'\n') {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        let folded = line.first().is_some_and(|b| *b == b' ' || *b == b'\t');
        if let Some(value) = found.as_mut() {
            if folded {
                value.push(b' ');
                value.extend_from_slice(trim_ascii(line));
                continue;
            }
            break;
        }
        if folded {
            continue;
        }
        if let Some(colon) = line.iter().position(|&b| b == b':')
            && line[..colon].eq_ignore_ascii_case(name.as_bytes())
        {
            found = Some(trim_ascii(&line[colon + 1..]).to_vec());
        }
    }
    found.map(|v| String::from_utf8_lossy(&v).into_owned())
}

fn trim_ascii(bytes: &[u8]) -> &[u8] {
    bytes.trim_ascii()
}

/// Unfold a raw header value: line breaks plus leading whitespace become one space.
pub(super) fn unfold(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    let mut pending_space = false;
    for part in raw.split('\n') {
        let part = part.strip_suffix('\r').unwrap_or(part);
        let trimmed = if out.is_empty() {
            part.trim()
        } else {
            part.trim_start()
        };
        if trimmed.is_empty() {
            continue;
        }
        if pending_space || (!out.is_empty() && part.len() != trimmed.len()) {
            out.push(' ');
        }
        out.push_str(trimmed.trim_end());
        pending_space = part.ends_with(' ') || part.ends_with('\t');
    }
    out
}

/// The summary fields only (cheap enough for every captured message).
pub fn summary(data: &[u8]) -> Summary {
    let (section, _) = header_section(data);
    let Some(message) = MessageParser::new().parse_headers(section) else {
        return Summary::default();
    };
    summary_of(&message, section)
}

pub(super) fn summary_of(message: &mail_parser::Message<'_>, section: &[u8]) -> Summary {
    let address = |v: Option<&mail_parser::Address<'_>>| {
        v.map(|a| {
            a.iter()
                .filter_map(|addr| addr.address().map(str::to_string))
                .collect::<Vec<_>>()
                .join(", ")
        })
        .filter(|s| !s.is_empty())
    };
    Summary {
        subject: message.subject().map(|s| s.chars().take(998).collect()),
        from: address(message.from()),
        to: address(message.to()),
        date: message.date().map(mail_parser::DateTime::to_rfc3339),
        message_id: message.message_id().map(str::to_string),
        tracking_id: first_header(section, TRACKING_HEADER),
    }
}

pub(super) fn collect_exchange(x: &mut ExchangeHeaders, name: &str, value: &str) {
    let lower = name.to_ascii_lowercase();
    let set = |slot: &mut Option<String>| {
        if slot.is_none() {
            *slot = Some(value.to_string());
        }
    };
    match lower.as_str() {
        "x-ms-exchange-organization-authas" => set(&mut x.auth_as),
        "x-ms-exchange-organization-authsource" => set(&mut x.auth_source),
        "x-ms-exchange-organization-authmechanism" => set(&mut x.auth_mechanism),
        "x-ms-exchange-organization-scl" => set(&mut x.scl),
        "x-ms-exchange-organization-messagedirectionality" => set(&mut x.directionality),
        "x-crosspremisesheadersfilteredbysendconnector" => set(&mut x.filtered_by_send_connector),
        "x-ms-exchange-organization-cross-premises-headers-promoted"
        | "x-crosspremisesheaderspromoted"
        | "x-ms-exchange-organization-cross-premises-headers-processed" => set(&mut x.promoted),
        "x-eoptenantattributedmessage" | "x-eopattributedmessage" => set(&mut x.tenant_attributed),
        "x-originatororg" => set(&mut x.originator_org),
        "x-forefront-antispam-report" if x.antispam.is_none() => {
            x.antispam = Some(AntispamReport::parse(value));
        }
        "x-forefront-antispam-report-untrusted" if x.antispam_untrusted.is_none() => {
            x.antispam_untrusted = Some(AntispamReport::parse(value));
        }
        _ if lower.starts_with("x-ms-exchange-crosspremises-") && x.cross_premises.len() < 64 => {
            x.cross_premises.push((name.to_string(), value.to_string()));
        }
        _ if lower.starts_with("x-ms-exchange-crosstenant-") && x.cross_tenant.len() < 64 => {
            x.cross_tenant.push((name.to_string(), value.to_string()));
        }
        _ => {}
    }
}

fn host_name(host: Option<&Host<'_>>) -> Option<String> {
    host.map(|h| match h {
        Host::Name(name) => name.to_string(),
        Host::IpAddr(ip) => ip.to_string(),
    })
}

pub(super) fn hop_from(value: &HeaderValue<'_>, raw: &str, org_domains: &[String]) -> Hop {
    let raw = unfold(raw);
    let lower = raw.to_ascii_lowercase();
    let parsed = value.as_received();
    let from = parsed.and_then(|r| host_name(r.from.as_ref()));
    let by = parsed.and_then(|r| host_name(r.by.as_ref()));
    let exchange_software = lower.contains("microsoft smtp server") || lower.contains(" with mapi");
    let with = if lower.contains("microsoft smtp server") {
        Some("Microsoft SMTP Server".to_string())
    } else if lower.contains(" with mapi") {
        Some("mapi".to_string())
    } else {
        parsed.and_then(|r| r.with).map(|p| format!("{p:?}"))
    };
    let mut tls_version = parsed.and_then(|r| r.tls_version).map(tls_name);
    let tls_cipher = parsed.and_then(|r| r.tls_cipher.as_ref()).map(Cow::to_string);
    if tls_version.is_none() {
        tls_version = exchange_tls_version(&lower);
    }
    let secure_protocol = parsed.and_then(|r| r.with).is_some_and(|p| {
        matches!(
            p,
            Protocol::ESMTPS
                | Protocol::ESMTPSA
                | Protocol::UTF8SMTPS
                | Protocol::UTF8SMTPSA
                | Protocol::LMTPS
                | Protocol::LMTPSA
        )
    });
    let plain_protocol = parsed.and_then(|r| r.with).is_some_and(|p| {
        matches!(
            p,
            Protocol::SMTP
                | Protocol::ESMTP
                | Protocol::ESMTPA
                | Protocol::UTF8SMTP
                | Protocol::UTF8SMTPA
                | Protocol::LMTP
                | Protocol::LMTPA
        )
    });
    let tls = if from.is_none() {
        // A local pickup or submission record (`Received: by host with SMTP id ...`): no SMTP hop.
        TlsSeen::Unknown
    } else if tls_version.is_some() || secure_protocol || lower.contains("(tls)") {
        TlsSeen::Yes
    } else if lower.contains(" with mapi") || lower.contains(" with http") {
        TlsSeen::Unknown
    } else if exchange_software || plain_protocol {
        TlsSeen::No
    } else {
        TlsSeen::Unknown
    };
    let timestamp = parsed
        .and_then(|r| r.date.as_ref())
        .filter(|d| d.is_valid())
        .map(mail_parser::DateTime::to_timestamp)
        .or_else(|| {
            let (_, date) = raw.rsplit_once(';')?;
            mail_parser::DateTime::parse_rfc822(date.trim())
                .filter(mail_parser::DateTime::is_valid)
                .map(|d| d.to_timestamp())
        });
    let date = timestamp.and_then(|t| {
        time::OffsetDateTime::from_unix_timestamp(t)
            .ok()
            .and_then(|d| d.format(&time::format_description::well_known::Rfc3339).ok())
    });
    let role = role_of(by.as_deref(), exchange_software, org_domains);
    Hop {
        index: 0,
        from,
        from_ip: parsed.and_then(|r| r.from_ip).map(|ip| ip.to_string()),
        by,
        with,
        id: parsed.and_then(|r| r.id.as_ref()).map(Cow::to_string),
        date,
        delay_secs: None,
        tls,
        tls_version,
        tls_cipher,
        role,
        raw: raw.chars().take(2000).collect(),
        timestamp,
    }
}

fn tls_name(v: TlsVersion) -> String {
    match v {
        TlsVersion::SSLv2 => "SSLv2",
        TlsVersion::SSLv3 => "SSLv3",
        TlsVersion::TLSv1_0 => "TLSv1.0",
        TlsVersion::TLSv1_1 => "TLSv1.1",
        TlsVersion::TLSv1_2 => "TLSv1.2",
        TlsVersion::TLSv1_3 => "TLSv1.3",
        TlsVersion::DTLSv1_0 => "DTLSv1.0",
        TlsVersion::DTLSv1_2 => "DTLSv1.2",
        TlsVersion::DTLSv1_3 => "DTLSv1.3",
    }
    .to_string()
}

/// `version=TLS1_2` (Exchange) when mail-parser did not pick it up.
fn exchange_tls_version(lower: &str) -> Option<String> {
    let at = lower.find("version=tls")?;
    let rest = &lower[at + "version=tls".len()..];
    let digits: String = rest
        .chars()
        .take_while(|c| c.is_ascii_digit() || *c == '_')
        .collect();
    let version = match digits.as_str() {
        "1_0" | "" => "TLSv1.0",
        "1_1" => "TLSv1.1",
        "1_2" => "TLSv1.2",
        "1_3" => "TLSv1.3",
        _ => return Some(format!("TLS{digits}")),
    };
    Some(version.to_string())
}

/// Whether `host` is `domain` or a name under it (ASCII case-insensitive). Compared as bytes: a host name
/// from a header may hold any UTF-8, and the suffix may start inside a character.
pub(super) fn ends_with_domain(host: &str, domain: &str) -> bool {
    let host = host.trim_end_matches('.').as_bytes();
    let domain = domain.trim_end_matches('.').trim_start_matches('.').as_bytes();
    host.eq_ignore_ascii_case(domain)
        || (host.len() > domain.len()
            && host[host.len() - domain.len()..].eq_ignore_ascii_case(domain)
            && host[host.len() - domain.len() - 1] == b'.')
}

fn role_of(by: Option<&str>, exchange_software: bool, org_domains: &[String]) -> HopRole {
    let Some(by) = by else {
        return if exchange_software {
            HopRole::OnPremises
        } else {
            HopRole::Other
        };
    };
    // Microsoft's hosts in every cloud (crate::cloud::CLOUDS): a header says nothing of the profile.
    if crate::cloud::is_any_eop_host(by) {
        return HopRole::Eop;
    }
    if crate::cloud::is_any_exo_host(by) {
        return HopRole::ExchangeOnline;
    }
    let in_org = org_domains.iter().any(|d| ends_with_domain(by, d));
    if exchange_software && (in_org || org_domains.is_empty() || !by.contains('.') || by.ends_with(".local"))
    {
        return HopRole::OnPremises;
    }
    if exchange_software {
        // Exchange, but outside the organization's domains: another organization's server.
        return HopRole::Other;
    }
    HopRole::Other
}
