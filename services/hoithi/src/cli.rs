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
    version,
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
        #[arg(long, default_value = "web,upload,worker")]
        roles: String,
    },
    /// Run the media worker only.
    Worker,
    /// Apply database migrations and exit.
    Migrate,
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
    /// Recount valid votes and compare them with the tallies; exits non-zero on a difference.
    CheckTallies {
        /// Only the contest with this slug.
        #[arg(long)]
        contest: Option<String>,
    },
}

pub fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
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
            Command::Admin { task } => admin(config, task).await,
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
        } => {
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
            let services = Services::open(&config, false).await?;
            let result = account::create_user(&services.db, user).await;
            services.stop().await;
            let id = result?;
            println!("created user {id} <{email}>");
            Ok(())
        }
        AdminTask::CheckTallies { contest } => {
            let services = Services::open(&config, false).await?;
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
    }
}
