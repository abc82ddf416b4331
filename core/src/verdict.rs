//! The verdict of a diagnosis and its exit code: the one place that decides what leads to 0, 1, 2 or 3
//! (docs/exit-codes.md), for the text output, the JSON document, the monitoring formats and the exit status.

use serde::{Deserialize, Serialize};

use crate::check::Counts;
use crate::diagnose::Diagnosis;

/// How a diagnosis came out, as a script reads it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Verdict {
    /// Every check passed (or is information, or was skipped with a reason). Exit 0.
    Pass,
    /// Warnings, no failures. Exit 1.
    Warn,
    /// At least one failure. Exit 2.
    Fail,
    /// The diagnosis could not finish: cancelled, or no DNS server answered. Exit 3.
    Incomplete,
}

impl Verdict {
    /// The verdict of a set of results that ran to the end: fail, warn, else pass.
    pub fn of_counts(counts: &Counts) -> Verdict {
        if counts.fail > 0 {
            Verdict::Fail
        } else if counts.warn > 0 {
            Verdict::Warn
        } else {
            Verdict::Pass
        }
    }

    /// The verdict of a diagnosis, and why it is incomplete when it is.
    pub fn of(d: &Diagnosis) -> (Verdict, Option<String>) {
        if d.cancelled {
            return (
                Verdict::Incomplete,
                Some("cancelled before every probe finished: the results are partial".into()),
            );
        }
        let resolvers = &d.evidence.resolvers;
        if !resolvers.is_empty() && !resolvers.iter().any(crate::checks::resolver::answered) {
            let servers: Vec<&str> = resolvers.iter().map(|a| a.server.as_str()).collect();
            return (
                Verdict::Incomplete,
                Some(format!(
                    "no DNS server answered ({}): nothing on the path could be looked up",
                    servers.join(", ")
                )),
            );
        }
        (Verdict::of_counts(&d.counts), None)
    }

    /// The process exit code (0 pass, 1 warn, 2 fail, 3 incomplete or could not run).
    pub fn exit_code(self) -> u8 {
        match self {
            Verdict::Pass => 0,
            Verdict::Warn => 1,
            Verdict::Fail => 2,
            Verdict::Incomplete => 3,
        }
    }

    /// `pass`, `warn`, `fail`, `incomplete`.
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Pass => "pass",
            Verdict::Warn => "warn",
            Verdict::Fail => "fail",
            Verdict::Incomplete => "incomplete",
        }
    }
}

impl std::fmt::Display for Verdict {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The diagnosis as the JSON document `diagnose --format json` prints and `--report FILE.json` writes: the
/// diagnosis with a top-level `verdict` and `exit_code`. With `compact`, the evidence blobs are dropped for
/// monitoring: certificate chains become their SHA-256 fingerprints (`chain_sha256`), transcripts are
/// emptied, and `"compact": true` says so (such a document still loads, without certificates).
///
/// # Errors
/// Only when serialization fails (not expected).
pub fn to_json(d: &Diagnosis, compact: bool) -> Result<serde_json::Value, serde_json::Error> {
    let mut value = serde_json::to_value(d)?;
    let (verdict, reason) = Verdict::of(d);
    if let Some(obj) = value.as_object_mut() {
        obj.insert("verdict".into(), verdict.as_str().into());
        obj.insert("exit_code".into(), verdict.exit_code().into());
        if let Some(reason) = reason {
            obj.insert("verdict_reason".into(), reason.into());
        }
        if compact {
            obj.insert("compact".into(), true.into());
            if let Some(evidence) = obj.get_mut("evidence") {
                compact_evidence(evidence);
            }
        }
    }
    Ok(value)
}

fn compact_evidence(evidence: &mut serde_json::Value) {
    use serde_json::Value;
    for key in ["smtp", "tls_ports"] {
        let Some(Value::Array(probes)) = evidence.get_mut(key) else {
            continue;
        };
        for probe in probes {
            if let Some(t) = probe.get_mut("transcript") {
                *t = Value::Array(Vec::new());
            }
            // The scanner's copy of the chain (the probe's own one keeps its fingerprints below).
            if let Some(chain) = probe
                .get_mut("tls_scan")
                .and_then(|scan| scan.get_mut("chain_der_b64"))
            {
                *chain = Value::Array(Vec::new());
            }
            let Some(tls) = probe.get_mut("tls").and_then(Value::as_object_mut) else {
                continue;
            };
            let fingerprints: Vec<Value> = tls
                .get("chain_der_b64")
                .and_then(Value::as_array)
                .map(|chain| {
                    chain
                        .iter()
                        .filter_map(Value::as_str)
                        .filter_map(|b64| data_encoding::BASE64.decode(b64.as_bytes()).ok())
                        .map(|der| Value::String(sha256_hex(&der)))
                        .collect()
                })
                .unwrap_or_default();
            tls.insert("chain_der_b64".into(), Value::Array(Vec::new()));
            tls.insert("chain_sha256".into(), Value::Array(fingerprints));
        }
    }
}

/// SHA-256 as upper-case hex with colons (as `openssl x509 -fingerprint -sha256` and the reports print it).
pub fn sha256_hex(der: &[u8]) -> String {
    use sha2::Digest as _;
    sha2::Sha256::digest(der)
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect::<Vec<_>>()
        .join(":")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exit_codes_follow_the_worst_status() {
        let c = |fail, warn| Counts {
            pass: 3,
            info: 1,
            skip: 2,
            warn,
            fail,
        };
        assert_eq!(Verdict::of_counts(&c(0, 0)).exit_code(), 0);
        assert_eq!(Verdict::of_counts(&c(0, 1)).exit_code(), 1);
        assert_eq!(Verdict::of_counts(&c(1, 1)).exit_code(), 2);
        assert_eq!(Verdict::Incomplete.exit_code(), 3);
    }
}
