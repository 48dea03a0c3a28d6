//! Personal data: what a person agreed to (`consent`), a guardian's consent for a child's
//! entry (`guardian`), how a minor's name is shown (`names`), a person's data handed to them
//! (`export`) or deleted (`erase`), and what goes after a contest's results (`retention`).

pub mod consent;
pub mod erase;
pub mod export;
pub mod guardian;
pub mod names;
pub mod registry;
pub mod retention;
pub mod schedule;
