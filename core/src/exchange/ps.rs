//! PowerShell's JSON shapes, read tolerantly.
//!
//! `ConvertTo-Json` writes the same property in different shapes depending on the PowerShell version,
//! on whether the object came through remoting (deserialized) and on how many values it holds: a
//! string, an array, a one-element array, an object with a `value` (or `Value`) field wrapping the
//! real value (a PSObject-wrapped string, array or date in Windows PowerShell 5.1), `null`. Dates come
//! as ISO 8601 strings (what the export script writes), as `/Date(1700000000000)/` (Windows
//! PowerShell's own date format), or as a culture's text. [`Ps`] holds one field as read: the value,
//! missing, or unreadable with what was found instead, so that one odd field never costs the rest.

use serde::{Deserialize, Deserializer};
use serde_json::Value;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// The longest text quoted from the export in a message.
const MAX_QUOTE: usize = 60;

/// One property as read from the export.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Ps<T> {
    /// Absent or `null`: the cmdlet did not return it (older Exchange, another cloud) or it is empty.
    #[default]
    Missing,
    /// Read.
    Value(T),
    /// Present, but in a shape this mailpath cannot read: what was found.
    Unreadable(String),
}

impl<T> Ps<T> {
    /// The value, when it was read.
    pub fn get(&self) -> Option<&T> {
        match self {
            Ps::Value(v) => Some(v),
            _ => None,
        }
    }

    /// Why it could not be read, when it could not.
    pub fn unreadable(&self) -> Option<&str> {
        match self {
            Ps::Unreadable(why) => Some(why),
            _ => None,
        }
    }
}

impl Ps<String> {
    /// The text, trimmed; `None` when missing, unreadable or empty.
    pub fn text(&self) -> Option<&str> {
        self.get().map(|s| s.trim()).filter(|s| !s.is_empty())
    }
}

impl Ps<Vec<String>> {
    /// The values (empty when missing or unreadable).
    pub fn list(&self) -> &[String] {
        self.get().map_or(&[], Vec::as_slice)
    }
}

impl Ps<bool> {
    /// The value, or `default` when it was not read.
    pub fn or(&self, default: bool) -> bool {
        self.get().copied().unwrap_or(default)
    }
}

impl<'de, T: FromPs> Deserialize<'de> for Ps<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = Value::deserialize(deserializer)?;
        Ok(read(&value))
    }
}

/// Read one value in any of PowerShell's shapes.
pub fn read<T: FromPs>(value: &Value) -> Ps<T> {
    let value = unwrap(value);
    if value.is_null() {
        return Ps::Missing;
    }
    match T::from_ps(value) {
        Ok(v) => Ps::Value(v),
        Err(expected) => Ps::Unreadable(format!("expected {expected}, found {}", describe(value))),
    }
}

/// The value inside PowerShell's wrappers: an object with a `value`/`Value` field (a PSObject), as
/// deep as it goes (bounded).
fn unwrap(mut value: &Value) -> &Value {
    for _ in 0..4 {
        let Some(map) = value.as_object() else { break };
        match map.iter().find(|(k, _)| k.eq_ignore_ascii_case("value")) {
            Some((_, inner)) => value = inner,
            None => break,
        }
    }
    value
}

/// A short description of a JSON value for messages: its kind and a quote.
pub fn describe(value: &Value) -> String {
    match value {
        Value::Null => "null".into(),
        Value::Bool(b) => format!("{b}"),
        Value::Number(n) => format!("the number {n}"),
        Value::String(s) => format!("the text {:?}", quote(s)),
        Value::Array(a) => format!("a list of {} value(s)", a.len()),
        Value::Object(o) => {
            let keys: Vec<&str> = o.keys().take(4).map(String::as_str).collect();
            format!(
                "an object with {}",
                if keys.is_empty() {
                    "no fields".into()
                } else {
                    keys.join(", ")
                }
            )
        }
    }
}

fn quote(s: &str) -> String {
    if s.chars().count() <= MAX_QUOTE {
        s.to_string()
    } else {
        let cut: String = s.chars().take(MAX_QUOTE).collect();
        format!("{cut}...")
    }
}

/// A type a PowerShell property can be read as.
pub trait FromPs: Sized {
    /// Read from an unwrapped, non-null value; `Err` says what was expected.
    ///
    /// # Errors
    /// When the value has a shape this type cannot be read from.
    fn from_ps(value: &Value) -> Result<Self, &'static str>;
}

impl FromPs for String {
    fn from_ps(value: &Value) -> Result<Self, &'static str> {
        const EXPECTED: &str = "a text";
        match value {
            Value::String(s) => Ok(s.clone()),
            Value::Number(n) => Ok(n.to_string()),
            Value::Bool(b) => Ok(if *b { "True" } else { "False" }.into()),
            // A one-element list holding a text (a single-valued MultiValuedProperty).
            Value::Array(a) if a.len() == 1 => match unwrap(&a[0]) {
                Value::String(s) => Ok(s.clone()),
                _ => Err(EXPECTED),
            },
            Value::Array(a) if a.is_empty() => Ok(String::new()),
            _ => Err(EXPECTED),
        }
    }
}

impl FromPs for bool {
    fn from_ps(value: &Value) -> Result<Self, &'static str> {
        const EXPECTED: &str = "True or False";
        match value {
            Value::Bool(b) => Ok(*b),
            Value::Number(n) => match n.as_i64() {
                Some(0) => Ok(false),
                Some(1) => Ok(true),
                _ => Err(EXPECTED),
            },
            Value::String(s) => match s.trim().trim_start_matches('$').to_ascii_lowercase().as_str() {
                "true" | "1" | "yes" => Ok(true),
                "false" | "0" | "no" => Ok(false),
                _ => Err(EXPECTED),
            },
            _ => Err(EXPECTED),
        }
    }
}

impl FromPs for i64 {
    fn from_ps(value: &Value) -> Result<Self, &'static str> {
        const EXPECTED: &str = "a whole number";
        match value {
            Value::Number(n) => n.as_i64().ok_or(EXPECTED),
            Value::String(s) => s.trim().replace(',', "").parse().map_err(|_| EXPECTED),
            _ => Err(EXPECTED),
        }
    }
}

impl FromPs for Vec<String> {
    fn from_ps(value: &Value) -> Result<Self, &'static str> {
        const EXPECTED: &str = "a list of texts";
        match value {
            Value::Array(items) => {
                let mut out = Vec::new();
                for item in items {
                    let item = unwrap(item);
                    if item.is_null() {
                        continue;
                    }
                    out.push(String::from_ps(item).map_err(|_| EXPECTED)?);
                }
                Ok(out)
            }
            // One value, or PowerShell's display of a list, `{a, b}`.
            Value::String(s) => Ok(
                match s.trim().strip_prefix('{').and_then(|r| r.strip_suffix('}')) {
                    Some(inner) => inner
                        .split(", ")
                        .map(str::trim)
                        .filter(|p| !p.is_empty())
                        .map(str::to_string)
                        .collect(),
                    None if s.trim().is_empty() => Vec::new(),
                    None => vec![s.trim().to_string()],
                },
            ),
            Value::Number(_) | Value::Bool(_) => Ok(vec![String::from_ps(value)?]),
            _ => Err(EXPECTED),
        }
    }
}

/// The name of an enum value (`Valid`, `DomainValidation`, `FrontendTransport`): a text, never a number
/// (`ConvertTo-Json` without the script writes enums as their numbers, which mean nothing without the
/// enum's definition).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Enum(pub String);

impl FromPs for Enum {
    fn from_ps(value: &Value) -> Result<Self, &'static str> {
        const EXPECTED: &str =
            "a name (an enum written as a number: export with the script, which writes names)";
        match value {
            Value::String(s) if !s.trim().is_empty() && s.trim().parse::<i64>().is_err() => {
                Ok(Enum(s.trim().to_string()))
            }
            Value::String(s) if s.trim().is_empty() => Ok(Enum(String::new())),
            _ => Err(EXPECTED),
        }
    }
}

impl Ps<Enum> {
    /// The name, when it was read and is not empty.
    pub fn name(&self) -> Option<&str> {
        self.get().map(|e| e.0.as_str()).filter(|s| !s.is_empty())
    }

    /// Whether the name is `want` (case-insensitive).
    pub fn is(&self, want: &str) -> bool {
        self.name().is_some_and(|n| n.eq_ignore_ascii_case(want))
    }
}

/// A flags enum (`Services`, `AuthMechanism`, `PermissionGroups`, `ServerRole`): `IIS, SMTP` as one
/// text, or a list of names.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Flags(pub Vec<String>);

impl Flags {
    /// Whether `name` is among the flags (case-insensitive).
    pub fn has(&self, name: &str) -> bool {
        self.0.iter().any(|f| f.eq_ignore_ascii_case(name))
    }

    /// The flags as Exchange prints them (`IIS, SMTP`).
    pub fn joined(&self) -> String {
        self.0.join(", ")
    }
}

impl FromPs for Flags {
    fn from_ps(value: &Value) -> Result<Self, &'static str> {
        const EXPECTED: &str =
            "a list of names (flags written as a number: export with the script, which writes names)";
        let parts: Vec<String> = match value {
            Value::String(s) => vec![s.clone()],
            Value::Array(_) => Vec::<String>::from_ps(value).map_err(|_| EXPECTED)?,
            _ => return Err(EXPECTED),
        };
        Ok(Flags(
            parts
                .iter()
                .flat_map(|p| p.split(','))
                .map(str::trim)
                .filter(|p| !p.is_empty())
                .map(str::to_string)
                .collect(),
        ))
    }
}

/// A point in time, as PowerShell writes one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct When(pub OffsetDateTime);

impl FromPs for When {
    fn from_ps(value: &Value) -> Result<Self, &'static str> {
        const EXPECTED: &str = "a date (ISO 8601 or /Date(ms)/)";
        match value {
            Value::String(s) => parse_date(s).map(When).ok_or(EXPECTED),
            // Some tools write Unix milliseconds.
            Value::Number(n) => n.as_i64().and_then(from_millis).map(When).ok_or(EXPECTED),
            Value::Object(map) => {
                // Windows PowerShell 5.1: {"value": ..., "DateTime": "Monday, May 1, 2024 10:00:00 AM"}.
                let text = map
                    .iter()
                    .find(|(k, _)| k.eq_ignore_ascii_case("DateTime"))
                    .and_then(|(_, v)| v.as_str());
                text.and_then(parse_date).map(When).ok_or(EXPECTED)
            }
            _ => Err(EXPECTED),
        }
    }
}

fn from_millis(ms: i64) -> Option<OffsetDateTime> {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000).ok()
}

/// Parse a date in the forms PowerShell and Exchange write: RFC 3339 / ISO 8601 (with or without a
/// zone: UTC then), `/Date(1700000000000)/` (with an optional `+0100` offset, which does not move the
/// instant), `2024-05-01 10:00:00`, and en-US `5/1/2024 10:00:00 AM` (read as UTC).
pub fn parse_date(text: &str) -> Option<OffsetDateTime> {
    let s = text.trim();
    if let Some(inner) = s
        .strip_prefix("/Date(")
        .or_else(|| s.strip_prefix("\\/Date("))
        .and_then(|r| r.split(')').next())
    {
        let digits_end = inner
            .char_indices()
            .skip(1)
            .find(|(_, c)| *c == '+' || *c == '-')
            .map_or(inner.len(), |(i, _)| i);
        return inner[..digits_end].parse().ok().and_then(from_millis);
    }
    if let Ok(t) = OffsetDateTime::parse(s, &Rfc3339) {
        return Some(t);
    }
    // ISO without a zone, with a space or a T, optional fraction: taken as UTC.
    let iso = s.replace(' ', "T");
    let iso = iso.split('.').next().unwrap_or(&iso).trim_end_matches('Z');
    let fmt = time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]");
    if let Ok(t) = time::PrimitiveDateTime::parse(iso, &fmt) {
        return Some(t.assume_utc());
    }
    let day = time::macros::format_description!("[year]-[month]-[day]");
    if let Ok(d) = time::Date::parse(s, &day) {
        return Some(d.midnight().assume_utc());
    }
    us_date(s)
}

/// `M/D/YYYY h:mm:ss AM` (en-US, as `Get-Date | Out-String` or `.ToString()` print it).
fn us_date(s: &str) -> Option<OffsetDateTime> {
    let mut parts = s.split_whitespace();
    let date = parts.next()?;
    let clock = parts.next().unwrap_or("0:00:00");
    let meridiem = parts.next();
    let mut d = date.split('/').map(|p| p.parse::<u16>().ok());
    let (month, day, year) = (d.next()??, d.next()??, d.next()??);
    let mut c = clock.split(':').map(|p| p.parse::<u8>().ok());
    let mut hour = c.next()??;
    let minute = c.next().flatten().unwrap_or(0);
    let second = c.next().flatten().unwrap_or(0);
    match meridiem.map(str::to_ascii_uppercase).as_deref() {
        Some("PM") if hour < 12 => hour += 12,
        Some("AM") if hour == 12 => hour = 0,
        _ => {}
    }
    let month = time::Month::try_from(u8::try_from(month).ok()?).ok()?;
    let date = time::Date::from_calendar_date(i32::from(year), month, u8::try_from(day).ok()?).ok()?;
    let t = time::Time::from_hms(hour, minute, second).ok()?;
    Some(date.with_time(t).assume_utc())
}

/// The text of an export file: UTF-8 with or without a byte order mark, or UTF-16 with one (what
/// Windows PowerShell 5.1's `Out-File` and `>` write).
///
/// # Errors
/// When the bytes are neither.
pub fn decode_text(bytes: &[u8]) -> Result<String, &'static str> {
    if let Some(rest) = bytes.strip_prefix(&[0xEF, 0xBB, 0xBF]) {
        return String::from_utf8(rest.to_vec()).map_err(|_| "not UTF-8 after its UTF-8 byte order mark");
    }
    let utf16 = |rest: &[u8], le: bool| -> Result<String, &'static str> {
        let units: Vec<u16> = rest
            .chunks_exact(2)
            .map(|p| {
                if le {
                    u16::from_le_bytes([p[0], p[1]])
                } else {
                    u16::from_be_bytes([p[0], p[1]])
                }
            })
            .collect();
        String::from_utf16(&units).map_err(|_| "not UTF-16 after its UTF-16 byte order mark")
    };
    if let Some(rest) = bytes.strip_prefix(&[0xFF, 0xFE]) {
        return utf16(rest, true);
    }
    if let Some(rest) = bytes.strip_prefix(&[0xFE, 0xFF]) {
        return utf16(rest, false);
    }
    String::from_utf8(bytes.to_vec()).map_err(|_| "not UTF-8 text")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn r<T: FromPs>(v: Value) -> Ps<T> {
        read(&v)
    }

    #[test]
    fn texts_come_in_every_shape() {
        assert_eq!(r::<String>(json!("a")), Ps::Value("a".into()));
        assert_eq!(
            r::<String>(json!({"value": "a", "Count": 1})),
            Ps::Value("a".into())
        );
        assert_eq!(
            r::<String>(json!({"Value": {"value": "a"}})),
            Ps::Value("a".into())
        );
        assert_eq!(r::<String>(json!(["a"])), Ps::Value("a".into()));
        assert_eq!(r::<String>(json!(null)), Ps::Missing);
        assert_eq!(r::<String>(json!({"value": null})), Ps::Missing);
        let odd = r::<String>(json!({"Domain": "x", "IncludeSubDomains": false}));
        assert_eq!(
            odd.unreadable(),
            Some("expected a text, found an object with Domain, IncludeSubDomains")
        );
    }

    #[test]
    fn lists_flags_and_booleans() {
        assert_eq!(r::<Vec<String>>(json!(["a", null, "b"])).list(), ["a", "b"]);
        assert_eq!(r::<Vec<String>>(json!("a")).list(), ["a"]);
        assert_eq!(r::<Vec<String>>(json!("{a, b}")).list(), ["a", "b"]);
        assert_eq!(
            r::<Vec<String>>(json!({"value": ["x"], "Count": 1})).list(),
            ["x"]
        );
        let flags = r::<Flags>(json!("IMAP, POP, IIS, SMTP"));
        assert!(flags.get().is_some_and(|f| f.has("smtp") && !f.has("UM")));
        assert!(
            r::<Flags>(json!(["IIS", "SMTP"]))
                .get()
                .is_some_and(|f| f.has("SMTP"))
        );
        assert_eq!(r::<bool>(json!("True")), Ps::Value(true));
        assert_eq!(r::<bool>(json!("$false")), Ps::Value(false));
        assert_eq!(r::<bool>(json!(1)), Ps::Value(true));
        assert!(r::<bool>(json!("maybe")).unreadable().is_some());
        assert_eq!(r::<i64>(json!("1,024")), Ps::Value(1024));
        assert!(
            r::<Flags>(json!(14))
                .unreadable()
                .is_some_and(|w| w.contains("number"))
        );
        assert!(r::<Enum>(json!(2)).unreadable().is_some());
        assert!(r::<Enum>(json!("Valid")).is("valid"));
    }

    #[test]
    fn dates_in_iso_and_windows_powershell_forms() {
        let t = time::macros::datetime!(2023-11-14 22:13:20 UTC);
        for v in [
            json!("2023-11-14T22:13:20Z"),
            json!("2023-11-14T23:13:20+01:00"),
            json!("/Date(1700000000000)/"),
            json!("/Date(1700000000000+0100)/"),
            json!({"value": "/Date(1700000000000)/", "DisplayHint": 2, "DateTime": "Tuesday, November 14, 2023 10:13:20 PM"}),
            json!("2023-11-14 22:13:20"),
            json!("11/14/2023 10:13:20 PM"),
            json!(1_700_000_000_000_i64),
        ] {
            assert_eq!(r::<When>(v.clone()), Ps::Value(When(t)), "{v}");
        }
        assert!(r::<When>(json!("next tuesday")).unreadable().is_some());
    }

    #[test]
    fn text_with_or_without_a_byte_order_mark() {
        assert_eq!(decode_text(b"\xEF\xBB\xBF{}").as_deref(), Ok("{}"));
        assert_eq!(decode_text(b"{}").as_deref(), Ok("{}"));
        assert_eq!(decode_text(&[0xFF, 0xFE, b'{', 0, b'}', 0]).as_deref(), Ok("{}"));
        assert!(decode_text(&[0xC3, 0x28]).is_err());
    }
}
