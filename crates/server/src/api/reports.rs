//! Reports (API.md "Reports").

use std::collections::HashMap;

use axum::Json;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use fyncall_domain::SlaReport;
use fyncall_domain::report::{self, GroupBy, ReportQuery};

use crate::app::AppState;
use crate::auth::AgentAuth;
use crate::error::ApiError;

/// The Retry-After of a report refused while others are built.
const REPORT_RETRY_SECS: u64 = 3;

/// How far back a report reaches when `from` is not given.
const DEFAULT_DAYS: i64 = 28;

/// SLA compliance for a period (RULES.md "SLA compliance"): JSON, or CSV
/// with `Accept: text/csv`.
#[utoipa::path(get, path = "/api/v1/reports/sla", tag = "reports",
    params(("from" = Option<String>, Query, description = "RFC 3339 time or a date (00:00 in the team's calendar zone, UTC without one); default 28 days before `to`"),
           ("to" = Option<String>, Query, description = "end of the period, not included; default now"),
           ("group_by" = Option<String>, Query, description = "agent, priority, category, day, week (the default) or month")),
    responses((status = 200, body = SlaReport), (status = 429, description = "two reports are being built already; Retry-After says when to ask again")))]
pub async fn sla(
    State(state): State<AppState>,
    _agent: AgentAuth,
    headers: HeaderMap,
    Query(params): Query<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    let now = crate::time::now();
    let settings = state.blocking(|s| s.settings()).await?;
    let zone = report::report_zone(&settings);
    let when = |name: &str| -> Result<Option<_>, ApiError> {
        params
            .get(name)
            .map(|text| report::parse_when(text, zone).map_err(|why| ApiError::invalid(name, why)))
            .transpose()
    };
    let to = when("to")?.unwrap_or(now);
    let from = when("from")?.unwrap_or(to - chrono::TimeDelta::days(DEFAULT_DAYS));
    if from >= to {
        return Err(ApiError::invalid(
            "from",
            "the period is empty: `from` must come before `to`",
        ));
    }
    let group_by = match params.get("group_by") {
        None => GroupBy::Week,
        Some(g) => GroupBy::parse(g).ok_or_else(|| {
            ApiError::invalid(
                "group_by",
                format!(
                    "unknown grouping {g:?}: use agent, priority, category, day, week or month"
                ),
            )
        })?,
    };
    let query = ReportQuery { from, to, group_by };
    // Each report reads the tickets of its period: a few at once, built
    // off the async workers, so other requests keep their answers.
    let Ok(permit) = state.reports.clone().try_acquire_owned() else {
        return Err(ApiError::rate_limited(
            format!(
                "{} reports are being built already: try again in a few seconds",
                crate::app::REPORTS
            ),
            REPORT_RETRY_SECS,
        ));
    };
    let limit = state.config.report_time_limit;
    let out = state
        .blocking(move |s| {
            let _building = permit;
            let (tickets, agents) = (s.report_inputs(from, to, limit)?, s.agents()?);
            Ok(report::sla_report(
                &tickets, &settings, &agents, &query, now,
            ))
        })
        .await?;
    let wants_csv = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("text/csv"));
    if wants_csv {
        let name = out.file_name();
        return Ok((
            [
                (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
                (
                    header::CONTENT_DISPOSITION,
                    format!("attachment; filename=\"{name}\""),
                ),
            ],
            out.to_csv(),
        )
            .into_response());
    }
    Ok(Json(out).into_response())
}
