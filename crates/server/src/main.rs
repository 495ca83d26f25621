//! `fyncall-server`: create a team database, seed a demo team, serve the API.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;

use anyhow::{Context, bail};
use clap::{Args, Parser, Subcommand, ValueEnum};
use fyncall_domain::Role;
use fyncall_server::store::NewAgent;
use fyncall_server::{Database, auth, demo};

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
        #[command(flatten)]
        db: DbArgs,
        #[arg(long)]
        admin_email: String,
        #[arg(long)]
        admin_name: String,
    },
    /// Serve the API.
    Serve {
        #[command(flatten)]
        db: DbArgs,
        /// Address to listen on; port 0 picks a free port.
        #[arg(long, env = "FYNCALL_LISTEN", default_value = "127.0.0.1:8470")]
        listen: String,
        #[command(flatten)]
        limits: LimitArgs,
    },
    /// Create a fresh database with a demo team and print its sign-ins.
    Demo {
        #[command(flatten)]
        db: DbArgs,
        /// Also this many tickets of history (for benches): nine in ten
        /// resolved and closed, spread over `--history-days`.
        #[arg(long, default_value_t = 0)]
        tickets: usize,
        /// The days the history's tickets are spread over, before now.
        #[arg(long, default_value_t = 730, value_parser = clap::value_parser!(u32).range(1..=3650))]
        history_days: u32,
    },
    /// Copy a live SQLite store consistently (the server may keep serving).
    /// PostgreSQL stores use pg_dump.
    Backup {
        /// The team's SQLite file.
        #[arg(long)]
        db: PathBuf,
        /// The backup file to write (must not exist).
        #[arg(long)]
        to: PathBuf,
    },
    /// Put a backup in place of an SQLite store (stop the server first). The
    /// restored store gets a new database id: every client notices, downloads
    /// the team again and sends again the changes the backup does not hold.
    Restore {
        /// The team's SQLite file to replace.
        #[arg(long)]
        db: PathBuf,
        /// A file made by `fyncall-server backup`.
        #[arg(long)]
        from: PathBuf,
    },
    /// Move a team from its SQLite file into an empty PostgreSQL database,
    /// whole (history, sessions, tokens, the change sequence, the database
    /// id): clients carry on without downloading the team again. Stop the
    /// server first; serve the new store with `serve --database-url`.
    Migrate {
        /// The team's SQLite file.
        #[arg(long)]
        from_db: PathBuf,
        /// The empty PostgreSQL database: postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE.
        #[arg(long, env = "FYNCALL_DATABASE_URL", hide_env_values = true)]
        to_database_url: String,
    },
    /// Give a PostgreSQL store restored with pg_restore its new database id,
    /// so every client notices and heals.
    Restored {
        /// The restored database: postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE.
        #[arg(long, env = "FYNCALL_DATABASE_URL", hide_env_values = true)]
        database_url: String,
    },
}

/// How `serve` protects itself (API.md "Auth", "Operations").
#[derive(Args)]
struct LimitArgs {
    /// Serve HTTPS with this certificate chain (PEM); needs --tls-key.
    /// Without it the server speaks plain HTTP: put a TLS proxy in front.
    #[arg(
        long,
        env = "FYNCALL_TLS_CERT",
        requires = "tls_key",
        value_name = "PEM"
    )]
    tls_cert: Option<PathBuf>,
    /// The private key (PEM) of --tls-cert.
    #[arg(
        long,
        env = "FYNCALL_TLS_KEY",
        requires = "tls_cert",
        value_name = "PEM"
    )]
    tls_key: Option<PathBuf>,
    /// An agent's session ends after this many days unused (fractions allowed).
    #[arg(long, env = "FYNCALL_SESSION_DAYS", default_value_t = 30.0, value_parser = positive_days)]
    session_days: f64,
    /// An agent's session ends this many days after sign-in however much it
    /// is used (fractions allowed); signing in again starts a new one.
    #[arg(long, env = "FYNCALL_SESSION_MAX_DAYS", default_value_t = 90.0, value_parser = positive_days)]
    session_max_days: f64,
    /// Requests per second one session may make (bursts of twice as many); 0 turns it off.
    #[arg(long, env = "FYNCALL_MAX_REQUEST_RATE", default_value_t = 100)]
    max_request_rate: u32,
    /// A proxy (address or CIDR, repeatable; comma-separated in the
    /// environment) whose X-Forwarded-For names the client.
    #[arg(
        long,
        env = "FYNCALL_TRUSTED_PROXY",
        value_delimiter = ',',
        value_name = "CIDR"
    )]
    trusted_proxy: Vec<ipnet::IpNet>,
    /// Seconds a request may take before it is answered 503 (live streams excepted).
    #[arg(long, default_value_t = 30)]
    request_timeout_secs: u64,
    /// Seconds a connection may stay silent before it is closed.
    #[arg(long, default_value_t = 60)]
    idle_timeout_secs: u64,
    /// Requests served at once; past it the server answers 503 at once.
    #[arg(long, default_value_t = 1024)]
    max_concurrent_requests: usize,
    /// Live streams open at once across all sessions (each session: at most 8).
    #[arg(long, default_value_t = 4096)]
    max_streams: usize,
    /// Days a pushed mutation id is remembered, so a change sent again is applied once.
    #[arg(long, default_value_t = 400)]
    remember_mutations_days: i64,
    /// Lets webhooks be plain http:// to hosts outside this machine (by
    /// default only https:// leaves it: a plain POST can be read and forged
    /// on the way).
    #[arg(long, env = "FYNCALL_ALLOW_HTTP_WEBHOOKS")]
    allow_http_webhooks: bool,
    /// Sends no deliveries: replies and events are queued and kept, not
    /// sent (a staging copy of a live team's backup must not answer its
    /// customers). Served again without it, the queue goes out.
    #[arg(long, env = "FYNCALL_HOLD_DELIVERIES")]
    hold_deliveries: bool,
    /// The key file mailbox passwords are sealed with (made when missing,
    /// readable by this user only). Default for an SQLite store: the
    /// store's path and `.mail-key`, beside it. Keep it with the store's
    /// backups, apart from them.
    #[arg(long, env = "FYNCALL_MAIL_KEY", value_name = "FILE")]
    mail_key: Option<PathBuf>,
    /// Lets mailboxes reach mail servers outside this machine without TLS
    /// (by default `security: none` is only for 127.0.0.1).
    #[arg(long, env = "FYNCALL_ALLOW_PLAIN_MAIL")]
    allow_plain_mail: bool,
    /// Certificate authorities (PEM) the mail servers' TLS may chain to,
    /// besides the OS's: for a mail server with a company's own certificate.
    #[arg(long, env = "FYNCALL_MAIL_CA", value_name = "PEM")]
    mail_ca: Option<PathBuf>,
}

fn positive_days(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(d) if d > 0.0 && d <= 3650.0 => Ok(d),
        _ => Err(format!(
            "{text:?} is not a number of days between 0 and 3650"
        )),
    }
}

impl LimitArgs {
    fn config(self) -> anyhow::Result<fyncall_server::Config> {
        if self.remember_mutations_days < 1 {
            anyhow::bail!("--remember-mutations-days must be at least 1");
        }
        let tls = match (self.tls_cert, self.tls_key) {
            (Some(cert), Some(key)) => Some(fyncall_server::limits::TlsFiles { cert, key }),
            _ => None,
        };
        Ok(fyncall_server::Config {
            session_idle: chrono::TimeDelta::milliseconds(
                (self.session_days * 86_400_000.0) as i64,
            ),
            session_max: chrono::TimeDelta::milliseconds(
                (self.session_max_days * 86_400_000.0) as i64,
            ),
            max_request_rate: self.max_request_rate,
            request_burst: self.max_request_rate.saturating_mul(2),
            trusted_proxies: self.trusted_proxy,
            request_timeout: std::time::Duration::from_secs(self.request_timeout_secs.max(1)),
            idle_timeout: std::time::Duration::from_secs(self.idle_timeout_secs.max(1)),
            max_concurrent_requests: self.max_concurrent_requests.max(1),
            streams_per_session: 8,
            max_streams: self.max_streams.max(1),
            remember_mutations: chrono::TimeDelta::days(self.remember_mutations_days),
            snapshot_stall: fyncall_server::Config::default().snapshot_stall,
            allow_http_webhooks: self.allow_http_webhooks,
            deliver: !self.hold_deliveries,
            report_time_limit: fyncall_server::Config::default().report_time_limit,
            tls,
            mail_key: self.mail_key,
            allow_plain_mail: self.allow_plain_mail,
            mail_poll: fyncall_server::Config::default().mail_poll,
            mail_ca: self.mail_ca,
        })
    }
}

/// Where the team lives: an SQLite file, or PostgreSQL shared by several
/// server instances.
#[derive(Args)]
struct DbArgs {
    /// The team's SQLite file.
    #[arg(long, env = "FYNCALL_DB")]
    db: Option<PathBuf>,
    /// A PostgreSQL database: postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE.
    #[arg(long, env = "FYNCALL_DATABASE_URL", hide_env_values = true)]
    database_url: Option<String>,
}

impl DbArgs {
    fn database(self) -> anyhow::Result<Database> {
        match (self.db, self.database_url) {
            (Some(_), Some(_)) => {
                bail!("give --db or --database-url (FYNCALL_DATABASE_URL), not both")
            }
            (None, Some(url)) => Ok(Database::Postgres(url)),
            (Some(path), None) => Ok(Database::Sqlite(path)),
            (None, None) => bail!(
                "say where the team lives: --db FILE (SQLite) or --database-url postgres://..."
            ),
        }
    }
}

/// Runs store work off the async workers (the PostgreSQL client blocks).
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> anyhow::Result<T> + Send + 'static,
) -> anyhow::Result<T> {
    tokio::task::spawn_blocking(f).await?
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
            let database = db.database()?;
            let place = database.describe();
            let admin = blocking(move || {
                let (_, admin) = database
                    .create(&new, &hash, fyncall_server::time::now())
                    .map_err(|e| anyhow::anyhow!("{e}"))?;
                Ok(admin)
            })
            .await?;
            println!("created team database {place} with admin {}", admin.email);
        }
        Command::Demo {
            db,
            tickets,
            history_days,
        } => {
            let database = db.database()?;
            let place = database.describe();
            let described = blocking(move || {
                let now = fyncall_server::time::now();
                let team = demo::create_in(&database, now).map_err(|e| anyhow::anyhow!("{e}"))?;
                let mut described = team.describe();
                if tickets > 0 {
                    let started = std::time::Instant::now();
                    let made =
                        demo::history(
                            team.store.as_ref(),
                            &team.admin,
                            &team.agents,
                            tickets,
                            history_days,
                            now,
                        )
                            .map_err(|e| anyhow::anyhow!("{e}"))?;
                    described.push_str(&format!(
                        "History: {} tickets over {history_days} days ({} closed) on {} conversations, made in {:.1} s\n",
                        made.tickets,
                        made.closed,
                        made.conversations,
                        started.elapsed().as_secs_f64()
                    ));
                }
                Ok(described)
            })
            .await?;
            println!("created demo team database {place}");
            print!("{described}");
        }
        Command::Backup { db, to } => {
            let shown = to.display().to_string();
            blocking(move || {
                fyncall_server::SqliteStore::backup(&db, &to).map_err(|e| anyhow::anyhow!("{e}"))
            })
            .await?;
            println!("backed up to {shown}");
        }
        Command::Restore { db, from } => {
            let shown = db.display().to_string();
            let id = blocking(move || {
                fyncall_server::SqliteStore::restore(&db, &from).map_err(|e| anyhow::anyhow!("{e}"))
            })
            .await?;
            println!("restored {shown}; its new database id is {id}");
        }
        Command::Migrate {
            from_db,
            to_database_url,
        } => {
            let moved = blocking(move || {
                fyncall_server::migrate::sqlite_to_postgres(&from_db, &to_database_url)
                    .map_err(|e| anyhow::anyhow!("{e}"))
            })
            .await?;
            println!("moved: {moved}");
            println!(
                "serve it with `fyncall-server serve --database-url ...`; clients keep their data and carry on"
            );
        }
        Command::Restored { database_url } => {
            let id = blocking(move || {
                fyncall_server::PgStore::restored(&database_url).map_err(|e| anyhow::anyhow!("{e}"))
            })
            .await?;
            println!("the restored database's new id is {id}");
        }
        Command::Serve { db, listen, limits } => {
            let mut config = limits.config()?;
            if config.mail_key.is_none()
                && let Some(path) = &db.db
            {
                config.mail_key = Some(fyncall_server::mail::key_beside(path));
            }
            let scheme = if config.tls.is_some() {
                "https"
            } else {
                "http"
            };
            let database = db.database()?;
            let place = database.describe();
            let store =
                blocking(move || database.open().map_err(|e| anyhow::anyhow!("{e}"))).await?;
            let listener = tokio::net::TcpListener::bind(&listen)
                .await
                .with_context(|| {
                    format!("cannot listen on {listen}: is another server using it?")
                })?;
            let running = fyncall_server::start_with(store.clone(), listener, config).await?;
            println!("listening on {scheme}://{}", running.addr);
            std::io::stdout().flush()?;
            tracing::info!(addr = %running.addr, db = %place, "serving");
            wait_for_signal().await;
            tracing::info!("shutting down: finishing requests in flight");
            running.shutdown().await?;
            blocking(move || store.close().map_err(|e| anyhow::anyhow!("{e}"))).await?;
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
