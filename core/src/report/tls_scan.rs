//! The versions/suites table of an endpoint's TLS scan, in the HTML and Markdown reports.

use std::fmt::Write as _;

use super::html::esc;
use super::markdown::md;
use crate::evidence::tls_scan::row_words;
use crate::tls_scan::TlsScan;

/// The scan of one endpoint as HTML tables (well-formed XML, everything escaped).
pub fn html(h: &mut String, scan: &TlsScan) {
    h.push_str("<table class=\"kv\">\n");
    let _ = writeln!(h, "<tr><th>TLS scan</th><td>{}</td></tr>", esc(&scan.summary()));
    let versions: Vec<String> = scan.version_lines().iter().map(|l| esc(l).into_owned()).collect();
    if !versions.is_empty() {
        let _ = writeln!(h, "<tr><th>Versions</th><td>{}</td></tr>", versions.join("<br/>"));
    }
    let _ = writeln!(h, "<tr><th>Cipher order</th><td>{}</td></tr>", scan.order_words());
    if !scan.groups.is_empty() {
        let _ = writeln!(
            h,
            "<tr><th>Named groups</th><td class=\"mono\">{}</td></tr>",
            esc(&scan.groups.join(", "))
        );
    }
    let _ = writeln!(
        h,
        "<tr><th>Certificates in clear</th><td>{}</td></tr>",
        scan.chain.len()
    );
    h.push_str("</table>\n");
    let rows = scan.rows();
    if rows.is_empty() {
        return;
    }
    h.push_str(
        "<table>\n<tr><th>Version</th><th>Suite</th><th>Key exchange</th><th>Cipher</th><th>Properties</th></tr>\n",
    );
    for r in rows {
        let _ = writeln!(
            h,
            "<tr><td>{}</td><td class=\"mono\">{}</td><td>{}</td><td>{}</td><td{}>{}</td></tr>",
            esc(&r.version),
            esc(&r.suite),
            esc(r.kex),
            esc(r.cipher),
            if r.weak() { " class=\"bad\"" } else { "" },
            esc(&row_words(&r))
        );
    }
    h.push_str("</table>\n");
}

/// The scans of every endpoint as a Markdown section (nothing when none ran).
pub fn markdown(m: &mut String, scans: &[(&str, &TlsScan)]) {
    if scans.is_empty() {
        return;
    }
    m.push_str("\n## TLS versions and suites\n");
    for (id, scan) in scans {
        let _ = writeln!(m, "\n### {}\n", md(id));
        let _ = writeln!(m, "{}\n", md(&scan.summary()));
        for v in scan.version_lines() {
            let _ = writeln!(m, "- {}", md(&v));
        }
        let _ = writeln!(m, "- Cipher order: {}", scan.order_words());
        if !scan.groups.is_empty() {
            let _ = writeln!(m, "- Named groups: {}", md(&scan.groups.join(", ")));
        }
        let rows = scan.rows();
        if !rows.is_empty() {
            m.push_str("\n| Version | Suite | Key exchange | Cipher | Properties |\n|---|---|---|---|---|\n");
            for r in rows {
                let _ = writeln!(
                    m,
                    "| {} | {} | {} | {} | {} |",
                    md(&r.version),
                    md(&r.suite),
                    md(r.kex),
                    md(r.cipher),
                    md(&row_words(&r))
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::evidence::tls_scan::{AcceptedSuite, ScanMode, Transport, VersionResult};
    use crate::tls_suites::Version;

    fn scan() -> TlsScan {
        TlsScan {
            mode: ScanMode::Full,
            transport: Transport::StarttlsSmtp,
            sni: Some("mail.contoso.com".into()),
            hellos: Vec::new(),
            versions: vec![VersionResult {
                version: Version::Tls12,
                accepted: Some(true),
                answer: "ServerHello <b>".into(),
            }],
            suites: vec![
                AcceptedSuite {
                    id: 0xC028,
                    name: "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA384".into(),
                },
                AcceptedSuite {
                    id: 0xC030,
                    name: "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384".into(),
                },
            ],
            suites_version: Some(Version::Tls12),
            server_order: Some(true),
            tls13_suites: Vec::new(),
            groups: vec!["x25519".into()],
            chain: Vec::new(),
            complete: true,
            stopped: None,
            max_connections: 40,
            max_ms: 60_000,
            ms: 12,
        }
    }

    #[test]
    fn the_table_is_escaped_and_marks_the_weak_rows() {
        let mut h = String::new();
        html(&mut h, &scan());
        assert!(h.contains("ServerHello &lt;b&gt;"), "{h}");
        assert!(!h.contains("<b>"));
        let cbc = h.lines().find(|l| l.contains("AES_256_CBC")).unwrap();
        assert!(cbc.contains("class=\"bad\""), "{cbc}");
        let gcm = h.lines().find(|l| l.contains("AES_256_GCM")).unwrap();
        assert!(!gcm.contains("class=\"bad\""), "{gcm}");
        assert!(h.contains("the server's own"));
        let mut m = String::new();
        markdown(&mut m, &[("smtp:mail.contoso.com:25", &scan())]);
        assert!(m.contains("## TLS versions and suites"), "{m}");
        assert!(
            m.contains(
                "| TLSv1.2 | TLS\\_ECDHE\\_RSA\\_WITH\\_AES\\_256\\_CBC\\_SHA384 | ECDHE | AES-256-CBC |"
            ),
            "{m}"
        );
        let mut none = String::new();
        markdown(&mut none, &[]);
        assert!(none.is_empty());
    }
}
