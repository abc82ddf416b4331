//! The catalogue: the SMTP replies, enhanced status codes and error strings hybrid admins meet, each
//! with what it means, the hop(s) of the mail path it belongs to, its likely causes in order, the checks
//! that would confirm each cause, the fix, and where it is documented (a Microsoft Learn page, a
//! Microsoft support article or Exchange Team blog post, or an RFC). `docs/ndr.md` is generated from
//! this one table ([`catalogue_markdown`]); a test keeps them in step.
//!
//! A check reference is a check id (`tls.cert.name`), looked at on the hop the code is pinned on, or
//! `id@side` to look at it elsewhere: `@onprem` the on-premises endpoint Exchange Online connects to
//! (whose certificate is also the one the send connector presents), `@eop` the hop into EOP, `@edge`
//! Mailbox -> Edge, `@mx` the internet MX hop.

/// One likely cause of an error, with the checks that would confirm it and the fix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cause {
    /// The cause, in a sentence.
    pub text: &'static str,
    /// Check references (`tls.cert.name`, `tls.cert.name@onprem`) whose failure confirms it.
    pub checks: &'static [&'static str],
    /// What to type (Exchange or Exchange Online PowerShell, or the DNS change).
    pub fix: &'static str,
    /// A string that, when the input also contains it, names this cause (`UnknownCredentials`).
    pub signal: &'static str,
}

/// One catalogue entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Entry {
    /// Stable id (`4.7.320-subject-mismatch`).
    pub id: &'static str,
    /// The code as people quote it (`450 4.7.320`, `send log: UnknownCredentials`).
    pub code: &'static str,
    /// The enhanced status codes it matches (`4.7.320`, a range `4.7.500-699`); empty: matched by its
    /// strings alone.
    pub codes: &'static [&'static str],
    /// Strings that must all be on the same line (ASCII case-insensitive).
    pub needles: &'static [&'static str],
    /// A wrapper (`451 4.4.0 Primary target IP address responded with ...`): any other entry matched
    /// in the same text says more, so it is only used when nothing else matches.
    pub wrapper: bool,
    /// A short title.
    pub title: &'static str,
    /// What it means.
    pub meaning: &'static str,
    /// The hops of the mail path it belongs to (ids as `core::path` builds them; both topologies).
    pub hops: &'static [&'static str],
    /// Likely causes, most likely first.
    pub causes: &'static [Cause],
    /// Where it is documented.
    pub sources: &'static [&'static str],
}

const fn cause(text: &'static str, checks: &'static [&'static str], fix: &'static str) -> Cause {
    Cause {
        text,
        checks,
        fix,
        signal: "",
    }
}

const fn named(
    text: &'static str,
    checks: &'static [&'static str],
    fix: &'static str,
    signal: &'static str,
) -> Cause {
    Cause {
        text,
        checks,
        fix,
        signal,
    }
}

// Hops, both topologies (with an Edge, and Mailbox servers talking to EOP directly).
const TO_EOP: &[&str] = &["out.edge-eop", "out.mailbox-eop"];
const FROM_EOP: &[&str] = &["in.eop-edge", "in.eop-mailbox"];
const BOTH_WAYS: &[&str] = &["out.edge-eop", "out.mailbox-eop", "in.eop-edge", "in.eop-mailbox"];
const TO_EOP_AND_MX: &[&str] = &["out.edge-eop", "out.mailbox-eop", "mx.internet-eop"];
const MX: &[&str] = &["mx.internet-eop"];

// Sources.
const NDR: &str = "https://learn.microsoft.com/exchange/mail-flow-best-practices/non-delivery-reports-in-exchange-online/non-delivery-reports-in-exchange-online";
const MFI: &str = "https://learn.microsoft.com/microsoft-365/security/office-365-security/mail-flow-intelligence-in-office-365";
const TLS_HYBRID: &str = "https://techcommunity.microsoft.com/blog/exchange/tls-certificates-in-exchange-hybrid---common-issues--how-to-fix-them/4420592";
const NEW_CERT: &str = "https://learn.microsoft.com/troubleshoot/exchange/email-delivery/cannot-receive-mail-with-new-certificate";
const ATTR35: &str =
    "https://learn.microsoft.com/troubleshoot/exchange/email-delivery/wrong-office-365-region-exo";
const NO_CREDENTIALS: &str = "https://learn.microsoft.com/troubleshoot/exchange/mailflow/tls-negotiation-failed-with-error-nocredentials-error";
const UNKNOWN_CREDENTIALS: &str =
    "https://learn.microsoft.com/troubleshoot/exchange/mailflow/outbound-email-messages-are-not-sent";
const DNS_QUERY_FAILED: &str = "https://learn.microsoft.com/troubleshoot/exchange/mailflow/dns-query-failed";
const LOOP_ON_PREMISES: &str =
    "https://learn.microsoft.com/troubleshoot/exchange/mailflow/hop-count-exceeded-possible-mail-loop";
const MAILGUARD: &str = "https://learn.microsoft.com/troubleshoot/exchange/mailflow/cannot-send-receive-email-behind-cisco-firewall";
const UNTRUSTED_ROOT: &str = "https://learn.microsoft.com/troubleshoot/exchange/email-delivery/ndr/fix-error-code-450-4-4-317-untrusted-root";
const EVENT_2004: &str =
    "https://learn.microsoft.com/troubleshoot/exchange/email-delivery/mail-flow-stops-event-2004";
const APRIL_2016: &str =
    "https://learn.microsoft.com/troubleshoot/exchange/email-delivery/mails-issues-occur-after-april-15-2016";
const RELAY_DENIED: &str =
    "https://learn.microsoft.com/troubleshoot/exchange/connectors/relay-access-denied-smtp";
const NDR_5764: &str = "https://learn.microsoft.com/exchange/mail-flow-best-practices/non-delivery-reports-in-exchange-online/fix-error-code-5-7-64-in-exchange-online";
const NDR_LOOP: &str = "https://learn.microsoft.com/exchange/mail-flow-best-practices/non-delivery-reports-in-exchange-online/fix-error-code-5-4-6-through-5-4-20-in-exchange-online";
const NDR_541: &str = "https://learn.microsoft.com/exchange/mail-flow-best-practices/non-delivery-reports-in-exchange-online/fix-error-code-550-5-4-1-in-exchange-online";
const NDR_5110: &str = "https://learn.microsoft.com/exchange/mail-flow-best-practices/non-delivery-reports-in-exchange-online/fix-error-code-550-5-1-10-in-exchange-online";
const NDR_447: &str = "https://learn.microsoft.com/exchange/mail-flow-best-practices/non-delivery-reports-in-exchange-online/fix-error-code-550-4-4-7-in-exchange-online";
const NDR_571: &str = "https://learn.microsoft.com/exchange/mail-flow-best-practices/non-delivery-reports-in-exchange-online/fix-error-code-550-5-7-1-in-exchange-online";
const NDR_5712: &str = "https://learn.microsoft.com/exchange/mail-flow-best-practices/non-delivery-reports-in-exchange-online/fix-error-code-5-7-12-in-exchange-online";
const NDR_AS: &str = "https://learn.microsoft.com/exchange/mail-flow-best-practices/non-delivery-reports-in-exchange-online/fix-error-code-451-4-7-500-699-asxxx-in-exchange-online";
const NDR_700: &str = "https://learn.microsoft.com/exchange/mail-flow-best-practices/non-delivery-reports-in-exchange-online/fix-error-code-5-7-700-through-5-7-750";
const DBEB: &str =
    "https://learn.microsoft.com/exchange/mail-flow-best-practices/use-directory-based-edge-blocking";
const DIRECT_SEND: &str = "https://techcommunity.microsoft.com/blog/exchange/introducing-more-control-over-direct-send-in-exchange-online/4408790";
const DIGICERT_G2: &str = "https://techcommunity.microsoft.com/blog/exchange/trust-digicert-global-root-g2-certificate-authority-to-avoid-exchange-online-ema/4488311";
const PROTOCOL_LOG: &str = "https://learn.microsoft.com/exchange/mail-flow/connectors/protocol-logging";
const WINSOCK: &str = "https://learn.microsoft.com/windows/win32/winsock/windows-sockets-error-codes-2";
const CERT_REQUIREMENTS: &str = "https://learn.microsoft.com/exchange/certificate-requirements";
const ANONYMOUS_RELAY: &str =
    "https://learn.microsoft.com/exchange/mail-flow/connectors/allow-anonymous-relay";
const RFC3463: &str = "https://www.rfc-editor.org/rfc/rfc3463";
const RFC5321: &str = "https://www.rfc-editor.org/rfc/rfc5321";
const RFC3207: &str = "https://www.rfc-editor.org/rfc/rfc3207";
const RFC7672: &str = "https://www.rfc-editor.org/rfc/rfc7672";

// Fixes used by more than one entry.
const FIX_RECEIVE_CERT: &str = "$c = Get-ExchangeCertificate -Thumbprint <thumbprint of the hybrid certificate>; Get-ReceiveConnector \"<SERVER>\\Default Frontend <SERVER>\" | Set-ReceiveConnector -TlsCertificateName \"<I>$($c.Issuer)<S>$($c.Subject)\" (on an Edge: the Default internal Receive connector); or rerun the Hybrid Configuration Wizard (Update Secure Mail Certificate for Connectors)";
const FIX_SEND_CERT: &str = "$c = Get-ExchangeCertificate -Thumbprint <thumbprint of the hybrid certificate>; Set-SendConnector \"Outbound to Office 365 - <guid>\" -TlsCertificateName \"<I>$($c.Issuer)<S>$($c.Subject)\"; or rerun the Hybrid Configuration Wizard";
const FIX_BIND_SMTP: &str = "Enable-ExchangeCertificate -Thumbprint <thumbprint> -Services SMTP (answer No to overwriting the default SMTP certificate, or EdgeSync breaks); then Get-Queue | ? Status -eq Retry | Retry-Queue";
const FIX_FIREWALL: &str = "Allow TCP 25 from the Exchange Online Protection address ranges (https://aka.ms/o365ip) to the on-premises endpoint; from the endpoint's side: Get-ReceiveConnector | ft Name,Bindings,RemoteIPRanges,Enabled; from outside: Test-NetConnection <public name> -Port 25";
const FIX_SMART_HOST: &str = "Set-OutboundConnector \"Outbound to <guid>\" -SmartHosts <public FQDN of the hybrid Edge or Mailbox servers> -UseMXRecord $false; or rerun the Hybrid Configuration Wizard";
const FIX_INBOUND_CERT: &str = "Set-InboundConnector \"Inbound from <guid>\" -TlsSenderCertificateName <a name on the certificate the send connector presents, in a verified accepted domain>; or rerun the Hybrid Configuration Wizard with the new certificate selected";
const FIX_CHAIN: &str = "Import-Certificate -FilePath .\\intermediate.cer -CertStoreLocation Cert:\\LocalMachine\\CA on every hybrid server, then Restart-Service MSExchangeTransport (and MSExchangeFrontEndTransport): Exchange sends the chain it can build from the local stores";
const FIX_EXO_TLSDOMAIN: &str = "Set-OutboundConnector \"Outbound to <guid>\" -TlsSettings DomainValidation -TlsDomain <a name the on-premises certificate carries>";
const FIX_RENEW: &str = "Renew the certificate, Import-ExchangeCertificate it on every hybrid server, Enable-ExchangeCertificate -Thumbprint <new> -Services SMTP, then rerun the Hybrid Configuration Wizard (Update Secure Mail Certificate for Connectors)";
const FIX_DNS_ONPREM: &str = "Resolve-DnsName <tenant>.mail.onmicrosoft.com -Type MX from the sending server; if the internal DNS cannot answer: Set-TransportService <SERVER> -ExternalDNSServers <resolver>; Set-SendConnector \"Outbound to Office 365 - <guid>\" -UseExternalDNSServersEnabled $true";
const FIX_MIDDLEBOX: &str = "Turn off SMTP inspection between on-premises and Exchange Online (Cisco ASA/PIX: no fixup protocol smtp 25, or an ESMTP policy map without mask-banner that allows TLS); hybrid supports only firewalls that pass TCP 25 unmodified";
const FIX_QUEUE: &str = "Get-Queue | ? {$_.MessageCount -gt 0} | fl Identity,NextHopDomain,Status,LastError (on-premises), or the message trace detail in the Exchange admin center (Exchange Online): the LastError names the real failure";
const FIX_ACCEPTED_INTERNAL_RELAY: &str = "Set-AcceptedDomain <domain> -DomainType InternalRelay (Exchange Online PowerShell) while recipients of the domain still live on-premises";

/// Every entry, ordered by code.
pub static ENTRIES: &[Entry] = &[
    Entry {
        id: "4.3.2-service-not-available",
        code: "421 4.3.2",
        codes: &["4.3.2"],
        needles: &[],
        wrapper: false,
        title: "Service not available: the receiving server refuses sessions now",
        meaning: "The receiving server is not accepting network messages (RFC 3463 X.3.2) and closes the channel (RFC 5321 421). It is a temporary refusal: the sender queues and retries. Exchange says it while a server is shutting down or in maintenance, when too many sessions are open, or under resource pressure.",
        hops: BOTH_WAYS,
        causes: &[
            cause(
                "The receiving server is in maintenance, starting or stopping, or its transport service is draining",
                &["smtp.banner"],
                "Get-ServerComponentState <SERVER> | ft Component,State (FrontendTransport and HubTransport must be Active); Set-ServerComponentState <SERVER> -Component ServerWideOffline -State Active -Requester Maintenance",
            ),
            cause(
                "Too many sessions or messages from this sender, or back pressure (low disk or memory) on the receiving server",
                &["smtp.banner"],
                "Get-ReceiveConnector | fl Name,MaxInboundConnection*,MessageRateLimit; on the receiving server, check free space of the queue database disk and the transport event log for back pressure events",
            ),
        ],
        sources: &[RFC3463, RFC5321],
    },
    Entry {
        id: "4.4.0-dns-query-failed",
        code: "451 4.4.0 DNS query failed",
        codes: &["4.4.0"],
        needles: &["DNS query failed"],
        wrapper: false,
        title: "DNS query failed: the sending server cannot resolve the next hop",
        meaning: "The on-premises Exchange server could not look up where to send: for mail to Exchange Online, the MX of <tenant>.mail.onmicrosoft.com (the hybrid send connector routes by MX) or its addresses. The message stays in the queue and is retried.",
        hops: TO_EOP,
        causes: &[
            cause(
                "The DNS servers the Exchange server uses cannot resolve internet names (or answer the AAAA query badly)",
                &["dns.mx.routing_domain@eop", "dns.host.resolves"],
                FIX_DNS_ONPREM,
            ),
            cause(
                "Internal and external DNS disagree: the internal zone hides or overrides the answer the internet sees",
                &["dns.split_brain"],
                "Compare Resolve-DnsName <name> -Server <internal DNS> with -Server <public resolver>; remove the internal override or point the send connector to external DNS (-UseExternalDNSServersEnabled $true)",
            ),
        ],
        sources: &[DNS_QUERY_FAILED],
    },
    Entry {
        id: "4.4.0-primary-target-timed-out",
        code: "451 4.4.0 ... 421 4.4.1 Connection timed out",
        codes: &["4.4.0"],
        needles: &["Primary target IP address responded", "Connection timed out"],
        wrapper: false,
        title: "Primary target responded 421 4.4.1 Connection timed out",
        meaning: "The on-premises queue to the next hop (usually Exchange Online) retries because every attempt ended in a timeout. When the send connector's protocol log shows \"TLS negotiation failed with error UnknownCredentials\" or \"NoCredentials\" before it, the certificate Exchange wants to present cannot be used, and the timeout is only the symptom.",
        hops: TO_EOP,
        causes: &[
            named(
                "The hybrid certificate is not bound to the SMTP service (send log: TLS negotiation failed with error UnknownCredentials)",
                &["config.send.tls_certificate_name@eop", "tls.cert.present@onprem"],
                FIX_BIND_SMTP,
                "UnknownCredentials",
            ),
            named(
                "The certificate named by the send connector has no private key (send log: TLS negotiation failed with error NoCredentials)",
                &["config.send.tls_certificate_name@eop"],
                "Get-ChildItem Cert:\\LocalMachine\\My | ? Thumbprint -eq <thumbprint> | select Thumbprint,HasPrivateKey; import the certificate again with its private key (the .pfx), then Enable-ExchangeCertificate -Thumbprint <thumbprint> -Services SMTP",
                "NoCredentials",
            ),
            cause(
                "TCP 25 from the sending server to Exchange Online is blocked or filtered",
                &["tcp.smtp.reachable@eop"],
                "From the sending server: Test-NetConnection <tenant>-mail-onmicrosoft-com.mail.protection.outlook.com -Port 25; allow outbound TCP 25 to Exchange Online Protection on the firewall",
            ),
        ],
        sources: &[UNKNOWN_CREDENTIALS, NO_CREDENTIALS],
    },
    Entry {
        id: "4.4.0-primary-target-must-issue-starttls",
        code: "451 4.4.0 ... 451 5.7.3 Must issue a STARTTLS command first",
        codes: &["4.4.0", "5.7.3", "5.7.0"],
        needles: &["Must issue a STARTTLS command first"],
        wrapper: false,
        title: "Must issue a STARTTLS command first: TLS did not happen between the two servers",
        meaning: "The receiving side insists on TLS but the sender sent mail commands without STARTTLS: either the sender did not see STARTTLS offered (an SMTP-inspecting device stripped it), or the TLS handshake failed and the sender went on in plain text (the receiver's certificate chain is not trusted by the sender).",
        hops: BOTH_WAYS,
        causes: &[
            cause(
                "An SMTP-inspecting firewall between the servers strips STARTTLS from the EHLO reply (and masks the banner)",
                &["smtp.banner.masked", "smtp.starttls"],
                FIX_MIDDLEBOX,
            ),
            cause(
                "The sending server does not trust the receiver's certificate chain (for Exchange Online's certificates: the DigiCert Global Root G2 and its intermediates are missing from the on-premises trust store)",
                &["tls.cert.trusted", "tls.cert.chain_complete"],
                "Get-ChildItem Cert:\\LocalMachine\\Root | ? Thumbprint -eq DF3C24F9BFD666761B268073FE06D1CC8D4F82A4; if missing: certutil -addstore Root <the Microsoft 365 root certificate bundle .p7b>",
            ),
        ],
        sources: &[MAILGUARD, DIGICERT_G2],
    },
    Entry {
        id: "4.4.0-primary-target",
        code: "451 4.4.0 Primary target IP address responded with ...",
        codes: &["4.4.0"],
        needles: &[],
        wrapper: true,
        title: "Primary target IP address responded with an error",
        meaning: "An on-premises queue's LastError: Exchange connected to the next hop, which answered with the reply quoted inside; it then tried the alternate hosts, if any, and failed there too. The quoted reply is the real error.",
        hops: TO_EOP,
        causes: &[cause(
            "The quoted reply says why; the next hop's endpoint, TLS and certificate are the usual suspects",
            &["tcp.smtp.reachable@eop", "smtp.starttls@eop", "tls.handshake@eop"],
            FIX_QUEUE,
        )],
        sources: &[UNKNOWN_CREDENTIALS, NEW_CERT],
    },
    Entry {
        id: "4.4.1-connection-timed-out",
        code: "421 4.4.1 Connection timed out",
        codes: &["4.4.1"],
        needles: &[],
        wrapper: false,
        title: "Connection timed out: no answer from the host",
        meaning: "The sender could not complete a connection or a reply within its time limit (RFC 3463 X.4.1, no answer from host). Packets are dropped on the way (a firewall that filters instead of refusing), or the server is down or overloaded; it is retried.",
        hops: BOTH_WAYS,
        causes: &[
            cause(
                "A firewall drops TCP 25 between the sender and the endpoint (filtered, not refused)",
                &["tcp.smtp.reachable"],
                FIX_FIREWALL,
            ),
            named(
                "The TLS handshake never completes because the sender's certificate cannot be used (UnknownCredentials / NoCredentials in the send log)",
                &["config.send.tls_certificate_name@eop"],
                FIX_BIND_SMTP,
                "Credentials",
            ),
            cause(
                "The server greets so slowly (a tarpit, an overloaded server) that the sender gives up",
                &["smtp.banner.delay", "smtp.banner"],
                "Find what delays the greeting: Get-ReceiveConnector | fl Name,TarpitInterval,ConnectionTimeout; check the server's load and an SMTP proxy in front of it",
            ),
        ],
        sources: &[RFC3463, UNKNOWN_CREDENTIALS],
    },
    Entry {
        id: "4.4.101-proxy-starttls-required",
        code: "450 4.4.101 Proxy session setup failed ... 451 5.7.3 STARTTLS is required to send mail",
        codes: &["4.4.101"],
        needles: &["STARTTLS is required"],
        wrapper: false,
        title: "Proxy session setup failed: the on-premises server no longer offers STARTTLS",
        meaning: "Exchange Online's front end could not open the session to the on-premises server: the server answered 451 5.7.3 STARTTLS is required, because it no longer offers STARTTLS. This is the classic outage after a certificate renewal: the receive connector's TlsCertificateName still names the removed certificate (event 12014, \"Microsoft Exchange could not find a certificate that contains the domain name\").",
        hops: FROM_EOP,
        causes: &[
            cause(
                "The receive connector's TlsCertificateName names a certificate that was removed or renewed (event 12014): Exchange finds no certificate and offers no STARTTLS",
                &[
                    "config.receive.tls_certificate_name",
                    "smtp.starttls",
                    "tls.cert.present",
                ],
                "Enable-ExchangeCertificate -Thumbprint <new thumbprint> -Services SMTP (answer No to overwrite); Get-ReceiveConnector \"<SERVER>\\Default Frontend <SERVER>\" | Set-ReceiveConnector -TlsCertificateName $null; then rerun the Hybrid Configuration Wizard",
            ),
            cause(
                "The new certificate is installed but not enabled for SMTP",
                &["smtp.starttls", "tls.cert.name"],
                FIX_BIND_SMTP,
            ),
        ],
        sources: &[NEW_CERT, TLS_HYBRID],
    },
    Entry {
        id: "4.4.101-proxy-session-setup-failed",
        code: "450 4.4.101 Proxy session setup failed on Frontend",
        codes: &["4.4.101"],
        needles: &[],
        wrapper: true,
        title: "Proxy session setup failed on Frontend",
        meaning: "Exchange Online's front end proxies the outbound session to the destination; it could not set it up, and quotes the destination's answer. The quoted reply is the real error.",
        hops: FROM_EOP,
        causes: &[cause(
            "The on-premises endpoint refused, dropped or failed the session: its port, STARTTLS and certificate are the usual suspects",
            &[
                "tcp.smtp.reachable",
                "smtp.starttls",
                "tls.handshake",
                "tls.cert.name",
            ],
            FIX_QUEUE,
        )],
        sources: &[NEW_CERT, MFI],
    },
    Entry {
        id: "4.4.2-connection-dropped",
        code: "421 4.4.2 Connection dropped",
        codes: &["4.4.2"],
        needles: &[],
        wrapper: false,
        title: "Connection dropped: bad connection",
        meaning: "The connection broke in the middle of the dialogue (RFC 3463 X.4.2, bad connection): a reset, an idle timeout, or a device that cut the session. The sender retries.",
        hops: BOTH_WAYS,
        causes: &[
            cause(
                "An SMTP-inspecting device between the servers interferes with the session (its rules misfire on ESMTP or on TLS)",
                &["smtp.banner.masked", "smtp.starttls"],
                FIX_MIDDLEBOX,
            ),
            cause(
                "TLS cannot be negotiated: the two sides share no protocol version or cipher (TLS 1.0/1.1 only), and the handshake is cut",
                &["tls.handshake", "tls.version"],
                "Enable TLS 1.2 on the Exchange server (Exchange Server TLS guidance: the SchUseStrongCrypto and TLS 1.2 registry settings), then restart the transport services",
            ),
            cause(
                "The session stayed idle too long (a slow server, a tarpit) and a side closed it",
                &["smtp.banner.delay"],
                "Get-ReceiveConnector | fl Name,ConnectionTimeout,ConnectionInactivityTimeout,TarpitInterval",
            ),
        ],
        sources: &[RFC3463, MFI],
    },
    Entry {
        id: "4.4.312-dns-query-failed",
        code: "450 4.4.312 DNS query failed",
        codes: &["4.4.312"],
        needles: &[],
        wrapper: false,
        title: "DNS query failed: Exchange Online cannot resolve the smart host",
        meaning: "Exchange Online tried the smart host of its outbound connector, but the DNS query for its addresses failed. Messages stay queued in Exchange Online and are retried for 24 hours, then returned.",
        hops: FROM_EOP,
        causes: &[
            cause(
                "The smart host name does not resolve in public DNS (an internal-only name, a typo, an expired domain)",
                &["dns.host.resolves", "dns.split_brain"],
                "Resolve-DnsName <smart host> -Server 8.8.8.8; publish an A record for it in public DNS",
            ),
            cause(
                "The outbound connector names the wrong smart host",
                &["config.exo_outbound.smart_hosts"],
                FIX_SMART_HOST,
            ),
        ],
        sources: &[MFI],
    },
    Entry {
        id: "4.4.315-connection-timed-out",
        code: "450 4.4.315 Connection timed out",
        codes: &["4.4.315"],
        needles: &[],
        wrapper: false,
        title: "Connection timed out: Exchange Online cannot reach the on-premises server",
        meaning: "Exchange Online cannot connect to the destination server of its connector: the server is down, or the connector's smart host points to the wrong address. Messages stay queued for 24 hours.",
        hops: FROM_EOP,
        causes: &[
            cause(
                "The on-premises endpoint is down or TCP 25 is filtered on its way from the internet",
                &["tcp.smtp.reachable"],
                FIX_FIREWALL,
            ),
            cause(
                "The outbound connector's smart host (or its public DNS record) points to the wrong address",
                &["config.exo_outbound.smart_hosts", "dns.split_brain"],
                FIX_SMART_HOST,
            ),
        ],
        sources: &[MFI],
    },
    Entry {
        id: "4.4.316-connection-refused",
        code: "450 4.4.316 Connection refused [Message=Socket error code 10061]",
        codes: &["4.4.316"],
        needles: &[],
        wrapper: false,
        title: "Connection refused (socket error 10061)",
        meaning: "Exchange Online reached the on-premises address but the connection was refused (Windows Sockets WSAECONNREFUSED, 10061): nothing listens on port 25 there, or a firewall actively rejects Exchange Online's addresses. With socket error 10060 (WSAETIMEDOUT) the attempt timed out instead: packets are dropped on the way. Messages stay queued for 24 hours.",
        hops: FROM_EOP,
        causes: &[
            cause(
                "A firewall or NAT rule does not let Exchange Online's addresses reach TCP 25 of the on-premises endpoint",
                &["tcp.smtp.reachable"],
                FIX_FIREWALL,
            ),
            cause(
                "The outbound connector sends to the wrong smart host (an old address, a server that was removed)",
                &["config.exo_outbound.smart_hosts", "dns.host.resolves"],
                FIX_SMART_HOST,
            ),
            cause(
                "The on-premises receive connector is disabled or bound to other addresses",
                &["tcp.smtp.reachable", "smtp.banner"],
                "Get-ReceiveConnector -Server <SERVER> | ft Name,Enabled,Bindings,RemoteIPRanges; Set-ReceiveConnector \"<SERVER>\\Default Frontend <SERVER>\" -Enabled $true",
            ),
        ],
        sources: &[NDR, MFI, WINSOCK],
    },
    Entry {
        id: "4.4.316-timed-out",
        code: "450 4.4.316 ... Socket error code 10060",
        codes: &["4.4.316"],
        needles: &["10060"],
        wrapper: false,
        title: "Connection timed out (socket error 10060)",
        meaning: "Exchange Online's connection attempts to the on-premises endpoint timed out (Windows Sockets WSAETIMEDOUT, 10060): the packets are dropped on the way (filtered), or the address answers nothing. Messages stay queued for 24 hours.",
        hops: FROM_EOP,
        causes: &[
            cause(
                "A firewall drops (rather than refuses) TCP 25 from Exchange Online's addresses",
                &["tcp.smtp.reachable"],
                FIX_FIREWALL,
            ),
            cause(
                "The smart host or its public DNS record points to an address where nothing answers",
                &[
                    "config.exo_outbound.smart_hosts",
                    "dns.split_brain",
                    "dns.host.resolves",
                ],
                FIX_SMART_HOST,
            ),
        ],
        sources: &[MFI, WINSOCK],
    },
    Entry {
        id: "4.4.317-untrusted-root",
        code: "450 4.4.317 Cannot connect to remote server [Message=UntrustedRoot]",
        codes: &["4.4.317"],
        needles: &["UntrustedRoot"],
        wrapper: false,
        title: "UntrustedRoot: the certificate chain cannot be built to a trusted root",
        meaning: "Exchange Online could not validate the other server's certificate up to a Microsoft-trusted root. Exchange Online does not fetch missing intermediate certificates: a server that sends only its leaf certificate fails here, as does a certificate from a private CA.",
        hops: FROM_EOP,
        causes: &[
            cause(
                "The on-premises server sends only its leaf certificate, without the intermediate CA certificates",
                &["tls.cert.chain_complete", "relay.client-cert.chain"],
                FIX_CHAIN,
            ),
            cause(
                "The certificate is self-signed or from an internal CA that Microsoft does not trust",
                &["tls.cert.trusted"],
                "Use a certificate from a public CA for hybrid (Exchange certificate requirements for hybrid deployments), enable it for SMTP and rerun the Hybrid Configuration Wizard",
            ),
        ],
        sources: &[UNTRUSTED_ROOT, CERT_REQUIREMENTS],
    },
    Entry {
        id: "4.4.317-subject-mismatch",
        code: "450 4.4.317 Cannot connect to remote server [Message=SubjectMismatch ...]",
        codes: &["4.4.317"],
        needles: &["SubjectMismatch"],
        wrapper: false,
        title: "SubjectMismatch: the on-premises server presents a certificate without the expected name",
        meaning: "Exchange Online connected, but the certificate presented does not carry the name its outbound connector expects (TlsDomain; \"Expected Subject\" and \"Presented Subject\" say which). Usually the receive connector that answers Exchange Online presents another certificate: no TlsCertificateName (the self-signed one), or a stale one after a renewal.",
        hops: FROM_EOP,
        causes: &[
            cause(
                "The receive connector that answers Exchange Online has no or the wrong TlsCertificateName, so Exchange presents another certificate",
                &["tls.cert.name"],
                FIX_RECEIVE_CERT,
            ),
            cause(
                "The outbound connector's TlsDomain names a name the certificate does not carry",
                &["config.exo_outbound.tls", "tls.cert.name"],
                FIX_EXO_TLSDOMAIN,
            ),
        ],
        sources: &[TLS_HYBRID],
    },
    Entry {
        id: "4.4.317-starttls-required",
        code: "450 4.4.317 Cannot connect to remote server [Message=451 5.7.3 STARTTLS is required to send mail]",
        codes: &["4.4.317"],
        needles: &["STARTTLS is required"],
        wrapper: false,
        title: "Cannot connect: the on-premises server requires TLS but offers no STARTTLS",
        meaning: "Exchange Online's session to the on-premises server ended with 451 5.7.3 STARTTLS is required: the receive connector requires TLS but does not offer STARTTLS, because its certificate cannot be used (a chain problem, a revoked or untrusted certificate, event 12014), or because the on-premises server does not trust Exchange Online's certificates.",
        hops: FROM_EOP,
        causes: &[
            cause(
                "The receive connector's certificate cannot be used: its chain is broken, revoked or untrusted on the server (Test-Certificate fails; event 12014)",
                &[
                    "smtp.starttls",
                    "tls.cert.trusted",
                    "tls.cert.chain_complete",
                    "tls.cert.validity",
                ],
                "Get-ChildItem Cert:\\LocalMachine\\My\\<thumbprint> | Test-Certificate | fl; install the intermediate and root certificates in the right stores (or renew the certificate), then Restart-Service MSExchangeFrontEndTransport and rerun the Hybrid Configuration Wizard",
            ),
            cause(
                "The on-premises server does not trust Exchange Online's certificate chain (DigiCert Global Root G2)",
                &[],
                "certutil -addstore Root <the Microsoft 365 root certificate bundle .p7b>; Get-ChildItem Cert:\\LocalMachine\\Root | ? Thumbprint -eq DF3C24F9BFD666761B268073FE06D1CC8D4F82A4",
            ),
        ],
        sources: &[TLS_HYBRID, DIGICERT_G2],
    },
    Entry {
        id: "4.4.317-cannot-connect",
        code: "450 4.4.317 Cannot connect to remote server",
        codes: &["4.4.317"],
        needles: &[],
        wrapper: false,
        title: "Cannot connect to remote server",
        meaning: "Exchange Online connected to the destination, but the server answered with an immediate error or does not meet the connector's requirements: it says \"Service not available\", or the connector requires TLS and the server offers none. The text in brackets says which.",
        hops: FROM_EOP,
        causes: &[
            cause(
                "The connector requires TLS but the on-premises server does not offer STARTTLS (or the handshake fails)",
                &["smtp.starttls", "tls.handshake", "tls.version"],
                FIX_RECEIVE_CERT,
            ),
            cause(
                "The server refuses the session with a 4xx/5xx greeting (service not available)",
                &["smtp.banner"],
                "Get-ServerComponentState <SERVER> | ft Component,State; Get-ReceiveConnector | ft Name,Enabled,Bindings",
            ),
        ],
        sources: &[MFI],
    },
    Entry {
        id: "4.4.318-connection-closed",
        code: "450 4.4.318 Connection was closed abruptly",
        codes: &["4.4.318"],
        needles: &[],
        wrapper: false,
        title: "Connection was closed abruptly",
        meaning: "Exchange Online's session to the on-premises server was dropped: a firewall's SMTP packet examination rules misfire, the on-premises server hangs or runs out of resources, or the network between them drops the connection.",
        hops: FROM_EOP,
        causes: &[
            cause(
                "A firewall with SMTP packet examination between Exchange Online and the on-premises server cuts the session",
                &["smtp.banner.masked", "smtp.starttls"],
                FIX_MIDDLEBOX,
            ),
            cause(
                "The on-premises server is unhealthy (a service hangs or crashes, low resources) and drops sessions",
                &["smtp.banner", "smtp.banner.delay"],
                "Get-ServerComponentState <SERVER> | ft Component,State; look for transport crashes and back pressure events in the Application log",
            ),
        ],
        sources: &[MFI],
    },
    Entry {
        id: "4.4.62-wrong-region",
        code: "451 4.4.62 Mail sent to the wrong Office 365 region. ATTR35",
        codes: &["4.4.62"],
        needles: &[],
        wrapper: false,
        title: "ATTR35: mail sent to the wrong Office 365 region",
        meaning: "Exchange Online deferred the message because it arrived at an endpoint that does not serve the tenant: the MX record or smart host used is a legacy value (mail.messaging.microsoft.com, mail.global.frontbridge.com) or an Office 365 IP address.",
        hops: TO_EOP_AND_MX,
        causes: &[
            cause(
                "The send connector (or a device or application) uses a legacy smart host or an Office 365 IP address instead of the tenant's endpoint",
                &["dns.mx.routing_domain@eop"],
                "Set-SendConnector \"Outbound to Office 365 - <guid>\" -SmartHosts $null -DNSRoutingEnabled $true (the Hybrid Configuration Wizard routes by the MX of <tenant>.mail.onmicrosoft.com); devices: use <tenant>.mail.protection.outlook.com",
            ),
            cause(
                "An MX record still points to a legacy value (mail.messaging.microsoft.com, frontbridge)",
                &["dns.mx.accepted_domain@mx", "dns.mx.routing_domain@eop"],
                "Publish one MX per domain: <domain-with-dashes>.mail.protection.outlook.com (priority 0), and remove the legacy values",
            ),
            cause(
                "Mail to outside recipients relayed through Exchange Online matches no inbound connector (neither by certificate nor by IP)",
                &["config.exo_inbound.certificate_domain@eop"],
                FIX_INBOUND_CERT,
            ),
        ],
        sources: &[ATTR35],
    },
    Entry {
        id: "4.4.7-message-expired",
        code: "550 4.4.7 QUEUE.Expired; message expired",
        codes: &["4.4.7"],
        needles: &[],
        wrapper: false,
        title: "Message expired: it sat in a queue until the retry time ran out",
        meaning: "The sender kept retrying and gave up when the message expired (RFC 3463 X.4.7, delivery time expired): Exchange Online retries a connector delivery for 24 hours, Exchange Server 2 days by default. The error behind the retries is in the queue's LastError or the message trace, not here.",
        hops: BOTH_WAYS,
        causes: &[
            cause(
                "The next hop was unreachable the whole time (port 25 blocked or filtered, server down)",
                &["tcp.smtp.reachable"],
                FIX_QUEUE,
            ),
            cause(
                "Every session failed at TLS or the certificate (no STARTTLS, a name or trust failure)",
                &[
                    "smtp.starttls",
                    "tls.handshake",
                    "tls.cert.name",
                    "tls.cert.trusted",
                    "tls.cert.validity",
                ],
                FIX_QUEUE,
            ),
            cause(
                "DNS could not resolve the next hop during the whole retry time",
                &["dns.host.resolves", "dns.mx.routing_domain"],
                FIX_DNS_ONPREM,
            ),
        ],
        sources: &[NDR_447, MFI, RFC3463],
    },
    Entry {
        id: "4.5.3-too-many-recipients",
        code: "452 4.5.3 Too many recipients",
        codes: &["4.5.3"],
        needles: &[],
        wrapper: false,
        title: "Too many recipients",
        meaning: "The message has more envelope recipients than the receiver accepts in one transaction (Exchange Online: more than 200 from the same domain). The sender must send the rest in another transaction; Exchange does this by itself when it gets 452.",
        hops: BOTH_WAYS,
        causes: &[cause(
            "The sending application or server does not split recipients after a 452 reply",
            &[],
            "Get-ReceiveConnector | fl Name,MaxRecipientsPerMessage (on-premises); let the sending application send in batches of at most 200 recipients",
        )],
        sources: &[NDR, RFC3463],
    },
    Entry {
        id: "4.7.0-prx5",
        code: "451 4.7.0 Temporary server error. Please try again later. PRX5",
        codes: &["4.7.0"],
        needles: &["PRX5"],
        wrapper: false,
        title: "PRX5: the on-premises receive connector no longer recognises Exchange Online",
        meaning: "The on-premises server refused mail from Exchange Online with a temporary error. In hybrid this happens when the receive connector's TlsDomainCapabilities still names Exchange Online's old certificate issuer (\"MSIT Machine Auth CA 2\", changed in April 2016) instead of mail.protection.outlook.com.",
        hops: FROM_EOP,
        causes: &[cause(
            "The receive connector's TlsDomainCapabilities names the old issuer instead of mail.protection.outlook.com:AcceptCloudServicesMail",
            &["config.receive.capabilities"],
            "Get-ReceiveConnector | ? {$_.TlsDomainCapabilities -like \"*MSIT Machine Auth CA 2*\"} | Set-ReceiveConnector -TlsDomainCapabilities mail.protection.outlook.com:AcceptCloudServicesMail; or rerun the Hybrid Configuration Wizard",
        )],
        sources: &[APRIL_2016],
    },
    Entry {
        id: "4.7.0-untrusted-root",
        code: "454 4.7.0 Failed to establish appropriate TLS channel: UntrustedRoot",
        codes: &["4.7.0"],
        needles: &["UntrustedRoot"],
        wrapper: false,
        title: "UntrustedRoot: the on-premises server presents a certificate Exchange Online does not trust",
        meaning: "Mail from on-premises to Exchange Online stops (event 2004 on the sending server): two certificates enabled for SMTP match the server's name, one from a public CA and one from an internal CA, and Exchange presents the internal one, which Exchange Online refuses.",
        hops: TO_EOP,
        causes: &[
            cause(
                "A second SMTP certificate from an internal or private CA matches the server name and is presented to Exchange Online",
                &["tls.cert.trusted@onprem", "relay.client-cert.trust"],
                "Get-ExchangeCertificate | fl Thumbprint,Subject,Issuer,Services,NotAfter; take SMTP off the internal-CA certificate (Enable-ExchangeCertificate only adds services: re-enable it with -Services IIS, or Remove-ExchangeCertificate it when nothing else uses it); then Restart-Service MSExchangeTransport",
            ),
            cause(
                "The presented certificate's chain is incomplete",
                &["tls.cert.chain_complete@onprem", "relay.client-cert.chain"],
                FIX_CHAIN,
            ),
        ],
        sources: &[EVENT_2004],
    },
    Entry {
        id: "4.7.320-subject-mismatch",
        code: "450 4.7.320 Certificate validation failed [Message=SubjectMismatch]",
        codes: &["4.7.320"],
        needles: &["SubjectMismatch"],
        wrapper: false,
        title: "Certificate validation failed: SubjectMismatch",
        meaning: "Exchange Online validated the destination server's certificate and the name does not match: the certificate carries neither the outbound connector's TlsDomain nor (without one) the smart host's name. Queued messages are retried for 24 hours.",
        hops: FROM_EOP,
        causes: &[
            cause(
                "The on-premises certificate lacks the name Exchange Online's outbound connector expects (TlsDomain)",
                &["tls.cert.name"],
                FIX_RENEW,
            ),
            cause(
                "One of the servers behind the smart host presents another certificate (a receive connector without TlsCertificateName presents the self-signed one)",
                &["tls.cert.name", "tls.cert.trusted"],
                FIX_RECEIVE_CERT,
            ),
            cause(
                "The outbound connector's TlsDomain is not the name the certificate carries",
                &["config.exo_outbound.tls"],
                FIX_EXO_TLSDOMAIN,
            ),
        ],
        sources: &[MFI, TLS_HYBRID],
    },
    Entry {
        id: "4.7.320-expired",
        code: "450 4.7.320 Certificate validation failed [Message=... expired]",
        codes: &["4.7.320"],
        needles: &["expired"],
        wrapper: false,
        title: "Certificate validation failed: the certificate expired",
        meaning: "Exchange Online refuses the destination server's certificate because it is outside its validity period. Every hybrid connector that validates it fails from that day on.",
        hops: FROM_EOP,
        causes: &[cause(
            "The on-premises hybrid certificate expired (or the server presents an old one after the renewal)",
            &["tls.cert.validity", "tls.cert.expiry"],
            FIX_RENEW,
        )],
        sources: &[MFI, TLS_HYBRID],
    },
    Entry {
        id: "4.7.320-certificate-validation-failed",
        code: "450 4.7.320 Certificate validation failed",
        codes: &["4.7.320"],
        needles: &[],
        wrapper: false,
        title: "Certificate validation failed",
        meaning: "Exchange Online encountered an error validating the destination server's certificate: it expired, its subject does not match, or it is no longer valid. The text in brackets says which.",
        hops: FROM_EOP,
        causes: &[
            cause(
                "The certificate lacks the expected name",
                &["tls.cert.name"],
                FIX_RECEIVE_CERT,
            ),
            cause(
                "The certificate expired or is not valid yet",
                &["tls.cert.validity"],
                FIX_RENEW,
            ),
            cause(
                "The chain is incomplete or not trusted",
                &["tls.cert.chain_complete", "tls.cert.trusted"],
                FIX_CHAIN,
            ),
        ],
        sources: &[MFI],
    },
    Entry {
        id: "4.7.321-starttls-not-supported",
        code: "4.7.321 / 5.7.321 starttls-not-supported",
        codes: &["4.7.321", "5.7.321"],
        needles: &[],
        wrapper: false,
        title: "starttls-not-supported: the destination must support TLS",
        meaning: "Exchange Online requires TLS for this destination (DNSSEC and DANE apply): the destination server did not answer STARTTLS, or the TLS handshake failed.",
        hops: FROM_EOP,
        causes: &[
            cause(
                "The server does not offer STARTTLS (a missing certificate, or a device that strips it)",
                &["smtp.starttls", "smtp.banner.masked"],
                FIX_RECEIVE_CERT,
            ),
            cause(
                "The TLS handshake fails (no common protocol version, TLS 1.0/1.1 only)",
                &["tls.handshake", "tls.version"],
                "Enable TLS 1.2 on the Exchange server and restart the transport services",
            ),
        ],
        sources: &[NDR, RFC7672],
    },
    Entry {
        id: "4.7.322-certificate-expired",
        code: "4.7.322 / 5.7.322 certificate-expired",
        codes: &["4.7.322", "5.7.322"],
        needles: &[],
        wrapper: false,
        title: "certificate-expired: the destination's certificate expired",
        meaning: "DNSSEC checks passed, but the destination server presented an expired certificate.",
        hops: FROM_EOP,
        causes: &[cause(
            "The on-premises hybrid certificate expired",
            &["tls.cert.validity", "tls.cert.expiry"],
            FIX_RENEW,
        )],
        sources: &[NDR],
    },
    Entry {
        id: "4.7.323-tlsa-invalid",
        code: "4.7.323 / 5.7.323 tlsa-invalid",
        codes: &["4.7.323", "5.7.323"],
        needles: &[],
        wrapper: false,
        title: "tlsa-invalid: the domain failed DANE validation",
        meaning: "The destination's TLSA records are DNSSEC-authentic, but the certificate does not match them (typically a certificate renewed with a new key while the TLSA record still pins the old one), the record is misconfigured, or the certificate is not valid yet.",
        hops: FROM_EOP,
        causes: &[
            cause(
                "The certificate was renewed (new key) but the TLSA record still names the old key",
                &["tls.dane"],
                "Publish _25._tcp.<host> TLSA 3 1 1 <SHA-256 of the new certificate's public key> next to the old record, wait for the old TTL, then remove the old record (mailpath cert NEW.pfx --profile <profile> prints the record)",
            ),
            cause(
                "The TLSA record is malformed or uses a usage SMTP cannot use (PKIX-TA/PKIX-EE)",
                &["tls.dane"],
                "Use DANE-EE (3 1 1) or DANE-TA (2 1 1) records for SMTP (RFC 7672)",
            ),
        ],
        sources: &[NDR, RFC7672],
    },
    Entry {
        id: "4.7.324-dnssec-invalid",
        code: "4.7.324 / 5.7.324 dnssec-invalid",
        codes: &["4.7.324", "5.7.324"],
        needles: &[],
        wrapper: false,
        title: "dnssec-invalid: the destination domain returned invalid DNSSEC records",
        meaning: "The destination domain indicated it is DNSSEC-signed, but Exchange Online could not validate it: a broken chain of trust (DS and DNSKEY do not match), expired signatures.",
        hops: FROM_EOP,
        causes: &[cause(
            "The zone's DNSSEC chain is broken (a key rollover without the DS update, expired RRSIGs)",
            &["dns.host.resolves"],
            "Check the zone with a DNSSEC validator; fix the DS record at the parent or re-sign the zone",
        )],
        sources: &[NDR],
    },
    Entry {
        id: "4.7.5-tlscertificatename-not-found",
        code: "454 4.7.5 The certificate specified in TlsCertificateName of the SendConnector could not be found",
        codes: &["4.7.5"],
        needles: &[],
        wrapper: false,
        title: "The certificate in the send connector's TlsCertificateName could not be found",
        meaning: "The on-premises send connector to Exchange Online names (<I>issuer<S>subject) a certificate the sending server does not have: the certificate was renewed or removed without updating the connector. Mail to Exchange Online queues on-premises.",
        hops: TO_EOP,
        causes: &[
            cause(
                "The certificate was renewed (another issuer or subject) and the send connector still names the old one",
                &["config.send.tls_certificate_name@eop"],
                FIX_SEND_CERT,
            ),
            cause(
                "The named certificate is installed, but not on every source transport server of the send connector",
                &["config.send.tls_certificate_name@eop"],
                "(Get-SendConnector \"Outbound to Office 365 - <guid>\").SourceTransportServers; install and enable the certificate on each of them: Import-ExchangeCertificate, Enable-ExchangeCertificate -Services SMTP",
            ),
        ],
        sources: &[TLS_HYBRID, APRIL_2016],
    },
    Entry {
        id: "4.7.500-699-access-denied",
        code: "451 4.7.500-699 Access denied, please try again later (ASxxx)",
        codes: &["4.7.500-699"],
        needles: &[],
        wrapper: false,
        title: "Access denied, please try again later: IP throttling",
        meaning: "Exchange Online throttles the connecting IP address (graylisting): its sending pattern changed significantly (much more mail than before), or it is new and has no sending history. It lifts as the address builds a history; mail from an on-premises server that matches an inbound connector is not throttled this way.",
        hops: TO_EOP,
        causes: &[
            cause(
                "On-premises mail reaches Exchange Online without matching an inbound connector (by certificate or IP), so it is treated as a new internet sender",
                &[
                    "config.exo_inbound.certificate_domain@eop",
                    "tls.cert.name@onprem",
                ],
                FIX_INBOUND_CERT,
            ),
            cause(
                "The egress address is new or sends much more than it used to; reputation signals (reverse DNS, SPF) are missing",
                &["dns.ptr.fcrdns", "dns.spf.egress"],
                "Publish a PTR record for the egress address matching the server's EHLO name and include the address in SPF; the throttling ends as the address builds a sending history",
            ),
        ],
        sources: &[NDR, NDR_AS],
    },
    Entry {
        id: "4.7.850-899-ip-restricted",
        code: "451 4.7.850-899 Access denied, please try again later",
        codes: &["4.7.850-899"],
        needles: &[],
        wrapper: false,
        title: "Access denied: the sending IP is temporarily restricted",
        meaning: "Exchange Online detected suspicious activity from the sending IP address and restricted it temporarily while it is evaluated.",
        hops: TO_EOP_AND_MX,
        causes: &[cause(
            "The on-premises egress address has poor reputation (reverse DNS, SPF) or sent unusual volume",
            &["dns.ptr.fcrdns", "dns.spf.egress"],
            "Publish a PTR record matching the EHLO name, include the address in SPF, and make sure the server is not an open relay",
        )],
        sources: &[NDR],
    },
    Entry {
        id: "5.1.1-recipient-not-found-on-premises",
        code: "550 5.1.1 RESOLVER.ADR.ExRecipNotFound",
        codes: &["5.1.1"],
        needles: &["ExRecipNotFound"],
        wrapper: false,
        title: "Recipient not found by the resolver",
        meaning: "The recipient address resolves to no recipient in the directory of the server that bounced it (RFC 3463 X.1.1, bad destination mailbox address). In hybrid: the recipient lives on the other side but the domain is authoritative here, or the object that routes to it (a remote mailbox or mail user with its target address) is missing.",
        hops: BOTH_WAYS,
        causes: &[
            cause(
                "The shared domain is Authoritative in Exchange Online while some of its recipients still live on-premises",
                &[],
                FIX_ACCEPTED_INTERNAL_RELAY,
            ),
            cause(
                "The recipient's object on the other side is missing or has no target address (<alias>@<tenant>.mail.onmicrosoft.com for cloud mailboxes)",
                &[],
                "On-premises: Get-RemoteMailbox <user> | fl RemoteRoutingAddress,EmailAddresses; Enable-RemoteMailbox / Set-RemoteMailbox <user> -RemoteRoutingAddress <alias>@<tenant>.mail.onmicrosoft.com",
            ),
        ],
        sources: &[NDR, RFC3463],
    },
    Entry {
        id: "5.1.10-recipient-not-found",
        code: "550 5.1.10 RESOLVER.ADR.RecipientNotFound",
        codes: &["5.1.10"],
        needles: &[],
        wrapper: false,
        title: "Recipient not found by SMTP address lookup",
        meaning: "Exchange Online looked the recipient's SMTP address up and found nothing. In hybrid: the on-premises recipient is not synchronised to the tenant (so Exchange Online does not know to route it on-premises), a cloud mailbox lacks the address, or the domain is Authoritative in Exchange Online.",
        hops: TO_EOP_AND_MX,
        causes: &[
            cause(
                "The recipient does not exist in Exchange Online's directory (not synchronised by Entra Connect, or a proxy address missing)",
                &[],
                "Get-Recipient <address> (Exchange Online PowerShell); fix the directory synchronisation of the object, or add the address: Set-RemoteMailbox <user> -EmailAddresses @{add='smtp:<address>'} on-premises",
            ),
            cause(
                "The domain is Authoritative in Exchange Online while recipients of it live on-premises",
                &[],
                FIX_ACCEPTED_INTERNAL_RELAY,
            ),
        ],
        sources: &[NDR, NDR_5110],
    },
    Entry {
        id: "5.3.4-message-too-big",
        code: "552 5.3.4 Message size exceeds fixed maximum message size",
        codes: &["5.3.4", "5.2.3"],
        needles: &[],
        wrapper: false,
        title: "Message too big",
        meaning: "The message is bigger than the receiving system accepts (RFC 3463 X.3.4 message too big for system, X.2.3 message length exceeds administrative limit). In hybrid the smallest limit on the path wins: the organisation's transport limits, the connectors' MaxMessageSize, the Edge's.",
        hops: BOTH_WAYS,
        causes: &[cause(
            "A connector or the organisation's transport configuration on the path has a lower size limit than the message",
            &[],
            "Get-TransportConfig | fl MaxReceiveSize,MaxSendSize; Get-SendConnector | ft Name,MaxMessageSize; Get-ReceiveConnector | ft Name,MaxMessageSize; raise the smallest one (Set-ReceiveConnector <name> -MaxMessageSize 150MB)",
        )],
        sources: &[RFC3463],
    },
    Entry {
        id: "5.4.1-directory-based-edge-blocking",
        code: "550 5.4.1 Recipient address rejected: Access denied. AS(201806281)",
        codes: &["5.4.1"],
        needles: &["Recipient address rejected"],
        wrapper: false,
        title: "Recipient address rejected: Directory-Based Edge Blocking",
        meaning: "Exchange Online Protection rejected the recipient at the edge because it does not exist in the tenant's directory (Directory-Based Edge Blocking). In hybrid: an on-premises recipient that is not synchronised, or a domain set to Authoritative while some recipients are on-premises only.",
        hops: MX,
        causes: &[
            cause(
                "The recipient exists on-premises but not in the tenant (not synchronised by Entra Connect, a filtered OU)",
                &[],
                "Get-Recipient <address> in Exchange Online PowerShell; synchronise the object (Entra Connect scope) so that it exists as a mail user",
            ),
            cause(
                "The domain is Authoritative in Exchange Online, so unknown recipients are refused at the edge",
                &["dns.mx.accepted_domain@mx"],
                FIX_ACCEPTED_INTERNAL_RELAY,
            ),
        ],
        sources: &[NDR, DBEB, NDR_541],
    },
    Entry {
        id: "5.4.1-relay-access-denied",
        code: "550 5.4.1 Relay Access Denied",
        codes: &["5.4.1"],
        needles: &["Relay Access Denied"],
        wrapper: false,
        title: "Relay Access Denied: the server does not accept mail for this domain",
        meaning: "The server that refused does not accept mail for the recipient's domain: the MX record points to a system where the domain is not an accepted domain, or the domain is not (yet) in the tenant.",
        hops: TO_EOP_AND_MX,
        causes: &[
            cause(
                "The MX record of the recipient's domain points to a system that does not accept the domain",
                &["dns.mx.accepted_domain@mx", "dns.mx.routing_domain@eop"],
                "Get-AcceptedDomain (Exchange Online) must list the domain; publish the MX <domain-with-dashes>.mail.protection.outlook.com",
            ),
            cause(
                "The domain is not an accepted (verified) domain of the tenant",
                &[],
                "Add and verify the domain in the Microsoft 365 admin center (Settings > Domains); Get-AcceptedDomain",
            ),
        ],
        sources: &[NDR, NDR_541],
    },
    Entry {
        id: "5.4.14-hop-count-exceeded",
        code: "554 5.4.14 Hop count exceeded - possible mail loop ATTR34",
        codes: &["5.4.14"],
        needles: &[],
        wrapper: false,
        title: "Hop count exceeded: a mail loop through Exchange Online (ATTR34)",
        meaning: "Exchange Online stopped a routing loop after the message passed through too many hops. In hybrid: the connector that sends on-premises mail uses DNS (the MX points back to Exchange Online) instead of the on-premises smart host, or under centralized mail transport the on-premises connector is scoped to accepted domains.",
        hops: BOTH_WAYS,
        causes: &[
            cause(
                "Exchange Online's outbound connector to on-premises routes by MX (which points back to Exchange Online) instead of the on-premises smart host",
                &["config.exo_outbound.smart_hosts", "dns.mx.accepted_domain@mx"],
                FIX_SMART_HOST,
            ),
            cause(
                "The recipient domain is not an authoritative accepted domain where it should be, or its routing object points back to the other side",
                &[],
                "Get-AcceptedDomain (both sides); Get-RemoteMailbox <user> | fl RemoteRoutingAddress (on-premises); Get-MailUser <user> | fl ExternalEmailAddress (Exchange Online): neither may point back to itself",
            ),
            cause(
                "Centralized mail transport (RouteAllMessagesViaOnPremises) with the on-premises connector scoped to accepted domains",
                &["config.exo_outbound.smart_hosts"],
                "Get-OutboundConnector | fl Name,RouteAllMessagesViaOnPremises,RecipientDomains,ConnectorType; rerun the Hybrid Configuration Wizard",
            ),
        ],
        sources: &[NDR, NDR_LOOP],
    },
    Entry {
        id: "5.4.6-routing-loop",
        code: "554 5.4.6 Hop count exceeded - possible mail loop",
        codes: &["5.4.6"],
        needles: &[],
        wrapper: false,
        title: "Routing loop detected on-premises",
        meaning: "On-premises Exchange stopped a mail loop (RFC 3463 X.4.6, routing loop detected); in hybrid the loop usually runs between on-premises and Exchange Online: a recipient's routing address points back, or an Edge does not know a subdomain as accepted and sends it to EOP, which sends it back.",
        hops: BOTH_WAYS,
        causes: &[
            cause(
                "A subdomain is not an accepted domain where the mail arrives (an Edge that routes it out again to EOP)",
                &["tcp.edgesync.reachable@edge"],
                "New-AcceptedDomain -Name <subdomain> -DomainName <subdomain> -DomainType InternalRelay; Start-EdgeSynchronization",
            ),
            cause(
                "A recipient's RemoteRoutingAddress or target address points back to the organisation it came from",
                &[],
                "Get-RemoteMailbox <user> | fl RemoteRoutingAddress (must be <alias>@<tenant>.mail.onmicrosoft.com); Get-MailUser <user> | fl ExternalEmailAddress",
            ),
            cause(
                "Exchange Online's connector to on-premises routes by MX instead of the on-premises smart host",
                &["config.exo_outbound.smart_hosts"],
                FIX_SMART_HOST,
            ),
        ],
        sources: &[NDR_LOOP, LOOP_ON_PREMISES, RFC3463],
    },
    Entry {
        id: "5.4.300-message-expired",
        code: "550 5.4.300 Message expired",
        codes: &["5.4.300"],
        needles: &[],
        wrapper: false,
        title: "Message expired in Exchange Online",
        meaning: "Exchange Online could not deliver the message in time: the destination server never responded, or the message produced an NDR that could not be delivered to the sender either.",
        hops: FROM_EOP,
        causes: &[
            cause(
                "The on-premises endpoint did not answer during the retry time",
                &["tcp.smtp.reachable", "smtp.banner"],
                FIX_FIREWALL,
            ),
            cause(
                "TLS or certificate failures on every attempt",
                &["smtp.starttls", "tls.cert.name", "tls.cert.trusted"],
                FIX_QUEUE,
            ),
        ],
        sources: &[NDR],
    },
    Entry {
        id: "5.7.1-client-not-authenticated",
        code: "530 5.7.1 Client was not authenticated",
        codes: &["5.7.1"],
        needles: &["not authenticated"],
        wrapper: false,
        title: "Client was not authenticated: the receiving server refuses anonymous mail",
        meaning: "The receiving server requires authentication before it accepts the message and the sender did not authenticate. In hybrid: the on-premises receive connector that answers Exchange Online does not accept anonymous or partner mail.",
        hops: FROM_EOP,
        causes: &[
            cause(
                "The receive connector that answers Exchange Online lacks the AnonymousUsers permission group (or the TLS capability for Exchange Online)",
                &["config.receive.capabilities"],
                "Set-ReceiveConnector \"<SERVER>\\Default Frontend <SERVER>\" -PermissionGroups AnonymousUsers,ExchangeServers,ExchangeLegacyServers -TlsDomainCapabilities mail.protection.outlook.com:AcceptCloudServicesMail",
            ),
            cause(
                "Another receive connector (with RemoteIPRanges covering Exchange Online's addresses) answers and requires authentication",
                &[],
                "Get-ReceiveConnector | ft Name,Bindings,RemoteIPRanges,PermissionGroups,AuthMechanism: the connector whose RemoteIPRanges fits the sender's address answers",
            ),
        ],
        sources: &[NDR, NDR_571],
    },
    Entry {
        id: "5.7.1-unable-to-relay",
        code: "550 5.7.1 Unable to relay",
        codes: &["5.7.1"],
        needles: &["Unable to relay"],
        wrapper: false,
        title: "Unable to relay: the receiving system is not the destination and refuses to forward",
        meaning: "The sending system asked the receiving system to pass the message on, and the receiving system does not accept the recipient's domain or does not trust the sender to relay. In hybrid with centralized mail transport: the on-premises receive connector no longer recognises Exchange Online (TlsDomainCapabilities).",
        hops: BOTH_WAYS,
        causes: &[
            cause(
                "The on-premises receive connector does not grant Exchange Online the cloud-services capability (TlsDomainCapabilities), so relaying to outside domains is refused",
                &["config.receive.capabilities@onprem"],
                "Set-ReceiveConnector \"<SERVER>\\Default Frontend <SERVER>\" -TlsDomainCapabilities mail.protection.outlook.com:AcceptCloudServicesMail; or rerun the Hybrid Configuration Wizard",
            ),
            cause(
                "An MX record points to a system where the domain is not accepted",
                &["dns.mx.accepted_domain@mx", "dns.mx.routing_domain@eop"],
                "Point the domain's MX to the system that accepts it (<domain-with-dashes>.mail.protection.outlook.com), or add the accepted domain there",
            ),
            cause(
                "An application or device relays through a connector that does not allow it",
                &[],
                "Create a dedicated receive connector for it: New-ReceiveConnector -Name Relay -TransportRole FrontendTransport -Custom -Bindings 0.0.0.0:25 -RemoteIpRanges <device>; Get-ReceiveConnector Relay | Add-ADPermission -User \"NT AUTHORITY\\ANONYMOUS LOGON\" -ExtendedRights ms-Exch-SMTP-Accept-Any-Recipient",
            ),
        ],
        sources: &[NDR, APRIL_2016, ANONYMOUS_RELAY],
    },
    Entry {
        id: "5.7.1-not-authorized",
        code: "550 5.7.1 Delivery not authorized, message refused",
        codes: &["5.7.1"],
        needles: &[],
        wrapper: false,
        title: "Delivery not authorized, message refused",
        meaning: "Security or policy refused the message (RFC 3463 X.7.1): the sender may not send to this recipient (a group that accepts only members or authenticated senders), or a transport rule rejected it. In hybrid a frequent cause is mail between on-premises and Exchange Online arriving as external (anonymous), so restrictions for \"inside the organization\" senders refuse it.",
        hops: BOTH_WAYS,
        causes: &[
            cause(
                "The message arrived anonymous (not internal): cross-premises headers were stripped or the connector did not attribute it",
                &[
                    "headers.authas",
                    "config.send.cloud_services_mail@eop",
                    "config.receive.capabilities@onprem",
                    "relay.verdict",
                ],
                "Set-SendConnector \"Outbound to Office 365 - <guid>\" -CloudServicesMailEnabled $true; Set-ReceiveConnector \"<SERVER>\\Default Frontend <SERVER>\" -TlsDomainCapabilities mail.protection.outlook.com:AcceptCloudServicesMail; or rerun the Hybrid Configuration Wizard",
            ),
            cause(
                "The recipient (a group, a mailbox) accepts mail only from some senders or only from authenticated senders",
                &[],
                "Get-DistributionGroup <group> | fl RequireSenderAuthenticationEnabled,AcceptMessagesOnlyFrom*; adjust the restriction",
            ),
            cause(
                "A transport (mail flow) rule rejected the message",
                &[],
                "Get-TransportRule | ? {$_.RejectMessageReasonText -or $_.RejectMessageEnhancedStatusCode} | ft Name,RejectMessageEnhancedStatusCode,RejectMessageReasonText",
            ),
        ],
        sources: &[NDR, NDR_571],
    },
    Entry {
        id: "5.7.12-sender-not-authenticated",
        code: "550 5.7.12 Sender was not authenticated by organization",
        codes: &["5.7.12"],
        needles: &[],
        wrapper: false,
        title: "Sender was not authenticated by organization",
        meaning: "The recipient accepts only mail from inside its organization, and this message came from outside. In hybrid: mail from the same organization on the other side arrived as external, because it was not attributed to the tenant or its organization headers were stripped.",
        hops: BOTH_WAYS,
        causes: &[
            cause(
                "Mail from on-premises is not attributed to the tenant: the certificate presented does not match the inbound connector",
                &[
                    "tls.cert.name@onprem",
                    "config.exo_inbound.certificate_domain@eop",
                    "relay.client-cert.name",
                ],
                FIX_INBOUND_CERT,
            ),
            cause(
                "Cross-premises headers are stripped (CloudServicesMailEnabled False), so the message is anonymous",
                &[
                    "config.send.cloud_services_mail@eop",
                    "headers.authas",
                    "headers.cross-premises.filtered",
                ],
                "Set-SendConnector \"Outbound to Office 365 - <guid>\" -CloudServicesMailEnabled $true",
            ),
            cause(
                "The recipient is configured to refuse external senders",
                &[],
                "Set-Mailbox <recipient> -RequireSenderAuthenticationEnabled $false (or the group equivalent), if outside senders should reach it",
            ),
        ],
        sources: &[NDR, NDR_5712],
    },
    Entry {
        id: "5.7.23-spf-violation",
        code: "550 5.7.23 The message was rejected because of Sender Policy Framework violation",
        codes: &["5.7.23"],
        needles: &[],
        wrapper: false,
        title: "SPF violation",
        meaning: "The destination validates SPF and the sending address is not authorised by the sender domain's SPF record (RFC 7372 X.7.23, SPF validation failed).",
        hops: TO_EOP_AND_MX,
        causes: &[
            cause(
                "The SPF record does not cover the on-premises egress addresses",
                &["dns.spf.egress", "dns.spf.record"],
                "Add the egress addresses to the SPF record: v=spf1 ip4:<egress> include:spf.protection.outlook.com -all",
            ),
            cause(
                "The SPF record lacks include:spf.protection.outlook.com for mail from Exchange Online",
                &["dns.spf.eop"],
                "Add include:spf.protection.outlook.com to the SPF record",
            ),
        ],
        sources: &[NDR],
    },
    Entry {
        id: "5.7.3-starttls-required",
        code: "451 5.7.3 STARTTLS is required to send mail",
        codes: &["5.7.3"],
        needles: &[],
        wrapper: false,
        title: "STARTTLS is required to send mail",
        meaning: "The receiving side requires TLS and the sender tried to send without it (RFC 3463 X.7.3). Exchange Online requires TLS from on-premises on the hybrid connector; the on-premises receive connector may require it from Exchange Online. When the receiver does not even offer STARTTLS, the sender had no chance: see 4.4.101.",
        hops: BOTH_WAYS,
        causes: &[
            cause(
                "The receiver requires TLS but does not offer STARTTLS (its certificate is missing or unusable, event 12014)",
                &["smtp.starttls", "tls.cert.present"],
                FIX_RECEIVE_CERT,
            ),
            cause(
                "The sender does not use TLS (its connector does not require it, or an SMTP-inspecting device strips STARTTLS)",
                &["relay.tls", "smtp.banner.masked"],
                "Set-SendConnector \"Outbound to Office 365 - <guid>\" -RequireTLS $true -TlsAuthLevel DomainValidation -TlsDomain mail.protection.outlook.com; remove SMTP inspection between the servers",
            ),
        ],
        sources: &[NEW_CERT, RFC3207, TLS_HYBRID],
    },
    Entry {
        id: "5.7.51-tenant-inbound-attribution-partner",
        code: "550 5.7.51 TenantInboundAttribution; There is a partner connector configured that matched the message's recipient domain",
        codes: &["5.7.51"],
        needles: &[],
        wrapper: false,
        title: "TenantInboundAttribution: a restricted partner connector matched, the sender did not",
        meaning: "Exchange Online attributed the message to the recipient domain, where a partner inbound connector restricts senders by IP address or certificate (RestrictDomainsToIPAddresses / RestrictDomainsToCertificate), and the on-premises server matched neither: its certificate (TlsCertificateName, FQDN) is not the one the connector expects.",
        hops: TO_EOP,
        causes: &[
            cause(
                "The send connector presents another certificate than the inbound connector's TlsSenderCertificateName",
                &[
                    "config.send.tls_certificate_name@eop",
                    "tls.cert.name@onprem",
                    "relay.client-cert.name",
                ],
                FIX_SEND_CERT,
            ),
            cause(
                "TlsSenderCertificateName is not in an accepted domain (and not a wildcard)",
                &["config.exo_inbound.certificate_domain@eop"],
                FIX_INBOUND_CERT,
            ),
        ],
        sources: &[TLS_HYBRID],
    },
    Entry {
        id: "5.7.54-unable-to-relay",
        code: "550 5.7.54 SMTP; Unable to relay recipient in non-accepted domain",
        codes: &["5.7.54"],
        needles: &[],
        wrapper: false,
        title: "Unable to relay recipient in non-accepted domain",
        meaning: "An on-premises Exchange (or Edge) receive connector refused a recipient outside its accepted domains from a sender it does not trust to relay. In hybrid: Exchange Online relays (centralized mail transport, or a cloud domain not accepted on-premises) to a connector that does not recognise it, or an Edge whose accepted domains are stale.",
        hops: &["in.eop-edge", "in.eop-mailbox", "in.edge-mailbox"],
        causes: &[
            cause(
                "The receive connector does not recognise Exchange Online as a trusted partner (TlsDomainCapabilities), so it may not relay",
                &["config.receive.capabilities@onprem"],
                "Set-ReceiveConnector \"<SERVER>\\Default Frontend <SERVER>\" -TlsDomainCapabilities mail.protection.outlook.com:AcceptCloudServicesMail (Edge: the Default internal Receive connector); or rerun the Hybrid Configuration Wizard",
            ),
            cause(
                "The recipient's domain is not an accepted domain on-premises (the tenant's coexistence domain, a new domain), or the Edge has not received it (EdgeSync)",
                &["tcp.edgesync.reachable@edge"],
                "Get-AcceptedDomain; New-AcceptedDomain -Name <domain> -DomainName <domain> -DomainType InternalRelay; Start-EdgeSynchronization; Test-EdgeSynchronization",
            ),
        ],
        sources: &[NDR_571, ANONYMOUS_RELAY],
    },
    Entry {
        id: "5.7.64-attr36",
        code: "550 5.7.64 TenantAttribution; Relay Access Denied ATTR36",
        codes: &["5.7.64"],
        needles: &["ATTR36"],
        wrapper: false,
        title: "TenantAttribution ATTR36: the certificate's domain is not an accepted domain",
        meaning: "Exchange Online could not attribute the relayed message to the tenant: the domain of the certificate the on-premises server presents (or of the sender) is not a verified accepted domain of the tenant.",
        hops: TO_EOP,
        causes: &[
            cause(
                "The certificate name (TlsSenderCertificateName) is in a domain that is not a verified accepted domain",
                &["config.exo_inbound.certificate_domain@eop"],
                "Use a certificate whose name is in a verified accepted domain (or add and verify that domain), then Set-InboundConnector \"Inbound from <guid>\" -TlsSenderCertificateName <name>",
            ),
            cause(
                "The sender's domain is not a verified accepted domain of the tenant",
                &[],
                "Add and verify the domain in the Microsoft 365 admin center; Get-AcceptedDomain",
            ),
        ],
        sources: &[RELAY_DENIED, NDR_5764],
    },
    Entry {
        id: "5.7.64-tenant-attribution",
        code: "550 5.7.64 TenantAttribution; Relay Access Denied",
        codes: &["5.7.64"],
        needles: &[],
        wrapper: false,
        title: "TenantAttribution; Relay Access Denied",
        meaning: "Exchange Online refused to relay mail from on-premises: it could not match the sending server to the tenant's inbound connector. Something on-premises changed: the certificate presented no longer matches TlsSenderCertificateName (a renewal with another name), or the sending IP no longer matches the connector's SenderIPAddresses.",
        hops: TO_EOP,
        causes: &[
            cause(
                "The certificate the send connector presents no longer matches the inbound connector's TlsSenderCertificateName (a renewed certificate with another name)",
                &[
                    "tls.cert.name@onprem",
                    "relay.client-cert.name",
                    "config.send.tls_certificate_name@eop",
                ],
                FIX_INBOUND_CERT,
            ),
            cause(
                "The on-premises server presents its certificate without the intermediate CA certificates, so it cannot be verified",
                &["tls.cert.chain_complete@onprem", "relay.client-cert.chain"],
                FIX_CHAIN,
            ),
            cause(
                "The inbound connector matches by IP address and the sending IP changed",
                &[],
                "Get-InboundConnector | fl Name,SenderIPAddresses,TlsSenderCertificateName,RestrictDomainsToIPAddresses; Set-InboundConnector \"Inbound from <guid>\" -SenderIPAddresses <current egress IP>",
            ),
        ],
        sources: &[NDR_5764, RELAY_DENIED],
    },
    Entry {
        id: "5.7.68-direct-send-not-allowed",
        code: "550 5.7.68 TenantInboundAttribution; Direct Send not allowed for this organization from unauthorized sources",
        codes: &["5.7.68"],
        needles: &[],
        wrapper: false,
        title: "Direct Send not allowed: unattributed mail from an accepted domain",
        meaning: "The tenant rejects Direct Send (Set-OrganizationConfig -RejectDirectSend $true): anonymous mail whose sender is in an accepted domain and that matches no inbound connector is refused. In hybrid, on-premises mail that is not attributed to the inbound connector (by its certificate) is exactly that.",
        hops: TO_EOP,
        causes: &[
            cause(
                "On-premises mail is not attributed: the certificate presented does not match the inbound connector's TlsSenderCertificateName",
                &[
                    "tls.cert.name@onprem",
                    "config.exo_inbound.certificate_domain@eop",
                    "relay.client-cert.name",
                ],
                FIX_INBOUND_CERT,
            ),
            cause(
                "An application or device sends directly to the MX with a sender in an accepted domain, without a connector",
                &[],
                "Send it through the on-premises servers, or create a partner inbound connector for it (New-InboundConnector -ConnectorType Partner -SenderIPAddresses <ip> ...); only as a last resort: Set-OrganizationConfig -RejectDirectSend $false",
            ),
        ],
        sources: &[DIRECT_SEND],
    },
    Entry {
        id: "5.7.511-banned-sender",
        code: "550 5.7.511 Access denied, banned sender",
        codes: &["5.7.511"],
        needles: &[],
        wrapper: false,
        title: "Access denied, banned sender: the sending IP is banned",
        meaning: "Exchange Online banned the IP address the message came from.",
        hops: TO_EOP_AND_MX,
        causes: &[cause(
            "The on-premises egress address has a bad reputation (a compromised account, an open relay, missing reverse DNS)",
            &["dns.ptr.fcrdns", "dns.spf.egress"],
            "Fix the cause (compromised accounts, open relay), then ask for delisting: email delist@messaging.microsoft.com with the full NDR and the IP address",
        )],
        sources: &[NDR],
    },
    Entry {
        id: "5.7.606-649-banned-sending-ip",
        code: "550 5.7.606-649 Access denied, banned sending IP",
        codes: &["5.7.606-649"],
        needles: &[],
        wrapper: false,
        title: "Access denied, banned sending IP",
        meaning: "The IP address the message was sent from is on Microsoft's blocked senders list.",
        hops: TO_EOP_AND_MX,
        causes: &[cause(
            "The egress address's reputation was degraded (compromise, malicious traffic, a shared address)",
            &["dns.ptr.fcrdns", "dns.spf.egress"],
            "Remove the cause, then request removal in the delist portal (https://sender.office.com)",
        )],
        sources: &[NDR],
    },
    Entry {
        id: "5.7.700-749-tenant-banned",
        code: "550 5.7.700-749 Access denied (5.7.705 tenant has exceeded threshold, 5.7.708 traffic not accepted from this IP)",
        codes: &["5.7.700-749"],
        needles: &[],
        wrapper: false,
        title: "Access denied: the tenant (or this IP) may not send",
        meaning: "5.7.705: the organization sent too much spam or bulk mail and outgoing mail is blocked (often a compromised on-premises server, or a compromised admin account that created connectors). 5.7.708: the mail comes from a known low-reputation IP address, typical of new (trial) tenants. 5.7.703: a recipient is blocked by the Tenant Allow/Block List.",
        hops: TO_EOP,
        causes: &[
            cause(
                "A compromised on-premises server or account, or an attacker's inbound connector, sent spam through the tenant (5.7.705)",
                &[],
                "Get-InboundConnector | ft Name,ConnectorType,SenderIPAddresses,TlsSenderCertificateName,WhenCreated (remove connectors you did not create); secure compromised accounts; then contact Microsoft support to lift the block",
            ),
            cause(
                "The on-premises egress address has low reputation and its mail is not attributed by a certificate-based connector (5.7.708)",
                &[
                    "config.exo_inbound.certificate_domain@eop",
                    "tls.cert.name@onprem",
                    "dns.ptr.fcrdns",
                ],
                FIX_INBOUND_CERT,
            ),
        ],
        sources: &[NDR, NDR_700],
    },
    Entry {
        id: "5.7.750-unregistered-domains",
        code: "550 5.7.750 Service unavailable. Client blocked from sending from unregistered domains",
        codes: &["5.7.750"],
        needles: &[],
        wrapper: false,
        title: "Client blocked from sending from unregistered domains",
        meaning: "A large volume of mail relayed through the tenant comes from sender domains that are not provisioned in it (added as accepted domains and validated).",
        hops: TO_EOP,
        causes: &[
            cause(
                "On-premises relays mail whose sender domains are not verified accepted domains of the tenant",
                &[],
                "Get-AcceptedDomain (Exchange Online); add and validate every domain you send from in the Microsoft 365 admin center",
            ),
            cause(
                "The inbound connector is not certificate-based with a certificate whose domain is an accepted, validated domain",
                &["config.exo_inbound.certificate_domain@eop"],
                FIX_INBOUND_CERT,
            ),
        ],
        sources: &[NDR, NDR_700],
    },
    Entry {
        id: "masked-banner",
        code: "banner 220 ****...",
        codes: &[],
        needles: &["********"],
        wrapper: false,
        title: "A masked banner: an SMTP-inspecting firewall",
        meaning: "A banner of asterisks is what Cisco PIX/ASA Mailguard (fixup protocol smtp) shows: it masks the banner, allows only the minimum SMTP commands and removes ESMTP extensions such as STARTTLS. Hybrid forbids devices that process or modify SMTP between on-premises and Microsoft 365.",
        hops: BOTH_WAYS,
        causes: &[cause(
            "An SMTP-inspecting firewall sits between the servers",
            &["smtp.banner.masked", "smtp.starttls"],
            FIX_MIDDLEBOX,
        )],
        sources: &[MAILGUARD],
    },
    Entry {
        id: "send-log-nocredentials",
        code: "send log: TLS negotiation failed with error NoCredentials",
        codes: &[],
        needles: &["NoCredentials"],
        wrapper: false,
        title: "TLS negotiation failed with error NoCredentials: the certificate has no private key",
        meaning: "The send connector's protocol log records that TLS failed because Exchange could not use the certificate it selected: the certificate named by TlsCertificateName has no private key. The queue shows 421 4.4.1 Connection timed out.",
        hops: TO_EOP,
        causes: &[cause(
            "The certificate used for outbound TLS is missing its private key",
            &["config.send.tls_certificate_name@eop"],
            "Get-ChildItem Cert:\\LocalMachine\\My | ? Thumbprint -eq <thumbprint from the send log> | select Thumbprint,HasPrivateKey; remove it, import the certificate with its private key (.pfx), Enable-ExchangeCertificate -Thumbprint <thumbprint> -Services SMTP; Get-Queue | ? Status -eq Retry | Retry-Queue",
        )],
        sources: &[NO_CREDENTIALS, PROTOCOL_LOG],
    },
    Entry {
        id: "send-log-unknowncredentials",
        code: "send log: TLS negotiation failed with error UnknownCredentials",
        codes: &[],
        needles: &["UnknownCredentials"],
        wrapper: false,
        title: "TLS negotiation failed with error UnknownCredentials: the certificate is not enabled for SMTP",
        meaning: "The send connector's protocol log records that TLS failed because the third-party certificate the connector wants to present is not bound to the SMTP service. The queue shows 451 4.4.0 Primary target IP address responded with 421 4.4.1 Connection timed out.",
        hops: TO_EOP,
        causes: &[cause(
            "The hybrid certificate is installed but not enabled for the SMTP service",
            &["config.send.tls_certificate_name@eop"],
            FIX_BIND_SMTP,
        )],
        sources: &[UNKNOWN_CREDENTIALS, PROTOCOL_LOG],
    },
];

/// The entry with this id.
pub fn entry(id: &str) -> Option<&'static Entry> {
    ENTRIES.iter().find(|e| e.id == id)
}

/// A check reference split into the check id and where to look at it (`None`: on the entry's hop).
pub fn split_ref(r: &str) -> (&str, Option<&'static [&'static str]>) {
    match r.split_once('@') {
        Some((id, side)) => (id, side_hops(side)),
        None => (r, None),
    }
}

/// The hops a `@side` names.
pub fn side_hops(side: &str) -> Option<&'static [&'static str]> {
    Some(match side {
        "onprem" => FROM_EOP,
        "eop" => TO_EOP,
        "edge" => &["out.mailbox-edge"],
        "mx" => MX,
        "mailbox" => &["in.edge-mailbox"],
        _ => return None,
    })
}

/// `docs/ndr.md`: the whole table, generated.
pub fn catalogue_markdown() -> String {
    let mut out = String::from(
        "# Error codes mailpath explains\n\n`mailpath explain` reads an NDR, a queue's LastError, a message trace detail or SMTP protocol log \
         lines, finds the SMTP replies and enhanced status codes in it, and pins each one on the mail path with the \
         causes below, most likely first. With `--profile`, `--lab` or `--diagnosis` the causes are ranked by \
         evidence: the checks named for a cause confirm it (they fail on that hop) or rule it out (they pass). A \
         code that is not in this table is explained from the RFC 3463 class, subject and detail tables, and said \
         to be.\n\nHops are the ids of the mail path (`out.edge-eop`, `in.eop-mailbox`, ...); an entry lists both \
         topologies (with and without an Edge) and the one of your deployment is used. A check written `id@onprem` \
         is looked at on the hop into the on-premises endpoint (its certificate is the one the send connector \
         presents), `@eop` on the hop into EOP, `@mx` on the internet MX hop, `@edge` on Mailbox -> Edge.\n\n\
         This file is generated from the code (`core/src/explain/catalogue.rs`); a test fails when they drift. \
         Regenerate with `MAILPATH_UPDATE_DOCS=1 cargo test -p mailpath-core ndr_doc`.\n\n",
    );
    out.push_str("| code | meaning | hops | likely causes (checks that confirm them) | sources |\n|---|---|---|---|---|\n");
    for e in ENTRIES {
        let causes: Vec<String> = e
            .causes
            .iter()
            .enumerate()
            .map(|(i, c)| {
                let checks = if c.checks.is_empty() {
                    "no check observes it".to_string()
                } else {
                    c.checks
                        .iter()
                        .map(|id| format!("`{id}`"))
                        .collect::<Vec<_>>()
                        .join(", ")
                };
                format!("{}. {} ({checks})", i + 1, cell(c.text))
            })
            .collect();
        let sources: Vec<String> = e
            .sources
            .iter()
            .enumerate()
            .map(|(i, s)| format!("[{}]({s})", i + 1))
            .collect();
        let hops: Vec<String> = e.hops.iter().map(|h| format!("`{h}`")).collect();
        out.push_str(&format!(
            "| `{}` <br> **{}** | {} | {} | {} | {} |\n",
            cell(e.code),
            cell(e.title),
            cell(e.meaning),
            hops.join(" "),
            causes.join("<br>"),
            sources.join(" ")
        ));
    }
    out.push_str("\n## Fixes\n\n");
    for e in ENTRIES {
        out.push_str(&format!("### `{}` ({})\n\n", e.code, e.id));
        for (i, c) in e.causes.iter().enumerate() {
            out.push_str(&format!(
                "{}. {}\n\n   ```powershell\n   {}\n   ```\n\n",
                i + 1,
                c.text,
                c.fix
            ));
        }
    }
    out
}

fn cell(s: &str) -> String {
    s.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .replace('|', "\\|")
}
