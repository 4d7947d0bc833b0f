//! Calendar periods: the ISO week, the month and the quarter in an IANA time zone, beside the
//! rolling windows. SLAs are promised per calendar month or quarter and reviews look back on
//! "last month", so these are the periods people report on; a rolling 30 days never lines up.
//!
//! Pure: a [`Calendar`] maps an instant to the period holding it and back. A period begins at
//! local midnight of its first day, so in a zone with daylight saving a day has 23 or 25 hours and
//! a month is not a whole number of 24-hour days. Where local midnight does not exist (a zone
//! that springs forward at midnight) the period begins at the first instant of that day.
//! A bucket belongs to the period its start falls in.

use chrono::{Datelike, Duration, NaiveDate, NaiveDateTime, TimeZone};
use chrono_tz::Tz;
use std::fmt;

/// The kind of calendar period.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Unit {
    /// An ISO week, Monday to Sunday.
    Week,
    /// A calendar month.
    Month,
    /// January–March, April–June, July–September, October–December.
    Quarter,
}

impl Unit {
    /// The word `windows:` and the `period` label use.
    pub fn name(self) -> &'static str {
        match self {
            Unit::Week => "week",
            Unit::Month => "month",
            Unit::Quarter => "quarter",
        }
    }

    /// Reads the word of `windows:`.
    pub fn parse(word: &str) -> Option<Unit> {
        match word {
            "week" => Some(Unit::Week),
            "month" => Some(Unit::Month),
            "quarter" => Some(Unit::Quarter),
            _ => None,
        }
    }

    /// The rolling window of about the same length: what alerting uses when an SLO names only
    /// calendar periods (the burn-rate rules are tuned to a rolling period).
    pub fn nominal_secs(self) -> i64 {
        86400
            * match self {
                Unit::Week => 7,
                Unit::Month => 30,
                Unit::Quarter => 90,
            }
    }

    /// The longest a period of this unit can be (a 92-day quarter with a day lengthened by a
    /// daylight-saving change, up to 2 hours in Antarctica/Troll): how much history the store
    /// must keep for it.
    pub fn max_secs(self) -> i64 {
        7200 + 86400
            * match self {
                Unit::Week => 7,
                Unit::Month => 31,
                Unit::Quarter => 92,
            }
    }
}

/// A calendar period kind in a time zone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Calendar {
    /// Week, month or quarter.
    pub unit: Unit,
    /// Where its days begin.
    pub tz: Tz,
}

/// One period of a calendar: `[from, to)` in unix seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Period {
    /// The calendar it is a period of.
    pub calendar: Calendar,
    /// First instant (local midnight of its first day).
    pub from: i64,
    /// First instant of the next period.
    pub to: i64,
}

impl fmt::Display for Unit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Reads an IANA zone name (`Europe/Berlin`, `UTC`); the error says where names come from.
pub fn parse_zone(name: &str) -> Result<Tz, String> {
    name.parse::<Tz>().map_err(|_| {
        format!("`{name}` is not an IANA time zone name (like `UTC`, `Europe/Berlin`, `America/New_York`)")
    })
}

/// The first instant of a local date in `tz`: midnight, or the first existing instant of that
/// day where midnight is skipped.
fn day_start(tz: Tz, d: NaiveDate) -> i64 {
    let midnight: NaiveDateTime = d.and_hms_opt(0, 0, 0).unwrap_or_default();
    // A gap is at most a few hours; the first existing quarter hour is the day's start.
    (0..=24 * 4)
        .find_map(|q| {
            tz.from_local_datetime(&(midnight + Duration::minutes(15 * q)))
                .earliest()
        })
        .map(|t| t.timestamp())
        .unwrap_or_else(|| midnight.and_utc().timestamp())
}

/// The local date of an instant in `tz`.
fn local_date(tz: Tz, at: i64) -> NaiveDate {
    tz.timestamp_opt(at, 0)
        .single()
        .map(|t| t.date_naive())
        .unwrap_or_default()
}

/// The first day of the period of `unit` holding the date `d`.
fn first_day(unit: Unit, d: NaiveDate) -> NaiveDate {
    match unit {
        Unit::Week => d - Duration::days(i64::from(d.weekday().num_days_from_monday())),
        Unit::Month => d.with_day(1).unwrap_or(d),
        Unit::Quarter => {
            NaiveDate::from_ymd_opt(d.year(), (d.month0() / 3) * 3 + 1, 1).unwrap_or(d)
        }
    }
}

/// The first day of the period after the one beginning on `first`.
fn next_first_day(unit: Unit, first: NaiveDate) -> NaiveDate {
    match unit {
        Unit::Week => first + Duration::days(7),
        Unit::Month | Unit::Quarter => {
            let months = if unit == Unit::Month { 1 } else { 3 };
            let m0 = first.month0() + months;
            NaiveDate::from_ymd_opt(first.year() + (m0 / 12) as i32, m0 % 12 + 1, 1)
                .unwrap_or(first)
        }
    }
}

impl Calendar {
    /// The period holding the instant `at`.
    pub fn period_at(self, at: i64) -> Period {
        let first = first_day(self.unit, local_date(self.tz, at));
        self.period_from(first)
    }

    /// The period beginning on the local date `first` (a period's first day).
    fn period_from(self, first: NaiveDate) -> Period {
        Period {
            calendar: self,
            from: day_start(self.tz, first),
            to: day_start(self.tz, next_first_day(self.unit, first)),
        }
    }

    /// Its name in `windows:`, the API and the `period` label.
    pub fn name(self) -> &'static str {
        self.unit.name()
    }
}

impl Period {
    /// The period after this one.
    pub fn next(self) -> Period {
        self.calendar.period_at(self.to)
    }

    /// The period before this one.
    pub fn previous(self) -> Period {
        self.calendar.period_at(self.from - 1)
    }

    /// Its length in seconds.
    pub fn secs(self) -> i64 {
        self.to - self.from
    }

    /// How people write it: `2026-11`, `2026-Q4`, `2026-W48` (the ISO week's year).
    pub fn label(self) -> String {
        let d = local_date(self.calendar.tz, self.from);
        match self.calendar.unit {
            Unit::Month => format!("{:04}-{:02}", d.year(), d.month()),
            Unit::Quarter => format!("{:04}-Q{}", d.year(), d.month0() / 3 + 1),
            Unit::Week => {
                let w = d.iso_week();
                format!("{:04}-W{:02}", w.year(), w.week())
            }
        }
    }
}

/// Reads a period as people write it, `2026-11`, `2026-Q4` or `2026-W48`, in `tz`; the error
/// shows the three forms.
pub fn parse_period(text: &str, tz: Tz) -> Result<Period, String> {
    let bad = || {
        format!(
            "`{text}` is not a calendar period: write a month `2026-11`, a quarter `2026-Q4` or an ISO week `2026-W48`"
        )
    };
    let (year, rest) = text.split_once('-').ok_or_else(bad)?;
    let year: i32 = year
        .parse()
        .ok()
        .filter(|y| (1970..=9999).contains(y) && year.bytes().all(|b| b.is_ascii_digit()))
        .filter(|_| year.len() == 4)
        .ok_or_else(bad)?;
    // Digits only (`u32` parsing would take `+4`), one or two of them, and no leading zero
    // where the form has none (`Q04`).
    let number = |s: &str, max: u32, width: usize| {
        s.parse::<u32>()
            .ok()
            .filter(|n| {
                (1..=max).contains(n)
                    && s.bytes().all(|b| b.is_ascii_digit())
                    && s.len() == width.max(n.to_string().len())
            })
            .ok_or_else(bad)
    };
    let (unit, first) = if let Some(q) = rest.strip_prefix('Q') {
        let q = number(q, 4, 1)?;
        (
            Unit::Quarter,
            NaiveDate::from_ymd_opt(year, (q - 1) * 3 + 1, 1),
        )
    } else if let Some(w) = rest.strip_prefix('W') {
        let w = number(w, 53, 2)?;
        (
            Unit::Week,
            NaiveDate::from_isoywd_opt(year, w, chrono::Weekday::Mon),
        )
    } else {
        if rest.len() != 2 {
            return Err(bad());
        }
        let m = number(rest, 12, 2)?;
        (Unit::Month, NaiveDate::from_ymd_opt(year, m, 1))
    };
    let first = first.ok_or_else(|| format!("{}: {year} has no such week", bad()))?;
    Ok(Calendar { unit, tz }.period_from(first))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(s: &str) -> i64 {
        chrono::DateTime::parse_from_rfc3339(s)
            .map(|t| t.timestamp())
            .unwrap_or(i64::MIN)
    }

    fn cal(unit: Unit, tz: &str) -> Calendar {
        Calendar {
            unit,
            tz: parse_zone(tz).unwrap_or(Tz::UTC),
        }
    }

    #[test]
    fn months_quarters_and_weeks_in_utc() {
        let m = cal(Unit::Month, "UTC").period_at(ts("2026-11-17T13:00:00Z"));
        assert_eq!(
            (m.from, m.to),
            (ts("2026-11-01T00:00:00Z"), ts("2026-12-01T00:00:00Z"))
        );
        assert_eq!(m.label(), "2026-11");
        assert_eq!(m.secs(), 30 * 86400);
        let q = cal(Unit::Quarter, "UTC").period_at(ts("2026-12-31T23:59:59Z"));
        assert_eq!(
            (q.from, q.to),
            (ts("2026-10-01T00:00:00Z"), ts("2027-01-01T00:00:00Z"))
        );
        assert_eq!(q.label(), "2026-Q4");
        assert_eq!(q.next().label(), "2027-Q1");
        // 2026-11-26 is a Thursday of ISO week 48 (Monday 23rd to Sunday 29th).
        let w = cal(Unit::Week, "UTC").period_at(ts("2026-11-26T08:00:00Z"));
        assert_eq!(
            (w.from, w.to),
            (ts("2026-11-23T00:00:00Z"), ts("2026-11-30T00:00:00Z"))
        );
        assert_eq!(w.label(), "2026-W48");
        // ISO week 1 of 2027 begins on Monday 2027-01-04; the 3rd belongs to 2026-W53.
        let w = cal(Unit::Week, "UTC").period_at(ts("2027-01-03T12:00:00Z"));
        assert_eq!(w.label(), "2026-W53");
        assert_eq!(w.previous().label(), "2026-W52");
    }

    #[test]
    fn daylight_saving_days_have_23_or_25_hours() {
        // Europe/Berlin: summer time from 2026-03-29 02:00, back on 2026-10-25 03:00.
        let march = cal(Unit::Month, "Europe/Berlin").period_at(ts("2026-03-15T12:00:00Z"));
        assert_eq!(march.from, ts("2026-03-01T00:00:00+01:00"));
        assert_eq!(march.to, ts("2026-04-01T00:00:00+02:00"));
        assert_eq!(march.secs(), 31 * 86400 - 3600);
        let october = march.calendar.period_at(ts("2026-10-10T00:00:00Z"));
        assert_eq!(october.secs(), 31 * 86400 + 3600);
        // An instant just before local midnight of the 1st in UTC is already in the next month.
        let nov = march.calendar.period_at(ts("2026-10-31T23:30:00Z"));
        assert_eq!(nov.label(), "2026-11");
        assert_eq!(nov.from, ts("2026-11-01T00:00:00+01:00"));
    }

    #[test]
    fn a_skipped_midnight_starts_the_day_at_its_first_instant() {
        // America/Havana springs forward at midnight: 2026-03-08 begins at 01:00 local.
        let w = cal(Unit::Week, "America/Havana").period_at(ts("2026-03-10T12:00:00Z"));
        assert_eq!(w.from, ts("2026-03-09T00:00:00-04:00"));
        let zone = parse_zone("America/Havana").unwrap_or(Tz::UTC);
        let day = NaiveDate::from_ymd_opt(2026, 3, 8).unwrap_or_default();
        assert_eq!(day_start(zone, day), ts("2026-03-08T01:00:00-04:00"));
    }

    #[test]
    fn periods_are_read_as_written() {
        let p = parse_period("2026-11", Tz::UTC).expect("month");
        assert_eq!(
            (p.calendar.unit, p.label()),
            (Unit::Month, "2026-11".into())
        );
        let p = parse_period("2026-Q4", Tz::UTC).expect("quarter");
        assert_eq!(p.from, ts("2026-10-01T00:00:00Z"));
        let p = parse_period("2026-W48", Tz::UTC).expect("week");
        assert_eq!(p.from, ts("2026-11-23T00:00:00Z"));
        let tokyo = parse_zone("Asia/Tokyo").expect("zone");
        let p = parse_period("2026-11", tokyo).expect("month");
        assert_eq!(p.from, ts("2026-11-01T00:00:00+09:00"));
        for bad in [
            "2026", "2026-13", "2026-Q5", "2026-W54", "26-11", "2026-1", "2026-W", "nov",
            "2026-+1", "2026-Q+4", "2026-Q04", "2026-W4", "+026-11",
        ] {
            let e = parse_period(bad, Tz::UTC).err().unwrap_or_default();
            assert!(e.contains("2026-W48"), "{bad}: {e}");
        }
        // 2026 has 53 ISO weeks; 2025 has 52.
        assert!(parse_period("2026-W53", Tz::UTC).is_ok());
        assert!(parse_period("2025-W53", Tz::UTC).is_err());
        assert!(parse_zone("Mars/Olympus").is_err());
    }
}
