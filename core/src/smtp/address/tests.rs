#![allow(clippy::unwrap_used)]

use proptest::prelude::*;

use super::*;

fn path(text: &str) -> Result<Path, AddressError> {
    let (path, rest) = parse_path(text)?;
    assert_eq!(rest, "", "{text}");
    Ok(path)
}

fn mailbox(text: &str) -> Mailbox {
    match path(text) {
        Ok(Path::Mailbox { mailbox, .. }) => mailbox,
        other => panic!("{text}: {other:?}"),
    }
}

fn rcpt(line: &str) -> Result<EnvelopeCommand, CommandError> {
    parse_command(line.as_bytes()).expect("a RCPT line")
}

fn mail(line: &str) -> Result<EnvelopeCommand, CommandError> {
    parse_command(line.as_bytes()).expect("a MAIL line")
}

#[test]
fn dot_strings_and_quoted_strings() {
    let m = mailbox("<megan@contoso.com>");
    assert_eq!(
        (m.local_part(), m.to_string().as_str()),
        ("megan", "megan@contoso.com")
    );
    // Quotes that are not needed are dropped; needed ones are kept, with `"` and `\` escaped.
    assert_eq!(
        mailbox("<\"megan\"@contoso.com>").to_string(),
        "megan@contoso.com"
    );
    assert_eq!(
        mailbox("<\"megan smith\"@contoso.com>").to_string(),
        "\"megan smith\"@contoso.com"
    );
    let escaped = mailbox(r#"<"a\"b\\c"@contoso.com>"#);
    assert_eq!(escaped.local_part(), r#"a"b\c"#);
    assert_eq!(escaped.to_string(), r#""a\"b\\c"@contoso.com"#);
    assert_eq!(mailbox(r#"<"\m"@contoso.com>"#).to_string(), "m@contoso.com");
    assert_eq!(
        mailbox("<\"a..b\"@contoso.com>").to_string(),
        "\"a..b\"@contoso.com"
    );
    assert_eq!(
        mailbox("<first.last+tag@contoso.com>").to_string(),
        "first.last+tag@contoso.com"
    );
    assert_eq!(mailbox("<mégan@contoso.com>").to_string(), "mégan@contoso.com");
    assert_eq!(path("<>").unwrap(), Path::Null);
    assert_eq!(path("<Postmaster>").unwrap(), Path::Postmaster);
    assert_eq!(path("<postMASTER>").unwrap(), Path::Postmaster);
    assert!(matches!(path("<\"Postmaster\">"), Err(AddressError::NoDomain)));
}

#[test]
fn the_judged_domain_is_after_the_last_unquoted_at() {
    // The issue's injection: the quotes hide `>` and a parameter; it is refused, not unquoted.
    assert_eq!(
        path("<\"victim@evil.example> ORCPT=rfc822;x\"@contoso.com>"),
        Err(AddressError::Forbidden("'>'"))
    );
    let routed = mailbox("<\"user@evil.com\"@contoso.com>");
    assert_eq!(routed.domain(), &Domain::Name("contoso.com".into()));
    assert_eq!(routed.routing(), Some(Routing::At));
    assert_eq!(routed.to_string(), "\"user@evil.com\"@contoso.com");
    assert_eq!(
        mailbox("<user%evil.com@contoso.com>").routing(),
        Some(Routing::Percent)
    );
    assert_eq!(
        mailbox("<evil.com!user@contoso.com>").routing(),
        Some(Routing::Bang)
    );
    assert_eq!(mailbox("<megan@contoso.com>").routing(), None);
    assert_eq!(path("<user@evil.com@contoso.com>"), Err(AddressError::ExtraAt));
    match path("<@relay.example,@contoso.com:victim@evil.example>").unwrap() {
        Path::Mailbox {
            mailbox,
            source_route,
        } => {
            assert!(source_route);
            assert_eq!(mailbox.to_string(), "victim@evil.example");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(path("<@:a@b>"), Err(AddressError::BadRoute));
    assert_eq!(path("<@a.example;b@c>"), Err(AddressError::BadRoute));
}

#[test]
fn hostile_local_parts_are_refused() {
    for (text, error) in [
        // The `>` that was meant to close the path is inside the quotes.
        ("<\"megan@contoso.com>", AddressError::Forbidden("'>'")),
        ("<\"megan@contoso.com", AddressError::UnbalancedQuote),
        ("<meg\"an@contoso.com>", AddressError::UnbalancedQuote),
        ("<\"a\\", AddressError::UnbalancedQuote),
        ("<\"a>b\"@contoso.com>", AddressError::Forbidden("'>'")),
        ("<\"a<b\"@contoso.com>", AddressError::Forbidden("'<'")),
        ("<\"a\\>b\"@contoso.com>", AddressError::Forbidden("'>'")),
        (
            "<meg\u{1}an@contoso.com>",
            AddressError::Forbidden("a control character"),
        ),
        (
            "<\"meg\ran\"@contoso.com>",
            AddressError::Forbidden("a control character"),
        ),
        (
            "<\"meg\u{85}an\"@contoso.com>",
            AddressError::Forbidden("a control character"),
        ),
        (
            "<meg an@contoso.com>",
            AddressError::Forbidden("a space outside quotes"),
        ),
        (
            "<meg\\an@contoso.com>",
            AddressError::Forbidden("a '\\' outside quotes"),
        ),
        (
            "<\"a\"b@contoso.com>",
            AddressError::Forbidden("a character after the closing quote"),
        ),
        ("<.megan@contoso.com>", AddressError::BadDots),
        ("<megan.@contoso.com>", AddressError::BadDots),
        ("<me..gan@contoso.com>", AddressError::BadDots),
        ("<\"\"@contoso.com>", AddressError::EmptyLocal),
        ("<megan>", AddressError::NoDomain),
        ("<megan@contoso.com", AddressError::NoClose),
        ("megan@contoso.com", AddressError::NoOpen),
        ("<<megan@contoso.com>>", AddressError::Forbidden("'<'")),
    ] {
        assert_eq!(path(text), Err(error), "{text:?}");
    }
    let long = format!("<{}@contoso.com>", "a".repeat(65));
    assert_eq!(path(&long), Err(AddressError::LocalTooLong));
    let quoted_long = format!("<\"{}\"@contoso.com>", "a b".repeat(21));
    assert_eq!(path(&quoted_long), Err(AddressError::LocalTooLong));
    let label = "a".repeat(60);
    let long_path = format!("<megan@{label}.{label}.{label}.{label}.{label}.com>");
    assert_eq!(path(&long_path), Err(AddressError::PathTooLong));
    let endless = format!("<megan@{}", "a.".repeat(10_000));
    assert!(path(&endless).is_err());
}

#[test]
fn domains_names_literals_and_idn() {
    for bad in [
        "contoso.com.",
        "contoso..com",
        "-contoso.com",
        "contoso-.com",
        "con_toso.com",
        "con toso.com",
        "[192.0.2.1",
        "[x-tag:foo]",
        "[IPv6:192.0.2.1]",
        "[300.0.2.1]",
        // A full-width look-alike of contoso.com: UTS #46 would fold it into the real name.
        "ｃｏｎｔｏｓｏ.com",
        // Punycode that does not decode.
        "xn--zz.com",
    ] {
        assert!(Domain::parse(bad).is_err(), "{bad}");
    }
    assert_eq!(Domain::parse("[192.0.2.1]").unwrap().to_string(), "[192.0.2.1]");
    assert_eq!(
        Domain::parse("[ipv6:2001:DB8::1]").unwrap().to_string(),
        "[IPv6:2001:db8::1]"
    );
    // A U-label is kept as its A-label; a Cyrillic look-alike is simply another domain.
    let idn = Domain::parse("bücher.example").unwrap();
    assert_eq!(idn, Domain::Name("xn--bcher-kva.example".into()));
    assert!(idn.matches("bücher.example") && idn.matches("XN--BCHER-KVA.example."));
    let lookalike = Domain::parse("c\u{43e}ntoso.com").unwrap();
    assert_eq!(lookalike.to_string(), "xn--cntoso-wqf.com");
    assert!(!lookalike.matches("contoso.com"));
    assert!(Domain::parse("xn--cntoso-wqf.com").is_ok_and(|d| !d.matches("contoso.com")));
    let name = Domain::parse("Contoso.COM").unwrap();
    assert_eq!(name.to_string(), "Contoso.COM");
    assert!(name.matches("contoso.com") && name.matches("contoso.com."));
    assert!(!name.matches("mail.contoso.com") && !name.matches("contoso.com.evil.example"));
    assert!(!Domain::parse("[192.0.2.1]").unwrap().matches("contoso.com"));
}

#[test]
fn mailboxes_round_trip_through_their_stored_form() {
    for text in ["megan@contoso.com", "\"john smith\"@contoso.com", "a@[IPv6:::1]"] {
        assert_eq!(Mailbox::parse(text).unwrap().to_string(), text);
    }
    assert!(Mailbox::parse("victim@evil.example> ORCPT=rfc822;x@contoso.com").is_err());
    assert!(Mailbox::parse("user@evil.com@contoso.com").is_err());
    assert!(Mailbox::parse("Postmaster").is_err());
    let a = Mailbox::parse("Megan@CONTOSO.com").unwrap();
    assert!(a.same_recipient(&Mailbox::parse("megan@contoso.com").unwrap()));
    assert!(!a.same_recipient(&Mailbox::parse("megan@fabrikam.com").unwrap()));
    assert!(Mailbox::new("a>b", Domain::Name("x".into())).is_err());
}

#[test]
fn command_lines() {
    assert_eq!(envelope_verb(b"  mail from:<a@b>\r\n"), Some(Verb::Mail));
    assert_eq!(envelope_verb(b"RCPT\tTO:<a@b>\r\n"), Some(Verb::Rcpt));
    assert_eq!(envelope_verb(b"MAILX FROM:<a@b>\r\n"), None);
    assert_eq!(envelope_verb(b"DATA\r\n"), None);
    assert_eq!(
        mail("MAIL FROM:<a@b.example> SIZE=1000 BODY=8BITMIME\r\n"),
        Ok(EnvelopeCommand::Mail {
            path: Path::Mailbox {
                mailbox: Mailbox::parse("a@b.example").unwrap(),
                source_route: false
            },
            size: Some(1000),
            smtputf8: false
        })
    );
    assert_eq!(
        mail("mail from: <>\r\n"),
        Ok(EnvelopeCommand::Mail {
            path: Path::Null,
            size: None,
            smtputf8: false
        })
    );
    // RFC 1870: a SIZE that overflows is larger than any limit, never zero or small.
    for huge in [
        "18446744073709551616",
        "184467440737095516160",
        "99999999999999999999999999",
    ] {
        assert_eq!(
            mail(&format!("MAIL FROM:<a@b> SIZE={huge}\r\n")),
            Ok(EnvelopeCommand::Mail {
                path: Path::Mailbox {
                    mailbox: Mailbox::parse("a@b").unwrap(),
                    source_route: false
                },
                size: Some(u64::MAX),
                smtputf8: false
            }),
            "{huge}"
        );
    }
    for (line, reply) in [
        ("MAIL FROM:<a@b> SIZE=-1", "501 5.5.4 Invalid parameter SIZE"),
        ("MAIL FROM:<a@b> SIZE=", "501 5.5.4 Invalid parameter SIZE"),
        (
            "MAIL FROM:<a@b> SIZE=1 SIZE=2",
            "501 5.5.4 Invalid parameter SIZE",
        ),
        ("MAIL FROM:<a@b> BODY=9BIT", "501 5.5.4 Invalid parameter BODY"),
        (
            "MAIL FROM:<a@b> XFOO=1",
            "555 5.5.4 XFOO parameter not recognized or not implemented",
        ),
        (
            "RCPT TO:<a@b> SIZE=1",
            "555 5.5.4 SIZE parameter not recognized or not implemented",
        ),
        (
            "MAIL FROM:a@b",
            "501 5.5.4 Syntax: MAIL FROM:<reverse-path> [parameters]",
        ),
        (
            "RCPT TO <a@b>",
            "501 5.5.4 Syntax: RCPT TO:<forward-path> [parameters]",
        ),
        ("MAIL", "501 5.5.4 Syntax: MAIL FROM:<reverse-path> [parameters]"),
        (
            "MAIL FROM:<Postmaster>",
            "501 5.1.7 Bad sender address syntax: no '@' and domain",
        ),
        (
            "RCPT TO:<>",
            "501 5.1.3 Bad recipient address syntax: the local part is empty",
        ),
        (
            "RCPT TO:<\"victim@evil.example> ORCPT=rfc822;x\"@contoso.com>",
            "501 5.1.3 Bad recipient address syntax: '>' in the local part",
        ),
        (
            "MAIL FROM:<\"victim@evil.example> ORCPT=rfc822;x\"@contoso.com>",
            "501 5.1.7 Bad sender address syntax: '>' in the local part",
        ),
        (
            "RCPT TO:<a@b>> NOTIFY=NEVER",
            "501 5.1.3 Bad recipient address syntax: text after '>' in the local part",
        ),
    ] {
        assert_eq!(rcpt(line).unwrap_err().reply(), reply, "{line}");
    }
    assert!(matches!(
        rcpt("RCPT TO:<megan@contoso.com> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;megan@contoso.com\r\n"),
        Ok(EnvelopeCommand::Rcpt { .. })
    ));
    let many = format!("RCPT TO:<a@b>{}", " NOTIFY=NEVER".repeat(MAX_PARAMS + 1));
    assert!(rcpt(&many).is_err());
    assert!(parse_command(b"RCPT TO:<a@\xff>\r\n").unwrap().is_err());
}

/// Local parts: dot-strings, and anything printable (spaces, quotes, backslashes, `@`) quoted.
fn local_part() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-zA-Z0-9!#$%&'*+/=?^_`{|}~-]{1,12}(\\.[a-zA-Z0-9!#$%&'*+/=?^_`{|}~-]{1,12}){0,3}",
        "[ -;=?-~]{1,40}",
        "[a-zé日本]{1,10}",
    ]
}

fn domain() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-zA-Z0-9]([a-zA-Z0-9-]{0,10}[a-zA-Z0-9])?(\\.[a-zA-Z0-9]{1,10}){0,3}",
        any::<[u8; 4]>().prop_map(|o| format!("[{}]", std::net::Ipv4Addr::from(o))),
        any::<[u16; 8]>().prop_map(|s| format!("[IPv6:{}]", std::net::Ipv6Addr::from(s))),
        Just("bücher.example".to_string()),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { failure_persistence: None, ..ProptestConfig::default() })]

    /// parse -> write back -> parse gives the same address, and what is written is what RFC 5321
    /// requires (quoted exactly when not a dot-string).
    #[test]
    fn parse_write_parse_round_trips(local in local_part(), domain in domain()) {
        let Ok(domain) = Domain::parse(&domain) else { return Ok(()); };
        let Ok(first) = Mailbox::new(local.clone(), domain) else { return Ok(()); };
        let written = first.to_string();
        let again = mailbox(&format!("<{written}>"));
        prop_assert_eq!(&again, &first);
        prop_assert_eq!(again.to_string(), written.clone());
        prop_assert_eq!(written.starts_with('"'), !is_dot_string(&local));
        prop_assert_eq!(Mailbox::parse(&written), Ok(first.clone()));
        // The same recipient in other ASCII case: written forms equal but for ASCII case (what the
        // session's duplicate check compares).
        let upper = Mailbox::new(local.to_ascii_uppercase(), first.domain().clone()).unwrap();
        prop_assert!(upper.same_recipient(&first));
        prop_assert!(upper.to_string().eq_ignore_ascii_case(&written));
    }

    /// Arbitrary lines never panic, and whatever parses writes back to something that parses the same.
    #[test]
    fn arbitrary_command_lines(bytes in prop::collection::vec(any::<u8>(), 0..300), verb in 0..2u8) {
        let mut line = if verb == 0 { b"RCPT TO:<".to_vec() } else { b"MAIL FROM:<".to_vec() };
        line.extend_from_slice(&bytes);
        if let Some(Ok(EnvelopeCommand::Rcpt { path: Path::Mailbox { mailbox, .. } }
            | EnvelopeCommand::Mail { path: Path::Mailbox { mailbox, .. }, .. })) = parse_command(&line)
        {
            let written = mailbox.to_string();
            prop_assert!(!written.contains(['<', '>', '\r', '\n']));
            prop_assert_eq!(Mailbox::parse(&written), Ok(mailbox));
        }
    }
}
