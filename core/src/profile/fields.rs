//! Serde helpers for typed profile fields, with messages that say what was expected.
//!
//! Every error message follows serde's convention `<what is wrong>, expected <what was expected>`, which
//! [`super::parse`] splits into [`Problem::message`](super::Problem::message) and
//! [`Problem::expected`](super::Problem::expected).

use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize, Serializer};

use super::{MAX_TIMEOUT_SECS, NetworkLocation, TlsAuthLevel};

/// Why a value written as a TOML string does not parse (the `<what is wrong>` half of the message).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(super) enum FieldError {
    /// Not an IP address.
    #[error("{0:?} is not a valid IP address")]
    IpAddress(String),
    /// Not `IP`, `IP:port`, `[IPv6]` or `[IPv6]:port`.
    #[error("{0:?} is not a valid DNS server address")]
    DnsServer(String),
    /// Not one of the Exchange TLS authentication levels.
    #[error("{0:?} is not a TLS authentication level")]
    TlsAuthLevel(String),
    /// Not one of the workstation locations.
    #[error("{0:?} is not a workstation location")]
    Location(String),
}

/// A visitor for values written as TOML strings and parsed by `parse`.
struct Parse<T> {
    expecting: &'static str,
    parse: fn(&str) -> Result<T, FieldError>,
}

impl<T> Visitor<'_> for Parse<T> {
    type Value = T;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.expecting)
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<T, E> {
        (self.parse)(v).map_err(|m| E::custom(format_args!("{m}, expected {}", self.expecting)))
    }
}

pub(super) const IP_EXPECTED: &str = "an IPv4 or IPv6 address such as 10.0.0.10";

fn parse_ip(s: &str) -> Result<IpAddr, FieldError> {
    s.parse().map_err(|_| FieldError::IpAddress(s.to_string()))
}

/// `Option<IpAddr>` from a string (used with `#[serde(default)]`, so only called when the key is present).
pub(super) fn ip_opt<'de, D: Deserializer<'de>>(d: D) -> Result<Option<IpAddr>, D::Error> {
    d.deserialize_str(Parse {
        expecting: IP_EXPECTED,
        parse: parse_ip,
    })
    .map(Some)
}

struct IpAddrValue(IpAddr);

impl<'de> Deserialize<'de> for IpAddrValue {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_str(Parse {
            expecting: IP_EXPECTED,
            parse: parse_ip,
        })
        .map(IpAddrValue)
    }
}

/// A list of IP addresses written as strings.
pub(super) fn ips<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<IpAddr>, D::Error> {
    Vec::<IpAddrValue>::deserialize(d).map(|v| v.into_iter().map(|a| a.0).collect())
}

/// The port of a DNS server given without one.
pub const DNS_PORT: u16 = 53;

/// Parses `IP`, `IP:port`, `[IPv6]` or `[IPv6]:port`; the port defaults to 53.
pub(super) fn parse_resolver(s: &str) -> Result<SocketAddr, FieldError> {
    if let Ok(addr) = s.parse::<SocketAddr>() {
        return Ok(addr);
    }
    let bare = s.strip_prefix('[').and_then(|r| r.strip_suffix(']')).unwrap_or(s);
    match bare.parse::<IpAddr>() {
        Ok(ip) => Ok(SocketAddr::new(ip, DNS_PORT)),
        Err(_) => Err(FieldError::DnsServer(s.to_string())),
    }
}

struct ResolverAddr(SocketAddr);

impl<'de> Deserialize<'de> for ResolverAddr {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_str(Parse {
            expecting: "an IP address, optionally with a port, such as 10.0.0.1, 10.0.0.1:5353 or [2001:db8::1]:53",
            parse: parse_resolver,
        })
        .map(ResolverAddr)
    }
}

/// A list of DNS server addresses (`IP` or `IP:port`).
pub(super) fn resolvers<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<SocketAddr>, D::Error> {
    Vec::<ResolverAddr>::deserialize(d).map(|v| v.into_iter().map(|a| a.0).collect())
}

pub(super) const PORT_EXPECTED: &str = "a TCP port number from 1 to 65535";

struct PortVisitor;

impl Visitor<'_> for PortVisitor {
    type Value = u16;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(PORT_EXPECTED)
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<u16, E> {
        u16::try_from(v).map_err(|_| {
            E::custom(format_args!(
                "{v} is not a valid port number, expected {PORT_EXPECTED}"
            ))
        })
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<u16, E> {
        u16::try_from(v).map_err(|_| {
            E::custom(format_args!(
                "{v} is not a valid port number, expected {PORT_EXPECTED}"
            ))
        })
    }
}

/// An optional port number; 0 passes here and is rejected by validation.
pub(super) fn port_opt<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u16>, D::Error> {
    d.deserialize_u16(PortVisitor).map(Some)
}

pub(super) fn timeout_expected() -> String {
    format!("a number of seconds greater than 0 and at most {MAX_TIMEOUT_SECS}, such as 10 or 2.5")
}

struct SecondsVisitor;

impl Visitor<'_> for SecondsVisitor {
    type Value = Duration;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&timeout_expected())
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Duration, E> {
        match u64::try_from(v) {
            Ok(secs) => Ok(Duration::from_secs(secs)),
            Err(_) => Err(E::custom(format_args!(
                "{v} is negative, expected {}",
                timeout_expected()
            ))),
        }
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Duration, E> {
        Ok(Duration::from_secs(v))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Duration, E> {
        if v.is_nan() {
            return Err(E::custom(format_args!(
                "nan is not a number, expected {}",
                timeout_expected()
            )));
        }
        if v < 0.0 {
            return Err(E::custom(format_args!(
                "{v} is negative, expected {}",
                timeout_expected()
            )));
        }
        Duration::try_from_secs_f64(v)
            .map_err(|_| E::custom(format_args!("{v} is too large, expected {}", timeout_expected())))
    }
}

/// A duration written as a number of seconds (integer or float).
pub(super) fn seconds<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
    d.deserialize_f64(SecondsVisitor)
}

/// Writes a duration as a float number of seconds.
pub(super) fn seconds_ser<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_f64(d.as_secs_f64())
}

pub(super) const TLS_LEVEL_EXPECTED: &str = "one of EncryptionOnly, CertificateValidation, DomainValidation";

fn parse_tls_level(s: &str) -> Result<TlsAuthLevel, FieldError> {
    [
        TlsAuthLevel::EncryptionOnly,
        TlsAuthLevel::CertificateValidation,
        TlsAuthLevel::DomainValidation,
    ]
    .into_iter()
    .find(|level| level.as_str().eq_ignore_ascii_case(s.trim()))
    .ok_or_else(|| FieldError::TlsAuthLevel(s.to_string()))
}

impl<'de> Deserialize<'de> for TlsAuthLevel {
    /// Accepts the Exchange names, case-insensitively (like PowerShell).
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_str(Parse {
            expecting: TLS_LEVEL_EXPECTED,
            parse: parse_tls_level,
        })
    }
}

impl Serialize for TlsAuthLevel {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

pub(super) const LOCATION_EXPECTED: &str = "one of lan, dmz, internet";

fn parse_location(s: &str) -> Result<NetworkLocation, FieldError> {
    NetworkLocation::ALL
        .into_iter()
        .find(|l| l.as_str().eq_ignore_ascii_case(s.trim()))
        .ok_or_else(|| FieldError::Location(s.to_string()))
}

impl<'de> Deserialize<'de> for NetworkLocation {
    /// Accepts `lan`, `dmz` and `internet`, case-insensitively.
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_str(Parse {
            expecting: LOCATION_EXPECTED,
            parse: parse_location,
        })
    }
}

impl Serialize for NetworkLocation {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}
