//! The HTTP `Date` header value for the fast path's responses: the current
//! second as an IMF-fixdate (formatted by [`p2p_proto::time::imf_fixdate`]),
//! formatted at most once per second per thread. Reads the wall clock only
//! in [`now`]; does no date arithmetic of its own.

use std::cell::Cell;
use std::time::{SystemTime, UNIX_EPOCH};

use p2p_proto::time::{IMF_FIXDATE_LEN, imf_fixdate};

thread_local! {
    static CACHED: Cell<(u64, [u8; IMF_FIXDATE_LEN])> = const { Cell::new((u64::MAX, [0; IMF_FIXDATE_LEN])) };
}

/// The current date, formatted (cached for the current second).
pub fn now() -> [u8; IMF_FIXDATE_LEN] {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    CACHED.with(|cached| {
        let (at, date) = cached.get();
        if at == secs {
            return date;
        }
        let date = imf_fixdate(secs);
        cached.set((secs, date));
        date
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn now_is_a_well_formed_date() {
        let date = now();
        assert_eq!(&date[25..], b" GMT");
        let weekdays: [&[u8]; 7] = [b"Sun", b"Mon", b"Tue", b"Wed", b"Thu", b"Fri", b"Sat"];
        assert!(weekdays.contains(&&date[..3]));
    }
}
