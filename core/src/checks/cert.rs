//! STUB (replaced by the real module at merge).
#![allow(missing_docs, clippy::all)]
use crate::cert::{CertError, CertInfo, Trust};
use crate::check::{Attachment, CheckDef, CheckResult, Status};

pub const PRESENT: CheckDef = CheckDef { id: "tls.cert.present", title: "stub", why: "stub", references: &[] };
pub const DEFS: &[CheckDef] = &[PRESENT];

#[derive(Debug, Clone)]
pub struct ExpectedName { pub name: String, pub source: String }

pub struct CertCheckContext<'a> {
    pub target: &'a str,
    pub evidence_id: &'a str,
    pub expected: &'a [ExpectedName],
    pub trust: &'a Trust,
    pub now: time::OffsetDateTime,
    pub used_as_client: bool,
    pub attachment: Attachment,
}

pub fn cert_checks(chain: &[rustls_pki_types::CertificateDer<'_>], ctx: &CertCheckContext) -> Vec<CheckResult> {
    vec![CheckResult::new(&PRESENT, if chain.is_empty() { Status::Fail } else { Status::Pass }, ctx.target, "stub").on(ctx.attachment.clone())]
}

#[derive(Debug, serde::Serialize, serde::Deserialize)]
pub struct CertReport { pub schema: String, pub file: String, pub chain: Vec<CertInfo>, pub checks: Vec<CheckResult> }

pub fn check_certificate_file(_p: &std::path::Path, _n: &[String], _t: &Trust, _now: time::OffsetDateTime) -> Result<CertReport, CertError> {
    Err(CertError("stub".into()))
}
