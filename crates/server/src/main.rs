//! `fyncall-server`: create a team database, seed a demo team, serve the API.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{Context, bail};
use clap::{Parser, Subcommand, ValueEnum};
use fyncall_domain::Role;
use fyncall_server::store::NewAgent;
use fyncall_server::{SqliteStore, auth, demo};

#[derive(Parser)]
#[command(name = "fyncall-server", version, about = "The Fyncall team server")]
struct Cli {
    /// Log format.
    #[arg(long, global = true, value_enum, default_value = "text")]
    log_format: LogFormat,
    #[command(subcommand)]
    command: Command,
}

#[derive(Clone, Copy, ValueEnum)]
enum LogFormat {
    Json,
    Text,
}

#[derive(Subcommand)]
enum Command {
    /// Create a new team database with one admin (password from FYNCALL_ADMIN_PASSWORD or a prompt).
    Init {
        #[arg(long)]
        db: PathBuf,
        #[arg(long)]
        admin_email: String,
        #[arg(long)]
        admin_name: String,
    },
    /// Serve the API.
    Serve {
        #[arg(long)]
        db: PathBuf,
        /// Address to listen on; port 0 picks a free port.
        #[arg(long, default_value = "127.0.0.1:8470")]
        listen: String,
    },
    /// Create a fresh database with a demo team and print its sign-ins.
    Demo {
        #[arg(long)]
        db: PathBuf,
    },
}

fn init_logs(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Json => builder.json().init(),
        LogFormat::Text => builder.init(),
    }
}

fn admin_password() -> anyhow::Result<String> {
    if let Ok(p) = std::env::var("FYNCALL_ADMIN_PASSWORD") {
        return Ok(p);
    }
    if !std::io::stdin().is_terminal() {
        bail!("set FYNCALL_ADMIN_PASSWORD to the admin's password (no terminal to ask on)");
    }
    let first = rpassword::prompt_password("Admin password: ")?;
    let second = rpassword::prompt_password("Again: ")?;
    if first != second {
        bail!("the two passwords differ; run init again");
    }
    Ok(first)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    init_logs(cli.log_format);
    match cli.command {
        Command::Init {
            db,
            admin_email,
            admin_name,
        } => {
            let password = admin_password()?;
            let new = NewAgent {
                name: admin_name,
                email: admin_email,
                role: Role::Admin,
                password,
            };
            fyncall_server::api::check_new_agent(&new).map_err(|e| anyhow::anyhow!("{e}"))?;
            let hash = auth::hash_password(&new.password).map_err(|e| anyhow::anyhow!("{e}"))?;
            let (_, admin) = SqliteStore::create(&db, &new, &hash, fyncall_server::time::now())
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            println!(
                "created team database {} with admin {}",
                db.display(),
                admin.email
            );
        }
        Command::Demo { db } => {
            let team = demo::create(&db, fyncall_server::time::now())
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            println!("created demo team database {}", db.display());
            print!("{}", team.describe());
        }
        Command::Serve { db, listen } => {
            let store = SqliteStore::open(&db).map_err(|e| anyhow::anyhow!("{e}"))?;
            let store = Arc::new(store);
            let listener = tokio::net::TcpListener::bind(&listen)
                .await
                .with_context(|| {
                    format!("cannot listen on {listen}: is another server using it?")
                })?;
            let running = fyncall_server::start(store.clone(), listener).await?;
            println!("listening on http://{}", running.addr);
            std::io::stdout().flush()?;
            tracing::info!(addr = %running.addr, db = %db.display(), "serving");
            wait_for_signal().await;
            tracing::info!("shutting down: finishing requests in flight");
            running.shutdown().await?;
            store.checkpoint().map_err(|e| anyhow::anyhow!("{e}"))?;
            tracing::info!("stopped cleanly");
        }
    }
    Ok(())
}

async fn wait_for_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(s) => s,
                Err(_) => {
                    let _ = ctrl_c.await;
                    return;
                }
            };
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = ctrl_c.await;
    }
}
