//! The lab's authoritative DNS server (hickory-server) on loopback.
//! OWNER: dns helper.
