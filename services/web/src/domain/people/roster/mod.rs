//! The union's own member list (issue 20): a spreadsheet the union already keeps (XLSX or
//! CSV, one parser for both) with a full name, an email or a phone, a member number and a
//! unit per row. Every row is checked before anything is written (`read` then `resolve`: each
//! bad row named with its row number and why); confirmed, `apply` writes them in one
//! transaction: a person with an email gets an invited account (no password; they set one
//! through the mailed link) or, when the email has an account already, its member number and
//! unit are attached; every row is kept in `roster_member`. Re-importing the same file changes
//! nothing. An organizer imports only into their own unit and the units below it.
//!
//! `parse` reads and checks a file (no I/O); `import` finds the units, keeps the checked rows
//! for the confirm step and writes them.

pub mod import;
pub mod parse;

pub use import::{Outcome, apply, count_within, keep, resolve, take};
pub use parse::{BadRow, MAX_BYTES, MAX_ROWS, Problem, Ready, Row, read, to_csv};
