//! Times and durations as people read them, shared by the consent page and the
//! `passport` command.

use std::time::{Duration, UNIX_EPOCH};

use passport_protocol::Timestamp;

/// `2d 4h`, `3h 10m`, `45s`: the two largest units of `secs`.
pub fn span(secs: u64) -> String {
    let units = [(86_400, "d"), (3_600, "h"), (60, "m"), (1, "s")];
    let mut parts = Vec::new();
    let mut rest = secs;
    for (size, unit) in units {
        if rest >= size && parts.len() < 2 {
            parts.push(format!("{}{unit}", rest / size));
            rest %= size;
        } else if !parts.is_empty() {
            break;
        }
    }
    if parts.is_empty() {
        "0s".into()
    } else {
        parts.join(" ")
    }
}

/// `30 days`, `1 day`, `12 hours`, `1 hour 30 minutes`, `45 minutes`: a duration
/// asked for or granted, in words. A day or more reads in days (rounded up); less
/// than a day in hours and minutes (rounded up to the minute), so that an hour is
/// never shown as a day.
pub fn duration(secs: u64) -> String {
    fn plural(n: u64, unit: &str) -> String {
        format!("{n} {unit}{}", if n == 1 { "" } else { "s" })
    }
    if secs >= 86_400 {
        return plural(secs.div_ceil(86_400), "day");
    }
    let minutes = secs.div_ceil(60).max(1);
    let (hours, minutes) = (minutes / 60, minutes % 60);
    match (hours, minutes) {
        (0, m) => plural(m, "minute"),
        (h, 0) => plural(h, "hour"),
        (h, m) => format!("{} {}", plural(h, "hour"), plural(m, "minute")),
    }
}

/// A timestamp in UTC, to the second: `2026-11-23T10:00:00Z`.
pub fn time(at: Timestamp) -> String {
    humantime::format_rfc3339_seconds(UNIX_EPOCH + Duration::from_secs(at.as_secs())).to_string()
}

/// How long from `now` until `at`: `6d 23h left`, or `ended`.
pub fn left(at: Timestamp, now: Timestamp) -> String {
    if at.as_secs() > now.as_secs() {
        format!("{} left", span(at.as_secs() - now.as_secs()))
    } else {
        "ended".into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spans_show_the_two_largest_units() {
        assert_eq!(span(0), "0s");
        assert_eq!(span(45), "45s");
        assert_eq!(span(3 * 3_600 + 10 * 60 + 5), "3h 10m");
        assert_eq!(span(2 * 86_400 + 4 * 3_600), "2d 4h");
        assert_eq!(span(86_400 + 30), "1d");
        assert_eq!(span(30 * 86_400), "30d");
    }

    #[test]
    fn durations_read_as_days_or_as_hours_and_minutes_under_a_day() {
        assert_eq!(duration(30 * 86_400), "30 days");
        assert_eq!(duration(86_400), "1 day");
        assert_eq!(duration(86_400 + 1), "2 days");
        assert_eq!(duration(3_600), "1 hour");
        assert_eq!(duration(7_200), "2 hours");
        assert_eq!(duration(5_400), "1 hour 30 minutes");
        assert_eq!(duration(23 * 3_600 + 60), "23 hours 1 minute");
        assert_eq!(duration(1_800), "30 minutes");
        assert_eq!(duration(1), "1 minute");
        assert_eq!(duration(0), "1 minute");
    }

    #[test]
    fn time_left_counts_down_to_ended() {
        let now = Timestamp::from_secs(1_000);
        assert_eq!(left(Timestamp::from_secs(1_000 + 90), now), "1m 30s left");
        assert_eq!(left(now, now), "ended");
    }
}
