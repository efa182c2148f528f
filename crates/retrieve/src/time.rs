//! Times as people and models read and write them, shared by the CLI, the
//! MCP server and the viewer so every surface agrees.
//!
//! The rule: a time printed for a person is local time with its offset from
//! UTC ([`local_minute`], `2026-11-23 15:03 +01:00`; the viewer shows the
//! same); machine-readable output (JSON, exports) is UTC in ISO 8601 with
//! `Z` ([`iso`]). The local zone is `TZ`'s, else the system's.

use chrono::{DateTime, Local, NaiveDate, NaiveDateTime, NaiveTime, TimeZone, Utc};

/// `2026-11-23 15:03 +01:00`: the minute in local time with its offset from
/// UTC, from Unix milliseconds. Every time the CLI prints goes through here,
/// and [`parse_time`] reads it back.
pub fn local_minute(ms: i64) -> String {
    DateTime::from_timestamp_millis(ms).map_or_else(
        || ms.to_string(),
        |t| {
            t.with_timezone(&Local)
                .format("%Y-%m-%d %H:%M %:z")
                .to_string()
        },
    )
}

/// `2026-11-23 14:03` (UTC) from Unix milliseconds.
pub fn utc_minute(ms: i64) -> String {
    format_ms(ms, "%Y-%m-%d %H:%M")
}

/// `2026-11-23T14:03:07.123Z` from Unix milliseconds.
pub fn iso(ms: i64) -> String {
    format_ms(ms, "%Y-%m-%dT%H:%M:%S%.3fZ")
}

/// (`2026-11-23`, `14:03`), for grouping by day.
pub fn day_and_minute(ms: i64) -> (String, String) {
    (format_ms(ms, "%Y-%m-%d"), format_ms(ms, "%H:%M"))
}

/// Now, in Unix milliseconds.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

fn format_ms(ms: i64, format: &str) -> String {
    DateTime::from_timestamp_millis(ms)
        .map_or_else(|| ms.to_string(), |t| t.format(format).to_string())
}

/// Unix milliseconds from what a person or a model writes for a time: Unix
/// milliseconds (digits), an RFC 3339 date-time, what [`local_minute`]
/// prints (`YYYY-MM-DD HH:MM ±HH:MM`), `YYYY-MM-DD[ T]HH:MM[:SS[.f]]` (UTC, a
/// trailing `Z` allowed) or `YYYY-MM-DD`. A bare date means the start of that
/// day, or its last millisecond when `end_of_day`.
pub fn parse_time(text: &str, end_of_day: bool) -> Option<i64> {
    parse_in(text, end_of_day, &Utc)
}

/// [`parse_time`] for what a person types at the command line: a date or a
/// date-time without an offset (or `Z`) is local time, as the CLI prints
/// times, so `--since 2026-11-23` starts at the local midnight.
pub fn parse_local_time(text: &str, end_of_day: bool) -> Option<i64> {
    parse_in(text, end_of_day, &Local)
}

/// [`parse_time`] with dates and date-times that name no offset read in `zone`.
fn parse_in<Tz: TimeZone>(text: &str, end_of_day: bool, zone: &Tz) -> Option<i64> {
    let text = text.trim();
    if !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) {
        return text.parse().ok();
    }
    if let Ok(t) = DateTime::parse_from_rfc3339(text) {
        return Some(t.timestamp_millis());
    }
    if let Ok(t) = DateTime::parse_from_str(text, "%Y-%m-%d %H:%M %:z") {
        return Some(t.timestamp_millis());
    }
    let (naive, said_utc) = match text.strip_suffix(['Z', 'z']) {
        Some(naive) => (naive, true),
        None => (text, false),
    };
    // A wall-clock time skipped by a daylight-saving change has no instant.
    let at = |t: NaiveDateTime| -> Option<i64> {
        if said_utc {
            Some(t.and_utc().timestamp_millis())
        } else {
            zone.from_local_datetime(&t)
                .earliest()
                .map(|t| t.timestamp_millis())
        }
    };
    for format in [
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%dT%H:%M",
        "%Y-%m-%d %H:%M",
    ] {
        if let Ok(t) = NaiveDateTime::parse_from_str(naive, format) {
            return at(t);
        }
    }
    let day = NaiveDate::parse_from_str(naive, "%Y-%m-%d").ok()?;
    if end_of_day {
        Some(at(day.succ_opt()?.and_time(NaiveTime::MIN))? - 1)
    } else {
        at(day.and_time(NaiveTime::MIN))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_dates() {
        assert_eq!(utc_minute(0), "1970-01-01 00:00");
        assert_eq!(utc_minute(1_795_468_980_000), "2026-11-23 21:23");
        assert_eq!(utc_minute(951_782_400_000), "2000-02-29 00:00");
        assert_eq!(
            day_and_minute(1_795_468_980_000),
            ("2026-11-23".to_string(), "21:23".to_string())
        );
    }

    #[test]
    fn local_minutes_carry_their_offset_and_read_back() {
        // The zone comes from the environment; whatever it is, the printed
        // offset makes the minute unambiguous (times after 1972, when every
        // zone's offset became whole minutes).
        for ms in [951_782_400_000, 1_795_468_980_000] {
            let shown = local_minute(ms);
            assert!(
                shown.len() == 23 && matches!(&shown[17..18], "+" | "-"),
                "{shown}"
            );
            assert_eq!(parse_time(&shown, false), Some(ms), "{shown}");
        }
        assert_eq!(
            parse_time("2026-11-23 22:23 +01:00", false),
            Some(1_795_468_980_000)
        );
    }

    #[test]
    fn times_without_an_offset_are_read_in_the_given_zone() {
        let india = chrono::FixedOffset::east_opt(5 * 3600 + 1800).unwrap();
        let midnight_utc = 1_795_478_400_000; // 2026-11-24 00:00 UTC
        let half_past_five = 5 * 3_600_000 + 1_800_000;
        assert_eq!(
            parse_in("2026-11-24", false, &india),
            Some(midnight_utc - half_past_five)
        );
        assert_eq!(
            parse_in("2026-11-24", true, &india),
            Some(midnight_utc - half_past_five + 86_400_000 - 1)
        );
        assert_eq!(
            parse_in("2026-11-24 05:30", false, &india),
            Some(midnight_utc)
        );
        assert_eq!(
            parse_in("2026-11-24 00:00Z", false, &india),
            Some(midnight_utc),
            "Z says UTC"
        );
        assert_eq!(
            parse_in("2026-11-24T00:00:00+00:00", false, &india),
            Some(midnight_utc)
        );
    }

    #[test]
    fn parses_what_it_prints_and_what_people_write() {
        for ms in [0, 951_782_400_000, 1_795_468_980_123, -86_400_000] {
            assert_eq!(parse_time(&iso(ms), false), Some(ms), "{}", iso(ms));
        }
        assert_eq!(parse_time("2023-05-08", false), Some(1_683_504_000_000));
        assert_eq!(
            parse_time("2023-05-08", true),
            Some(1_683_504_000_000 + 86_399_999)
        );
        assert_eq!(
            parse_time("2023-05-08 13:56", false),
            Some(1_683_554_160_000)
        );
        assert_eq!(
            parse_time("2023-05-08T15:56:00+02:00", false),
            Some(1_683_554_160_000)
        );
        assert_eq!(parse_time("1683554160000", false), Some(1_683_554_160_000));
        assert_eq!(parse_time("8 May 2023", false), None);
        assert_eq!(parse_time("", false), None);
    }
}
