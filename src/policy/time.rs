//! RFC 3339 date-times for the policy's `expires`: parsed to seconds since
//! the Unix epoch. Pure; never reads the clock (callers pass `now`).
//!
//! Only full date-times with an offset are accepted (`Z` or `±hh:mm`): an
//! expiry without a time zone would mean different instants on different
//! hosts.

/// Parses "YYYY-MM-DDTHH:MM:SS[.frac](Z|±hh:mm)" (a space or `t` may
/// separate date and time, as RFC 3339 allows) to Unix seconds. Fractions
/// are truncated.
pub fn parse_rfc3339(s: &str) -> Result<i64, String> {
    let bad = || {
        format!("{s:?} is not an RFC 3339 date-time with offset (e.g. \"2027-01-31T00:00:00Z\")")
    };
    let b = s.as_bytes();
    if b.len() < 20 || b.len() > 40 || !s.is_ascii() {
        return Err(bad());
    }
    let num = |from: usize, len: usize| -> Result<i64, String> {
        let t = s.get(from..from + len).ok_or_else(bad)?;
        if !t.bytes().all(|c| c.is_ascii_digit()) {
            return Err(bad());
        }
        t.parse::<i64>().map_err(|_| bad())
    };
    let sep = |i: usize, c: &[u8]| b.get(i).is_some_and(|x| c.contains(x));
    if !(sep(4, b"-") && sep(7, b"-") && sep(10, b"Tt ") && sep(13, b":") && sep(16, b":")) {
        return Err(bad());
    }
    let (y, mo, d) = (num(0, 4)?, num(5, 2)?, num(8, 2)?);
    let (h, mi, sec) = (num(11, 2)?, num(14, 2)?, num(17, 2)?);
    if !(1..=12).contains(&mo) || d < 1 || d > days_in_month(y, mo) || h > 23 || mi > 59 || sec > 60
    {
        return Err(bad());
    }
    let mut i = 19;
    if sep(i, b".") {
        i += 1;
        let start = i;
        while b.get(i).is_some_and(u8::is_ascii_digit) {
            i += 1;
        }
        if i == start {
            return Err(bad());
        }
    }
    let offset = match b.get(i) {
        Some(b'Z' | b'z') if i + 1 == b.len() => 0,
        Some(c @ (b'+' | b'-')) if i + 6 == b.len() && sep(i + 3, b":") => {
            let (oh, om) = (num(i + 1, 2)?, num(i + 4, 2)?);
            if oh > 23 || om > 59 {
                return Err(bad());
            }
            let o = oh * 3600 + om * 60;
            if *c == b'-' {
                -o
            } else {
                o
            }
        }
        _ => return Err(bad()),
    };
    // A leap second is read as the following second.
    Ok(days_from_civil(y, mo, d) * 86_400 + h * 3600 + mi * 60 + sec - offset)
}

fn is_leap(y: i64) -> bool {
    (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
}

fn days_in_month(y: i64, m: i64) -> i64 {
    match m {
        2 if is_leap(y) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a civil date (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::parse_rfc3339 as p;

    #[test]
    fn known_instants() {
        assert_eq!(p("1970-01-01T00:00:00Z"), Ok(0));
        assert_eq!(p("2000-02-29T00:00:00Z"), Ok(951_782_400));
        assert_eq!(p("2026-12-03T12:13:20.123456Z"), Ok(1_796_300_000));
        assert_eq!(p("2026-12-03T14:13:20+02:00"), Ok(1_796_300_000));
        assert_eq!(p("2026-12-03 10:13:20-02:00"), Ok(1_796_300_000));
    }

    #[test]
    fn refusals() {
        for s in [
            "2026-12-03",
            "2026-12-03T12:13:20",
            "2026-02-30T00:00:00Z",
            "2026-13-01T00:00:00Z",
            "2026-12-03T24:00:00Z",
            "2026-12-03T12:13:20+2:00",
            "2026-12-03T12:13:20.Z",
            "2026-12-03T12:13:20Zjunk",
            "+026-12-03T12:13:20Z",
            "２０２６-12-03T12:13:20Z",
        ] {
            assert!(p(s).is_err(), "{s} accepted");
        }
    }
}
