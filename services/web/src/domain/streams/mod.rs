//! Livestreams as the rules see them: a link parsed into a platform and an embed that is safe
//! to show, the streams of a contest, and why a stream is refused. No HTTP here.

pub mod refusal;
pub mod repo;
pub mod source;
