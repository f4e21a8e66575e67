//! The one client of p2pd's control socket, shared by p2pctl and p2pgui:
//! where the daemon is ([`Target`]), whether its socket can be trusted
//! ([`owner`]), and a blocking connection that sends requests and reads
//! events ([`Client`]).
//!
//! Depends on `p2p-proto` only: never on p2pd, never on an async runtime.

mod connection;
pub mod owner;
mod target;
// How the bytes travel: the one place the platforms differ.
#[cfg_attr(unix, path = "transport/unix.rs")]
#[cfg_attr(windows, path = "transport/windows.rs")]
mod transport;

pub use connection::{Client, ClientError, Events, unexpected};
pub use owner::Owners;
pub use target::Target;
