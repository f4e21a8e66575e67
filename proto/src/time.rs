//! Calendar arithmetic on Unix seconds (UTC, proleptic Gregorian calendar)
//! and the three text forms the workspace prints: RFC 3339 for logs and
//! events, `YYYY-MM-DD HH:MM:SS` for tables, and the HTTP `Date` header's
//! IMF-fixdate (RFC 9110 section 5.6.7).
//!
//! Pure arithmetic: the instant is always an argument. Never reads the clock
//! and never caches (a caller that formats once per second keeps its own).

/// Seconds in a day (UTC has no leap seconds in Unix time).
pub const SECS_PER_DAY: i64 = 86_400;

/// Length of an IMF-fixdate, e.g. `Sun, 06 Nov 1994 08:49:37 GMT`.
pub const IMF_FIXDATE_LEN: usize = 29;

/// One instant as a UTC calendar date and time of day.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CivilTime {
    /// The year; 0 is 1 BC and negative years count further back.
    pub year: i64,
    /// 1 to 12.
    pub month: u8,
    /// 1 to 31.
    pub day: u8,
    /// 0 to 23.
    pub hour: u8,
    /// 0 to 59.
    pub minute: u8,
    /// 0 to 59.
    pub second: u8,
    /// Day of the week, 0 for Sunday to 6 for Saturday.
    pub weekday: u8,
}

/// The calendar date and time of `unix_secs` (seconds since 1970-01-01
/// 00:00:00 UTC; negative values are before it). Defined for every `i64`.
pub fn civil_from_unix(unix_secs: i64) -> CivilTime {
    civil(
        unix_secs.div_euclid(SECS_PER_DAY),
        unix_secs.rem_euclid(SECS_PER_DAY),
    )
}

/// `days` since 1970-01-01 and `secs_of_day` (0 to 86 399) to a civil time:
/// Howard Hinnant's `civil_from_days`, counting years from March so that
/// the leap day comes last.
fn civil(days: i64, secs_of_day: i64) -> CivilTime {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z.rem_euclid(146_097);
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_from_march = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * month_from_march + 2) / 5 + 1;
    let month = if month_from_march < 10 {
        month_from_march + 3
    } else {
        month_from_march - 9
    };
    // Every value below is in range by construction, so the casts are exact.
    CivilTime {
        year: year_of_era + era * 400 + i64::from(month <= 2),
        month: month as u8,
        day: day as u8,
        hour: (secs_of_day / 3600) as u8,
        minute: (secs_of_day / 60 % 60) as u8,
        second: (secs_of_day % 60) as u8,
        // 1970-01-01 was a Thursday.
        weekday: (days + 4).rem_euclid(7) as u8,
    }
}

/// RFC 3339 in UTC: `2000-02-29T00:00:00Z`.
pub fn rfc3339(unix_secs: i64) -> String {
    let t = civil_from_unix(unix_secs);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
        t.year, t.month, t.day, t.hour, t.minute, t.second
    )
}

/// The form for tables and human output, in UTC: `2000-02-29 00:00:00`.
pub fn utc_date_time(unix_secs: i64) -> String {
    let t = civil_from_unix(unix_secs);
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02}:{:02}",
        t.year, t.month, t.day, t.hour, t.minute, t.second
    )
}

const WEEKDAYS: [&[u8; 3]; 7] = [b"Sun", b"Mon", b"Tue", b"Wed", b"Thu", b"Fri", b"Sat"];
const MONTHS: [&[u8; 3]; 12] = [
    b"Jan", b"Feb", b"Mar", b"Apr", b"May", b"Jun", b"Jul", b"Aug", b"Sep", b"Oct", b"Nov", b"Dec",
];

/// The HTTP `Date` header value (IMF-fixdate) of `unix_secs`, as hyper sends
/// it: `Sun, 06 Nov 1994 08:49:37 GMT`. Years past 9999 keep their last
/// four digits. No allocation: the bytes are returned by value.
pub fn imf_fixdate(unix_secs: u64) -> [u8; IMF_FIXDATE_LEN] {
    // u64::MAX / 86 400 is far below i64::MAX: both conversions are exact.
    let days = (unix_secs / SECS_PER_DAY as u64) as i64;
    let secs_of_day = (unix_secs % SECS_PER_DAY as u64) as i64;
    let t = civil(days, secs_of_day);
    let year = t.year.unsigned_abs();
    let mut out = *b"Thu, 01 Jan 1970 00:00:00 GMT";
    out[..3].copy_from_slice(WEEKDAYS[usize::from(t.weekday)]);
    two_digits(&mut out[5..7], u64::from(t.day));
    out[8..11].copy_from_slice(MONTHS[usize::from(t.month - 1)]);
    two_digits(&mut out[12..14], year / 100);
    two_digits(&mut out[14..16], year);
    two_digits(&mut out[17..19], u64::from(t.hour));
    two_digits(&mut out[20..22], u64::from(t.minute));
    two_digits(&mut out[23..25], u64::from(t.second));
    out
}

/// The last two decimal digits of `n`.
fn two_digits(out: &mut [u8], n: u64) {
    out[0] = b'0' + (n / 10 % 10) as u8;
    out[1] = b'0' + (n % 10) as u8;
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn http(secs: u64) -> String {
        String::from_utf8(imf_fixdate(secs).to_vec()).unwrap()
    }

    /// Days since 1970-01-01 of a civil date: Hinnant's inverse, to check
    /// the forward direction against.
    fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
        let y = if m <= 2 { y - 1 } else { y };
        let era = y.div_euclid(400);
        let yoe = y.rem_euclid(400);
        let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d - 1;
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
        era * 146_097 + doe - 719_468
    }

    fn days_in_month(year: i64, month: u8) -> u8 {
        let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
        match month {
            2 if leap => 29,
            2 => 28,
            4 | 6 | 9 | 11 => 30,
            _ => 31,
        }
    }

    #[test]
    fn known_instants_format_as_rfc3339() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(rfc3339(1_795_963_393), "2026-11-29T14:43:13Z");
    }

    #[test]
    fn negative_seconds_are_before_1970() {
        assert_eq!(rfc3339(-1), "1969-12-31T23:59:59Z");
        assert_eq!(rfc3339(-86_400 * 365), "1969-01-01T00:00:00Z");
        assert_eq!(rfc3339(-62_135_596_800), "0001-01-01T00:00:00Z");
        assert_eq!(civil_from_unix(-1).weekday, 3, "1969-12-31 was a Wednesday");
    }

    #[test]
    fn far_future_instants_keep_their_calendar() {
        assert_eq!(rfc3339(4_102_444_800), "2100-01-01T00:00:00Z");
        assert_eq!(rfc3339(253_402_300_799), "9999-12-31T23:59:59Z");
        assert_eq!(rfc3339(253_402_300_800), "10000-01-01T00:00:00Z");
        // The extremes do not overflow.
        assert_eq!(civil_from_unix(i64::MAX).second, 7);
        assert_eq!(civil_from_unix(i64::MIN).second, 52);
    }

    #[test]
    fn times_are_utc_dates() {
        assert_eq!(utc_date_time(0), "1970-01-01 00:00:00");
        assert_eq!(utc_date_time(1_795_445_593), "2026-11-23 14:53:13");
        assert_eq!(utc_date_time(951_782_400), "2000-02-29 00:00:00");
    }

    #[test]
    fn dates_format_like_rfc_9110_and_hyper() {
        assert_eq!(http(0), "Thu, 01 Jan 1970 00:00:00 GMT");
        assert_eq!(http(784_111_777), "Sun, 06 Nov 1994 08:49:37 GMT");
        assert_eq!(http(951_782_400), "Tue, 29 Feb 2000 00:00:00 GMT");
        assert_eq!(http(1_709_251_199), "Thu, 29 Feb 2024 23:59:59 GMT");
        assert_eq!(http(4_102_444_800), "Fri, 01 Jan 2100 00:00:00 GMT");
        assert_eq!(http(4_107_542_400), "Mon, 01 Mar 2100 00:00:00 GMT");
        assert_eq!(http(u64::MAX).len(), IMF_FIXDATE_LEN);
    }

    proptest! {
        #[test]
        fn civil_time_round_trips_through_its_inverse(secs in any::<i64>()) {
            let t = civil_from_unix(secs);
            let days = days_from_civil(t.year, i64::from(t.month), i64::from(t.day));
            // In i128: near i64::MIN the day's start is below the range.
            let back = i128::from(days) * i128::from(SECS_PER_DAY)
                + i128::from(t.hour) * 3600
                + i128::from(t.minute) * 60
                + i128::from(t.second);
            prop_assert_eq!(back, i128::from(secs));
        }

        #[test]
        fn each_day_is_followed_by_its_calendar_successor(days in -1_000_000_000i64..1_000_000_000) {
            let t = civil_from_unix(days * SECS_PER_DAY);
            let next = civil_from_unix((days + 1) * SECS_PER_DAY);
            prop_assert!((1..=days_in_month(t.year, t.month)).contains(&t.day));
            let expected = if t.day < days_in_month(t.year, t.month) {
                (t.year, t.month, t.day + 1)
            } else if t.month < 12 {
                (t.year, t.month + 1, 1)
            } else {
                (t.year + 1, 1, 1)
            };
            prop_assert_eq!((next.year, next.month, next.day), expected);
            prop_assert_eq!(next.weekday, (t.weekday + 1) % 7);
            prop_assert_eq!((t.hour, t.minute, t.second), (0, 0, 0));
        }

        #[test]
        fn the_three_forms_name_the_same_instant(secs in 0u64..253_402_300_800) {
            let signed = secs as i64;
            let text = rfc3339(signed);
            prop_assert_eq!(utc_date_time(signed), text.replace('T', " ").replace('Z', ""));
            let t = civil_from_unix(signed);
            let expected = format!(
                "{}, {:02} {} {:04} {:02}:{:02}:{:02} GMT",
                ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"][usize::from(t.weekday)],
                t.day,
                ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
                    [usize::from(t.month - 1)],
                t.year,
                t.hour,
                t.minute,
                t.second
            );
            prop_assert_eq!(http(secs), expected);
        }
    }
}
