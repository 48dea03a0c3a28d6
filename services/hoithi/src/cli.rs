//! The command line: `serve`, `worker`, `migrate`, `admin …`.

use clap::{Parser, Subcommand};
use hoithi_core::account::{self, NewUser};
use hoithi_core::config::Config;
use hoithi_core::domain::{DisplayName, Email, Password, Role};
use tokio_util::sync::CancellationToken;

use crate::services::Services;
use crate::{Application, Roles};

#[derive(Parser)]
#[command(
    name = "hoithi",
    version = crate::VERSION,
    about = "Hội Thi: online contests for the Youth Union"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the web app, the upload service and the media worker (by default all three).
    Serve {
        /// Comma-separated roles to run: web, upload, worker.
        #[arg(long, env = "HOITHI_ROLES", default_value = "web,upload,worker")]
        roles: String,
    },
    /// Run the media worker only.
    Worker,
    /// Apply database migrations and exit.
    Migrate,
    /// Serve the embedded S3 endpoint alone (HOITHI_DATA/objects), for several nodes to share.
    ServeS3 {
        #[arg(long, default_value = "127.0.0.1:9000")]
        listen: std::net::SocketAddr,
    },
    /// Write the database and every object into a new folder.
    Backup {
        #[arg(long)]
        out: std::path::PathBuf,
    },
    /// Replace the database and objects with those of a backup folder.
    Restore {
        #[arg(long)]
        from: std::path::PathBuf,
    },
    /// Internal: decode one untrusted media file in a sandboxed child of the worker
    /// (`--input FILE --output DIR --kind video|photo [--max-seconds N]`).
    #[command(hide = true)]
    MediaJob {
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
    /// Ask a running server's /readyz; exit 0 only if it answers 200 (for container health
    /// checks: the image has no curl).
    Healthcheck {
        /// The readiness URL; by default /readyz on HOITHI_LISTEN (0.0.0.0 asked as 127.0.0.1).
        #[arg(long)]
        url: Option<String>,
        /// Seconds to wait for the connection and for each read.
        #[arg(long, default_value_t = 5)]
        timeout: u64,
    },
    /// Operator tasks.
    Admin {
        #[command(subcommand)]
        task: AdminTask,
    },
}

#[derive(Subcommand)]
enum AdminTask {
    /// Create a user whose email counts as verified.
    CreateUser {
        #[arg(long)]
        email: String,
        #[arg(long)]
        password: String,
        #[arg(long)]
        name: String,
        #[arg(long, default_value = "member")]
        role: String,
        /// Slug of the user's unit.
        #[arg(long)]
        unit: Option<String>,
    },
    /// Create or update youth-union units from a CSV file of `slug,name,parent_slug`.
    ImportUnits {
        /// The CSV file.
        file: std::path::PathBuf,
    },
    /// Create a contest from a TOML file with the fields of the organizer's form.
    CreateContest {
        #[arg(long)]
        file: std::path::PathBuf,
    },
    /// Recount valid votes and compare them with the tallies; exits non-zero on a difference.
    CheckTallies {
        /// Only the contest with this slug.
        #[arg(long)]
        contest: Option<String>,
    },
    /// Set (or with --clear remove) the member number of the account with this email: the
    /// way to mend a number a voter stated by mistake or someone else claimed.
    SetMemberNumber {
        #[arg(long)]
        email: String,
        #[arg(long, required_unless_present = "clear", conflicts_with = "clear")]
        number: Option<String>,
        #[arg(long)]
        clear: bool,
    },
    /// Erase the IP addresses of votes whose dispute window (HOITHI_VOTE_DISPUTE_DAYS after the
    /// results) has ended, and show what was erased.
    EraseVoteIps {
        /// Only show what would be erased.
        #[arg(long)]
        dry_run: bool,
    },
    /// Carry out the account deletions whose grace period (HOITHI_ACCOUNT_DELETION_DAYS) has
    /// passed, as the web role does every hour, and show them.
    DeleteAccounts {
        /// Only show what would be deleted.
        #[arg(long)]
        dry_run: bool,
    },
    /// Apply each contest's retention after results (files of entries that won nothing,
    /// accounts of code-only voters), as the web role does every hour, and show it.
    ApplyRetention {
        /// Only show what would be deleted.
        #[arg(long)]
        dry_run: bool,
    },
}

pub fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    if let Command::MediaJob { args } = &cli.command {
        // Before any settings are read: the child has no environment and needs none.
        std::process::exit(hoithi_worker::child::main(args));
    }
    if let Command::Healthcheck { url, timeout } = &cli.command {
        // Before settings and logging: a probe needs only the address (see healthcheck.rs).
        let url = match url {
            Some(url) => url.clone(),
            None => crate::healthcheck::default_url()?,
        };
        crate::healthcheck::check(&url, std::time::Duration::from_secs((*timeout).max(1)))?;
        println!("ready: {url}");
        return Ok(());
    }
    let config = Config::from_env()?;
    crate::telemetry::init(config.log_format);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        match cli.command {
            Command::Serve { roles } => serve(config, Roles::parse(&roles)?).await,
            Command::Worker => {
                serve(
                    config,
                    Roles {
                        web: false,
                        upload: false,
                        worker: true,
                    },
                )
                .await
            }
            Command::Migrate => {
                let services = Services::open(&config, false).await?;
                println!("migrations applied");
                services.stop().await;
                Ok(())
            }
            Command::ServeS3 { listen } => crate::ops::serve_s3(config, listen).await,
            Command::Backup { out } => crate::ops::backup(config, &out).await,
            Command::Restore { from } => crate::ops::restore(config, &from).await,
            Command::Admin { task } => admin(config, task).await,
            Command::MediaJob { .. } | Command::Healthcheck { .. } => {
                unreachable!("handled before the runtime starts")
            }
        }
    })
}

async fn serve(config: Config, roles: Roles) -> anyhow::Result<()> {
    let shutdown = CancellationToken::new();
    crate::cancel_on_signal(shutdown.clone());
    let app = tokio::select! {
        app = Application::build(config, roles) => app?,
        () = shutdown.cancelled() => anyhow::bail!("stopped during start-up"),
    };
    println!("Hội Thi is listening on http://{}", app.local_addr());
    match app.metrics_addr() {
        Some(addr) => println!("Metrics for Prometheus: http://{addr}/metrics (operators only)"),
        None => println!("Metrics are off (HOITHI_METRICS_LISTEN=off)"),
    }
    app.run_until_stopped(shutdown).await
}

async fn admin(config: Config, task: AdminTask) -> anyhow::Result<()> {
    match task {
        AdminTask::CreateUser {
            email,
            password,
            name,
            role,
            unit,
        } => create_user(&config, email, password, name, role, unit).await,
        AdminTask::ImportUnits { file } => import_units(&config, file).await,
        AdminTask::CreateContest { file } => create_contest(&config, file).await,
        AdminTask::SetMemberNumber { email, number, .. } => {
            set_member_number(&config, email, number).await
        }
        AdminTask::EraseVoteIps { dry_run } => erase_vote_ips(&config, dry_run).await,
        AdminTask::DeleteAccounts { dry_run } => delete_accounts(&config, dry_run).await,
        AdminTask::ApplyRetention { dry_run } => apply_retention(&config, dry_run).await,
        AdminTask::CheckTallies { contest } => check_tallies(&config, contest).await,
    }
}

async fn create_user(
    config: &Config,
    email: String,
    password: String,
    name: String,
    role: String,
    unit: Option<String>,
) -> anyhow::Result<()> {
    let user = NewUser {
        email: Email::parse(&email)
            .map_err(|_| anyhow::anyhow!("--email {email:?} is not an email address"))?,
        password: Password::parse(&password).map_err(|_| {
            anyhow::anyhow!(
                "--password must have {} to {} characters",
                Password::MIN_CHARS,
                Password::MAX_BYTES
            )
        })?,
        name: DisplayName::parse(&name)
            .map_err(|_| anyhow::anyhow!("--name must have 1 to 120 characters"))?,
        role: Role::parse(&role).map_err(|_| {
            anyhow::anyhow!("--role {role:?} must be admin, organizer, judge or member")
        })?,
        unit_slug: unit,
        email_verified: true,
    };
    let services = Services::open(config, false).await?;
    let result = account::create_user(&services.db, user).await;
    services.stop().await;
    let id = result?;
    println!("created user {id} <{email}>");
    Ok(())
}

async fn import_units(config: &Config, file: std::path::PathBuf) -> anyhow::Result<()> {
    let text = std::fs::read_to_string(&file)
        .map_err(|e| anyhow::anyhow!("cannot read {}: {e}", file.display()))?;
    let rows = hoithi_web::units::parse_csv(&text)
        .map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))?;
    let services = Services::open(config, false).await?;
    let result = async {
        let mut tx = services.db.begin().await?;
        let n = hoithi_web::units::import(&mut tx, &rows).await?;
        tx.commit().await?;
        Ok::<_, anyhow::Error>(n)
    }
    .await;
    services.stop().await;
    let n = result?;
    println!("imported {n} units");
    Ok(())
}

async fn create_contest(config: &Config, file: std::path::PathBuf) -> anyhow::Result<()> {
    let text = std::fs::read_to_string(&file)
        .map_err(|e| anyhow::anyhow!("cannot read {}: {e}", file.display()))?;
    let spec = hoithi_web::contests::spec::ContestSpec::from_toml(&text)
        .map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))?;
    let services = Services::open(config, false).await?;
    let result = hoithi_web::contests::create(&services.db, None, &spec).await;
    services.stop().await;
    match result? {
        Ok(id) => {
            println!("created contest {id} ({})", spec.slug.trim());
            Ok(())
        }
        Err(errors) => {
            let list: Vec<String> = errors.iter().map(ToString::to_string).collect();
            anyhow::bail!("{}: {}", file.display(), list.join("; "))
        }
    }
}

async fn set_member_number(
    config: &Config,
    email: String,
    number: Option<String>,
) -> anyhow::Result<()> {
    let services = Services::open(config, false).await?;
    let result =
        hoithi_web::voting::set_member_number(&services.db, &email, number.as_deref()).await;
    services.stop().await;
    println!("{}", result?);
    Ok(())
}

async fn erase_vote_ips(config: &Config, dry_run: bool) -> anyhow::Result<()> {
    let services = Services::open(config, false).await?;
    let result =
        hoithi_web::voting::erase_vote_ips(&services.db, config.vote_dispute_days, dry_run).await;
    services.stop().await;
    let erased = result?;
    let verb = if dry_run { "would erase" } else { "erased" };
    for c in &erased {
        println!(
            "contest {} ({}): {verb} the addresses of {} votes (dispute window ended {})",
            c.contest_id,
            c.slug,
            c.votes,
            c.window_ended_at.to_rfc3339()
        );
    }
    let total: i64 = erased.iter().map(|c| c.votes).sum();
    println!(
        "{} contests, {total} votes: {verb} their addresses ({} days after results)",
        erased.len(),
        config.vote_dispute_days
    );
    Ok(())
}

async fn delete_accounts(config: &Config, dry_run: bool) -> anyhow::Result<()> {
    let services = Services::open(config, true).await?;
    let days = config.account_deletion_days;
    let result = match services.storage() {
        Ok(storage) => {
            hoithi_web::privacy::delete_accounts(&services.db, storage, days, dry_run).await
        }
        Err(e) => Err(e),
    };
    services.stop().await;
    let done = result?;
    let verb = if dry_run { "would delete" } else { "deleted" };
    for d in &done {
        println!(
            "account {}: {verb} (asked {}, {} unpublished entries)",
            d.app_user_id,
            d.requested_at.to_rfc3339(),
            d.unpublished_entries
        );
    }
    println!(
        "{} accounts: {verb} ({days} days after they were asked)",
        done.len()
    );
    Ok(())
}

async fn apply_retention(config: &Config, dry_run: bool) -> anyhow::Result<()> {
    let services = Services::open(config, true).await?;
    let result = match services.storage() {
        Ok(storage) => hoithi_web::privacy::apply_retention(&services.db, storage, dry_run).await,
        Err(e) => Err(e),
    };
    services.stop().await;
    let done = result?;
    let verb = if dry_run { "would delete" } else { "deleted" };
    for c in &done {
        println!(
            "contest {} ({}): {verb} the files of {} entries and {} code-only voters (results {})",
            c.contest_id,
            c.slug,
            c.entries,
            c.voters,
            c.results_at.to_rfc3339()
        );
    }
    println!("{} contests: {verb} what their retention says", done.len());
    Ok(())
}

async fn check_tallies(config: &Config, contest: Option<String>) -> anyhow::Result<()> {
    let services = Services::open(config, false).await?;
    let result = hoithi_web::voting::check_tallies(&services.db, contest.as_deref()).await;
    services.stop().await;
    let (entries, votes, differences) = result?;
    for d in &differences {
        println!(
            "contest {} entry {}: tally {} but {} valid votes",
            d.contest_id, d.entry_id, d.tally, d.counted
        );
    }
    if differences.is_empty() {
        println!("{entries} entries, {votes} valid votes: every tally matches");
        Ok(())
    } else {
        anyhow::bail!(
            "{} of {entries} tallies differ from the recount",
            differences.len()
        )
    }
}
