//! Livestreams as the rules see them: a link parsed into a platform and an embed that is safe
//! to show, and the streams of a contest. No HTTP here.

pub mod repo;
pub mod source;
