//! The stub resolver probes use: hickory's name server pool, every lookup to the wire, CNAME chains
//! followed, every failure a [`DnsOutcome`].

use std::collections::HashSet;
use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use hickory_resolver::config::{ConnectionConfig, NameServerConfig, ResolverOpts};
use hickory_resolver::net::runtime::TokioRuntimeProvider;
use hickory_resolver::net::xfer::{DnsHandle, FirstAnswer};
use hickory_resolver::net::{DnsError, NetError, NoRecords, RetryDnsHandle};
use hickory_resolver::proto::op::{DnsRequestOptions, DnsResponse, Query, ResponseCode};
use hickory_resolver::proto::rr::rdata::CNAME;
use hickory_resolver::proto::rr::{Name, RData};
use hickory_resolver::{NameServerPool, PoolContext, TlsConfig};

use super::records::{
    DnsAnswer, DnsOutcome, RecordData, RecordType, name_to_string, normalize_name, parse_name, reverse_name,
};

/// The longest CNAME chain [`Resolver::lookup`] follows before giving up.
pub const MAX_CNAME_HOPS: usize = 8;

/// Number of retries after a timeout or a transport error (so at most two tries per server).
const ATTEMPTS: usize = 1;

/// Failure to build a resolver from the system configuration.
#[derive(Debug, Clone, thiserror::Error)]
pub enum ResolverError {
    /// The system resolver configuration could not be read or parsed.
    #[error(
        "cannot read the system DNS configuration ({source_hint}): {reason}; give DNS servers explicitly instead"
    )]
    SystemConfig {
        /// Where the configuration was read from.
        source_hint: &'static str,
        /// The underlying error.
        reason: String,
    },
    /// The system configuration lists no name server.
    #[error("the system DNS configuration ({source_hint}) lists no name server; give DNS servers explicitly")]
    NoSystemServers {
        /// Where the configuration was read from.
        source_hint: &'static str,
    },
    /// The resolver machinery could not be set up.
    #[error("cannot set up the DNS resolver: {0}")]
    Setup(String),
}

#[cfg(unix)]
const SYSTEM_CONF_HINT: &str = "/etc/resolv.conf";
#[cfg(windows)]
const SYSTEM_CONF_HINT: &str = "Windows network adapter settings";
#[cfg(not(any(unix, windows)))]
const SYSTEM_CONF_HINT: &str = "system settings";

type Handle = RetryDnsHandle<NameServerPool<TokioRuntimeProvider>>;

/// One way of asking: a pool of name servers reported under one label.
#[derive(Clone)]
struct Upstream {
    label: String,
    handle: Handle,
}

/// A DNS stub resolver for probes. Cheap to clone (clones share connections).
///
/// Every lookup goes to the wire: no cache, no hosts file, no search domains (names are absolute), no
/// special-use name shortcuts.
#[derive(Clone)]
pub struct Resolver {
    kind: ResolverKind,
    upstreams: Arc<[Upstream]>,
    timeout: Duration,
}

#[derive(Clone, Debug)]
enum ResolverKind {
    /// The system configuration, with its servers.
    System(Vec<SocketAddr>),
    /// The system configuration could not be used: every lookup reports this error.
    SystemUnavailable(String),
    /// Explicit servers, but the resolver could not be set up: every lookup reports this error.
    ServersUnavailable(Vec<SocketAddr>, String),
    /// Explicit servers, asked in order (failing over on timeouts and errors).
    Servers(Vec<SocketAddr>),
}

impl fmt::Debug for Resolver {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Resolver")
            .field("kind", &self.kind)
            .field("timeout", &self.timeout)
            .finish()
    }
}

impl Resolver {
    /// A resolver using the system configuration (`/etc/resolv.conf` on Unix, the adapter settings on
    /// Windows), with `timeout` per try. Answers are reported with server `system`.
    ///
    /// Only the name servers of the configuration are used: its search domains and options are not (names
    /// are always absolute; timeout and retries are mailpath's).
    ///
    /// When the configuration cannot be used, this still returns a resolver: every lookup then reports
    /// [`DnsOutcome::Error`] with the reason (see [`Resolver::try_system`] to fail early instead).
    pub fn system(timeout: Duration) -> Resolver {
        Resolver::try_system(timeout).unwrap_or_else(|e| Resolver {
            kind: ResolverKind::SystemUnavailable(e.to_string()),
            upstreams: Arc::from(Vec::new()),
            timeout,
        })
    }

    /// Like [`Resolver::system`], but fails when the system configuration cannot be read or lists no
    /// server.
    pub fn try_system(timeout: Duration) -> Result<Resolver, ResolverError> {
        let (config, _opts) =
            hickory_resolver::system_conf::read_system_conf().map_err(|e| ResolverError::SystemConfig {
                source_hint: SYSTEM_CONF_HINT,
                reason: e.to_string(),
            })?;
        let (_domain, _search, name_servers) = config.into_parts();
        if name_servers.is_empty() {
            return Err(ResolverError::NoSystemServers {
                source_hint: SYSTEM_CONF_HINT,
            });
        }
        let addrs: Vec<SocketAddr> = name_servers
            .iter()
            .flat_map(|ns| ns.connections.iter().map(move |c| SocketAddr::new(ns.ip, c.port)))
            .fold(Vec::new(), |mut acc, a| {
                if !acc.contains(&a) {
                    acc.push(a);
                }
                acc
            });
        let handle = build_handle(name_servers, timeout)?;
        Ok(Resolver {
            kind: ResolverKind::System(addrs),
            upstreams: Arc::from(vec![Upstream {
                label: "system".to_string(),
                handle,
            }]),
            timeout,
        })
    }

    /// A resolver asking exactly `servers` (UDP, then TCP when an answer is truncated), in the given
    /// order: the next server is tried only when one times out or fails. Answers are reported with the
    /// address of the server that gave them. With no server at all, every lookup reports an error.
    pub fn with_servers(servers: &[SocketAddr], timeout: Duration) -> Resolver {
        let mut upstreams = Vec::with_capacity(servers.len());
        let mut setup_error = None;
        for addr in servers {
            let mut udp = ConnectionConfig::udp();
            udp.port = addr.port();
            let mut tcp = ConnectionConfig::tcp();
            tcp.port = addr.port();
            let config = NameServerConfig::new(addr.ip(), true, vec![udp, tcp]);
            match build_handle(vec![config], timeout) {
                Ok(handle) => upstreams.push(Upstream {
                    label: addr.to_string(),
                    handle,
                }),
                Err(e) => setup_error = Some(e.to_string()),
            }
        }
        let kind = match setup_error {
            Some(e) if upstreams.is_empty() => ResolverKind::ServersUnavailable(servers.to_vec(), e),
            _ => ResolverKind::Servers(servers.to_vec()),
        };
        Resolver {
            kind,
            upstreams: Arc::from(upstreams),
            timeout,
        }
    }

    /// Describes the servers: `system (127.0.0.53:53)`, `127.0.0.1:5353`, or why the system configuration
    /// is unusable.
    pub fn label(&self) -> String {
        match &self.kind {
            ResolverKind::System(addrs) => format!("system ({})", join_addrs(addrs)),
            ResolverKind::SystemUnavailable(e) => format!("system (unavailable: {e})"),
            ResolverKind::ServersUnavailable(addrs, e) => format!("{} (unavailable: {e})", join_addrs(addrs)),
            ResolverKind::Servers(addrs) if addrs.is_empty() => "no DNS server".to_string(),
            ResolverKind::Servers(addrs) => join_addrs(addrs),
        }
    }

    /// The name server addresses this resolver asks.
    pub fn servers(&self) -> Vec<SocketAddr> {
        match &self.kind {
            ResolverKind::System(a) | ResolverKind::Servers(a) | ResolverKind::ServersUnavailable(a, _) => {
                a.clone()
            }
            ResolverKind::SystemUnavailable(_) => Vec::new(),
        }
    }

    /// The timeout per try.
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// Looks `name` up for `rtype`. Never panics and never fails: every failure is an outcome. `name` may
    /// carry a trailing dot; it is always treated as absolute.
    pub async fn lookup(&self, name: &str, rtype: RecordType) -> DnsAnswer {
        let started = Instant::now();
        let (server, outcome) = self.resolve(name, rtype).await;
        DnsAnswer {
            name: normalize_name(name),
            rtype,
            server,
            outcome,
            elapsed_ms: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
        }
    }

    /// Looks up the PTR record of `ip` (its `in-addr.arpa` or `ip6.arpa` name, see [`reverse_name`]).
    pub async fn reverse(&self, ip: IpAddr) -> DnsAnswer {
        self.lookup(&reverse_name(ip), RecordType::Ptr).await
    }

    async fn resolve(&self, name: &str, rtype: RecordType) -> (String, DnsOutcome) {
        let default_label = match &self.kind {
            ResolverKind::System(_) | ResolverKind::SystemUnavailable(_) => "system".to_string(),
            ResolverKind::Servers(_) => self.label(),
            ResolverKind::ServersUnavailable(addrs, _) => join_addrs(addrs),
        };
        if let ResolverKind::SystemUnavailable(e) | ResolverKind::ServersUnavailable(_, e) = &self.kind {
            return (default_label, DnsOutcome::Error(e.clone()));
        }
        let qname = match parse_name(name) {
            Ok(n) => n,
            Err(e) => return (default_label, DnsOutcome::Error(e.to_string())),
        };
        if self.upstreams.is_empty() {
            return (
                default_label,
                DnsOutcome::Error("no DNS server to ask".to_string()),
            );
        }

        let mut failures: Vec<(String, DnsOutcome)> = Vec::new();
        for upstream in self.upstreams.iter() {
            let outcome = self.query_chain(upstream, qname.clone(), rtype).await;
            match outcome {
                DnsOutcome::Timeout | DnsOutcome::Error(_) => {
                    failures.push((upstream.label.clone(), outcome))
                }
                _ => return (upstream.label.clone(), outcome),
            }
        }
        if failures.len() == 1 {
            return failures.remove(0);
        }
        if failures.iter().all(|(_, o)| matches!(o, DnsOutcome::Timeout)) {
            return (default_label, DnsOutcome::Timeout);
        }
        let text = failures
            .iter()
            .map(|(label, o)| match o {
                DnsOutcome::Error(e) => format!("{label}: {e}"),
                _ => format!("{label}: timeout"),
            })
            .collect::<Vec<_>>()
            .join("; ");
        (default_label, DnsOutcome::Error(text))
    }

    /// Asks one upstream, following a CNAME chain the server did not resolve itself.
    async fn query_chain(&self, upstream: &Upstream, qname: Name, rtype: RecordType) -> DnsOutcome {
        let mut options = DnsRequestOptions::default();
        options.recursion_desired = true;
        options.use_edns = true;
        // One try is bounded by the pool (`timeout`); allow the retry plus a little slack.
        let hop_budget = self.timeout.saturating_mul(ATTEMPTS as u32 + 1) + Duration::from_millis(250);

        let mut records: Vec<RecordData> = Vec::new();
        let mut current = qname;
        let mut seen: HashSet<Name> = HashSet::new();
        for _ in 0..=MAX_CNAME_HOPS {
            seen.insert(current.clone());
            let query = Query::query(current.clone(), rtype.to_hickory());
            let response =
                match tokio::time::timeout(hop_budget, upstream.handle.lookup(query, options).first_answer())
                    .await
                {
                    Err(_) => Err(NetError::Timeout),
                    Ok(r) => r,
                };
            let response = match response {
                Ok(r) => r,
                Err(e) => {
                    return match negative_outcome(&e) {
                        // A negative answer at the end of a chain: keep the chain as evidence.
                        Some(_) if !records.is_empty() => DnsOutcome::Records(records),
                        Some(negative) => negative,
                        None => error_outcome(&e),
                    };
                }
            };
            let (new_records, next) = answer_records(&response, &current, rtype);
            records.extend(new_records);
            match next {
                Some(target) if !seen.contains(&target) => current = target,
                Some(target) => {
                    return DnsOutcome::Error(format!("CNAME loop at {}", name_to_string(&target)));
                }
                None if records.is_empty() => return DnsOutcome::NoData,
                None => return DnsOutcome::Records(records),
            }
        }
        DnsOutcome::Error(format!("CNAME chain longer than {MAX_CNAME_HOPS} hops"))
    }
}

fn build_handle(servers: Vec<NameServerConfig>, timeout: Duration) -> Result<Handle, ResolverError> {
    let mut opts = ResolverOpts::default();
    opts.timeout = timeout;
    opts.attempts = ATTEMPTS;
    opts.ndots = 0;
    opts.num_concurrent_reqs = 1;
    // Server ordering stays by query statistics: a system server that timed out is tried last on the retry.
    opts.case_randomization = false;
    let tls = TlsConfig::new().map_err(|e| ResolverError::Setup(e.to_string()))?;
    let cx = Arc::new(PoolContext::new(opts, tls));
    let pool = NameServerPool::from_config(servers, cx, TokioRuntimeProvider::default());
    Ok(RetryDnsHandle::new(pool, ATTEMPTS))
}

/// The answer records of a response, converted, plus the name to ask next when the answer is a CNAME chain
/// that does not reach a record of the requested type.
fn answer_records(
    response: &DnsResponse,
    qname: &Name,
    rtype: RecordType,
) -> (Vec<RecordData>, Option<Name>) {
    let wanted = rtype.to_hickory();
    let records: Vec<RecordData> = response
        .answers
        .iter()
        .filter_map(|r| RecordData::from_rdata(&r.data))
        .collect();
    let complete = rtype == RecordType::Cname || response.answers.iter().any(|r| r.record_type() == wanted);
    if complete {
        return (records, None);
    }
    // Walk the chain from the question name through the CNAMEs of this answer.
    let mut target = qname.clone();
    let mut moved = false;
    for _ in 0..=response.answers.len() {
        let next = response.answers.iter().find_map(|r| match &r.data {
            RData::CNAME(CNAME(t)) if r.name == target => Some(t.clone()),
            _ => None,
        });
        match next {
            Some(t) => {
                target = t;
                moved = true;
            }
            None => break,
        }
    }
    (records, moved.then_some(target))
}

/// NXDOMAIN / NODATA, when the error is a negative answer.
fn negative_outcome(e: &NetError) -> Option<DnsOutcome> {
    match e {
        NetError::Dns(DnsError::NoRecordsFound(NoRecords { response_code, .. })) => match *response_code {
            ResponseCode::NXDomain => Some(DnsOutcome::NxDomain),
            ResponseCode::NoError => Some(DnsOutcome::NoData),
            _ => None,
        },
        _ => None,
    }
}

fn error_outcome(e: &NetError) -> DnsOutcome {
    match e {
        NetError::Timeout => DnsOutcome::Timeout,
        NetError::Io(io) if io.kind() == std::io::ErrorKind::TimedOut => DnsOutcome::Timeout,
        NetError::Dns(DnsError::ResponseCode(code)) => {
            DnsOutcome::Error(format!("server answered {} ({code})", rcode_mnemonic(*code)))
        }
        NetError::Dns(DnsError::NoRecordsFound(NoRecords { response_code, .. })) => {
            DnsOutcome::Error(format!(
                "server answered {} ({response_code})",
                rcode_mnemonic(*response_code)
            ))
        }
        NetError::Io(io) if io.kind() == std::io::ErrorKind::ConnectionRefused => {
            DnsOutcome::Error("connection refused (no DNS server listening)".to_string())
        }
        NetError::NoConnections => {
            DnsOutcome::Error("no connection to the DNS server could be made".to_string())
        }
        other => DnsOutcome::Error(other.to_string()),
    }
}

/// The RCODE as `dig` writes it (`REFUSED`, `SERVFAIL`, ...).
fn rcode_mnemonic(code: ResponseCode) -> String {
    match code {
        ResponseCode::Unknown(n) => format!("RCODE{n}"),
        other => format!("{other:?}").to_ascii_uppercase(),
    }
}

fn join_addrs(addrs: &[SocketAddr]) -> String {
    addrs
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use std::net::Ipv4Addr;

    use super::*;

    #[tokio::test]
    async fn unusable_resolvers_report_errors() {
        let none = Resolver::with_servers(&[], Duration::from_millis(200));
        let answer = none.lookup("contoso.com", RecordType::Mx).await;
        assert!(answer.error().is_some(), "{answer:?}");
        assert_eq!(none.label(), "no DNS server");
        assert_eq!(answer.server, "no DNS server");

        let r = Resolver::with_servers(&["127.0.0.1:9".parse().unwrap()], Duration::from_millis(200));
        let answer = r.lookup("bad..name", RecordType::A).await;
        assert!(
            answer.error().is_some_and(|e| e.contains("invalid DNS name")),
            "{answer:?}"
        );
    }

    #[tokio::test]
    async fn system_resolver_never_fails_hard() {
        // Whatever the machine's configuration (none, unreachable servers, real DNS), this must neither
        // panic nor hang: an answer comes back within the bounded time.
        let r = Resolver::system(Duration::from_millis(300));
        assert!(r.label().starts_with("system"), "{}", r.label());
        let answer = r.lookup("mailpath-test.invalid", RecordType::A).await;
        println!("system resolver {}: {answer}", r.label());
        assert_eq!(answer.server, "system");
        assert!(answer.elapsed_ms < 5_000, "{answer:?}");
        match Resolver::try_system(Duration::from_millis(300)) {
            Ok(r) => assert!(!r.servers().is_empty()),
            Err(e) => assert!(e.to_string().contains("system DNS configuration"), "{e}"),
        }
    }

    #[test]
    fn lookup_future_is_send() {
        fn assert_send<T: Send>(_: &T) {}
        let r = Resolver::with_servers(&["127.0.0.1:9".parse().unwrap()], Duration::from_millis(10));
        assert_send(&r.lookup("contoso.com", RecordType::A));
        assert_send(&r.reverse(IpAddr::V4(Ipv4Addr::LOCALHOST)));
    }
}
