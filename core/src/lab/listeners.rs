//! Non-SMTP listeners of the lab: EdgeSync's LDAPS port, closed ports and filtered ports.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use tokio::io::AsyncReadExt as _;
use tokio::net::{TcpListener, TcpSocket, TcpStream};
use tokio::task::JoinHandle;

/// Something the lab keeps running in the background; aborted when dropped.
pub(super) enum Background {
    Task(JoinHandle<()>),
    Hold(
        #[allow(dead_code)] Vec<TcpStream>,
        #[allow(dead_code)] TcpListener,
    ),
}

impl Drop for Background {
    fn drop(&mut self) {
        if let Background::Task(task) = self {
            task.abort();
        }
    }
}

/// EdgeSync's LDAPS endpoint (port 50636 on a real Edge): completes the TLS handshake with the
/// Edge's certificate, then waits for the client to hang up. It does not speak LDAP.
pub(super) async fn ldaps(
    addr: SocketAddr,
    tls: Arc<rustls::ServerConfig>,
) -> std::io::Result<(SocketAddr, Background)> {
    let listener = TcpListener::bind(addr).await?;
    let local = listener.local_addr()?;
    let acceptor = tokio_rustls::TlsAcceptor::from(tls);
    let task = tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            };
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let session = async {
                    let mut tls = acceptor.accept(stream).await.ok()?;
                    let mut buf = [0u8; 1024];
                    while tls.read(&mut buf).await.ok()? > 0 {}
                    Some(())
                };
                let _ = tokio::time::timeout(Duration::from_secs(30), session).await;
            });
        }
    });
    Ok((local, Background::Task(task)))
}

/// A port nothing listens on: connecting to it is refused.
pub(super) async fn closed_port(bind: IpAddr) -> std::io::Result<SocketAddr> {
    let listener = TcpListener::bind(SocketAddr::new(bind, 0)).await?;
    let addr = listener.local_addr()?;
    drop(listener);
    Ok(addr)
}

/// A port where connections never complete, like a firewall that drops packets.
///
/// Unprivileged and portable enough: a listener with a backlog of one that never accepts, whose
/// queue the lab fills itself. Linux then drops further SYNs, so a client's connect times out.
pub(super) async fn filtered_port(bind: IpAddr) -> std::io::Result<(SocketAddr, Background)> {
    let socket = if bind.is_ipv4() {
        TcpSocket::new_v4()?
    } else {
        TcpSocket::new_v6()?
    };
    socket.bind(SocketAddr::new(bind, 0))?;
    let listener = socket.listen(1)?;
    let addr = listener.local_addr()?;
    let mut fillers = Vec::new();
    for _ in 0..16 {
        match tokio::time::timeout(Duration::from_millis(300), TcpStream::connect(addr)).await {
            Ok(Ok(stream)) => fillers.push(stream),
            // A connect that does not complete: the queue is full, the port now looks filtered.
            Err(_) => break,
            Ok(Err(e)) => return Err(e),
        }
    }
    Ok((addr, Background::Hold(fillers, listener)))
}
