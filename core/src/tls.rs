//! TLS helpers shared by the lab, the relay and the probes (rustls with the ring provider).

use std::sync::Arc;

/// The crypto provider mailpath uses everywhere (ring: builds on every platform without cmake/nasm).
pub fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}
