//! Voting as the rules see them: the policy of a contest (limits, windows, who may vote), the
//! ballot store and its tallies. No HTTP here.

pub mod policy;
pub mod repo;

/// The PostgreSQL channel of tally changes; the payload is the contest id.
pub const CHANNEL: &str = "vote_tally";
