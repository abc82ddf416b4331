//! An Exchange configuration export: what `assets/Export-MailpathConfig.ps1` read from the deployment
//! itself (`"schema": "mailpath/exchange-export/1"`), typed and with where each value came from.
//!
//! The export is a flat list of sections, each `{name, cmdlet, server, time, error, items[]}` with the
//! cmdlets' own property names ([`records`]). Reading is tolerant: PowerShell's shapes ([`ps`]), a
//! byte order mark, a file cut short ([`recover`]), a section whose cmdlet failed, a field in a shape
//! nobody expected, an export from an older or newer script all become [`ImportProblem`]s that name
//! the file, the section and the field, and everything else is still used. Only input with nothing to
//! use is an error ([`ExportError`]).
//!
//! ```
//! let text = r#"{"schema": "mailpath/exchange-export/1", "sections": [
//!   {"name": "send_connectors", "cmdlet": "Get-SendConnector", "server": null,
//!    "time": "2025-05-01T10:00:00Z", "error": null,
//!    "items": [{"Name": "Outbound to Office 365", "RequireTLS": true}]}]}"#;
//! let export = mailpath_core::exchange::Export::parse(text.as_bytes(), "contoso.json")?;
//! assert_eq!(export.send_connectors[0].item.name.text(), Some("Outbound to Office 365"));
//! assert_eq!(export.send_connectors[0].from.cmdlet, "Get-SendConnector");
//! # Ok::<(), mailpath_core::exchange::ExportError>(())
//! ```

pub mod import;
pub mod ps;
pub mod records;
pub mod recover;

use std::fmt;
use std::path::Path;
use std::sync::Arc;

use serde_json::{Map, Value};
use time::OffsetDateTime;

pub use records::{
    AcceptedDomain, EdgeSubscription, EdgeSyncStatus, ExchangeCertificate, ExchangeServer, ExoAcceptedDomain,
    ExoConnection, ExoOrganizationConfig, HybridConfiguration, InboundConnector, OutboundConnector, Queue,
    ReceiveConnector, Record, RemoteDomain, SECTIONS, SectionDef, SendConnector,
};

/// The schema this mailpath reads.
pub const SCHEMA: &str = "mailpath/exchange-export/1";
/// The schema's family: any version of it is read as version 1, with a warning.
pub const SCHEMA_FAMILY: &str = "mailpath/exchange-export/";
/// The major version of the export script this mailpath was written against.
pub const SCRIPT_MAJOR: u32 = 1;
/// The largest export read, in bytes (a large organisation's export is a few MB).
pub const MAX_EXPORT_BYTES: u64 = crate::bounded::Limit::EXPORT.bytes;

/// Why an export could not be used at all.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ExportError {
    /// The file could not be read.
    #[error("{path}: cannot read the export: {source}")]
    Io {
        /// The file.
        path: String,
        /// The error.
        #[source]
        source: std::io::Error,
    },
    /// The file is larger than [`MAX_EXPORT_BYTES`].
    #[error("{origin}: larger than an export can be ({MAX_EXPORT_BYTES} bytes at most; {bytes} or more)")]
    TooLarge {
        /// The file.
        origin: String,
        /// Its size.
        bytes: u64,
    },
    /// Not text.
    #[error("{origin}: not an export: {why}")]
    NotText {
        /// The file.
        origin: String,
        /// Why.
        why: &'static str,
    },
    /// Not an export of `Export-MailpathConfig.ps1`.
    #[error(
        "{origin}: not a mailpath Exchange export ({found}); write one with assets/Export-MailpathConfig.ps1"
    )]
    NotAnExport {
        /// The file.
        origin: String,
        /// What was found instead.
        found: String,
    },
    /// An export with no section that could be read.
    #[error("{origin}: nothing could be read from this export: {}", .problems.join("; "))]
    Empty {
        /// The file.
        origin: String,
        /// What went wrong.
        problems: Vec<String>,
    },
}

/// How much an import problem matters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    /// Worth knowing (an unknown section from a newer script).
    Note,
    /// Something was not read (a failed cmdlet, an unreadable field, a cut-short file).
    Warning,
}

/// Something in an export that could not be read as expected; the rest of the export is used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportProblem {
    /// How much it matters.
    pub severity: Severity,
    /// The file.
    pub file: String,
    /// The section, with its cmdlet and server, when the problem is in one.
    pub section: Option<String>,
    /// The item (its identity or name), when the problem is in one.
    pub item: Option<String>,
    /// The property, when the problem is in one.
    pub field: Option<String>,
    /// What is wrong and what was used instead.
    pub message: String,
}

impl fmt::Display for ImportProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file)?;
        if let Some(s) = &self.section {
            write!(f, ": section {s}")?;
        }
        if let Some(i) = &self.item {
            write!(f, ", item {i:?}")?;
        }
        if let Some(field) = &self.field {
            write!(f, ", field {field}")?;
        }
        write!(f, ": {}", self.message)
    }
}

/// Where a record came from: the section, cmdlet, server and time of the run that read it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Source {
    /// The export file.
    pub file: String,
    /// The section's name.
    pub section: String,
    /// The cmdlet.
    pub cmdlet: String,
    /// The server it ran against (`None` for organisation-wide cmdlets).
    pub server: Option<String>,
    /// When it ran.
    pub time: Option<OffsetDateTime>,
}

impl Source {
    /// `Get-ReceiveConnector on EX01`, or the cmdlet alone.
    pub fn cmdlet_on(&self) -> String {
        match &self.server {
            Some(s) => format!("{} on {s}", self.cmdlet),
            None => self.cmdlet.clone(),
        }
    }

    /// `Get-ReceiveConnector on EX01, 2025-05-01 10:00 UTC`.
    pub fn describe(&self) -> String {
        match self.time {
            Some(t) => format!("{}, {}", self.cmdlet_on(), short_time(t)),
            None => self.cmdlet_on(),
        }
    }

    /// The evidence id checks cite (`exchange:receive_connectors@EX01`).
    pub fn evidence_id(&self) -> String {
        match &self.server {
            Some(s) => format!("exchange:{}@{s}", self.section),
            None => format!("exchange:{}", self.section),
        }
    }
}

/// `2025-05-01 10:00 UTC`.
pub fn short_time(t: OffsetDateTime) -> String {
    let t = t.to_offset(time::UtcOffset::UTC);
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02} UTC",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute()
    )
}

/// A record with where it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Observed<T> {
    /// The section it was read from.
    pub from: Arc<Source>,
    /// The record.
    pub item: T,
}

/// One section as found in the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SectionInfo {
    /// Where it came from.
    pub from: Arc<Source>,
    /// The cmdlet's error, when it failed.
    pub error: Option<String>,
    /// How many items it held.
    pub items: usize,
    /// Whether this mailpath reads it.
    pub known: bool,
}

/// The header of one export file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileInfo {
    /// The file, as given.
    pub origin: String,
    /// Its `schema`.
    pub schema: String,
    /// The script version that wrote it.
    pub script_version: Option<String>,
    /// When it was written.
    pub generated: Option<OffsetDateTime>,
    /// Where it was written (`$env:COMPUTERNAME`).
    pub computer: Option<String>,
}

/// A whole export (one file, or the on-premises and Exchange Online halves together).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Export {
    /// The files read.
    pub files: Vec<FileInfo>,
    /// Every section found, read or not.
    pub sections: Vec<SectionInfo>,
    /// What could not be read as expected.
    pub problems: Vec<ImportProblem>,
    /// `Get-ExchangeServer`.
    pub servers: Vec<Observed<ExchangeServer>>,
    /// `Get-ExchangeCertificate`, per server.
    pub certificates: Vec<Observed<ExchangeCertificate>>,
    /// `Get-ReceiveConnector`, per server.
    pub receive_connectors: Vec<Observed<ReceiveConnector>>,
    /// `Get-Queue`, per server.
    pub queues: Vec<Observed<Queue>>,
    /// `Get-SendConnector`.
    pub send_connectors: Vec<Observed<SendConnector>>,
    /// `Get-HybridConfiguration`.
    pub hybrid: Vec<Observed<HybridConfiguration>>,
    /// `Get-AcceptedDomain` on-premises.
    pub accepted_domains: Vec<Observed<AcceptedDomain>>,
    /// `Get-RemoteDomain`.
    pub remote_domains: Vec<Observed<RemoteDomain>>,
    /// `Get-EdgeSubscription`.
    pub edge_subscriptions: Vec<Observed<EdgeSubscription>>,
    /// `Test-EdgeSynchronization`.
    pub edge_sync: Vec<Observed<EdgeSyncStatus>>,
    /// `Get-ConnectionInformation` (Exchange Online).
    pub exo_connection: Vec<Observed<ExoConnection>>,
    /// `Get-OrganizationConfig` (Exchange Online).
    pub exo_organization: Vec<Observed<ExoOrganizationConfig>>,
    /// `Get-AcceptedDomain` (Exchange Online).
    pub exo_accepted_domains: Vec<Observed<ExoAcceptedDomain>>,
    /// `Get-InboundConnector` (Exchange Online).
    pub exo_inbound: Vec<Observed<InboundConnector>>,
    /// `Get-OutboundConnector` (Exchange Online).
    pub exo_outbound: Vec<Observed<OutboundConnector>>,
}

impl Export {
    /// Read the export files at `paths` (the on-premises half and, optionally, the Exchange Online
    /// half): one export.
    ///
    /// # Errors
    /// When a file cannot be read or holds nothing usable.
    pub fn load(paths: &[&Path]) -> Result<Export, ExportError> {
        let mut all = Export::default();
        for path in paths {
            let origin = path.display().to_string();
            let io = |source| ExportError::Io {
                path: origin.clone(),
                source,
            };
            // Bounded whatever the file is (`/dev/zero` has no size to check first).
            let (bytes, whole) =
                crate::bounded::read_start(path, crate::bounded::Limit::EXPORT).map_err(|e| io(e.into()))?;
            if !whole {
                return Err(ExportError::TooLarge {
                    origin,
                    bytes: MAX_EXPORT_BYTES + 1,
                });
            }
            all.merge(Export::parse(&bytes, &origin)?);
        }
        Ok(all)
    }

    /// Read one export from its bytes; `origin` names it in messages.
    ///
    /// # Errors
    /// When the bytes are not an export, or nothing in it can be read.
    pub fn parse(bytes: &[u8], origin: &str) -> Result<Export, ExportError> {
        let text = ps::decode_text(bytes).map_err(|why| ExportError::NotText {
            origin: origin.to_string(),
            why,
        })?;
        let mut export = Export::default();
        let (header, sections) = match serde_json::from_str::<Value>(&text) {
            Ok(Value::Object(mut doc)) => {
                let sections = match doc.remove("sections") {
                    Some(Value::Array(s)) => s,
                    Some(other) => {
                        export.warn(
                            origin,
                            None,
                            format!("\"sections\" is {}, not a list", ps::describe(&other)),
                        );
                        Vec::new()
                    }
                    None => Vec::new(),
                };
                (doc, sections)
            }
            Ok(other) => {
                return Err(ExportError::NotAnExport {
                    origin: origin.to_string(),
                    found: format!("the document is {}", ps::describe(&other)),
                });
            }
            Err(e) => {
                let r = recover::recover(&text);
                if r.header.is_empty() && r.sections.is_empty() {
                    return Err(ExportError::NotAnExport {
                        origin: origin.to_string(),
                        found: format!("not JSON: {e}"),
                    });
                }
                let how = if e.is_eof() {
                    "the file is cut short".to_string()
                } else {
                    format!("the file is damaged ({e})")
                };
                let lost = if r.broken.is_empty() {
                    String::new()
                } else {
                    format!("; section(s) at position {} could not be read", join(&r.broken))
                };
                export.warn(
                    origin,
                    None,
                    format!(
                        "{how}: the {} whole section(s) before it are used{lost}",
                        r.sections.len()
                    ),
                );
                (r.header, r.sections)
            }
        };
        let file = file_info(&header, origin)?;
        export.check_version(&file);
        export.files.push(file);
        for (index, section) in sections.into_iter().enumerate() {
            export.read_section(origin, index, section);
        }
        let read = export.sections.iter().filter(|s| s.known).count();
        if read == 0 {
            let mut problems: Vec<String> = export.problems.iter().map(|p| p.message.clone()).collect();
            if problems.is_empty() {
                problems.push("it holds no section".into());
            }
            return Err(ExportError::Empty {
                origin: origin.to_string(),
                problems,
            });
        }
        Ok(export)
    }

    /// Add `other` (another file) to this export. A section read again from the same cmdlet and
    /// server replaces the older one, as the script's `-Append` does.
    pub fn merge(&mut self, other: Export) {
        let replaced: Vec<(String, Option<String>)> = other
            .sections
            .iter()
            .filter(|s| s.known)
            .map(|s| (s.from.section.clone(), s.from.server.clone()))
            .collect();
        let keep = |from: &Source| {
            !replaced
                .iter()
                .any(|(n, s)| *n == from.section && *s == from.server)
        };
        if self.sections.iter().any(|s| s.known && !keep(&s.from)) {
            self.problems.push(ImportProblem {
                severity: Severity::Note,
                file: other.files.first().map(|f| f.origin.clone()).unwrap_or_default(),
                section: None,
                item: None,
                field: None,
                message: "sections read again from the same cmdlet and server replace the earlier file's"
                    .into(),
            });
        }
        macro_rules! take {
            ($($field:ident),*) => {$(
                self.$field.retain(|o| keep(&o.from));
                self.$field.extend(other.$field);
            )*};
        }
        take!(
            servers,
            certificates,
            receive_connectors,
            queues,
            send_connectors,
            hybrid,
            accepted_domains,
            remote_domains,
            edge_subscriptions,
            edge_sync,
            exo_connection,
            exo_organization,
            exo_accepted_domains,
            exo_inbound,
            exo_outbound
        );
        self.sections.retain(|s| keep(&s.from));
        self.sections.extend(other.sections);
        self.files.extend(other.files);
        self.problems.extend(other.problems);
    }

    /// Whether the on-premises half was read (any on-premises section).
    pub fn has_on_premises(&self) -> bool {
        self.sections
            .iter()
            .any(|s| s.known && !s.from.section.starts_with("exo_"))
    }

    /// Whether the Exchange Online half was read.
    pub fn has_exchange_online(&self) -> bool {
        self.sections
            .iter()
            .any(|s| s.known && s.from.section.starts_with("exo_"))
    }

    /// The section `name` (on `server`, for per-server sections), when it was read without an error.
    pub fn section_ok(&self, name: &str, server: Option<&str>) -> bool {
        self.sections.iter().any(|s| {
            s.known
                && s.error.is_none()
                && s.from.section == name
                && server.is_none_or(|w| s.from.server.as_deref().is_some_and(|h| same_server(h, w)))
        })
    }

    /// The section `name` as found (the first), read or failed.
    pub fn section(&self, name: &str, server: Option<&str>) -> Option<&SectionInfo> {
        self.sections.iter().find(|s| {
            s.from.section == name
                && server.is_none_or(|w| s.from.server.as_deref().is_some_and(|h| same_server(h, w)))
        })
    }

    /// The server named `name` (its name or FQDN, case-insensitive).
    pub fn server(&self, name: &str) -> Option<&Observed<ExchangeServer>> {
        self.servers.iter().find(|s| {
            s.item.name.text().is_some_and(|n| same_server(n, name))
                || s.item.fqdn.text().is_some_and(|n| same_server(n, name))
        })
    }

    /// The FQDN of the server named `name`, as `Get-ExchangeServer` gives it.
    pub fn server_fqdn(&self, name: &str) -> Option<String> {
        self.server(name)
            .and_then(|s| s.item.fqdn.text())
            .map(str::to_ascii_lowercase)
    }

    /// The certificates installed on `server`.
    pub fn certificates_on<'a>(
        &'a self,
        server: &str,
    ) -> impl Iterator<Item = &'a Observed<ExchangeCertificate>> + use<'a> {
        let server = server.to_string();
        self.certificates
            .iter()
            .filter(move |c| c.from.server.as_deref().is_some_and(|s| same_server(s, &server)))
    }

    /// The receive connectors of `server`.
    pub fn receive_connectors_on<'a>(
        &'a self,
        server: &str,
    ) -> impl Iterator<Item = &'a Observed<ReceiveConnector>> + use<'a> {
        let server = server.to_string();
        self.receive_connectors.iter().filter(move |c| {
            c.from.server.as_deref().is_some_and(|s| same_server(s, &server))
                || c.item.server.text().is_some_and(|s| same_server(s, &server))
        })
    }

    fn warn(&mut self, file: &str, section: Option<String>, message: String) {
        self.problems.push(ImportProblem {
            severity: Severity::Warning,
            file: file.to_string(),
            section,
            item: None,
            field: None,
            message,
        });
    }

    fn check_version(&mut self, file: &FileInfo) {
        let version: Option<u32> = file
            .schema
            .strip_prefix(SCHEMA_FAMILY)
            .and_then(|v| v.parse().ok());
        if version.is_some_and(|v| v > 1) {
            self.warn(
                &file.origin,
                None,
                format!(
                    "written in {}, newer than this mailpath reads ({SCHEMA}): read as version 1, what it does not know is ignored; update mailpath",
                    file.schema
                ),
            );
        }
        if let Some(v) = &file.script_version {
            let major: Option<u32> = v.split('.').next().and_then(|m| m.trim().parse().ok());
            match major {
                Some(m) if m < SCRIPT_MAJOR => self.warn(
                    &file.origin,
                    None,
                    format!(
                        "written by Export-MailpathConfig.ps1 {v}, older than this mailpath's ({SCRIPT_MAJOR}.x): sections and fields it did not write are not known; run the script shipped with this mailpath"
                    ),
                ),
                Some(m) if m > SCRIPT_MAJOR => self.warn(
                    &file.origin,
                    None,
                    format!("written by Export-MailpathConfig.ps1 {v}, newer than this mailpath's ({SCRIPT_MAJOR}.x): what it does not know is ignored"),
                ),
                _ => {}
            }
        }
    }

    fn read_section(&mut self, origin: &str, index: usize, section: Value) {
        let Value::Object(mut map) = section else {
            self.warn(
                origin,
                None,
                format!(
                    "section {} is {}, not a section; skipped",
                    index + 1,
                    ps::describe(&section)
                ),
            );
            return;
        };
        let text = |map: &Map<String, Value>, key: &str| -> Option<String> {
            map.iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(key))
                .and_then(|(_, v)| ps::read::<String>(v).get().cloned())
                .map(|s| s.trim().to_string())
                .filter(|s| !s.is_empty())
        };
        let Some(name) = text(&map, "name") else {
            self.warn(
                origin,
                None,
                format!("section {} has no name; skipped", index + 1),
            );
            return;
        };
        let def = SECTIONS.iter().find(|d| d.name.eq_ignore_ascii_case(&name));
        let cmdlet = text(&map, "cmdlet")
            .or_else(|| def.map(|d| d.cmdlet.to_string()))
            .unwrap_or_else(|| "?".into());
        let time = map
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case("time"))
            .and_then(|(_, v)| ps::read::<ps::When>(v).get().map(|w| w.0));
        let from = Arc::new(Source {
            file: origin.to_string(),
            section: def.map_or(name.clone(), |d| d.name.to_string()),
            cmdlet,
            server: text(&map, "server"),
            time,
        });
        let label = format!("{} ({})", from.section, from.cmdlet_on());
        let error = text(&map, "error");
        let items_key = map.keys().find(|k| k.eq_ignore_ascii_case("items")).cloned();
        let items: Vec<Value> = match items_key.and_then(|k| map.remove(&k)) {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::Array(items)) => items,
            // One item that PowerShell did not wrap in a list.
            Some(Value::Object(one)) => vec![Value::Object(one)],
            Some(other) => {
                self.warn(
                    origin,
                    Some(label.clone()),
                    format!("\"items\" is {}, not a list; nothing read", ps::describe(&other)),
                );
                Vec::new()
            }
        };
        if let Some(e) = &error {
            self.warn(
                origin,
                Some(label.clone()),
                format!("the cmdlet failed: {e}; what it would have read is not known"),
            );
        }
        let Some(def) = def else {
            self.problems.push(ImportProblem {
                severity: Severity::Note,
                file: origin.to_string(),
                section: Some(label),
                item: None,
                field: None,
                message: "not a section this mailpath reads (written by a newer script?); ignored".into(),
            });
            self.sections.push(SectionInfo {
                from,
                error,
                items: items.len(),
                known: false,
            });
            return;
        };
        self.sections.push(SectionInfo {
            from: Arc::clone(&from),
            error,
            items: items.len(),
            known: true,
        });
        macro_rules! dispatch {
            ($($ty:ty => $field:ident),*) => {
                match def.name {
                    $(<$ty as Record>::SECTION => {
                        let read = self.items::<$ty>(&from, &label, items);
                        self.$field.extend(read);
                    })*
                    _ => {}
                }
            };
        }
        dispatch!(
            ExchangeServer => servers,
            ExchangeCertificate => certificates,
            ReceiveConnector => receive_connectors,
            Queue => queues,
            SendConnector => send_connectors,
            HybridConfiguration => hybrid,
            AcceptedDomain => accepted_domains,
            RemoteDomain => remote_domains,
            EdgeSubscription => edge_subscriptions,
            EdgeSyncStatus => edge_sync,
            ExoConnection => exo_connection,
            ExoOrganizationConfig => exo_organization,
            ExoAcceptedDomain => exo_accepted_domains,
            InboundConnector => exo_inbound,
            OutboundConnector => exo_outbound
        );
    }

    fn items<T: Record>(&mut self, from: &Arc<Source>, label: &str, items: Vec<Value>) -> Vec<Observed<T>> {
        let mut out = Vec::new();
        for (i, item) in items.into_iter().enumerate() {
            let Value::Object(map) = item else {
                self.warn(
                    &from.file,
                    Some(label.to_string()),
                    format!(
                        "item {} is {}, not an object; skipped",
                        i + 1,
                        ps::describe(&item)
                    ),
                );
                continue;
            };
            // PowerShell's property names are case-insensitive: take them in any case.
            let map: Map<String, Value> = map
                .into_iter()
                .map(|(k, v)| {
                    let key = T::FIELDS
                        .iter()
                        .find(|f| f.eq_ignore_ascii_case(&k))
                        .map_or(k, |f| (*f).to_string());
                    (key, v)
                })
                .collect();
            let record: T = match serde_json::from_value(Value::Object(map)) {
                Ok(r) => r,
                Err(e) => {
                    self.warn(
                        &from.file,
                        Some(label.to_string()),
                        format!("item {} could not be read ({e}); skipped", i + 1),
                    );
                    continue;
                }
            };
            for (field, why) in record.unreadable() {
                self.problems.push(ImportProblem {
                    severity: Severity::Warning,
                    file: from.file.clone(),
                    section: Some(label.to_string()),
                    item: Some(
                        record
                            .label()
                            .map_or_else(|| format!("#{}", i + 1), str::to_string),
                    ),
                    field: Some(field.to_string()),
                    message: format!("{why}; the field is taken as not read"),
                });
            }
            out.push(Observed {
                from: Arc::clone(from),
                item: record,
            });
        }
        out
    }
}

fn file_info(header: &Map<String, Value>, origin: &str) -> Result<FileInfo, ExportError> {
    let get = |key: &str| -> Option<&Value> {
        header
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, v)| v)
    };
    let text = |key: &str| get(key).and_then(|v| ps::read::<String>(v).get().cloned());
    let schema = text("schema").unwrap_or_default();
    if !schema.starts_with(SCHEMA_FAMILY) {
        return Err(ExportError::NotAnExport {
            origin: origin.to_string(),
            found: if schema.is_empty() {
                "no \"schema\"".into()
            } else {
                format!("\"schema\": {schema:?}")
            },
        });
    }
    Ok(FileInfo {
        origin: origin.to_string(),
        schema,
        script_version: text("script_version"),
        generated: get("generated").and_then(|v| ps::read::<ps::When>(v).get().map(|w| w.0)),
        computer: text("computer"),
    })
}

fn join(positions: &[usize]) -> String {
    positions
        .iter()
        .map(|p| (p + 1).to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

/// Whether two server names are the same server: equal, or one is the other's first label
/// (`EX01` and `ex01.contoso.com`), case-insensitively.
pub fn same_server(a: &str, b: &str) -> bool {
    let (a, b) = (a.trim().trim_end_matches('.'), b.trim().trim_end_matches('.'));
    if a.eq_ignore_ascii_case(b) {
        return true;
    }
    let first = |s: &str| s.split('.').next().unwrap_or(s).to_ascii_lowercase();
    (!a.contains('.') || !b.contains('.')) && first(a) == first(b)
}

/// Whether `text` looks like an export (a JSON document whose `schema` is an exchange export), from its
/// first bytes: how `--profile` and the GUI tell an export from a profile or a diagnosis.
pub fn looks_like_export(bytes: &[u8]) -> bool {
    let head = &bytes[..bytes.len().min(4096)];
    let Ok(text) = ps::decode_text(head).or_else(|_| {
        // A cut in the middle of a character: decode what is whole.
        let valid = std::str::from_utf8(head).map_or_else(|e| &head[..e.valid_up_to()], |_| head);
        ps::decode_text(valid)
    }) else {
        return false;
    };
    let t = text.trim_start();
    t.starts_with('{') && t.contains(SCHEMA_FAMILY)
}

#[cfg(test)]
pub(crate) mod tests;
