//! Helpers shared by the `report_*` tests: run a lab diagnosis that writes every report format, and
//! check an HTML report the way a browser and an XML parser see it.
#![allow(dead_code)]

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::time::Duration;

use mailpath_tests::{mailpath, run_with_timeout, text, workspace_root};

/// What one `mailpath diagnose --lab SCENARIO --report x.html --report x.json --report x.md` wrote.
pub struct LabReports {
    /// The exit code.
    pub code: i32,
    /// stdout and stderr.
    pub output: String,
    /// The HTML report.
    pub html: String,
    /// The JSON report, parsed.
    pub json: serde_json::Value,
    /// The JSON report as written.
    pub json_text: String,
    /// The Markdown report.
    pub md: String,
    /// Where the JSON report is.
    pub json_path: PathBuf,
}

/// Run a lab diagnosis writing all three formats into `dir` (file stem `stem`), with `extra` arguments.
pub fn lab_reports(scenario: &str, dir: &Path, stem: &str, extra: &[&str]) -> LabReports {
    let (html, json, md) = (
        dir.join(format!("{stem}.html")),
        dir.join(format!("{stem}.json")),
        dir.join(format!("{stem}.md")),
    );
    let (out, _) = run_with_timeout(
        mailpath()
            .args(["diagnose", "--lab", scenario, "--report"])
            .arg(&html)
            .arg("--report")
            .arg(&json)
            .arg("--report")
            .arg(&md)
            .args(extra),
        Duration::from_secs(120),
    );
    let output = text(&out);
    let read =
        |p: &Path| std::fs::read_to_string(p).unwrap_or_else(|e| panic!("{}: {e}\n{output}", p.display()));
    let json_text = read(&json);
    LabReports {
        code: out.status.code().unwrap_or(-1),
        html: read(&html),
        json: serde_json::from_str(&json_text).unwrap_or_else(|e| panic!("JSON report: {e}")),
        json_text,
        md: read(&md),
        json_path: json,
        output,
    }
}

/// Whether the schema validator (python3-jsonschema) can run; under CI it must.
pub fn have_validator() -> bool {
    mailpath_tests::require_python_module("jsonschema", "python3-jsonschema")
}

/// Validate `doc` against the JSON Schema of `mailpath/diagnosis/1` (docs/schema), formats included,
/// with Debian's python3-jsonschema (an independent implementation; tests/scripts/validate_schema.py);
/// panic with every error and its location.
pub fn assert_valid(doc: &serde_json::Value) {
    if let Some(errors) = schema_errors(doc) {
        panic!("the diagnosis does not match docs/schema/diagnosis-1.schema.json:\n{errors}");
    }
}

/// What the schema validator says is wrong with `doc`: `None` when it is valid (or, outside CI, when
/// python3-jsonschema is not installed).
pub fn schema_errors(doc: &serde_json::Value) -> Option<String> {
    if !have_validator() {
        return None;
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let input = dir.path().join("doc.json");
    std::fs::write(&input, serde_json::to_vec(doc).expect("JSON")).expect("write the document");
    let schema = workspace_root().join("docs/schema/diagnosis-1.schema.json");
    let script = workspace_root().join("tests/scripts/validate_schema.py");
    let mut cmd = std::process::Command::new(mailpath_tests::DEBIAN_PYTHON);
    cmd.arg(&script)
        .arg(&schema)
        .stdin(std::fs::File::open(&input).expect("open the document"));
    let out = cmd.output().expect("run python3");
    (!out.status.success()).then(|| {
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

/// Everything a safe, self-contained report must be: well-formed XML, parsed by html5ever without errors,
/// an inline SVG, no script, no external resource, links only to https documentation or to anchors that
/// exist, no event-handler attributes.
pub fn assert_safe_html(html: &str) {
    // Well-formed: the report is also valid XML (polyglot markup).
    if let Err(e) = roxmltree::Document::parse_with_options(
        html,
        roxmltree::ParsingOptions {
            allow_dtd: true,
            ..Default::default()
        },
    ) {
        let line = e.pos().row as usize;
        let context: Vec<&str> = html.lines().skip(line.saturating_sub(2)).take(3).collect();
        panic!(
            "the HTML report is not well-formed XML: {e}\n{}",
            context.join("\n")
        );
    }
    let doc = scraper::Html::parse_document(html);
    assert!(doc.errors.is_empty(), "html5ever parse errors: {:?}", doc.errors);
    let sel = |s: &str| scraper::Selector::parse(s).expect("selector");
    assert_eq!(doc.select(&sel("script")).count(), 0, "a <script> element");
    for tag in [
        "iframe",
        "object",
        "embed",
        "img",
        "link",
        "base",
        "form",
        "meta[http-equiv]",
    ] {
        assert_eq!(doc.select(&sel(tag)).count(), 0, "a <{tag}> element");
    }
    assert!(
        doc.select(&sel("#path svg")).count() >= 1,
        "no inline SVG path diagram"
    );
    let ids: HashSet<&str> = doc
        .select(&sel("[id]"))
        .filter_map(|e| e.value().attr("id"))
        .collect();
    for el in doc.select(&sel("*")) {
        for (name, value) in el.value().attrs() {
            assert!(
                !name.starts_with("on"),
                "event handler attribute {name}={value:?}"
            );
            if name == "src"
                || name.ends_with(":href")
                || name == "xlink:href"
                || name == "srcset"
                || name == "action"
            {
                panic!("external resource attribute {name}={value:?}");
            }
            if name == "href" {
                if let Some(anchor) = value.strip_prefix('#') {
                    assert!(ids.contains(anchor), "link to a missing anchor #{anchor}");
                } else {
                    assert!(
                        value.starts_with("https://"),
                        "a link that is not https documentation: {value:?}"
                    );
                    assert_eq!(el.value().name(), "a", "href on a <{}>", el.value().name());
                }
            }
            if value.contains("url(") {
                assert!(
                    value.starts_with("url(#"),
                    "an external url() in {name}={value:?}"
                );
            }
        }
    }
    for style in doc.select(&sel("style")) {
        let css: String = style.text().collect();
        assert!(
            !css.contains("url(") && !css.contains("@import"),
            "the stylesheet loads something"
        );
    }
}

/// All text of the parsed HTML document.
pub fn html_text(html: &str) -> String {
    let doc = scraper::Html::parse_document(html);
    doc.root_element().text().collect::<Vec<_>>().join("")
}
