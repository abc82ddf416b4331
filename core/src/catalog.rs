//! The catalogue of every check id mailpath can report, by family: the probes' (`dns.*`, `tcp.*`,
//! `smtp.*`, `tls.*`), the configuration's (`config.*`), the message headers' (`headers.*`) and the
//! bundled relay's (`relay.*`). It sits above all of them, so that no family has to know the others.
//!
//! `docs/checks.md` is generated from [`catalog`] and a test keeps it in step
//! (`MAILPATH_UPDATE_DOCS=1 cargo test -p mailpath-core checks_doc` rewrites it).

use crate::check::CheckDef;
use crate::checks::{
    audit, cert, chain, ciphers, config, dane, dns, receive, renewal, resolver, routing, smtp, vantage,
};

/// Every check mailpath can report, by family (message headers' `headers.*`, then the bundled relay's
/// `relay.*` last).
pub fn catalog() -> Vec<&'static CheckDef> {
    let mut all: Vec<&'static CheckDef> = Vec::new();
    all.extend(dns::DEFS.iter());
    all.extend(resolver::DEFS.iter());
    all.extend(smtp::DEFS.iter());
    all.extend(vantage::DEFS.iter());
    all.extend(ciphers::DEFS.iter());
    all.extend(cert::DEFS.iter());
    all.extend(chain::DEFS.iter());
    all.extend(dane::DEFS.iter());
    all.extend(renewal::DEFS.iter());
    all.extend(config::DEFS.iter());
    all.extend(audit::DEFS.iter());
    all.extend(receive::DEFS.iter());
    all.extend(routing::DEFS.iter());
    all.extend(crate::headers::DEFS.iter());
    all.extend(crate::relay::inspect::DEFS.iter());
    all.extend(crate::relay::inspect::CLIENT_CHAIN_DEFS.defs.iter());
    all
}

/// The check table of `docs/checks.md`.
pub fn catalog_markdown() -> String {
    let mut out = String::from(
        "# Checks\n\nEvery check mailpath reports, with its stable id. Ids are dotted and never reused: filter and \
         monitor them like linter rule names. Statuses: pass, info, skip (could not be checked from here, with \
         why), warn, fail.\n\nThis file is generated from the code (`core/src/catalog.rs`); a test fails when they \
         drift. Regenerate with `MAILPATH_UPDATE_DOCS=1 cargo test -p mailpath-core checks_doc`.\n\n\
         | id | what it verifies | why it matters in hybrid |\n|---|---|---|\n",
    );
    for def in catalog() {
        let why = def
            .why
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
            .replace('|', "\\|");
        out.push_str(&format!("| `{}` | {} | {} |\n", def.id, def.title, why));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_unique_dotted_and_in_known_families() {
        let mut seen = std::collections::BTreeSet::new();
        for def in catalog() {
            assert!(seen.insert(def.id), "duplicate id {}", def.id);
            let family = def.id.split('.').next().unwrap_or_default();
            assert!(
                ["dns", "tcp", "smtp", "tls", "config", "path", "headers", "relay"].contains(&family),
                "{}",
                def.id
            );
            assert!(
                def.id.contains('.')
                    && def
                        .id
                        .chars()
                        .all(|c| c.is_ascii_lowercase() || matches!(c, '.' | '_' | '-'))
            );
            assert!(!def.title.is_empty() && !def.why.is_empty(), "{}", def.id);
        }
    }

    #[test]
    fn checks_doc_matches_the_code() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/checks.md");
        let want = catalog_markdown();
        if std::env::var_os("MAILPATH_UPDATE_DOCS").is_some() {
            std::fs::write(&path, &want).unwrap();
        }
        let have = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            have == want,
            "docs/checks.md is out of date: MAILPATH_UPDATE_DOCS=1 cargo test -p mailpath-core checks_doc"
        );
    }
}
