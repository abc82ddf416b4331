//! From TOML text to a validated [`Profile`], with every problem located.
//!
//! 1. The text is parsed into a spanned document ([`DeTable`]); a syntax error stops here.
//! 2. The document is deserialized into a [`Profile`]. Serde stops at the first error (unknown key, wrong
//!    type, unparsable value), so after each error the offending key is removed from the document and
//!    deserialization is retried: every such problem is reported, not only the first.
//! 3. The profile is validated; each problem's key path is looked up in the document for its line and column.

use std::ops::Range;
use std::path::Path;

use serde::Deserialize;
use toml::Spanned;
use toml::de::{DeTable, DeValue};

use super::Profile;
use super::error::{KeyPath, KeySegment, Location, Problem, ProfileError};

/// How many deserialization errors are collected before giving up.
const MAX_RECOVERIES: usize = 64;
/// The longest `found` text quoted from the source.
const MAX_FOUND_CHARS: usize = 80;

pub(super) fn parse(text: &str, origin: &str, base_dir: Option<&Path>) -> Result<Profile, ProfileError> {
    let invalid = |mut problems: Vec<Problem>| {
        problems.sort_by_key(|p| p.location.as_ref().map_or(usize::MAX, |l| l.span.start));
        ProfileError::Invalid {
            origin: origin.to_owned(),
            problems,
        }
    };

    // Only the first syntax error is reported: after one, the parser's recovery produces follow-on errors
    // (such as a duplicate key after an unclosed table header) that would mislead.
    let (doc, errors) = DeTable::parse_recoverable(text);
    if let Some(error) = errors.first() {
        return Err(invalid(vec![from_toml_error(error, &doc, text)]));
    }

    let mut problems = Vec::new();
    let mut pruned: Vec<KeyPath> = Vec::new();
    let mut work = doc.clone();
    let mut profile = None;
    for _ in 0..MAX_RECOVERIES {
        match Profile::deserialize(toml::de::Deserializer::from(work.clone())) {
            Ok(p) => {
                profile = Some(p);
                break;
            }
            Err(e) => {
                let problem = from_toml_error(&e, &work, text);
                let prune = problem.key.up_to_last_key();
                problems.push(problem);
                if prune.is_empty() || !remove(&mut work, &prune) {
                    break;
                }
                pruned.push(prune);
            }
        }
    }
    let Some(mut profile) = profile else {
        return Err(invalid(problems));
    };

    if let Some(base_dir) = base_dir {
        profile.trust.resolve_relative(base_dir);
    }
    for mut problem in profile.validate() {
        // A key already reported (and removed) holds its default now: don't report it, or its table, again.
        if pruned
            .iter()
            .any(|p| problem.key.starts_with(p) || p.starts_with(&problem.key))
        {
            continue;
        }
        let span = span_of(&doc, &problem.key);
        problem.location = Some(Location::from_span(text, span));
        problems.push(problem);
    }
    if problems.is_empty() {
        Ok(profile)
    } else {
        Err(invalid(problems))
    }
}

/// A problem from a TOML syntax error or a deserialization error, located by its span.
fn from_toml_error(error: &toml::de::Error, doc: &Spanned<DeTable<'_>>, text: &str) -> Problem {
    let span = error.span();
    let key = span.as_ref().and_then(|s| path_at(doc, s)).unwrap_or_default();
    let (message, expected) = reword(error.message());
    let mut problem = Problem::new(key, message);
    problem.expected = expected;
    if let Some(span) = span {
        let source = text.get(span.clone()).unwrap_or("").trim();
        if !source.is_empty() && source.chars().count() <= MAX_FOUND_CHARS && !source.contains('\n') {
            problem.found = Some(source.to_owned());
        }
        problem.location = Some(Location::from_span(text, span));
    }
    if let (true, Some(found)) = (problem.message == "duplicate key", &problem.found) {
        problem.message = format!("duplicate key `{found}`");
    }
    problem
}

/// Splits a serde/TOML message into what is wrong and what was expected, in mailpath's words.
fn reword(message: &str) -> (String, Option<String>) {
    let message = message.trim();
    if let Some(rest) = message.strip_prefix("unknown field ") {
        return match rest.split_once(", expected ") {
            Some((field, expected)) => (format!("unknown key {field}"), Some(expected.to_owned())),
            None => match rest.split_once(", there are no fields") {
                Some((field, _)) => (format!("unknown key {field}"), None),
                None => (format!("unknown key {rest}"), None),
            },
        };
    }
    let (what, expected) = match message.rsplit_once(", expected ") {
        // The TOML parser says "expected nothing" when any continuation is wrong.
        Some((what, "nothing")) => (what, None),
        Some((what, expected)) => (what, Some(expected.to_owned())),
        None => (message, None),
    };
    let what = if let Some(found) = what.strip_prefix("invalid type: ") {
        format!("{found} is the wrong type")
    } else if let Some(found) = what.strip_prefix("invalid value: ") {
        format!("{found} is not a valid value")
    } else {
        what.to_owned()
    };
    (what, expected)
}

fn contains(outer: &Range<usize>, inner: &Range<usize>) -> bool {
    outer.start <= inner.start && inner.end <= outer.end && (inner.start < outer.end || outer.is_empty())
}

/// The deepest key whose key or value span contains `span`.
fn path_at(doc: &Spanned<DeTable<'_>>, span: &Range<usize>) -> Option<KeyPath> {
    fn in_table(table: &DeTable<'_>, span: &Range<usize>, path: &KeyPath) -> Option<KeyPath> {
        let mut best: Option<KeyPath> = None;
        for (key, value) in table.iter() {
            let here = path.key(key.get_ref());
            let found = in_value(value, span, &here)
                .or_else(|| (contains(&key.span(), span) || contains(&value.span(), span)).then_some(here));
            best = deeper(best, found);
        }
        best
    }
    fn in_value(value: &Spanned<DeValue<'_>>, span: &Range<usize>, path: &KeyPath) -> Option<KeyPath> {
        match value.get_ref() {
            DeValue::Table(table) => in_table(table, span, path),
            DeValue::Array(array) => {
                let mut best = None;
                for (i, item) in array.iter().enumerate() {
                    let here = path.index(i);
                    let found =
                        in_value(item, span, &here).or_else(|| contains(&item.span(), span).then_some(here));
                    best = deeper(best, found);
                }
                best
            }
            _ => None,
        }
    }
    fn deeper(a: Option<KeyPath>, b: Option<KeyPath>) -> Option<KeyPath> {
        match (a, b) {
            (Some(a), Some(b)) => Some(if b.segments().len() > a.segments().len() {
                b
            } else {
                a
            }),
            (a, b) => a.or(b),
        }
    }
    in_table(doc.get_ref(), span, &KeyPath::root())
}

/// The span of `path` in the document: its value when present, otherwise that of its deepest present
/// ancestor (a table's span is its `[header]`; the document's is its start).
fn span_of(doc: &Spanned<DeTable<'_>>, path: &KeyPath) -> Range<usize> {
    let mut span = doc.span();
    let mut current: Option<&DeValue<'_>> = None;
    let mut table: Option<&DeTable<'_>> = Some(doc.get_ref());
    for segment in path.segments() {
        let next = match (segment, table, current) {
            (KeySegment::Key(key), Some(t), _) => t.get(key.as_str()),
            (KeySegment::Index(i), _, Some(DeValue::Array(array))) => array.get(*i),
            _ => None,
        };
        let Some(next) = next else { break };
        span = next.span();
        current = Some(next.get_ref());
        table = next.get_ref().as_table();
    }
    span
}

/// Removes the key at `path` (which ends with a key) from the document; whether it was there.
fn remove(doc: &mut Spanned<DeTable<'_>>, path: &KeyPath) -> bool {
    fn in_table(table: &mut DeTable<'_>, parents: &[KeySegment], last: &str) -> bool {
        match parents.split_first() {
            None => table.remove(last).is_some(),
            Some((KeySegment::Key(key), rest)) => table
                .get_mut(key.as_str())
                .is_some_and(|v| in_value(v.get_mut(), rest, last)),
            Some((KeySegment::Index(_), _)) => false,
        }
    }
    fn in_value(value: &mut DeValue<'_>, parents: &[KeySegment], last: &str) -> bool {
        match (value, parents.split_first()) {
            (DeValue::Table(table), _) => in_table(table, parents, last),
            (DeValue::Array(array), Some((KeySegment::Index(i), rest))) => array
                .get_mut(*i)
                .is_some_and(|v| in_value(v.get_mut(), rest, last)),
            _ => false,
        }
    }
    match path.segments().split_last() {
        Some((KeySegment::Key(last), parents)) => in_table(doc.get_mut(), parents, last),
        _ => false,
    }
}
