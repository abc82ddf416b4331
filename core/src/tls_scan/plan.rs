//! Which ClientHello to send next, from what the previous ones got: sans-IO, so the enumeration is
//! tested without a network. A quick scan is one hello; a full scan then tries each version,
//! enumerates the suites by removing the chosen one until the server refuses (as sslscan does),
//! offers the accepted suites reversed to see whose order wins, and enumerates the named groups and
//! the TLS 1.3 suites the same way.

use super::answer::{Answer, Negotiated};
use super::wire::ClientHello;
use crate::evidence::tls_scan::{
    AcceptedSuite, Chosen, HelloResult, OutcomeKind, ScanMode, TlsScan, Transport, VersionResult,
};
use crate::tls_suites::{self as suites, Kex, Version};

/// How a hello's exchange ended, as the I/O layer saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Exchange {
    /// The server answered.
    Answer(Answer),
    /// Nothing (complete) arrived in time.
    Timeout {
        /// Bytes that did arrive.
        bytes: usize,
    },
    /// The TCP connection failed.
    Connect(String),
    /// The SMTP dialogue before STARTTLS failed.
    Smtp(String),
}

/// The step a hello belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// The one hello of a quick scan (and the first of a full one): TLS 1.2 at most, Exchange
    /// Online's suites first.
    Quick,
    /// Does the server accept this version?
    Version(Version),
    /// Which suites at this version? (The ones offered.)
    Suites(Version, Vec<u16>),
    /// Whose order wins? (The accepted suites, reversed.)
    Order(Version, Vec<u16>),
    /// Which named groups? (The groups offered.)
    Groups(Version, Vec<u16>),
    /// Which TLS 1.3 suites? (The ones offered.)
    Tls13Suites(Vec<u16>),
}

/// One hello to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Offer {
    /// Why.
    pub step: Step,
    /// What.
    pub hello: ClientHello,
    /// In words, for the evidence.
    pub words: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stage {
    Quick,
    Versions,
    Suites,
    Order,
    Groups,
    Tls13Suites,
    Done,
}

/// The scan's state: what is known so far and what to ask next.
#[derive(Debug)]
pub struct Planner {
    scan: TlsScan,
    stage: Stage,
    random: fn(&mut [u8]),
    key_share: Vec<u8>,
    groups_found: Vec<u16>,
    dead: bool,
}

impl Planner {
    /// A planner for `mode` (a quick one when `mode` is `Off`), sending `sni` when it is a host name.
    /// `random` fills client randoms and session ids; `key_share` is the x25519 public key of TLS 1.3
    /// hellos.
    pub fn new(
        mode: ScanMode,
        transport: Transport,
        sni: Option<&str>,
        random: fn(&mut [u8]),
        key_share: Vec<u8>,
    ) -> Planner {
        let sni = sni
            .filter(|s| !s.is_empty() && s.parse::<std::net::IpAddr>().is_err() && s.len() < 256)
            .map(|s| s.trim_end_matches('.').to_ascii_lowercase());
        Planner {
            scan: TlsScan {
                mode: if mode == ScanMode::Full {
                    ScanMode::Full
                } else {
                    ScanMode::Quick
                },
                transport,
                sni,
                hellos: Vec::new(),
                versions: Vec::new(),
                suites: Vec::new(),
                suites_version: None,
                server_order: None,
                tls13_suites: Vec::new(),
                groups: Vec::new(),
                chain: Vec::new(),
                complete: false,
                stopped: None,
                max_connections: 0,
                max_ms: 0,
                ms: 0,
            },
            stage: Stage::Quick,
            random,
            key_share,
            groups_found: Vec::new(),
            dead: false,
        }
    }

    /// Hellos sent so far.
    pub fn connections(&self) -> usize {
        self.scan.hellos.len()
    }

    /// The next hello, or `None` when the scan is over.
    pub fn next_offer(&mut self) -> Option<Offer> {
        loop {
            if self.dead {
                return None;
            }
            let offer = match self.stage {
                Stage::Quick => Some(self.quick()),
                Stage::Versions => self.version_offer(),
                Stage::Suites => self.suites_offer(),
                Stage::Order => self.order_offer(),
                Stage::Groups => self.groups_offer(),
                Stage::Tls13Suites => self.tls13_offer(),
                Stage::Done => return None,
            };
            match offer {
                Some(offer) => return Some(offer),
                None => self.advance(),
            }
        }
    }

    /// Record what `offer` got (`ms` from connecting to the answer).
    pub fn record(&mut self, offer: &Offer, exchange: &Exchange, ms: u64) {
        let (outcome, chosen, answer_words, negotiated) = describe(exchange);
        self.scan.hellos.push(HelloResult {
            offered: offer.words.clone(),
            outcome,
            chosen,
            answer: answer_words.clone(),
            ms,
        });
        if let Some(n) = negotiated
            && self.scan.chain.is_empty()
            && !n.chain.is_empty()
        {
            self.scan.chain = n
                .chain
                .iter()
                .map(|c| rustls_pki_types::CertificateDer::from(c.clone()))
                .collect();
        }
        // A connection that did not get a TLS answer says nothing about TLS; after one, stop asking.
        let transport_failure = match exchange {
            Exchange::Connect(_) | Exchange::Smtp(_) => true,
            Exchange::Timeout { .. } => true,
            Exchange::Answer(Answer::Closed { .. } | Answer::NotTls { .. }) => offer.step == Step::Quick,
            Exchange::Answer(_) => false,
        };
        match &offer.step {
            Step::Quick => self.after_quick(negotiated, &answer_words),
            Step::Version(v) => self.after_version(*v, exchange, negotiated, &answer_words),
            Step::Suites(v, offered) => self.after_suites(*v, offered, exchange, negotiated),
            Step::Order(_, reversed) => {
                if let Some(n) = negotiated {
                    self.scan.server_order = Some(reversed.first() != Some(&n.suite));
                } else {
                    self.incomplete(format!("the order test got {answer_words}"));
                }
                self.advance();
            }
            Step::Groups(_, offered) => self.after_groups(offered, exchange, negotiated),
            Step::Tls13Suites(offered) => self.after_tls13(offered, exchange, negotiated),
        }
        if transport_failure {
            self.stop(match exchange {
                Exchange::Smtp(why) | Exchange::Connect(why) => why.clone(),
                _ => answer_words,
            });
        }
    }

    /// Stop here, saying why.
    pub fn stop(&mut self, why: String) {
        if self.stage != Stage::Done {
            self.scan.stopped.get_or_insert(why);
            self.scan.complete = false;
        }
        self.dead = true;
    }

    /// The scan, with its caps and duration.
    pub fn finish(mut self, max_connections: u32, max_ms: u64, ms: u64) -> TlsScan {
        self.scan.complete = self.stage == Stage::Done && self.scan.stopped.is_none();
        self.scan.max_connections = max_connections;
        self.scan.max_ms = max_ms;
        self.scan.ms = ms;
        self.scan.versions.sort_by_key(|v| std::cmp::Reverse(v.version));
        self.scan
    }

    fn advance(&mut self) {
        self.stage = match (self.stage, self.scan.mode) {
            (Stage::Quick, ScanMode::Full) => Stage::Versions,
            (Stage::Quick, _) => Stage::Done,
            (Stage::Versions, _) => Stage::Suites,
            (Stage::Suites, _) => Stage::Order,
            (Stage::Order, _) => Stage::Groups,
            (Stage::Groups, _) => Stage::Tls13Suites,
            (Stage::Tls13Suites | Stage::Done, _) => Stage::Done,
        };
    }

    fn incomplete(&mut self, why: String) {
        self.scan.stopped.get_or_insert(why);
    }

    fn set_version(&mut self, version: Version, accepted: Option<bool>, answer: String) {
        match self.scan.versions.iter_mut().find(|v| v.version == version) {
            // A definite answer replaces an unknown one, never the other way round.
            Some(known) if known.accepted.is_none() || accepted.is_some() && known.accepted != Some(true) => {
                known.accepted = accepted;
                known.answer = answer;
            }
            Some(_) => {}
            None => self.scan.versions.push(VersionResult {
                version,
                accepted,
                answer,
            }),
        }
    }

    fn known(&self, version: Version) -> bool {
        self.scan.version(version).is_some_and(|v| v.accepted.is_some())
    }

    fn add_group(&mut self, group: Option<u16>) {
        if let Some(g) = group
            && !self.groups_found.contains(&g)
        {
            self.groups_found.push(g);
            self.scan.groups.push(suites::group_name(g));
        }
    }

    fn hello(
        &self,
        legacy_version: u16,
        versions: Vec<u16>,
        suites: Vec<u16>,
        groups: Vec<u16>,
    ) -> ClientHello {
        let mut random = [0u8; 32];
        (self.random)(&mut random);
        let tls13 = versions.contains(&Version::Tls13.wire());
        let mut session_id = Vec::new();
        if tls13 {
            session_id = vec![0u8; 32];
            (self.random)(&mut session_id);
        }
        ClientHello {
            legacy_version,
            random,
            session_id,
            suites,
            groups,
            signature_algorithms: if legacy_version >= Version::Tls12.wire() {
                suites::SIGNATURE_ALGORITHMS.to_vec()
            } else {
                Vec::new()
            },
            server_name: self.scan.sni.clone(),
            key_shares: if tls13 {
                vec![(suites::X25519, self.key_share.clone())]
            } else {
                Vec::new()
            },
            renegotiation_info: true,
            versions,
        }
    }

    fn all_groups() -> Vec<u16> {
        suites::GROUPS.iter().map(|g| g.id).collect()
    }

    fn quick(&self) -> Offer {
        let offered = suites::exo_first_suites();
        let n = offered.len();
        let groups = vec![0x001D, 0x0017, 0x0018, 0x0019, 0x0100, 0x0101];
        Offer {
            step: Step::Quick,
            hello: self.hello(Version::Tls12.wire(), Vec::new(), offered, groups),
            words: format!(
                "TLS 1.0-1.2, Exchange Online's {} suites first in Microsoft's order (then their ECDSA \
                 counterparts), {n} suites in all",
                suites::EXO_SUITES.len() + suites::EXO_LEGACY_SUITES.len()
            ),
        }
    }

    fn after_quick(&mut self, negotiated: Option<&Negotiated>, words: &str) {
        let Some(n) = negotiated else {
            // No ServerHello to a TLS 1.0-1.2 hello: nothing up to TLS 1.2 was accepted with these suites.
            self.set_version(Version::Tls12, None, words.to_string());
            self.advance();
            return;
        };
        match Version::from_wire(n.version) {
            Some(v) if v <= Version::Tls12 => {
                self.set_version(v, Some(true), format!("chosen for a TLS 1.2 hello: {words}"));
                if v < Version::Tls12 {
                    self.set_version(
                        Version::Tls12,
                        Some(false),
                        format!("the server chose {v} for a TLS 1.2 hello"),
                    );
                }
                self.scan.suites_version = Some(v);
                self.accept_suite(n.suite);
                if wire_kex(n.suite) == Kex::Ecdhe {
                    self.add_group(n.group);
                }
            }
            _ => {
                self.incomplete(format!("a TLS 1.2 hello got {words}"));
            }
        }
        self.advance();
    }

    fn accept_suite(&mut self, id: u16) {
        if !self.scan.suites.iter().any(|s| s.id == id) {
            self.scan.suites.push(AcceptedSuite {
                id,
                name: suites::suite_name(id),
            });
        }
    }

    fn version_offer(&mut self) -> Option<Offer> {
        let v = [Version::Tls13, Version::Tls12, Version::Tls11, Version::Tls10]
            .into_iter()
            .find(|v| !self.known(*v))?;
        let offer = if v == Version::Tls13 {
            let offered: Vec<u16> = suites::SUITES
                .iter()
                .filter(|s| s.is_tls13())
                .map(|s| s.id)
                .collect();
            Offer {
                step: Step::Version(v),
                words: format!("TLS 1.3 only, {} TLS 1.3 suites, x25519 key share", offered.len()),
                hello: self.hello(
                    Version::Tls12.wire(),
                    vec![Version::Tls13.wire()],
                    offered,
                    Self::all_groups(),
                ),
            }
        } else {
            let offered = suites_for(v, &[]);
            Offer {
                step: Step::Version(v),
                words: format!("{v} at most, {} suites", offered.len()),
                hello: self.hello(v.wire(), Vec::new(), offered, Self::all_groups()),
            }
        };
        Some(offer)
    }

    fn after_version(
        &mut self,
        v: Version,
        exchange: &Exchange,
        negotiated: Option<&Negotiated>,
        words: &str,
    ) {
        match (negotiated, exchange) {
            (Some(n), _) if v == Version::Tls13 => {
                let accepted = n.version == Version::Tls13.wire();
                self.set_version(v, Some(accepted), words.to_string());
                if accepted {
                    self.accept_tls13(n.suite);
                    self.add_group(n.group);
                }
            }
            (Some(n), _) => match Version::from_wire(n.version) {
                Some(got) if got == v => self.set_version(v, Some(true), words.to_string()),
                Some(got) if got < v => {
                    self.set_version(v, Some(false), format!("the server chose {got} instead"));
                    self.set_version(got, Some(true), words.to_string());
                }
                _ => self.set_version(v, None, format!("an answer with another version: {words}")),
            },
            // An alert, or a reset as SChannel sends for a disabled version.
            (None, Exchange::Answer(Answer::Alert { .. } | Answer::Closed { .. })) => {
                self.set_version(v, Some(false), words.to_string());
            }
            (None, _) => self.set_version(v, None, words.to_string()),
        }
    }

    fn accept_tls13(&mut self, id: u16) {
        if !self.scan.tls13_suites.iter().any(|s| s.id == id) {
            self.scan.tls13_suites.push(AcceptedSuite {
                id,
                name: suites::suite_name(id),
            });
        }
    }

    fn suites_version(&self) -> Option<Version> {
        [Version::Tls12, Version::Tls11, Version::Tls10]
            .into_iter()
            .find(|v| self.scan.accepts(*v))
    }

    fn suites_offer(&mut self) -> Option<Offer> {
        let v = self.suites_version()?;
        if self.scan.suites_version.is_some_and(|sv| sv != v) {
            // The quick hello's suite was at another version: start again at this one.
            self.scan.suites.clear();
        }
        self.scan.suites_version = Some(v);
        let accepted: Vec<u16> = self.scan.suites.iter().map(|s| s.id).collect();
        let offered = suites_for(v, &accepted);
        if offered.is_empty() {
            return None;
        }
        Some(Offer {
            words: format!("{v}, {} suites not yet accepted", offered.len()),
            hello: self.hello(v.wire(), Vec::new(), offered.clone(), Self::all_groups()),
            step: Step::Suites(v, offered),
        })
    }

    fn after_suites(
        &mut self,
        v: Version,
        offered: &[u16],
        exchange: &Exchange,
        negotiated: Option<&Negotiated>,
    ) {
        match negotiated {
            Some(n) if offered.contains(&n.suite) && Version::from_wire(n.version) == Some(v) => {
                self.accept_suite(n.suite);
                if wire_kex(n.suite) == Kex::Ecdhe {
                    self.add_group(n.group);
                }
            }
            Some(n) => {
                self.incomplete(format!(
                    "the server chose {} ({}), which was not offered",
                    suites::suite_name(n.suite),
                    suites::version_name(n.version)
                ));
                self.advance();
            }
            None => {
                // An alert or a reset: nothing more is accepted. Anything else leaves the list open.
                if !refusal(exchange) {
                    self.incomplete(format!(
                        "the suite enumeration ended with {}",
                        describe(exchange).2
                    ));
                }
                self.advance();
            }
        }
    }

    fn order_offer(&mut self) -> Option<Offer> {
        let v = self.scan.suites_version?;
        if self.scan.suites.len() < 2 {
            return None;
        }
        let reversed: Vec<u16> = self.scan.suites.iter().rev().map(|s| s.id).collect();
        Some(Offer {
            words: format!("{v}, the {} accepted suites in reverse order", reversed.len()),
            hello: self.hello(v.wire(), Vec::new(), reversed.clone(), Self::all_groups()),
            step: Step::Order(v, reversed),
        })
    }

    fn groups_offer(&mut self) -> Option<Offer> {
        let v = self.scan.suites_version?;
        let ecdhe: Vec<u16> = self
            .scan
            .suites
            .iter()
            .map(|s| s.id)
            .filter(|id| wire_kex(*id) == Kex::Ecdhe)
            .collect();
        if ecdhe.is_empty() {
            return None;
        }
        let offered: Vec<u16> = suites::GROUPS
            .iter()
            .filter(|g| g.ec && !self.groups_found.contains(&g.id))
            .map(|g| g.id)
            .collect();
        if offered.is_empty() {
            return None;
        }
        Some(Offer {
            words: format!(
                "{v}, the accepted ECDHE suites, {} groups not yet chosen",
                offered.len()
            ),
            hello: self.hello(v.wire(), Vec::new(), ecdhe, offered.clone()),
            step: Step::Groups(v, offered),
        })
    }

    fn after_groups(&mut self, offered: &[u16], exchange: &Exchange, negotiated: Option<&Negotiated>) {
        match negotiated.and_then(|n| n.group) {
            Some(g) if offered.contains(&g) => self.add_group(Some(g)),
            _ => {
                if !refusal(exchange) && negotiated.is_none() {
                    self.incomplete(format!(
                        "the group enumeration ended with {}",
                        describe(exchange).2
                    ));
                }
                self.advance();
            }
        }
    }

    fn tls13_offer(&mut self) -> Option<Offer> {
        if !self.scan.accepts(Version::Tls13) {
            return None;
        }
        let offered: Vec<u16> = suites::SUITES
            .iter()
            .filter(|s| s.is_tls13() && !self.scan.tls13_suites.iter().any(|a| a.id == s.id))
            .map(|s| s.id)
            .collect();
        if offered.is_empty() {
            return None;
        }
        Some(Offer {
            words: format!("TLS 1.3, {} TLS 1.3 suites not yet accepted", offered.len()),
            hello: self.hello(
                Version::Tls12.wire(),
                vec![Version::Tls13.wire()],
                offered.clone(),
                Self::all_groups(),
            ),
            step: Step::Tls13Suites(offered),
        })
    }

    fn after_tls13(&mut self, offered: &[u16], exchange: &Exchange, negotiated: Option<&Negotiated>) {
        match negotiated {
            Some(n) if n.version == Version::Tls13.wire() && offered.contains(&n.suite) => {
                self.accept_tls13(n.suite)
            }
            _ => {
                if !refusal(exchange) {
                    self.incomplete(format!(
                        "the TLS 1.3 suite enumeration ended with {}",
                        describe(exchange).2
                    ));
                }
                self.advance();
            }
        }
    }
}

/// Every suite usable at `v`, minus `except`, in the table's order.
fn suites_for(v: Version, except: &[u16]) -> Vec<u16> {
    suites::SUITES
        .iter()
        .filter(|s| s.usable_at(v) && !except.contains(&s.id))
        .map(|s| s.id)
        .collect()
}

/// Whether an exchange is a server saying no: an alert, or closing the connection (SChannel resets
/// when nothing offered is acceptable).
fn refusal(exchange: &Exchange) -> bool {
    matches!(
        exchange,
        Exchange::Answer(Answer::Alert { .. } | Answer::Closed { .. })
    )
}

fn wire_kex(suite: u16) -> Kex {
    super::wire::kex_of(suite)
}

/// The evidence of one exchange: its kind, what was chosen, words, and the negotiation if any.
fn describe(exchange: &Exchange) -> (OutcomeKind, Option<Chosen>, String, Option<&Negotiated>) {
    match exchange {
        Exchange::Answer(answer) => {
            let words = answer.words();
            match answer {
                Answer::Hello(n) => {
                    let group = n
                        .group
                        .map(suites::group_name)
                        .or_else(|| n.dh_bits.map(|b| format!("DH {b} bits")));
                    let chosen = Chosen {
                        version: suites::version_name(n.version),
                        suite_id: n.suite,
                        suite: suites::suite_name(n.suite),
                        group,
                    };
                    let kind = if n.retry {
                        OutcomeKind::HelloRetry
                    } else {
                        OutcomeKind::ServerHello
                    };
                    (kind, Some(chosen), words, Some(n))
                }
                Answer::Alert { .. } => (OutcomeKind::Alert, None, words, None),
                Answer::Closed { .. } => (OutcomeKind::Closed, None, words, None),
                Answer::NotTls { .. } => (OutcomeKind::NotTls, None, words, None),
                Answer::Malformed { .. } => (OutcomeKind::Malformed, None, words, None),
            }
        }
        Exchange::Timeout { bytes: 0 } => (OutcomeKind::Timeout, None, "no answer in time".into(), None),
        Exchange::Timeout { bytes } => (
            OutcomeKind::Timeout,
            None,
            format!("only {bytes} bytes of an answer in time"),
            None,
        ),
        Exchange::Connect(why) => (OutcomeKind::Connect, None, why.clone(), None),
        Exchange::Smtp(why) => (OutcomeKind::Smtp, None, why.clone(), None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn zero(buf: &mut [u8]) {
        buf.fill(0);
    }

    /// A server model: versions, suites in its order (or the client's), groups.
    struct Model {
        versions: Vec<Version>,
        suites: Vec<u16>,
        groups: Vec<u16>,
        server_order: bool,
    }

    impl Model {
        fn answer(&self, hello: &ClientHello) -> Exchange {
            let offered_versions = hello.offered_versions();
            let Some(v) = self
                .versions
                .iter()
                .copied()
                .filter(|v| offered_versions.contains(v))
                .max()
            else {
                return Exchange::Answer(Answer::Alert {
                    level: 2,
                    description: 70,
                });
            };
            let usable = |id: &u16| suites::suite(*id).is_some_and(|s| s.usable_at(v));
            let suite = if self.server_order {
                self.suites
                    .iter()
                    .copied()
                    .filter(usable)
                    .find(|s| hello.suites.contains(s))
            } else {
                hello
                    .suites
                    .iter()
                    .copied()
                    .filter(usable)
                    .find(|s| self.suites.contains(s))
            };
            let Some(suite) = suite else {
                return Exchange::Answer(Answer::Alert {
                    level: 2,
                    description: 40,
                });
            };
            let group = if wire_kex(suite) == Kex::Ecdhe || v == Version::Tls13 {
                let Some(g) = self.groups.iter().copied().find(|g| hello.groups.contains(g)) else {
                    return Exchange::Answer(Answer::Alert {
                        level: 2,
                        description: 40,
                    });
                };
                Some(g)
            } else {
                None
            };
            Exchange::Answer(Answer::Hello(Negotiated {
                version: v.wire(),
                suite,
                group,
                chain: vec![b"leaf".to_vec()],
                complete: true,
                ..Negotiated::default()
            }))
        }
    }

    fn run(model: &Model, mode: ScanMode) -> TlsScan {
        let mut p = Planner::new(
            mode,
            Transport::StarttlsSmtp,
            Some("Mail.Contoso.com."),
            zero,
            vec![9; 32],
        );
        while let Some(offer) = p.next_offer() {
            assert!(p.connections() < 60, "runaway scan");
            let ex = model.answer(&offer.hello);
            p.record(&offer, &ex, 1);
        }
        p.finish(40, 60_000, 5)
    }

    #[test]
    fn quick_is_one_hello_with_exchange_onlines_suites_first() {
        let model = Model {
            versions: vec![Version::Tls12, Version::Tls13],
            suites: vec![0xC028, 0xC027, 0xC030],
            groups: vec![0x0017],
            server_order: false,
        };
        let scan = run(&model, ScanMode::Quick);
        assert_eq!(scan.connections(), 1);
        assert_eq!(scan.sni.as_deref(), Some("mail.contoso.com"));
        assert_eq!(
            scan.suites.iter().map(|s| s.id).collect::<Vec<_>>(),
            [0xC030],
            "client order: EXO's first"
        );
        assert_eq!(scan.groups, ["secp256r1"]);
        assert!(scan.accepts(Version::Tls12));
        assert!(scan.complete);
        assert_eq!(scan.chain.len(), 1);
    }

    #[test]
    fn full_enumerates_versions_suites_order_and_groups() {
        let model = Model {
            versions: vec![Version::Tls12],
            suites: vec![0xC028, 0xC027, 0xC014, 0xC013],
            groups: vec![0x0018, 0x0017],
            server_order: true,
        };
        let scan = run(&model, ScanMode::Full);
        let ids: Vec<u16> = scan.suites.iter().map(|s| s.id).collect();
        assert_eq!(ids, [0xC028, 0xC027, 0xC014, 0xC013], "in the server's order");
        assert_eq!(scan.server_order, Some(true));
        assert_eq!(scan.groups, ["secp384r1", "secp256r1"]);
        let accepted: Vec<(Version, Option<bool>)> =
            scan.versions.iter().map(|v| (v.version, v.accepted)).collect();
        assert_eq!(
            accepted,
            [
                (Version::Tls13, Some(false)),
                (Version::Tls12, Some(true)),
                (Version::Tls11, Some(false)),
                (Version::Tls10, Some(false)),
            ]
        );
        assert!(scan.complete, "{:?}", scan.stopped);
        // 1 quick + 3 versions + 4 suites (3 more accepted, then a refusal) + 1 order + 2 groups.
        assert_eq!(scan.connections(), 1 + 3 + 4 + 1 + 2, "{:#?}", scan.hellos);
    }

    #[test]
    fn client_order_and_tls13_suites() {
        let model = Model {
            versions: vec![Version::Tls12, Version::Tls13],
            suites: vec![0x009D, 0xC030, 0x1301, 0x1302],
            groups: vec![0x001D],
            server_order: false,
        };
        let scan = run(&model, ScanMode::Full);
        assert_eq!(scan.server_order, Some(false));
        let t13: Vec<u16> = scan.tls13_suites.iter().map(|s| s.id).collect();
        assert_eq!(t13, [0x1302, 0x1301]);
        assert!(scan.accepts(Version::Tls13));
    }

    #[test]
    fn a_legacy_server_is_enumerated_at_its_version() {
        let model = Model {
            versions: vec![Version::Tls10, Version::Tls11],
            suites: vec![0x0035, 0x002F],
            groups: vec![],
            server_order: true,
        };
        let scan = run(&model, ScanMode::Full);
        assert_eq!(scan.suites_version, Some(Version::Tls11));
        assert_eq!(scan.suites.len(), 2);
        assert_eq!(scan.version(Version::Tls12).and_then(|v| v.accepted), Some(false));
        assert!(scan.accepts(Version::Tls10));
    }

    #[test]
    fn a_failed_connection_stops_the_scan() {
        let mut p = Planner::new(ScanMode::Full, Transport::StarttlsSmtp, None, zero, vec![]);
        let offer = p.next_offer().unwrap();
        p.record(&offer, &Exchange::Smtp("STARTTLS is not offered".into()), 3);
        assert!(p.next_offer().is_none());
        let scan = p.finish(40, 1000, 3);
        assert!(!scan.complete);
        assert_eq!(scan.stopped.as_deref(), Some("STARTTLS is not offered"));
    }
}
