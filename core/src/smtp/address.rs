//! Envelope addresses and the MAIL/RCPT command lines (RFC 5321 4.1.1.2-3, 4.1.2 and 4.5.3.1, with
//! RFC 6531's UTF-8): sans-IO, bounded, parsed once.
//!
//! A path is `<` [source route `:`] Mailbox `>`, Mailbox = Local-part `@` Domain; the local part is a
//! dot-string or a quoted-string, the domain a host name or an address literal. The parsed
//! [`Mailbox`] is both what the relay judges (its domain is the one after the last unquoted `@`) and
//! what it forwards: its `Display` writes the local part back quoted exactly when RFC 5321 requires it
//! (when it is not a dot-string), so what a client put inside quotes stays inside quotes.
//!
//! Stricter than RFC 5321 where nothing legitimate is lost and an injection is closed: `<`, `>` and
//! control characters are refused even inside quotes; a domain may not end with a dot; address
//! literals are IPv4 or `IPv6:` only; an internationalized domain must be in IDNA2008 normal form (a
//! full-width or otherwise mapped look-alike is refused, not folded into the name it imitates) and
//! is kept as its A-label. [`Mailbox::routing`] tells sender-specified routing (`user%host@domain`,
//! `host!user@domain`, `"user@host"@domain`) apart, for the relay to refuse as Postfix's
//! `reject_unauth_destination` does with `allow_untrusted_routing = no`.
//!
//! smtp-proto's own address parser is not used for MAIL and RCPT: it drops the quotes, unescapes
//! and removes source routes, so the string it returns is not the address the client wrote.

use std::fmt;
use std::net::{Ipv4Addr, Ipv6Addr};

/// Longest local part, in octets as written (RFC 5321 4.5.3.1.1).
pub const MAX_LOCAL_PART: usize = 64;
/// Longest domain, in octets (RFC 5321 4.5.3.1.2).
pub const MAX_DOMAIN: usize = 255;
/// Longest path, angle brackets included (RFC 5321 4.5.3.1.3).
pub const MAX_PATH: usize = 256;
/// Most ESMTP parameters on one MAIL or RCPT line.
pub const MAX_PARAMS: usize = 16;

/// Why an address does not parse. The texts never quote the input (it is hostile).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AddressError {
    /// No `<`.
    #[error("the path must be enclosed in '<' and '>'")]
    NoOpen,
    /// No `>` after the address.
    #[error("no '>' at the end of the path")]
    NoClose,
    /// Over [`MAX_PATH`].
    #[error("the path is longer than 256 octets")]
    PathTooLong,
    /// Over [`MAX_LOCAL_PART`].
    #[error("the local part is longer than 64 octets")]
    LocalTooLong,
    /// Nothing before the `@`.
    #[error("the local part is empty")]
    EmptyLocal,
    /// A quoted local part without its closing quote, or a quote inside an unquoted one.
    #[error("unbalanced quotes in the local part")]
    UnbalancedQuote,
    /// A character the local part may not hold.
    #[error("{0} in the local part")]
    Forbidden(&'static str),
    /// A dot at either end of a dot-string, or two in a row.
    #[error("a dot at the start or end of the local part, or two dots in a row")]
    BadDots,
    /// No `@` and domain.
    #[error("no '@' and domain")]
    NoDomain,
    /// More than one unquoted `@`.
    #[error("more than one unquoted '@' (sender-specified routing)")]
    ExtraAt,
    /// The domain is not a host name.
    #[error("the domain {0}")]
    BadDomain(&'static str),
    /// An address literal that is neither IPv4 nor `IPv6:`.
    #[error("the address literal is not [IPv4] or [IPv6:...]")]
    BadLiteral,
    /// A source route (`@a,@b:`) that does not parse.
    #[error("the source route does not parse")]
    BadRoute,
    /// Bytes that are not UTF-8.
    #[error("the address is not UTF-8")]
    NotUtf8,
}

/// The domain of a mailbox.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Domain {
    /// A host name: ASCII as written (letters, digits, hyphens), or the A-label form of an
    /// internationalized name.
    Name(String),
    /// `[192.0.2.1]`.
    Ipv4(Ipv4Addr),
    /// `[IPv6:2001:db8::1]`.
    Ipv6(Ipv6Addr),
}

impl Domain {
    /// Parse a domain as it follows the `@` (no trailing dot).
    ///
    /// # Errors
    /// When it is not a host name or a supported address literal.
    pub fn parse(text: &str) -> Result<Domain, AddressError> {
        if text.is_empty() {
            return Err(AddressError::NoDomain);
        }
        if text.len() > MAX_DOMAIN {
            return Err(AddressError::BadDomain("is longer than 255 octets"));
        }
        if let Some(inner) = text.strip_prefix('[') {
            let inner = inner.strip_suffix(']').ok_or(AddressError::BadLiteral)?;
            if let Some(v6) = inner.get(..5).filter(|tag| tag.eq_ignore_ascii_case("IPv6:")) {
                let addr = inner[v6.len()..].parse().map_err(|_| AddressError::BadLiteral)?;
                return Ok(Domain::Ipv6(addr));
            }
            return inner
                .parse()
                .map(Domain::Ipv4)
                .map_err(|_| AddressError::BadLiteral);
        }
        if text.contains('@') {
            return Err(AddressError::ExtraAt);
        }
        if text.ends_with('.') {
            return Err(AddressError::BadDomain("ends with a dot"));
        }
        if text.chars().any(char::is_control) {
            return Err(AddressError::BadDomain("holds a control character"));
        }
        if !text.is_ascii() {
            // RFC 6531: U-labels are allowed; keep the A-label form, and only for a name already in
            // normal form (what a mapping would turn into another name is a look-alike).
            let ascii = idna::domain_to_ascii_strict(text)
                .map_err(|_| AddressError::BadDomain("is not a valid internationalized name"))?;
            let (unicode, result) = idna::domain_to_unicode(&ascii);
            if result.is_err() || unicode != text.to_lowercase() {
                return Err(AddressError::BadDomain(
                    "is not in IDNA2008 normal form (a look-alike of another name)",
                ));
            }
            return Ok(Domain::Name(ascii));
        }
        for label in text.split('.') {
            check_label(label)?;
        }
        if text
            .split('.')
            .any(|l| l.get(..4).is_some_and(|p| p.eq_ignore_ascii_case("xn--")))
        {
            let ascii = idna::domain_to_ascii_strict(text)
                .map_err(|_| AddressError::BadDomain("has an A-label that does not decode"))?;
            if !ascii.eq_ignore_ascii_case(text) {
                return Err(AddressError::BadDomain("has an A-label that does not decode"));
            }
        }
        Ok(Domain::Name(text.to_string()))
    }

    /// The form domains are compared by: lower-case ASCII (`[192.0.2.1]`, `[ipv6:2001:db8::1]` for
    /// literals).
    pub fn key(&self) -> String {
        match self {
            Domain::Name(name) => name.to_ascii_lowercase(),
            other => other.to_string().to_ascii_lowercase(),
        }
    }

    /// Whether this is `configured` (a domain from the configuration: case and one trailing dot do not
    /// matter, a U-label matches its A-label).
    pub fn matches(&self, configured: &str) -> bool {
        let configured = configured.strip_suffix('.').unwrap_or(configured);
        Domain::parse(configured).is_ok_and(|d| d.key() == self.key())
    }
}

impl fmt::Display for Domain {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Domain::Name(name) => f.write_str(name),
            Domain::Ipv4(addr) => write!(f, "[{addr}]"),
            Domain::Ipv6(addr) => write!(f, "[IPv6:{addr}]"),
        }
    }
}

/// One label of an ASCII host name: letters, digits and hyphens, 1 to 63 of them, a letter or digit
/// at either end (RFC 5321 sub-domain).
fn check_label(label: &str) -> Result<(), AddressError> {
    if label.is_empty() {
        return Err(AddressError::BadDomain("has an empty label"));
    }
    if label.len() > 63 {
        return Err(AddressError::BadDomain("has a label longer than 63 octets"));
    }
    if !label.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') {
        return Err(AddressError::BadDomain(
            "has a character other than letters, digits, '-' and '.'",
        ));
    }
    if label.starts_with('-') || label.ends_with('-') {
        return Err(AddressError::BadDomain(
            "has a label that starts or ends with '-'",
        ));
    }
    Ok(())
}

/// `atext` (RFC 5322 3.2.3), plus RFC 6531's non-ASCII characters.
fn is_atext(c: char) -> bool {
    c.is_ascii_alphanumeric() || "!#$%&'*+-/=?^_`{|}~".contains(c) || (!c.is_ascii() && !c.is_control())
}

/// Whether `local` can be written as a dot-string (else it must be quoted).
fn is_dot_string(local: &str) -> bool {
    !local.is_empty()
        && local
            .split('.')
            .all(|atom| !atom.is_empty() && atom.chars().all(is_atext))
}

/// Why a character cannot be in a local part, quoted or not (`None`: it can, at least quoted).
fn forbidden(c: char) -> Option<&'static str> {
    match c {
        '<' => Some("'<'"),
        '>' => Some("'>'"),
        c if c.is_control() => Some("a control character"),
        _ => None,
    }
}

/// Sender-specified routing: an address that asks the receiver to route on to another host.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Routing {
    /// `@a,@b:user@domain`.
    SourceRoute,
    /// `"user@elsewhere"@domain`.
    At,
    /// `user%elsewhere@domain` (the percent hack).
    Percent,
    /// `elsewhere!user@domain` (a UUCP bang path).
    Bang,
}

impl Routing {
    /// What it is, for a reply.
    pub fn describe(self) -> &'static str {
        match self {
            Routing::SourceRoute => "a source route (@host,...:)",
            Routing::At => "an '@' in the local part",
            Routing::Percent => "a '%' in the local part (the percent hack)",
            Routing::Bang => "a '!' in the local part (a bang path)",
        }
    }
}

/// `Local-part@Domain`. The local part is kept as its content (quotes removed, quoted pairs
/// resolved); `Display` writes it back quoted when it is not a dot-string.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Mailbox {
    local: String,
    domain: Domain,
}

impl Mailbox {
    /// A mailbox from its parts.
    ///
    /// # Errors
    /// When the local part is empty, holds `<`, `>` or a control character, or is too long as
    /// written.
    pub fn new(local: impl Into<String>, domain: Domain) -> Result<Mailbox, AddressError> {
        let mailbox = Mailbox {
            local: local.into(),
            domain,
        };
        if mailbox.local.is_empty() {
            return Err(AddressError::EmptyLocal);
        }
        if let Some(why) = mailbox.local.chars().find_map(forbidden) {
            return Err(AddressError::Forbidden(why));
        }
        if mailbox.written_local().len() > MAX_LOCAL_PART {
            return Err(AddressError::LocalTooLong);
        }
        Ok(mailbox)
    }

    /// Parse a whole address written without angle brackets (`user@contoso.com`,
    /// `"john smith"@contoso.com`), as the relay stores them.
    ///
    /// # Errors
    /// When it does not parse, or something follows it.
    pub fn parse(text: &str) -> Result<Mailbox, AddressError> {
        let (mailbox, rest) = parse_mailbox(text)?;
        match mailbox {
            Parsed::Mailbox(m) if rest.is_empty() => Ok(m),
            Parsed::Mailbox(_) => Err(AddressError::Forbidden("text after the domain")),
            Parsed::Postmaster => Err(AddressError::NoDomain),
        }
    }

    /// The local part's content (unquoted).
    pub fn local_part(&self) -> &str {
        &self.local
    }

    /// The domain.
    pub fn domain(&self) -> &Domain {
        &self.domain
    }

    /// Whether the domain is one of `domains`.
    pub fn in_domains(&self, domains: &[String]) -> bool {
        domains.iter().any(|d| self.domain.matches(d))
    }

    /// The sender-specified routing in the local part, if any.
    pub fn routing(&self) -> Option<Routing> {
        if self.local.contains('@') {
            Some(Routing::At)
        } else if self.local.contains('%') {
            Some(Routing::Percent)
        } else if self.local.contains('!') {
            Some(Routing::Bang)
        } else {
            None
        }
    }

    /// Whether `other` is the same mailbox for delivery: domains compared as [`Domain::key`], local
    /// parts without regard to ASCII case (Exchange resolves recipients case-insensitively).
    pub fn same_recipient(&self, other: &Mailbox) -> bool {
        self.domain.key() == other.domain.key() && self.local.eq_ignore_ascii_case(&other.local)
    }

    fn written_local(&self) -> String {
        if is_dot_string(&self.local) {
            return self.local.clone();
        }
        let mut out = String::with_capacity(self.local.len() + 2);
        out.push('"');
        for c in self.local.chars() {
            if c == '"' || c == '\\' {
                out.push('\\');
            }
            out.push(c);
        }
        out.push('"');
        out
    }
}

impl fmt::Display for Mailbox {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}@{}", self.written_local(), self.domain)
    }
}

impl std::str::FromStr for Mailbox {
    type Err = AddressError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Mailbox::parse(s)
    }
}

/// A reverse-path or forward-path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Path {
    /// `<>`: the null reverse-path (bounces).
    Null,
    /// `<Postmaster>` without a domain (a recipient only, RFC 5321 4.5.1).
    Postmaster,
    /// A mailbox.
    Mailbox {
        /// The mailbox.
        mailbox: Mailbox,
        /// Whether a source route (`@a,@b:`) preceded it.
        source_route: bool,
    },
}

enum Parsed {
    Mailbox(Mailbox),
    Postmaster,
}

/// Parse `Local-part "@" Domain` at the start of `text`; the domain ends at the first `>` or at the
/// end of `text`. Returns what follows.
fn parse_mailbox(text: &str) -> Result<(Parsed, &str), AddressError> {
    let (local, written, rest) = if let Some(quoted) = text.strip_prefix('"') {
        let mut local = String::new();
        let mut chars = quoted.char_indices();
        let end = loop {
            let Some((i, c)) = chars.next() else {
                return Err(AddressError::UnbalancedQuote);
            };
            match c {
                '"' => break i + 1,
                '\\' => {
                    let Some((_, escaped)) = chars.next() else {
                        return Err(AddressError::UnbalancedQuote);
                    };
                    if let Some(why) = forbidden(escaped) {
                        return Err(AddressError::Forbidden(why));
                    }
                    if !(' '..='~').contains(&escaped) {
                        return Err(AddressError::Forbidden(
                            "a quoted pair that is not printable ASCII",
                        ));
                    }
                    local.push(escaped);
                }
                c => {
                    if let Some(why) = forbidden(c) {
                        return Err(AddressError::Forbidden(why));
                    }
                    local.push(c);
                }
            }
        };
        (local, end + 1, &quoted[end..])
    } else {
        let end = text
            .find(|c: char| !(is_atext(c) || c == '.'))
            .unwrap_or(text.len());
        let local = &text[..end];
        match text[end..].chars().next() {
            Some('@') | Some('>') | None => {}
            Some('"') => return Err(AddressError::UnbalancedQuote),
            Some(c) => {
                return Err(AddressError::Forbidden(forbidden(c).unwrap_or(match c {
                    ' ' => "a space outside quotes",
                    '\\' => "a '\\' outside quotes",
                    _ => "a character outside quotes that needs them",
                })));
            }
        }
        if !local.is_empty() && !is_dot_string(local) {
            return Err(AddressError::BadDots);
        }
        (local.to_string(), end, &text[end..])
    };
    if written > MAX_LOCAL_PART {
        return Err(AddressError::LocalTooLong);
    }
    let Some(after_at) = rest.strip_prefix('@') else {
        let quoted = text.starts_with('"');
        return match rest.chars().next() {
            Some('>') | None if !quoted && local.eq_ignore_ascii_case("postmaster") => {
                Ok((Parsed::Postmaster, rest))
            }
            Some('>') | None if local.is_empty() => Err(AddressError::EmptyLocal),
            Some('>') | None => Err(AddressError::NoDomain),
            Some(_) => Err(AddressError::Forbidden("a character after the closing quote")),
        };
    };
    if local.is_empty() {
        return Err(AddressError::EmptyLocal);
    }
    let end = after_at.find('>').unwrap_or(after_at.len());
    let domain = Domain::parse(&after_at[..end])?;
    let mailbox = Mailbox::new(local, domain)?;
    Ok((Parsed::Mailbox(mailbox), &after_at[end..]))
}

/// Parse a path at the start of `text` (which starts with `<`); returns it and what follows the `>`.
///
/// # Errors
/// When the path does not parse (see [`AddressError`]).
pub fn parse_path(text: &str) -> Result<(Path, &str), AddressError> {
    let inner = text.strip_prefix('<').ok_or(AddressError::NoOpen)?;
    if let Some(rest) = inner.strip_prefix('>') {
        return Ok((Path::Null, rest));
    }
    // Bound the work before looking closer: a path is at most 256 octets, brackets included.
    let window = &inner[..floor_char_boundary(inner, MAX_PATH)];
    let mut body = window;
    let mut source_route = false;
    if body.starts_with('@') {
        let colon = body.find(':').ok_or(AddressError::BadRoute)?;
        for hop in body[..colon].split(',') {
            let hop = hop.strip_prefix('@').ok_or(AddressError::BadRoute)?;
            Domain::parse(hop).map_err(|_| AddressError::BadRoute)?;
        }
        source_route = true;
        body = &body[colon + 1..];
    }
    let (parsed, rest) = parse_mailbox(body)?;
    if !rest.starts_with('>') {
        let cut = window.len() < inner.len();
        return Err(if cut && rest.is_empty() {
            AddressError::PathTooLong
        } else {
            AddressError::NoClose
        });
    }
    // `rest` ends where `window` ends: the `>` is at this offset of `inner`.
    let close = window.len() - rest.len();
    if close + 2 > MAX_PATH {
        return Err(AddressError::PathTooLong);
    }
    let rest = &inner[close + 1..];
    let path = match parsed {
        Parsed::Postmaster if source_route => return Err(AddressError::NoDomain),
        Parsed::Postmaster => Path::Postmaster,
        Parsed::Mailbox(mailbox) => Path::Mailbox {
            mailbox,
            source_route,
        },
    };
    Ok((path, rest))
}

/// The largest char boundary of `s` at or below `at`.
fn floor_char_boundary(s: &str, at: usize) -> usize {
    let mut at = at.min(s.len());
    while !s.is_char_boundary(at) {
        at -= 1;
    }
    at
}

/// MAIL or RCPT.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verb {
    /// `MAIL FROM:`.
    Mail,
    /// `RCPT TO:`.
    Rcpt,
}

/// A parsed MAIL or RCPT command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EnvelopeCommand {
    /// `MAIL FROM:<reverse-path> [parameters]`.
    Mail {
        /// The reverse-path ([`Path::Null`] or a mailbox; never [`Path::Postmaster`]).
        path: Path,
        /// The `SIZE=` declared, saturated at `u64::MAX` when it does not fit (RFC 1870: too large).
        size: Option<u64>,
        /// `SMTPUTF8` was given (RFC 6531 3.4): the transaction may use non-ASCII addresses.
        smtputf8: bool,
    },
    /// `RCPT TO:<forward-path> [parameters]`.
    Rcpt {
        /// The forward-path (never [`Path::Null`]).
        path: Path,
    },
}

/// Why a MAIL or RCPT line is refused; [`CommandError::reply`] is the SMTP reply.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CommandError {
    /// Not `MAIL FROM:<...>` / `RCPT TO:<...>`.
    #[error("syntax error")]
    Syntax(Verb),
    /// The address does not parse.
    #[error("{1}")]
    Address(Verb, AddressError),
    /// A known parameter with a bad value (or twice).
    #[error("invalid parameter {0}")]
    BadParameter(String),
    /// A parameter this server does not know.
    #[error("parameter {0} not recognized")]
    UnknownParameter(String),
    /// More than [`MAX_PARAMS`] parameters.
    #[error("too many parameters")]
    TooManyParameters,
}

impl CommandError {
    /// The SMTP reply: `501 5.5.4` for syntax, `501 5.1.7` / `501 5.1.3` for a bad sender / recipient
    /// address (RFC 3463), `555 5.5.4` for an unknown parameter (RFC 5321 4.1.1.11).
    pub fn reply(&self) -> String {
        match self {
            CommandError::Syntax(Verb::Mail) => {
                "501 5.5.4 Syntax: MAIL FROM:<reverse-path> [parameters]".into()
            }
            CommandError::Syntax(Verb::Rcpt) => {
                "501 5.5.4 Syntax: RCPT TO:<forward-path> [parameters]".into()
            }
            CommandError::Address(Verb::Mail, e) => format!("501 5.1.7 Bad sender address syntax: {e}"),
            CommandError::Address(Verb::Rcpt, e) => format!("501 5.1.3 Bad recipient address syntax: {e}"),
            CommandError::BadParameter(p) => format!("501 5.5.4 Invalid parameter {p}"),
            CommandError::UnknownParameter(p) => {
                format!("555 5.5.4 {p} parameter not recognized or not implemented")
            }
            CommandError::TooManyParameters => "501 5.5.4 Too many parameters".into(),
        }
    }
}

/// Whether a command line is MAIL or RCPT (its first word, any case, leading blanks skipped).
pub fn envelope_verb(line: &[u8]) -> Option<Verb> {
    let start = line.iter().position(|&b| b != b' ' && b != b'\t')?;
    let word = line.get(start..start + 4)?;
    let verb = if word.eq_ignore_ascii_case(b"MAIL") {
        Verb::Mail
    } else if word.eq_ignore_ascii_case(b"RCPT") {
        Verb::Rcpt
    } else {
        return None;
    };
    match line.get(start + 4) {
        None | Some(b' ' | b'\t' | b'\r' | b'\n') => Some(verb),
        Some(_) => None,
    }
}

/// Parse a MAIL or RCPT command line (with or without its line end); `None` when the line is
/// another command.
pub fn parse_command(line: &[u8]) -> Option<Result<EnvelopeCommand, CommandError>> {
    let verb = envelope_verb(line)?;
    Some(parse_envelope(verb, line))
}

fn parse_envelope(verb: Verb, line: &[u8]) -> Result<EnvelopeCommand, CommandError> {
    let line = line.strip_suffix(b"\n").unwrap_or(line);
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    let text = std::str::from_utf8(line).map_err(|_| CommandError::Address(verb, AddressError::NotUtf8))?;
    let syntax = CommandError::Syntax(verb);
    let text = text.trim_start_matches([' ', '\t']);
    let rest = text
        .get(4..)
        .ok_or(syntax.clone())?
        .trim_start_matches([' ', '\t']);
    let keyword = match verb {
        Verb::Mail => "FROM",
        Verb::Rcpt => "TO",
    };
    if !rest
        .get(..keyword.len())
        .is_some_and(|k| k.eq_ignore_ascii_case(keyword))
    {
        return Err(syntax);
    }
    let rest = rest[keyword.len()..].trim_start_matches(' ');
    let rest = rest
        .strip_prefix(':')
        .ok_or(syntax.clone())?
        .trim_start_matches(' ');
    if !rest.starts_with('<') {
        return Err(syntax);
    }
    let (path, params) = parse_path(rest).map_err(|e| CommandError::Address(verb, e))?;
    if !params.is_empty() && !params.starts_with(' ') {
        return Err(CommandError::Address(
            verb,
            AddressError::Forbidden("text after '>'"),
        ));
    }
    let mut seen: Vec<String> = Vec::new();
    let mut size = None;
    for param in params.split(' ').filter(|p| !p.is_empty()) {
        if seen.len() >= MAX_PARAMS {
            return Err(CommandError::TooManyParameters);
        }
        let (key, value) = match param.split_once('=') {
            Some((k, v)) => (k, Some(v)),
            None => (param, None),
        };
        let key_ok = key.bytes().next().is_some_and(|b| b.is_ascii_alphanumeric())
            && key.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
            && key.len() <= 32;
        if !key_ok {
            return Err(syntax);
        }
        let key = key.to_ascii_uppercase();
        if seen.contains(&key) {
            return Err(CommandError::BadParameter(key));
        }
        let value_ok = value.is_none_or(|v| {
            !v.is_empty()
                && v.chars()
                    .all(|c| c != '=' && (('!'..='~').contains(&c) || (!c.is_ascii() && !c.is_control())))
        });
        if !value_ok {
            return Err(CommandError::BadParameter(key));
        }
        let bad = || CommandError::BadParameter(key.clone());
        match (verb, key.as_str(), value) {
            (Verb::Mail, "SIZE", Some(v)) => {
                if !v.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(bad());
                }
                // RFC 1870: a size that does not fit is larger than any limit.
                size = Some(
                    v.bytes()
                        .try_fold(0u64, |n, d| {
                            n.checked_mul(10).and_then(|n| n.checked_add(u64::from(d - b'0')))
                        })
                        .unwrap_or(u64::MAX),
                );
            }
            (Verb::Mail, "BODY", Some(v))
                if ["7BIT", "8BITMIME", "BINARYMIME"]
                    .iter()
                    .any(|b| v.eq_ignore_ascii_case(b)) => {}
            (Verb::Mail, "RET", Some(v))
                if v.eq_ignore_ascii_case("FULL") || v.eq_ignore_ascii_case("HDRS") => {}
            (Verb::Mail, "SMTPUTF8", None)
            | (Verb::Mail, "ENVID" | "AUTH", Some(_))
            | (Verb::Rcpt, "NOTIFY" | "ORCPT", Some(_)) => {}
            (Verb::Mail, "SIZE" | "BODY" | "RET" | "SMTPUTF8" | "ENVID" | "AUTH", _)
            | (Verb::Rcpt, "NOTIFY" | "ORCPT", _) => return Err(bad()),
            _ => return Err(CommandError::UnknownParameter(key)),
        }
        seen.push(key);
    }
    match (verb, path) {
        (Verb::Mail, Path::Postmaster) => Err(CommandError::Address(verb, AddressError::NoDomain)),
        (Verb::Mail, path) => Ok(EnvelopeCommand::Mail {
            path,
            size,
            smtputf8: seen.iter().any(|k| k == "SMTPUTF8"),
        }),
        (Verb::Rcpt, Path::Null) => Err(CommandError::Address(verb, AddressError::EmptyLocal)),
        (Verb::Rcpt, path) => Ok(EnvelopeCommand::Rcpt { path }),
    }
}

#[cfg(test)]
mod tests;
