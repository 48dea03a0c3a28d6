//! `hoithi`: parses the command line and hands over to the library. Every failure ends
//! with one line on stderr and a non-zero exit status.

use std::process::ExitCode;

/// A request allocates many small things (headers, JSON, futures) on whichever thread runs
/// it; mimalloc's per-thread heaps cost less than glibc's arenas at a vote spike's rate.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    match hoithi::cli::main() {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("hoithi: error: {err:#}");
            ExitCode::FAILURE
        }
    }
}
