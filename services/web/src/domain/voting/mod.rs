//! Voting as the rules see them: the policy of a contest (limits, windows, who may vote), the
//! ballot store and its tallies, the vote runtime of a process (batcher, live hub, rate
//! limits, challenges), the roster and member numbers, the organizers' review, and the live
//! state of a contest. No HTTP here.

pub mod batcher;
pub mod challenge;
pub mod claims;
pub mod erase;
pub mod hub;
pub mod invalidations;
pub mod limits;
pub mod live;
pub mod members;
pub mod policy;
pub mod refusal;
pub mod repo;
pub mod review;
pub mod roster;
pub mod runtime;

/// The PostgreSQL channel of tally changes; the payload is the contest id.
pub const CHANNEL: &str = "vote_tally";
