//! uTP, the Micro Transport Protocol
//! ([BEP 29](https://www.bittorrent.org/beps/bep_0029.html)): a reliable
//! stream over UDP whose LEDBAT congestion control yields to other traffic.
//!
//! Sans-io: [`packet`] encodes and decodes datagrams, [`conn::Connection`]
//! is one connection's state machine, fed datagrams and the time by a
//! driver (p2pd's engine/utp) that owns the socket and the clock.

pub mod conn;
pub mod ledbat;
pub mod packet;

#[cfg(test)]
mod sim;
