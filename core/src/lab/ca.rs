//! The lab CA (rcgen): root -> intermediate -> leaf certificates, including deliberately broken ones.
//! OWNER: pki helper.
