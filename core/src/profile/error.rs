//! Errors of the profile: [`ProfileError`], [`Problem`], [`Location`] and [`KeyPath`].

use std::fmt;
use std::ops::Range;
use std::path::PathBuf;

/// Why a profile could not be loaded, parsed, validated or written.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ProfileError {
    /// The profile file could not be read.
    #[error("{}: cannot read the profile: {source}", path.display())]
    Io {
        /// The path as given to [`Profile::load`](super::Profile::load).
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// The profile is not valid TOML, does not have the expected shape, or has invalid values.
    ///
    /// Every problem found is listed, sorted by position: a TOML syntax error stops the analysis (and is the
    /// only problem); otherwise unknown keys, wrong types and semantic problems are all reported together. `Display` prints
    /// one problem per line, each as `origin:line:column: key: message (expected ...)`.
    #[error("{}", DisplayProblems { origin, problems })]
    Invalid {
        /// The name of the profile in messages (the file name, or what the caller passed as `origin`).
        origin: String,
        /// The problems, in document order; never empty.
        problems: Vec<Problem>,
    },
    /// The profile could not be written as TOML (for example a CA file path that is not UTF-8).
    #[error("cannot write the profile as TOML: {message}")]
    Serialize {
        /// What the TOML serializer said.
        message: String,
    },
}

impl ProfileError {
    /// The problems of an [`Invalid`](ProfileError::Invalid) profile; empty for the other variants.
    pub fn problems(&self) -> &[Problem] {
        match self {
            ProfileError::Invalid { problems, .. } => problems,
            _ => &[],
        }
    }
}

struct DisplayProblems<'a> {
    origin: &'a str,
    problems: &'a [Problem],
}

impl fmt::Display for DisplayProblems<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, problem) in self.problems.iter().enumerate() {
            if i > 0 {
                f.write_str("\n")?;
            }
            write!(f, "{}", problem.display_with_origin(self.origin))?;
        }
        Ok(())
    }
}

/// One thing wrong in a profile.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Problem {
    /// Where in the TOML text; `None` for a profile that was not read from text
    /// (see [`Profile::validate`](super::Profile::validate)).
    pub location: Option<Location>,
    /// The key the problem is about, such as `edge[0].external_fqdn`; empty for the document itself
    /// (for example a TOML syntax error outside any key).
    pub key: KeyPath,
    /// What is wrong, such as `"mail..contoso.com" is not a valid host name: it has an empty label`.
    pub message: String,
    /// What was expected instead, such as `a DNS name such as mail.contoso.com`, when known.
    pub expected: Option<String>,
    /// The offending value as written (TOML text or the value), when there is one.
    pub found: Option<String>,
}

impl Problem {
    pub(crate) fn new(key: KeyPath, message: impl Into<String>) -> Self {
        Problem {
            location: None,
            key,
            message: message.into(),
            expected: None,
            found: None,
        }
    }

    pub(crate) fn expected(mut self, expected: impl Into<String>) -> Self {
        self.expected = Some(expected.into());
        self
    }

    /// The 1-based line, if the problem has a location.
    pub fn line(&self) -> Option<usize> {
        self.location.as_ref().map(|l| l.line)
    }

    /// The 1-based column (in characters), if the problem has a location.
    pub fn column(&self) -> Option<usize> {
        self.location.as_ref().map(|l| l.column)
    }

    /// Formats the problem prefixed by `origin:line:column: ` (or `origin: ` without a location).
    pub fn display_with_origin<'a>(&'a self, origin: &'a str) -> impl fmt::Display + 'a {
        WithOrigin {
            origin,
            problem: self,
        }
    }
}

struct WithOrigin<'a> {
    origin: &'a str,
    problem: &'a Problem,
}

impl fmt::Display for WithOrigin<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.origin)?;
        if let Some(location) = &self.problem.location {
            write!(f, ":{}:{}", location.line, location.column)?;
        }
        write!(f, ": {}", self.problem)
    }
}

/// `key: message (expected ...)`, preceded by `line:column: ` when the location is known.
impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if !self.key.is_empty() {
            write!(f, "{}: ", self.key)?;
        }
        f.write_str(&self.message)?;
        if let Some(expected) = &self.expected {
            write!(f, " (expected {expected})")?;
        }
        Ok(())
    }
}

/// A position in the profile text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    /// 1-based line number.
    pub line: usize,
    /// 1-based column, counted in characters (Unicode scalar values).
    pub column: usize,
    /// The byte range in the text that the problem is about.
    pub span: Range<usize>,
}

impl Location {
    /// Computes the line and column of `span.start` in `text`.
    pub fn from_span(text: &str, span: Range<usize>) -> Location {
        let mut start = span.start.min(text.len());
        while !text.is_char_boundary(start) {
            start -= 1;
        }
        let before = &text[..start];
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        Location {
            line: before.matches('\n').count() + 1,
            column: before[line_start..].chars().count() + 1,
            span,
        }
    }
}

/// One step of a [`KeyPath`].
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum KeySegment {
    /// A table key.
    Key(String),
    /// An index in an array (or array of tables).
    Index(usize),
}

/// The path of a key in the profile, displayed like `edge[0].external_fqdn` or `tenant.accepted_domains[2]`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct KeyPath(Vec<KeySegment>);

impl KeyPath {
    /// The empty path: the document itself.
    pub fn root() -> KeyPath {
        KeyPath(Vec::new())
    }

    /// This path followed by the table key `key`.
    pub fn key(&self, key: &str) -> KeyPath {
        let mut segments = self.0.clone();
        segments.push(KeySegment::Key(key.to_owned()));
        KeyPath(segments)
    }

    /// This path followed by the array index `index`.
    pub fn index(&self, index: usize) -> KeyPath {
        let mut segments = self.0.clone();
        segments.push(KeySegment::Index(index));
        KeyPath(segments)
    }

    /// The segments, outermost first.
    pub fn segments(&self) -> &[KeySegment] {
        &self.0
    }

    /// Whether this is the root path.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Whether `prefix` is this path or one of its ancestors.
    pub fn starts_with(&self, prefix: &KeyPath) -> bool {
        self.0.starts_with(&prefix.0)
    }

    /// This path cut after its last table key (`edge[1].address` stays, `tenant.accepted_domains[1]` becomes
    /// `tenant.accepted_domains`, `edge[1]` becomes `edge`).
    pub(crate) fn up_to_last_key(&self) -> KeyPath {
        let end = self
            .0
            .iter()
            .rposition(|s| matches!(s, KeySegment::Key(_)))
            .map_or(0, |i| i + 1);
        KeyPath(self.0[..end].to_vec())
    }
}

impl fmt::Display for KeyPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, segment) in self.0.iter().enumerate() {
            match segment {
                KeySegment::Index(index) => write!(f, "[{index}]")?,
                KeySegment::Key(key) => {
                    if i > 0 {
                        f.write_str(".")?;
                    }
                    let bare = !key.is_empty()
                        && key
                            .chars()
                            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
                    if bare {
                        f.write_str(key)?;
                    } else {
                        write!(f, "{key:?}")?;
                    }
                }
            }
        }
        Ok(())
    }
}

impl PartialEq<str> for KeyPath {
    fn eq(&self, other: &str) -> bool {
        let shown = self.to_string();
        shown == other
    }
}

impl PartialEq<&str> for KeyPath {
    fn eq(&self, other: &&str) -> bool {
        let shown = self.to_string();
        shown == *other
    }
}
