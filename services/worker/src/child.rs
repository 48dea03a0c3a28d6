//! `hoithi media-job`: the sandboxed child that decodes one untrusted file. It limits itself
//! (CPU time, address space) before touching the input, gets no credentials from its parent,
//! and speaks a line protocol on stdout: `progress N`, then `result {json}` or `refused CODE TEXT`.

use std::io::Write;
use std::path::PathBuf;

use nix::sys::resource::{Resource, UsageWho, getrusage, setrlimit};

/// Exit status of a refused input: permanent, the parent does not retry it.
pub const EXIT_REFUSED: i32 = 3;

/// A reason to refuse an input, with a stable kebab-case code and a sentence for the member.
#[derive(Debug, Clone)]
pub struct Refused {
    pub code: &'static str,
    pub message: String,
}

impl Refused {
    pub fn new(code: &'static str, message: String) -> Self {
        Self { code, message }
    }
}

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.code, self.message)
    }
}

impl std::error::Error for Refused {}

/// Reports progress (0–100) to the parent.
pub fn progress(percent: u8) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "progress {}", percent.min(100));
    let _ = out.flush();
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Video,
    Photo,
}

impl Kind {
    /// Address-space and CPU-time limits of the child (the parent adds a wall-clock limit).
    pub fn limits(self) -> (u64, u64) {
        match self {
            // x264 with four rungs reserves a lot of address space for thread stacks and
            // lookahead; resident memory stays far lower.
            Kind::Video => (6 << 30, 3600),
            Kind::Photo => (2 << 30, 120),
        }
    }
}

struct Args {
    input: PathBuf,
    output: PathBuf,
    kind: Kind,
    max_seconds: f64,
}

fn parse(args: &[String]) -> anyhow::Result<Args> {
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
                kind = Some(match value.as_str() {
                    "video" => Kind::Video,
                    "photo" => Kind::Photo,
                    other => anyhow::bail!("--kind {other:?} must be video or photo"),
                })
            }
            "--max-seconds" => max_seconds = value.parse()?,
            other => anyhow::bail!("unknown argument {other:?}"),
        }
    }
    Ok(Args {
        input: input.ok_or_else(|| anyhow::anyhow!("--input FILE is required"))?,
        output: output.ok_or_else(|| anyhow::anyhow!("--output DIR is required"))?,
        kind: kind.ok_or_else(|| anyhow::anyhow!("--kind video|photo is required"))?,
        max_seconds,
    })
}

/// Entry point of `hoithi media-job --input FILE --output DIR --kind video|photo [--max-seconds N]`.
/// Returns the process exit status.
pub fn main(args: &[String]) -> i32 {
    let args = match parse(args) {
        Ok(a) => a,
        Err(e) => {
            eprintln!("media-job: {e}");
            return 2;
        }
    };
    // Die with the worker: a SIGKILLed worker must not leave a decode running.
    if nix::sys::prctl::set_pdeathsig(Some(nix::sys::signal::Signal::SIGKILL)).is_err()
        || nix::unistd::getppid().as_raw() == 1
    {
        eprintln!("media-job: the worker that started this job is gone");
        return 1;
    }
    let (address_space, cpu_seconds) = args.kind.limits();
    if let Err(e) = setrlimit(Resource::RLIMIT_AS, address_space, address_space)
        .and_then(|()| setrlimit(Resource::RLIMIT_CPU, cpu_seconds, cpu_seconds + 5))
        .and_then(|()| setrlimit(Resource::RLIMIT_CORE, 0, 0))
    {
        eprintln!("media-job: cannot set resource limits: {e}");
        return 1;
    }
    if let Err(e) = crate::probe::init() {
        eprintln!("media-job: {e:#}");
        return 1;
    }
    let result = match args.kind {
        Kind::Video => crate::video::run(&args.input, &args.output, args.max_seconds),
        Kind::Photo => crate::photo::run(&args.input, &args.output),
    };
    let mut out = std::io::stdout().lock();
    match result {
        Ok(mut value) => {
            if let Ok(usage) = getrusage(UsageWho::RUSAGE_SELF) {
                value["peak_rss_kib"] = usage.max_rss().into();
            }
            let _ = writeln!(out, "progress 100");
            let _ = writeln!(out, "result {value}");
            let _ = out.flush();
            0
        }
        Err(e) => match e.downcast_ref::<Refused>() {
            Some(r) => {
                let _ = writeln!(out, "refused {} {}", r.code, r.message.replace('\n', " "));
                let _ = out.flush();
                EXIT_REFUSED
            }
            None => {
                eprintln!("media-job: {e:#}");
                1
            }
        },
    }
}
