//! Remediations an admin can paste: a list of steps, each prose or one command, with where to run it.
//!
//! A step that is a command is exactly one command line, so that every renderer can show it on a line of
//! its own (text), in a code block of its own language (Markdown: `powershell`, `text` for device CLIs),
//! or as one selectable unit that never breaks inside a token (HTML, the GUI's copy buttons). A command
//! that only reads (`Get-*`, `Resolve-DnsName`, `dig`) is a [`StepKind::Confirm`] step: a remediation
//! changes something, and reading is how to see that it worked.
//!
//! Saved diagnoses written before steps existed hold one string; it still loads, converted by
//! [`Remediation::from_text`], which splits the commands from the prose around them.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize};

/// Where a step is carried out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Place {
    /// The Exchange Management Shell on the Edge Transport server.
    EdgeShell,
    /// The Exchange Management Shell on each Mailbox server (organization-wide cmdlets: once, on any).
    MailboxShell,
    /// The Exchange Management Shell on-premises, on the server the step names.
    ExchangeShell,
    /// Exchange Online PowerShell (`Connect-ExchangeOnline`).
    ExchangeOnline,
    /// The DNS zone, at its DNS servers or provider.
    Dns,
    /// The firewall between the hops.
    Firewall,
    /// The command line of a network device (an SMTP-inspecting firewall): plain text, not PowerShell.
    DeviceCli,
    /// PowerShell (or a shell) on this workstation.
    Workstation,
}

impl Place {
    /// Where, in words: "in the Exchange Management Shell on the Edge Transport server".
    pub fn label(self) -> &'static str {
        match self {
            Place::EdgeShell => "Exchange Management Shell on the Edge Transport server",
            Place::MailboxShell => "Exchange Management Shell on each Mailbox server",
            Place::ExchangeShell => "Exchange Management Shell (on-premises)",
            Place::ExchangeOnline => "Exchange Online PowerShell",
            Place::Dns => "DNS",
            Place::Firewall => "the firewall",
            Place::DeviceCli => "the device's command line",
            Place::Workstation => "PowerShell on this workstation",
        }
    }

    /// Whether commands here are PowerShell (Markdown `powershell`; prose can be a `#` comment).
    pub fn is_powershell(self) -> bool {
        matches!(
            self,
            Place::EdgeShell
                | Place::MailboxShell
                | Place::ExchangeShell
                | Place::ExchangeOnline
                | Place::Workstation
        )
    }

    /// The language of a code block of commands run here.
    pub fn code_language(self) -> &'static str {
        if self.is_powershell() {
            "powershell"
        } else {
            "text"
        }
    }

    /// The language of a code block holding `command` run here: a device's command line is text; a cmdlet
    /// or a PowerShell assignment is PowerShell wherever it runs (a DNS server's `Add-DnsServerResourceRecord`).
    pub fn language_of(self, command: &str) -> &'static str {
        let word = command.split_whitespace().next().unwrap_or_default();
        if self == Place::DeviceCli {
            "text"
        } else if self.is_powershell() || word.starts_with('$') || is_cmdlet(word) {
            "powershell"
        } else {
            "text"
        }
    }

    /// The place a command's first cmdlet or tool implies, when it implies one.
    pub fn infer(command: &str) -> Option<Place> {
        let mut words = command.split_whitespace();
        let mut word = words.next().unwrap_or_default();
        // `$c = Get-ExchangeCertificate ...`: the cmdlet after the assignment.
        if word.starts_with('$') && words.next() == Some("=") {
            word = words.next().unwrap_or_default();
        }
        let noun = word.split_once('-').map(|(_, n)| n).unwrap_or_default();
        let exo = [
            "InboundConnector",
            "OutboundConnector",
            "ExchangeOnline",
            "MessageTraceV2",
        ];
        let onprem = [
            "SendConnector",
            "ReceiveConnector",
            "ExchangeCertificate",
            "TransportService",
            "EdgeSubscription",
            "EdgeSynchronization",
            "HybridConfiguration",
            "TransportConfig",
            "ExchangeServer",
            "Queue",
        ];
        if exo.iter().any(|n| noun.eq_ignore_ascii_case(n)) {
            Some(Place::ExchangeOnline)
        } else if noun.starts_with("DnsServer") {
            Some(Place::Dns)
        } else if onprem.iter().any(|n| noun.eq_ignore_ascii_case(n)) {
            Some(Place::ExchangeShell)
        } else if [
            "Resolve-DnsName",
            "Test-NetConnection",
            "dig",
            "nslookup",
            "openssl",
            "mailpath",
            "swaks",
        ]
        .iter()
        .any(|t| word.eq_ignore_ascii_case(t))
        {
            Some(Place::Workstation)
        } else {
            None
        }
    }
}

impl fmt::Display for Place {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label())
    }
}

/// What a step is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum StepKind {
    /// Words: what to do where no single command does it, or what a command is for.
    Prose,
    /// One command line that changes something.
    Command,
    /// One command line that only reads: run it to confirm the change.
    Confirm,
}

/// One step of a remediation.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Step {
    /// Prose, a command, or a confirming command.
    pub kind: StepKind,
    /// The words, or the one command line.
    pub text: String,
    /// Where to carry it out, when it matters (prose may leave it to the words).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub place: Option<Place>,
}

impl Step {
    /// Words, carried out at `place` when given.
    pub fn prose(text: impl Into<String>) -> Step {
        Step {
            kind: StepKind::Prose,
            text: text.into().trim().to_string(),
            place: None,
        }
    }

    /// One command line that changes something, run at `place`. A comma-separated argument value that
    /// names the same thing twice (`-DomainName a,a`) is said once.
    pub fn command(place: Place, command: impl Into<String>) -> Step {
        Step {
            kind: StepKind::Command,
            text: dedup_list_arguments(command.into().trim()),
            place: Some(place),
        }
    }

    /// One command line that only reads, run at `place` to confirm.
    pub fn confirm(place: Place, command: impl Into<String>) -> Step {
        Step {
            kind: StepKind::Confirm,
            text: dedup_list_arguments(command.into().trim()),
            place: Some(place),
        }
    }

    /// Carried out at `place`.
    #[must_use]
    pub fn at(mut self, place: Place) -> Step {
        self.place = Some(place);
        self
    }

    /// Whether this step is a command (changing or confirming).
    pub fn is_command(&self) -> bool {
        self.kind != StepKind::Prose
    }
}

/// What to do about a finding: steps in order. Empty when nothing is to be done.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct Remediation {
    /// The steps.
    pub steps: Vec<Step>,
}

impl Remediation {
    /// Steps, in order.
    pub fn steps(steps: impl IntoIterator<Item = Step>) -> Remediation {
        Remediation {
            steps: steps.into_iter().filter(|s| !s.text.is_empty()).collect(),
        }
    }

    /// Whether there is nothing to do.
    pub fn is_empty(&self) -> bool {
        self.steps.is_empty()
    }

    /// Whether any step's words or command contain `needle`.
    pub fn contains(&self, needle: &str) -> bool {
        self.steps.iter().any(|s| s.text.contains(needle))
    }

    /// The commands (changing and confirming), in order.
    pub fn commands(&self) -> impl Iterator<Item = &Step> {
        self.steps.iter().filter(|s| s.is_command())
    }

    /// Each step with the place a renderer heads it with: its own, or for prose that names none, the place
    /// of the next step that does (so that "Renew it:" sits under the shell its commands run in).
    pub fn placed(&self) -> Vec<(Option<Place>, &Step)> {
        let mut out: Vec<(Option<Place>, &Step)> = Vec::with_capacity(self.steps.len());
        for (i, step) in self.steps.iter().enumerate() {
            let place = step.place.or_else(|| {
                let next = self.steps[i + 1..].iter().find_map(|s| s.place);
                let previous = out.last().and_then(|(p, _)| *p);
                // Prose between two steps at one place stays there; prose before a new place joins it.
                next.or(previous)
            });
            out.push((place, step));
        }
        out
    }

    /// Split an older one-string remediation into steps: each command (a PowerShell cmdlet, `$x = ...`,
    /// or a DNS/TLS tool) becomes one command step, the words around it prose; a command that only reads
    /// becomes a confirming step; the place is what the cmdlet implies, when it implies one.
    pub fn from_text(text: &str) -> Remediation {
        let mut steps = Vec::new();
        for line in text.lines() {
            for sentence in sentences(line) {
                for piece in split_outside_quotes(sentence, "; ") {
                    split_piece(piece, &mut steps);
                }
            }
        }
        // "In Exchange Online:" before a command whose place says as much is said by the place.
        let mut kept: Vec<Step> = Vec::with_capacity(steps.len());
        for (i, step) in steps.iter().enumerate() {
            const PLACES: &[&str] = &[
                "in exchange online:",
                "on-premises:",
                "on exchange:",
                "on the edge:",
                "in the exchange management shell:",
                "in exchange online powershell:",
            ];
            let names_place = step.kind == StepKind::Prose
                && PLACES.contains(&step.text.to_ascii_lowercase().as_str())
                && steps
                    .get(i + 1)
                    .is_some_and(|next| next.is_command() && next.place.is_some());
            if !names_place {
                kept.push(step.clone());
            }
        }
        Remediation::steps(kept)
    }

    /// The remediation as plain text, one step per line: commands alone on their line (what a terminal
    /// shows and a clipboard gets), prose as `# ` comments in PowerShell places so that a group pastes
    /// as is, and a `[place]` line whenever the place changes.
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        let mut place: Option<Place> = None;
        for (at, step) in self.placed() {
            if at.is_some() && at != place {
                place = at;
                if let Some(p) = place {
                    out.push_str(&format!("[{}]\n", p.label()));
                }
            }
            let powershell = place.is_some_and(Place::is_powershell);
            match step.kind {
                StepKind::Prose if powershell => out.push_str(&format!("# {}\n", step.text)),
                StepKind::Prose => out.push_str(&format!("{}\n", step.text)),
                StepKind::Command => out.push_str(&format!("{}\n", step.text)),
                StepKind::Confirm if powershell => {
                    out.push_str(&format!("# to confirm:\n{}\n", step.text));
                }
                StepKind::Confirm => out.push_str(&format!("to confirm: {}\n", step.text)),
            }
        }
        out
    }
}

impl fmt::Display for Remediation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.to_text().trim_end())
    }
}

impl From<&str> for Remediation {
    fn from(text: &str) -> Remediation {
        Remediation::from_text(text)
    }
}

impl From<String> for Remediation {
    fn from(text: String) -> Remediation {
        Remediation::from_text(&text)
    }
}

impl From<&String> for Remediation {
    fn from(text: &String) -> Remediation {
        Remediation::from_text(text)
    }
}

impl From<Vec<Step>> for Remediation {
    fn from(steps: Vec<Step>) -> Remediation {
        Remediation::steps(steps)
    }
}

impl From<Step> for Remediation {
    fn from(step: Step) -> Remediation {
        Remediation::steps([step])
    }
}

impl<'de> Deserialize<'de> for Remediation {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Remediation, D::Error> {
        /// The steps, or the older one-string form.
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Form {
            Steps(Vec<Step>),
            Text(String),
        }
        Ok(match Form::deserialize(deserializer)? {
            Form::Steps(steps) => Remediation { steps },
            Form::Text(text) => Remediation::from_text(&text),
        })
    }
}

/// `text` split at `sep` where it is not inside single or double quotes.
fn split_outside_quotes<'a>(text: &'a str, sep: &str) -> Vec<&'a str> {
    let mut parts = Vec::new();
    let mut start = 0;
    let mut quote: Option<char> = None;
    let mut i = 0;
    let bytes = text.as_bytes();
    while i < text.len() {
        let c = bytes[i] as char;
        match quote {
            Some(q) if c == q => quote = None,
            Some(_) => {}
            None if c == '"' || c == '\'' => quote = Some(c),
            None if text[i..].starts_with(sep) => {
                parts.push(&text[start..i]);
                i += sep.len();
                start = i;
                continue;
            }
            None => {}
        }
        i += 1;
    }
    parts.push(&text[start..]);
    parts
}

/// `text` split into sentences: after `. ` followed by an upper-case letter, outside quotes (the period
/// stays with its sentence).
fn sentences(text: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut quote: Option<char> = None;
    for (i, c) in text.char_indices() {
        match quote {
            Some(q) if c == q => quote = None,
            Some(_) => {}
            None if c == '"' || c == '\'' => quote = Some(c),
            None if c == '.'
                && text[i + 1..].starts_with(' ')
                && text[i + 2..]
                    .chars()
                    .next()
                    .is_some_and(|n| n.is_ascii_uppercase()) =>
            {
                out.push(&text[start..=i]);
                start = i + 2;
            }
            None => {}
        }
    }
    out.push(&text[start..]);
    out
}

/// PowerShell verbs that start a command line in a remediation.
const VERBS: &[&str] = &[
    "Add", "Clear", "Connect", "Disable", "Enable", "Export", "Get", "Import", "Install", "Invoke", "New",
    "Register", "Remove", "Resolve", "Restart", "Set", "Start", "Stop", "Test", "Update",
];
/// Tools that start a command line.
const TOOLS: &[&str] = &[
    "dig", "nslookup", "openssl", "mailpath", "swaks", "certutil", "netsh",
];
/// Verbs and tools that only read.
const READERS: &[&str] = &[
    "Get",
    "Test",
    "Resolve",
    "dig",
    "nslookup",
    "openssl",
    "Select-Object",
    "Format-List",
    "Format-Table",
    "Where-Object",
    "fl",
    "ft",
    "select",
    "where",
];

/// Whether `word` is a PowerShell cmdlet name (`Verb-Noun` with a known verb).
fn is_cmdlet(word: &str) -> bool {
    match word.split_once('-') {
        Some((verb, noun)) => {
            VERBS.contains(&verb)
                && noun.chars().next().is_some_and(|c| c.is_ascii_uppercase())
                && noun.chars().all(|c| c.is_ascii_alphanumeric())
        }
        None => false,
    }
}

/// Whether `rest` starts a command: a cmdlet (`Verb-Noun`), a variable assignment, or a tool.
fn starts_command(rest: &str) -> bool {
    let mut words = rest.split_whitespace();
    let Some(word) = words.next() else {
        return false;
    };
    if word.starts_with('$') && words.next() == Some("=") {
        return true;
    }
    TOOLS.contains(&word) || is_cmdlet(word)
}

/// A command line and the prose written after it in older text: ` and rerun ...` (words, not a
/// parameter), or a trailing ` (answer No ...)` aside that starts with a lower-case word.
fn split_trailing_prose(command: &str) -> (&str, Option<String>) {
    let mut quote: Option<char> = None;
    let mut depth = 0i32;
    for (i, c) in command.char_indices() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '"' | '\'') => quote = Some(c),
            (None, '(') => {
                let rest = &command[i + 1..];
                let first = rest.split_whitespace().next().unwrap_or_default();
                // An aside in words, not a PowerShell expression (`(Read-Host ...)`, `([IO.File]...)`).
                if depth == 0
                    && command[..i].ends_with(' ')
                    && rest.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
                    && !is_cmdlet(first)
                    && rest.contains(' ')
                    && rest.trim_end().ends_with(')')
                {
                    let aside = rest.trim_end().trim_end_matches(')');
                    return (command[..i].trim_end(), Some(format!("({aside}).")));
                }
                depth += 1;
            }
            (None, ')') => depth -= 1,
            (None, ' ') if depth == 0 && command[i..].starts_with(" and ") => {
                let rest = &command[i + " and ".len()..];
                if !rest.starts_with('-') && !starts_command(rest) {
                    return (
                        command[..i].trim_end(),
                        Some(format!("Then {}", lower_first(rest))),
                    );
                }
            }
            _ => {}
        }
    }
    (command, None)
}

fn lower_first(s: &str) -> String {
    let mut out = s.to_string();
    if let Some(first) = out.get(..1) {
        let lower = first.to_ascii_lowercase();
        out.replace_range(..1, &lower);
    }
    if !out.ends_with('.') {
        out.push('.');
    }
    out
}

/// Whether a command line only reads: every stage of its pipeline starts with a reading verb or tool.
fn only_reads(command: &str) -> bool {
    split_outside_quotes(command, "|").iter().all(|stage| {
        let word = stage.split_whitespace().next().unwrap_or_default();
        let verb = word.split_once('-').map_or(word, |(v, _)| v);
        READERS.contains(&word) || READERS.contains(&verb)
    })
}

/// One `;`-separated piece of old text: prose, then a command, possibly `, then` another.
fn split_piece(piece: &str, steps: &mut Vec<Step>) {
    let piece = piece.trim();
    if piece.is_empty() {
        return;
    }
    // Where a command starts: at the beginning, or after `: ` / `, then ` / `then ` / `(`.
    let mut at = None;
    for (i, _) in piece.char_indices() {
        let before = &piece[..i];
        let boundary = i == 0
            || before == "then "
            || before.ends_with(": ")
            || before.ends_with(", then ")
            || before.ends_with(" then ")
            || before.ends_with("; ");
        if boundary && starts_command(&piece[i..]) {
            at = Some(i);
            break;
        }
    }
    let Some(i) = at else {
        steps.push(Step::prose(piece));
        return;
    };
    let prose = piece[..i]
        .trim_end()
        .trim_end_matches(':')
        .trim_end_matches(", then")
        .trim_end_matches(',')
        .trim();
    if !prose.is_empty() && !prose.eq_ignore_ascii_case("then") {
        steps.push(Step::prose(format!("{prose}:")));
    }
    let rest = &piece[i..];
    // `cmd1, then cmd2`: two steps.
    let (command, next) = match rest.find(", then ") {
        Some(j) if starts_command(&rest[j + ", then ".len()..]) => {
            (&rest[..j], Some(&rest[j + ", then ".len()..]))
        }
        _ => (rest, None),
    };
    let command = command.trim().trim_end_matches('.').trim_end_matches(',').trim();
    let (command, after) = split_trailing_prose(command);
    let place = Place::infer(command);
    let step = if only_reads(command) {
        Step {
            kind: StepKind::Confirm,
            text: dedup_list_arguments(command),
            place,
        }
    } else {
        Step {
            kind: StepKind::Command,
            text: dedup_list_arguments(command),
            place,
        }
    };
    steps.push(step);
    if let Some(after) = after {
        steps.push(Step::prose(after));
    }
    if let Some(next) = next {
        split_piece(next, steps);
    }
}

/// In a command line, a comma-separated argument value (`-DomainName a,b,a`) with the same item twice
/// (ASCII case ignored) keeps the first of each.
pub fn dedup_list_arguments(command: &str) -> String {
    let mut out = Vec::new();
    for token in command.split(' ') {
        if token.contains(',') && !token.starts_with('-') && !token.contains(['"', '\'', '(', '{', '$']) {
            let mut seen: Vec<String> = Vec::new();
            let mut items = Vec::new();
            for item in token.split(',') {
                let key = item.to_ascii_lowercase();
                if item.is_empty() || !seen.contains(&key) {
                    seen.push(key);
                    items.push(item);
                }
            }
            out.push(items.join(","));
        } else {
            out.push(token.to_string());
        }
    }
    out.join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn old_text_splits_into_prose_commands_and_confirmations() {
        let r = Remediation::from_text(
            "On the sending connector: Set-SendConnector <name> -RequireTLS $true; check that the server has a \
             certificate enabled for SMTP: Get-ExchangeCertificate | fl Thumbprint,Services,Subject",
        );
        let kinds: Vec<(StepKind, &str)> = r.steps.iter().map(|s| (s.kind, s.text.as_str())).collect();
        assert_eq!(
            kinds,
            vec![
                (StepKind::Prose, "On the sending connector:"),
                (StepKind::Command, "Set-SendConnector <name> -RequireTLS $true"),
                (
                    StepKind::Prose,
                    "check that the server has a certificate enabled for SMTP:"
                ),
                (
                    StepKind::Confirm,
                    "Get-ExchangeCertificate | fl Thumbprint,Services,Subject"
                ),
            ]
        );
        assert_eq!(r.steps[1].place, Some(Place::ExchangeShell));
        // A pipeline that starts by reading but changes something is a command.
        let r = Remediation::from_text(
            "Renew it: Get-ExchangeCertificate -Thumbprint AB | New-ExchangeCertificate -GenerateRequest; after \
             Import-ExchangeCertificate: Enable-ExchangeCertificate -Thumbprint <new> -Services SMTP, then $c = \
             Get-ExchangeCertificate -Thumbprint <new>; rerun the Hybrid Configuration Wizard.",
        );
        let kinds: Vec<StepKind> = r.steps.iter().map(|s| s.kind).collect();
        assert_eq!(
            kinds,
            vec![
                StepKind::Prose,
                StepKind::Command,
                StepKind::Prose,
                StepKind::Command,
                StepKind::Command,
                StepKind::Prose
            ],
            "{r:#?}"
        );
        assert_eq!(r.steps[4].text, "$c = Get-ExchangeCertificate -Thumbprint <new>");
        // Prose alone stays prose; quotes protect a `; ` inside an argument.
        let r = Remediation::from_text("Publish an A record for mail.contoso.com.");
        assert_eq!(
            r.steps,
            vec![Step::prose("Publish an A record for mail.contoso.com.")]
        );
        let r = Remediation::from_text("Set-X -Name \"a; b\"");
        assert_eq!(r.steps.len(), 1);
        // Words written after a command are prose of their own.
        let r = Remediation::from_text(
            "then Enable-ExchangeCertificate -Thumbprint <new> -Services SMTP and rerun the Hybrid Configuration \
             Wizard; Enable-ExchangeCertificate -Thumbprint <new> -Services SMTP (answer No to replacing the \
             default SMTP certificate)",
        );
        let texts: Vec<&str> = r.steps.iter().map(|s| s.text.as_str()).collect();
        assert_eq!(
            texts,
            vec![
                "Enable-ExchangeCertificate -Thumbprint <new> -Services SMTP",
                "Then rerun the Hybrid Configuration Wizard.",
                "Enable-ExchangeCertificate -Thumbprint <new> -Services SMTP",
                "(answer No to replacing the default SMTP certificate).",
            ]
        );
        // Sentences and asides in words are prose, whatever their case.
        let r = Remediation::from_text(
            "In Exchange Online: Get-InboundConnector | fl Name,ConnectorType (ConnectorType OnPremises, the \
             certificate name). On-premises: Get-SendConnector | fl Name,TlsCertificateName. Rerun the Hybrid \
             Configuration Wizard to reset both.",
        );
        let kinds: Vec<(StepKind, &str)> = r.steps.iter().map(|s| (s.kind, s.text.as_str())).collect();
        assert_eq!(
            kinds,
            vec![
                (StepKind::Confirm, "Get-InboundConnector | fl Name,ConnectorType"),
                (
                    StepKind::Prose,
                    "(ConnectorType OnPremises, the certificate name)."
                ),
                (
                    StepKind::Confirm,
                    "Get-SendConnector | fl Name,TlsCertificateName"
                ),
                (
                    StepKind::Prose,
                    "Rerun the Hybrid Configuration Wizard to reset both."
                ),
            ]
        );
        assert_eq!(r.steps[0].place, Some(Place::ExchangeOnline));
        // `$c = Get-...` runs where its cmdlet runs.
        let r = Remediation::from_text("$c = Get-ExchangeCertificate -Thumbprint <new>");
        assert_eq!(r.steps[0].place, Some(Place::ExchangeShell));
    }

    #[test]
    fn the_old_string_form_still_loads_and_the_new_form_round_trips() {
        let old: Remediation =
            serde_json::from_str("\"Fix it: Set-SendConnector x -RequireTLS $true\"").unwrap();
        assert_eq!(old.steps.len(), 2);
        let empty: Remediation = serde_json::from_str("\"\"").unwrap();
        assert!(empty.is_empty());
        let new = Remediation::steps([
            Step::prose("Renew the certificate on the Edge."),
            Step::command(
                Place::EdgeShell,
                "Enable-ExchangeCertificate -Thumbprint X -Services SMTP",
            ),
            Step::confirm(Place::EdgeShell, "Get-ExchangeCertificate -Thumbprint X"),
        ]);
        let json = serde_json::to_string(&new).unwrap();
        assert!(json.starts_with("[{\"kind\":\"prose\""), "{json}");
        assert_eq!(serde_json::from_str::<Remediation>(&json).unwrap(), new);
    }

    #[test]
    fn no_argument_names_the_same_thing_twice() {
        let s = Step::command(
            Place::EdgeShell,
            "New-ExchangeCertificate -DomainName mail.contoso.com,MAIL.contoso.com,edge01.contoso.com -Services SMTP",
        );
        assert_eq!(
            s.text,
            "New-ExchangeCertificate -DomainName mail.contoso.com,edge01.contoso.com -Services SMTP"
        );
        // Quoted and scripted values are left alone.
        assert_eq!(dedup_list_arguments("fl a,a \"x,x\""), "fl a \"x,x\"");
    }

    #[test]
    fn text_puts_each_command_on_its_own_line_under_its_place() {
        let r = Remediation::steps([
            Step::prose("Turn off SMTP inspection on the firewall in front of the Edge.")
                .at(Place::DeviceCli),
            Step::command(Place::DeviceCli, "no inspect esmtp"),
            Step::confirm(Place::Workstation, "mailpath probe mail.contoso.com"),
        ]);
        assert_eq!(
            r.to_text(),
            "[the device's command line]\nTurn off SMTP inspection on the firewall in front of the Edge.\nno inspect \
             esmtp\n[PowerShell on this workstation]\n# to confirm:\nmailpath probe mail.contoso.com\n"
        );
        // Prose that names no place sits under the place of the commands it introduces.
        let r = Remediation::steps([
            Step::prose("Renew it:"),
            Step::command(
                Place::EdgeShell,
                "Get-ExchangeCertificate -Thumbprint AB | New-ExchangeCertificate -GenerateRequest",
            ),
        ]);
        assert!(
            r.to_text()
                .starts_with("[Exchange Management Shell on the Edge Transport server]\n# Renew it:\n"),
            "{}",
            r.to_text()
        );
    }
}
