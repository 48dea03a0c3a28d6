//! People: accounts, their units, and what the rules ask of them.

pub mod throttle;
pub mod units;
