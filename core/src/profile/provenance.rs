//! Where a connector setting's value comes from: read from Exchange, written in the profile, or assumed.
//!
//! A profile need not state every connector setting; the ones it leaves out take the value the Hybrid
//! Configuration Wizard sets. That value is an assumption, not an observation: a check may show it, but a
//! check never passes on it (`info`: "assumed the HCW default; not read from Exchange"). The connector
//! accessors ([`super::SendConnector::tls_domain`] and the like) return the value with its
//! [`Provenance`].

use serde::{Deserialize, Serialize};

/// Where a value comes from.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "source", rename_all = "kebab-case")]
pub enum Provenance {
    /// Not in the profile: the value the Hybrid Configuration Wizard sets, assumed by mailpath.
    Assumed,
    /// Written in the profile (by hand, or in the GUI's editor).
    Stated,
    /// Read from Exchange with this cmdlet (`Get-SendConnector`): the connector table's `observed` key names
    /// it (written by whoever copied the values from that cmdlet's output).
    Observed {
        /// The cmdlet (and whatever the writer adds, such as when it ran).
        cmdlet: String,
    },
}

impl Provenance {
    /// The provenance of a value that is `present` in a connector table whose `observed` key is
    /// `observed`: absent values are assumed; present ones observed when the table names its cmdlet, stated
    /// otherwise.
    pub fn of(present: bool, observed: Option<&str>) -> Provenance {
        match (present, observed) {
            (false, _) => Provenance::Assumed,
            (true, Some(cmdlet)) => Provenance::Observed {
                cmdlet: cmdlet.to_string(),
            },
            (true, None) => Provenance::Stated,
        }
    }

    /// Whether mailpath assumed the value (a check must not pass on it).
    pub fn is_assumed(&self) -> bool {
        matches!(self, Provenance::Assumed)
    }

    /// A few words for check summaries: `assumed the HCW default; not read from Exchange`, `as the
    /// profile states`, `read from Exchange (Get-SendConnector)`.
    pub fn words(&self) -> String {
        match self {
            Provenance::Assumed => "assumed the HCW default; not read from Exchange".to_string(),
            Provenance::Stated => "as the profile states".to_string(),
            Provenance::Observed { cmdlet } => format!("read from Exchange ({cmdlet})"),
        }
    }
}

/// A value and where it comes from.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Sourced<T> {
    /// The value (the HCW default when assumed).
    pub value: T,
    /// Where it comes from.
    pub provenance: Provenance,
}

impl<T> Sourced<T> {
    /// `value` as found in a connector table: `stated` when present (observed when the table was
    /// read from Exchange), else `default`, assumed.
    pub fn from_table(stated: Option<T>, default: impl FnOnce() -> T, observed: Option<&str>) -> Sourced<T> {
        let provenance = Provenance::of(stated.is_some(), observed);
        Sourced {
            value: stated.unwrap_or_else(default),
            provenance,
        }
    }

    /// Whether mailpath assumed the value.
    pub fn is_assumed(&self) -> bool {
        self.provenance.is_assumed()
    }
}

/// A connector table (`[connectors.send]` and the like): where its values come from.
pub trait ConnectorTable {
    /// The cmdlet its values were read with (its `observed` key), if any.
    fn observed(&self) -> Option<&str>;

    /// Where a value of this table comes from, `present` or not.
    fn provenance(&self, present: bool) -> Provenance {
        Provenance::of(present, self.observed())
    }

    /// A setting of this table: `stated` when present, else `default` (the HCW's), assumed.
    fn sourced<T>(&self, stated: Option<T>, default: impl FnOnce() -> T) -> Sourced<T> {
        Sourced::from_table(stated, default, self.observed())
    }
}

impl super::Connectors {
    /// The connector settings the profile does not state, as `table.key` (`send.tls_auth_level`): mailpath
    /// assumes the HCW's values for them, which no check passes on.
    pub fn assumed(&self) -> Vec<&'static str> {
        let (send, receive, inbound, outbound) =
            (&self.send, &self.receive, &self.exo_inbound, &self.exo_outbound);
        [
            ("send.tls_domain", send.tls_domain.is_none()),
            ("send.tls_auth_level", send.tls_auth_level.is_none()),
            ("send.require_tls", send.require_tls.is_none()),
            (
                "send.cloud_services_mail_enabled",
                send.cloud_services_mail_enabled.is_none(),
            ),
            (
                "receive.tls_domain_capabilities",
                receive.tls_domain_capabilities.is_none(),
            ),
            ("exo_inbound.require_tls", inbound.require_tls.is_none()),
            (
                "exo_inbound.cloud_services_mail_enabled",
                inbound.cloud_services_mail_enabled.is_none(),
            ),
            ("exo_outbound.tls_settings", outbound.tls_settings.is_none()),
            (
                "exo_outbound.route_all_via_on_premises",
                outbound.route_all_via_on_premises.is_none(),
            ),
            (
                "exo_outbound.cloud_services_mail_enabled",
                outbound.cloud_services_mail_enabled.is_none(),
            ),
        ]
        .into_iter()
        .filter_map(|(key, absent)| absent.then_some(key))
        .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unstated_connector_settings_are_listed_as_assumed() {
        let mut c = super::super::Connectors::default();
        assert_eq!(c.assumed().len(), 10);
        c.send.tls_auth_level = Some(super::super::TlsAuthLevel::DomainValidation);
        c.exo_outbound.route_all_via_on_premises = Some(false);
        let assumed = c.assumed();
        assert_eq!(assumed.len(), 8);
        assert!(!assumed.contains(&"send.tls_auth_level"));
        assert!(assumed.contains(&"send.tls_domain"));
    }

    #[test]
    fn absent_is_assumed_present_is_stated_or_observed() {
        let assumed = Sourced::from_table(None, || true, Some("Get-SendConnector"));
        assert!(assumed.value && assumed.is_assumed());
        assert!(assumed.provenance.words().contains("not read from Exchange"));
        let stated = Sourced::from_table(Some(false), || true, None);
        assert_eq!((stated.value, stated.provenance), (false, Provenance::Stated));
        let observed = Sourced::from_table(Some(false), || true, Some("Get-SendConnector"));
        assert_eq!(
            observed.provenance,
            Provenance::Observed {
                cmdlet: "Get-SendConnector".into()
            }
        );
        assert_eq!(
            observed.provenance.words(),
            "read from Exchange (Get-SendConnector)"
        );
        assert_eq!(
            serde_json::to_string(&observed.provenance).unwrap(),
            r#"{"source":"observed","cmdlet":"Get-SendConnector"}"#
        );
    }
}
