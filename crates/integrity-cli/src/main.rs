//! The `integrity` command: argument parsing and wiring only.

mod backup_cmd;
mod config;
mod demo;
mod documents;
mod import;
mod metrics;
mod relay;
mod serve;
mod shutdown;
mod sim;
mod tickets_cmd;
mod tokens;

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand};
use integrity_domain::manifest::Manifest;
use integrity_store::{DatabaseUrl, Store, StoreError};

#[derive(Parser)]
#[command(name = "integrity", version, about = "A server for 811 locate tickets")]
struct Cli {
    /// Database: sqlite://PATH or postgres://USER:PASSWORD@HOST/DATABASE.
    #[arg(
        long,
        global = true,
        env = "INTEGRITY_DATABASE_URL",
        default_value = "sqlite://integrity.db"
    )]
    database: String,

    /// Settings from a TOML file (see docs/deploy.md); the environment and
    /// flags override it.
    #[arg(long, global = true, env = "INTEGRITY_CONFIG")]
    config: Option<PathBuf>,

    /// Log lines as text or as JSON objects (one per line).
    #[arg(
        long,
        global = true,
        env = "INTEGRITY_LOG_FORMAT",
        default_value = "text"
    )]
    log_format: LogFormat,

    #[command(subcommand)]
    command: Command,
}

#[derive(Clone, Copy, Debug, clap::ValueEnum)]
enum LogFormat {
    Text,
    Json,
}

impl LogFormat {
    fn name(self) -> &'static str {
        match self {
            LogFormat::Text => "text",
            LogFormat::Json => "json",
        }
    }
}

#[derive(Subcommand)]
enum Command {
    /// Run the HTTP API.
    Serve(serve::ServeArgs),
    /// Bring the database schema up to date (serve does this on start too).
    Migrate,
    /// Create or update accounts, users, call centers and custom fields from
    /// a JSON manifest; applying the same file again changes nothing.
    Apply {
        /// The manifest (see docs/provisioning.md).
        file: PathBuf,
    },
    /// Take in tickets: JSON Lines, or call centers' documents.
    Import(import::ImportArgs),
    /// Take in call centers' documents dropped into a folder.
    #[command(subcommand)]
    Intake(IntakeCommand),
    /// Issue, list and revoke API keys.
    #[command(subcommand)]
    Tokens(tokens::TokensCommand),
    /// Deliver responses to call centers, or look at the delivery queue.
    #[command(subcommand)]
    Relay(relay::RelayCommand),
    /// Run a simulated call center that receives positive responses.
    CallCenterSim(sim::SimArgs),
    /// Read and work tickets on a running server through its API.
    Tickets(tickets_cmd::TicketsArgs),
    /// Print the API's OpenAPI 3.1 document (also served at /openapi.json).
    Openapi,
    /// Look at the configuration.
    #[command(subcommand)]
    Config(ConfigCommand),
    /// Write a consistent backup of an SQLite database, also while a server
    /// runs on it (PostgreSQL: use pg_dump).
    Backup(backup_cmd::BackupArgs),
    /// Copy everything into a new or empty database, SQLite to PostgreSQL
    /// or back, and check every table against the source.
    Copy(backup_cmd::CopyArgs),
}

#[derive(Subcommand)]
enum ConfigCommand {
    /// Print the configuration `serve` would run with (defaults, then the
    /// file, the environment and these flags), secrets hidden.
    Print(serve::ServeArgs),
}

#[derive(Subcommand)]
enum IntakeCommand {
    /// Take in every file dropped into DIR, moving each to DIR/done or
    /// DIR/failed (with a reason file). Nothing is deleted.
    Watch(documents::WatchArgs),
}

// Parsing call-center documents and serving JSON allocate many small,
// short-lived values, often freed on another thread than the one that made
// them; mimalloc handles that pattern several times faster than the system
// allocator. Built so that it does not ask for transparent huge pages
// (Cargo feature `no_thp`): with them, each range mimalloc hands back to
// the system and takes again came back as a whole 2 MiB page to clear, and
// an import held twice the memory for the same speed. (A kernel set to give
// huge pages to every process, not only on request, still does.)
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    if let Some(file) = config::file_from_args(&args) {
        if let Err(e) = config::apply_file(&file) {
            eprintln!("error: {e:#}");
            return ExitCode::from(2);
        }
    }
    let cli = Cli::parse_from(args);
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| "info,sqlx=warn".into());
    let logs = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match cli.log_format {
        LogFormat::Text => logs.init(),
        // Each line a JSON object carrying its spans' fields, so a request's
        // id is on every line logged while serving it.
        LogFormat::Json => logs.json().flatten_event(true).init(),
    }
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    if let Command::CallCenterSim(args) = cli.command {
        return sim::run(args).await;
    }
    if let Command::Openapi = cli.command {
        print!("{}", integrity_api::openapi::document_json());
        return Ok(ExitCode::SUCCESS);
    }
    if let Command::Config(ConfigCommand::Print(serve)) = &cli.command {
        let url = DatabaseUrl::parse(&cli.database)?;
        print!("{}", config::render(&url, cli.log_format.name(), serve)?);
        return Ok(ExitCode::SUCCESS);
    }
    if let Command::Copy(args) = cli.command {
        return backup_cmd::copy(args).await;
    }
    if let Command::Tickets(args) = cli.command {
        return Ok(tickets_cmd::run(args).await);
    }
    let url = DatabaseUrl::parse(&cli.database)?;
    match cli.command {
        Command::Tickets(_) => unreachable!("handled above: it talks to a server, not a database"),
        Command::CallCenterSim(_) | Command::Openapi | Command::Config(_) => {
            unreachable!("handled above: it needs no database")
        }
        Command::Serve(args) => serve::run(&url, args).await.map(|()| ExitCode::SUCCESS),
        Command::Migrate => {
            Store::open(&url).await.context("migrating the database")?;
            println!("database is up to date");
            Ok(ExitCode::SUCCESS)
        }
        Command::Apply { file } => apply(&url, &file).await,
        Command::Import(args) => import::run(&url, args).await,
        Command::Intake(IntakeCommand::Watch(args)) => {
            let store = Store::open(&url).await?;
            documents::watch(&store, args)
                .await
                .map(|()| ExitCode::SUCCESS)
        }
        Command::Tokens(command) => tokens::run(&url, command).await,
        Command::Relay(command) => relay::run(&url, command).await,
        Command::Backup(args) => backup_cmd::backup(&url, args).await,
        Command::Copy(_) => unreachable!("handled above: it names its own databases"),
    }
}

async fn apply(url: &DatabaseUrl, file: &std::path::Path) -> anyhow::Result<ExitCode> {
    let text =
        std::fs::read_to_string(file).with_context(|| format!("reading {}", file.display()))?;
    let manifest = match Manifest::from_json(&text) {
        Ok(manifest) => manifest,
        Err(errors) => return Ok(report_invalid(file, &errors)),
    };
    let store = Store::open(url).await?;
    match store.apply(&manifest).await {
        Ok(report) => {
            println!(
                "applied {}: {} created, {} updated, {} unchanged",
                file.display(),
                report.created,
                report.updated,
                report.unchanged
            );
            Ok(ExitCode::SUCCESS)
        }
        Err(StoreError::Invalid(errors)) => Ok(report_invalid(file, &errors)),
        Err(e) => Err(e.into()),
    }
}

fn report_invalid(file: &std::path::Path, errors: &integrity_domain::ValidationErrors) -> ExitCode {
    eprintln!("{} was not applied; nothing changed:", file.display());
    for line in errors.to_string().split("; ") {
        eprintln!("  {line}");
    }
    ExitCode::FAILURE
}
