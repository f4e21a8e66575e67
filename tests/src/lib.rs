//! Helpers shared by the end-to-end and interop tests of the whole system.

pub mod e2e;
pub mod range_server;
pub mod raw_peer;
pub mod relay;
pub mod tls_proxy;
