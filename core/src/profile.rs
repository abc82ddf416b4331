//! The hybrid profile. OWNER: profile helper.
