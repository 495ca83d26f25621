//! The team's SLA policy and categories (RULES.md "Priorities and SLA").

use serde::{Deserialize, Serialize};

use crate::calendar::Calendar;
use crate::refusal::Refusal;
use crate::ticket::{DEFAULT_CATEGORIES, Priority};

/// Which time a priority's targets count (RULES.md "Business hours").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Hours {
    /// Every moment, 24/7.
    #[default]
    Always,
    /// Only the team calendar's open hours.
    BusinessHours,
}

/// The two targets of one priority, in minutes, and the time they count.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Targets {
    pub first_response_minutes: u32,
    pub resolution_minutes: u32,
    #[serde(default)]
    pub hours: Hours,
}

/// Targets per priority, as `sla_policy` on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PriorityTargets {
    pub urgent: Targets,
    pub high: Targets,
    pub normal: Targets,
    pub low: Targets,
}

/// The team's SLA policy: targets per priority, one at-risk fraction, and
/// the calendar that business-hours targets count in.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SlaPolicy {
    #[serde(rename = "sla_policy")]
    pub targets: PriorityTargets,
    /// A running timer is at risk once its remaining time is at most this
    /// fraction of its target.
    pub at_risk_fraction: f64,
    /// The team's open hours; `None`: no calendar (every target counts always).
    #[serde(default)]
    #[cfg_attr(feature = "ts", ts(as = "Option<crate::calendar::CalendarWire>"))]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<crate::calendar::CalendarWire>))]
    pub calendar: Option<Calendar>,
}

impl Default for SlaPolicy {
    fn default() -> Self {
        let t = |first_response_minutes, resolution_minutes| Targets {
            first_response_minutes,
            resolution_minutes,
            hours: Hours::Always,
        };
        SlaPolicy {
            targets: PriorityTargets {
                urgent: t(15, 240),
                high: t(60, 480),
                normal: t(240, 1440),
                low: t(480, 4320),
            },
            at_risk_fraction: 0.25,
            calendar: None,
        }
    }
}

impl SlaPolicy {
    pub fn targets_for(&self, priority: Priority) -> Targets {
        match priority {
            Priority::Urgent => self.targets.urgent,
            Priority::High => self.targets.high,
            Priority::Normal => self.targets.normal,
            Priority::Low => self.targets.low,
        }
    }

    /// The calendar a priority's timers count in: `None` counts every moment.
    pub fn calendar_for(&self, priority: Priority) -> Option<&Calendar> {
        match self.targets_for(priority).hours {
            Hours::Always => None,
            Hours::BusinessHours => self.calendar.as_ref(),
        }
    }

    /// The at-risk threshold of a target, in milliseconds of remaining time.
    pub fn at_risk_threshold_ms(&self, target_minutes: u32) -> i64 {
        // Exact for the fractions people use (0.25 of whole minutes is whole
        // milliseconds); floor keeps "at most that fraction" inclusive.
        (self.at_risk_fraction * f64::from(target_minutes) * 60_000.0).floor() as i64
    }

    pub fn validate(&self) -> Result<(), Refusal> {
        if !(self.at_risk_fraction > 0.0 && self.at_risk_fraction < 1.0) {
            return Err(Refusal::invalid(
                "at_risk_fraction",
                "the at-risk fraction must be between 0 and 1 (for example 0.25)",
            ));
        }
        for priority in Priority::ALL {
            let t = self.targets_for(priority);
            // A year is far beyond any support target and keeps the arithmetic small.
            let range = 1..=525_600;
            if !range.contains(&t.first_response_minutes) || !range.contains(&t.resolution_minutes)
            {
                return Err(Refusal::invalid(
                    &format!("sla_policy.{}", priority.as_str()),
                    format!(
                        "the {} targets must be whole minutes from 1 to 525600",
                        priority.as_str()
                    ),
                ));
            }
            if t.hours == Hours::BusinessHours {
                match &self.calendar {
                    None => {
                        return Err(Refusal::invalid(
                            &format!("sla_policy.{}.hours", priority.as_str()),
                            format!(
                                "{} targets count business hours, but the team has no calendar: set the business hours first, or count always",
                                priority.as_str()
                            ),
                        ));
                    }
                    Some(c) if !c.has_open_hours() => {
                        return Err(Refusal::invalid(
                            "calendar.weekly",
                            "the calendar has no open hours on any day, so a business-hours target would never be due: open at least one interval",
                        ));
                    }
                    Some(_) => {}
                }
            }
        }
        Ok(())
    }
}

/// Everything an admin sets for the team.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TeamSettings {
    #[serde(flatten)]
    pub sla: SlaPolicy,
    /// Categories offered in the pickers.
    pub categories: Vec<String>,
    /// Categories no longer offered; old tickets keep them.
    #[serde(default)]
    pub retired_categories: Vec<String>,
    /// A ticket resolved this many days (business days with a calendar)
    /// closes on its own; 0: never (RULES.md "Auto-close").
    #[serde(default = "default_auto_close")]
    pub auto_close_after_days: u32,
    /// Closed tickets stay on the agents' desktops this many days after they
    /// close; older ones come from the server when opened
    /// ([`crate::working_set`]).
    #[serde(default = "default_sync_window")]
    pub sync_window_days: u32,
}

/// The days a resolved ticket waits before it closes, unless a team says otherwise.
pub const AUTO_CLOSE_DEFAULT_DAYS: u32 = 4;
/// The most days a team may set.
pub const AUTO_CLOSE_MAX_DAYS: u32 = 30;

fn default_auto_close() -> u32 {
    AUTO_CLOSE_DEFAULT_DAYS
}

fn default_sync_window() -> u32 {
    crate::working_set::SYNC_WINDOW_DEFAULT_DAYS
}

impl Default for TeamSettings {
    fn default() -> Self {
        TeamSettings {
            sla: SlaPolicy::default(),
            categories: DEFAULT_CATEGORIES.iter().map(|c| (*c).to_owned()).collect(),
            retired_categories: Vec::new(),
            auto_close_after_days: AUTO_CLOSE_DEFAULT_DAYS,
            sync_window_days: crate::working_set::SYNC_WINDOW_DEFAULT_DAYS,
        }
    }
}

impl TeamSettings {
    pub fn validate(&self) -> Result<(), Refusal> {
        self.sla.validate()?;
        if self.auto_close_after_days > AUTO_CLOSE_MAX_DAYS {
            return Err(Refusal::invalid(
                "auto_close_after_days",
                format!(
                    "close resolved tickets after 0 to {AUTO_CLOSE_MAX_DAYS} days (0: never), not {}",
                    self.auto_close_after_days
                ),
            ));
        }
        use crate::working_set::{SYNC_WINDOW_MAX_DAYS, SYNC_WINDOW_MIN_DAYS};
        if !(SYNC_WINDOW_MIN_DAYS..=SYNC_WINDOW_MAX_DAYS).contains(&self.sync_window_days) {
            return Err(Refusal::invalid(
                "sync_window_days",
                format!(
                    "keep closed tickets on the desktops {SYNC_WINDOW_MIN_DAYS} to {SYNC_WINDOW_MAX_DAYS} days after they close, not {}",
                    self.sync_window_days
                ),
            ));
        }
        if self.categories.is_empty() {
            return Err(Refusal::invalid(
                "categories",
                "the team needs at least one category",
            ));
        }
        let all: Vec<&String> = self
            .categories
            .iter()
            .chain(&self.retired_categories)
            .collect();
        for (i, c) in all.iter().enumerate() {
            if c.trim().is_empty() || c.trim() != c.as_str() || c.chars().count() > 50 {
                return Err(Refusal::invalid(
                    "categories",
                    format!(
                        "category {:?} must be 1 to 50 characters with no leading or trailing spaces",
                        c
                    ),
                ));
            }
            if all[..i].contains(c) {
                return Err(Refusal::invalid(
                    "categories",
                    format!(
                        "category {c:?} is listed twice (a retired category cannot also be offered)"
                    ),
                ));
            }
        }
        Ok(())
    }

    pub fn check_category(&self, category: &str) -> Result<(), Refusal> {
        if self.categories.iter().any(|c| c == category) {
            Ok(())
        } else if self.retired_categories.iter().any(|c| c == category) {
            Err(Refusal::invalid(
                "category",
                format!(
                    "the category {category:?} is retired: choose one of {}",
                    self.categories.join(", ")
                ),
            ))
        } else {
            Err(Refusal::invalid(
                "category",
                format!(
                    "unknown category {category:?}: choose one of {}",
                    self.categories.join(", ")
                ),
            ))
        }
    }
}
