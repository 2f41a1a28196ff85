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

/// `30 days`, `1 day`, `12 hours`: a duration asked for or granted, in words.
pub fn days(secs: u64) -> String {
    if secs >= 86_400 {
        let days = secs.div_ceil(86_400);
        format!("{days} day{}", if days == 1 { "" } else { "s" })
    } else {
        let hours = secs.div_ceil(3_600).max(1);
        format!("{hours} hour{}", if hours == 1 { "" } else { "s" })
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
    fn durations_read_as_days_or_hours() {
        assert_eq!(days(30 * 86_400), "30 days");
        assert_eq!(days(86_400), "1 day");
        assert_eq!(days(7_200), "2 hours");
        assert_eq!(days(1), "1 hour");
    }

    #[test]
    fn time_left_counts_down_to_ended() {
        let now = Timestamp::from_secs(1_000);
        assert_eq!(left(Timestamp::from_secs(1_000 + 90), now), "1m 30s left");
        assert_eq!(left(now, now), "ended");
    }
}
