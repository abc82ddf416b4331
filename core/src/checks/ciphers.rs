//! `tls.ciphers`: can Exchange Online negotiate a cipher suite with this server, and which one? A
//! pure function of the probe's evidence (its own handshake and the handshake scanner's), judged
//! against the suites Microsoft lists for Office 365 ([`EXO_SUITES`]). Also the `tls.handshake` and
//! `tls.version` verdicts for a server that mailpath's TLS library could not complete a handshake
//! with but the scanner saw negotiate: rustls' limits are not the server's fault.

use crate::check::{CheckDef, CheckResult, Place, Remediation, Status, Step};
use crate::checks::smtp::{
    EndpointContext, HANDSHAKE, LEGACY_TLS_DETAIL, VERSION, handshake_fix, legacy_tls_fix, server_shell,
};
use crate::evidence::SmtpProbe;
use crate::evidence::tls_scan::{OutcomeKind, ScanMode, TlsScan, row_words};
use crate::tls_suites::{
    self as suites, EXO_ECDSA_COUNTERPARTS, EXO_LEGACY_SUITES, EXO_SUITES, EXO_SUITES_SOURCE, ExoListing,
    Mode, Suite, Version,
};

const EXCHANGE_TLS: &str = "https://learn.microsoft.com/exchange/exchange-tls-configuration";
const ENABLE_SUITE: &str = "https://learn.microsoft.com/powershell/module/tls/enable-tlsciphersuite";
const HEALTH_CHECKER: &str = "https://microsoft.github.io/CSS-Exchange/Diagnostics/HealthChecker/";

/// `tls.ciphers`.
pub const CIPHERS: CheckDef = CheckDef {
    id: "tls.ciphers",
    title: "Exchange Online can negotiate a cipher suite with the server",
    why: "Exchange Online speaks only the TLS 1.2 cipher suites Microsoft lists for Office 365 (ECDHE-RSA or RSA \
          key exchange with AES). A server with none of them cannot exchange TLS mail with it, and hybrid \
          connectors require TLS; a server that leaves only CBC suites or no forward secrecy in common works, but \
          weaker than Microsoft's Exchange TLS guidance asks.",
    references: &[EXO_SUITES_SOURCE, EXCHANGE_TLS, ENABLE_SUITE, HEALTH_CHECKER],
};

/// Every definition of this module.
pub const DEFS: &[CheckDef] = &[CIPHERS];

/// Microsoft's order for Exchange on Windows Server 2016 or later (Exchange 2016/2019): the two ECDHE_RSA
/// AES-GCM suites first, run on the server at `shell`.
fn ecdhe_gcm_steps(shell: Place) -> Vec<Step> {
    vec![
        Step::prose(
            "On Windows Server 2016 or later (Exchange 2016/2019), put the ECDHE AES-GCM suites first, then restart the server:",
        ),
        Step::command(
            shell,
            "Enable-TlsCipherSuite -Name TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384 -Position 0",
        ),
        Step::command(
            shell,
            "Enable-TlsCipherSuite -Name TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256 -Position 1",
        ),
        Step::command(shell, "Restart-Computer"),
        Step::confirm(
            shell,
            "Get-TlsCipherSuite | Select-Object -First 5 -Property Name",
        ),
        Step::prose(
            "A Group Policy \"SSL Cipher Suite Order\" (HKLM:\\SOFTWARE\\Policies\\Microsoft\\Cryptography\\Configuration\\SSL\\00010002, value Functions) overrides that order; CSS-Exchange HealthChecker lists the suites of each Exchange server.",
        ),
    ]
}

/// Windows Server 2012 R2, which has no ECDHE_RSA suite with AES-GCM.
fn ecdhe_2012r2_step() -> Step {
    Step::prose(
        "Windows Server 2012 R2 has no ECDHE_RSA suite with AES-GCM: put TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA384_P384, \
         TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA384_P256, TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256_P384 and \
         TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256_P256 first in the Functions value (REG_MULTI_SZ) of \
         HKLM:\\SYSTEM\\CurrentControlSet\\Control\\Cryptography\\Configuration\\Local\\SSL\\00010002 (or the Group Policy \
         \"SSL Cipher Suite Order\"), followed by TLS_RSA_WITH_AES_256_GCM_SHA384, and reboot; or move the role to \
         Windows Server 2016 or later.",
    )
}

/// A firewall or MTA in front, in OpenSSL's names.
fn openssl_step() -> Step {
    Step::prose(
        "A firewall or an OpenSSL-based MTA in front of Exchange: allow ECDHE-RSA-AES256-GCM-SHA384:ECDHE-RSA-AES128-GCM-SHA256 \
         (Postfix: tls_high_cipherlist with smtpd_tls_mandatory_ciphers = high).",
    )
    .at(Place::Firewall)
}

/// `what` to do, then the ways to do it: Windows Server 2016+, 2012 R2, a device or MTA in front.
fn suites_fix(what: &str, shell: Place) -> Remediation {
    let mut steps = vec![Step::prose(what)];
    steps.extend(ecdhe_gcm_steps(shell));
    steps.push(ecdhe_2012r2_step());
    steps.push(openssl_step());
    Remediation::steps(steps)
}

/// The `tls.ciphers` check of one probed endpoint.
pub fn cipher_check(probe: &SmtpProbe, ctx: &EndpointContext) -> CheckResult {
    let target = format!("{}:{}", probe.host, probe.port);
    let shell = server_shell(&ctx.attachment);
    let mk = |status: Status, summary: String| {
        CheckResult::new(&CIPHERS, status, target.clone(), summary)
            .evidence(probe.id.clone())
            .on(ctx.attachment.clone())
    };
    let scan = probe.tls_scan.as_ref();
    let Some(facts) = Facts::of(probe) else {
        return no_tls12(probe, scan, shell, mk);
    };
    let source = facts.source;
    let detail = facts.detail(scan);
    let listed: Vec<&Suite> = facts
        .suites
        .iter()
        .filter(|s| matches!(suites::exo_listing(s.id), ExoListing::Listed | ExoListing::Legacy))
        .copied()
        .collect();
    // A server with an ECDSA certificate can only offer the ECDSA counterparts of Microsoft's
    // ECDHE suites: compared as such, and said.
    let ecdsa = listed.is_empty();
    let overlap: Vec<&Suite> = if ecdsa {
        facts
            .suites
            .iter()
            .filter(|s| suites::exo_listing(s.id) == ExoListing::EcdsaCounterpart)
            .copied()
            .collect()
    } else {
        listed
    };
    let ecdsa_words = if ecdsa {
        " Microsoft's list names RSA-certificate suites only (Office 365's own certificates are RSA); this \
         server's suites are their ECDSA counterparts (the same key exchange and cipher with an ECDSA \
         certificate), which Windows' TLS stack implements but Microsoft does not list for Exchange Online."
    } else {
        ""
    };
    let full_fix = Remediation::steps([
        Step::prose("Enumerate every suite (sequentially, about 10-20 connections):"),
        Step::confirm(
            Place::Workstation,
            format!("mailpath probe {target} --tls-scan full"),
        ),
    ]);
    if overlap.is_empty() {
        let names = names(&facts.suites);
        if facts.enumerated {
            return mk(
                Status::Fail,
                format!("no cipher suite in common with Exchange Online: the server accepts only {names}"),
            )
            .detail(format!(
                "{detail} Exchange Online speaks only the suites of Microsoft's list ({}). Without one in common no \
                 TLS session starts: hybrid connectors require TLS, so mail on this hop is deferred and finally \
                 returned; without that requirement Exchange falls back to plain text.",
                exo_names()
            ))
            .remediation(suites_fix("Enable at least one suite of Microsoft's list.", shell));
        }
        return mk(
            Status::Warn,
            format!(
                "the server chose {names}, which Exchange Online does not use, from {source}; whether it accepts one of \
                 Exchange Online's suites is not known yet"
            ),
        )
        .detail(format!(
            "{detail} With Exchange Online's suites offered first, a server that follows the client's order would \
             have chosen one of them, so it has none of them or it prefers its own order: one handshake cannot tell \
             which."
        ))
        .remediation(full_fix);
    }
    let pick = facts.exo_pick(&overlap);
    let fs = |s: &&Suite| s.forward_secrecy();
    let aead = |s: &&Suite| s.mode == Mode::Aead;
    let best = overlap.iter().find(|s| fs(s) && aead(s));
    let scope = if facts.enumerated {
        String::new()
    } else {
        format!(" (from {source}; {full_fix})")
    };
    if !overlap.iter().any(fs) {
        return mk(
            Status::Warn,
            format!(
                "Exchange Online can negotiate only suites without forward secrecy with this server ({}): RSA key exchange",
                names(&overlap)
            ),
        )
        .detail(format!(
            "{detail} Mail flows, but a stolen server key decrypts every recorded session. Microsoft's list puts the \
             ECDHE suites first; Exchange's TLS guidance enables them on every supported Windows version.{scope}{ecdsa_words}"
        ))
        .remediation(suites_fix("Enable the ECDHE suites.", shell));
    }
    if !overlap.iter().any(aead) {
        return mk(
            Status::Warn,
            format!(
                "Exchange Online can negotiate only CBC suites with this server ({})",
                names(&overlap)
            ),
        )
        .detail(format!(
            "{detail} Mail flows with {}, but CBC with HMAC (MAC-then-encrypt) is the weaker construction that TLS 1.3 \
             dropped; Microsoft's list starts with the AES-GCM suites.{scope}{ecdsa_words}",
            pick.name
        ))
        .remediation(suites_fix("Offer an AES-GCM suite with ECDHE.", shell));
    }
    if !(pick.forward_secrecy() && pick.mode == Mode::Aead)
        && let Some(best) = best
    {
        return mk(
            Status::Warn,
            format!(
                "Exchange Online negotiates {} ({}) although the server also accepts {}: its order puts the weaker suite first",
                pick.name,
                weakness(pick),
                best.name
            ),
        )
        .detail(format!("{detail}{scope}{ecdsa_words}"))
        .remediation({
            let mut steps = ecdhe_gcm_steps(shell);
            steps.push(
                Step::prose("Postfix: tls_preempt_cipherlist = yes with the GCM suites first in tls_high_cipherlist.")
                    .at(Place::Firewall),
            );
            Remediation::steps(steps)
        });
    }
    let seen = if facts.enumerated {
        String::new()
    } else {
        format!(" (seen in {source})")
    };
    if ecdsa {
        // An assumption (that Exchange Online offers the ECDSA counterparts) is information, not a pass.
        return mk(
            Status::Info,
            format!(
                "Exchange Online can negotiate {} if it offers the ECDSA counterparts of its listed suites{seen}",
                pick.name
            ),
        )
        .detail(format!("{detail}{ecdsa_words}"));
    }
    mk(
        Status::Pass,
        format!(
            "Exchange Online can negotiate {} ({}, {}){seen}",
            pick.name,
            pick.kex.name(),
            pick.cipher
        ),
    )
    .detail(detail)
}

/// The TLS 1.2 suites observed and how.
struct Facts {
    /// Suites seen accepted at TLS 1.2 (the scan's order).
    suites: Vec<&'static Suite>,
    /// Whether the list is complete (a full scan that ran to its end).
    enumerated: bool,
    /// Whether the server picks by its own order.
    server_order: Option<bool>,
    /// Where the list comes from, in words.
    source: &'static str,
}

impl Facts {
    fn of(probe: &SmtpProbe) -> Option<Facts> {
        if let Some(scan) = &probe.tls_scan
            && scan.suites_version == Some(Version::Tls12)
            && !scan.suites.is_empty()
        {
            let enumerated = scan.mode == ScanMode::Full && scan.complete;
            return Some(Facts {
                suites: scan.suites.iter().filter_map(|s| suites::suite(s.id)).collect(),
                enumerated,
                server_order: scan.server_order,
                source: if scan.mode == ScanMode::Full {
                    "a full scan"
                } else {
                    "one ClientHello offering Exchange Online's suites first"
                },
            });
        }
        let tls = probe.tls.as_ref().filter(|t| t.completed())?;
        if tls.version.as_deref() != Some("TLSv1.2") {
            return None;
        }
        let suite = suites::suite_by_name(tls.cipher.as_deref()?)?;
        Some(Facts {
            suites: vec![suite],
            enumerated: false,
            server_order: None,
            source: "mailpath's own handshake",
        })
    }

    /// The suite Exchange Online would get: the server's favourite when it uses its own order, else
    /// the first of Microsoft's list it accepts.
    fn exo_pick<'a>(&self, overlap: &[&'a Suite]) -> &'a Suite {
        let in_exo_order = EXO_SUITES
            .iter()
            .chain(EXO_LEGACY_SUITES.iter())
            .chain(EXO_ECDSA_COUNTERPARTS.iter())
            .find_map(|id| overlap.iter().find(|s| s.id == *id));
        let first_seen = overlap.first();
        let pick = if self.server_order == Some(true) || !self.enumerated {
            // A quick scan's first suite is the server's answer to Exchange Online's order.
            first_seen
        } else {
            in_exo_order
        };
        pick.or(first_seen).copied().unwrap_or(overlap[0])
    }

    fn detail(&self, scan: Option<&TlsScan>) -> String {
        let rows: Vec<String> = self
            .suites
            .iter()
            .map(|s| {
                let row = crate::evidence::tls_scan::SuiteRow {
                    version: "TLSv1.2".into(),
                    suite: s.name.to_string(),
                    kex: s.kex.name(),
                    cipher: s.cipher,
                    forward_secrecy: s.forward_secrecy(),
                    aead: s.mode == Mode::Aead,
                    mode: crate::evidence::tls_scan::mode_name(s.mode),
                    insecure: s.insecure(),
                    exo: suites::exo_listing(s.id),
                };
                format!("{} ({})", s.name, row_words(&row))
            })
            .collect();
        let order = match self.server_order {
            Some(true) => " The server chooses by its own order.",
            Some(false) => " The server follows the client's order.",
            None => "",
        };
        let insecure: Vec<&str> = self
            .suites
            .iter()
            .filter(|s| s.insecure())
            .map(|s| s.name)
            .collect();
        let insecure = if insecure.is_empty() {
            String::new()
        } else {
            format!(
                " It also accepts broken or unauthenticated suites that Exchange Online never uses: {}.",
                insecure.join(", ")
            )
        };
        let stopped = scan
            .and_then(|s| s.stopped.as_ref())
            .map(|why| format!(" The scan stopped early: {why}."))
            .unwrap_or_default();
        format!(
            "TLS 1.2 suites seen in {}: {}.{order}{insecure}{stopped}",
            self.source,
            rows.join("; ")
        )
    }
}

/// `tls.ciphers` when no TLS 1.2 suite was observed.
fn no_tls12(
    probe: &SmtpProbe,
    scan: Option<&TlsScan>,
    shell: Place,
    mk: impl Fn(Status, String) -> CheckResult,
) -> CheckResult {
    let legacy = scan.and_then(|s| {
        [Version::Tls11, Version::Tls10]
            .into_iter()
            .find(|v| s.accepts(*v) && !s.accepts(Version::Tls12))
    });
    if let Some(v) = legacy {
        return mk(
            Status::Skip,
            format!("the server negotiates {v} at most: no TLS 1.2 suite to compare (see tls.version)"),
        );
    }
    let tls13 = probe
        .tls
        .as_ref()
        .is_some_and(|t| t.completed() && t.version.as_deref() == Some("TLSv1.3"));
    let refused12 = scan.and_then(|s| {
        s.hellos
            .first()
            .filter(|h| matches!(h.outcome, OutcomeKind::Alert | OutcomeKind::Closed))
    });
    if tls13 && let Some(refused) = refused12 {
        return mk(
            Status::Warn,
            "the server speaks TLS 1.3 but refuses TLS 1.2, the version Microsoft's cipher suite list for Exchange Online covers".into(),
        )
        .detail(format!(
            "A ClientHello offering TLS 1.0-1.2 got: {}. Microsoft states that TLS 1.3 \"is supported by some of the \
             services\" of Office 365 and lists TLS 1.2 suites only; a TLS 1.3-only server may not be reachable from \
             Exchange Online.",
            refused.answer
        ))
        .remediation({
            let mut steps = legacy_tls_fix(shell).steps;
            steps.push(Step::prose("Then enable at least one suite of Microsoft's list (TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384):"));
            steps.extend(ecdhe_gcm_steps(shell));
            Remediation::steps(steps)
        });
    }
    if tls13 {
        return mk(
            Status::Skip,
            "TLS 1.3 negotiated; the TLS 1.2 suites Exchange Online uses were not scanned (--tls-scan quick or full)".into(),
        );
    }
    let why = if scan.is_some_and(|s| {
        s.first_hello().is_none() && s.hellos.iter().any(|h| h.outcome == OutcomeKind::Alert)
    }) {
        "no cipher suite was accepted at all (see tls.handshake)"
    } else if probe.tls.is_none() {
        "no TLS session"
    } else {
        "no TLS 1.2 handshake was observed"
    };
    mk(Status::Skip, why.into())
}

/// The `tls.handshake` and `tls.version` results of a probe whose own handshake did not complete,
/// from what the scanner saw; `None` when the scanner did not reach TLS either (the probe's own
/// failure then speaks).
pub fn handshake_checks(probe: &SmtpProbe, ctx: &EndpointContext) -> Option<Vec<CheckResult>> {
    let shell = server_shell(&ctx.attachment);
    let tls = probe.tls.as_ref()?;
    let scan = probe.tls_scan.as_ref()?;
    let target = format!("{}:{}", probe.host, probe.port);
    let mk = |def: &CheckDef, status: Status, summary: String| {
        CheckResult::new(def, status, target.clone(), summary)
            .evidence(probe.id.clone())
            .on(ctx.attachment.clone())
    };
    let rustls_said = tls.error.clone().unwrap_or_else(|| "handshake failed".into());
    let Some(first) = scan.hellos.iter().find(|h| h.chosen.is_some()) else {
        // The scanner reached TLS but no hello was accepted: no TLS at all.
        let refused = scan.hellos.iter().find(|h| {
            matches!(
                h.outcome,
                OutcomeKind::Alert | OutcomeKind::Closed | OutcomeKind::Malformed | OutcomeKind::NotTls
            )
        })?;
        let rustls_alert = tls
            .alert
            .as_ref()
            .map(|a| format!(" (alert {a})"))
            .unwrap_or_default();
        return Some(vec![
            mk(
                &HANDSHAKE,
                Status::Fail,
                format!("no TLS can be negotiated: the server answered a ClientHello offering {} with {}", refused.offered, refused.answer),
            )
            .detail(format!(
                "mailpath's TLS library failed too: {rustls_said}{rustls_alert}. A server that refuses every suite of \
                 TLS 1.0-1.2 has no usable certificate or no cipher suite enabled."
            ))
            .remediation({
                let mut steps = handshake_fix(shell).steps;
                steps.push(Step::prose("Then enable TLS 1.2 and at least one suite of Microsoft's list:"));
                steps.extend(ecdhe_gcm_steps(shell));
                Remediation::steps(steps)
            }),
            mk(&VERSION, Status::Skip, "no TLS version was accepted".into()),
        ]);
    };
    let chosen = first.chosen.as_ref()?;
    let version = Version::from_name(&chosen.version);
    let scanner_words = format!(
        "mailpath's handshake scanner, on its own connection, offered {} and got {}",
        first.offered, first.answer
    );
    let chain_words = if tls.chain_from_scan {
        " The certificate chain it sent there is judged by the tls.cert.* checks."
    } else {
        ""
    };
    let Some(version) = version.filter(|v| *v >= Version::Tls12) else {
        let accepted: Vec<String> = scan
            .versions
            .iter()
            .filter(|v| v.accepted == Some(true))
            .map(|v| v.version.to_string())
            .collect();
        let accepted = if accepted.is_empty() {
            chosen.version.clone()
        } else {
            accepted.join(", ")
        };
        return Some(vec![
            mk(
                &HANDSHAKE,
                Status::Skip,
                format!("the server negotiates {} only (see tls.version)", chosen.version),
            )
            .detail(format!("{scanner_words}.{chain_words}")),
            mk(
                &VERSION,
                Status::Fail,
                format!("the server refuses TLS 1.2 and 1.3: it speaks {accepted}"),
            )
            .detail(format!("{LEGACY_TLS_DETAIL} {scanner_words}."))
            .remediation(legacy_tls_fix(shell)),
        ]);
    };
    let suite_ok = suites::rustls_supports(chosen.suite_id);
    let version_result = mk(
        &VERSION,
        Status::Pass,
        format!("{version} negotiated (seen by the handshake scanner)"),
    );
    let handshake = if suite_ok {
        mk(
            &HANDSHAKE,
            Status::Warn,
            format!(
                "the server negotiates {version} with {} but the full handshake failed: {rustls_said}",
                chosen.suite
            ),
        )
        .detail(format!(
            "{scanner_words}.{chain_words} The suite is one mailpath's TLS library implements, so the failure came \
             later in the handshake{}.",
            tls.alert.as_ref().map(|a| format!(" (the server sent the alert {a})")).unwrap_or_default()
        ))
        .remediation(handshake_fix(shell))
    } else {
        mk(
            &HANDSHAKE,
            Status::Info,
            format!(
                "the server negotiates {version} with {}; mailpath's TLS library could not complete this handshake \
                 (rustls supports only ECDHE with AES-GCM/ChaCha20 in TLS 1.2): our limit, not the server's fault",
                chosen.suite
            ),
        )
        .detail(format!(
            "rustls said: {rustls_said}. {scanner_words}.{chain_words} Whether Exchange Online can negotiate a suite \
             with this server is tls.ciphers."
        ))
    };
    Some(vec![handshake, version_result])
}

fn names(suites: &[&Suite]) -> String {
    suites.iter().map(|s| s.name).collect::<Vec<_>>().join(", ")
}

fn exo_names() -> String {
    EXO_SUITES
        .iter()
        .chain(EXO_LEGACY_SUITES.iter())
        .map(|id| suites::suite_name(*id))
        .collect::<Vec<_>>()
        .join(", ")
}

fn weakness(s: &Suite) -> &'static str {
    match (s.forward_secrecy(), s.mode == Mode::Aead) {
        (false, false) => "no forward secrecy, CBC",
        (false, true) => "no forward secrecy",
        (true, false) => "CBC",
        (true, true) => "forward secrecy, AEAD",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::Attachment;
    use crate::evidence::tls_scan::{AcceptedSuite, Chosen, HelloResult, Transport};
    use crate::evidence::{Connect, TlsEvidence};

    fn ctx() -> EndpointContext {
        EndpointContext {
            attachment: Attachment::Hop("in.eop-edge".into()),
            external_service: false,
            role: "the Edge".into(),
            vantage: crate::checks::smtp::Vantage::default(),
        }
    }

    fn scan(mode: ScanMode, ids: &[u16], server_order: Option<bool>) -> TlsScan {
        let first = ids.first().copied();
        TlsScan {
            mode,
            transport: Transport::StarttlsSmtp,
            sni: None,
            hellos: vec![HelloResult {
                offered: "TLS 1.0-1.2".into(),
                outcome: if first.is_some() {
                    OutcomeKind::ServerHello
                } else {
                    OutcomeKind::Alert
                },
                chosen: first.map(|id| Chosen {
                    version: "TLSv1.2".into(),
                    suite_id: id,
                    suite: suites::suite_name(id),
                    group: None,
                }),
                answer: "…".into(),
                ms: 1,
            }],
            versions: Vec::new(),
            suites: ids
                .iter()
                .map(|id| AcceptedSuite {
                    id: *id,
                    name: suites::suite_name(*id),
                })
                .collect(),
            suites_version: first.map(|_| Version::Tls12),
            server_order,
            tls13_suites: Vec::new(),
            groups: Vec::new(),
            chain: Vec::new(),
            complete: true,
            stopped: None,
            max_connections: 40,
            max_ms: 60_000,
            ms: 3,
        }
    }

    fn probe(tls: Option<TlsEvidence>, scan: Option<TlsScan>) -> SmtpProbe {
        let connect = Connect::Connected {
            address: "127.0.0.1:25".parse().unwrap(),
            ms: 1,
        };
        let mut p = SmtpProbe::new("mail.contoso.com", 25, Vec::new(), "h", connect);
        p.tls = tls;
        p.tls_scan = scan;
        p
    }

    fn failed_rustls() -> TlsEvidence {
        TlsEvidence {
            error: Some("received fatal alert: HandshakeFailure".into()),
            alert: Some("HandshakeFailure".into()),
            ..TlsEvidence::default()
        }
    }

    fn verdict(ids: &[u16], mode: ScanMode, order: Option<bool>) -> (Status, String) {
        let r = cipher_check(
            &probe(Some(failed_rustls()), Some(scan(mode, ids, order))),
            &ctx(),
        );
        (r.status, r.summary)
    }

    #[test]
    fn cbc_only_and_rsa_only_warn_with_the_fix_and_never_fail() {
        let (s, summary) = verdict(&[0xC028, 0xC027, 0xC014, 0xC013], ScanMode::Full, Some(true));
        assert_eq!(s, Status::Warn, "{summary}");
        assert!(summary.contains("only CBC"), "{summary}");
        let (s, summary) = verdict(&[0x009D, 0x009C], ScanMode::Full, Some(true));
        assert_eq!(s, Status::Warn, "{summary}");
        assert!(summary.contains("forward secrecy"), "{summary}");
        let r = cipher_check(&probe(None, Some(scan(ScanMode::Quick, &[0x009D], None))), &ctx());
        assert!(
            r.remediation
                .contains("Enable-TlsCipherSuite -Name TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384")
        );
        assert!(r.remediation.contains("00010002"));
    }

    #[test]
    fn no_overlap_fails_only_when_enumerated() {
        let (s, summary) = verdict(&[0x009F, 0x009E], ScanMode::Full, Some(false));
        assert_eq!(s, Status::Fail, "{summary}");
        assert!(
            summary.contains("TLS_DHE_RSA_WITH_AES_256_GCM_SHA384"),
            "{summary}"
        );
        let (s, summary) = verdict(&[0x009F], ScanMode::Quick, None);
        assert_eq!(
            s,
            Status::Warn,
            "one hello cannot prove there is no overlap: {summary}"
        );
    }

    #[test]
    fn an_ecdsa_server_is_compared_with_the_counterparts_and_says_so() {
        let r = cipher_check(
            &probe(
                Some(failed_rustls()),
                Some(scan(ScanMode::Full, &[0xC02C, 0xC02B], Some(false))),
            ),
            &ctx(),
        );
        assert_eq!(r.status, Status::Info, "{}", r.summary);
        assert!(r.detail.contains("ECDSA counterparts"), "{}", r.detail);
        let (s, _) = verdict(&[0xC024, 0xC00A], ScanMode::Full, Some(true));
        assert_eq!(s, Status::Warn, "CBC only is still CBC only");
        assert_eq!(
            verdict(&[0xCCA9], ScanMode::Full, Some(true)).0,
            Status::Fail,
            "ChaCha20 only"
        );
    }

    #[test]
    fn a_modern_server_passes_and_a_bad_order_warns() {
        assert_eq!(verdict(&[0xC030, 0xC02F], ScanMode::Quick, None).0, Status::Pass);
        let (s, summary) = verdict(&[0x009D, 0xC030], ScanMode::Full, Some(true));
        assert_eq!(s, Status::Warn, "{summary}");
        assert!(
            summary.contains("negotiates TLS_RSA_WITH_AES_256_GCM_SHA384"),
            "{summary}"
        );
        // Client order: Exchange Online's own order wins, ECDHE first.
        assert_eq!(
            verdict(&[0x009D, 0xC030], ScanMode::Full, Some(false)).0,
            Status::Pass
        );
    }

    #[test]
    fn rustls_alone_judges_its_own_tls12_suite_and_skips_tls13() {
        let done = |version: &str, cipher: &str| TlsEvidence {
            version: Some(version.into()),
            cipher: Some(cipher.into()),
            ..TlsEvidence::default()
        };
        let r = cipher_check(
            &probe(
                Some(done("TLSv1.2", "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256")),
                None,
            ),
            &ctx(),
        );
        assert_eq!(r.status, Status::Pass, "{}", r.summary);
        let r = cipher_check(
            &probe(Some(done("TLSv1.3", "TLS13_AES_256_GCM_SHA384")), None),
            &ctx(),
        );
        assert_eq!(r.status, Status::Skip, "{}", r.summary);
        let r = cipher_check(&probe(None, None), &ctx());
        assert_eq!(r.status, Status::Skip);
    }

    #[test]
    fn the_handshake_is_our_limit_when_the_scanner_saw_a_suite_rustls_lacks() {
        let p = probe(
            Some(failed_rustls()),
            Some(scan(ScanMode::Quick, &[0xC028], None)),
        );
        let r = handshake_checks(&p, &ctx()).unwrap();
        assert_eq!((r[0].id.as_str(), r[0].status), ("tls.handshake", Status::Info));
        assert!(
            r[0].summary.contains("our limit, not the server's fault"),
            "{}",
            r[0].summary
        );
        assert_eq!((r[1].id.as_str(), r[1].status), ("tls.version", Status::Pass));
        // A suite rustls has: something else went wrong, a warning.
        let p = probe(
            Some(failed_rustls()),
            Some(scan(ScanMode::Quick, &[0xC030], None)),
        );
        assert_eq!(handshake_checks(&p, &ctx()).unwrap()[0].status, Status::Warn);
        // Nothing accepted at all: the one failure.
        let p = probe(Some(failed_rustls()), Some(scan(ScanMode::Quick, &[], None)));
        let r = handshake_checks(&p, &ctx()).unwrap();
        assert_eq!(r[0].status, Status::Fail);
        assert!(
            r[0].summary.contains("no TLS can be negotiated"),
            "{}",
            r[0].summary
        );
        // No scan: the probe's own words stand.
        assert!(handshake_checks(&probe(Some(failed_rustls()), None), &ctx()).is_none());
    }
}
