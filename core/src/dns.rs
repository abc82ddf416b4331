//! DNS evidence types and the resolver used by probes.
//!
//! OWNER: dns helper. Contract:
//! - `RecordData`: serde enum of the record kinds mailpath reads and the lab serves
//!   (A, AAAA, MX, TXT, CNAME, PTR, NS, TLSA).
//! - `Resolver`: hickory-resolver based; built either from the system configuration or from explicit
//!   name servers (`SocketAddr`s, UDP+TCP); `lookup(name, RecordType) -> DnsAnswer` never panics and
//!   turns every failure into an outcome (NXDOMAIN, no data, timeout, error text) with elapsed time.
