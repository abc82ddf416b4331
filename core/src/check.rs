//! Check results: the judgement of evidence, with stable ids, a status, words and a remediation.

use serde::{Deserialize, Serialize};

mod remediation;
pub use remediation::{Place, Remediation, Step, StepKind, dedup_list_arguments};

/// How a check came out. Ordered from best to worst, so `max` gives the roll-up.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Status {
    /// Verified and fine.
    Pass,
    /// A fact worth knowing, not a problem.
    Info,
    /// Could not be checked from here; the summary says why. Never a pass in disguise.
    Skip,
    /// Works today, but is a risk or deviates from what the Hybrid Configuration Wizard sets.
    Warn,
    /// Broken: mail on this hop fails or is treated as external.
    Fail,
}

impl Status {
    /// Lower-case name (`pass`, `warn`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Pass => "pass",
            Status::Info => "info",
            Status::Skip => "skip",
            Status::Warn => "warn",
            Status::Fail => "fail",
        }
    }
}

impl std::fmt::Display for Status {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a check is attached to on the mail path.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "kind", content = "id", rename_all = "kebab-case")]
pub enum Attachment {
    /// A node (`mailbox`, `edge`, `eop`, `exo`, `internet`).
    Node(String),
    /// A hop (`out.mailbox-edge`, `in.eop-edge`, ...).
    Hop(String),
    /// Not on the path (a certificate file, a single probe).
    None,
}

/// One check's result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckResult {
    /// The stable, dotted id (`tls.cert.expiry`), documented in docs/checks.md.
    pub id: String,
    /// The outcome.
    pub status: Status,
    /// What the check verifies, in a few words.
    pub title: String,
    /// The subject it was run on (`mail.contoso.com:25`, `contoso.com`).
    pub target: String,
    /// One line: what was found.
    pub summary: String,
    /// More words: the evidence in prose, the numbers.
    pub detail: String,
    /// Ids of the evidence used (`smtp:mail.contoso.com:25`, `dns:contoso.com/MX`).
    pub evidence: Vec<String>,
    /// What to do: steps, each prose or one command, with where to run it; empty when nothing is to be
    /// done. Saved diagnoses with the older one-string form still load ([`Remediation`]).
    pub remediation: Remediation,
    /// Documentation links.
    pub references: Vec<String>,
    /// Where on the path.
    pub attachment: Attachment,
}

impl CheckResult {
    /// A result of the catalogued check `def`.
    pub fn new(
        def: &CheckDef,
        status: Status,
        target: impl Into<String>,
        summary: impl Into<String>,
    ) -> Self {
        CheckResult {
            id: def.id.to_string(),
            status,
            title: def.title.to_string(),
            target: target.into(),
            summary: summary.into(),
            detail: String::new(),
            evidence: Vec::new(),
            remediation: Remediation::default(),
            references: def.references.iter().map(|r| (*r).to_string()).collect(),
            attachment: Attachment::None,
        }
    }

    /// Add detail.
    #[must_use]
    pub fn detail(mut self, detail: impl Into<String>) -> Self {
        self.detail = detail.into();
        self
    }

    /// Add a remediation: explicit [`Step`]s, or text (a `&str`/`String`, split into prose and commands by
    /// [`Remediation::from_text`]).
    #[must_use]
    pub fn remediation(mut self, remediation: impl Into<Remediation>) -> Self {
        self.remediation = remediation.into();
        self
    }

    /// Reference a piece of evidence.
    #[must_use]
    pub fn evidence(mut self, id: impl Into<String>) -> Self {
        self.evidence.push(id.into());
        self
    }

    /// Attach to a node or hop.
    #[must_use]
    pub fn on(mut self, attachment: Attachment) -> Self {
        self.attachment = attachment;
        self
    }
}

/// A catalogued check: the id, what it verifies and why that matters in hybrid.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct CheckDef {
    /// The stable id.
    pub id: &'static str,
    /// What it verifies.
    pub title: &'static str,
    /// Why it matters in a hybrid deployment.
    pub why: &'static str,
    /// Documentation links.
    pub references: &'static [&'static str],
}

/// Counts per status.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counts {
    /// Passed.
    pub pass: usize,
    /// Informational.
    pub info: usize,
    /// Skipped.
    pub skip: usize,
    /// Warnings.
    pub warn: usize,
    /// Failures.
    pub fail: usize,
}

impl Counts {
    /// Count the statuses of `results`.
    pub fn of<'a>(results: impl IntoIterator<Item = &'a CheckResult>) -> Counts {
        let mut c = Counts::default();
        for r in results {
            match r.status {
                Status::Pass => c.pass += 1,
                Status::Info => c.info += 1,
                Status::Skip => c.skip += 1,
                Status::Warn => c.warn += 1,
                Status::Fail => c.fail += 1,
            }
        }
        c
    }

    /// Each status with its count, worst first (fail, warn, skip, info, pass): the order badges and
    /// summaries list them in.
    pub fn worst_first(&self) -> [(usize, Status); 5] {
        [
            (self.fail, Status::Fail),
            (self.warn, Status::Warn),
            (self.skip, Status::Skip),
            (self.info, Status::Info),
            (self.pass, Status::Pass),
        ]
    }

    /// The roll-up status: the worst problem present (fail, warn, skip); otherwise pass. Information
    /// alone does not colour a node or hop, unless it is all there is (an unobservable hop is info).
    pub fn worst(&self) -> Status {
        if self.fail > 0 {
            Status::Fail
        } else if self.warn > 0 {
            Status::Warn
        } else if self.skip > 0 {
            Status::Skip
        } else if self.info > 0 && self.pass == 0 {
            Status::Info
        } else {
            Status::Pass
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn worst_status_rolls_up() {
        assert!(Status::Fail > Status::Warn && Status::Warn > Status::Skip && Status::Skip > Status::Pass);
        let def = CheckDef {
            id: "x.y",
            title: "t",
            why: "w",
            references: &[],
        };
        let rs = [
            CheckResult::new(&def, Status::Pass, "a", "s"),
            CheckResult::new(&def, Status::Warn, "a", "s"),
        ];
        let c = Counts::of(&rs);
        assert_eq!((c.pass, c.warn, c.worst()), (1, 1, Status::Warn));
        assert_eq!(Counts::default().worst(), Status::Pass);
        assert_eq!(
            Counts {
                pass: 3,
                info: 1,
                ..Counts::default()
            }
            .worst(),
            Status::Pass
        );
        assert_eq!(
            Counts {
                info: 1,
                ..Counts::default()
            }
            .worst(),
            Status::Info
        );
    }
}
