//! A handshake-only TLS server for the lab: it answers a ClientHello exactly as a server with the
//! given versions, suites (in its own order) and groups would, up to ServerHelloDone (a real
//! ServerHello, the certificate chain, an ECDHE ServerKeyExchange signed with the certificate's
//! key), and cannot go further: after the client's next flight it sends a fatal `internal_error`.
//!
//! It exists because rustls, the lab's TLS stack, serves neither CBC suites nor RSA key exchange,
//! which real Exchange servers and firewalls still offer. Every TLS client sees the truth up to the
//! point where a key exchange would begin: a rustls client (mailpath's probe) refuses the hello with
//! the same `handshake_failure` a real CBC-only server sends it, and the scanner reads the same
//! ServerHello and certificates. Only a client that goes on to finish the handshake (openssl
//! s_client) notices that this server cannot.

use std::sync::Arc;
use std::time::Duration;

use rustls::sign::CertifiedKey;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

use super::answer::read_client_hello;
use super::wire::{self, ClientHello, ServerHello, content, ext};
use crate::smtp::io::BoxedIo;
use crate::tls_suites::{self as suites, Kex, Version};

/// `handshake_failure`: nothing offered is acceptable.
const HANDSHAKE_FAILURE: u8 = 40;
/// `protocol_version`: no version in common.
const PROTOCOL_VERSION: u8 = 70;
/// `internal_error`: what this server says when it would have to finish a handshake.
const INTERNAL_ERROR: u8 = 80;
/// The longest ClientHello read.
const MAX_HELLO: usize = 64 * 1024;

/// A server that negotiates like a real one and stops before the key exchange.
#[derive(Clone)]
pub struct HandshakeOnlyServer {
    versions: Vec<Version>,
    suites: Vec<u16>,
    groups: Vec<u16>,
    key: Arc<CertifiedKey>,
}

impl std::fmt::Debug for HandshakeOnlyServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HandshakeOnlyServer")
            .field("versions", &self.versions)
            .field("suites", &self.suites)
            .field("groups", &self.groups)
            .finish_non_exhaustive()
    }
}

impl PartialEq for HandshakeOnlyServer {
    fn eq(&self, other: &Self) -> bool {
        self.versions == other.versions
            && self.suites == other.suites
            && self.groups == other.groups
            && Arc::ptr_eq(&self.key, &other.key)
    }
}

impl Eq for HandshakeOnlyServer {}

/// What the server answered one hello with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    /// The records to send.
    pub bytes: Vec<u8>,
    /// Whether it is a ServerHello flight (else an alert).
    pub flight: bool,
    /// In words, for the server's transcript.
    pub words: String,
}

impl HandshakeOnlyServer {
    /// A server speaking `versions` (TLS 1.0-1.2; TLS 1.3 is dropped: it would need the key
    /// schedule), choosing from `suites` in this order and from `groups`, presenting `key`'s chain.
    pub fn new(versions: &[Version], suites: &[u16], groups: &[u16], key: Arc<CertifiedKey>) -> Self {
        HandshakeOnlyServer {
            versions: versions
                .iter()
                .copied()
                .filter(|v| *v <= Version::Tls12)
                .collect(),
            suites: suites.to_vec(),
            groups: groups.to_vec(),
            key,
        }
    }

    /// The answer to `hello` (sans-IO). `random` fills the server random.
    pub fn respond(&self, hello: &ClientHello, random: fn(&mut [u8])) -> Response {
        let client_versions = hello.offered_versions();
        let Some(version) = self
            .versions
            .iter()
            .copied()
            .filter(|v| client_versions.contains(v))
            .max()
        else {
            // In the record version of the server's oldest protocol, as a TLS 1.0 server writes it.
            let record_version = self.versions.iter().min().map_or(0x0301, |v| v.wire());
            return alert(record_version, PROTOCOL_VERSION, "no TLS version in common");
        };
        let Some(suite) = self
            .suites
            .iter()
            .copied()
            .filter(|s| suites::suite(*s).is_some_and(|k| k.usable_at(version)))
            .find(|s| hello.suites.contains(s))
        else {
            return alert(version.wire(), HANDSHAKE_FAILURE, "no cipher suite in common");
        };
        let kex = wire::kex_of(suite);
        let group = if kex == Kex::Ecdhe {
            // Without supported_groups a client is assumed to do secp256r1 (RFC 8422 4).
            let offered: &[u16] = if hello.groups.is_empty() {
                &[0x0017]
            } else {
                &hello.groups
            };
            let Some(g) = self.groups.iter().copied().find(|g| offered.contains(g)) else {
                return alert(version.wire(), HANDSHAKE_FAILURE, "no named group in common");
            };
            Some(g)
        } else {
            None
        };
        let mut server_random = [0u8; 32];
        random(&mut server_random);
        let mut extensions = Vec::new();
        if hello.renegotiation_info {
            extensions.push((ext::RENEGOTIATION_INFO, vec![0]));
        }
        if group.is_some() {
            extensions.push((ext::EC_POINT_FORMATS, vec![1, 0]));
        }
        let sh = ServerHello {
            version: version.wire(),
            random: server_random,
            suite,
            group: None,
            retry: false,
            renegotiation_info: hello.renegotiation_info,
        };
        let mut flight = sh.encode(&[], &extensions);
        let chain: Vec<&[u8]> = self.key.cert.iter().map(|c| c.as_ref()).collect();
        flight.extend(wire::certificate_message(&chain));
        if let Some(group) = group {
            match self.server_key_exchange(hello, &server_random, version, group) {
                Ok(ske) => flight.extend(ske),
                Err(why) => return alert(version.wire(), INTERNAL_ERROR, &why),
            }
        }
        flight.extend(wire::server_hello_done());
        Response {
            bytes: wire::records(content::HANDSHAKE, version.wire(), &flight),
            flight: true,
            words: format!(
                "handshake-only TLS: sent ServerHello {version} {}{}, {} certificate(s), ServerHelloDone",
                suites::suite_name(suite),
                group
                    .map(|g| format!(" ({})", suites::group_name(g)))
                    .unwrap_or_default(),
                chain.len()
            ),
        }
    }

    /// A ServerKeyExchange with a real ephemeral key, signed with the certificate's key.
    fn server_key_exchange(
        &self,
        hello: &ClientHello,
        server_random: &[u8; 32],
        version: Version,
        group: u16,
    ) -> Result<Vec<u8>, String> {
        let provider = crate::tls::provider();
        let kx = provider
            .kx_groups
            .iter()
            .find(|g| u16::from(g.name()) == group)
            .ok_or_else(|| format!("no key exchange for {}", suites::group_name(group)))?
            .start()
            .map_err(|e| e.to_string())?;
        let params = wire::ecdhe_params(group, kx.pub_key());
        let mut signed = hello.random.to_vec();
        signed.extend_from_slice(server_random);
        signed.extend_from_slice(&params);
        if version < Version::Tls12 {
            return Err(
                "TLS 1.0/1.1 ECDHE needs an MD5+SHA-1 signature, which this server cannot make".into(),
            );
        }
        let offered: Vec<rustls::SignatureScheme> = if hello.signature_algorithms.is_empty() {
            vec![
                rustls::SignatureScheme::RSA_PKCS1_SHA256,
                rustls::SignatureScheme::ECDSA_NISTP256_SHA256,
            ]
        } else {
            hello
                .signature_algorithms
                .iter()
                .map(|s| rustls::SignatureScheme::from(*s))
                .collect()
        };
        let signer = self
            .key
            .key
            .choose_scheme(&offered)
            .ok_or("no signature scheme in common")?;
        let signature = signer.sign(&signed).map_err(|e| e.to_string())?;
        Ok(wire::server_key_exchange_message(
            &params,
            Some(u16::from(signer.scheme())),
            &signature,
        ))
    }

    /// Serve one connection that is at the start of TLS: read the ClientHello, answer it, and after
    /// a ServerHello flight wait for the client's next move and end with `internal_error`. Returns
    /// what happened, in words. Bounded by `limit` and `MAX_HELLO`.
    pub async fn serve(&self, io: &mut BoxedIo, limit: Duration) -> String {
        let deadline = tokio::time::Instant::now() + limit;
        let mut buf = Vec::new();
        let mut chunk = [0u8; 4096];
        let hello = loop {
            match read_client_hello(&buf) {
                Ok(Some(hello)) => break hello,
                Ok(None) if buf.len() < MAX_HELLO => {}
                Ok(None) => return "handshake-only TLS: a ClientHello longer than 64 KiB".into(),
                Err(e) => {
                    let _ = io.write_all(&wire::alert_record(0x0301, 2, 10)).await;
                    return format!("handshake-only TLS: not a ClientHello ({e})");
                }
            }
            match tokio::time::timeout_at(deadline, io.read(&mut chunk)).await {
                Ok(Ok(n)) if n > 0 => buf.extend_from_slice(&chunk[..n]),
                _ => return "handshake-only TLS: no ClientHello".into(),
            }
        };
        let response = self.respond(&hello, super::net::fill_random);
        if io.write_all(&response.bytes).await.is_err() || io.flush().await.is_err() {
            return format!("{} (the client had gone)", response.words);
        }
        if response.flight {
            // The client either hangs up (a scanner) or sends its key exchange (a real client).
            let went_on = matches!(
                tokio::time::timeout_at(deadline, io.read(&mut chunk)).await,
                Ok(Ok(n)) if n > 0
            );
            if went_on {
                let _ = io.write_all(&wire::alert_record(0x0303, 2, INTERNAL_ERROR)).await;
                let _ = io.flush().await;
                return format!(
                    "{}; the client went on, which this lab server cannot: internal_error",
                    response.words
                );
            }
        }
        response.words
    }
}

fn alert(version: u16, description: u8, why: &str) -> Response {
    Response {
        bytes: wire::alert_record(version, 2, description),
        flight: false,
        words: format!(
            "handshake-only TLS: {why}: sent {}",
            suites::alert_name(description)
        ),
    }
}

impl crate::smtp::server::HandshakeResponder for HandshakeOnlyServer {
    fn respond<'a>(
        &'a self,
        io: &'a mut BoxedIo,
        limit: Duration,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = String> + Send + 'a>> {
        Box::pin(self.serve(io, limit))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ca::{LabCa, LeafKey, LeafSpec};
    use crate::tls_scan::answer::{Answer, read_all};

    fn zero(b: &mut [u8]) {
        b.fill(0);
    }

    fn server(suites: &[u16]) -> HandshakeOnlyServer {
        let now = time::OffsetDateTime::now_utc();
        let ca = LabCa::generate(now).unwrap();
        let cert = ca
            .issue(
                &LeafSpec::server("mail.contoso.com", ["mail.contoso.com"], now).with_key(LeafKey::Rsa2048),
            )
            .unwrap();
        HandshakeOnlyServer::new(
            &[Version::Tls12],
            suites,
            &[0x001D, 0x0017],
            cert.certified_key(true).unwrap(),
        )
    }

    fn hello(suites: Vec<u16>, versions: Vec<u16>) -> ClientHello {
        ClientHello {
            legacy_version: 0x0303,
            versions,
            random: [1; 32],
            session_id: Vec::new(),
            suites,
            groups: vec![0x0017],
            signature_algorithms: vec![0x0804, 0x0401],
            server_name: None,
            key_shares: Vec::new(),
            renegotiation_info: true,
        }
    }

    #[test]
    fn a_cbc_only_server_answers_like_one() {
        let s = server(&[0xC028, 0xC027]);
        let r = s.respond(&hello(vec![0xC030, 0xC027, 0xC028], vec![]), zero);
        assert!(r.flight, "{}", r.words);
        let Answer::Hello(n) = read_all(&r.bytes) else {
            panic!("{}", r.words)
        };
        assert_eq!(
            (n.version, n.suite, n.group),
            (0x0303, 0xC028, Some(0x0017)),
            "server order"
        );
        assert_eq!(n.chain.len(), 2);
        assert!(n.complete);
        // What rustls offers (TLS 1.3 and 1.2, ECDHE with AES-GCM/ChaCha20): no suite in common.
        let modern = s.respond(&hello(vec![0x1302, 0xC030, 0xCCA8], vec![0x0304, 0x0303]), zero);
        assert_eq!(
            read_all(&modern.bytes),
            Answer::Alert {
                level: 2,
                description: 40
            }
        );
        // A TLS 1.3-only hello: no version in common.
        let only13 = s.respond(&hello(vec![0x1301], vec![0x0304]), zero);
        assert_eq!(
            read_all(&only13.bytes),
            Answer::Alert {
                level: 2,
                description: 70
            }
        );
    }

    #[test]
    fn rsa_key_exchange_sends_no_server_key_exchange() {
        let s = server(&[0x009D, 0x009C]);
        let r = s.respond(&hello(vec![0x009C, 0x009D], vec![]), zero);
        let Answer::Hello(n) = read_all(&r.bytes) else {
            panic!("{}", r.words)
        };
        assert_eq!((n.suite, n.group), (0x009D, None));
    }
}
