//! DNS evidence types and the resolver used by probes.
//!
//! - [`RecordData`] / [`RecordType`]: the record kinds mailpath reads and the lab serves (A, AAAA, MX, TXT,
//!   CNAME, PTR, NS, TLSA, SOA), serde-serializable for reports. Names are lower-case, without trailing dot
//!   (the root name is written `.`, as in a null MX).
//! - [`DnsAnswer`] / [`DnsOutcome`]: one lookup as evidence: what was asked, which server answered, what came
//!   back (records, NXDOMAIN, NODATA, timeout, or an error text) and how long it took.
//! - [`Resolver`]: a stub resolver on top of hickory's name server pool, built either from the system
//!   configuration or from explicit name servers (UDP, and TCP when a UDP answer is truncated).
//!   [`Resolver::lookup`] never panics and never fails: every failure is a [`DnsOutcome`].
//!
//! The resolver deliberately does **not** use hickory's high-level `Resolver`: that one caches answers,
//! consults `/etc/hosts`, applies search domains and answers RFC 6761 special-use names itself (for example
//! every PTR under `127.in-addr.arpa` becomes `localhost`), all of which would falsify evidence and hide the
//! lab's reverse zones. Here every lookup goes to the wire, names are always absolute, and CNAME chains are
//! followed (at most [`MAX_CNAME_HOPS`] hops) against the same servers.

mod records;
mod resolver;

pub use records::*;
pub use resolver::{MAX_CNAME_HOPS, Resolver, ResolverError};
