//! STUB (replaced by the real module at merge): certificate analysis and trust.
#![allow(missing_docs, clippy::all)]
use std::path::Path;

#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct CertError(pub String);

#[derive(Debug, Default)]
pub struct Trust;
impl Trust {
    pub fn empty() -> Trust { Trust }
    pub fn system() -> Result<Trust, CertError> { Ok(Trust) }
    pub fn add_pem_file(&mut self, _p: &Path) -> Result<(), CertError> { Ok(()) }
}

#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct CertInfo { pub subject: String, pub issuer: String, pub dns_names: Vec<String>, pub not_before: String, pub not_after: String }

pub fn parse_certificate(_der: &[u8]) -> Result<CertInfo, CertError> { Err(CertError("stub".into())) }
