//! The sandbox of `hoithi media-job`: reads the job's arguments, limits the process (dies with
//! its worker; CPU time, address space, no core dumps; a lower CPU priority than the server's
//! web role) before the input is touched, runs the
//! job it is given and reports how it ended. It does not know which pipeline runs: `child`
//! hands it one, so photo and video never depend on this module.

use std::path::PathBuf;

use nix::sys::resource::{Resource, UsageWho, getrusage, setrlimit};

use crate::protocol::{EXIT_REFUSED, MediaKind, Refused, report_refused, report_result};

/// The job as the parent describes it on the command line.
#[derive(Debug, Clone, PartialEq)]
pub struct JobArgs {
    pub input: PathBuf,
    pub output: PathBuf,
    pub kind: MediaKind,
    pub max_seconds: f64,
}

/// How much lower than its worker's the child's CPU priority is (nice steps): a burst of
/// photos or a long video takes the cores the site's pages leave idle, not theirs.
pub const NICE_STEPS: i32 = 10;

/// Address-space and CPU-time limits of the child (the parent adds a wall-clock limit).
pub fn limits(kind: MediaKind) -> (u64, u64) {
    match kind {
        // x264 with four rungs reserves a lot of address space for thread stacks and
        // lookahead; resident memory stays far lower.
        MediaKind::Video => (6 << 30, 3600),
        MediaKind::Photo => (2 << 30, 120),
    }
}

fn parse(args: &[String]) -> anyhow::Result<JobArgs> {
    let mut input = None;
    let mut output = None;
    let mut kind = None;
    let mut max_seconds = 180.0;
    let mut it = args.iter();
    while let Some(flag) = it.next() {
        let value = it
            .next()
            .ok_or_else(|| anyhow::anyhow!("{flag} needs a value"))?;
        match flag.as_str() {
            "--input" => input = Some(PathBuf::from(value)),
            "--output" => output = Some(PathBuf::from(value)),
            "--kind" => {
                kind =
                    Some(MediaKind::parse(value).ok_or_else(|| {
                        anyhow::anyhow!("--kind {value:?} must be video or photo")
                    })?)
            }
            "--max-seconds" => max_seconds = value.parse()?,
            other => anyhow::bail!("unknown argument {other:?}"),
        }
    }
    Ok(JobArgs {
        input: input.ok_or_else(|| anyhow::anyhow!("--input FILE is required"))?,
        output: output.ok_or_else(|| anyhow::anyhow!("--output DIR is required"))?,
        kind: kind.ok_or_else(|| anyhow::anyhow!("--kind video|photo is required"))?,
        max_seconds,
    })
}

/// Ties the child to its worker and sets the kernel limits; the message says what failed.
fn confine(kind: MediaKind) -> Result<(), String> {
    // Die with the worker: a SIGKILLed worker must not leave a decode running.
    if nix::sys::prctl::set_pdeathsig(Some(nix::sys::signal::Signal::SIGKILL)).is_err()
        || nix::unistd::getppid().as_raw() == 1
    {
        return Err("the worker that started this job is gone".into());
    }
    // Linux keeps a nice value per thread: set on the main thread before the job starts, it
    // holds for every decoder and encoder thread the job spawns. Lowering it needs no
    // privilege; 19 is the lowest priority there is.
    let nice = rustix::process::getpriority_process(None)
        .map_err(|e| format!("cannot read the CPU priority: {e}"))?;
    rustix::process::setpriority_process(None, (nice + NICE_STEPS).min(19))
        .map_err(|e| format!("cannot lower the CPU priority: {e}"))?;
    let (address_space, cpu_seconds) = limits(kind);
    setrlimit(Resource::RLIMIT_AS, address_space, address_space)
        .and_then(|()| setrlimit(Resource::RLIMIT_CPU, cpu_seconds, cpu_seconds + 5))
        .and_then(|()| setrlimit(Resource::RLIMIT_CORE, 0, 0))
        .map_err(|e| format!("cannot set resource limits: {e}"))
}

/// Parses `args`, confines the process, runs `job` and reports its end on stdout. Returns the
/// process exit status: 0 done, `EXIT_REFUSED` refused, 1 failed, 2 bad arguments.
pub fn run(
    args: &[String],
    job: impl FnOnce(&JobArgs) -> anyhow::Result<serde_json::Value>,
) -> i32 {
    let args = match parse(args) {
        Ok(a) => a,
        Err(e) => {
            eprintln!("media-job: {e}");
            return 2;
        }
    };
    if let Err(e) = confine(args.kind) {
        eprintln!("media-job: {e}");
        return 1;
    }
    match job(&args) {
        Ok(mut value) => {
            if let Ok(usage) = getrusage(UsageWho::RUSAGE_SELF) {
                value["peak_rss_kib"] = usage.max_rss().into();
            }
            report_result(&value);
            0
        }
        Err(e) => match e.downcast_ref::<Refused>() {
            Some(r) => {
                report_refused(r);
                EXIT_REFUSED
            }
            None => {
                eprintln!("media-job: {e:#}");
                1
            }
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn the_parent_s_arguments_parse_into_a_typed_job() {
        let job = parse(&args(&[
            "--input",
            "/in",
            "--output",
            "/out",
            "--kind",
            "photo",
            "--max-seconds",
            "60",
        ]))
        .unwrap();
        assert_eq!(
            job,
            JobArgs {
                input: "/in".into(),
                output: "/out".into(),
                kind: MediaKind::Photo,
                max_seconds: 60.0,
            }
        );
        let default = parse(&args(&["--input", "a", "--output", "b", "--kind", "video"])).unwrap();
        assert_eq!(default.max_seconds, 180.0);
    }

    #[test]
    fn unknown_kinds_flags_and_missing_values_are_errors() {
        let e = parse(&args(&["--kind", "audio"])).unwrap_err();
        assert!(e.to_string().contains("must be video or photo"), "{e}");
        assert!(parse(&args(&["--colour", "red"])).is_err());
        assert!(parse(&args(&["--input"])).is_err());
        assert!(parse(&args(&["--input", "a", "--kind", "video"])).is_err());
    }
}
