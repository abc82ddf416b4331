//! The TLS wire format, as far as a handshake scanner needs it (RFC 5246, RFC 8446): records,
//! ClientHello (built by the scanner, parsed by the lab's handshake-only server), ServerHello,
//! HelloRetryRequest, Certificate, ServerKeyExchange and ServerHelloDone (parsed by the scanner,
//! built by the lab). Pure functions over bytes; every length is checked against what is left and
//! against the bounds below, so hostile input ends in a [`WireError`], never a panic.

use thiserror::Error;

use crate::tls_suites::{self as suites, Kex, Version};

/// Record content types.
pub mod content {
    /// change_cipher_spec.
    pub const CHANGE_CIPHER_SPEC: u8 = 20;
    /// alert.
    pub const ALERT: u8 = 21;
    /// handshake.
    pub const HANDSHAKE: u8 = 22;
    /// application_data.
    pub const APPLICATION_DATA: u8 = 23;
}

/// Handshake message types.
pub mod handshake {
    /// client_hello.
    pub const CLIENT_HELLO: u8 = 1;
    /// server_hello (and hello_retry_request in TLS 1.3).
    pub const SERVER_HELLO: u8 = 2;
    /// certificate.
    pub const CERTIFICATE: u8 = 11;
    /// server_key_exchange.
    pub const SERVER_KEY_EXCHANGE: u8 = 12;
    /// certificate_request.
    pub const CERTIFICATE_REQUEST: u8 = 13;
    /// server_hello_done.
    pub const SERVER_HELLO_DONE: u8 = 14;
    /// certificate_status (OCSP stapling, RFC 6066).
    pub const CERTIFICATE_STATUS: u8 = 22;
}

/// Extension types.
pub mod ext {
    /// server_name.
    pub const SERVER_NAME: u16 = 0;
    /// supported_groups.
    pub const SUPPORTED_GROUPS: u16 = 10;
    /// ec_point_formats.
    pub const EC_POINT_FORMATS: u16 = 11;
    /// signature_algorithms.
    pub const SIGNATURE_ALGORITHMS: u16 = 13;
    /// padding (RFC 7685).
    pub const PADDING: u16 = 21;
    /// extended_master_secret.
    pub const EXTENDED_MASTER_SECRET: u16 = 23;
    /// supported_versions.
    pub const SUPPORTED_VERSIONS: u16 = 43;
    /// psk_key_exchange_modes.
    pub const PSK_KEY_EXCHANGE_MODES: u16 = 45;
    /// key_share.
    pub const KEY_SHARE: u16 = 51;
    /// renegotiation_info.
    pub const RENEGOTIATION_INFO: u16 = 0xff01;
}

/// Longest record payload accepted: 2^14 plus the 2048 bytes of expansion RFC 5246 allows.
pub const MAX_RECORD: usize = 16384 + 2048;
/// Longest handshake message accepted (a Certificate message with a long chain).
pub const MAX_HANDSHAKE_MESSAGE: usize = 128 * 1024;
/// Most certificates kept from one Certificate message.
pub const MAX_CERTIFICATES: usize = 16;

/// The `random` of a HelloRetryRequest (RFC 8446 4.1.3): SHA-256 of "HelloRetryRequest".
pub const HELLO_RETRY_RANDOM: [u8; 32] = [
    0xCF, 0x21, 0xAD, 0x74, 0xE5, 0x9A, 0x61, 0x11, 0xBE, 0x1D, 0x8C, 0x02, 0x1E, 0x65, 0xB8, 0x91, 0xC2,
    0xA2, 0x11, 0x16, 0x7A, 0xBB, 0x8C, 0x5E, 0x07, 0x9E, 0x09, 0xE2, 0xC8, 0xA8, 0x33, 0x9C,
];

/// Why bytes could not be read as the message they should be.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum WireError {
    /// A length runs past the end of its message.
    #[error("{what}: {need} bytes announced, {left} left")]
    Truncated {
        /// The field.
        what: &'static str,
        /// Bytes announced.
        need: usize,
        /// Bytes left.
        left: usize,
    },
    /// A length exceeds the scanner's bounds.
    #[error("{what}: {len} bytes, more than the {max} accepted")]
    TooLong {
        /// The field.
        what: &'static str,
        /// Its length.
        len: usize,
        /// The bound.
        max: usize,
    },
    /// A field holds a value the protocol does not allow.
    #[error("{0}")]
    Invalid(String),
    /// Bytes left after the end of a message.
    #[error("{what}: {left} bytes after the end")]
    Trailing {
        /// The message.
        what: &'static str,
        /// Bytes left over.
        left: usize,
    },
}

/// A bounded reader over a byte slice.
#[derive(Debug, Clone)]
pub struct Cursor<'a> {
    data: &'a [u8],
}

impl<'a> Cursor<'a> {
    /// A reader over `data`.
    pub fn new(data: &'a [u8]) -> Self {
        Cursor { data }
    }

    /// Bytes left.
    pub fn left(&self) -> usize {
        self.data.len()
    }

    /// Whether nothing is left.
    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }

    /// The next `n` bytes.
    ///
    /// # Errors
    /// When fewer are left.
    pub fn take(&mut self, n: usize, what: &'static str) -> Result<&'a [u8], WireError> {
        if n > self.data.len() {
            return Err(WireError::Truncated {
                what,
                need: n,
                left: self.data.len(),
            });
        }
        let (head, tail) = self.data.split_at(n);
        self.data = tail;
        Ok(head)
    }

    /// One byte.
    ///
    /// # Errors
    /// At the end.
    pub fn u8(&mut self, what: &'static str) -> Result<u8, WireError> {
        Ok(self.take(1, what)?[0])
    }

    /// A big-endian u16.
    ///
    /// # Errors
    /// When fewer than two bytes are left.
    pub fn u16(&mut self, what: &'static str) -> Result<u16, WireError> {
        let b = self.take(2, what)?;
        Ok(u16::from_be_bytes([b[0], b[1]]))
    }

    /// A big-endian u24.
    ///
    /// # Errors
    /// When fewer than three bytes are left.
    pub fn u24(&mut self, what: &'static str) -> Result<usize, WireError> {
        let b = self.take(3, what)?;
        Ok(usize::from(b[0]) << 16 | usize::from(b[1]) << 8 | usize::from(b[2]))
    }

    /// A vector with a one-byte length.
    ///
    /// # Errors
    /// When the length runs past the end.
    pub fn vec8(&mut self, what: &'static str) -> Result<&'a [u8], WireError> {
        let n = usize::from(self.u8(what)?);
        self.take(n, what)
    }

    /// A vector with a two-byte length.
    ///
    /// # Errors
    /// When the length runs past the end.
    pub fn vec16(&mut self, what: &'static str) -> Result<&'a [u8], WireError> {
        let n = usize::from(self.u16(what)?);
        self.take(n, what)
    }

    /// A vector with a three-byte length, at most `max` bytes.
    ///
    /// # Errors
    /// When the length runs past the end or exceeds `max`.
    pub fn vec24(&mut self, what: &'static str, max: usize) -> Result<&'a [u8], WireError> {
        let n = self.u24(what)?;
        if n > max {
            return Err(WireError::TooLong { what, len: n, max });
        }
        self.take(n, what)
    }

    /// Fail unless everything was read.
    ///
    /// # Errors
    /// When bytes are left.
    pub fn finish(&self, what: &'static str) -> Result<(), WireError> {
        if self.data.is_empty() {
            Ok(())
        } else {
            Err(WireError::Trailing {
                what,
                left: self.data.len(),
            })
        }
    }
}

fn put_u16(out: &mut Vec<u8>, v: u16) {
    out.extend_from_slice(&v.to_be_bytes());
}

fn put_u24(out: &mut Vec<u8>, v: usize) {
    let v = u32::try_from(v.min(0x00ff_ffff)).unwrap_or(0x00ff_ffff);
    out.extend_from_slice(&v.to_be_bytes()[1..]);
}

/// Append `body` with a two-byte length (truncated at 65535 bytes, which no caller reaches).
fn put_vec16(out: &mut Vec<u8>, body: &[u8]) {
    let body = &body[..body.len().min(0xffff)];
    put_u16(out, u16::try_from(body.len()).unwrap_or(u16::MAX));
    out.extend_from_slice(body);
}

fn put_vec8(out: &mut Vec<u8>, body: &[u8]) {
    let body = &body[..body.len().min(0xff)];
    out.push(u8::try_from(body.len()).unwrap_or(u8::MAX));
    out.extend_from_slice(body);
}

/// Wrap `payload` in records of `content_type` (split at 2^14 bytes) with `version` in the header.
pub fn records(content_type: u8, version: u16, payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(payload.len() + 5);
    let mut chunks = payload.chunks(16384).peekable();
    if chunks.peek().is_none() {
        out.push(content_type);
        put_u16(&mut out, version);
        put_u16(&mut out, 0);
    }
    for chunk in chunks {
        out.push(content_type);
        put_u16(&mut out, version);
        put_vec16(&mut out, chunk);
    }
    out
}

/// A handshake message: type, three-byte length, body.
pub fn handshake_message(kind: u8, body: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(body.len() + 4);
    out.push(kind);
    put_u24(&mut out, body.len());
    out.extend_from_slice(body);
    out
}

/// An alert record (`level` 2 is fatal).
pub fn alert_record(version: u16, level: u8, description: u8) -> Vec<u8> {
    records(content::ALERT, version, &[level, description])
}

/// What a ClientHello offers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientHello {
    /// `legacy_version`: the highest version for TLS 1.0-1.2 hellos, 0x0303 for TLS 1.3 ones.
    pub legacy_version: u16,
    /// The versions of the supported_versions extension (empty: no extension).
    pub versions: Vec<u16>,
    /// The client random.
    pub random: [u8; 32],
    /// The legacy session id (32 random bytes for TLS 1.3 middlebox compatibility, else empty).
    pub session_id: Vec<u8>,
    /// Cipher suites, in preference order.
    pub suites: Vec<u16>,
    /// supported_groups (empty: no extension).
    pub groups: Vec<u16>,
    /// signature_algorithms (empty: no extension; it does not exist before TLS 1.2).
    pub signature_algorithms: Vec<u16>,
    /// The SNI host name.
    pub server_name: Option<String>,
    /// TLS 1.3 key shares: group and public key.
    pub key_shares: Vec<(u16, Vec<u8>)>,
    /// Whether renegotiation_info was sent (or the SCSV, when parsed).
    pub renegotiation_info: bool,
}

impl ClientHello {
    /// The handshake message (type 1), padded past 512 bytes when it would be 256-511 bytes long:
    /// some middleboxes hang on hellos of that size (RFC 7685).
    pub fn encode(&self) -> Vec<u8> {
        let mut body = Vec::with_capacity(512);
        put_u16(&mut body, self.legacy_version);
        body.extend_from_slice(&self.random);
        put_vec8(&mut body, &self.session_id);
        let mut suites = Vec::with_capacity(self.suites.len() * 2);
        for s in &self.suites {
            put_u16(&mut suites, *s);
        }
        put_vec16(&mut body, &suites);
        put_vec8(&mut body, &[0]); // compression: null only
        let mut exts = Vec::new();
        if let Some(name) = &self.server_name {
            let mut entry = vec![0u8]; // host_name
            put_vec16(&mut entry, name.as_bytes());
            let mut list = Vec::new();
            put_vec16(&mut list, &entry);
            extension(&mut exts, ext::SERVER_NAME, &list);
        }
        if !self.groups.is_empty() {
            let mut list = Vec::new();
            for g in &self.groups {
                put_u16(&mut list, *g);
            }
            let mut body = Vec::new();
            put_vec16(&mut body, &list);
            extension(&mut exts, ext::SUPPORTED_GROUPS, &body);
            extension(&mut exts, ext::EC_POINT_FORMATS, &[1, 0]);
        }
        if !self.signature_algorithms.is_empty() {
            let mut list = Vec::new();
            for a in &self.signature_algorithms {
                put_u16(&mut list, *a);
            }
            let mut body = Vec::new();
            put_vec16(&mut body, &list);
            extension(&mut exts, ext::SIGNATURE_ALGORITHMS, &body);
        }
        extension(&mut exts, ext::EXTENDED_MASTER_SECRET, &[]);
        if self.renegotiation_info {
            extension(&mut exts, ext::RENEGOTIATION_INFO, &[0]);
        }
        if !self.versions.is_empty() {
            let mut list = Vec::new();
            for v in &self.versions {
                put_u16(&mut list, *v);
            }
            let mut body = Vec::new();
            put_vec8(&mut body, &list);
            extension(&mut exts, ext::SUPPORTED_VERSIONS, &body);
            extension(&mut exts, ext::PSK_KEY_EXCHANGE_MODES, &[1, 1]); // psk_dhe_ke
        }
        if !self.key_shares.is_empty() {
            let mut shares = Vec::new();
            for (group, key) in &self.key_shares {
                put_u16(&mut shares, *group);
                put_vec16(&mut shares, key);
            }
            let mut body = Vec::new();
            put_vec16(&mut body, &shares);
            extension(&mut exts, ext::KEY_SHARE, &body);
        }
        // Message = 4 bytes of header + body + 2 bytes of extensions length + extensions.
        let len = 4 + body.len() + 2 + exts.len();
        if (256..512).contains(&len) {
            let pad = (512 - len).saturating_sub(4);
            extension(&mut exts, ext::PADDING, &vec![0; pad]);
        }
        put_vec16(&mut body, &exts);
        handshake_message(handshake::CLIENT_HELLO, &body)
    }

    /// The versions the hello offers: its supported_versions, or without that extension every
    /// version from TLS 1.0 up to `legacy_version` (as a server reads it).
    pub fn offered_versions(&self) -> Vec<Version> {
        if self.versions.is_empty() {
            [Version::Tls10, Version::Tls11, Version::Tls12]
                .into_iter()
                .filter(|v| v.wire() <= self.legacy_version)
                .collect()
        } else {
            self.versions
                .iter()
                .filter_map(|w| Version::from_wire(*w))
                .collect()
        }
    }

    /// The hello in records, as sent on the wire (record version TLS 1.0, which every server
    /// accepts in a first flight).
    pub fn to_records(&self) -> Vec<u8> {
        records(content::HANDSHAKE, 0x0301, &self.encode())
    }

    /// Parse the body of a ClientHello handshake message (without its 4-byte header).
    ///
    /// # Errors
    /// When it is malformed.
    pub fn parse(body: &[u8]) -> Result<ClientHello, WireError> {
        let mut c = Cursor::new(body);
        let legacy_version = c.u16("client_version")?;
        let mut random = [0u8; 32];
        random.copy_from_slice(c.take(32, "random")?);
        let session_id = c.vec8("session_id")?.to_vec();
        let suite_bytes = c.vec16("cipher_suites")?;
        if !suite_bytes.len().is_multiple_of(2) {
            return Err(WireError::Invalid("odd cipher_suites length".into()));
        }
        let suites: Vec<u16> = suite_bytes
            .chunks_exact(2)
            .map(|p| u16::from_be_bytes([p[0], p[1]]))
            .collect();
        let _compression = c.vec8("compression_methods")?;
        let mut hello = ClientHello {
            legacy_version,
            versions: Vec::new(),
            random,
            session_id,
            renegotiation_info: suites.contains(&0x00FF),
            suites,
            groups: Vec::new(),
            signature_algorithms: Vec::new(),
            server_name: None,
            key_shares: Vec::new(),
        };
        if c.is_empty() {
            return Ok(hello);
        }
        let exts = c.vec16("extensions")?;
        c.finish("ClientHello")?;
        for (kind, data) in extensions(exts)? {
            let mut d = Cursor::new(data);
            match kind {
                ext::SERVER_NAME => {
                    let mut list = Cursor::new(d.vec16("server_name_list")?);
                    while !list.is_empty() {
                        let name_type = list.u8("name_type")?;
                        let name = list.vec16("host_name")?;
                        if name_type == 0 {
                            hello.server_name = Some(String::from_utf8_lossy(name).into_owned());
                        }
                    }
                }
                ext::SUPPORTED_GROUPS => hello.groups = u16_list(d.vec16("named_group_list")?)?,
                ext::SIGNATURE_ALGORITHMS => {
                    hello.signature_algorithms = u16_list(d.vec16("supported_signature_algorithms")?)?;
                }
                ext::SUPPORTED_VERSIONS => hello.versions = u16_list(d.vec8("versions")?)?,
                ext::RENEGOTIATION_INFO => hello.renegotiation_info = true,
                ext::KEY_SHARE => {
                    let mut shares = Cursor::new(d.vec16("client_shares")?);
                    while !shares.is_empty() {
                        let group = shares.u16("group")?;
                        let key = shares.vec16("key_exchange")?.to_vec();
                        hello.key_shares.push((group, key));
                    }
                }
                _ => {}
            }
        }
        Ok(hello)
    }
}

fn extension(out: &mut Vec<u8>, kind: u16, body: &[u8]) {
    put_u16(out, kind);
    put_vec16(out, body);
}

fn u16_list(bytes: &[u8]) -> Result<Vec<u16>, WireError> {
    if !bytes.len().is_multiple_of(2) {
        return Err(WireError::Invalid("odd length of a list of 16-bit values".into()));
    }
    Ok(bytes
        .chunks_exact(2)
        .map(|p| u16::from_be_bytes([p[0], p[1]]))
        .collect())
}

/// The extensions of a hello: type and data, in order.
///
/// # Errors
/// When one runs past the end.
pub fn extensions(bytes: &[u8]) -> Result<Vec<(u16, &[u8])>, WireError> {
    let mut c = Cursor::new(bytes);
    let mut out = Vec::new();
    while !c.is_empty() {
        let kind = c.u16("extension_type")?;
        let data = c.vec16("extension_data")?;
        out.push((kind, data));
    }
    Ok(out)
}

/// What a ServerHello (or HelloRetryRequest) says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerHello {
    /// The negotiated version (supported_versions when present, else `legacy_version`).
    pub version: u16,
    /// The server random.
    pub random: [u8; 32],
    /// The chosen suite.
    pub suite: u16,
    /// The key share group (TLS 1.3), or the group a HelloRetryRequest asks for.
    pub group: Option<u16>,
    /// Whether this is a HelloRetryRequest.
    pub retry: bool,
    /// Whether the server sent renegotiation_info (secure renegotiation).
    pub renegotiation_info: bool,
}

impl ServerHello {
    /// Parse the body of a ServerHello message.
    ///
    /// # Errors
    /// When it is malformed.
    pub fn parse(body: &[u8]) -> Result<ServerHello, WireError> {
        let mut c = Cursor::new(body);
        let legacy = c.u16("server_version")?;
        let mut random = [0u8; 32];
        random.copy_from_slice(c.take(32, "random")?);
        let session_id = c.vec8("session_id")?;
        if session_id.len() > 32 {
            return Err(WireError::TooLong {
                what: "session_id",
                len: session_id.len(),
                max: 32,
            });
        }
        let suite = c.u16("cipher_suite")?;
        let _compression = c.u8("compression_method")?;
        let retry = random == HELLO_RETRY_RANDOM;
        let mut hello = ServerHello {
            version: legacy,
            random,
            suite,
            group: None,
            retry,
            renegotiation_info: false,
        };
        if c.is_empty() {
            return Ok(hello);
        }
        let exts = c.vec16("extensions")?;
        c.finish("ServerHello")?;
        for (kind, data) in extensions(exts)? {
            let mut d = Cursor::new(data);
            match kind {
                ext::SUPPORTED_VERSIONS => hello.version = d.u16("selected_version")?,
                ext::KEY_SHARE => hello.group = Some(d.u16("key_share group")?),
                ext::RENEGOTIATION_INFO => hello.renegotiation_info = true,
                _ => {}
            }
        }
        Ok(hello)
    }

    /// The message body, for the lab's server.
    pub fn encode(&self, session_id: &[u8], extensions_data: &[(u16, Vec<u8>)]) -> Vec<u8> {
        let mut body = Vec::new();
        put_u16(&mut body, self.version.min(0x0303));
        body.extend_from_slice(&self.random);
        put_vec8(&mut body, session_id);
        put_u16(&mut body, self.suite);
        body.push(0);
        if !extensions_data.is_empty() {
            let mut exts = Vec::new();
            for (kind, data) in extensions_data {
                extension(&mut exts, *kind, data);
            }
            put_vec16(&mut body, &exts);
        }
        handshake_message(handshake::SERVER_HELLO, &body)
    }
}

/// The certificates of a TLS 1.0-1.2 Certificate message body, DER, leaf first (at most
/// [`MAX_CERTIFICATES`]; the rest is counted, not kept).
///
/// # Errors
/// When it is malformed.
pub fn parse_certificates(body: &[u8]) -> Result<(Vec<Vec<u8>>, usize), WireError> {
    let mut c = Cursor::new(body);
    let list = c.vec24("certificate_list", MAX_HANDSHAKE_MESSAGE)?;
    c.finish("Certificate")?;
    let mut list = Cursor::new(list);
    let mut certs = Vec::new();
    let mut dropped = 0;
    while !list.is_empty() {
        let der = list.vec24("ASN.1Cert", MAX_HANDSHAKE_MESSAGE)?;
        if der.is_empty() {
            return Err(WireError::Invalid("an empty certificate".into()));
        }
        if certs.len() < MAX_CERTIFICATES {
            certs.push(der.to_vec());
        } else {
            dropped += 1;
        }
    }
    Ok((certs, dropped))
}

/// A Certificate message (TLS 1.0-1.2) with `chain`.
pub fn certificate_message(chain: &[&[u8]]) -> Vec<u8> {
    let mut list = Vec::new();
    for der in chain {
        put_u24(&mut list, der.len());
        list.extend_from_slice(der);
    }
    let mut body = Vec::new();
    put_u24(&mut body, list.len());
    body.extend_from_slice(&list);
    handshake_message(handshake::CERTIFICATE, &body)
}

/// What a ServerKeyExchange says about the key agreement.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyExchange {
    /// ECDHE on a named group.
    Named(u16),
    /// ECDHE with explicit curve parameters (deprecated by RFC 8422).
    ExplicitCurve,
    /// Finite-field DHE with a prime of this many bits.
    Dh {
        /// Bits of the prime.
        bits: usize,
    },
}

/// Parse the start of a ServerKeyExchange body for a suite with key exchange `kex` (the signature
/// that follows is not read: the scanner does not verify it).
///
/// # Errors
/// When it is malformed or the suite has no ServerKeyExchange.
pub fn parse_server_key_exchange(body: &[u8], kex: Kex) -> Result<KeyExchange, WireError> {
    let mut c = Cursor::new(body);
    match kex {
        Kex::Ecdhe | Kex::EcdhAnon => {
            let curve_type = c.u8("curve_type")?;
            match curve_type {
                3 => {
                    let group = c.u16("named_curve")?;
                    let point = c.vec8("public")?;
                    if point.is_empty() {
                        return Err(WireError::Invalid("an empty ECDH public key".into()));
                    }
                    Ok(KeyExchange::Named(group))
                }
                1 | 2 => Ok(KeyExchange::ExplicitCurve),
                other => Err(WireError::Invalid(format!(
                    "unknown ECParameters curve_type {other}"
                ))),
            }
        }
        Kex::Dhe | Kex::DhAnon => {
            let p = c.vec16("dh_p")?;
            let _g = c.vec16("dh_g")?;
            let _ys = c.vec16("dh_Ys")?;
            let leading = p.iter().position(|b| *b != 0).unwrap_or(p.len());
            let significant = &p[leading..];
            let bits = significant.first().map_or(0, |top| {
                (significant.len() - 1) * 8 + (8 - top.leading_zeros() as usize)
            });
            Ok(KeyExchange::Dh { bits })
        }
        Kex::Rsa | Kex::Tls13 => Err(WireError::Invalid(
            "a ServerKeyExchange for a suite without ephemeral key exchange".into(),
        )),
    }
}

/// The ECDHE parameters of a ServerKeyExchange (`named_curve` 3, the group, the public key): what
/// the server signs after the two randoms.
pub fn ecdhe_params(group: u16, public: &[u8]) -> Vec<u8> {
    let mut out = vec![3];
    put_u16(&mut out, group);
    put_vec8(&mut out, public);
    out
}

/// A ServerKeyExchange message: `params`, then (TLS 1.2) the signature scheme, then the signature.
pub fn server_key_exchange_message(params: &[u8], scheme: Option<u16>, signature: &[u8]) -> Vec<u8> {
    let mut body = params.to_vec();
    if let Some(scheme) = scheme {
        put_u16(&mut body, scheme);
    }
    put_vec16(&mut body, signature);
    handshake_message(handshake::SERVER_KEY_EXCHANGE, &body)
}

/// A ServerHelloDone message.
pub fn server_hello_done() -> Vec<u8> {
    handshake_message(handshake::SERVER_HELLO_DONE, &[])
}

/// The version of a record header's two bytes, if it is plausibly TLS (3.x).
pub fn plausible_record(header: &[u8]) -> bool {
    header.len() >= 3 && (20..=23).contains(&header[0]) && header[1] == 3 && header[2] <= 4
}

/// The suite's key exchange (RSA for unknown ids: no ServerKeyExchange is expected then, and one
/// that arrives is skipped).
pub fn kex_of(suite: u16) -> Kex {
    suites::suite(suite).map_or(Kex::Rsa, |s| s.kex)
}

/// The name of a version (`TLSv1.2`), also for versions the scanner does not offer.
pub fn version_words(wire: u16) -> String {
    suites::version_name(wire)
}

/// Whether `wire` is a version the scanner can reason about.
pub fn known_version(wire: u16) -> Option<Version> {
    Version::from_wire(wire)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hello() -> ClientHello {
        ClientHello {
            legacy_version: 0x0303,
            versions: vec![0x0304, 0x0303],
            random: [7; 32],
            session_id: vec![1; 32],
            suites: vec![0x1301, 0xC030, 0x009D],
            groups: vec![0x001D, 0x0017],
            signature_algorithms: vec![0x0804, 0x0403],
            server_name: Some("mail.contoso.com".into()),
            key_shares: vec![(0x001D, vec![9; 32])],
            renegotiation_info: true,
        }
    }

    #[test]
    fn client_hello_round_trips_and_is_padded() {
        let h = hello();
        let msg = h.encode();
        assert_eq!(msg[0], handshake::CLIENT_HELLO);
        assert!(msg.len() >= 512 || msg.len() < 256, "{}", msg.len());
        let mut c = Cursor::new(&msg);
        c.u8("type").unwrap();
        let body = c.vec24("body", MAX_HANDSHAKE_MESSAGE).unwrap();
        assert_eq!(ClientHello::parse(body).unwrap(), h);
        let rec = h.to_records();
        assert_eq!(&rec[..3], &[22, 3, 1]);
        assert_eq!(usize::from(u16::from_be_bytes([rec[3], rec[4]])), msg.len());
    }

    #[test]
    fn server_hello_and_retry_are_recognised() {
        let sh = ServerHello {
            version: 0x0304,
            random: [3; 32],
            suite: 0x1302,
            group: Some(0x001D),
            retry: false,
            renegotiation_info: false,
        };
        let mut ks = Vec::new();
        put_u16(&mut ks, 0x001D);
        put_vec16(&mut ks, &[5; 32]);
        let msg = sh.encode(
            &[1; 32],
            &[(ext::SUPPORTED_VERSIONS, vec![3, 4]), (ext::KEY_SHARE, ks)],
        );
        let parsed = ServerHello::parse(&msg[4..]).unwrap();
        assert_eq!(parsed.version, 0x0304);
        assert_eq!(parsed.suite, 0x1302);
        assert_eq!(parsed.group, Some(0x001D));
        assert!(!parsed.retry);
        let hrr = ServerHello {
            random: HELLO_RETRY_RANDOM,
            ..sh
        };
        let msg = hrr.encode(
            &[],
            &[
                (ext::SUPPORTED_VERSIONS, vec![3, 4]),
                (ext::KEY_SHARE, vec![0, 0x17]),
            ],
        );
        let parsed = ServerHello::parse(&msg[4..]).unwrap();
        assert!(parsed.retry);
        assert_eq!(parsed.group, Some(0x0017));
    }

    #[test]
    fn certificates_and_key_exchange_parse() {
        let msg = certificate_message(&[b"leaf", b"issuer"]);
        let (certs, dropped) = parse_certificates(&msg[4..]).unwrap();
        assert_eq!(certs, [b"leaf".to_vec(), b"issuer".to_vec()]);
        assert_eq!(dropped, 0);
        let ske = server_key_exchange_message(&ecdhe_params(0x0017, &[4; 65]), Some(0x0401), &[1; 256]);
        assert_eq!(
            parse_server_key_exchange(&ske[4..], Kex::Ecdhe),
            Ok(KeyExchange::Named(0x0017))
        );
        let mut dh = Vec::new();
        put_vec16(&mut dh, &[0x80; 256]);
        put_vec16(&mut dh, &[2]);
        put_vec16(&mut dh, &[1; 256]);
        assert_eq!(
            parse_server_key_exchange(&dh, Kex::Dhe),
            Ok(KeyExchange::Dh { bits: 2048 })
        );
    }

    #[test]
    fn lengths_past_the_end_are_errors() {
        assert!(matches!(
            parse_certificates(&[0, 0, 9, 0, 0, 1]),
            Err(WireError::Truncated { .. })
        ));
        assert!(ServerHello::parse(&[3, 3]).is_err());
        assert!(ClientHello::parse(&[3, 3, 0]).is_err());
        assert!(matches!(
            Cursor::new(&[0xff, 0xff, 0xff]).vec24("x", 10),
            Err(WireError::TooLong { .. })
        ));
    }
}
