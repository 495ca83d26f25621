//! Business hours (RULES.md "Business hours"): a team calendar of weekly open
//! intervals in an IANA time zone, with holidays. Pure time arithmetic, to
//! the second, with the time as an argument: how much counted (open) time
//! lies between two moments, and the first moment a count is reached.
//! Daylight-saving changes follow the zone (chrono-tz): an interval's local
//! start and end become instants on the day they fall on, a start in a
//! spring-forward gap opens at the first instant after it.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{Datelike, Duration, NaiveDate, NaiveDateTime, NaiveTime, TimeZone, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

use crate::Timestamp;

/// How far ahead a calendar is searched for open time (an empty week or a
/// year of holidays has none).
pub const HORIZON_DAYS: i64 = 3 * 366;

/// The team's open hours.
#[derive(Debug, Clone, PartialEq)]
pub struct Calendar {
    pub time_zone: Tz,
    /// Open intervals per weekday, Monday first, local times, `from < to`.
    pub weekly: [Vec<(NaiveTime, NaiveTime)>; 7],
    pub holidays: BTreeSet<NaiveDate>,
}

/// The instant a local time of `day` is, in `tz`: in a gap (spring forward),
/// the first instant after it; when it happens twice (fall back), the first.
fn instant(tz: Tz, day: NaiveDate, time: NaiveTime) -> Timestamp {
    let mut local = NaiveDateTime::new(day, time);
    for _ in 0..180 {
        if let Some(t) = tz.from_local_datetime(&local).earliest() {
            return t.with_timezone(&Utc);
        }
        local += Duration::minutes(1);
    }
    // No zone skips three hours; keep the result total anyway.
    Utc.from_utc_datetime(&NaiveDateTime::new(day, time))
}

impl Calendar {
    /// Open all day, every day: counted time is wall time.
    pub fn always() -> Calendar {
        let all_day = vec![(NaiveTime::MIN, NaiveTime::MIN)];
        Calendar {
            time_zone: Tz::UTC,
            weekly: std::array::from_fn(|_| all_day.clone()),
            holidays: BTreeSet::new(),
        }
    }

    /// The open intervals (UTC instants) of local `day`. An interval ending
    /// at 00:00 ends at the next midnight.
    fn intervals(&self, day: NaiveDate) -> Vec<(Timestamp, Timestamp)> {
        if self.holidays.contains(&day) {
            return Vec::new();
        }
        let weekday = day.weekday().num_days_from_monday() as usize;
        self.weekly[weekday]
            .iter()
            .map(|(from, to)| {
                let start = instant(self.time_zone, day, *from);
                let end = if *to == NaiveTime::MIN {
                    instant(self.time_zone, day + Duration::days(1), NaiveTime::MIN)
                } else {
                    instant(self.time_zone, day, *to)
                };
                (start, end)
            })
            .filter(|(s, e)| s < e)
            .collect()
    }

    fn local_day(&self, t: Timestamp) -> NaiveDate {
        t.with_timezone(&self.time_zone).date_naive()
    }

    /// Counted milliseconds in `[from, to)` (0 when `to <= from`).
    pub fn counted_ms(&self, from: Timestamp, to: Timestamp) -> i64 {
        if to <= from {
            return 0;
        }
        let mut total = 0;
        // From the day before: an interval may start the local day before.
        let mut day = self.local_day(from) - Duration::days(1);
        let last = self.local_day(to);
        while day <= last {
            for (s, e) in self.intervals(day) {
                let (s, e) = (s.max(from), e.min(to));
                if s < e {
                    total += (e - s).num_milliseconds();
                }
            }
            day += Duration::days(1);
        }
        total
    }

    /// The first moment at which `ms` of counted time have passed since
    /// `from` (`from` itself for 0); `None` if the calendar has no such
    /// time within three years.
    pub fn add_ms(&self, from: Timestamp, ms: i64) -> Option<Timestamp> {
        if ms <= 0 {
            return Some(from);
        }
        let mut left = ms;
        let mut day = self.local_day(from) - Duration::days(1);
        let end = self.local_day(from) + Duration::days(HORIZON_DAYS);
        while day <= end {
            for (s, e) in self.intervals(day) {
                let s = s.max(from);
                if s >= e {
                    continue;
                }
                let here = (e - s).num_milliseconds();
                if here >= left {
                    return Some(s + Duration::milliseconds(left));
                }
                left -= here;
            }
            day += Duration::days(1);
        }
        None
    }

    /// The last moment at or before `to` from which `ms` of counted time run
    /// until `to` (`to` itself for 0); `None` if there is no such time within
    /// three years back.
    pub fn sub_ms(&self, to: Timestamp, ms: i64) -> Option<Timestamp> {
        if ms <= 0 {
            return Some(to);
        }
        let mut left = ms;
        let mut day = self.local_day(to);
        let end = self.local_day(to) - Duration::days(HORIZON_DAYS);
        while day >= end {
            for (s, e) in self.intervals(day).into_iter().rev() {
                let e = e.min(to);
                if s >= e {
                    continue;
                }
                let here = (e - s).num_milliseconds();
                if here >= left {
                    return Some(e - Duration::milliseconds(left));
                }
                left -= here;
            }
            day -= Duration::days(1);
        }
        None
    }

    /// The open interval `[start, end)` holding `t`, if the calendar is open.
    fn interval_at(&self, t: Timestamp) -> Option<(Timestamp, Timestamp)> {
        let day = self.local_day(t);
        [day - Duration::days(1), day]
            .into_iter()
            .flat_map(|d| self.intervals(d))
            .find(|(s, e)| *s <= t && t < *e)
    }

    /// Whether the calendar is open at `t`.
    pub fn is_open(&self, t: Timestamp) -> bool {
        self.interval_at(t).is_some()
    }

    /// While open at `t`: when the calendar next closes (the end of the
    /// open stretch holding `t`, joined across back-to-back intervals, at
    /// most about two weeks ahead: a 24/7 calendar never closes).
    pub fn open_until(&self, t: Timestamp) -> Option<Timestamp> {
        let (_, mut end) = self.interval_at(t)?;
        // Back-to-back intervals (22:00–24:00, then 00:00–06:00) are one stretch.
        for _ in 0..16 {
            match self.interval_at(end) {
                Some((_, next)) if next > end => end = next,
                _ => break,
            }
        }
        Some(end)
    }

    /// The next moment at or after `t` the calendar is open (`None` within
    /// three years: never).
    pub fn next_open(&self, t: Timestamp) -> Option<Timestamp> {
        if self.is_open(t) {
            return Some(t);
        }
        let mut day = self.local_day(t) - Duration::days(1);
        let end = self.local_day(t) + Duration::days(HORIZON_DAYS);
        while day <= end {
            if let Some((s, _)) = self.intervals(day).into_iter().find(|(s, _)| *s >= t) {
                return Some(s);
            }
            day += Duration::days(1);
        }
        None
    }

    /// Whether local `day` has open hours (a weekday with hours, not a holiday).
    pub fn is_business_day(&self, day: NaiveDate) -> bool {
        !self.intervals(day).is_empty()
    }

    /// The moment `days` business days after `from`: the same local time
    /// of day on the `days`-th business day after `from`'s own day (a
    /// Friday plus 4 business days is the next Thursday, holidays skipped).
    /// `None` when the calendar has no such day within three years.
    pub fn add_business_days(&self, from: Timestamp, days: u32) -> Option<Timestamp> {
        let local = from.with_timezone(&self.time_zone);
        let mut day = local.date_naive();
        let mut left = days;
        for _ in 0..HORIZON_DAYS {
            if left == 0 {
                return Some(instant(self.time_zone, day, local.time()));
            }
            day += Duration::days(1);
            if self.is_business_day(day) {
                left -= 1;
            }
        }
        None
    }

    /// Whether any weekday has open hours.
    pub fn has_open_hours(&self) -> bool {
        self.weekly.iter().any(|day| !day.is_empty())
    }

    /// The settings shape of this calendar: every weekday, holidays in order.
    pub fn to_wire(&self) -> CalendarWire {
        let hhmm = |t: NaiveTime| t.format("%H:%M").to_string();
        CalendarWire {
            time_zone: self.time_zone.name().to_owned(),
            weekly: WEEKDAYS
                .iter()
                .zip(&self.weekly)
                .map(|(day, intervals)| {
                    let open = intervals
                        .iter()
                        .map(|(from, to)| OpenHours {
                            from: hhmm(*from),
                            to: if *to == NaiveTime::MIN {
                                "24:00".to_owned()
                            } else {
                                hhmm(*to)
                            },
                        })
                        .collect();
                    ((*day).to_owned(), open)
                })
                .collect(),
            holidays: self
                .holidays
                .iter()
                .map(|d| d.format("%Y-%m-%d").to_string())
                .collect(),
        }
    }
}

impl Serialize for Calendar {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.to_wire().serialize(s)
    }
}

impl<'de> Deserialize<'de> for Calendar {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        CalendarWire::deserialize(d)?
            .read()
            .map_err(|why| serde::de::Error::custom(format!("calendar: {why}")))
    }
}

/// The weekday keys of the wire shape, Monday first.
const WEEKDAYS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

/// One open interval as API.md writes it: `{"from": "09:00", "to": "17:00"}`
/// (`to` "00:00" or "24:00": until midnight).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OpenHours {
    pub from: String,
    pub to: String,
}

/// A calendar as the settings carry it (API.md "Settings").
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CalendarWire {
    pub time_zone: String,
    #[serde(default)]
    pub weekly: BTreeMap<String, Vec<OpenHours>>,
    #[serde(default)]
    pub holidays: Vec<String>,
}

fn clock(text: &str) -> Option<NaiveTime> {
    if text == "24:00" {
        return Some(NaiveTime::MIN);
    }
    NaiveTime::parse_from_str(text, "%H:%M").ok()
}

impl CalendarWire {
    /// The calendar it describes, or what is wrong with it in words.
    pub fn read(&self) -> Result<Calendar, String> {
        let time_zone: Tz = self.time_zone.parse().map_err(|_| {
            format!(
                "{:?} is not an IANA time zone: give one such as \"Europe/Berlin\"",
                self.time_zone
            )
        })?;
        if let Some(key) = self.weekly.keys().find(|k| !WEEKDAYS.contains(&k.as_str())) {
            return Err(format!(
                "{key:?} is not a weekday: use mon, tue, wed, thu, fri, sat, sun"
            ));
        }
        let mut weekly: [Vec<(NaiveTime, NaiveTime)>; 7] = Default::default();
        for (i, day) in WEEKDAYS.iter().enumerate() {
            let mut intervals = Vec::new();
            for open in self.weekly.get(*day).into_iter().flatten() {
                let (Some(from), Some(to)) = (clock(&open.from), clock(&open.to)) else {
                    return Err(format!(
                        "{day}: {:?}–{:?} is not two times of day: write them as HH:MM",
                        open.from, open.to
                    ));
                };
                if from == NaiveTime::MIN && open.from == "24:00"
                    || (to <= from && to != NaiveTime::MIN)
                {
                    return Err(format!(
                        "{day}: {}–{} ends before it starts: an interval runs forward within one day",
                        open.from, open.to
                    ));
                }
                intervals.push((from, to));
            }
            intervals.sort();
            let end = |t: NaiveTime| if t == NaiveTime::MIN { None } else { Some(t) };
            for pair in intervals.windows(2) {
                // An interval to midnight (None) is the latest end of all.
                if end(pair[0].1).is_none_or(|e| e > pair[1].0) {
                    return Err(format!(
                        "{day}: open intervals overlap: merge them into one"
                    ));
                }
            }
            weekly[i] = intervals;
        }
        let mut holidays = BTreeSet::new();
        for h in &self.holidays {
            holidays.insert(
                NaiveDate::parse_from_str(h, "%Y-%m-%d")
                    .map_err(|_| format!("holiday {h:?} is not a date: write it as YYYY-MM-DD"))?,
            );
        }
        Ok(Calendar {
            time_zone,
            weekly,
            holidays,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const HOUR: i64 = 3_600_000;

    fn hm(h: u32, m: u32) -> NaiveTime {
        NaiveTime::from_hms_opt(h, m, 0).expect("time")
    }

    /// Monday to Friday, 09:00–18:00 in `zone`, with `holidays`.
    fn office(zone: Tz, holidays: &[NaiveDate]) -> Calendar {
        let day = vec![(hm(9, 0), hm(18, 0))];
        Calendar {
            time_zone: zone,
            weekly: [
                day.clone(),
                day.clone(),
                day.clone(),
                day.clone(),
                day,
                Vec::new(),
                Vec::new(),
            ],
            holidays: holidays.iter().copied().collect(),
        }
    }

    fn local(zone: Tz, y: i32, mo: u32, d: u32, h: u32, mi: u32) -> Timestamp {
        zone.with_ymd_and_hms(y, mo, d, h, mi, 0)
            .earliest()
            .expect("a local time")
            .with_timezone(&Utc)
    }

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).expect("date")
    }

    #[test]
    fn friday_afternoon_plus_four_business_hours_is_monday_late_morning() {
        let berlin = chrono_tz::Europe::Berlin;
        let cal = office(berlin, &[]);
        // 2026-11-27 is a Friday: 1.5 h on Friday, 2.5 h on Monday.
        let created = local(berlin, 2026, 11, 27, 16, 30);
        let due = cal.add_ms(created, 4 * HOUR).expect("due");
        assert_eq!(due, local(berlin, 2026, 11, 30, 11, 30));
        assert_eq!(cal.counted_ms(created, due), 4 * HOUR);
        // Nothing counts over the weekend.
        assert!(!cal.is_open(local(berlin, 2026, 11, 28, 12, 0)));
        assert_eq!(
            cal.next_open(local(berlin, 2026, 11, 28, 12, 0)),
            Some(local(berlin, 2026, 11, 30, 9, 0))
        );
    }

    #[test]
    fn a_holiday_is_closed_all_day() {
        let berlin = chrono_tz::Europe::Berlin;
        // Christmas Eve is a Thursday in 2026; the 25th a Friday, a holiday.
        let cal = office(berlin, &[date(2026, 12, 25)]);
        let created = local(berlin, 2026, 12, 24, 17, 0);
        let due = cal.add_ms(created, 2 * HOUR).expect("due");
        assert_eq!(due, local(berlin, 2026, 12, 28, 10, 0));
    }

    #[test]
    fn daylight_saving_days_count_the_hours_that_are_open() {
        let berlin = chrono_tz::Europe::Berlin;
        // Open 01:00–05:00 every day: on 2026-03-29 02:00–03:00 does not exist.
        let night = vec![(hm(1, 0), hm(5, 0))];
        let cal = Calendar {
            time_zone: berlin,
            weekly: std::array::from_fn(|_| night.clone()),
            holidays: BTreeSet::new(),
        };
        let spring = local(berlin, 2026, 3, 29, 0, 0);
        assert_eq!(
            cal.counted_ms(spring, spring + Duration::hours(24)),
            3 * HOUR
        );
        // On 2026-10-25 02:00–03:00 happens twice.
        let autumn = local(berlin, 2026, 10, 25, 0, 0);
        assert_eq!(
            cal.counted_ms(autumn, autumn + Duration::hours(25)),
            5 * HOUR
        );
    }

    #[test]
    fn an_empty_calendar_never_reaches_a_target() {
        let cal = Calendar {
            time_zone: Tz::UTC,
            weekly: std::array::from_fn(|_| Vec::new()),
            holidays: BTreeSet::new(),
        };
        assert_eq!(cal.add_ms(Utc::now(), 60_000), None);
        assert_eq!(cal.next_open(Utc::now()), None);
    }

    #[test]
    fn the_settings_shape_reads_into_a_calendar_or_says_what_is_wrong() {
        let wire: CalendarWire = serde_json::from_value(serde_json::json!({
            "time_zone": "Europe/Berlin",
            "weekly": {"mon": [{"from": "09:00", "to": "12:00"}, {"from": "13:00", "to": "17:00"}],
                       "sat": [{"from": "22:00", "to": "24:00"}]},
            "holidays": ["2026-12-25"]
        }))
        .expect("the API.md shape");
        let cal = wire.read().expect("a calendar");
        assert_eq!(cal.weekly[0].len(), 2);
        assert!(cal.weekly[1].is_empty());
        assert_eq!(cal.weekly[5], vec![(hm(22, 0), NaiveTime::MIN)]);
        assert!(cal.holidays.contains(&date(2026, 12, 25)));
        let berlin = chrono_tz::Europe::Berlin;
        // A Monday: 3 h before lunch, 4 after.
        let monday = local(berlin, 2026, 11, 30, 0, 0);
        assert_eq!(cal.counted_ms(monday, monday + Duration::days(1)), 7 * HOUR);
        for (bad, says) in [
            (serde_json::json!({"time_zone": "Mars/Olympus"}), "IANA"),
            (
                serde_json::json!({"time_zone": "UTC", "weekly": {"monday": []}}),
                "weekday",
            ),
            (
                serde_json::json!({"time_zone": "UTC", "weekly": {"mon": [{"from": "9", "to": "17:00"}]}}),
                "HH:MM",
            ),
            (
                serde_json::json!({"time_zone": "UTC", "weekly": {"mon": [{"from": "17:00", "to": "09:00"}]}}),
                "before it starts",
            ),
            (
                serde_json::json!({"time_zone": "UTC", "weekly": {"mon": [{"from": "09:00", "to": "13:00"}, {"from": "12:00", "to": "17:00"}]}}),
                "overlap",
            ),
            (
                serde_json::json!({"time_zone": "UTC", "holidays": ["25.12.2026"]}),
                "YYYY-MM-DD",
            ),
        ] {
            let wire: CalendarWire = serde_json::from_value(bad.clone()).expect("shape");
            let err = wire.read().expect_err("refused");
            assert!(err.contains(says), "{bad}: {err}");
        }
    }

    fn moment() -> impl Strategy<Value = Timestamp> {
        // 2026 and 2027, to the second.
        (1_767_225_600i64..1_830_297_600i64)
            .prop_map(|s| Utc.timestamp_opt(s, 0).single().expect("time"))
    }

    proptest! {
        #[test]
        fn counted_time_is_wall_time_at_most_grows_and_adds_up(
            a in moment(), gap1 in 0i64..900_000_000, gap2 in 0i64..900_000_000,
        ) {
            let cal = office(chrono_tz::America::New_York, &[date(2026, 7, 3), date(2026, 12, 25)]);
            let b = a + Duration::milliseconds(gap1);
            let c = b + Duration::milliseconds(gap2);
            let ab = cal.counted_ms(a, b);
            prop_assert!(ab >= 0 && ab <= gap1);
            prop_assert!(cal.counted_ms(a, c) >= ab);
            prop_assert_eq!(cal.counted_ms(a, b) + cal.counted_ms(b, c), cal.counted_ms(a, c));
        }

        #[test]
        fn the_due_moment_is_the_first_that_reaches_the_target(
            a in moment(), target in 1i64..200_000_000,
        ) {
            let cal = office(chrono_tz::Europe::Berlin, &[date(2026, 12, 25), date(2027, 1, 1)]);
            let due = cal.add_ms(a, target).expect("an open week");
            prop_assert_eq!(cal.counted_ms(a, due), target);
            prop_assert!(cal.counted_ms(a, due - Duration::milliseconds(1)) < target);
            prop_assert!(cal.is_open(due - Duration::milliseconds(1)));
        }

        #[test]
        fn going_back_is_the_last_moment_that_leaves_the_count(
            b in moment(), back in 1i64..200_000_000,
        ) {
            let cal = office(chrono_tz::Europe::Berlin, &[date(2026, 12, 25), date(2027, 1, 1)]);
            let a = cal.sub_ms(b, back).expect("an open week");
            prop_assert_eq!(cal.counted_ms(a, b), back);
            prop_assert!(cal.counted_ms(a + Duration::milliseconds(1), b) < back);
        }

        #[test]
        fn open_until_ends_the_stretch_and_next_open_starts_one(a in moment()) {
            let cal = office(chrono_tz::America::New_York, &[date(2026, 7, 3)]);
            match cal.open_until(a) {
                Some(end) => {
                    prop_assert!(end > a);
                    prop_assert_eq!(cal.counted_ms(a, end), (end - a).num_milliseconds());
                    prop_assert!(!cal.is_open(end));
                }
                None => {
                    let open = cal.next_open(a).expect("an open week");
                    prop_assert_eq!(cal.counted_ms(a, open), 0);
                    prop_assert!(cal.is_open(open));
                }
            }
        }

        #[test]
        fn always_open_counts_wall_time(a in moment(), gap in 0i64..10_000_000_000) {
            let cal = Calendar::always();
            let b = a + Duration::milliseconds(gap);
            prop_assert_eq!(cal.counted_ms(a, b), gap);
            prop_assert_eq!(cal.add_ms(a, gap), Some(b));
            prop_assert_eq!(cal.sub_ms(b, gap), Some(a));
        }

        #[test]
        fn the_settings_shape_round_trips(
            days in proptest::collection::vec(proptest::collection::btree_set(0u32..24, 0..4), 7),
            holidays in proptest::collection::btree_set(0i64..700, 0..5),
        ) {
            // Each chosen hour opens its first half; 23 opens its second half
            // too, until midnight.
            let weekly: [Vec<(NaiveTime, NaiveTime)>; 7] = std::array::from_fn(|i| {
                let mut open: Vec<_> = days[i].iter().map(|h| (hm(*h, 0), hm(*h, 30))).collect();
                if days[i].contains(&23) {
                    open.push((hm(23, 30), NaiveTime::MIN));
                }
                open
            });
            let cal = Calendar {
                time_zone: chrono_tz::Asia::Kolkata,
                weekly,
                holidays: holidays.iter().map(|d| date(2026, 1, 1) + Duration::days(*d)).collect(),
            };
            let json = serde_json::to_value(&cal).expect("json");
            let back: Calendar = serde_json::from_value(json).expect("read back");
            prop_assert_eq!(back, cal);
        }
    }
}
