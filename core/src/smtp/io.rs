//! Byte streams for SMTP sessions: plain TCP before STARTTLS, TLS after, behind one boxed type.

use tokio::io::{AsyncRead, AsyncWrite};

/// A duplex byte stream a session can run on (TCP, TLS over TCP, an in-memory duplex in tests).
pub trait Io: AsyncRead + AsyncWrite + Unpin + Send {}

impl<T: AsyncRead + AsyncWrite + Unpin + Send> Io for T {}

/// A boxed [`Io`], so a session can swap its plain stream for a TLS one in place.
pub type BoxedIo = Box<dyn Io>;
