//! `hoithi media-job`: the sandboxed child that decodes one untrusted file. This module only
//! wires the sandbox to the pipelines; it is the one place that knows both, so the arrows go
//! child → sandbox and child → photo/video, never back.

use crate::protocol::MediaKind;
use crate::{photo, probe, sandbox, video};

/// Entry point of `hoithi media-job --input FILE --output DIR --kind video|photo [--max-seconds N]`.
/// Returns the process exit status.
pub fn main(args: &[String]) -> i32 {
    sandbox::run(args, |job| {
        // libav is initialised only after the limits are in place.
        probe::init()?;
        Ok(match job.kind {
            MediaKind::Video => {
                serde_json::to_value(video::run(&job.input, &job.output, job.max_seconds)?)?
            }
            MediaKind::Photo => serde_json::to_value(photo::run(&job.input, &job.output)?)?,
        })
    })
}
