//! People: accounts, their sessions and tokens, their units, the limits on guessing and on
//! mail, and the refusals of the area.

pub mod accounts;
pub mod directory;
pub mod outbox;
pub mod refusal;
pub mod roster;
pub mod sessions;
pub mod throttle;
pub mod tokens;
pub mod units;
