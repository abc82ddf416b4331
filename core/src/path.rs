//! The active mail path: nodes (Mailbox, Edge, EOP, Exchange Online, Internet), hops between them in
//! both directions, and the status each takes from the checks attached to it. The GUI, the reports
//! and the text output all draw this one model.

use serde::{Deserialize, Serialize};

use crate::check::{Attachment, CheckResult, Counts, Status};

/// What a node is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum NodeKind {
    /// Senders on the internet (the MX path of the accepted domains).
    Internet,
    /// On-premises Exchange Mailbox servers.
    Mailbox,
    /// Edge Transport servers handling hybrid mail.
    Edge,
    /// Exchange Online Protection (the tenant's `*.mail.protection.outlook.com` endpoint).
    Eop,
    /// Exchange Online mailboxes.
    ExchangeOnline,
    /// Where a hop really goes when it is not where hybrid expects: a third-party gateway, a retired
    /// Office 365 endpoint, or back on-premises (a loop). The label says which.
    Gateway,
    /// Not known yet: the MX was not looked up (a preview) or has no usable answer.
    Unknown,
}

/// Where a hop reaches, judged by the name (or address) it delivers to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Destination {
    /// Exchange Online Protection.
    Eop,
    /// An on-premises server of this deployment.
    OnPremises,
    /// A retired Office 365 endpoint (FOPE, Forefront: `mail.messaging.microsoft.com`, `*.frontbridge.com`)
    /// or an Office 365 address used instead of the tenant's name: Exchange Online answers ATTR35.
    Retired,
    /// Anything else: a third-party gateway or relay.
    ThirdParty,
}

/// A host a hop delivers to, and what it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reached {
    /// The host name (or address).
    pub host: String,
    /// What it is.
    pub destination: Destination,
}

/// Which way mail flows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Way {
    /// On-premises -> Exchange Online.
    Outbound,
    /// Exchange Online -> on-premises.
    Inbound,
    /// Internet -> the accepted domains' MX.
    InternetMx,
    /// Exchange Online -> the internet: directly through EOP, or through on-premises with centralized mail
    /// transport.
    ToInternet,
}

/// A node of the path.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Node {
    /// Stable id: `mailbox`, `edge`, `eop`, `exo`, `internet`.
    pub id: String,
    /// What it is.
    pub kind: NodeKind,
    /// Display label.
    pub label: String,
    /// The host names behind it.
    pub hosts: Vec<String>,
    /// Counts of the checks attached to it.
    pub counts: Counts,
    /// The worst status of its checks and of the TLS/SMTP problems on the hops that reach it (what it
    /// serves); `info` when nothing was judged on it ([`MailPath::roll_up`]).
    pub status: Status,
}

/// A hop: mail moving from one node to the next.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Hop {
    /// Stable id: `out.mailbox-edge`, `in.eop-edge`, ...
    pub id: String,
    /// Which way.
    pub way: Way,
    /// The sending node's id.
    pub from: String,
    /// The receiving node's id.
    pub to: String,
    /// The endpoint the receiving side listens on (`mail.contoso.com:25`), when probed.
    pub endpoint: Option<String>,
    /// Whether mailpath can observe this hop from the workstation.
    pub observable: bool,
    /// Protocol facts to print on the arrow (`SMTP 25`, `TLSv1.3`).
    pub facts: Vec<String>,
    /// Counts of the checks attached to it.
    pub counts: Counts,
    /// The worst status of its checks.
    pub status: Status,
}

/// One direction drawn as a lane: nodes left to right, hops between them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Lane {
    /// Which way.
    pub way: Way,
    /// Title.
    pub title: String,
    /// Node ids in order.
    pub nodes: Vec<String>,
    /// Hop ids in order (one fewer than nodes).
    pub hops: Vec<String>,
}

/// The whole path.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MailPath {
    /// Every node.
    pub nodes: Vec<Node>,
    /// Every hop.
    pub hops: Vec<Hop>,
    /// The lanes, outbound first.
    pub lanes: Vec<Lane>,
}

/// What the path is built from: the on-premises hosts and the endpoints the hops reach.
#[derive(Debug, Clone, Default)]
pub struct PathSpec {
    /// Mailbox server names.
    pub mailbox_hosts: Vec<String>,
    /// Hybrid Edge names (internal and external); empty when no Edge handles hybrid mail.
    pub edge_hosts: Vec<String>,
    /// The EOP endpoint.
    pub eop_host: String,
    /// Endpoint probed for Mailbox -> Edge.
    pub mailbox_to_edge: Option<String>,
    /// Endpoint probed for the hop into EOP (on-premises -> EOP).
    pub to_eop: Option<String>,
    /// Endpoint probed for the hop from EOP into on-premises.
    pub from_eop: Option<String>,
    /// Endpoint probed for Edge -> Mailbox.
    pub edge_to_mailbox: Option<String>,
    /// Endpoint probed for the internet MX hop.
    pub internet_mx: Option<String>,
    /// Where the hop into the cloud really delivers (the send connector's smart host, else the MX of the
    /// routing domain); `None` before DNS is read (drawn as EOP, the only answer Microsoft's zone gives).
    pub to_eop_reaches: Option<Reached>,
    /// Where the MX of the first accepted domain points; `None` before DNS is read or when it has none.
    pub internet_mx_reaches: Option<Reached>,
    /// Whether Exchange Online sends its internet mail through on-premises (`RouteAllMessagesViaOnPremises`,
    /// centralized mail transport).
    pub centralized: bool,
}

impl Node {
    /// Whether anything was judged on this node: checks attached to it, or a problem in what it serves
    /// ([`MailPath::roll_up`]). A node that was not is drawn neutral (its status is `info`), never green.
    pub fn judged(&self) -> bool {
        self.counts != Counts::default() || self.status >= Status::Warn
    }
}

impl MailPath {
    /// Build the path (statuses all Pass until [`MailPath::roll_up`]).
    ///
    /// Hop ids name the role of a hop (`out.edge-eop`: the hop into the cloud; `mx.internet-eop`: the
    /// accepted domain's MX) and stay the same whatever it reaches, so that checks, reports and their
    /// comparisons keep their keys; the node at its end is what it really reaches (a retired Office 365
    /// endpoint, a third-party gateway, on-premises).
    pub fn build(spec: &PathSpec) -> MailPath {
        let edge = !spec.edge_hosts.is_empty();
        let onprem = if edge { "edge" } else { "mailbox" };
        let mut nodes = vec![
            node(
                "mailbox",
                NodeKind::Mailbox,
                "Exchange Mailbox",
                &spec.mailbox_hosts,
            ),
            node(
                "eop",
                NodeKind::Eop,
                "Exchange Online Protection",
                std::slice::from_ref(&spec.eop_host),
            ),
            node("exo", NodeKind::ExchangeOnline, "Exchange Online", &[]),
            node("internet", NodeKind::Internet, "Internet", &[]),
        ];
        if edge {
            nodes.insert(
                1,
                node("edge", NodeKind::Edge, "Edge Transport", &spec.edge_hosts),
            );
        }
        let mut hops = Vec::new();
        let mut lanes = Vec::new();

        // On-premises -> Exchange Online: through the Edge when there is one, to where the send connector
        // really delivers.
        let mut out_nodes: Vec<String> = vec!["mailbox".into()];
        if edge {
            out_nodes.push("edge".into());
        }
        let cloud = match &spec.to_eop_reaches {
            None => "eop".to_string(),
            Some(r) if r.destination == Destination::Eop => "eop".to_string(),
            Some(r) => elsewhere(&mut nodes, "", r),
        };
        let reaches_exo = cloud == "eop";
        out_nodes.push(cloud);
        if reaches_exo {
            out_nodes.push("exo".into());
        }
        lanes.push(lane(
            &mut hops,
            Way::Outbound,
            "On-premises -> Exchange Online",
            "out",
            &out_nodes,
            spec,
        ));

        // Exchange Online -> on-premises.
        let mut in_nodes: Vec<String> = vec!["exo".into(), "eop".into()];
        if edge {
            in_nodes.push("edge".into());
        }
        in_nodes.push("mailbox".into());
        lanes.push(lane(
            &mut hops,
            Way::Inbound,
            "Exchange Online -> on-premises",
            "in",
            &in_nodes,
            spec,
        ));

        // Internet -> the accepted domains' MX: EOP only when the MX is EOP.
        let mx_node = match &spec.internet_mx_reaches {
            None => {
                nodes.push(node("mx", NodeKind::Unknown, "MX of the accepted domain", &[]));
                "mx".to_string()
            }
            Some(r) => match r.destination {
                Destination::Eop => "eop".to_string(),
                Destination::OnPremises => onprem.to_string(),
                _ => elsewhere(&mut nodes, "mx-", r),
            },
        };
        lanes.push(lane(
            &mut hops,
            Way::InternetMx,
            "Internet -> accepted domains (MX)",
            "mx",
            &["internet".into(), mx_node],
            spec,
        ));

        // Exchange Online -> the internet: directly, or centralized through on-premises.
        let (title, net_nodes): (&str, Vec<String>) = if spec.centralized {
            (
                "Exchange Online -> internet (centralized through on-premises)",
                vec!["exo".into(), "eop".into(), onprem.into(), "internet".into()],
            )
        } else {
            (
                "Exchange Online -> internet",
                vec!["exo".into(), "eop".into(), "internet".into()],
            )
        };
        lanes.push(lane(&mut hops, Way::ToInternet, title, "net", &net_nodes, spec));
        MailPath { nodes, hops, lanes }
    }

    /// Set every node's and hop's counts and status from the checks attached to it.
    ///
    /// A node's status is also judged on what it serves: a TLS or SMTP problem (warn, fail) found on a hop
    /// that reaches the node, in any lane, is the node's too. The Edge whose certificate has expired fails
    /// on the hop from EOP, and is not shown passing in the lane where it sends. A node nothing was judged
    /// on (no checks, nothing it serves) is `info`, never `pass`: there was nothing to observe.
    pub fn roll_up(&mut self, checks: &[CheckResult]) {
        for h in &mut self.hops {
            let attached = checks
                .iter()
                .filter(|c| c.attachment == Attachment::Hop(h.id.clone()));
            h.counts = Counts::of(attached);
            h.status = h.counts.worst();
        }
        let served: Vec<Option<Status>> = self
            .nodes
            .iter()
            .map(|n| self.served_problem(&n.id, checks))
            .collect();
        for (n, served) in self.nodes.iter_mut().zip(served) {
            let attached = checks
                .iter()
                .filter(|c| c.attachment == Attachment::Node(n.id.clone()));
            n.counts = Counts::of(attached);
            let own = if n.counts == Counts::default() {
                Status::Info
            } else {
                n.counts.worst()
            };
            n.status = served.map_or(own, |s| s.max(own));
        }
    }

    /// The worst TLS or SMTP problem (warn or fail) on the hops that reach `node_id`, in any lane.
    fn served_problem(&self, node_id: &str, checks: &[CheckResult]) -> Option<Status> {
        let reaching: Vec<&String> = self
            .lanes
            .iter()
            .flat_map(|lane| {
                lane.nodes
                    .iter()
                    .enumerate()
                    .skip(1)
                    .filter(move |(_, n)| n.as_str() == node_id)
                    .filter_map(move |(k, _)| lane.hops.get(k - 1))
            })
            .collect();
        checks
            .iter()
            .filter(|c| matches!(&c.attachment, Attachment::Hop(h) if reaching.contains(&h)))
            .filter(|c| c.id.starts_with("tls.") || c.id.starts_with("smtp."))
            .map(|c| c.status)
            .filter(|s| *s >= Status::Warn)
            .max()
    }

    /// The node with this id.
    pub fn node(&self, id: &str) -> Option<&Node> {
        self.nodes.iter().find(|n| n.id == id)
    }

    /// The hop with this id.
    pub fn hop(&self, id: &str) -> Option<&Hop> {
        self.hops.iter().find(|h| h.id == id)
    }

    /// The hop with this id, mutable (to add facts).
    pub fn hop_mut(&mut self, id: &str) -> Option<&mut Hop> {
        self.hops.iter_mut().find(|h| h.id == id)
    }
}

/// A lane through `names`, its hops added to `hops`. A hop's id is `<prefix>.<from>-<to>`, except that the
/// hop into the cloud and the MX hop keep their role's id (`out.edge-eop`, `mx.internet-eop`) whatever node
/// they reach.
fn lane(hops: &mut Vec<Hop>, way: Way, title: &str, prefix: &str, names: &[String], spec: &PathSpec) -> Lane {
    let mut lane = Lane {
        way,
        title: title.into(),
        nodes: names.to_vec(),
        hops: Vec::new(),
    };
    for pair in names.windows(2) {
        let (from, to) = (pair[0].as_str(), pair[1].as_str());
        let (id, endpoint, observable) = match (way, from, to) {
            (Way::Outbound, "mailbox", "edge") => {
                (format!("out.{from}-{to}"), spec.mailbox_to_edge.clone(), true)
            }
            (Way::Outbound, "edge" | "mailbox", _) => (format!("out.{from}-eop"), spec.to_eop.clone(), true),
            (Way::Inbound, "eop", _) => (format!("in.{from}-{to}"), spec.from_eop.clone(), true),
            (Way::Inbound, "edge", "mailbox") => {
                (format!("in.{from}-{to}"), spec.edge_to_mailbox.clone(), true)
            }
            (Way::InternetMx, _, _) => ("mx.internet-eop".to_string(), spec.internet_mx.clone(), true),
            (Way::ToInternet, "eop", "edge" | "mailbox") => {
                (format!("net.{from}-{to}"), spec.from_eop.clone(), true)
            }
            (Way::ToInternet, "edge" | "mailbox", _) => (format!("net.{from}-{to}"), None, true),
            _ => (
                format!("{prefix}.{from}-{to}"),
                None,
                !(from == "exo" || to == "exo" || (from == "eop" && to == "internet")),
            ),
        };
        hops.push(hop(&id, way, from, to, endpoint, observable));
        lane.hops.push(id);
    }
    lane
}

/// The node of a host a hop reaches that is not EOP (nor, for the MX, on-premises): its id (`legacy`,
/// `gateway`, `loop`, prefixed with `prefix`), added to `nodes` unless already there.
fn elsewhere(nodes: &mut Vec<Node>, prefix: &str, reached: &Reached) -> String {
    let (id, label) = match reached.destination {
        Destination::Retired => ("legacy", "Retired Office 365 endpoint"),
        Destination::OnPremises => ("loop", "On-premises again (a mail loop)"),
        Destination::Eop | Destination::ThirdParty => ("gateway", "Third-party gateway"),
    };
    let id = format!("{prefix}{id}");
    if !nodes.iter().any(|n| n.id == id) {
        nodes.push(node(
            &id,
            NodeKind::Gateway,
            label,
            std::slice::from_ref(&reached.host),
        ));
    }
    id
}

fn node(id: &str, kind: NodeKind, label: &str, hosts: &[String]) -> Node {
    Node {
        id: id.into(),
        kind,
        label: label.into(),
        hosts: hosts.to_vec(),
        counts: Counts::default(),
        status: Status::Pass,
    }
}

fn hop(id: &str, way: Way, from: &str, to: &str, endpoint: Option<String>, observable: bool) -> Hop {
    Hop {
        id: id.into(),
        way,
        from: from.into(),
        to: to.into(),
        endpoint,
        observable,
        facts: Vec::new(),
        counts: Counts::default(),
        status: Status::Pass,
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::check::CheckDef;

    #[test]
    fn edge_topology_has_edge_in_both_lanes() {
        let spec = PathSpec {
            mailbox_hosts: vec!["ex01".into()],
            edge_hosts: vec!["edge01".into()],
            ..PathSpec::default()
        };
        let p = MailPath::build(&spec);
        assert_eq!(p.lanes[0].nodes, ["mailbox", "edge", "eop", "exo"]);
        assert_eq!(p.lanes[1].nodes, ["exo", "eop", "edge", "mailbox"]);
        assert_eq!(
            p.lanes[0].hops,
            ["out.mailbox-edge", "out.edge-eop", "out.eop-exo"]
        );
        assert!(!p.hop("out.eop-exo").unwrap().observable);
        let direct = MailPath::build(&PathSpec {
            mailbox_hosts: vec!["ex01".into()],
            ..PathSpec::default()
        });
        assert_eq!(direct.lanes[1].hops, ["in.exo-eop", "in.eop-mailbox"]);
        assert!(direct.node("edge").is_none());
    }

    /// Issue 13 item 11: lanes are drawn to what the MX and the send connector really reach.
    #[test]
    fn lanes_end_where_mail_really_goes() {
        let reached = |host: &str, destination| Reached {
            host: host.into(),
            destination,
        };
        let build = |internet_mx: Option<Reached>, to_eop: Option<Reached>, centralized: bool| {
            MailPath::build(&PathSpec {
                mailbox_hosts: vec!["ex01".into()],
                edge_hosts: vec!["edge01".into()],
                internet_mx_reaches: internet_mx,
                to_eop_reaches: to_eop,
                centralized,
                ..PathSpec::default()
            })
        };
        let lane = |p: &MailPath, way: Way| {
            p.lanes
                .iter()
                .find(|l| l.way == way)
                .map(|l| l.nodes.clone())
                .unwrap_or_default()
        };
        let eop = || {
            Some(reached(
                "contoso-com.mail.protection.outlook.com",
                Destination::Eop,
            ))
        };

        let healthy = build(eop(), eop(), false);
        assert_eq!(lane(&healthy, Way::InternetMx), ["internet", "eop"]);
        assert_eq!(lane(&healthy, Way::ToInternet), ["exo", "eop", "internet"]);
        assert!(!healthy.hop("net.eop-internet").unwrap().observable);

        let on_premises = build(
            Some(reached("mail.contoso.com", Destination::OnPremises)),
            eop(),
            false,
        );
        assert_eq!(lane(&on_premises, Way::InternetMx), ["internet", "edge"]);
        assert_eq!(
            on_premises.lanes[2].hops,
            ["mx.internet-eop"],
            "the MX hop keeps its id"
        );

        let gateway = build(
            Some(reached("mx1.gateway.example", Destination::ThirdParty)),
            eop(),
            false,
        );
        assert_eq!(lane(&gateway, Way::InternetMx), ["internet", "mx-gateway"]);
        let node = gateway.node("mx-gateway").unwrap();
        assert_eq!(
            (node.kind, node.hosts.clone()),
            (NodeKind::Gateway, vec!["mx1.gateway.example".to_string()])
        );

        let legacy = build(
            eop(),
            Some(reached("mail.messaging.microsoft.com", Destination::Retired)),
            false,
        );
        assert_eq!(lane(&legacy, Way::Outbound), ["mailbox", "edge", "legacy"]);
        assert_eq!(
            legacy.node("legacy").unwrap().label,
            "Retired Office 365 endpoint"
        );
        assert!(
            legacy.hop("out.edge-eop").is_some(),
            "the hop into the cloud keeps its id"
        );

        let centralized = build(eop(), eop(), true);
        assert_eq!(
            lane(&centralized, Way::ToInternet),
            ["exo", "eop", "edge", "internet"]
        );
        assert!(centralized.hop("net.eop-edge").unwrap().observable);

        let unresolved = build(None, None, false);
        assert_eq!(lane(&unresolved, Way::InternetMx), ["internet", "mx"]);
        assert_eq!(unresolved.node("mx").unwrap().kind, NodeKind::Unknown);
    }

    #[test]
    fn status_is_the_worst_of_the_attached_checks() {
        let mut p = MailPath::build(&PathSpec {
            edge_hosts: vec!["e".into()],
            ..PathSpec::default()
        });
        let def = CheckDef {
            id: "a.b",
            title: "t",
            why: "w",
            references: &[],
        };
        let checks = vec![
            CheckResult::new(&def, Status::Pass, "x", "s").on(Attachment::Hop("in.eop-edge".into())),
            CheckResult::new(&def, Status::Fail, "x", "s").on(Attachment::Hop("in.eop-edge".into())),
            CheckResult::new(&def, Status::Warn, "x", "s").on(Attachment::Node("edge".into())),
        ];
        p.roll_up(&checks);
        assert_eq!(p.hop("in.eop-edge").unwrap().status, Status::Fail);
        assert_eq!(p.hop("in.eop-edge").unwrap().counts.pass, 1);
        assert_eq!(p.node("edge").unwrap().status, Status::Warn);
        assert_eq!(p.hop("out.edge-eop").unwrap().status, Status::Pass);
    }

    /// A path with an Edge, and a check of that id: shared by the tests of the roll-up and of the drawings.
    pub(crate) fn edge_path() -> (MailPath, impl Fn(&'static str) -> CheckDef) {
        let p = MailPath::build(&PathSpec {
            edge_hosts: vec!["edge01.contoso.com".into()],
            ..PathSpec::default()
        });
        let def = |id: &'static str| CheckDef {
            id,
            title: "t",
            why: "w",
            references: &[],
        };
        (p, def)
    }

    #[test]
    fn a_node_carries_what_it_serves_and_is_never_green_from_nothing() {
        let (mut p, def) = edge_path();
        let (cert, dns) = (def("tls.cert.validity"), def("dns.mx"));
        let checks = vec![
            CheckResult::new(&def("smtp.banner"), Status::Pass, "x", "s").on(Attachment::Node("edge".into())),
            // The Edge's certificate fails on the hop from EOP: the Edge fails, in every lane it is in.
            CheckResult::new(&cert, Status::Fail, "x", "s").on(Attachment::Hop("in.eop-edge".into())),
            // A DNS problem on a hop is not something the receiving node serves.
            CheckResult::new(&dns, Status::Warn, "x", "s").on(Attachment::Hop("out.edge-eop".into())),
        ];
        p.roll_up(&checks);
        let edge = p.node("edge").unwrap();
        assert_eq!(
            (edge.status, edge.counts.pass, edge.counts.fail),
            (Status::Fail, 1, 0)
        );
        assert_eq!(
            p.node("eop").unwrap().status,
            Status::Info,
            "nothing judged on EOP itself"
        );
        assert_eq!(
            p.node("exo").unwrap().status,
            Status::Info,
            "nothing observable in Exchange Online"
        );
        assert_eq!(p.hop("out.edge-eop").unwrap().status, Status::Warn);

        // Only warn and fail travel: a skipped TLS check on the hop leaves the node as its own checks say.
        let checks = vec![
            CheckResult::new(&def("smtp.banner"), Status::Pass, "x", "s").on(Attachment::Node("edge".into())),
            CheckResult::new(&cert, Status::Skip, "x", "s").on(Attachment::Hop("in.eop-edge".into())),
        ];
        p.roll_up(&checks);
        assert_eq!(p.node("edge").unwrap().status, Status::Pass);
    }
}
