//! RSA keys the `rsa` crate generates and signs with: ring can neither generate RSA keys nor sign with keys
//! shorter than 2048 bits, and the `weak-key` scenario needs a 1024-bit one. [`RsaKey`] is the subject (and
//! self-signing) key rcgen certifies; [`RsaTlsKey`] lets rustls complete a handshake with it.

use std::fmt;
use std::sync::Arc;

use rsa::pkcs1::EncodeRsaPublicKey;
use rsa::pkcs8::{EncodePrivateKey, EncodePublicKey};
use rsa::rand_core::OsRng;
use rsa::traits::PublicKeyParts;
use rsa::{Pkcs1v15Sign, Pss, RsaPrivateKey};
use rustls::SignatureScheme;
use rustls_pki_types::SubjectPublicKeyInfoDer;
use sha2::{Digest, Sha256, Sha384, Sha512};

use super::CaError;

/// An RSA key generated with the `rsa` crate, usable as an rcgen subject / self-signing key.
pub(super) struct RsaKey {
    pub(super) private: Arc<RsaPrivateKey>,
    /// PKCS#1 RSAPublicKey DER (what rcgen puts into the subjectPublicKey BIT STRING).
    pkcs1_public: Vec<u8>,
}

impl RsaKey {
    pub(super) fn generate(bits: usize, what: &str) -> Result<RsaKey, CaError> {
        let private = RsaPrivateKey::new(&mut OsRng, bits).map_err(|source| CaError::RsaKeyGeneration {
            what: what.to_owned(),
            source,
        })?;
        let pkcs1_public = private
            .to_public_key()
            .to_pkcs1_der()
            .map_err(|e| key_encoding(what, "PKCS#1 public", e))?
            .into_vec();
        Ok(RsaKey {
            private: Arc::new(private),
            pkcs1_public,
        })
    }

    pub(super) fn pkcs8(&self, what: &str) -> Result<Vec<u8>, CaError> {
        let doc = self
            .private
            .to_pkcs8_der()
            .map_err(|e| key_encoding(what, "PKCS#8 private", e))?;
        Ok(doc.as_bytes().to_vec())
    }

    pub(super) fn spki(&self, what: &str) -> Result<Vec<u8>, CaError> {
        let doc = self
            .private
            .to_public_key()
            .to_public_key_der()
            .map_err(|e| key_encoding(what, "SubjectPublicKeyInfo", e))?;
        Ok(doc.into_vec())
    }
}

impl rcgen::PublicKeyData for RsaKey {
    fn der_bytes(&self) -> &[u8] {
        &self.pkcs1_public
    }

    fn algorithm(&self) -> &'static rcgen::SignatureAlgorithm {
        &rcgen::PKCS_RSA_SHA256
    }
}

impl rcgen::SigningKey for RsaKey {
    fn sign(&self, msg: &[u8]) -> Result<Vec<u8>, rcgen::Error> {
        self.private
            .sign_with_rng(&mut OsRng, Pkcs1v15Sign::new::<Sha256>(), &Sha256::digest(msg))
            .map_err(|_| rcgen::Error::RemoteKeyError)
    }
}

/// A rustls signing key backed by the `rsa` crate, for RSA keys ring refuses (< 2048 bits).
pub(super) struct RsaTlsKey {
    pub(super) key: Arc<RsaPrivateKey>,
    pub(super) spki: Vec<u8>,
}

impl fmt::Debug for RsaTlsKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RsaTlsKey").finish_non_exhaustive()
    }
}

impl RsaTlsKey {
    /// Schemes in order of preference. PKCS#1 v1.5 first: a TLS 1.3 peer never sees it offered (rustls
    /// filters the offered list to TLS 1.3 schemes), so TLS 1.2 uses PKCS#1 and TLS 1.3 uses PSS.
    pub(super) const SCHEMES: [SignatureScheme; 6] = [
        SignatureScheme::RSA_PKCS1_SHA256,
        SignatureScheme::RSA_PKCS1_SHA384,
        SignatureScheme::RSA_PKCS1_SHA512,
        SignatureScheme::RSA_PSS_SHA256,
        SignatureScheme::RSA_PSS_SHA384,
        SignatureScheme::RSA_PSS_SHA512,
    ];

    /// Whether the modulus is long enough for `scheme`: RSA-PSS with a salt as long as the hash (as TLS
    /// requires) needs `emLen >= 2 * hLen + 2`, which rules out PSS with SHA-512 for a 1024-bit key.
    fn fits(&self, scheme: SignatureScheme) -> bool {
        let hash_len = match scheme {
            SignatureScheme::RSA_PSS_SHA256 => 32,
            SignatureScheme::RSA_PSS_SHA384 => 48,
            SignatureScheme::RSA_PSS_SHA512 => 64,
            _ => return true,
        };
        let em_len = self.key.n().bits().saturating_sub(1).div_ceil(8);
        em_len >= 2 * hash_len + 2
    }
}

impl rustls::sign::SigningKey for RsaTlsKey {
    fn choose_scheme(&self, offered: &[SignatureScheme]) -> Option<Box<dyn rustls::sign::Signer>> {
        let scheme = Self::SCHEMES
            .into_iter()
            .find(|scheme| offered.contains(scheme) && self.fits(*scheme))?;
        Some(Box::new(RsaTlsSigner {
            key: Arc::clone(&self.key),
            scheme,
        }))
    }

    fn public_key(&self) -> Option<SubjectPublicKeyInfoDer<'_>> {
        Some(SubjectPublicKeyInfoDer::from(self.spki.as_slice()))
    }

    fn algorithm(&self) -> rustls::SignatureAlgorithm {
        rustls::SignatureAlgorithm::RSA
    }
}

/// One signature operation of [`RsaTlsKey`] with a chosen scheme.
struct RsaTlsSigner {
    key: Arc<RsaPrivateKey>,
    scheme: SignatureScheme,
}

impl fmt::Debug for RsaTlsSigner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RsaTlsSigner")
            .field("scheme", &self.scheme)
            .finish_non_exhaustive()
    }
}

impl rustls::sign::Signer for RsaTlsSigner {
    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, rustls::Error> {
        let rng = &mut OsRng;
        let signature = match self.scheme {
            SignatureScheme::RSA_PKCS1_SHA256 => {
                self.key
                    .sign_with_rng(rng, Pkcs1v15Sign::new::<Sha256>(), &Sha256::digest(message))
            }
            SignatureScheme::RSA_PKCS1_SHA384 => {
                self.key
                    .sign_with_rng(rng, Pkcs1v15Sign::new::<Sha384>(), &Sha384::digest(message))
            }
            SignatureScheme::RSA_PKCS1_SHA512 => {
                self.key
                    .sign_with_rng(rng, Pkcs1v15Sign::new::<Sha512>(), &Sha512::digest(message))
            }
            SignatureScheme::RSA_PSS_SHA256 => {
                self.key
                    .sign_with_rng(rng, Pss::new::<Sha256>(), &Sha256::digest(message))
            }
            SignatureScheme::RSA_PSS_SHA384 => {
                self.key
                    .sign_with_rng(rng, Pss::new::<Sha384>(), &Sha384::digest(message))
            }
            SignatureScheme::RSA_PSS_SHA512 => {
                self.key
                    .sign_with_rng(rng, Pss::new::<Sha512>(), &Sha512::digest(message))
            }
            other => {
                return Err(rustls::Error::General(format!(
                    "RSA signer cannot sign with {other:?}"
                )));
            }
        };
        signature.map_err(|e| rustls::Error::General(format!("RSA signature failed: {e}")))
    }

    fn scheme(&self) -> SignatureScheme {
        self.scheme
    }
}

fn key_encoding(what: &str, encoding: &'static str, error: impl fmt::Display) -> CaError {
    CaError::KeyEncoding {
        what: what.to_owned(),
        encoding,
        detail: error.to_string(),
    }
}
