//! RFC 3463 enhanced status codes: the class, subject and detail tables, to explain a code that is not
//! in mailpath's catalogue (and said to be explained this way). Details registered later in the IANA
//! registry are included with their RFC when mailpath's catalogue mentions them.

use serde::{Deserialize, Serialize};

/// An enhanced status code `class.subject.detail` (RFC 3463 section 2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct StatusCode {
    /// 2 success, 4 persistent transient failure, 5 permanent failure.
    pub class: u8,
    /// 0..=7 in RFC 3463 (up to three digits allowed).
    pub subject: u16,
    /// Up to three digits.
    pub detail: u16,
}

impl StatusCode {
    /// A code from its parts.
    pub const fn new(class: u8, subject: u16, detail: u16) -> StatusCode {
        StatusCode {
            class,
            subject,
            detail,
        }
    }

    /// Parse `4.7.320` (exactly three dot-separated numbers, class 2, 4 or 5, at most three digits each).
    pub fn parse(s: &str) -> Option<StatusCode> {
        let mut it = s.split('.');
        let class: u8 = number(it.next()?, 1)?.try_into().ok()?;
        let subject = number(it.next()?, 3)?;
        let detail = number(it.next()?, 3)?;
        if it.next().is_some() || !matches!(class, 2 | 4 | 5) {
            return None;
        }
        Some(StatusCode::new(class, subject, detail))
    }

    /// Whether this is a failure (class 4 or 5).
    pub fn is_failure(self) -> bool {
        self.class >= 4
    }
}

fn number(s: &str, max_digits: usize) -> Option<u16> {
    if s.is_empty() || s.len() > max_digits || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

impl std::fmt::Display for StatusCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}.{}", self.class, self.subject, self.detail)
    }
}

/// What the class says (RFC 3463 section 3.1).
pub fn class_meaning(class: u8) -> &'static str {
    match class {
        2 => "Success: the message was delivered (or the step succeeded)",
        4 => {
            "Persistent transient failure: the sender keeps the message and retries; it may be delivered later"
        }
        5 => {
            "Permanent failure: the sender gives up and bounces the message; sending it again as is will fail"
        }
        _ => "Not a class RFC 3463 defines",
    }
}

/// What the subject says (RFC 3463 section 3.2).
pub fn subject_meaning(subject: u16) -> &'static str {
    match subject {
        0 => "Other or undefined status",
        1 => "Addressing status (the sender or recipient address)",
        2 => "Mailbox status (the recipient's mailbox)",
        3 => "Mail system status (the receiving system)",
        4 => "Network and routing status (DNS, connections, routing)",
        5 => "Mail delivery protocol status (the SMTP dialogue)",
        6 => "Message content or media status",
        7 => "Security or policy status (TLS, authentication, relaying, reputation)",
        _ => "A subject RFC 3463 does not define",
    }
}

/// The detail of `subject.detail` from RFC 3463 section 3 (and the few later registrations mailpath
/// names with their RFC), or `None` for a detail no RFC mailpath knows defines: then only the class and
/// subject explain it.
pub fn detail_meaning(subject: u16, detail: u16) -> Option<&'static str> {
    Some(match (subject, detail) {
        (0, 0) => "Other undefined status",
        (1, 0) => "Other address status",
        (1, 1) => "Bad destination mailbox address",
        (1, 2) => "Bad destination system address",
        (1, 3) => "Bad destination mailbox address syntax",
        (1, 4) => "Destination mailbox address ambiguous",
        (1, 5) => "Destination address valid",
        (1, 6) => "Destination mailbox has moved, no forwarding address",
        (1, 7) => "Bad sender's mailbox address syntax",
        (1, 8) => "Bad sender's system address",
        (1, 10) => "Recipient address has null MX (RFC 7505)",
        (2, 0) => "Other or undefined mailbox status",
        (2, 1) => "Mailbox disabled, not accepting messages",
        (2, 2) => "Mailbox full",
        (2, 3) => "Message length exceeds administrative limit",
        (2, 4) => "Mailing list expansion problem",
        (3, 0) => "Other or undefined mail system status",
        (3, 1) => "Mail system full",
        (3, 2) => "System not accepting network messages",
        (3, 3) => "System not capable of selected features",
        (3, 4) => "Message too big for system",
        (3, 5) => "System incorrectly configured",
        (4, 0) => "Other or undefined network or routing status",
        (4, 1) => "No answer from host",
        (4, 2) => "Bad connection",
        (4, 3) => "Directory server failure",
        (4, 4) => "Unable to route",
        (4, 5) => "Mail system congestion",
        (4, 6) => "Routing loop detected",
        (4, 7) => "Delivery time expired",
        (5, 0) => "Other or undefined protocol status",
        (5, 1) => "Invalid command",
        (5, 2) => "Syntax error",
        (5, 3) => "Too many recipients",
        (5, 4) => "Invalid command arguments",
        (5, 5) => "Wrong protocol version",
        (6, 0) => "Other or undefined media error",
        (6, 1) => "Media not supported",
        (6, 2) => "Conversion required and prohibited",
        (6, 3) => "Conversion required but not supported",
        (6, 4) => "Conversion with loss performed",
        (6, 5) => "Conversion failed",
        (7, 0) => "Other or undefined security status",
        (7, 1) => "Delivery not authorized, message refused",
        (7, 2) => "Mailing list expansion prohibited",
        (7, 3) => "Security conversion required but not possible",
        (7, 4) => "Security features not supported",
        (7, 5) => "Cryptographic failure",
        (7, 6) => "Cryptographic algorithm not supported",
        (7, 7) => "Message integrity failure",
        (7, 8) => "Authentication credentials invalid (RFC 4954)",
        (7, 23) => "SPF validation failed (RFC 7372)",
        (7, 24) => "SPF validation error (RFC 7372)",
        (7, 25) => "Reverse DNS validation failed (RFC 7372)",
        (7, 26) => "Multiple authentication checks failed (RFC 7372)",
        (7, 27) => "Sender address has null MX (RFC 7505)",
        _ => return None,
    })
}

/// What the basic reply code says (RFC 5321 section 4.2): its first digit, and the few replies that
/// matter when mail fails.
pub fn reply_meaning(code: u16) -> &'static str {
    match code {
        421 => "Service not available, closing transmission channel (the server refuses to continue now)",
        450 => "Requested mail action not taken: mailbox unavailable (temporary)",
        451 => "Requested action aborted: local error in processing (temporary)",
        452 => "Requested action not taken: insufficient system storage (temporary)",
        454 => "TLS not available due to temporary reason (RFC 3207), or another temporary refusal",
        500 => "Syntax error, command unrecognized",
        501 => "Syntax error in parameters or arguments",
        502 => "Command not implemented",
        503 => "Bad sequence of commands",
        530 => "Must issue a STARTTLS command first, or authentication required",
        535 => "Authentication credentials invalid",
        550 => "Requested action not taken: mailbox unavailable, or refused by policy",
        551 => "User not local",
        552 => "Requested mail action aborted: exceeded storage allocation (message too big)",
        553 => "Requested action not taken: mailbox name not allowed",
        554 => "Transaction failed (or no SMTP service here)",
        200..=399 => "A positive reply: the step succeeded",
        400..=420 | 422..=449 | 453 | 455..=499 => "A transient negative reply: the sender retries later",
        504..=529 | 531..=534 | 536..=549 | 555..=599 => "A permanent negative reply: the sender gives up",
        _ => "Not an SMTP reply code",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_parse_within_rfc_3463_bounds() {
        assert_eq!(StatusCode::parse("4.7.320"), Some(StatusCode::new(4, 7, 320)));
        assert_eq!(
            StatusCode::parse("5.7.64").map(|c| c.to_string()),
            Some("5.7.64".into())
        );
        for bad in [
            "1.2.3", "4.7", "4.7.3201", "4.7.x", "4..1", "45.1.1", "4.1.1.1", "",
        ] {
            assert_eq!(StatusCode::parse(bad), None, "{bad}");
        }
        assert!(StatusCode::new(4, 4, 7).is_failure() && !StatusCode::new(2, 0, 0).is_failure());
    }

    #[test]
    fn every_rfc_3463_subject_has_its_detail_zero() {
        for subject in 0..=7 {
            assert!(detail_meaning(subject, 0).is_some(), "{subject}");
            assert!(!subject_meaning(subject).starts_with("A subject"));
        }
        assert_eq!(detail_meaning(4, 7), Some("Delivery time expired"));
        assert_eq!(detail_meaning(7, 320), None);
    }
}
