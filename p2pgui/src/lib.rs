//! p2pgui: a desktop window onto p2pd, over the same control socket as
//! p2pctl. The UI thread only draws; one worker thread ([`worker`]) owns
//! the socket.
//!
//! Depends on `p2p-proto` and `p2p-client` only: never on p2pd, never on tokio.

pub mod app;
pub mod format;
pub mod launch;
mod tabs;
pub mod worker;

pub use app::{App, Options, Tab};
