//! The Edge of the scenarios whose TLS rustls cannot serve (`legacy-tls`, `cbc-only`,
//! `rsa-kex-only`): after STARTTLS, the lab's handshake-only server ([`HandshakeOnlyServer`])
//! answers with the versions and suites such an Edge has, in its own order (as SChannel does), up
//! to ServerHelloDone. Why not a real TLS stack: see the README ("the lab's TLS").

use std::sync::Arc;

use rustls::sign::CertifiedKey;

use super::scenario::Fault;
use crate::tls_scan::stub::HandshakeOnlyServer;
use crate::tls_suites::Version;

/// x25519, secp256r1, secp384r1: what Windows Server offers by default, in its order.
const GROUPS: [u16; 3] = [0x001D, 0x0017, 0x0018];

/// The handshake-only server of `fault`'s Edge (its certificate is RSA, see `issue_certificates`),
/// or `None` when rustls serves the Edge.
pub fn edge_server(fault: Fault, key: Arc<CertifiedKey>) -> Option<Arc<HandshakeOnlyServer>> {
    let (versions, suites): (&[Version], &[u16]) = match fault {
        // A server that stopped at TLS 1.1 (Windows Server 2008 without the TLS 1.2 update): RSA
        // key exchange with AES-CBC, the suites Microsoft's list names for TLS 1.0 and 1.1.
        Fault::LegacyTls => (&[Version::Tls10, Version::Tls11], &[0x0035, 0x002F]),
        // An Edge whose AES-GCM suites were removed from the SCHANNEL order: ECDHE with AES-CBC.
        Fault::CbcOnly => (&[Version::Tls12], &[0xC028, 0xC027, 0xC014, 0xC013]),
        // Windows Server 2012 R2 without its ECDHE suites: RSA key exchange with AES-GCM.
        Fault::RsaKexOnly => (&[Version::Tls12], &[0x009D, 0x009C]),
        _ => return None,
    };
    Some(Arc::new(HandshakeOnlyServer::new(versions, suites, &GROUPS, key)))
}

/// Whether `fault`'s Edge needs an RSA certificate (RSA key exchange, or ECDHE_RSA suites).
pub fn needs_rsa(fault: Fault) -> bool {
    matches!(fault, Fault::LegacyTls | Fault::CbcOnly | Fault::RsaKexOnly)
}
