//! Judging, as rules and queries: rounds with their criteria, formula and tie-break (locked
//! once a round opens), judges invited by email and assigned without conflicts of interest,
//! score sheets with every write audited, the scoring math, standings and the published
//! results. The HTTP side is `crate::judging`.

pub mod assign;
pub mod feedback;
pub mod judges;
pub mod math;
pub mod refusal;
pub mod results;
pub mod rounds;
pub mod sheets;
pub mod standings;

pub use refusal::JudgingRefusal;
