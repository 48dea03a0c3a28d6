//! The domain layer: what a contest, an entry, a sheet, a vote and a person are, the rules that
//! move them, and the queries that load and store them. Nothing here knows HTTP: no axum, no
//! askama, no page or API module; the area modules beside `domain` (pages and API) call in,
//! never the other way. `tests/architecture.rs` holds this line.

pub mod access;
pub mod advancement;
pub mod certificates;
pub mod contests;
pub mod entries;
pub mod judging;
pub mod people;
pub mod privacy;
pub mod streams;
pub mod text;
pub mod voting;
