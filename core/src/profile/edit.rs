//! Edits of a profile's TOML text that keep everything else of it (comments, order, layout): what the GUI's
//! controls change in the text the user edits.

use toml_edit::{DocumentMut, Item, Table, value};

use super::NetworkLocation;

/// Why the text could not be edited.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EditError {
    /// The text is not TOML.
    #[error("the profile is not valid TOML: {0}")]
    Syntax(String),
    /// `[workstation]` is there but is not a table.
    #[error("`workstation` is not a table")]
    NotATable,
}

/// `text` with `[workstation] location` set to `location`, every other line kept. The table is added at the
/// end when the profile has none.
///
/// # Errors
/// When `text` is not TOML, or `workstation` is not a table.
pub fn set_location(text: &str, location: NetworkLocation) -> Result<String, EditError> {
    let mut doc: DocumentMut = text
        .parse()
        .map_err(|e: toml_edit::TomlError| EditError::Syntax(e.message().to_string()))?;
    let workstation = doc
        .entry("workstation")
        .or_insert_with(|| Item::Table(Table::new()));
    let table = workstation.as_table_like_mut().ok_or(EditError::NotATable)?;
    table.insert("location", value(location.as_str()));
    Ok(doc.to_string())
}

/// The `[workstation] location` `text` states (the default when it states none); `None` when the text is
/// not TOML or the value is not a location.
pub fn location_in(text: &str) -> Option<NetworkLocation> {
    let doc: DocumentMut = text.parse().ok()?;
    let Some(item) = doc.get("workstation").and_then(|w| w.get("location")) else {
        return Some(NetworkLocation::default());
    };
    let stated = item.as_str()?.trim();
    NetworkLocation::ALL
        .into_iter()
        .find(|l| l.as_str().eq_ignore_ascii_case(stated))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::profile::Profile;

    #[test]
    fn the_location_is_set_and_the_rest_kept() {
        let text = format!("# my comment\n{}", crate::profile::SAMPLE_EDGE);
        let edited = set_location(&text, NetworkLocation::Dmz).unwrap();
        assert!(edited.starts_with("# my comment\n"), "{edited}");
        let p = Profile::from_toml_str(&edited, "x.toml", None).unwrap();
        assert_eq!(p.workstation.location, NetworkLocation::Dmz);
        let again = set_location(&edited, NetworkLocation::Internet).unwrap();
        assert_eq!(again.matches("[workstation]").count(), 1, "{again}");
        let p = Profile::from_toml_str(&again, "x.toml", None).unwrap();
        assert_eq!(p.workstation.location, NetworkLocation::Internet);
        assert_eq!(location_in(&again), Some(NetworkLocation::Internet));
        assert_eq!(location_in(&text), Some(NetworkLocation::Lan));
        assert_eq!(location_in("[workstation]\nlocation = \"moon\"\n"), None);
        // Everything but the location is as it was.
        let mut back = p;
        back.workstation.location = NetworkLocation::default();
        assert_eq!(back, Profile::from_toml_str(&text, "x.toml", None).unwrap());
    }

    #[test]
    fn bad_text_is_an_error_not_a_panic() {
        assert!(matches!(
            set_location("name = ", NetworkLocation::Lan),
            Err(EditError::Syntax(_))
        ));
        assert_eq!(
            set_location("workstation = 3\n", NetworkLocation::Lan),
            Err(EditError::NotATable)
        );
    }
}
