//! The bundled test relay (`mailpath relay`).

pub mod spool;
