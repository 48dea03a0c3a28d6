//! The private PostgreSQL cluster that runs when no `DATABASE_URL` is given: Debian's
//! `initdb`/`postgres` binaries, data in `data/pg`, a Unix socket in that folder and no TCP.
//!
//! The postmaster is our child and gets SIGTERM (smart shutdown) when its parent dies, even by
//! SIGKILL, so a killed hoithi never leaves a cluster behind that blocks the next start. A
//! cluster that is already running (a `serve` next to a `hoithi admin`) is reused, not restarted.

use std::fs;
use std::io::Read;
use std::os::unix::fs::{PermissionsExt, chown};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use nix::sys::signal::{Signal, kill};
use nix::unistd::{Pid, Uid, User};

/// Name of the cluster's superuser, which the application connects as.
pub const SUPERUSER: &str = "hoithi";
const PORT: u16 = 5432;
const START_TIMEOUT: Duration = Duration::from_secs(60);
const STOP_TIMEOUT: Duration = Duration::from_secs(30);

pub struct EmbeddedPostgres {
    dir: PathBuf,
    /// Set when this process started the postmaster and so must stop it.
    owned: Option<OwnedPostmaster>,
}

struct OwnedPostmaster {
    pid: Pid,
    exited: mpsc::Receiver<()>,
}

impl EmbeddedPostgres {
    /// Initialises the cluster in `dir` if needed and starts it, or attaches to the one that
    /// already runs there. Blocks until it accepts connections.
    pub fn start(dir: &Path, bin_dir: Option<&Path>) -> anyhow::Result<Self> {
        let bin = find_bin_dir(bin_dir)?;
        let parent = dir.parent().unwrap_or(Path::new("."));
        fs::create_dir_all(parent).with_context(|| {
            format!(
                "cannot create the data folder {}; set HOITHI_DATA to a writable folder",
                parent.display()
            )
        })?;
        let dir = fs::canonicalize(parent)
            .with_context(|| format!("cannot open the data folder {}", parent.display()))?
            .join(dir.file_name().unwrap_or("pg".as_ref()));
        let socket_path = dir.join(format!(".s.PGSQL.{PORT}"));
        if socket_path.as_os_str().len() > 100 {
            bail!(
                "the data folder path is too long for PostgreSQL's socket ({}); set HOITHI_DATA to a shorter path",
                dir.display()
            );
        }
        let owner = cluster_owner()?;
        let dir = match &owner {
            Some(owner) => place_for(&dir, owner)?,
            None => dir,
        };

        if !dir.join("PG_VERSION").exists() {
            init_cluster(&bin, &dir, owner.as_ref())?;
        }
        if let Some(owner) = &owner {
            check_reachable(&dir, owner)?;
        }

        if attach_running(&dir)? {
            tracing::info!(dir = %dir.display(), "attached to the running private PostgreSQL");
            return Ok(Self { dir, owned: None });
        }

        remove_stale_pid_file(&dir);
        match spawn_postmaster(&bin, &dir, owner.as_ref()) {
            Ok(owned) => Ok(Self {
                dir,
                owned: Some(owned),
            }),
            // Another process may have started it between our check and our start.
            Err(err) if running_postmaster(&dir).is_some() => {
                if attach_running(&dir)? {
                    Ok(Self { dir, owned: None })
                } else {
                    Err(err)
                }
            }
            Err(err) => Err(err),
        }
    }

    /// The folder that holds the cluster and its socket.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// A URL for `database` over the cluster's Unix socket.
    pub fn url(&self, database: &str) -> String {
        socket_url(&self.dir, database)
    }

    /// Stops the postmaster if this process started it; committed work is on disk.
    pub fn stop(mut self) {
        self.stop_owned();
    }

    fn stop_owned(&mut self) {
        let Some(owned) = self.owned.take() else {
            return;
        };
        // Smart shutdown first: another hoithi process attached to this cluster (an admin
        // command) finishes its work; then fast, then immediate.
        for (signal, wait) in [
            (Signal::SIGTERM, Duration::from_secs(10)),
            (Signal::SIGINT, STOP_TIMEOUT),
            (Signal::SIGQUIT, Duration::from_secs(5)),
        ] {
            let _ = kill(owned.pid, signal);
            if owned.exited.recv_timeout(wait).is_ok() {
                break;
            }
            tracing::warn!(?signal, "PostgreSQL did not stop in time");
        }
        tracing::info!("private PostgreSQL stopped");
    }
}

impl Drop for EmbeddedPostgres {
    fn drop(&mut self) {
        self.stop_owned();
    }
}

/// A URL for `database` over the socket in `dir`; the path is percent-encoded.
pub fn socket_url(dir: &Path, database: &str) -> String {
    let mut host = String::new();
    for b in dir.to_string_lossy().bytes() {
        if b.is_ascii_alphanumeric() || b"/-_.~".contains(&b) {
            host.push(b as char);
        } else {
            host.push_str(&format!("%{b:02X}"));
        }
    }
    format!("postgres://{SUPERUSER}@localhost:{PORT}/{database}?host={host}")
}

fn find_bin_dir(configured: Option<&Path>) -> anyhow::Result<PathBuf> {
    const HINT: &str =
        "install Debian's postgresql package (apt-get install postgresql) or set DATABASE_URL";
    if let Some(dir) = configured {
        if dir.join("initdb").is_file() && dir.join("postgres").is_file() {
            return Ok(dir.to_owned());
        }
        bail!(
            "no PostgreSQL binaries (initdb, postgres) in HOITHI_PG_BIN_DIR={}; {HINT}",
            dir.display()
        );
    }
    let mut found: Vec<(u32, PathBuf)> = fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let version = e.file_name().to_str()?.parse::<u32>().ok()?;
            let bin = e.path().join("bin");
            (bin.join("initdb").is_file() && bin.join("postgres").is_file())
                .then_some((version, bin))
        })
        .collect();
    found.sort();
    match found.pop() {
        Some((_, bin)) => Ok(bin),
        None => bail!("PostgreSQL is not installed (no /usr/lib/postgresql/*/bin/initdb); {HINT}"),
    }
}

/// PostgreSQL refuses to run as root: then the cluster belongs to an unprivileged user.
fn cluster_owner() -> anyhow::Result<Option<User>> {
    if !Uid::effective().is_root() {
        return Ok(None);
    }
    for name in ["postgres", "hoithi-pg"] {
        if let Some(user) = User::from_name(name).context("cannot read the user database")? {
            return Ok(Some(user));
        }
    }
    let status = Command::new("useradd")
        .args([
            "--system",
            "--no-create-home",
            "--shell",
            "/usr/sbin/nologin",
            "hoithi-pg",
        ])
        .status()
        .context("running as root with no 'postgres' user, and useradd could not run")?;
    if !status.success() {
        bail!("running as root with no 'postgres' user, and useradd hoithi-pg failed");
    }
    User::from_name("hoithi-pg")?
        .context("useradd hoithi-pg succeeded but the user is missing")
        .map(Some)
}

fn as_owner(cmd: &mut Command, owner: Option<&User>) {
    if let Some(owner) = owner {
        cmd.uid(owner.uid.as_raw()).gid(owner.gid.as_raw());
        // HOME of root is not readable by the owner; some tools stat it.
        cmd.env("HOME", "/tmp");
    }
}

fn init_cluster(bin: &Path, dir: &Path, owner: Option<&User>) -> anyhow::Result<()> {
    // initdb into a side folder and rename it, so a start killed mid-initdb leaves no half
    // cluster that looks real.
    let staging = dir.with_extension("init");
    if staging.exists() {
        fs::remove_dir_all(&staging)
            .with_context(|| format!("cannot remove {}", staging.display()))?;
    }
    fs::create_dir(&staging).with_context(|| {
        format!(
            "cannot create {}; set HOITHI_DATA to a writable folder",
            staging.display()
        )
    })?;
    fs::set_permissions(&staging, fs::Permissions::from_mode(0o700))?;
    if let Some(owner) = owner {
        chown(&staging, Some(owner.uid.as_raw()), Some(owner.gid.as_raw())).with_context(|| {
            format!(
                "cannot give {} to the user {}",
                staging.display(),
                owner.name
            )
        })?;
        check_reachable(&staging, owner)?;
    }
    let mut cmd = Command::new(bin.join("initdb"));
    cmd.arg("-D")
        .arg(&staging)
        .args([
            "--username",
            SUPERUSER,
            "--auth",
            "trust",
            "--encoding",
            "UTF8",
            "--locale",
            "C.UTF-8",
        ])
        .arg("--no-instructions")
        .stdin(Stdio::null());
    as_owner(&mut cmd, owner);
    let out = cmd.output().context("cannot run initdb")?;
    if !out.status.success() {
        let _ = fs::remove_dir_all(&staging);
        bail!(
            "initdb failed: {}",
            last_line(&String::from_utf8_lossy(&out.stderr))
        );
    }
    fs::rename(&staging, dir)
        .with_context(|| format!("cannot move the new cluster to {}", dir.display()))?;
    tracing::info!(dir = %dir.display(), "initialised a private PostgreSQL cluster");
    Ok(())
}

/// Where clusters live whose data folder PostgreSQL's user cannot enter.
const UNREACHABLE_DATA_HOME: &str = "/var/lib/hoithi";

/// Where the cluster of the data folder's `dir` lives when PostgreSQL runs as `owner`: in the
/// data folder when the owner can reach it; else (a folder only root can enter, such as a
/// clone in root's home) in `/var/lib/hoithi/pg-<hash of the path>`, with `dir` a symbolic
/// link to it, so the next start, an operator's `ls -l` and a backup find it. A cluster that
/// already sits in an unreachable `dir` is left where it is (the start then says how to fix it).
fn place_for(dir: &Path, owner: &User) -> anyhow::Result<PathBuf> {
    if let Ok(target) = fs::read_link(dir) {
        let parent = dir.parent().unwrap_or(Path::new("/"));
        return Ok(parent.join(target));
    }
    if dir.exists() || check_reachable(dir, owner).is_ok() {
        return Ok(dir.to_path_buf());
    }
    let home = Path::new(UNREACHABLE_DATA_HOME);
    fs::create_dir_all(home).with_context(|| {
        format!(
            "cannot create {}; set HOITHI_DATA to a folder the user '{}' can enter",
            home.display(),
            owner.name
        )
    })?;
    let cluster = home.join(format!(
        "pg-{:016x}",
        fnv1a(dir.as_os_str().as_encoded_bytes())
    ));
    std::os::unix::fs::symlink(&cluster, dir)
        .with_context(|| format!("cannot link {} to {}", dir.display(), cluster.display()))?;
    tracing::warn!(
        data = %dir.display(),
        cluster = %cluster.display(),
        "PostgreSQL runs as the user '{}', who cannot enter the data folder: its private cluster lives in {} (the data folder's pg links to it)",
        owner.name,
        cluster.display()
    );
    Ok(cluster)
}

/// FNV-1a: a name for a path that stays the same across builds and Rust versions.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// The owner needs to pass through every folder above the cluster.
fn check_reachable(dir: &Path, owner: &User) -> anyhow::Result<()> {
    use std::os::unix::fs::MetadataExt;
    for ancestor in dir.ancestors().skip(1) {
        let Ok(meta) = fs::metadata(ancestor) else {
            continue;
        };
        let mode = meta.mode();
        let ok = mode & 0o001 != 0
            || (meta.uid() == owner.uid.as_raw() && mode & 0o100 != 0)
            || (meta.gid() == owner.gid.as_raw() && mode & 0o010 != 0);
        if !ok {
            bail!(
                "PostgreSQL runs as the user '{}', who cannot enter {}; set HOITHI_DATA to a folder outside it (for example /var/lib/hoithi) or allow it with chmod o+x",
                owner.name,
                ancestor.display()
            );
        }
    }
    Ok(())
}

/// The pid of a live postmaster serving `dir`, from its `postmaster.pid`.
fn running_postmaster(dir: &Path) -> Option<Pid> {
    let text = fs::read_to_string(dir.join("postmaster.pid")).ok()?;
    let pid = Pid::from_raw(text.lines().next()?.trim().parse().ok()?);
    kill(pid, None).ok()?;
    // A zombie (dead, not yet reaped: its parent hoithi was killed and this machine's init
    // reaps slowly) has an empty cmdline and counts as gone.
    let cmdline = fs::read(format!("/proc/{pid}/cmdline")).ok()?;
    String::from_utf8_lossy(&cmdline)
        .contains("postgres")
        .then_some(pid)
}

/// Removes the lock files (`postmaster.pid`, the socket's `.lock`) of a postmaster that is
/// gone. PostgreSQL does this itself for a dead pid, but refuses while the pid exists at all,
/// and a zombie still exists.
fn remove_stale_pid_file(dir: &Path) {
    let path = dir.join("postmaster.pid");
    if path.exists() && running_postmaster(dir).is_none() {
        tracing::info!(path = %path.display(), "removing the lock files of a PostgreSQL that is gone");
        let _ = fs::remove_file(path);
        let _ = fs::remove_file(dir.join(format!(".s.PGSQL.{PORT}.lock")));
        let _ = fs::remove_file(dir.join(format!(".s.PGSQL.{PORT}")));
    }
}

/// Whether a postmaster already serves `dir` and can be shared. One whose hoithi died is
/// shutting down (it got the death signal), so we wait for it to go and start our own.
fn attach_running(dir: &Path) -> anyhow::Result<bool> {
    let started = Instant::now();
    loop {
        let Some(pid) = running_postmaster(dir) else {
            return Ok(false);
        };
        let ready = pm_status(dir).as_deref() == Some("ready")
            && dir.join(format!(".s.PGSQL.{PORT}")).exists();
        let orphan = parent_pid(pid) == Some(1);
        // An orphan that stays ready was not started by hoithi's supervisor (or lost its
        // death signal); it is still a working cluster.
        if ready && (!orphan || started.elapsed() > Duration::from_secs(5)) {
            return Ok(true);
        }
        if started.elapsed() > START_TIMEOUT {
            bail!(
                "a PostgreSQL (pid {pid}) holds {} but is not ready ({}); stop it or remove the folder's postmaster.pid if no such process runs",
                dir.display(),
                pm_status(dir).unwrap_or_default()
            );
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// The status line of `postmaster.pid`: "starting", "ready", "stopping", …
fn pm_status(dir: &Path) -> Option<String> {
    let text = fs::read_to_string(dir.join("postmaster.pid")).ok()?;
    text.lines().nth(7).map(|l| l.trim().to_owned())
}

fn parent_pid(pid: Pid) -> Option<i32> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name may hold spaces and parentheses; fields resume after the last ')'.
    stat.rsplit_once(')')?
        .1
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

/// Waits until `postmaster.pid` says "ready" and the socket exists.
fn wait_ready(dir: &Path, exited: &mpsc::Receiver<()>, timeout: Duration) -> anyhow::Result<()> {
    let deadline = Instant::now() + timeout;
    loop {
        if pm_status(dir).as_deref() == Some("ready")
            && dir.join(format!(".s.PGSQL.{PORT}")).exists()
        {
            return Ok(());
        }
        if exited.try_recv().is_ok() {
            bail!("PostgreSQL stopped while starting: {}", log_tail(dir));
        }
        if Instant::now() > deadline {
            bail!(
                "PostgreSQL did not become ready within {}s: {}",
                timeout.as_secs(),
                log_tail(dir)
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn log_path(dir: &Path) -> PathBuf {
    dir.with_extension("log")
}

fn log_tail(dir: &Path) -> String {
    let mut text = String::new();
    if let Ok(mut f) = fs::File::open(log_path(dir)) {
        let _ = f.read_to_string(&mut text);
    }
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    let tail = lines[lines.len().saturating_sub(2)..].join(" | ");
    if tail.is_empty() {
        format!("see {}", log_path(dir).display())
    } else {
        tail
    }
}

fn last_line(text: &str) -> &str {
    text.lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("no output")
}

fn spawn_postmaster(
    bin: &Path,
    dir: &Path,
    owner: Option<&User>,
) -> anyhow::Result<OwnedPostmaster> {
    let log = fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log_path(dir))
        .with_context(|| format!("cannot write {}", log_path(dir).display()))?;
    let mut cmd = Command::new(bin.join("postgres"));
    cmd.arg("-D")
        .arg(dir)
        .arg("-c")
        .arg("listen_addresses=")
        .arg("-c")
        .arg(format!("unix_socket_directories={}", dir.display()))
        .arg("-c")
        .arg(format!("port={PORT}"))
        .args(["-c", "max_connections=200", "-c", "shared_buffers=128MB"])
        .stdin(Stdio::null())
        .stdout(log.try_clone()?)
        .stderr(log);
    as_owner(&mut cmd, owner);
    #[expect(
        unsafe_code,
        reason = "pre_exec runs between fork and exec; prctl is async-signal-safe"
    )]
    // SAFETY: the closure only calls prctl(2), which allocates nothing and takes no locks.
    unsafe {
        cmd.pre_exec(|| {
            // Runs after setuid, which would clear it. If hoithi dies, even by SIGKILL,
            // the postmaster gets SIGTERM: a smart shutdown, once its last client (our
            // connections die with us; a `hoithi admin` next to us finishes) is gone.
            nix::sys::prctl::set_pdeathsig(Signal::SIGTERM).map_err(std::io::Error::from)
        });
    }

    // The death signal follows the *thread* that forked, so a thread that lives as long as
    // the postmaster spawns and reaps it.
    let (pid_tx, pid_rx) = mpsc::channel();
    let (exit_tx, exit_rx) = mpsc::channel();
    std::thread::Builder::new()
        .name("postgres-keeper".into())
        .spawn(move || {
            match cmd.spawn() {
                Ok(mut child) => {
                    let _ = pid_tx.send(Ok(Pid::from_raw(child.id() as i32)));
                    let _ = child.wait();
                }
                Err(err) => {
                    let _ = pid_tx.send(Err(err));
                }
            }
            let _ = exit_tx.send(());
        })?;
    let pid = pid_rx
        .recv()
        .context("the PostgreSQL keeper thread died")?
        .context("cannot start postgres")?;
    wait_ready(dir, &exit_rx, START_TIMEOUT)?;
    tracing::info!(dir = %dir.display(), %pid, "private PostgreSQL started");
    Ok(OwnedPostmaster {
        pid,
        exited: exit_rx,
    })
}
