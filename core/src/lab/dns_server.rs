//! The lab's authoritative DNS server (hickory-server) on loopback.
//!
//! [`LabDnsServer::start`] serves a set of [`Zone`]s over UDP **and** TCP on the same port. It is purely
//! authoritative: answers carry the AA flag, a name missing inside a lab zone is NXDOMAIN (with the zone's
//! SOA), a name that exists without the asked type is NODATA, and a name outside every lab zone is REFUSED.
//! It never recurses nor forwards, so lab names never leak to real DNS.
//!
//! Each zone gets a generated SOA (`ns1.<zone> hostmaster.<zone> 1`) and NS record unless the caller gives
//! its own at the apex; the NS host is `ns1.` under the first non-reverse zone, with an A/AAAA record
//! pointing at the server's address when that zone has nothing at that name. Reverse zones such as
//! `127.in-addr.arpa` work like any other zone (PTR records named `1.0.0.127.in-addr.arpa`).

use std::collections::HashSet;
use std::fmt;
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use hickory_server::Server;
use hickory_server::net::runtime::TokioRuntimeProvider;
use hickory_server::proto::rr::{LowerName, Name, RData, Record};
use hickory_server::store::in_memory::InMemoryZoneHandler;
use hickory_server::zone_handler::{AxfrPolicy, Catalog, ZoneHandler, ZoneType};
use serde::{Deserialize, Serialize};
use tokio::net::{TcpListener, UdpSocket};

use crate::dns::{RecordData, name_to_string, parse_name};

/// TTL of the generated SOA and NS records.
const GENERATED_TTL: u32 = 3600;
/// How often to pick a new UDP port when the same TCP port is taken.
const BIND_ATTEMPTS: usize = 10;
/// A TCP client that sends nothing for this long is disconnected.
const TCP_IDLE_TIMEOUT: Duration = Duration::from_secs(5);
/// Per-connection buffer of outgoing TCP responses.
const TCP_RESPONSE_BUFFER: usize = 64;
/// Upper bound for a graceful shutdown.
const SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(5);

/// One lab zone: its origin and its records.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Zone {
    /// The zone apex, e.g. `contoso.com` or `127.in-addr.arpa` (no trailing dot needed).
    pub origin: String,
    /// The records; every name must be the origin or under it.
    pub records: Vec<LabRecord>,
}

impl Zone {
    /// An empty zone (it still gets its SOA and NS records when served).
    pub fn new(origin: impl Into<String>) -> Zone {
        Zone {
            origin: origin.into(),
            records: Vec::new(),
        }
    }

    /// Adds a record (builder style).
    pub fn with(mut self, name: impl Into<String>, ttl: u32, data: RecordData) -> Zone {
        self.records.push(LabRecord::new(name, ttl, data));
        self
    }
}

/// One record of a lab zone.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LabRecord {
    /// The owner name, absolute, without trailing dot (e.g. `selector1._domainkey.contoso.com`).
    pub name: String,
    /// Time to live, in seconds.
    pub ttl: u32,
    /// The record data.
    pub data: RecordData,
}

impl LabRecord {
    /// A record.
    pub fn new(name: impl Into<String>, ttl: u32, data: RecordData) -> LabRecord {
        LabRecord {
            name: name.into(),
            ttl,
            data,
        }
    }
}

/// Zone-file form: `mail.contoso.com. 3600 IN A 127.0.0.10`.
impl fmt::Display for LabRecord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = self.name.trim_end_matches('.');
        write!(f, "{name}. {} IN {}", self.ttl, self.data)
    }
}

/// Why the lab DNS server could not start.
#[derive(Debug, thiserror::Error)]
pub enum LabDnsError {
    /// A zone origin is not a usable DNS name.
    #[error("lab DNS: invalid zone origin {origin:?}: {reason}")]
    InvalidOrigin {
        /// The origin as given.
        origin: String,
        /// What is wrong with it.
        reason: String,
    },
    /// Two zones have the same origin.
    #[error("lab DNS: zone {origin} is defined more than once")]
    DuplicateZone {
        /// The repeated origin.
        origin: String,
    },
    /// A record's name is not inside its zone.
    #[error("lab DNS: record {name} is not inside zone {origin}")]
    RecordOutsideZone {
        /// The record's name.
        name: String,
        /// The zone it was given in.
        origin: String,
    },
    /// A record cannot be served (bad name, bad data, or a conflict such as a CNAME next to other data).
    #[error("lab DNS: invalid record `{record}` in zone {origin}: {reason}")]
    InvalidRecord {
        /// The record, in zone-file form.
        record: String,
        /// The zone it was given in.
        origin: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A socket could not be bound.
    #[error("lab DNS: cannot bind {proto} on {addr}: {source}")]
    Bind {
        /// `UDP` or `TCP`.
        proto: &'static str,
        /// The address asked for.
        addr: SocketAddr,
        /// The OS error.
        #[source]
        source: io::Error,
    },
    /// No port was free for both UDP and TCP.
    #[error(
        "lab DNS: no port on {ip} was free for both UDP and TCP after {attempts} attempts (last TCP error: {source})"
    )]
    NoCommonPort {
        /// The address the server binds to.
        ip: IpAddr,
        /// How many UDP ports were tried.
        attempts: usize,
        /// The last TCP bind error.
        #[source]
        source: io::Error,
    },
}

/// The running lab DNS server. Dropping it stops it; [`LabDnsServer::shutdown`] stops it gracefully.
pub struct LabDnsServer {
    addr: SocketAddr,
    origins: Vec<String>,
    server: Option<Server<Catalog>>,
}

impl fmt::Debug for LabDnsServer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LabDnsServer")
            .field("addr", &self.addr)
            .field("zones", &self.origins)
            .field("running", &self.server.is_some())
            .finish()
    }
}

impl LabDnsServer {
    /// Starts serving `zones` on `bind` with a free port, UDP and TCP on the same port. Must be called
    /// within a Tokio runtime; the server runs on it until shut down or dropped.
    pub async fn start(bind: IpAddr, zones: Vec<Zone>) -> Result<LabDnsServer, LabDnsError> {
        LabDnsServer::start_at(SocketAddr::new(bind, 0), zones).await
    }

    /// Like [`LabDnsServer::start`], on a given address; port 0 picks a free port.
    pub async fn start_at(addr: SocketAddr, zones: Vec<Zone>) -> Result<LabDnsServer, LabDnsError> {
        // Validate and build the zones before taking any port.
        let ns_ip = match addr.ip() {
            IpAddr::V4(ip) if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
            IpAddr::V6(ip) if ip.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
            ip => ip,
        };
        let catalog = build_catalog(&zones, ns_ip)?;
        let (udp, tcp, local) = bind_pair(addr).await?;

        let mut server = Server::new(catalog);
        server.register_socket(udp);
        server.register_listener(tcp, TCP_IDLE_TIMEOUT, TCP_RESPONSE_BUFFER);
        let origins = zones
            .iter()
            .map(|z| crate::dns::normalize_name(&z.origin))
            .collect();
        tracing::debug!(%local, ?origins, "lab DNS server started");
        Ok(LabDnsServer {
            addr: local,
            origins,
            server: Some(server),
        })
    }

    /// The address (UDP and TCP) the server answers on.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// The origins of the zones served, normalized (lower-case, no trailing dot).
    pub fn zones(&self) -> &[String] {
        &self.origins
    }

    /// Stops the server and waits (at most a few seconds) until its sockets are closed.
    pub async fn shutdown(mut self) {
        if let Some(mut server) = self.server.take() {
            match tokio::time::timeout(SHUTDOWN_TIMEOUT, server.shutdown_gracefully()).await {
                Ok(Ok(())) => {}
                Ok(Err(e)) => tracing::debug!(error = %e, "lab DNS server stopped with an error"),
                Err(_) => tracing::warn!("lab DNS server did not stop within {SHUTDOWN_TIMEOUT:?}; aborted"),
            }
        }
    }
}

impl Drop for LabDnsServer {
    fn drop(&mut self) {
        if let Some(server) = self.server.take() {
            // Cancel, then drop: dropping the server aborts its tasks, which closes the sockets.
            server.shutdown_token().cancel();
        }
    }
}

/// Binds UDP, then TCP on the same port. With port 0, retries with another UDP port when TCP is taken.
async fn bind_pair(addr: SocketAddr) -> Result<(UdpSocket, TcpListener, SocketAddr), LabDnsError> {
    let attempts = if addr.port() == 0 { BIND_ATTEMPTS } else { 1 };
    let mut last_error = None;
    for _ in 0..attempts {
        let udp = UdpSocket::bind(addr).await.map_err(|source| LabDnsError::Bind {
            proto: "UDP",
            addr,
            source,
        })?;
        let local = udp.local_addr().map_err(|source| LabDnsError::Bind {
            proto: "UDP",
            addr,
            source,
        })?;
        match TcpListener::bind(local).await {
            Ok(tcp) => return Ok((udp, tcp, local)),
            Err(source) if addr.port() != 0 => {
                return Err(LabDnsError::Bind {
                    proto: "TCP",
                    addr: local,
                    source,
                });
            }
            Err(e) => {
                tracing::debug!(%local, error = %e, "TCP port taken, trying another UDP port");
                last_error = Some(e);
            }
        }
    }
    Err(LabDnsError::NoCommonPort {
        ip: addr.ip(),
        attempts,
        source: last_error.unwrap_or_else(|| io::Error::other("no attempt made")),
    })
}

fn build_catalog(zones: &[Zone], ns_ip: IpAddr) -> Result<Catalog, LabDnsError> {
    let mut origins: Vec<Name> = Vec::with_capacity(zones.len());
    for zone in zones {
        let origin = parse_name(&zone.origin).map_err(|e| LabDnsError::InvalidOrigin {
            origin: zone.origin.clone(),
            reason: e.to_string(),
        })?;
        if origin.is_root() {
            return Err(LabDnsError::InvalidOrigin {
                origin: zone.origin.clone(),
                reason: "the lab must not be authoritative for the root".to_string(),
            });
        }
        if origins.contains(&origin) {
            return Err(LabDnsError::DuplicateZone {
                origin: name_to_string(&origin),
            });
        }
        origins.push(origin);
    }

    // The lab's name server host: ns1 under the first forward zone (else under each zone itself).
    let forward_ns = origins
        .iter()
        .find(|o| !name_to_string(o).ends_with(".arpa"))
        .and_then(|o| Name::from_ascii("ns1").ok()?.append_domain(o).ok());

    let mut catalog = Catalog::new();
    for (zone, origin) in zones.iter().zip(&origins) {
        let ns_name = match &forward_ns {
            Some(n) => n.clone(),
            None => Name::from_ascii("ns1")
                .and_then(|n| n.append_domain(origin))
                .map_err(|e| invalid_origin(zone, e.to_string()))?,
        };
        let handler = build_zone(zone, origin, &ns_name, ns_ip)?;
        let handler: Arc<dyn ZoneHandler> = Arc::new(handler);
        catalog.upsert(LowerName::new(origin), vec![handler]);
    }
    Ok(catalog)
}

fn invalid_origin(zone: &Zone, reason: String) -> LabDnsError {
    LabDnsError::InvalidOrigin {
        origin: zone.origin.clone(),
        reason,
    }
}

fn build_zone(
    zone: &Zone,
    origin: &Name,
    ns_name: &Name,
    ns_ip: IpAddr,
) -> Result<InMemoryZoneHandler<TokioRuntimeProvider>, LabDnsError> {
    let origin_text = name_to_string(origin);
    let invalid = |record: &LabRecord, reason: String| LabDnsError::InvalidRecord {
        record: record.to_string(),
        origin: origin_text.clone(),
        reason,
    };

    // Parse and check every record first.
    let mut records: Vec<(Name, &LabRecord, RData)> = Vec::with_capacity(zone.records.len());
    for record in &zone.records {
        let name = parse_name(&record.name).map_err(|e| invalid(record, e.to_string()))?;
        if !origin.zone_of(&name) {
            return Err(LabDnsError::RecordOutsideZone {
                name: crate::dns::normalize_name(&record.name),
                origin: origin_text.clone(),
            });
        }
        if matches!(record.data, RecordData::Soa { .. }) && name != *origin {
            return Err(invalid(
                record,
                "an SOA record belongs at the zone apex".to_string(),
            ));
        }
        let rdata = record
            .data
            .to_rdata()
            .map_err(|e| invalid(record, e.to_string()))?;
        records.push((name, record, rdata));
    }

    let given_soa = records.iter().find_map(|(_, _, rdata)| match rdata {
        RData::SOA(soa) => Some(soa.serial),
        _ => None,
    });
    let serial = given_soa.unwrap_or(1);
    let has_apex_ns = records
        .iter()
        .any(|(name, _, rdata)| name == origin && matches!(rdata, RData::NS(_)));

    let mut handler = InMemoryZoneHandler::<TokioRuntimeProvider>::empty(
        origin.clone(),
        ZoneType::Primary,
        AxfrPolicy::Deny,
    );
    let generated = |e: String| invalid_origin(zone, e);
    let unwritable = |e: crate::dns::RecordError| invalid_origin(zone, e.to_string());
    if given_soa.is_none() {
        let hostmaster = Name::from_ascii("hostmaster")
            .and_then(|n| n.append_domain(origin))
            .map_err(|e| generated(e.to_string()))?;
        let soa = RecordData::Soa {
            mname: name_to_string(ns_name),
            rname: name_to_string(&hostmaster),
            serial,
        }
        .to_rdata()
        .map_err(unwritable)?;
        handler.upsert_mut(Record::from_rdata(origin.clone(), GENERATED_TTL, soa), serial);
    }
    if !has_apex_ns {
        let ns = RecordData::Ns(name_to_string(ns_name))
            .to_rdata()
            .map_err(unwritable)?;
        handler.upsert_mut(Record::from_rdata(origin.clone(), GENERATED_TTL, ns), serial);
        // Glue-like address of the name server, when it lives in this zone and the caller put nothing there.
        if origin.zone_of(ns_name) && !records.iter().any(|(name, _, _)| name == ns_name) {
            let address = match ns_ip {
                IpAddr::V4(ip) => RecordData::A(ip),
                IpAddr::V6(ip) => RecordData::Aaaa(ip),
            };
            let rdata = address.to_rdata().map_err(unwritable)?;
            handler.upsert_mut(Record::from_rdata(ns_name.clone(), GENERATED_TTL, rdata), serial);
        }
    }

    let mut seen: HashSet<(Name, String)> = HashSet::new();
    for (name, record, rdata) in records {
        // Exact duplicates are harmless in a zone file; serve them once.
        if !seen.insert((name.clone(), record.data.to_string())) {
            continue;
        }
        if !handler.upsert_mut(Record::from_rdata(name, record.ttl, rdata), serial) {
            return Err(invalid(
                record,
                "conflicts with another record at this name (a CNAME must be the only record at its name)"
                    .to_string(),
            ));
        }
    }
    Ok(handler)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dns::{DnsOutcome, RecordType, Resolver};
    use std::net::Ipv4Addr;

    const TIMEOUT: Duration = Duration::from_secs(2);
    const SPF: &str = "v=spf1 ip4:127.0.0.10 include:spf.protection.outlook.com -all";
    const DKIM_TARGET: &str = "selector1-contoso-com._domainkey.contoso.onmicrosoft.com";

    fn long_txt() -> String {
        // > 255 bytes, so it must travel as several character-strings.
        let key: String = (0..300).map(|i| char::from(b'A' + (i % 26) as u8)).collect();
        format!("v=DKIM1; k=rsa; p={key}")
    }

    fn big_txt() -> String {
        // Larger than a UDP answer may be (EDNS 1232 bytes): forces TC=1 and a retry over TCP.
        "x".repeat(3000)
    }

    fn ip(s: &str) -> Ipv4Addr {
        s.parse().unwrap()
    }

    fn lab_zones() -> Vec<Zone> {
        vec![
            Zone::new("contoso.com")
                .with(
                    "contoso.com",
                    300,
                    RecordData::Mx {
                        preference: 10,
                        exchange: "contoso-com.mail.protection.outlook.com".into(),
                    },
                )
                .with("contoso.com", 300, RecordData::Txt(SPF.into()))
                .with("contoso.com", 300, RecordData::Txt("MS=ms12345678".into()))
                .with(
                    "_dmarc.contoso.com",
                    300,
                    RecordData::Txt("v=DMARC1; p=reject".into()),
                )
                .with("mail.contoso.com", 300, RecordData::A(ip("127.0.0.10")))
                .with("mail.contoso.com", 300, RecordData::Aaaa("::1".parse().unwrap()))
                .with(
                    "autodiscover.contoso.com",
                    300,
                    RecordData::Cname("mail.contoso.com".into()),
                )
                .with(
                    "selector1._domainkey.contoso.com",
                    300,
                    RecordData::Cname(DKIM_TARGET.into()),
                )
                .with(
                    "dangling.contoso.com",
                    300,
                    RecordData::Cname("gone.contoso.com".into()),
                )
                .with("long.contoso.com", 300, RecordData::Txt(long_txt()))
                .with("big.contoso.com", 300, RecordData::Txt(big_txt()))
                .with(
                    "_25._tcp.mail.contoso.com",
                    300,
                    RecordData::Tlsa {
                        usage: 3,
                        selector: 1,
                        matching: 1,
                        data_hex: "0a1b2c3d".into(),
                    },
                ),
            Zone::new("contoso.onmicrosoft.com").with(DKIM_TARGET, 300, RecordData::Txt(long_txt())),
            Zone::new("mail.protection.outlook.com").with(
                "contoso-com.mail.protection.outlook.com",
                300,
                RecordData::A(ip("127.0.0.20")),
            ),
            Zone::new("127.in-addr.arpa")
                .with(
                    "10.0.0.127.in-addr.arpa",
                    300,
                    RecordData::Ptr("mail.contoso.com".into()),
                )
                .with(
                    "20.0.0.127.in-addr.arpa",
                    300,
                    RecordData::Ptr("eop.mail.protection.outlook.com".into()),
                ),
        ]
    }

    async fn start() -> (LabDnsServer, Resolver) {
        let server = LabDnsServer::start(IpAddr::V4(Ipv4Addr::LOCALHOST), lab_zones())
            .await
            .unwrap();
        let resolver = Resolver::with_servers(&[server.local_addr()], TIMEOUT);
        (server, resolver)
    }

    fn records(outcome: &DnsOutcome) -> Vec<RecordData> {
        match outcome {
            DnsOutcome::Records(r) => r.clone(),
            other => panic!("expected records, got {other:?}"),
        }
    }

    #[tokio::test]
    async fn serves_every_record_type() {
        let (server, r) = start().await;
        let addr = server.local_addr().to_string();

        let mx = r.lookup("contoso.com", RecordType::Mx).await;
        assert_eq!(mx.server, addr);
        assert_eq!(
            records(&mx.outcome),
            vec![RecordData::Mx {
                preference: 10,
                exchange: "contoso-com.mail.protection.outlook.com".into()
            }]
        );

        let a = r.lookup("MAIL.Contoso.COM.", RecordType::A).await;
        assert_eq!(a.name, "mail.contoso.com");
        assert_eq!(records(&a.outcome), vec![RecordData::A(ip("127.0.0.10"))]);
        let aaaa = r.lookup("mail.contoso.com", RecordType::Aaaa).await;
        assert_eq!(
            records(&aaaa.outcome),
            vec![RecordData::Aaaa("::1".parse().unwrap())]
        );

        let txt = r.lookup("contoso.com", RecordType::Txt).await;
        let mut strings = txt.txt();
        strings.sort_unstable();
        assert_eq!(strings, vec!["MS=ms12345678", SPF]);
        let dmarc = r.lookup("_dmarc.contoso.com", RecordType::Txt).await;
        assert_eq!(dmarc.txt(), vec!["v=DMARC1; p=reject"]);

        let long = r.lookup("long.contoso.com", RecordType::Txt).await;
        assert_eq!(long.txt(), vec![long_txt().as_str()]);

        let cname = r
            .lookup("selector1._domainkey.contoso.com", RecordType::Cname)
            .await;
        assert_eq!(
            records(&cname.outcome),
            vec![RecordData::Cname(DKIM_TARGET.into())]
        );

        let tlsa = r.lookup("_25._tcp.mail.contoso.com", RecordType::Tlsa).await;
        assert_eq!(
            records(&tlsa.outcome),
            vec![RecordData::Tlsa {
                usage: 3,
                selector: 1,
                matching: 1,
                data_hex: "0a1b2c3d".into()
            }]
        );

        let ns = r.lookup("contoso.com", RecordType::Ns).await;
        assert_eq!(
            records(&ns.outcome),
            vec![RecordData::Ns("ns1.contoso.com".into())]
        );
        let ns_a = r.lookup("ns1.contoso.com", RecordType::A).await;
        assert_eq!(records(&ns_a.outcome), vec![RecordData::A(Ipv4Addr::LOCALHOST)]);
        let soa = r.lookup("127.in-addr.arpa", RecordType::Soa).await;
        assert_eq!(
            records(&soa.outcome),
            vec![RecordData::Soa {
                mname: "ns1.contoso.com".into(),
                rname: "hostmaster.127.in-addr.arpa".into(),
                serial: 1
            }]
        );
        server.shutdown().await;
    }

    #[tokio::test]
    async fn cname_chains_are_kept_in_order() {
        let (server, r) = start().await;
        // Resolved by the server inside its zone.
        let a = r.lookup("autodiscover.contoso.com", RecordType::A).await;
        assert_eq!(
            records(&a.outcome),
            vec![
                RecordData::Cname("mail.contoso.com".into()),
                RecordData::A(ip("127.0.0.10"))
            ]
        );
        // Followed by the resolver into another zone.
        let dkim = r
            .lookup("selector1._domainkey.contoso.com", RecordType::Txt)
            .await;
        assert_eq!(
            records(&dkim.outcome),
            vec![RecordData::Cname(DKIM_TARGET.into()), RecordData::Txt(long_txt())]
        );
        // A chain to nowhere keeps the CNAME as evidence.
        let dangling = r.lookup("dangling.contoso.com", RecordType::A).await;
        assert_eq!(
            records(&dangling.outcome),
            vec![RecordData::Cname("gone.contoso.com".into())]
        );
        assert!(!dangling.has_records());
        server.shutdown().await;
    }

    #[tokio::test]
    async fn negative_answers() {
        let (server, r) = start().await;
        let nx = r.lookup("nothere.contoso.com", RecordType::A).await;
        assert!(nx.is_nxdomain(), "{nx:?}");
        let nodata = r.lookup("mail.contoso.com", RecordType::Mx).await;
        assert!(nodata.is_nodata(), "{nodata:?}");
        // An empty non-terminal exists.
        let ent = r.lookup("_domainkey.contoso.com", RecordType::Txt).await;
        assert!(ent.is_nodata(), "{ent:?}");

        let outside = r.lookup("www.example.org", RecordType::A).await;
        let err = outside
            .error()
            .unwrap_or_else(|| panic!("expected an error, got {outside:?}"));
        assert!(err.contains("REFUSED"), "{err}");
        // Even a parent of a lab zone is outside.
        let parent = r.lookup("com", RecordType::Ns).await;
        assert!(
            parent.error().is_some_and(|e| e.contains("REFUSED")),
            "{parent:?}"
        );
        server.shutdown().await;
    }

    #[tokio::test]
    async fn reverse_lookups() {
        let (server, r) = start().await;
        let ptr = r.reverse(IpAddr::V4(ip("127.0.0.10"))).await;
        assert_eq!(ptr.name, "10.0.0.127.in-addr.arpa");
        assert_eq!(ptr.ptr(), vec!["mail.contoso.com"]);
        let eop = r.reverse(IpAddr::V4(ip("127.0.0.20"))).await;
        assert_eq!(eop.ptr(), vec!["eop.mail.protection.outlook.com"]);
        let none = r.reverse(IpAddr::V4(ip("127.0.0.99"))).await;
        assert!(none.is_nxdomain(), "{none:?}");
        // No reverse zone for IPv6 loopback in this lab: refused, never forwarded.
        let v6 = r.reverse("::1".parse().unwrap()).await;
        assert!(v6.error().is_some(), "{v6:?}");
        server.shutdown().await;
    }

    #[tokio::test]
    async fn truncated_udp_answer_is_retried_over_tcp() {
        let (server, r) = start().await;
        let big = r.lookup("big.contoso.com", RecordType::Txt).await;
        assert_eq!(big.txt(), vec![big_txt().as_str()], "{:?}", big.outcome.kind());
        server.shutdown().await;
    }

    #[tokio::test]
    async fn answers_are_authoritative() {
        use hickory_server::proto::op::{Message, Query, ResponseCode};
        use hickory_server::proto::rr::RecordType as HType;

        let (server, _) = start().await;
        let socket = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        for (name, rtype, rcode, aa) in [
            ("contoso.com.", HType::MX, ResponseCode::NoError, true),
            ("nothere.contoso.com.", HType::A, ResponseCode::NXDomain, true),
            ("example.org.", HType::A, ResponseCode::Refused, false),
            ("big.contoso.com.", HType::TXT, ResponseCode::NoError, true),
        ] {
            let mut query = Message::query();
            query.add_query(Query::query(Name::from_ascii(name).unwrap(), rtype));
            socket
                .send_to(&query.to_vec().unwrap(), server.local_addr())
                .await
                .unwrap();
            let mut buf = vec![0u8; 4096];
            let (len, _) = tokio::time::timeout(TIMEOUT, socket.recv_from(&mut buf))
                .await
                .unwrap()
                .unwrap();
            let response = Message::from_vec(&buf[..len]).unwrap();
            assert_eq!(response.metadata.id, query.metadata.id);
            assert_eq!(response.metadata.response_code, rcode, "{name}");
            assert_eq!(response.metadata.authoritative, aa, "{name}");
            assert!(
                !response.metadata.recursion_available,
                "{name}: the lab never recurses"
            );
            // Without EDNS a UDP answer holds 512 bytes: the big TXT must come truncated (TC=1).
            assert_eq!(response.metadata.truncation, name.starts_with("big."), "{name}");
        }
        server.shutdown().await;
    }

    #[tokio::test]
    async fn failover_timeout_and_shutdown() {
        let (server, _) = start().await;
        let addr = server.local_addr();

        // A server that never answers: timeout, bounded.
        let silent = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let silent_addr = silent.local_addr().unwrap();
        let quick = Duration::from_millis(200);
        let r = Resolver::with_servers(&[silent_addr], quick);
        let answer = r.lookup("contoso.com", RecordType::Mx).await;
        assert!(answer.is_timeout(), "{answer:?}");
        assert!(answer.elapsed_ms < 3000, "{answer:?}");

        // The next server is asked when the first one times out, and is named as the one that answered.
        let r = Resolver::with_servers(&[silent_addr, addr], quick);
        let answer = r.lookup("contoso.com", RecordType::Mx).await;
        assert_eq!(answer.server, addr.to_string());
        assert!(answer.has_records(), "{answer:?}");
        assert_eq!(r.label(), format!("{silent_addr}, {addr}"));

        // After shutdown nothing answers any more.
        server.shutdown().await;
        let r = Resolver::with_servers(&[addr], quick);
        let answer = r.lookup("contoso.com", RecordType::Mx).await;
        assert!(answer.is_failure(), "{answer:?}");
        drop(silent);
    }

    #[tokio::test]
    async fn drop_stops_the_server() {
        let (server, r) = start().await;
        assert!(r.lookup("contoso.com", RecordType::Mx).await.has_records());
        let addr = server.local_addr();
        drop(server);
        tokio::time::sleep(Duration::from_millis(50)).await;
        // The TCP listener is gone: connecting is refused.
        assert!(tokio::net::TcpStream::connect(addr).await.is_err());
    }

    #[tokio::test]
    async fn zone_errors_are_reported() {
        let lo = IpAddr::V4(Ipv4Addr::LOCALHOST);
        let outside =
            vec![Zone::new("contoso.com").with("www.fabrikam.com", 60, RecordData::A(ip("127.0.0.1")))];
        let err = LabDnsServer::start(lo, outside).await.unwrap_err();
        assert!(matches!(err, LabDnsError::RecordOutsideZone { .. }), "{err}");
        assert!(err.to_string().contains("www.fabrikam.com"), "{err}");

        let twice = vec![Zone::new("contoso.com"), Zone::new("Contoso.com.")];
        let err = LabDnsServer::start(lo, twice).await.unwrap_err();
        assert!(matches!(err, LabDnsError::DuplicateZone { .. }), "{err}");

        let conflict = vec![
            Zone::new("contoso.com")
                .with("mail.contoso.com", 60, RecordData::A(ip("127.0.0.1")))
                .with(
                    "mail.contoso.com",
                    60,
                    RecordData::Cname("edge.contoso.com".into()),
                ),
        ];
        let err = LabDnsServer::start(lo, conflict).await.unwrap_err();
        assert!(matches!(err, LabDnsError::InvalidRecord { .. }), "{err}");
        assert!(err.to_string().contains("CNAME"), "{err}");

        let root = vec![Zone::new(".")];
        assert!(matches!(
            LabDnsServer::start(lo, root).await,
            Err(LabDnsError::InvalidOrigin { .. })
        ));
        let bad = vec![Zone::new("bad..zone")];
        assert!(matches!(
            LabDnsServer::start(lo, bad).await,
            Err(LabDnsError::InvalidOrigin { .. })
        ));

        // A taken port is reported with the address.
        let server = LabDnsServer::start(lo, vec![Zone::new("contoso.com")])
            .await
            .unwrap();
        let err = LabDnsServer::start_at(server.local_addr(), vec![])
            .await
            .unwrap_err();
        assert!(matches!(err, LabDnsError::Bind { proto: "UDP", .. }), "{err}");
        assert!(
            err.to_string().contains(&server.local_addr().to_string()),
            "{err}"
        );
        server.shutdown().await;
    }

    #[test]
    fn lab_record_display() {
        let r = LabRecord::new("mail.contoso.com", 300, RecordData::A(ip("127.0.0.10")));
        assert_eq!(r.to_string(), "mail.contoso.com. 300 IN A 127.0.0.10");
    }

    /// Runs `dig` against the server; `None` (with a note) when dig is not installed.
    async fn dig(server: SocketAddr, args: &[&str]) -> Option<String> {
        let mut command = tokio::process::Command::new("dig");
        command
            .arg(format!("@{}", server.ip()))
            .arg("-p")
            .arg(server.port().to_string())
            .args(["+time=2", "+tries=1"])
            .args(args)
            .kill_on_drop(true);
        let output = match tokio::time::timeout(Duration::from_secs(10), command.output()).await {
            Ok(Ok(output)) => output,
            Ok(Err(e)) if e.kind() == io::ErrorKind::NotFound => {
                println!("note: dig is not installed (Debian package bind9-dnsutils); skipping the dig test");
                return None;
            }
            Ok(Err(e)) => panic!("cannot run dig: {e}"),
            Err(_) => panic!("dig did not finish within 10 s"),
        };
        assert!(output.status.success(), "dig {args:?} failed: {output:?}");
        Some(String::from_utf8_lossy(&output.stdout).into_owned())
    }

    #[tokio::test]
    async fn dig_agrees_over_udp_and_tcp() {
        let (server, _) = start().await;
        let addr = server.local_addr();
        let expected = "10 contoso-com.mail.protection.outlook.com.";
        let Some(udp) = dig(addr, &["contoso.com", "MX", "+short"]).await else {
            return;
        };
        assert_eq!(udp.trim(), expected);
        let tcp = dig(addr, &["contoso.com", "MX", "+short", "+tcp"])
            .await
            .unwrap_or_default();
        assert_eq!(tcp.trim(), expected);

        let full = dig(addr, &["contoso.com", "MX", "+tcp"])
            .await
            .unwrap_or_default();
        assert!(full.contains("status: NOERROR"), "{full}");
        assert!(full.contains(" aa"), "the answer must be authoritative: {full}");

        let ptr = dig(addr, &["-x", "127.0.0.10", "+short"])
            .await
            .unwrap_or_default();
        assert_eq!(ptr.trim(), "mail.contoso.com.");

        // dig prints each character-string quoted; the long TXT comes as two of them.
        let long = dig(addr, &["long.contoso.com", "TXT", "+short"])
            .await
            .unwrap_or_default();
        let joined: String = long
            .trim()
            .split("\" \"")
            .collect::<String>()
            .trim_matches('"')
            .to_string();
        assert_eq!(joined, long_txt());
        assert!(
            long.contains("\" \""),
            "expected several character-strings: {long}"
        );

        let nx = dig(addr, &["nothere.contoso.com", "A"]).await.unwrap_or_default();
        assert!(nx.contains("status: NXDOMAIN"), "{nx}");
        let refused = dig(addr, &["www.example.org", "A"]).await.unwrap_or_default();
        assert!(refused.contains("status: REFUSED"), "{refused}");
        server.shutdown().await;
    }
}
