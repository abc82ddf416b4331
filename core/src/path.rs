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
    /// The worst status of its checks.
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
}

impl MailPath {
    /// Build the path (statuses all Pass until [`MailPath::roll_up`]).
    pub fn build(spec: &PathSpec) -> MailPath {
        let edge = !spec.edge_hosts.is_empty();
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
        let mut out = Lane {
            way: Way::Outbound,
            title: "On-premises -> Exchange Online".into(),
            nodes: vec![],
            hops: vec![],
        };
        let mut inb = Lane {
            way: Way::Inbound,
            title: "Exchange Online -> on-premises".into(),
            nodes: vec![],
            hops: vec![],
        };
        let out_nodes: Vec<&str> = if edge {
            vec!["mailbox", "edge", "eop", "exo"]
        } else {
            vec!["mailbox", "eop", "exo"]
        };
        let in_nodes: Vec<&str> = if edge {
            vec!["exo", "eop", "edge", "mailbox"]
        } else {
            vec!["exo", "eop", "mailbox"]
        };
        for (lane, names, prefix) in [(&mut out, &out_nodes, "out"), (&mut inb, &in_nodes, "in")] {
            lane.nodes = names.iter().map(|s| (*s).to_string()).collect();
            for pair in names.windows(2) {
                let (from, to) = (pair[0], pair[1]);
                let id = format!("{prefix}.{from}-{to}");
                let endpoint = match (from, to) {
                    ("mailbox", "edge") => spec.mailbox_to_edge.clone(),
                    ("edge" | "mailbox", "eop") => spec.to_eop.clone(),
                    ("eop", "edge" | "mailbox") => spec.from_eop.clone(),
                    ("edge", "mailbox") => spec.edge_to_mailbox.clone(),
                    _ => None,
                };
                let observable = !(from == "exo" || to == "exo");
                hops.push(hop(&id, lane.way, from, to, endpoint, observable));
                lane.hops.push(id);
            }
        }
        let mx = Lane {
            way: Way::InternetMx,
            title: "Internet -> accepted domains (MX)".into(),
            nodes: vec!["internet".into(), "eop".into()],
            hops: vec!["mx.internet-eop".into()],
        };
        hops.push(hop(
            "mx.internet-eop",
            Way::InternetMx,
            "internet",
            "eop",
            spec.internet_mx.clone(),
            true,
        ));
        MailPath {
            nodes,
            hops,
            lanes: vec![out, inb, mx],
        }
    }

    /// Set every node's and hop's counts and status from the checks attached to it.
    pub fn roll_up(&mut self, checks: &[CheckResult]) {
        for n in &mut self.nodes {
            let attached = checks
                .iter()
                .filter(|c| c.attachment == Attachment::Node(n.id.clone()));
            n.counts = Counts::of(attached);
            n.status = n.counts.worst();
        }
        for h in &mut self.hops {
            let attached = checks
                .iter()
                .filter(|c| c.attachment == Attachment::Hop(h.id.clone()));
            h.counts = Counts::of(attached);
            h.status = h.counts.worst();
        }
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
mod tests {
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
}
