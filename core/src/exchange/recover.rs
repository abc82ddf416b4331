//! Reading what is whole in an export that is not valid JSON (cut short by a full disk or a copy that
//! stopped, or damaged in the middle): the header before `"sections"` and every section object that is
//! complete. A bounded scanner finds where each top-level value of the `sections` array starts and ends
//! (strings and escapes respected); each complete one is then parsed on its own.

use serde_json::{Map, Value};

/// Deepest nesting the scanner follows (the script writes 6 levels).
const MAX_DEPTH: usize = 64;

/// What could be saved from a broken document.
#[derive(Debug, Default)]
pub struct Recovered {
    /// The header fields (`schema`, `script_version`, ...) when they could be read.
    pub header: Map<String, Value>,
    /// Every section that is whole and valid, in order.
    pub sections: Vec<Value>,
    /// Sections that started but could not be read (cut short or damaged), by their position.
    pub broken: Vec<usize>,
}

/// Save what is whole in `text`.
pub fn recover(text: &str) -> Recovered {
    let mut out = Recovered::default();
    let Some(key_at) = find_sections_key(text) else {
        out.header = header_of(text, text.len());
        return out;
    };
    out.header = header_of(text, key_at);
    let bytes = text.as_bytes();
    // Find the '[' after `"sections":`.
    let Some(open) = text[key_at..].find('[').map(|i| key_at + i) else {
        return out;
    };
    let mut depth = 0usize;
    let mut in_string = false;
    let mut escaped = false;
    let mut start: Option<usize> = None;
    let mut index = 0usize;
    for (i, &b) in bytes.iter().enumerate().skip(open + 1) {
        if in_string {
            match (escaped, b) {
                (true, _) => escaped = false,
                (false, b'\\') => escaped = true,
                (false, b'"') => in_string = false,
                _ => {}
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b'{' | b'[' => {
                if depth == 0 {
                    start = Some(i);
                }
                depth += 1;
                if depth > MAX_DEPTH {
                    break;
                }
            }
            b'}' | b']' => {
                if depth == 0 {
                    // The end of the sections array.
                    return out;
                }
                depth -= 1;
                if depth == 0
                    && let Some(s) = start.take()
                {
                    match serde_json::from_str::<Value>(&text[s..=i]) {
                        Ok(v) => out.sections.push(v),
                        Err(_) => out.broken.push(index),
                    }
                    index += 1;
                }
            }
            _ => {}
        }
    }
    if start.is_some() {
        out.broken.push(index);
    }
    out
}

/// Where the top-level `"sections"` key starts (the first occurrence outside a string at depth 1).
fn find_sections_key(text: &str) -> Option<usize> {
    let bytes = text.as_bytes();
    let mut depth = 0usize;
    let mut in_string = false;
    let mut escaped = false;
    let mut string_start = 0usize;
    for (i, &b) in bytes.iter().enumerate() {
        if in_string {
            match (escaped, b) {
                (true, _) => escaped = false,
                (false, b'\\') => escaped = true,
                (false, b'"') => {
                    in_string = false;
                    if depth == 1 && text[string_start..=i].eq_ignore_ascii_case("\"sections\"") {
                        return Some(string_start);
                    }
                }
                _ => {}
            }
            continue;
        }
        match b {
            b'"' => {
                in_string = true;
                string_start = i;
            }
            b'{' | b'[' => depth += 1,
            b'}' | b']' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    None
}

/// The header object: the text before `end`, closed.
fn header_of(text: &str, end: usize) -> Map<String, Value> {
    let head = text[..end].trim_end().trim_end_matches(',');
    let Some(open) = head.find('{') else {
        return Map::new();
    };
    match serde_json::from_str::<Value>(&format!("{}}}", &head[open..])) {
        Ok(Value::Object(map)) => map,
        _ => Map::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DOC: &str = r#"{"schema": "mailpath/exchange-export/1", "script_version": "1.1.0",
      "sections": [
        {"name": "a", "items": [{"X": "}{\"]"}]},
        {"name": "b", "items": []},
        {"name": "c", "items": [{"X": 1}"#;

    #[test]
    fn whole_sections_survive_a_cut() {
        let r = recover(DOC);
        assert_eq!(
            r.header.get("schema").and_then(Value::as_str),
            Some("mailpath/exchange-export/1")
        );
        let names: Vec<&str> = r.sections.iter().filter_map(|s| s["name"].as_str()).collect();
        assert_eq!(names, ["a", "b"]);
        assert_eq!(r.broken, [2]);
        assert_eq!(r.sections[0]["items"][0]["X"], "}{\"]");
    }

    #[test]
    fn damage_in_the_middle_costs_one_section() {
        let text = r#"{"schema": "s", "sections": [{"name": "a"}, {"name": "b", "x": tru}, {"name": "c"}]}"#;
        let r = recover(text);
        let names: Vec<&str> = r.sections.iter().filter_map(|s| s["name"].as_str()).collect();
        assert_eq!(names, ["a", "c"]);
        assert_eq!(r.broken, [1]);
        assert!(recover("not json at all").sections.is_empty());
        assert!(recover("").header.is_empty());
    }
}
