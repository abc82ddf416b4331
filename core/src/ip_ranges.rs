//! IP address ranges as Exchange writes them (`RemoteIPRanges`: a single address, `a-b`, or CIDR) and
//! Exchange Online Protection's published ranges, shipped as data with their date and source
//! (`core/data/eop-ip-ranges.txt`).

use std::fmt;
use std::net::IpAddr;

/// The data file: EOP's ranges, one per line, `#` comments naming the source and the date.
pub const EOP_RANGES_FILE: &str = include_str!("../data/eop-ip-ranges.txt");

/// Why a text is not an IP address range.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum IpRangeError {
    /// A part that should be an address is not one.
    #[error("{0:?} is not an IP address")]
    NotAnAddress(String),
    /// `a-b` with one IPv4 and one IPv6 address.
    #[error("{0:?} mixes IPv4 and IPv6")]
    MixedFamilies(String),
    /// `a-b` with `b` before `a`.
    #[error("{0:?} ends before it starts")]
    Reversed(String),
    /// `a/n` with `n` missing, not a number or longer than the address.
    #[error("{range:?} has no valid prefix length (0-{width})")]
    BadPrefix {
        /// The range as written.
        range: String,
        /// The address width in bits (32 or 128).
        width: u32,
    },
}

/// An inclusive range of addresses of one family.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IpRange {
    /// The first address.
    pub first: IpAddr,
    /// The last address.
    pub last: IpAddr,
}

impl IpRange {
    /// Parse `192.0.2.1`, `192.0.2.1-192.0.2.9`, `192.0.2.0/24`, `2001:db8::/32` (a zone index such as
    /// `%11` is dropped).
    ///
    /// # Errors
    /// What is wrong with the text.
    pub fn parse(text: &str) -> Result<IpRange, IpRangeError> {
        let t = text.trim();
        let ip = |s: &str| -> Result<IpAddr, IpRangeError> {
            let s = s.trim().trim_start_matches('[').trim_end_matches(']');
            let s = s.split('%').next().unwrap_or(s);
            s.parse::<IpAddr>()
                .map_err(|_| IpRangeError::NotAnAddress(s.to_string()))
        };
        if let Some((a, b)) = t.split_once('-') {
            let (first, last) = (ip(a)?, ip(b)?);
            if first.is_ipv4() != last.is_ipv4() {
                return Err(IpRangeError::MixedFamilies(t.to_string()));
            }
            if num(first) > num(last) {
                return Err(IpRangeError::Reversed(t.to_string()));
            }
            return Ok(IpRange { first, last });
        }
        if let Some((a, bits)) = t.split_once('/') {
            let base = ip(a)?;
            let width: u32 = if base.is_ipv4() { 32 } else { 128 };
            let bits: u32 =
                bits.trim()
                    .parse()
                    .ok()
                    .filter(|b| *b <= width)
                    .ok_or_else(|| IpRangeError::BadPrefix {
                        range: t.to_string(),
                        width,
                    })?;
            let host_bits = width - bits;
            let mask: u128 = if host_bits == 128 {
                u128::MAX
            } else {
                (1u128 << host_bits) - 1
            };
            let start = num(base) & !mask;
            return Ok(IpRange {
                first: from_num(start, base.is_ipv4()),
                last: from_num(start | mask, base.is_ipv4()),
            });
        }
        let single = ip(t)?;
        Ok(IpRange {
            first: single,
            last: single,
        })
    }

    /// Whether `other` lies wholly inside this range.
    pub fn contains_range(&self, other: &IpRange) -> bool {
        self.first.is_ipv4() == other.first.is_ipv4()
            && num(self.first) <= num(other.first)
            && num(other.last) <= num(self.last)
    }

    /// Whether `ip` is in this range.
    pub fn contains(&self, ip: IpAddr) -> bool {
        self.first.is_ipv4() == ip.is_ipv4() && num(self.first) <= num(ip) && num(ip) <= num(self.last)
    }
}

impl fmt::Display for IpRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.first == self.last {
            write!(f, "{}", self.first)
        } else {
            write!(f, "{}-{}", self.first, self.last)
        }
    }
}

fn num(ip: IpAddr) -> u128 {
    match ip {
        IpAddr::V4(v4) => u128::from(u32::from(v4)),
        IpAddr::V6(v6) => u128::from(v6),
    }
}

fn from_num(n: u128, v4: bool) -> IpAddr {
    if v4 {
        IpAddr::V4(u32::try_from(n).unwrap_or(u32::MAX).into())
    } else {
        IpAddr::V6(n.into())
    }
}

/// Whether the union of `ranges` covers all of `wanted` (ranges may overlap and come in any order).
pub fn covered(ranges: &[IpRange], wanted: &IpRange) -> bool {
    let mut same: Vec<(u128, u128)> = ranges
        .iter()
        .filter(|r| r.first.is_ipv4() == wanted.first.is_ipv4())
        .map(|r| (num(r.first), num(r.last)))
        .collect();
    same.sort_unstable();
    let (mut next, end) = (num(wanted.first), num(wanted.last));
    for (a, b) in same {
        if a > next {
            break;
        }
        if b >= next {
            if b >= end {
                return true;
            }
            next = b + 1;
        }
    }
    false
}

/// EOP's published ranges (the shipped data file), as text.
pub fn eop_ranges() -> Vec<String> {
    EOP_RANGES_FILE
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(str::to_string)
        .collect()
}

/// The `Date:` line of the shipped data file.
pub fn eop_ranges_date() -> &'static str {
    EOP_RANGES_FILE
        .lines()
        .find_map(|l| l.strip_prefix("# Date:"))
        .map_or("", str::trim)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_forms_exchange_writes() {
        let all = IpRange::parse("0.0.0.0-255.255.255.255").unwrap();
        let eop = IpRange::parse("40.92.0.0/15").unwrap();
        assert_eq!(eop.to_string(), "40.92.0.0-40.93.255.255");
        assert!(all.contains_range(&eop));
        assert!(IpRange::parse("fe80::39bd:88f7:6969:d223%11").is_ok());
        assert!(IpRange::parse("2001:db8::/129").is_err());
        assert!(IpRange::parse("10.0.0.9-10.0.0.1").is_err());
        assert!(IpRange::parse("10.0.0.1-::1").is_err());
        assert!(IpRange::parse("[192.0.2.1]").is_ok());
        let v6all = IpRange::parse("::-ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff").unwrap();
        assert!(v6all.contains_range(&IpRange::parse("2a01:111:f400::/48").unwrap()));
    }

    #[test]
    fn coverage_by_a_union_of_ranges() {
        let parts = [
            IpRange::parse("40.92.0.0/16").unwrap(),
            IpRange::parse("40.93.0.0-40.93.255.255").unwrap(),
        ];
        assert!(covered(&parts, &IpRange::parse("40.92.0.0/15").unwrap()));
        assert!(!covered(&parts[..1], &IpRange::parse("40.92.0.0/15").unwrap()));
        assert!(!covered(&parts, &IpRange::parse("2a01:111:f400::/48").unwrap()));
    }

    #[test]
    fn the_shipped_list_parses_and_names_its_date() {
        let ranges = eop_ranges();
        assert!(ranges.len() >= 4);
        assert!(ranges.iter().all(|r| IpRange::parse(r).is_ok()), "{ranges:?}");
        assert_eq!(eop_ranges_date(), "2023-07-31");
        assert!(EOP_RANGES_FILE.contains("endpoint set ID 10"));
    }
}
