//! `hoithi`: parses the command line and hands over to the library. Every failure ends
//! with one line on stderr and a non-zero exit status.

use std::process::ExitCode;

fn main() -> ExitCode {
    match hoithi::cli::main() {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("hoithi: error: {err:#}");
            ExitCode::FAILURE
        }
    }
}
