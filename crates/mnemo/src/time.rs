//! Human-readable times for CLI output and injected context (UTC).

/// `2026-11-23 14:03` (UTC) from Unix milliseconds.
pub fn utc_minute(ms: i64) -> String {
    let secs = ms.div_euclid(1000);
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02}",
        rem / 3600,
        rem % 3600 / 60
    )
}

/// `2026-11-23T14:03:07.123Z` from Unix milliseconds.
pub fn iso(ms: i64) -> String {
    let (day, _) = day_and_minute(ms);
    let secs = ms.div_euclid(1000).rem_euclid(86_400);
    format!(
        "{day}T{:02}:{:02}:{:02}.{:03}Z",
        secs / 3600,
        secs % 3600 / 60,
        secs % 60,
        ms.rem_euclid(1000)
    )
}

/// Unix milliseconds from `YYYY-MM-DD`, `YYYY-MM-DDTHH:MM[:SS[.fff]][Z]`
/// (UTC; a space works in place of `T`), or `None`.
pub fn parse_iso(text: &str) -> Option<i64> {
    let text = text.trim().trim_end_matches('Z');
    let (date, time) = text.split_once(['T', ' ']).unwrap_or((text, "00:00"));
    let mut d = date.splitn(3, '-').map(|p| p.parse::<i64>().ok());
    let (y, m, day) = (d.next()??, d.next()??, d.next()??);
    if !(1..=12).contains(&m) || !(1..=31).contains(&day) {
        return None;
    }
    let mut t = time.splitn(3, ':');
    let hour: i64 = t.next()?.parse().ok()?;
    let minute: i64 = t.next()?.parse().ok()?;
    let seconds: f64 = t.next().map_or(Some(0.0), |s| s.parse().ok())?;
    // Days since 1970-01-01 from a civil date (Howard Hinnant's algorithm).
    let yy = if m <= 2 { y - 1 } else { y };
    let era = yy.div_euclid(400);
    let yoe = yy - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Some(
        ((days * 86_400 + hour * 3600 + minute * 60) as f64 * 1000.0 + seconds * 1000.0).round()
            as i64,
    )
}

/// (`2026-11-23`, `14:03`) for grouping by day.
pub fn day_and_minute(ms: i64) -> (String, String) {
    let full = utc_minute(ms);
    let (day, minute) = full.split_once(' ').unwrap_or((&full, ""));
    (day.to_string(), minute.to_string())
}

#[cfg(test)]
mod tests {
    #[test]
    fn formats_dates() {
        assert_eq!(super::utc_minute(0), "1970-01-01 00:00");
        assert_eq!(super::utc_minute(1_795_468_980_000), "2026-11-23 21:23");
        assert_eq!(super::utc_minute(951_782_400_000), "2000-02-29 00:00");
        assert_eq!(
            super::day_and_minute(1_795_468_980_000),
            ("2026-11-23".to_string(), "21:23".to_string())
        );
    }

    #[test]
    fn iso_round_trips() {
        for ms in [0, 951_782_400_000, 1_795_468_980_123, -86_400_000] {
            assert_eq!(
                super::parse_iso(&super::iso(ms)),
                Some(ms),
                "{}",
                super::iso(ms)
            );
        }
        assert_eq!(super::parse_iso("2023-05-08"), Some(1_683_504_000_000));
        assert_eq!(
            super::parse_iso("2023-05-08 13:56"),
            Some(1_683_554_160_000)
        );
        assert_eq!(super::parse_iso("8 May 2023"), None);
        assert_eq!(super::parse_iso("2023-13-01"), None);
    }
}
