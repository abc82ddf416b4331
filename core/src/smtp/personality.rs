//! How a server introduces itself: banners and EHLO extension lists modelled on what Exchange
//! receive connectors and Exchange Online Protection really send.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc2822;

/// The kind of SMTP server a listener imitates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Personality {
    /// An Exchange Mailbox server's "Default Frontend" receive connector (port 25, internal).
    ExchangeMailbox,
    /// An Edge Transport server's internet-facing listener (what EOP connects to).
    ExchangeEdgeExternal,
    /// An Edge Transport server's "Default internal Receive connector" (what Mailbox servers use).
    ExchangeEdgeInternal,
    /// Exchange Online Protection's `*.mail.protection.outlook.com` front end.
    Eop,
    /// A plain, neutral SMTP sink.
    Generic,
}

impl Personality {
    /// The 220 greeting text (without the code), as this kind of server words it.
    pub fn banner(self, host: &str, now: OffsetDateTime) -> String {
        let date = now.format(&Rfc2822).unwrap_or_else(|_| now.to_string());
        match self {
            Personality::ExchangeMailbox
            | Personality::ExchangeEdgeExternal
            | Personality::ExchangeEdgeInternal => {
                format!("{host} Microsoft ESMTP MAIL Service ready at {date}")
            }
            Personality::Eop => {
                format!("{host} Microsoft ESMTP MAIL Service ready at {date} [08DE2B1F4A7C9E30]")
            }
            Personality::Generic => format!("{host} ESMTP mailpath"),
        }
    }

    /// The EHLO extension keywords (after the greeting line), before or inside TLS.
    ///
    /// `tls_available` is whether STARTTLS can be offered at all (a certificate is configured);
    /// `in_tls` is whether the session already runs inside TLS.
    pub fn extensions(self, tls_available: bool, in_tls: bool, max_size: usize) -> Vec<String> {
        let starttls = tls_available && !in_tls;
        let mut ext = vec![format!("SIZE {max_size}"), "PIPELINING".into(), "DSN".into()];
        ext.push("ENHANCEDSTATUSCODES".into());
        if starttls {
            ext.push("STARTTLS".into());
        }
        match self {
            Personality::ExchangeMailbox => {
                if starttls {
                    ext.push("X-ANONYMOUSTLS".into());
                }
                ext.push("AUTH NTLM".into());
                ext.push("X-EXPS GSSAPI NTLM".into());
                ext.extend(["8BITMIME", "BINARYMIME", "CHUNKING", "SMTPUTF8", "XRDST"].map(String::from));
            }
            Personality::ExchangeEdgeInternal => {
                if starttls {
                    ext.push("X-ANONYMOUSTLS".into());
                }
                ext.extend(["8BITMIME", "BINARYMIME", "CHUNKING", "XEXCH50", "SMTPUTF8"].map(String::from));
                ext.extend(["XRDST", "XSHADOWREQUEST"].map(String::from));
            }
            Personality::ExchangeEdgeExternal => {
                ext.extend(["8BITMIME", "BINARYMIME", "CHUNKING", "SMTPUTF8"].map(String::from));
            }
            Personality::Eop => {
                ext.extend(["8BITMIME", "BINARYMIME", "CHUNKING", "SMTPUTF8"].map(String::from));
            }
            Personality::Generic => {
                ext.extend(["8BITMIME", "CHUNKING", "SMTPUTF8"].map(String::from));
            }
        }
        ext
    }

    /// The first line of the EHLO reply.
    pub fn ehlo_greeting(self, host: &str, client: std::net::IpAddr) -> String {
        match self {
            Personality::Generic => format!("{host} greets [{client}]"),
            _ => format!("{host} Hello [{client}]"),
        }
    }

    /// The reply to a recipient outside the domains this server accepts.
    pub fn relay_denied(self) -> &'static str {
        match self {
            Personality::Eop => "550 5.7.64 TenantAttribution; Relay Access Denied [mailpath lab]",
            Personality::Generic => "550 5.7.1 Relaying denied",
            _ => "550 5.7.54 SMTP; Unable to relay recipient in non-accepted domain",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exchange_offers_starttls_only_outside_tls() {
        let before = Personality::ExchangeMailbox.extensions(true, false, 1000);
        assert!(before.iter().any(|e| e == "STARTTLS"));
        assert!(before.iter().any(|e| e == "X-ANONYMOUSTLS"));
        let inside = Personality::ExchangeMailbox.extensions(true, true, 1000);
        assert!(!inside.iter().any(|e| e == "STARTTLS" || e == "X-ANONYMOUSTLS"));
        let no_cert = Personality::Eop.extensions(false, false, 1000);
        assert!(!no_cert.iter().any(|e| e == "STARTTLS"));
    }

    #[test]
    fn banners_look_like_microsoft() {
        let now = OffsetDateTime::UNIX_EPOCH;
        let b = Personality::Eop.banner("x.mail.protection.outlook.com", now);
        assert!(b.starts_with(
            "x.mail.protection.outlook.com Microsoft ESMTP MAIL Service ready at Thu, 01 Jan 1970"
        ));
    }
}
