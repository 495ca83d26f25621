//! Tests of the ticket rules against RULES.md, one module per section.

mod business_hours;
mod fixture;
mod lifecycle;
mod loading;
mod macros;
mod merge;
mod permissions;
mod properties;
mod report;
mod sla;
mod views;
