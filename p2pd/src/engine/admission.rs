//! Bounds on what one IP address can hold of the listener: incoming
//! connections that have not said which torrent they want (half-open) come
//! from a budget of their own, apart from the peer slots outgoing dials
//! use, and each address gets a few of them and a few whole connections.
//! Counts are released when the guards are dropped.
//!
//! Loopback is not exempt: on one machine every local client shares
//! 127.0.0.1, and the caps are set high enough for a handful of them.
//! Does not read from sockets (the listener does).

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// Incoming connections still reading their first handshake bytes, in all.
pub(crate) const MAX_HALF_OPEN: usize = 64;
/// Of those, from one address.
pub(crate) const MAX_HALF_OPEN_PER_IP: usize = 8;
/// Incoming connections past the first handshake bytes from one address,
/// across every torrent.
pub(crate) const MAX_INCOMING_PER_IP: usize = 32;
/// Incoming peers from one address in one torrent (different peer ids
/// from one address are still one address).
pub(crate) const MAX_INCOMING_PER_IP_PER_TORRENT: usize = 8;

#[derive(Debug, Default)]
struct Counts {
    half_open: usize,
    incoming: usize,
}

type Table = Arc<Mutex<HashMap<IpAddr, Counts>>>;

/// The engine's per-address counts.
#[derive(Debug)]
pub(crate) struct Admission {
    table: Table,
    half_open: Arc<Semaphore>,
}

/// A half-open connection's place; dropped when it has said its torrent or left.
#[derive(Debug)]
pub(crate) struct HalfOpen {
    ip: IpAddr,
    table: Table,
    _permit: OwnedSemaphorePermit,
}

/// An incoming connection's place, held for its whole life.
#[derive(Debug)]
pub(crate) struct Incoming {
    ip: IpAddr,
    table: Table,
}

fn lock(table: &Table) -> MutexGuard<'_, HashMap<IpAddr, Counts>> {
    table.lock().unwrap_or_else(PoisonError::into_inner)
}

fn release(table: &Table, ip: IpAddr, f: impl FnOnce(&mut Counts)) {
    let mut t = lock(table);
    if let Some(c) = t.get_mut(&ip) {
        f(c);
        if c.half_open == 0 && c.incoming == 0 {
            t.remove(&ip);
        }
    }
}

impl Default for Admission {
    fn default() -> Self {
        Admission {
            table: Table::default(),
            half_open: Arc::new(Semaphore::new(MAX_HALF_OPEN)),
        }
    }
}

impl Admission {
    /// A place for a new connection from `ip`, or `None` when its address
    /// or the listener has too many half-open already.
    pub fn half_open(&self, ip: IpAddr) -> Option<HalfOpen> {
        let permit = self.half_open.clone().try_acquire_owned().ok()?;
        let mut t = lock(&self.table);
        let c = t.entry(ip).or_default();
        if c.half_open >= MAX_HALF_OPEN_PER_IP {
            return None;
        }
        c.half_open += 1;
        Some(HalfOpen {
            ip,
            table: self.table.clone(),
            _permit: permit,
        })
    }

    /// A place for a connection from `ip` that named a torrent, or `None`
    /// when the address holds [`MAX_INCOMING_PER_IP`] already.
    pub fn incoming(&self, ip: IpAddr) -> Option<Incoming> {
        let mut t = lock(&self.table);
        let c = t.entry(ip).or_default();
        if c.incoming >= MAX_INCOMING_PER_IP {
            return None;
        }
        c.incoming += 1;
        Some(Incoming {
            ip,
            table: self.table.clone(),
        })
    }
}

impl Drop for HalfOpen {
    fn drop(&mut self) {
        release(&self.table, self.ip, |c| {
            c.half_open = c.half_open.saturating_sub(1);
        });
    }
}

impl Drop for Incoming {
    fn drop(&mut self) {
        release(&self.table, self.ip, |c| {
            c.incoming = c.incoming.saturating_sub(1);
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_address_gets_a_few_half_open_places_and_others_still_get_theirs() {
        let a = Admission::default();
        let one: IpAddr = [10, 0, 0, 1].into();
        let held: Vec<_> = (0..MAX_HALF_OPEN_PER_IP)
            .map(|_| a.half_open(one).unwrap())
            .collect();
        assert!(a.half_open(one).is_none());
        assert!(a.half_open([10, 0, 0, 2].into()).is_some());
        drop(held);
        assert!(a.half_open(one).is_some());
    }

    #[test]
    fn the_half_open_budget_is_bounded_across_addresses() {
        let a = Admission::default();
        let held: Vec<_> = (0..MAX_HALF_OPEN)
            .map(|i| a.half_open([10, 1, (i / 4) as u8, 0].into()).unwrap())
            .collect();
        assert!(a.half_open([10, 2, 0, 0].into()).is_none());
        assert_eq!(held.len(), MAX_HALF_OPEN);
    }

    #[test]
    fn whole_connections_per_address_are_capped_and_released() {
        let a = Admission::default();
        let one: IpAddr = [10, 0, 0, 1].into();
        let held: Vec<_> = (0..MAX_INCOMING_PER_IP)
            .map(|_| a.incoming(one).unwrap())
            .collect();
        assert!(a.incoming(one).is_none());
        drop(held);
        let again = a.incoming(one);
        assert!(again.is_some());
        assert!(lock(&a.table).get(&one).is_some_and(|c| c.incoming == 1));
        drop(again);
        assert!(lock(&a.table).is_empty());
    }
}
