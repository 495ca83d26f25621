//! Server time: the one place the server reads the clock, at millisecond
//! precision (API.md times carry milliseconds).

use chrono::{DurationRound, SecondsFormat, TimeDelta, Utc};
use fyncall_domain::Timestamp;

pub fn now() -> Timestamp {
    let t = Utc::now();
    t.duration_trunc(TimeDelta::milliseconds(1)).unwrap_or(t)
}

/// RFC 3339 with milliseconds: the text form stored in indexed columns, so
/// text order is time order.
pub fn iso(t: Timestamp) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// A stored RFC 3339 time back as a timestamp.
pub fn parse(text: &str) -> Result<Timestamp, chrono::ParseError> {
    chrono::DateTime::parse_from_rfc3339(text).map(|t| t.with_timezone(&Utc))
}
