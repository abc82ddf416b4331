//! `tcp.*`, `smtp.*` and the handshake-level `tls.*` checks of one SMTP endpoint: pure functions
//! of the probe's evidence.

use std::time::Duration;

use crate::check::{Attachment, CheckDef, CheckResult, Place, Remediation, Status, Step};
use crate::evidence::{Connect, FailureKind, SmtpProbe, Stage, TlsPortProbe};

const RCA: &str = "https://testconnectivity.microsoft.com/tests/o365";
const TRANSPORT_OPTIONS: &str =
    "https://learn.microsoft.com/exchange/transport-options#hybrid-deployment-transport-options";
const KB320027: &str =
    "https://learn.microsoft.com/troubleshoot/exchange/mail-flow/cisco-pix-firewall-smtp-issue";
const TLS12: &str = "https://learn.microsoft.com/exchange/exchange-tls-configuration";
const NETWORK_PORTS: &str =
    "https://learn.microsoft.com/exchange/plan-and-deploy/deployment-ref/network-ports";

/// `tcp.smtp.reachable`.
pub const TCP_SMTP: CheckDef = CheckDef {
    id: "tcp.smtp.reachable",
    title: "SMTP port accepts connections",
    why: "Every hybrid hop is an SMTP connection; refused means nothing listens or a firewall rejects, a timeout \
          means packets are dropped (filtered). EOP reports 450 4.4.316 Connection refused.",
    references: &[NETWORK_PORTS, RCA],
};
/// `tcp.edgesync.reachable`.
pub const TCP_EDGESYNC: CheckDef = CheckDef {
    id: "tcp.edgesync.reachable",
    title: "EdgeSync LDAPS port 50636 is open and speaks TLS",
    why: "Mailbox servers push configuration (connectors, accepted domains, recipients) to the Edge over LDAPS on \
          50636; when it is blocked the Edge runs on stale settings and hybrid changes never arrive.",
    references: &[
        "https://learn.microsoft.com/exchange/architecture/edge-transport-servers/edge-subscriptions",
    ],
};
/// `smtp.banner`.
pub const BANNER: CheckDef = CheckDef {
    id: "smtp.banner",
    title: "Server greets with 220",
    why: "Without a 220 greeting no SMTP dialogue happens; a 4xx/5xx greeting, garbage or a trickle of bytes \
          means the endpoint is not a working mail server.",
    references: &[RCA],
};
/// `smtp.banner.delay`.
pub const BANNER_DELAY: CheckDef = CheckDef {
    id: "smtp.banner.delay",
    title: "Greeting arrives promptly",
    why: "A greeting delay (tarpit, anti-spam) slows every connection and makes some tools report 'no TLS'; \
          mailpath waits for it and reports it as what it is.",
    references: &[RCA],
};
/// `smtp.banner.masked`.
pub const BANNER_MASKED: CheckDef = CheckDef {
    id: "smtp.banner.masked",
    title: "Banner not masked by an inspecting device",
    why: "A banner of asterisks is the signature of an SMTP-inspecting firewall (Cisco ASA/PIX mask-banner). \
          Hybrid forbids devices that process or modify SMTP between on-premises and Office 365.",
    references: &[KB320027, TRANSPORT_OPTIONS],
};
/// `smtp.ehlo`.
pub const EHLO: CheckDef = CheckDef {
    id: "smtp.ehlo",
    title: "EHLO accepted",
    why: "Extended SMTP (EHLO) is needed for STARTTLS and for the extensions Exchange relies on.",
    references: &[RCA],
};
/// `smtp.starttls`.
pub const STARTTLS: CheckDef = CheckDef {
    id: "smtp.starttls",
    title: "STARTTLS offered",
    why: "Hybrid connectors require TLS (RequireTLS); without STARTTLS, EXO and on-premises refuse to send.",
    references: &[TRANSPORT_OPTIONS],
};
/// `tls.handshake`.
pub const HANDSHAKE: CheckDef = CheckDef {
    id: "tls.handshake",
    title: "TLS handshake completes",
    why: "The connectors authenticate each other with the certificates exchanged in the TLS handshake.",
    references: &[TLS12],
};
/// `tls.version`.
pub const VERSION: CheckDef = CheckDef {
    id: "tls.version",
    title: "TLS 1.2 or newer negotiated",
    why: "Exchange Online has refused TLS 1.0/1.1 on its mail endpoints since January 2021 (MC229914); a server \
          that cannot do TLS 1.2 cannot exchange hybrid mail.",
    references: &[TLS12],
};
/// `path.observable`.
pub const UNOBSERVABLE: CheckDef = CheckDef {
    id: "path.observable",
    title: "Hop observable from on-premises",
    why: "Hops inside Microsoft's network cannot be probed; their health shows in message trace.",
    references: &[
        "https://learn.microsoft.com/exchange/monitoring/trace-an-email-message/message-trace-modern-eac",
    ],
};

/// Every definition of this module.
pub const DEFS: &[CheckDef] = &[
    TCP_SMTP,
    TCP_EDGESYNC,
    BANNER,
    BANNER_DELAY,
    BANNER_MASKED,
    EHLO,
    STARTTLS,
    HANDSHAKE,
    VERSION,
    UNOBSERVABLE,
];

/// A greeting slower than this is reported as a delay.
pub const SLOW_GREETING: Duration = Duration::from_secs(5);

/// Where an endpoint sits, which shapes how failures are worded and judged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EndpointContext {
    /// Where the checks attach.
    pub attachment: Attachment,
    /// Whether the endpoint is outside the on-premises network (EOP): failing to reach it from a
    /// workstation says more about the workstation's network than about EOP, so it is a skip.
    pub external_service: bool,
    /// What the endpoint is, for the words (`the Edge's internet-facing listener`).
    pub role: String,
    /// Where mailpath runs from, and whether not reaching this endpoint from there is expected.
    pub vantage: Vantage,
}

/// Where mailpath runs from, as the reachability checks word it: a hop that cannot be observed from here
/// is a skip that says why, and a failure says from where it was tried.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Vantage {
    /// Where this workstation is (`the LAN`, `the DMZ`, `the internet`); `None` when unknown.
    pub from: Option<String>,
    /// Why not reaching the endpoint from there is expected (`expected from the LAN: only Mailbox servers
    /// reach the Edge`); the result is then a skip, not a failure.
    pub out_of_sight: Option<String>,
}

impl Vantage {
    /// `(tried from this workstation on the LAN)`, or `(tried from this workstation)`.
    pub fn tried_from(&self) -> String {
        match &self.from {
            Some(from) => format!("tried from this workstation on {from}"),
            None => "tried from this workstation".into(),
        }
    }

    /// The skip for an endpoint not reached when that is expected from here, if it is.
    fn out_of_sight(&self, def: &CheckDef, target: &str, connect: &Connect) -> Option<CheckResult> {
        let why = self.out_of_sight.as_ref()?;
        Some(
            CheckResult::new(def, Status::Skip, target.to_string(), format!("not reachable from this workstation ({why})"))
                .detail(format!(
                    "{} ({}). This hop cannot be observed from here; run mailpath on a server that reaches it (a Mailbox server for the Edge), or set [workstation] location in the profile to where this workstation is.",
                    connect_words(connect),
                    self.tried_from()
                )),
        )
    }
}

/// The checks of one SMTP probe, in dialogue order. Steps that could not run are `skip` with why.
///
/// The dialogue is a table of stages (`STAGES`, private), one function each for the check ids it decides; a
/// stage after which the dialogue could not go on names the reason, and the later stages' checks are
/// skipped with it.
pub fn smtp_checks(probe: &SmtpProbe, ctx: &EndpointContext) -> Vec<CheckResult> {
    let e = Endpoint {
        probe,
        ctx,
        target: match probe.id.split_once('@') {
            Some((_, ip)) => format!("{}:{} ({ip})", probe.host, probe.port),
            None => format!("{}:{}", probe.host, probe.port),
        },
        masked_banner: probe.banner.as_ref().is_some_and(|b| is_masked(b.first())),
        masked_ext: probe.extensions().iter().any(|x| x.starts_with("XXXX")),
    };
    let mut out = Vec::new();
    for (i, (judge, _)) in STAGES.iter().enumerate() {
        let judged = judge(&e);
        out.extend(judged.results);
        if let Some(why) = judged.ended {
            for def in STAGES[i + 1..].iter().flat_map(|(_, defs)| defs.iter()) {
                out.push(e.mk(def, Status::Skip, why.into()));
            }
            break;
        }
    }
    out
}

/// One probe as the stages read it.
struct Endpoint<'a> {
    probe: &'a SmtpProbe,
    ctx: &'a EndpointContext,
    target: String,
    /// The banner is mostly asterisks (an inspecting firewall).
    masked_banner: bool,
    /// EHLO keywords replaced by `XXXXXXXA` (an inspecting firewall).
    masked_ext: bool,
}

impl Endpoint<'_> {
    /// Where this endpoint's Exchange settings are changed: the Edge's shell for a hop into the Edge, the
    /// Mailbox servers' for a hop into them, the on-premises shell otherwise.
    fn shell(&self) -> Place {
        server_shell(&self.ctx.attachment)
    }

    fn mk(&self, def: &CheckDef, status: Status, summary: String) -> CheckResult {
        CheckResult::new(def, status, self.target.clone(), summary)
            .evidence(self.probe.id.clone())
            .on(self.ctx.attachment.clone())
    }
}

/// Where the Exchange settings of the server a hop reaches are changed.
pub(crate) fn server_shell(attachment: &Attachment) -> Place {
    match attachment {
        Attachment::Hop(h) if h.ends_with("-edge") => Place::EdgeShell,
        Attachment::Hop(h) if h.ends_with("-mailbox") => Place::MailboxShell,
        _ => Place::ExchangeShell,
    }
}

/// The receive connector a refused client needs: its remote ranges, then a look at its bindings.
fn receive_connector_fix(shell: Place) -> Remediation {
    Remediation::steps([
        Step::prose("Let the sender's addresses in on the receive connector that listens on this port:"),
        Step::command(
            shell,
            "Set-ReceiveConnector \"<receive connector>\" -RemoteIPRanges @{Add='<sending address or range>'}",
        ),
        Step::confirm(
            shell,
            "Get-ReceiveConnector | Format-List Name,Bindings,RemoteIPRanges",
        ),
    ])
}

/// What one stage decided, and whether the dialogue ended there (why the later checks are skipped).
struct Judged {
    results: Vec<CheckResult>,
    ended: Option<&'static str>,
}

impl Judged {
    fn next(result: CheckResult) -> Judged {
        Judged {
            results: vec![result],
            ended: None,
        }
    }

    fn ended(result: CheckResult, why: &'static str) -> Judged {
        Judged {
            results: vec![result],
            ended: Some(why),
        }
    }
}

/// A stage of the dialogue and the checks it decides.
type DialogueStage = (fn(&Endpoint<'_>) -> Judged, &'static [&'static CheckDef]);

/// The stages, in dialogue order.
const STAGES: &[DialogueStage] = &[
    (reach, &[&TCP_SMTP]),
    (banner, &[&BANNER]),
    (banner_delay, &[&BANNER_DELAY]),
    (banner_masked, &[&BANNER_MASKED]),
    (ehlo, &[&EHLO]),
    (starttls, &[&STARTTLS]),
    (tls, &[&HANDSHAKE, &VERSION]),
];

/// `tcp.smtp.reachable`: the TCP connection.
fn reach(e: &Endpoint<'_>) -> Judged {
    let (probe, ctx) = (e.probe, e.ctx);
    let result = match &probe.connect {
        Connect::Connected { address, ms } => e.mk(&TCP_SMTP, Status::Pass, format!("connected to {address} in {ms} ms")),
        other => match ctx.vantage.out_of_sight(&TCP_SMTP, &e.target, other) {
            Some(skip) => skip.evidence(probe.id.clone()).on(ctx.attachment.clone()),
            None if ctx.external_service => e.mk(
                &TCP_SMTP,
                Status::Skip,
                format!("could not reach {} from this workstation ({})", ctx.role, connect_words(other)),
            )
            .detail(
                "Outbound port 25 is commonly blocked from client networks, so this says more about the network of the \
                 machine running mailpath than about the service. Run mailpath on a Mailbox or Edge server to test this hop.",
            ),
            None => connect_failure(
                e.mk(
                    &TCP_SMTP,
                    Status::Fail,
                    format!("{}: {} ({})", ctx.role, connect_words(other), ctx.vantage.tried_from()),
                ),
                other,
                probe,
            ),
        },
    };
    if probe.connect.is_connected() {
        Judged::next(result)
    } else {
        Judged::ended(result, "not connected")
    }
}

/// `smtp.banner`: the 220 greeting.
fn banner(e: &Endpoint<'_>) -> Judged {
    let (probe, ctx) = (e.probe, e.ctx);
    let banner_failure = probe.failure.as_ref().filter(|f| f.stage == Stage::Banner);
    match (&probe.banner, banner_failure) {
        (Some(b), _) if b.code == 220 => {
            Judged::next(e.mk(&BANNER, Status::Pass, format!("220 {}", b.first())))
        }
        (Some(b), _) => Judged::next(
            e.mk(
                &BANNER,
                Status::Fail,
                format!("greeting {} {}", b.code, b.first()),
            )
            .detail(decode_reply(b.code, b.first()))
            .remediation(receive_connector_fix(e.shell())),
        ),
        (None, Some(f)) => {
            let shell = e.shell();
            let (summary, detail, fix) = match f.kind {
                FailureKind::NotSmtp => (
                    format!("{} answers with bytes that are not SMTP", ctx.role),
                    format!("{}. Something else listens on this port (a web server, a TLS-only service) or a device rewrites the traffic. Received: {}", f.message, probe.partial.clone().unwrap_or_default()),
                    Remediation::steps([
                        Step::prose(format!("Find what listens on port {} on the server:", probe.port)),
                        Step::confirm(shell, format!("Get-NetTCPConnection -LocalPort {} -State Listen | Select-Object LocalAddress,OwningProcess", probe.port)),
                        Step::prose("Point the firewall's forwarding of the port at the Exchange transport service, unmodified (no SMTP proxy).").at(Place::Firewall),
                    ]),
                ),
                FailureKind::TooSlow => (
                    format!("server answers too slowly: {}", f.message),
                    "Bytes arrive, but a whole greeting does not arrive within the timeout: a trickling server or a congested/throttling device. Exchange Online gives up and queues the mail (4.4.x).".to_string(),
                    Remediation::steps([Step::prose(
                        "Take the SMTP proxy or throttling device in front of the server out of the path (or raise its rate for Exchange Online Protection's addresses), and check the server's load.",
                    )
                    .at(Place::Firewall)]),
                ),
                FailureKind::Timeout => (
                    format!("no greeting: {}", f.message),
                    "The connection opens but nothing is said: an overloaded transport service or a device holding the connection.".to_string(),
                    Remediation::steps([
                        Step::command(shell, if shell == Place::EdgeShell { "Restart-Service MSExchangeTransport" } else { "Restart-Service MSExchangeFrontEndTransport" }),
                        Step::confirm(shell, "Get-Service MSExchangeTransport,MSExchangeFrontEndTransport"),
                    ]),
                ),
                _ => (
                    format!("greeting failed: {}", f.message),
                    "The connection was closed or reset before a greeting was complete.".to_string(),
                    receive_connector_fix(shell),
                ),
            };
            Judged::ended(
                e.mk(&BANNER, Status::Fail, summary)
                    .detail(detail)
                    .remediation(fix),
                "no SMTP greeting",
            )
        }
        (None, None) => Judged::next(e.mk(&BANNER, Status::Fail, "no greeting".into())),
    }
}

/// `smtp.banner.delay`: a tarpit or greeting delay.
fn banner_delay(e: &Endpoint<'_>) -> Judged {
    let banner_ms = e.probe.banner.as_ref().map_or(0, |b| b.ms);
    Judged::next(if Duration::from_millis(banner_ms) > SLOW_GREETING {
        e.mk(&BANNER_DELAY, Status::Warn, format!("greeting delayed {:.1} s (tarpit or anti-spam greeting delay)", banner_ms as f64 / 1000.0))
            .detail("The server behaves after the delay (see the other checks). Senders with short timeouts give up or report the endpoint as having no TLS; Exchange Online waits, but every connection pays the delay.")
            .remediation(Remediation::steps([
                Step::prose("If Exchange delays its answers (TarpitInterval of the receive connector Exchange Online connects to), turn the delay off there:"),
                Step::command(e.shell(), "Set-ReceiveConnector \"<receive connector>\" -TarpitInterval 00:00:00"),
                Step::confirm(e.shell(), "Get-ReceiveConnector | Format-List Name,TarpitInterval,ConnectionTimeout"),
                Step::prose("If a filtering appliance in front of it delays the greeting (greet pause, greylisting), exempt Exchange Online Protection's addresses (the spf.protection.outlook.com ranges) from it.").at(Place::Firewall),
            ]))
    } else {
        e.mk(
            &BANNER_DELAY,
            Status::Pass,
            format!("greeting after {banner_ms} ms"),
        )
    })
}

/// `smtp.banner.masked`: an SMTP-inspecting device masks the banner or the EHLO keywords.
fn banner_masked(e: &Endpoint<'_>) -> Judged {
    Judged::next(if e.masked_banner || e.masked_ext {
        let mut what = Vec::new();
        if e.masked_banner {
            what.push("the banner is asterisks");
        }
        if e.masked_ext {
            what.push("EHLO keywords are replaced by XXXXXXXA");
        }
        e.mk(&BANNER_MASKED, Status::Fail, format!("an SMTP-inspecting device sits in front of {} ({})", e.ctx.role, what.join("; ")))
            .detail("This is the signature of a Cisco ASA/PIX with SMTP inspection (mask-banner, and 'no allow-tls' strips STARTTLS). Hybrid does not support devices that process or modify SMTP traffic between on-premises Exchange and Office 365: messages lose their cross-premises headers and become external.")
            .remediation(Remediation::steps([
                Step::prose("On a Cisco ASA, stop inspecting SMTP (configuration mode):").at(Place::DeviceCli),
                Step::command(Place::DeviceCli, "policy-map global_policy"),
                Step::command(Place::DeviceCli, "class inspection_default"),
                Step::command(Place::DeviceCli, "no inspect esmtp"),
                Step::prose("Or keep inspecting, without masking the banner and with TLS allowed, in the esmtp inspection policy:"),
                Step::command(Place::DeviceCli, "policy-map type inspect esmtp <esmtp policy>"),
                Step::command(Place::DeviceCli, "parameters"),
                Step::command(Place::DeviceCli, "no mask-banner"),
                Step::command(Place::DeviceCli, "allow-tls"),
                Step::prose("On a PIX:"),
                Step::command(Place::DeviceCli, "no fixup protocol smtp 25"),
                Step::confirm(Place::Workstation, format!("mailpath probe {}", e.target)),
            ]))
    } else {
        e.mk(
            &BANNER_MASKED,
            Status::Pass,
            "banner and EHLO reply are not masked".into(),
        )
    })
}

/// `smtp.ehlo`: EHLO accepted, with extensions.
fn ehlo(e: &Endpoint<'_>) -> Judged {
    let probe = e.probe;
    let ehlo_failure = probe.failure.as_ref().filter(|f| f.stage == Stage::Ehlo);
    match (&probe.ehlo, ehlo_failure) {
        (Some(r), None) if r.code == 250 && !probe.used_helo => Judged::next(e.mk(
            &EHLO,
            Status::Pass,
            format!("250, {} extensions", probe.extensions().len()),
        )),
        (Some(r), None) if r.code == 250 => Judged::next(
            e.mk(
                &EHLO,
                Status::Warn,
                "EHLO refused, HELO accepted: no ESMTP extensions, no STARTTLS".into(),
            )
            .remediation(Remediation::steps([Step::prose(
                "Send this port to Exchange's receive connector, not to a proxy that only speaks HELO.",
            )
            .at(Place::Firewall)])),
        ),
        (_, fail) => {
            let why = fail.map_or_else(|| "EHLO refused".to_string(), |f| f.message.clone());
            Judged::ended(e.mk(&EHLO, Status::Fail, why), "no EHLO")
        }
    }
}

/// `smtp.starttls`: STARTTLS offered and accepted.
fn starttls(e: &Endpoint<'_>) -> Judged {
    let probe = e.probe;
    let offered = probe.extensions().iter().any(|x| x == "STARTTLS");
    if !offered {
        let (summary, fix) = if e.masked_ext || e.masked_banner {
            (
                "STARTTLS is not offered: stripped by the inspecting device".to_string(),
                Remediation::steps([
                    Step::prose("Let STARTTLS through the device: on a Cisco ASA, in the esmtp inspection policy (or stop inspecting SMTP, see smtp.banner.masked):").at(Place::DeviceCli),
                    Step::command(Place::DeviceCli, "policy-map type inspect esmtp <esmtp policy>"),
                    Step::command(Place::DeviceCli, "parameters"),
                    Step::command(Place::DeviceCli, "allow-tls"),
                    Step::confirm(Place::Workstation, format!("mailpath probe {}", e.target)),
                ]),
            )
        } else {
            (
                "STARTTLS is not offered".to_string(),
                Remediation::steps([
                    Step::prose(
                        "A receive connector whose TlsCertificateName names a certificate the server no longer has \
                         (after a renewal) removes STARTTLS: event 12014, see config.receive.tls_certificate_name. \
                         Bind the current certificate to SMTP and name it on the receive connector:",
                    ),
                    Step::command(
                        e.shell(),
                        "Enable-ExchangeCertificate -Thumbprint <thumbprint> -Services SMTP",
                    ),
                    Step::command(
                        e.shell(),
                        "Set-ReceiveConnector <identity> -TlsCertificateName \"<I>issuer<S>subject\"",
                    ),
                    Step::prose("The receive connector's AuthMechanism must include Tls:"),
                    Step::confirm(
                        e.shell(),
                        "Get-ReceiveConnector -Server <server> | Format-List Identity,TlsCertificateName,AuthMechanism",
                    ),
                ]),
            )
        };
        return Judged::ended(
            e.mk(&STARTTLS, Status::Fail, summary).detail("Hybrid connectors require TLS in both directions; mail on this hop queues (451 5.7.3 STARTTLS is required) or bounces.").remediation(fix),
            "STARTTLS not offered",
        );
    }
    match &probe.starttls {
        Some(r) if r.code == 220 => {
            Judged::next(e.mk(&STARTTLS, Status::Pass, "offered and accepted (220)".into()))
        }
        Some(r) => Judged::ended(
            e.mk(
                &STARTTLS,
                Status::Fail,
                format!("offered but refused: {} {}", r.code, r.first()),
            )
            .detail(decode_reply(r.code, r.first())),
            "STARTTLS refused",
        ),
        None => {
            let why = probe
                .failure
                .as_ref()
                .map_or("no reply".to_string(), |f| f.message.clone());
            Judged::ended(
                e.mk(&STARTTLS, Status::Fail, format!("STARTTLS got no answer: {why}")),
                "no answer to STARTTLS",
            )
        }
    }
}

/// `tls.handshake` and `tls.version`: the handshake after STARTTLS, TLS 1.2 or newer.
fn tls(e: &Endpoint<'_>) -> Judged {
    let Some(tls) = &e.probe.tls else {
        return Judged {
            results: vec![
                e.mk(&HANDSHAKE, Status::Skip, "no handshake attempted".into()),
                e.mk(&VERSION, Status::Skip, "no handshake attempted".into()),
            ],
            ended: None,
        };
    };
    let results = if tls.completed() {
        let version = tls.version.clone().unwrap_or_default();
        vec![
            e.mk(
                &HANDSHAKE,
                Status::Pass,
                format!(
                    "{} in {} ms",
                    tls.cipher.as_deref().unwrap_or("?"),
                    tls.ms.unwrap_or(0)
                ),
            ),
            e.mk(&VERSION, Status::Pass, format!("{version} negotiated")),
        ]
    } else if let Some(scanned) = super::ciphers::handshake_checks(e.probe, e.ctx) {
        // The handshake scanner saw what the server answers: judge that, not rustls' limits.
        scanned
    } else if tls.alert.as_deref() == Some("ProtocolVersion") {
        vec![
            e.mk(
                &HANDSHAKE,
                Status::Skip,
                "the server refused the protocol version (see tls.version)".into(),
            ),
            e.mk(
                &VERSION,
                Status::Fail,
                "the server refused TLS 1.2 and 1.3 (protocol_version alert): it only speaks TLS 1.0/1.1"
                    .into(),
            )
            .detail(LEGACY_TLS_DETAIL)
            .remediation(legacy_tls_fix(e.shell())),
        ]
    } else {
        let error = tls.error.clone().unwrap_or_else(|| "handshake failed".into());
        vec![
            e.mk(&HANDSHAKE, Status::Fail, format!("TLS handshake failed: {error}"))
                .detail(
                    tls.alert
                        .as_ref()
                        .map(|a| format!("The server sent the TLS alert {a}."))
                        .unwrap_or_default(),
                )
                .remediation(handshake_fix(e.shell())),
            e.mk(&VERSION, Status::Skip, "handshake failed".into()),
        ]
    };
    Judged { results, ended: None }
}

/// What a server that only speaks TLS 1.0/1.1 means for hybrid mail.
pub(crate) const LEGACY_TLS_DETAIL: &str = "Exchange Online refuses TLS 1.0 and 1.1 since January 2021 (MC229914); connectors that require TLS fail with 4.4.x and mail queues.";
/// How to enable TLS 1.2 on Exchange (2013 CU+ / 2016 / 2019), on the server at `shell`: .NET strong
/// crypto and the SCHANNEL protocol keys, then a reboot (Microsoft's Exchange TLS configuration).
pub(crate) fn legacy_tls_fix(shell: Place) -> Remediation {
    let net = |path: &str, name: &str| {
        Step::command(
            shell,
            format!("New-ItemProperty -Path '{path}' -Name {name} -Value 1 -PropertyType DWord -Force"),
        )
    };
    let schannel = |side: &str, name: &str, value: u8| {
        Step::command(
            shell,
            format!(
                "New-Item -Path 'HKLM:\\SYSTEM\\CurrentControlSet\\Control\\SecurityProviders\\SCHANNEL\\Protocols\\TLS 1.2\\{side}' -Force | New-ItemProperty -Name {name} -Value {value} -PropertyType DWord -Force"
            ),
        )
    };
    Remediation::steps([
        Step::prose("Enable TLS 1.2 on the server (an elevated PowerShell on it), then reboot it:"),
        net(
            "HKLM:\\SOFTWARE\\Microsoft\\.NETFramework\\v4.0.30319",
            "SchUseStrongCrypto",
        ),
        net(
            "HKLM:\\SOFTWARE\\Microsoft\\.NETFramework\\v4.0.30319",
            "SystemDefaultTlsVersions",
        ),
        net(
            "HKLM:\\SOFTWARE\\WOW6432Node\\Microsoft\\.NETFramework\\v4.0.30319",
            "SchUseStrongCrypto",
        ),
        net(
            "HKLM:\\SOFTWARE\\WOW6432Node\\Microsoft\\.NETFramework\\v4.0.30319",
            "SystemDefaultTlsVersions",
        ),
        schannel("Server", "Enabled", 1),
        schannel("Server", "DisabledByDefault", 0),
        schannel("Client", "Enabled", 1),
        schannel("Client", "DisabledByDefault", 0),
        Step::command(shell, "Restart-Computer"),
        Step::prose(
            "See https://learn.microsoft.com/exchange/exchange-tls-configuration for Exchange 2013's extra keys.",
        ),
    ])
}

/// What to do when a TLS handshake fails on the server's side: bind a certificate that has its private
/// key (send log errors UnknownCredentials/NoCredentials point here).
pub(crate) fn handshake_fix(shell: Place) -> Remediation {
    Remediation::steps([
        Step::prose(
            "Bind a certificate that has its private key to SMTP (send log errors UnknownCredentials or NoCredentials point here):",
        ),
        Step::command(
            shell,
            "Enable-ExchangeCertificate -Thumbprint <thumbprint> -Services SMTP",
        ),
        Step::confirm(
            shell,
            "Get-ExchangeCertificate | Format-List Thumbprint,Services,HasPrivateKey",
        ),
    ])
}

/// The EdgeSync (LDAPS 50636) check, from `vantage`.
pub fn edgesync_check(probe: &TlsPortProbe, attachment: Attachment, vantage: &Vantage) -> CheckResult {
    let target = format!("{}:{}", probe.host, probe.port);
    let mk = |status: Status, summary: String| {
        CheckResult::new(&TCP_EDGESYNC, status, target.clone(), summary)
            .evidence(probe.id.clone())
            .on(attachment.clone())
    };
    let fix = Remediation::steps([
        Step::prose(format!(
            "Allow TCP {} from every Mailbox server to the Edge ({}) on the firewall between them.",
            probe.port, probe.host
        ))
        .at(Place::Firewall),
        Step::command(Place::MailboxShell, "Start-EdgeSynchronization"),
        Step::confirm(Place::MailboxShell, "Test-EdgeSynchronization -FullCompareMode"),
    ]);
    match (&probe.connect, &probe.tls) {
        (Connect::Connected { .. }, Some(tls)) if tls.completed() => {
            mk(Status::Pass, format!("open, TLS {} handshake completed", tls.version.as_deref().unwrap_or("?")))
        }
        (Connect::Connected { .. }, tls) => mk(
            Status::Fail,
            format!("open, but the TLS handshake failed: {}", tls.as_ref().and_then(|t| t.error.clone()).unwrap_or_default()),
        )
        .remediation(Remediation::steps([
            Step::prose("Start the AD LDS instance EdgeSync talks to on the Edge (its certificate is the Edge's):"),
            Step::command(Place::EdgeShell, "Start-Service ADAM_MSExchange"),
            Step::confirm(Place::MailboxShell, "Test-EdgeSynchronization -FullCompareMode"),
        ])),
        (other, _) => match vantage.out_of_sight(&TCP_EDGESYNC, &target, other) {
            Some(skip) => skip.evidence(probe.id.clone()).on(attachment.clone()),
            None => mk(Status::Fail, format!("EdgeSync LDAPS: {} ({})", connect_words(other), vantage.tried_from()))
                .detail("Port 25 may work while EdgeSync is blocked: the Edge then keeps stale configuration and recipients, and hybrid changes never reach it.")
                .remediation(fix),
        },
    }
}

/// The info result for a hop inside Microsoft's network.
pub fn unobservable(hop_id: &str, summary: &str) -> CheckResult {
    CheckResult::new(&UNOBSERVABLE, Status::Info, hop_id.to_string(), summary.to_string())
        .detail("Exchange Online Protection hands mail to Exchange Online inside Microsoft's network. Message trace (Get-MessageTraceV2) shows this hop.")
        .on(Attachment::Hop(hop_id.to_string()))
}

fn connect_failure(result: CheckResult, connect: &Connect, probe: &SmtpProbe) -> CheckResult {
    let shell = server_shell(&result.attachment);
    let port = probe.port;
    match connect {
        Connect::Refused { .. } => result
            .detail(format!("The host answered with a reset: nothing listens on port {port}, or a firewall rejects. Exchange Online reports 450 4.4.316 Connection refused [Socket error code 10061]."))
            .remediation({
                let service = if shell == Place::EdgeShell { "MSExchangeTransport" } else { "MSExchangeFrontEndTransport" };
                Remediation::steps([
                    Step::prose(format!("Start the transport service that listens on {port}:")),
                    Step::command(shell, format!("Start-Service {service}")),
                    Step::confirm(shell, "Get-ReceiveConnector | Format-List Name,Bindings"),
                    Step::prose(format!("And let the firewall forward {port} to it.")).at(Place::Firewall),
                ])
            }),
        Connect::TimedOut { ms, .. } => result
            .detail(format!("No answer in {} s: packets are dropped (a firewall filters port {port}) or the host is down.", ms / 1000))
            .remediation(Remediation::steps([
                Step::prose(format!("Open TCP {port} to {} on the firewalls in between; for the inbound hop, allow the Exchange Online Protection ranges (https://learn.microsoft.com/microsoft-365/enterprise/urls-and-ip-address-ranges).", probe.host)).at(Place::Firewall),
                Step::confirm(Place::Workstation, format!("Test-NetConnection {} -Port {port}", probe.host)),
            ])),
        Connect::NoAddress { .. } => result.remediation(
            Step::prose(format!("Publish an A record for {} (see the dns.host checks).", probe.host)).at(Place::Dns),
        ),
        _ => result.remediation(Remediation::steps([
            Step::prose("Fix the routing and the firewalls between this workstation and the host.").at(Place::Firewall),
            Step::confirm(Place::Workstation, format!("Test-NetConnection {} -Port {port}", probe.host)),
        ])),
    }
}

/// How a connection attempt ended, in words ([`Connect::words`]).
pub(crate) fn connect_words(connect: &Connect) -> String {
    connect.words()
}

/// Whether a banner looks masked (mostly asterisks).
pub fn is_masked(text: &str) -> bool {
    let stars = text.chars().filter(|&c| c == '*').count();
    stars >= 8 && stars * 2 >= text.chars().filter(|c| !c.is_whitespace()).count()
}

/// What an SMTP error reply means for hybrid mail, from the failure catalog.
pub fn decode_reply(code: u16, text: &str) -> String {
    let t = text.to_ascii_lowercase();
    let known: &[(&str, &str)] = &[
        (
            "5.7.64",
            "TenantAttribution: the certificate or IP no longer matches an inbound connector; rerun the Hybrid Configuration Wizard.",
        ),
        (
            "4.4.62",
            "The message reached the wrong Office 365 region (ATTR35): a legacy smart host is used.",
        ),
        (
            "5.7.54",
            "Unable to relay: the recipient domain is not accepted on this server.",
        ),
        (
            "4.7.5",
            "The certificate named in TlsCertificateName could not be found (renewal without a connector update).",
        ),
        ("5.7.3", "STARTTLS is required: the other side insists on TLS."),
        (
            "4.4.316",
            "Connection refused: port 25 blocked or wrong smart host.",
        ),
        (
            "5.7.750",
            "Relaying for a domain that is not verified in the tenant.",
        ),
        (
            "4.7.320",
            "Certificate validation failed (SubjectMismatch): a receiving server presents the wrong certificate.",
        ),
        (
            "4.4.317",
            "The chain could not be validated (UntrustedRoot): send the intermediate certificates.",
        ),
    ];
    for (needle, meaning) in known {
        if t.contains(needle) {
            return (*meaning).to_string();
        }
    }
    match code / 100 {
        4 => format!("{code} is a temporary failure: senders retry, mail queues."),
        5 => format!("{code} is a permanent failure: senders bounce the message."),
        _ => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::evidence::Reply;

    #[test]
    fn masked_banners_are_recognised() {
        assert!(is_masked(
            "****************************************************0*2******0***********2*****"
        ));
        assert!(!is_masked("mail.contoso.com Microsoft ESMTP MAIL Service ready"));
        assert!(!is_masked("***"));
    }

    fn probe(connect: Connect) -> SmtpProbe {
        SmtpProbe::new("x", 25, vec![], "h", connect)
    }

    fn ctx(external_service: bool) -> EndpointContext {
        EndpointContext {
            attachment: Attachment::Hop("h".into()),
            external_service,
            role: "EOP".into(),
            vantage: Vantage::default(),
        }
    }

    #[test]
    fn unreachable_external_service_is_a_skip_with_the_reason_not_a_fail() {
        let address = "192.0.2.1:25".parse().unwrap();
        let p = probe(Connect::TimedOut { address, ms: 10_000 });
        let r = smtp_checks(&p, &ctx(true));
        assert_eq!(r[0].status, Status::Skip);
        assert!(
            r[0].summary.contains("could not reach EOP from this workstation"),
            "{}",
            r[0].summary
        );
        assert!(r.iter().all(|c| c.status == Status::Skip));
        let on_prem = smtp_checks(&p, &ctx(false));
        assert_eq!(on_prem[0].status, Status::Fail);
        assert!(on_prem[0].summary.contains("filtered"), "{}", on_prem[0].summary);
        let refused = smtp_checks(&probe(Connect::Refused { address }), &ctx(false));
        assert!(refused[0].detail.contains("4.4.316"), "{}", refused[0].detail);
    }

    #[test]
    fn tarpit_is_a_delay_warning_not_missing_starttls() {
        let address = "192.0.2.1:25".parse().unwrap();
        let mut p = probe(Connect::Connected { address, ms: 1 });
        p.banner = Some(Reply {
            code: 220,
            lines: vec!["mail.contoso.com ESMTP".into()],
            ms: 20_000,
        });
        p.ehlo = Some(Reply {
            code: 250,
            lines: vec!["mail.contoso.com".into(), "STARTTLS".into()],
            ms: 5,
        });
        p.starttls = Some(Reply {
            code: 220,
            lines: vec!["go".into()],
            ms: 5,
        });
        p.tls = Some(crate::evidence::TlsEvidence {
            version: Some("TLSv1.3".into()),
            ..Default::default()
        });
        let r = smtp_checks(&p, &ctx(false));
        let bad: Vec<(&str, Status)> = r
            .iter()
            .filter(|c| c.status != Status::Pass)
            .map(|c| (c.id.as_str(), c.status))
            .collect();
        assert_eq!(bad, [("smtp.banner.delay", Status::Warn)]);
    }

    #[test]
    fn every_step_is_reported_even_when_starttls_gets_no_answer() {
        let address = "192.0.2.1:25".parse().unwrap();
        let mut p = probe(Connect::Connected { address, ms: 1 });
        p.banner = Some(Reply {
            code: 220,
            lines: vec!["mail.contoso.com ESMTP".into()],
            ms: 5,
        });
        p.ehlo = Some(Reply {
            code: 250,
            lines: vec!["mail.contoso.com".into(), "STARTTLS".into()],
            ms: 5,
        });
        // The server went silent after STARTTLS: no reply, no handshake.
        let r = smtp_checks(&p, &ctx(false));
        let ids: Vec<&str> = r.iter().map(|c| c.id.as_str()).collect();
        let want: Vec<&str> = DEFS
            .iter()
            .map(|d| d.id)
            .filter(|id| !["tcp.edgesync.reachable", "path.observable"].contains(id))
            .collect();
        assert_eq!(ids, want, "one result per check of the dialogue, in order");
        let status = |id: &str| {
            r.iter()
                .find(|c| c.id == id)
                .map(|c| (c.status, c.summary.clone()))
        };
        assert_eq!(status("smtp.starttls").map(|s| s.0), Some(Status::Fail));
        for id in ["tls.handshake", "tls.version"] {
            assert_eq!(
                status(id),
                Some((Status::Skip, "no answer to STARTTLS".to_string())),
                "{id}"
            );
        }
    }

    #[test]
    fn replies_are_decoded_from_the_failure_catalog() {
        assert!(
            decode_reply(550, "5.7.64 TenantAttribution; Relay Access Denied").contains("inbound connector")
        );
        assert!(decode_reply(451, "4.4.62 wrong region").contains("ATTR35"));
        assert!(decode_reply(421, "whatever").contains("temporary"));
    }
}
