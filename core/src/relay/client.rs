//! A small SMTP client that delivers one message: connect, greeting, EHLO, STARTTLS under a policy
//! (none, opportunistic, required, verified), MAIL, RCPT per recipient, DATA with dot-stuffing,
//! QUIT. Replies are parsed with the sans-IO [`crate::smtp::reply`]; every step has a timeout; the
//! dialogue is recorded. Used by the relay's forwarder and by `mailpath relay send`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use rustls::sign::CertifiedKey;
use rustls_pki_types::{CertificateDer, ServerName};
use serde::{Deserialize, Serialize};
use tokio::io::AsyncWriteExt as _;
use tokio::net::TcpStream;

use crate::evidence::{Direction, TranscriptLine};
use crate::smtp::address::Mailbox;
use crate::smtp::client::{ClientError, Conversation};
use crate::smtp::io::BoxedIo;
use crate::smtp::reply::{RawReply, ehlo_offers};
use crate::smtp::transcript::Transcript;

/// How the client uses STARTTLS.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum TlsPolicy {
    /// Never (plain SMTP).
    None,
    /// When the server offers it; any certificate.
    #[default]
    Opportunistic,
    /// Always; fail when not offered or when the handshake fails; any certificate.
    Required,
    /// Always, and the server certificate must chain to the given roots and carry the name.
    Verify,
}

/// Per-step time limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeouts {
    /// TCP connect.
    pub connect: Duration,
    /// The greeting and each command's reply.
    pub command: Duration,
    /// The reply to the final dot (the receiver may scan the message).
    pub data: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Timeouts {
            connect: Duration::from_secs(30),
            command: Duration::from_secs(60),
            data: Duration::from_secs(180),
        }
    }
}

/// What the client needs to know.
#[derive(Clone)]
pub struct ClientOptions {
    /// The EHLO name.
    pub helo: String,
    /// STARTTLS policy.
    pub tls: TlsPolicy,
    /// The name to verify (and send as SNI); default: the host connected to.
    pub tls_name: Option<String>,
    /// Trust anchors for [`TlsPolicy::Verify`].
    pub roots: Vec<CertificateDer<'static>>,
    /// A client certificate to present when the server asks.
    pub client_cert: Option<Arc<CertifiedKey>>,
    /// Limits.
    pub timeouts: Timeouts,
}

impl std::fmt::Debug for ClientOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientOptions")
            .field("helo", &self.helo)
            .field("tls", &self.tls)
            .field("tls_name", &self.tls_name)
            .field("roots", &self.roots.len())
            .field("client_cert", &self.client_cert.is_some())
            .field("timeouts", &self.timeouts)
            .finish()
    }
}

/// What happened to one recipient.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "outcome", content = "reply", rename_all = "kebab-case")]
pub enum RcptOutcome {
    /// Accepted with the message (the reply to the final dot).
    Delivered(String),
    /// Refused for good (5xx).
    Failed(String),
    /// Refused for now (4xx) or not tried because the session failed.
    Deferred(String),
}

/// The result of one delivery session.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SendOutcome {
    /// `version cipher` when TLS was used.
    pub tls: Option<String>,
    /// Per recipient, in envelope order.
    pub recipients: Vec<(String, RcptOutcome)>,
    /// The dialogue (message data summarised).
    pub transcript: Vec<TranscriptLine>,
    /// Milliseconds.
    pub ms: u64,
}

impl SendOutcome {
    /// Whether every recipient was delivered.
    pub fn all_delivered(&self) -> bool {
        self.recipients
            .iter()
            .all(|(_, o)| matches!(o, RcptOutcome::Delivered(_)))
    }
}

/// Why the session failed as a whole (every recipient shares the outcome).
#[derive(Debug, Clone)]
struct SessionFailure {
    permanent: bool,
    reason: String,
}

fn temp(reason: impl Into<String>) -> SessionFailure {
    SessionFailure {
        permanent: false,
        reason: reason.into(),
    }
}

struct Conn {
    io: BoxedIo,
    conv: Conversation,
}

/// A forwarding failure from a conversation failure: every one of them is worth a retry.
fn from_client(e: ClientError) -> SessionFailure {
    temp(match e {
        ClientError::Closed { .. } => "connection closed by the server".to_string(),
        ClientError::NotSmtp(e) => format!("not SMTP: {e}"),
        e => e.to_string(),
    })
}

impl Conn {
    fn note(&mut self, dir: Direction, text: impl Into<String>) {
        self.conv.transcript.push(dir, &text.into());
    }

    async fn write(&mut self, bytes: &[u8], limit: Duration) -> Result<(), SessionFailure> {
        self.conv
            .send(&mut self.io, bytes, limit)
            .await
            .map_err(from_client)
    }

    async fn command(&mut self, line: &str, limit: Duration) -> Result<RawReply, SessionFailure> {
        self.conv
            .command(&mut self.io, line, limit)
            .await
            .map_err(from_client)
    }

    async fn reply(&mut self, limit: Duration) -> Result<RawReply, SessionFailure> {
        self.conv
            .read_reply(&mut self.io, limit)
            .await
            .map_err(from_client)
    }
}

fn reply_text(reply: &RawReply) -> String {
    format!("{} {}", reply.code, reply.lines.join(" "))
}

/// The message as it goes on the wire after DATA: CRLF line ends, dot-stuffed, ending in
/// `CRLF.CRLF`. A lone CR or LF becomes CRLF: nothing that a server could take for a line end other
/// than CRLF ever goes out (SMTP smuggling). The relay refuses such content when it arrives; this
/// also covers messages stored before it did.
pub fn dot_stuff(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len() + data.len() / 64 + 5);
    let mut at_line_start = true;
    let mut bytes = data.iter().copied().peekable();
    while let Some(b) = bytes.next() {
        if at_line_start && b == b'.' {
            out.push(b'.');
        }
        match b {
            b'\r' => {
                bytes.next_if_eq(&b'\n');
                out.extend_from_slice(b"\r\n");
                at_line_start = true;
            }
            b'\n' => {
                out.extend_from_slice(b"\r\n");
                at_line_start = true;
            }
            _ => {
                out.push(b);
                at_line_start = false;
            }
        }
    }
    if !out.is_empty() && !out.ends_with(b"\r\n") {
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b".\r\n");
    out
}

#[derive(Debug)]
struct FixedClientCert(Arc<CertifiedKey>);

impl rustls::client::ResolvesClientCert for FixedClientCert {
    fn resolve(&self, _hints: &[&[u8]], _schemes: &[rustls::SignatureScheme]) -> Option<Arc<CertifiedKey>> {
        Some(Arc::clone(&self.0))
    }

    fn has_certs(&self) -> bool {
        true
    }
}

fn client_config(options: &ClientOptions) -> Result<Arc<rustls::ClientConfig>, String> {
    let builder = rustls::ClientConfig::builder_with_provider(crate::tls::provider())
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
        .map_err(|e| e.to_string())?;
    let builder = if options.tls == TlsPolicy::Verify {
        let mut store = rustls::RootCertStore::empty();
        for root in &options.roots {
            store
                .add(root.clone())
                .map_err(|e| format!("bad trust anchor: {e}"))?;
        }
        if store.is_empty() {
            return Err("TLS verification needs trust anchors (a CA file)".into());
        }
        builder.with_root_certificates(store)
    } else {
        builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(crate::tls::Capture::default()))
    };
    let config = match &options.client_cert {
        Some(key) => builder.with_client_cert_resolver(Arc::new(FixedClientCert(Arc::clone(key)))),
        None => builder.with_no_client_auth(),
    };
    Ok(Arc::new(config))
}

/// Deliver `data` from `mail_from` to `rcpt_to` through `host:port`. Never fails as a whole: a
/// session that breaks leaves every not-yet-delivered recipient deferred (or failed, when the
/// server refused the whole transaction with a 5xx), with the reason.
///
/// The addresses are parsed ([`Mailbox::parse`]) and written back, so what goes on the wire is the
/// address that was judged, quoted exactly where RFC 5321 requires it; one that does not parse is
/// not sent (`553`, failed) and a sender that does not parse fails every recipient.
pub async fn send(
    host: &str,
    port: u16,
    options: &ClientOptions,
    mail_from: &str,
    rcpt_to: &[String],
    data: &[u8],
) -> SendOutcome {
    let started = Instant::now();
    let sender = if mail_from.is_empty() {
        Ok(String::new())
    } else {
        Mailbox::parse(mail_from).map(|m| m.to_string())
    };
    let mut refused: Partial = Vec::new();
    let mut valid: Vec<(String, String)> = Vec::new();
    for rcpt in rcpt_to {
        match (&sender, Mailbox::parse(rcpt)) {
            (Err(e), _) => refused.push((
                rcpt.clone(),
                RcptOutcome::Failed(format!(
                    "553 5.1.7 not sent: the sender is not a valid address ({e})"
                )),
            )),
            (Ok(_), Err(e)) => refused.push((
                rcpt.clone(),
                RcptOutcome::Failed(format!("553 5.1.3 not sent: not a valid address ({e})")),
            )),
            (Ok(_), Ok(m)) => valid.push((rcpt.clone(), m.to_string())),
        }
    }
    let mut conn_slot = None;
    let result = match &sender {
        Ok(sender) if !valid.is_empty() => {
            run(host, port, options, sender, &valid, data, started, &mut conn_slot).await
        }
        _ => Ok(Vec::new()),
    };
    let (tls, transcript) = match conn_slot {
        Some((tls, transcript)) => (tls, transcript),
        None => (None, Vec::new()),
    };
    let mut recipients = match result {
        Ok(recipients) => recipients,
        Err((partial, failure)) => valid
            .iter()
            .map(|(r, _)| {
                let earlier = partial.iter().find(|(p, _)| p == r).map(|(_, o)| o.clone());
                let outcome = match earlier {
                    Some(o @ RcptOutcome::Failed(_)) => o,
                    _ if failure.permanent => RcptOutcome::Failed(failure.reason.clone()),
                    _ => RcptOutcome::Deferred(failure.reason.clone()),
                };
                (r.clone(), outcome)
            })
            .collect(),
    };
    recipients.extend(refused);
    SendOutcome {
        tls,
        recipients: order(rcpt_to, recipients),
        transcript,
        ms: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
    }
}

type Partial = Vec<(String, RcptOutcome)>;

#[allow(clippy::too_many_arguments)]
async fn run(
    host: &str,
    port: u16,
    options: &ClientOptions,
    mail_from: &str,
    rcpt_to: &[(String, String)],
    data: &[u8],
    started: Instant,
    out: &mut Option<(Option<String>, Vec<TranscriptLine>)>,
) -> Result<Partial, (Partial, SessionFailure)> {
    let t = options.timeouts;
    let stream = match tokio::time::timeout(t.connect, TcpStream::connect((host, port))).await {
        Ok(Ok(s)) => s,
        Ok(Err(e)) => return Err((Vec::new(), temp(format!("connect to {host}:{port}: {e}")))),
        Err(_) => return Err((Vec::new(), temp(format!("connect to {host}:{port} timed out")))),
    };
    let _ = stream.set_nodelay(true);
    let mut conn = Conn {
        io: Box::new(stream),
        conv: Conversation::new(Transcript::new(started)),
    };
    let mut tls_info = None;
    let result = dialogue(&mut conn, host, options, mail_from, rcpt_to, data, &mut tls_info).await;
    let _ = tokio::time::timeout(Duration::from_secs(2), conn.io.shutdown()).await;
    *out = Some((tls_info, conn.conv.transcript.into_lines()));
    result
}

async fn dialogue(
    conn: &mut Conn,
    host: &str,
    options: &ClientOptions,
    mail_from: &str,
    rcpt_to: &[(String, String)],
    data: &[u8],
    tls_info: &mut Option<String>,
) -> Result<Partial, (Partial, SessionFailure)> {
    let t = options.timeouts;
    let fail = |f: SessionFailure| (Vec::new(), f);
    let greeting = conn.reply(t.command).await.map_err(fail)?;
    if greeting.code != 220 {
        return Err(fail(SessionFailure {
            permanent: greeting.code >= 500,
            reason: format!("greeting {}", reply_text(&greeting)),
        }));
    }
    let mut ehlo = conn
        .command(&format!("EHLO {}", options.helo), t.command)
        .await
        .map_err(fail)?;
    if ehlo.code != 250 {
        ehlo = conn
            .command(&format!("HELO {}", options.helo), t.command)
            .await
            .map_err(fail)?;
        if ehlo.code != 250 {
            return Err(fail(temp(format!("HELO refused: {}", reply_text(&ehlo)))));
        }
    }
    let offers_tls = ehlo_offers(&ehlo.lines, "STARTTLS");
    let mut offers_utf8 = ehlo_offers(&ehlo.lines, "SMTPUTF8");
    let want_tls = match options.tls {
        TlsPolicy::None => false,
        TlsPolicy::Opportunistic => offers_tls,
        TlsPolicy::Required | TlsPolicy::Verify => {
            if !offers_tls {
                return Err(fail(temp(
                    "the server does not offer STARTTLS and TLS is required",
                )));
            }
            true
        }
    };
    if want_tls {
        let reply = conn.command("STARTTLS", t.command).await.map_err(fail)?;
        if reply.code != 220 {
            return Err(fail(temp(format!("STARTTLS refused: {}", reply_text(&reply)))));
        }
        let config = client_config(options).map_err(|e| fail(temp(e)))?;
        let name = options.tls_name.clone().unwrap_or_else(|| host.to_string());
        let server_name = ServerName::try_from(name.clone())
            .map_err(|e| fail(temp(format!("{name:?} is not a TLS server name: {e}"))))?;
        let plain = std::mem::replace(
            &mut conn.io,
            Box::new(tokio::io::join(tokio::io::empty(), tokio::io::sink())),
        );
        let connector = tokio_rustls::TlsConnector::from(config);
        let stream = match tokio::time::timeout(t.command, connector.connect(server_name, plain)).await {
            Ok(Ok(s)) => s,
            Ok(Err(e)) => {
                conn.note(Direction::Error, format!("TLS handshake failed: {e}"));
                return Err(fail(temp(format!("TLS handshake failed: {e}"))));
            }
            Err(_) => return Err(fail(temp("TLS handshake timed out"))),
        };
        let (_, session) = stream.get_ref();
        let info = format!(
            "{} {}",
            session
                .protocol_version()
                .map(crate::tls::version_name)
                .unwrap_or_default(),
            session
                .negotiated_cipher_suite()
                .map(|s| format!("{:?}", s.suite()))
                .unwrap_or_default()
        );
        conn.io = Box::new(stream);
        conn.conv.start_tls();
        conn.note(Direction::Info, format!("TLS established: {info}"));
        *tls_info = Some(info);
        let ehlo = conn
            .command(&format!("EHLO {}", options.helo), t.command)
            .await
            .map_err(fail)?;
        if ehlo.code != 250 {
            return Err(fail(temp(format!(
                "EHLO after STARTTLS refused: {}",
                reply_text(&ehlo)
            ))));
        }
        offers_utf8 = ehlo_offers(&ehlo.lines, "SMTPUTF8");
    }
    let size = data.len();
    // RFC 6531 3.4: non-ASCII addresses go only with SMTPUTF8, and only to a server that offers it
    // (3.2); without it the message cannot be delivered there as it is (X.6.7, as in 3.5).
    let utf8 = !mail_from.is_ascii() || rcpt_to.iter().any(|(_, wire)| !wire.is_ascii());
    if utf8 && !offers_utf8 {
        return Err(fail(SessionFailure {
            permanent: true,
            reason: "5.6.7 the envelope has non-ASCII addresses and the server does not offer SMTPUTF8 \
                     (RFC 6531)"
                .to_string(),
        }));
    }
    let utf8_param = if utf8 { " SMTPUTF8" } else { "" };
    let mail = conn
        .command(
            &format!("MAIL FROM:<{mail_from}> SIZE={size}{utf8_param}"),
            t.command,
        )
        .await
        .map_err(fail)?;
    if mail.code != 250 {
        return Err(fail(SessionFailure {
            permanent: mail.code >= 500,
            reason: format!("MAIL FROM refused: {}", reply_text(&mail)),
        }));
    }
    let mut outcomes: Partial = Vec::new();
    let mut accepted = Vec::new();
    for (rcpt, wire) in rcpt_to {
        let reply = match conn.command(&format!("RCPT TO:<{wire}>"), t.command).await {
            Ok(r) => r,
            Err(f) => return Err((outcomes, f)),
        };
        let outcome = match reply.code {
            250 | 251 => {
                accepted.push(rcpt.clone());
                continue;
            }
            500..=599 => RcptOutcome::Failed(reply_text(&reply)),
            _ => RcptOutcome::Deferred(reply_text(&reply)),
        };
        outcomes.push((rcpt.clone(), outcome));
    }
    if accepted.is_empty() {
        let _ = conn.command("QUIT", t.command).await;
        return Ok(outcomes);
    }
    let reply = conn
        .command("DATA", t.command)
        .await
        .map_err(|f| (outcomes.clone(), f))?;
    if reply.code != 354 {
        let f = SessionFailure {
            permanent: reply.code >= 500,
            reason: format!("DATA refused: {}", reply_text(&reply)),
        };
        return Err((outcomes, f));
    }
    let wire = dot_stuff(data);
    conn.note(
        Direction::Client,
        format!("({} bytes of message data)", wire.len()),
    );
    conn.write(&wire, t.data)
        .await
        .map_err(|f| (outcomes.clone(), f))?;
    let done = conn.reply(t.data).await.map_err(|f| (outcomes.clone(), f))?;
    let text = reply_text(&done);
    let each = match done.code {
        200..=299 => RcptOutcome::Delivered(text),
        500..=599 => RcptOutcome::Failed(text),
        _ => RcptOutcome::Deferred(text),
    };
    for rcpt in accepted {
        outcomes.push((rcpt, each.clone()));
    }
    let _ = conn.command("QUIT", t.command).await;
    Ok(outcomes)
}

fn order(rcpt_to: &[String], outcomes: Partial) -> Partial {
    rcpt_to
        .iter()
        .filter_map(|r| outcomes.iter().find(|(p, _)| p == r).cloned())
        .collect()
}

/// A new tracking id for a test message (`mp-<time>-<pid>-<n>`).
pub fn new_tracking_id() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let nanos = time::OffsetDateTime::now_utc().unix_timestamp_nanos();
    format!(
        "mp-{nanos:x}-{:x}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

/// A test message: the usual headers, [`crate::headers::TRACKING_HEADER`] with `tracking_id`, the
/// `extra` header lines (`Name: value`, e.g. X-MS-Exchange-CrossPremises-* to test promotion), a
/// short body. CR and LF inside values are removed.
pub fn test_message(from: &str, to: &str, subject: &str, tracking_id: &str, extra: &[String]) -> Vec<u8> {
    let clean = |s: &str| s.replace(['\r', '\n'], " ");
    let date = time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc2822)
        .unwrap_or_default();
    let mut m = format!(
        "From: <{}>\r\nTo: <{}>\r\nSubject: {}\r\nDate: {date}\r\nMessage-ID: <{}@mailpath.test>\r\n{}: {}\r\n",
        clean(from),
        clean(to),
        clean(subject),
        clean(tracking_id),
        crate::headers::TRACKING_HEADER,
        clean(tracking_id)
    );
    for line in extra {
        if line.contains(':') {
            m.push_str(&clean(line));
            m.push_str("\r\n");
        }
    }
    m.push_str(&format!(
        "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n\
         This is a test message sent by mailpath relay send.\r\nTracking id: {}\r\n",
        clean(tracking_id)
    ));
    m.into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dot_stuffing_and_line_ends() {
        assert_eq!(dot_stuff(b"a\r\n.b\r\n"), b"a\r\n..b\r\n.\r\n");
        assert_eq!(dot_stuff(b".\nx"), b"..\r\nx\r\n.\r\n");
        assert_eq!(dot_stuff(b""), b".\r\n");
        // Lone CRs and LFs never go out as such.
        assert_eq!(dot_stuff(b"a\r.\r\nb"), b"a\r\n..\r\nb\r\n.\r\n");
        assert_eq!(dot_stuff(b"a\n.\nb\r\r\n"), b"a\r\n..\r\nb\r\n\r\n.\r\n");
    }
}
