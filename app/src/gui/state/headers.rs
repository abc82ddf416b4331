//! The Headers view's state: the text pasted or loaded, and its analysis.

use mailpath_core::headers::{self, HeaderAnalysis};

/// Everything the Headers view shows.
#[derive(Debug, Clone, Default)]
pub struct HeadersState {
    /// The pasted or loaded headers.
    pub text: String,
    /// A path typed to open.
    pub path: String,
    /// The organization's domains (comma separated), for the analysis.
    pub org_domains: String,
    /// Where the text came from (a file, or "pasted").
    pub source: Option<String>,
    /// The last analysis.
    pub analysis: Option<HeaderAnalysis>,
    /// Why the text could not be analysed.
    pub error: Option<String>,
}

impl HeadersState {
    /// Analyse the text (pure, bounded by the analyser).
    pub fn analyse(&mut self) {
        let data = self.text.as_bytes();
        if !headers::looks_like_headers(data) {
            self.analysis = None;
            self.error = Some(
                "This does not start with header fields (Name: value). Paste the whole header block, \
                 e.g. Outlook's File > Properties > Internet headers."
                    .into(),
            );
            return;
        }
        let options = headers::Options {
            org_domains: self
                .org_domains
                .split([',', ' ', ';'])
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_string)
                .collect(),
            context: headers::Context::Delivered,
            target: self.source.clone().unwrap_or_else(|| "pasted headers".into()),
        };
        self.error = None;
        self.analysis = Some(headers::analyze(data, &options));
    }
}
