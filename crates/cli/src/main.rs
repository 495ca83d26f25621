//! `fyncall`: Fyncall Desk in a terminal, on the same local cache and sync
//! engine as the desktop app. Every action works offline: it is applied to
//! the cache, queued, and sent at the next sync.
//!
//! Exit codes: 0 done, 2 refused by the rules, 3 server unreachable, 1 anything else.

mod output;

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::{Arc, Mutex};

use chrono::Utc;
use clap::{Parser, Subcommand};
use fyncall_cache::session::{self, Session};
use fyncall_cache::{AssigneeFilter, Cache, CacheError, Query};
use fyncall_domain::mutation::{
    Assign, ChangePriority, ChangeStatus, ClaimConversation, Comment, CreateTicket, EditTicket,
    MarkMentionsRead, MergeTicket, Reply, SetTags, UnmergeTicket,
};
use fyncall_domain::tags::TagFilter;
use fyncall_domain::{Mutation, Order, Priority, SortField, Status, View};
use fyncall_sync::{Client, Engine, SyncError, SyncEvent, Transport};
use uuid::Uuid;

#[derive(Parser)]
#[command(
    name = "fyncall",
    version,
    about = "Fyncall Desk in a terminal: your tickets, offline first"
)]
struct Cli {
    /// Folder of the cache and sign-in (default: the desktop app's data folder).
    #[arg(long, global = true, env = "FYNCALL_HOME")]
    home: Option<PathBuf>,
    /// Print JSON (API.md shapes, plus `"pending": true` on unsynced rows).
    #[arg(long, global = true)]
    json: bool,
    /// Do not try to send an action right away; leave it queued.
    #[arg(long, global = true)]
    offline: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Sign in to a Fyncall server (password from FYNCALL_PASSWORD or a prompt).
    Login {
        #[arg(long)]
        server: String,
        #[arg(long)]
        email: String,
        /// A certificate authority (PEM) to trust besides the OS store, for a
        /// server with a certificate of the team's own.
        #[arg(long, value_name = "FILE")]
        ca: Option<PathBuf>,
        /// Allow plain http:// to a server outside this machine (anyone on
        /// the way can read the password and the tickets).
        #[arg(long)]
        allow_http: bool,
    },
    /// Change your password (current and new from FYNCALL_PASSWORD and
    /// FYNCALL_NEW_PASSWORD, or prompts); every other session ends.
    Password,
    /// Your sessions on the server (this one marked), or end them.
    Sessions {
        #[command(subcommand)]
        action: Option<SessionAction>,
    },
    /// Sign out (the cache and its queued changes stay).
    Logout,
    /// Server, agent, online or offline, last sync, cursor, pending and problems.
    Info,
    /// Push queued changes, then pull until caught up.
    Sync {
        /// Stay connected and apply live changes until interrupted.
        #[arg(long)]
        watch: bool,
    },
    /// List tickets of a view.
    Tickets {
        #[arg(long, default_value = "all")]
        view: String,
        /// Comma list: open,in_progress,waiting_on_customer,resolved,closed.
        #[arg(long, value_delimiter = ',')]
        status: Vec<String>,
        /// Comma list: urgent,high,normal,low.
        #[arg(long, value_delimiter = ',')]
        priority: Vec<String>,
        /// An agent id, `me` or `none`.
        #[arg(long)]
        assignee: Option<String>,
        #[arg(long)]
        category: Option<String>,
        /// Tickets with any of these tags (comma list).
        #[arg(long, value_delimiter = ',')]
        tag: Vec<String>,
        /// Tickets with none of these tags (comma list).
        #[arg(long, value_delimiter = ',')]
        not_tag: Vec<String>,
        /// Words to find in subject, description and comments.
        #[arg(long)]
        search: Option<String>,
        /// number, subject, status, priority, assignee, category, created, updated, sla.
        #[arg(long)]
        sort: Option<String>,
        /// asc or desc (default: the view's).
        #[arg(long)]
        order: Option<String>,
        #[arg(long, default_value_t = 50)]
        limit: u32,
        /// The next-page cursor a previous listing printed.
        #[arg(long)]
        cursor: Option<String>,
    },
    /// A ticket with its SLA timers, AI context and timeline (id or #number);
    /// one closed before this machine's working set comes from the server.
    Show { ticket: String },
    /// Tickets closed before this machine's working set, from the server:
    /// those whose subject, description or comments hold WORDS.
    Archive {
        words: Option<String>,
        /// The next page, as the last one said.
        #[arg(long)]
        cursor: Option<String>,
    },
    /// A conversation with its messages and linked tickets.
    Conversation { id: String },
    /// Create a ticket on a conversation; prints its id.
    Create {
        #[arg(long)]
        conversation: String,
        #[arg(long)]
        subject: String,
        #[arg(long)]
        priority: String,
        #[arg(long)]
        description: Option<String>,
        #[arg(long)]
        category: Option<String>,
        /// An agent id or `me` (default: me).
        #[arg(long)]
        assignee: Option<String>,
    },
    /// Change a ticket's status (resolve with --note for the resolution note).
    Status {
        ticket: String,
        status: String,
        #[arg(long)]
        note: Option<String>,
    },
    /// Change a ticket's priority.
    Priority { ticket: String, priority: String },
    /// Assign a ticket to an agent id, `me` or `none`.
    Assign { ticket: String, assignee: String },
    /// Add tags to a ticket (and remove others with --remove).
    Tag {
        ticket: String,
        /// Tags to add: letters, digits, '-' and '_'.
        add: Vec<String>,
        /// Tags to remove (comma list).
        #[arg(long, value_delimiter = ',')]
        remove: Vec<String>,
    },
    /// The team's tags, with how many open tickets carry each.
    Tags,
    /// Merge a ticket into another (it closes as "merged into #B").
    Merge {
        ticket: String,
        /// The ticket to merge into.
        into: String,
        /// Only say what would move (and whether the rules allow it now).
        #[arg(long)]
        preview: bool,
    },
    /// Undo the merge of a ticket, within 7 days of it.
    Unmerge { ticket: String },
    /// The macros you may use (the team's and your own).
    Macros,
    /// Preview or apply a macro on a ticket.
    Macro {
        #[command(subcommand)]
        action: MacroCommand,
    },
    /// Comments that mention you, unread first (--read marks them all read).
    Mentions {
        /// Mark every unread mention read (queued like any change).
        #[arg(long)]
        read: bool,
    },
    /// Add an internal comment.
    Comment { ticket: String, text: String },
    /// Edit subject, description or category.
    Edit {
        ticket: String,
        #[arg(long)]
        subject: Option<String>,
        #[arg(long)]
        description: Option<String>,
        #[arg(long)]
        category: Option<String>,
    },
    /// Claim a conversation (and its open tickets).
    Claim { conversation: String },
    /// Reply to the customer on a conversation.
    Reply { conversation: String, text: String },
    /// Changes waiting to be sent.
    Pending,
    /// Changes the server refused, with its reasons.
    Problems {
        #[command(subcommand)]
        action: Option<ProblemAction>,
    },
    /// Reports computed from this machine's copy (they work offline).
    Report {
        #[command(subcommand)]
        report: ReportKind,
    },
}

#[derive(Subcommand)]
enum ReportKind {
    /// SLA compliance: met and missed first responses and resolutions,
    /// achievement rates, median and 90th percentile times.
    Sla {
        /// Start of the period: a date (00:00 in the team's calendar zone,
        /// UTC without one) or an RFC 3339 time. Default: 28 days before --to.
        #[arg(long, value_name = "WHEN")]
        from: Option<String>,
        /// End of the period, not included. Default: now.
        #[arg(long, value_name = "WHEN")]
        to: Option<String>,
        /// agent, priority, category, day, week or month.
        #[arg(long, default_value = "week")]
        by: String,
        /// Print CSV (the server's `Accept: text/csv` shape).
        #[arg(long)]
        csv: bool,
    },
}

#[derive(Subcommand)]
enum MacroCommand {
    /// What the macro would do: its text filled in, each step allowed or refused.
    Preview {
        ticket: String,
        /// The macro's name or id.
        r#macro: String,
    },
    /// Applies it: each step an ordinary change (queued offline), a refused one named.
    Apply {
        ticket: String,
        /// The macro's name or id.
        r#macro: String,
    },
}

#[derive(Subcommand)]
enum SessionAction {
    /// End one session by its id.
    End { id: String },
    /// End every session but this one ("sign out other devices").
    EndOthers,
}

#[derive(Subcommand)]
enum ProblemAction {
    /// Send a refused change again.
    Retry { id: String },
    /// Forget a refused change.
    Discard { id: String },
}

/// A failure with its exit code.
struct Failure {
    code: u8,
    message: String,
}

impl Failure {
    fn other(message: impl Into<String>) -> Failure {
        Failure {
            code: 1,
            message: message.into(),
        }
    }
}

impl From<CacheError> for Failure {
    fn from(e: CacheError) -> Self {
        match e {
            CacheError::Refused(r) => Failure {
                code: 2,
                message: format!("refused: {}", r.message),
            },
            other => Failure::other(other.to_string()),
        }
    }
}

impl From<SyncError> for Failure {
    fn from(e: SyncError) -> Self {
        match e {
            SyncError::Unreachable(m) => Failure {
                code: 3,
                message: format!("server unreachable: {m}; queued changes stay queued"),
            },
            SyncError::Unauthorized(m) => Failure::other(format!(
                "{m}: sign in again with `fyncall login --server URL --email EMAIL`"
            )),
            SyncError::Cache(e) => e.into(),
            other => Failure::other(other.to_string()),
        }
    }
}

type Outcome = Result<(), Failure>;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("fyncall: cannot start: {e}");
            return ExitCode::from(1);
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(f) => {
            eprintln!("fyncall: {}", f.message);
            ExitCode::from(f.code)
        }
    }
}

fn default_home() -> PathBuf {
    let data = std::env::var_os("XDG_DATA_HOME")
        .map(PathBuf::from)
        .filter(|p| p.is_absolute())
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/share")))
        .unwrap_or_else(|| PathBuf::from("."));
    data.join("app.fyncall.desk")
}

fn open_cache(home: &Path) -> Result<Cache, Failure> {
    fyncall_cache::files::private_dir(home)
        .map_err(|e| Failure::other(format!("cannot create {}: {e}", home.display())))?;
    Ok(Cache::open(&home.join("cache.sqlite"))?)
}

struct Ctx {
    home: PathBuf,
    json: bool,
    offline: bool,
}

impl Ctx {
    /// The saved sign-in with its token: from the OS keyring when it is
    /// kept there (the desktop app's sign-in is shared), else the file.
    async fn session(&self) -> Result<Session, Failure> {
        recall(&self.home).await?.ok_or_else(|| {
            Failure::other("not signed in: run `fyncall login --server URL --email EMAIL` first")
        })
    }

    async fn engine(&self, cache: Cache) -> Result<Engine, Failure> {
        let s = self.session().await?;
        let client = Client::for_session(&s)?;
        Ok(Engine::new(client, Arc::new(Mutex::new(cache))))
    }

    fn print<T: serde::Serialize>(&self, value: &T) -> Outcome {
        let text = serde_json::to_string_pretty(value)
            .map_err(|e| Failure::other(format!("cannot print: {e}")))?;
        println!("{text}");
        Ok(())
    }
}

/// Runs keyring and file work off the async workers (the keyring's D-Bus
/// client blocks on a runtime of its own).
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> fyncall_signin::Result<T> + Send + 'static,
) -> Result<T, Failure> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| Failure::other(format!("the sign-in store failed: {e}")))?
        .map_err(|e| Failure::other(e.to_string()))
}

/// The saved sign-in with its token (from the OS keyring when kept there).
async fn recall(home: &Path) -> Result<Option<Session>, Failure> {
    let home = home.to_path_buf();
    blocking(move || fyncall_signin::recall(&home)).await
}

async fn run(cli: Cli) -> Outcome {
    let ctx = Ctx {
        home: cli.home.clone().unwrap_or_else(default_home),
        json: cli.json,
        offline: cli.offline,
    };
    match cli.command {
        Command::Login {
            server,
            email,
            ca,
            allow_http,
        } => {
            let transport = Transport {
                ca_file: ca,
                allow_http,
            };
            login(&ctx, &server, &email, transport).await
        }
        Command::Password => change_password(&ctx).await,
        Command::Sessions { action } => sessions(&ctx, action).await,
        Command::Logout => logout(&ctx).await,
        Command::Info => info(&ctx).await,
        Command::Sync { watch } => sync(&ctx, watch).await,
        Command::Tickets {
            view,
            status,
            priority,
            assignee,
            category,
            tag,
            not_tag,
            search,
            sort,
            order,
            limit,
            cursor,
        } => {
            let cache = open_cache(&ctx.home)?;
            let view = View::parse(&view).ok_or_else(|| {
                Failure::other(format!(
                    "no view \"{view}\": use all, mine, sla-at-risk, pending or ai-escalated"
                ))
            })?;
            let mut q = Query::view(view);
            q.status = status
                .iter()
                .map(|s| parse_status(s))
                .collect::<Result<_, _>>()?;
            q.priority = priority
                .iter()
                .map(|p| parse_priority(p))
                .collect::<Result<_, _>>()?;
            q.assignee = assignee
                .map(|a| match a.as_str() {
                    "me" => Ok(AssigneeFilter::Me),
                    "none" => Ok(AssigneeFilter::Nobody),
                    other => parse_uuid(other, "agent").map(AssigneeFilter::Agent),
                })
                .transpose()?;
            q.category = category;
            q.tags = TagFilter::new(&tag, &not_tag).map_err(|r| Failure::other(r.message))?;
            q.search = search;
            q.limit = limit;
            q.cursor = cursor;
            if sort.is_some() || order.is_some() {
                let (default_field, default_order) = view.default_sort();
                let field = match sort {
                    Some(s) => SortField::parse(&s).ok_or_else(|| {
                        Failure::other(format!(
                            "cannot sort by \"{s}\": use number, subject, status, priority, \
                             assignee, category, created, updated or sla"
                        ))
                    })?,
                    None => default_field,
                };
                let order = match order.as_deref() {
                    None => default_order,
                    Some("asc") => Order::Asc,
                    Some("desc") => Order::Desc,
                    Some(o) => {
                        return Err(Failure::other(format!("order \"{o}\": use asc or desc")));
                    }
                };
                q.sort = Some((field, order));
            }
            let page = cache.tickets(&q, Utc::now())?;
            if ctx.json {
                ctx.print(&page)
            } else {
                let now = cache.server_now(Utc::now())?;
                output::tickets(&cache, &page, view, now)?;
                Ok(())
            }
        }
        Command::Archive { words, cursor } => {
            let cache = open_cache(&ctx.home)?;
            let days = cache.settings()?.sync_window_days;
            if ctx.offline || session::load(&ctx.home)?.is_none() {
                return Err(Failure::other(
                    fyncall_domain::working_set::archive_search_offline(days),
                ));
            }
            let engine = ctx.engine(cache).await?;
            let page: fyncall_cache::Page = match engine.search_archive(words, cursor).await {
                Ok(page) => page.into(),
                Err(e) if e.is_transient() => {
                    return Err(Failure::other(format!(
                        "{} ({e})",
                        fyncall_domain::working_set::archive_search_offline(days)
                    )));
                }
                Err(e) => return Err(e.into()),
            };
            if ctx.json {
                return ctx.print(&page);
            }
            let cache = engine.cache().clone();
            let cache = cache
                .lock()
                .map_err(|_| Failure::other("the cache lock was poisoned"))?;
            let now = cache.server_now(Utc::now())?;
            output::titled(
                &cache,
                &page,
                &format!("Closed before the last {days} days (from the server)"),
                now,
            )
        }
        Command::Show { ticket } => {
            let cache = open_cache(&ctx.home)?;
            let (cache, id) = match cache.find_ticket(&ticket) {
                Ok(id) => (cache, id),
                Err(CacheError::NotFound(m)) => from_archive(&ctx, cache, &ticket, m).await?,
                Err(e) => return Err(e.into()),
            };
            let detail = cache.ticket(id, Utc::now())?;
            if ctx.json {
                ctx.print(&detail)
            } else {
                let now = cache.server_now(Utc::now())?;
                output::ticket(&cache, &detail, now)?;
                Ok(())
            }
        }
        Command::Conversation { id } => {
            let cache = open_cache(&ctx.home)?;
            let id = parse_uuid(&id, "conversation")?;
            let detail = cache.conversation(id, Utc::now())?;
            if ctx.json {
                ctx.print(&detail)
            } else {
                let now = cache.server_now(Utc::now())?;
                output::conversation(&cache, &detail, now)?;
                Ok(())
            }
        }
        Command::Create {
            conversation,
            subject,
            priority,
            description,
            category,
            assignee,
        } => {
            let cache = open_cache(&ctx.home)?;
            let me = cache.me()?.ok_or(CacheError::NotSignedIn)?;
            let id = Uuid::now_v7();
            let assignee_id = match assignee.as_deref() {
                None | Some("me") => Some(me),
                Some(a) => Some(parse_uuid(a, "agent")?),
            };
            let m = Mutation::CreateTicket(CreateTicket {
                id,
                conversation_id: parse_uuid(&conversation, "conversation")?,
                subject,
                priority: parse_priority(&priority)?,
                description,
                category,
                assignee_id,
            });
            act(&ctx, cache, m, Target::Ticket(id), "Created ticket").await
        }
        Command::Status {
            ticket,
            status,
            note,
        } => {
            let cache = open_cache(&ctx.home)?;
            let id = cache.find_ticket(&ticket)?;
            let status = parse_status(&status)?;
            let m = Mutation::ChangeStatus(ChangeStatus {
                ticket_id: id,
                status,
                note,
            });
            let what = format!("Set status to {}", status.as_str());
            act(&ctx, cache, m, Target::Ticket(id), &what).await
        }
        Command::Priority { ticket, priority } => {
            let cache = open_cache(&ctx.home)?;
            let id = cache.find_ticket(&ticket)?;
            let priority = parse_priority(&priority)?;
            let m = Mutation::ChangePriority(ChangePriority {
                ticket_id: id,
                priority,
            });
            let what = format!("Set priority to {}", priority.as_str());
            act(&ctx, cache, m, Target::Ticket(id), &what).await
        }
        Command::Assign { ticket, assignee } => {
            let cache = open_cache(&ctx.home)?;
            let id = cache.find_ticket(&ticket)?;
            let assignee_id = match assignee.as_str() {
                "me" => Some(cache.me()?.ok_or(CacheError::NotSignedIn)?),
                "none" => None,
                a => Some(parse_uuid(a, "agent")?),
            };
            let m = Mutation::Assign(Assign {
                ticket_id: id,
                assignee_id,
            });
            act(&ctx, cache, m, Target::Ticket(id), "Assigned").await
        }
        Command::Tag {
            ticket,
            add,
            remove,
        } => {
            let cache = open_cache(&ctx.home)?;
            let id = cache.find_ticket(&ticket)?;
            if add.is_empty() && remove.is_empty() {
                return Err(Failure::other(
                    "name a tag to add (`fyncall tag 1042 vip`) or to remove (`--remove vip`)",
                ));
            }
            let m = Mutation::SetTags(SetTags {
                ticket_id: id,
                add,
                remove,
            });
            act(&ctx, cache, m, Target::Ticket(id), "Tags changed").await
        }
        Command::Merge {
            ticket,
            into,
            preview,
        } => {
            let cache = open_cache(&ctx.home)?;
            let id = cache.find_ticket(&ticket)?;
            let into = cache.find_ticket(&into)?;
            if preview {
                let p = cache.merge_preview(id, into, Utc::now())?;
                if ctx.json {
                    return ctx.print(&p);
                }
                match &p.refusal {
                    Some(r) => println!("Refused: {}", r.message),
                    None => {
                        for line in &p.moves {
                            println!("- {line}");
                        }
                    }
                }
                return Ok(());
            }
            let m = Mutation::MergeTicket(MergeTicket {
                ticket_id: id,
                into_ticket_id: into,
            });
            act(&ctx, cache, m, Target::Ticket(into), "Merged").await
        }
        Command::Unmerge { ticket } => {
            let cache = open_cache(&ctx.home)?;
            let id = cache.find_ticket(&ticket)?;
            let m = Mutation::UnmergeTicket(UnmergeTicket { ticket_id: id });
            act(&ctx, cache, m, Target::Ticket(id), "Unmerged").await
        }
        Command::Tags => {
            let cache = open_cache(&ctx.home)?;
            let counts = cache.tags()?;
            if ctx.json {
                ctx.print(&counts)
            } else {
                output::tags(&counts);
                Ok(())
            }
        }
        Command::Macros => {
            let cache = open_cache(&ctx.home)?;
            let list = cache.macros()?;
            if ctx.json {
                return ctx.print(&list);
            }
            output::macros(&list);
            Ok(())
        }
        Command::Macro {
            action: MacroCommand::Preview { ticket, r#macro },
        } => {
            let cache = open_cache(&ctx.home)?;
            let id = cache.find_ticket(&ticket)?;
            let m = cache.find_macro(&r#macro)?;
            let preview = cache.macro_preview(id, &m, Utc::now())?;
            if ctx.json {
                return ctx.print(&preview);
            }
            output::macro_preview(&m, &preview);
            Ok(())
        }
        Command::Macro {
            action: MacroCommand::Apply { ticket, r#macro },
        } => {
            let mut cache = open_cache(&ctx.home)?;
            let id = cache.find_ticket(&ticket)?;
            let m = cache.find_macro(&r#macro)?;
            let (done, _) = cache.apply_macro(id, &m, Utc::now())?;
            let mut note = "queued; run `fyncall sync` to send it";
            if !ctx.offline && session::load(&ctx.home)?.is_some() && !done.applied.is_empty() {
                // Sent at once when the server answers; queued otherwise.
                let engine = ctx.engine(cache).await?;
                if engine.sync_once().await.is_ok() {
                    note = "synced";
                }
            }
            if ctx.json {
                return ctx.print(&done);
            }
            println!(
                "Applied \"{}\": {} step(s) done ({note}){}",
                m.name,
                done.applied.len(),
                if done.refused.is_empty() {
                    "."
                } else {
                    "; refused:"
                }
            );
            for r in &done.refused {
                println!("  {}: {}", r.kind, r.refusal.message);
            }
            Ok(())
        }
        Command::Mentions { read } => {
            let cache = open_cache(&ctx.home)?;
            let list = cache.mentions(200)?;
            if read {
                let unread: Vec<Uuid> = list
                    .items
                    .iter()
                    .filter(|m| !m.read)
                    .map(|m| m.entry_id)
                    .collect();
                if unread.is_empty() {
                    println!("No unread mentions.");
                    return Ok(());
                }
                let m = Mutation::MarkMentionsRead(MarkMentionsRead { entry_ids: unread });
                return act(&ctx, cache, m, Target::Mentions, "Mentions read").await;
            }
            if ctx.json {
                ctx.print(&list)
            } else {
                output::mentions(&cache, &list)?;
                Ok(())
            }
        }
        Command::Comment { ticket, text } => {
            let cache = open_cache(&ctx.home)?;
            let id = cache.find_ticket(&ticket)?;
            let m = Mutation::Comment(Comment {
                id: Uuid::now_v7(),
                ticket_id: id,
                body: text,
                mention_ids: Vec::new(),
            });
            act(&ctx, cache, m, Target::Ticket(id), "Commented").await
        }
        Command::Edit {
            ticket,
            subject,
            description,
            category,
        } => {
            let cache = open_cache(&ctx.home)?;
            let id = cache.find_ticket(&ticket)?;
            if subject.is_none() && description.is_none() && category.is_none() {
                return Err(Failure::other(
                    "nothing to edit: give --subject, --description or --category",
                ));
            }
            let clear = |v: String| if v.trim().is_empty() { None } else { Some(v) };
            let m = Mutation::EditTicket(EditTicket {
                ticket_id: id,
                subject,
                description: description.map(clear),
                category: category.map(clear),
                base_version: cache.edit_base_version(id)?,
            });
            act(&ctx, cache, m, Target::Ticket(id), "Edited").await
        }
        Command::Claim { conversation } => {
            let cache = open_cache(&ctx.home)?;
            let id = parse_uuid(&conversation, "conversation")?;
            let m = Mutation::ClaimConversation(ClaimConversation {
                conversation_id: id,
            });
            act(
                &ctx,
                cache,
                m,
                Target::Conversation(id),
                "Claimed conversation",
            )
            .await
        }
        Command::Reply { conversation, text } => {
            let cache = open_cache(&ctx.home)?;
            let id = parse_uuid(&conversation, "conversation")?;
            let m = Mutation::Reply(Reply {
                id: Uuid::now_v7(),
                conversation_id: id,
                body: text,
                attachment_ids: Vec::new(),
            });
            act(&ctx, cache, m, Target::Conversation(id), "Replied").await
        }
        Command::Pending => {
            let cache = open_cache(&ctx.home)?;
            let outbox = cache.outbox()?;
            if ctx.json {
                return ctx.print(&outbox);
            }
            output::pending(&outbox);
            Ok(())
        }
        Command::Problems { action } => problems(&ctx, action).await,
        Command::Report {
            report: ReportKind::Sla { from, to, by, csv },
        } => sla_report(&ctx, from, to, &by, csv),
    }
}

fn parse_uuid(text: &str, what: &str) -> Result<Uuid, Failure> {
    Uuid::parse_str(text.trim())
        .map_err(|_| Failure::other(format!("\"{text}\" is not a {what} id (a UUID)")))
}

/// "a, b, c or d": the words a value may be, from the domain's lists.
fn choices(words: &[&str]) -> String {
    match words {
        [] => String::new(),
        [one] => (*one).to_owned(),
        [rest @ .., last] => format!("{} or {last}", rest.join(", ")),
    }
}

fn parse_status(text: &str) -> Result<Status, Failure> {
    Status::parse(&text.trim().replace('-', "_")).ok_or_else(|| {
        let all: Vec<&str> = Status::ALL.iter().map(|s| s.as_str()).collect();
        Failure::other(format!("no status \"{text}\": use {}", choices(&all)))
    })
}

fn parse_priority(text: &str) -> Result<Priority, Failure> {
    Priority::parse(text.trim()).ok_or_else(|| {
        // Most urgent first, as agents think of them.
        let all: Vec<&str> = Priority::ALL.iter().rev().map(|p| p.as_str()).collect();
        Failure::other(format!("no priority \"{text}\": use {}", choices(&all)))
    })
}

enum Target {
    Ticket(Uuid),
    Conversation(Uuid),
    /// The agent's own marks (mentions read).
    Mentions,
}

/// Applies an action locally and queues it; then, unless `--offline`,
/// tries to send it at once. Unreachable is not a failure: it stays queued.
async fn act(ctx: &Ctx, mut cache: Cache, m: Mutation, target: Target, what: &str) -> Outcome {
    let acted = cache.act(m, Utc::now())?;
    let Some(mutation_id) = acted.mutation_id else {
        if !ctx.json {
            println!("Nothing to change.");
        }
        return show_target(ctx, &cache, &target);
    };
    let mut note = "queued; run `fyncall sync` to send it".to_owned();
    let mut refused = None;
    let cache = if ctx.offline || session::load(&ctx.home)?.is_none() {
        cache
    } else {
        let engine = ctx.engine(cache).await?;
        match engine.sync_once().await {
            Ok(report) => {
                if let Some(notice) = report.notice.filter(|_| !ctx.json) {
                    println!("{notice}");
                }
                let problem = engine
                    .with_cache(move |c| {
                        Ok(c.problems()?.into_iter().find(|p| p.id == mutation_id))
                    })
                    .await?;
                match problem {
                    Some(p) => refused = Some(p.message),
                    None => note = "synced".into(),
                }
            }
            Err(e) if e.is_transient() => {
                note = format!(
                    "queued: the server is unreachable ({e}); it will be sent at the next sync"
                );
            }
            Err(e) => note = format!("queued: not sent ({e})"),
        }
        let shared = engine.cache().clone();
        drop(engine);
        Arc::try_unwrap(shared)
            .ok()
            .and_then(|m| m.into_inner().ok())
            .ok_or_else(|| Failure::other("the cache is still in use"))?
    };
    if let Some(message) = refused {
        return Err(Failure {
            code: 2,
            message: format!(
                "the server refused it: {message} (kept in `fyncall problems` with your text)"
            ),
        });
    }
    if !ctx.json {
        match &target {
            Target::Ticket(id) => {
                let label = cache
                    .ticket(*id, Utc::now())
                    .ok()
                    .and_then(|d| d.ticket.ticket.number)
                    .map_or_else(|| id.to_string(), |n| format!("#{n}"));
                println!("{what} {label}: {note}.");
                if what == "Created ticket" {
                    println!("{id}");
                }
            }
            Target::Conversation(id) => println!("{what} {id}: {note}."),
            Target::Mentions => println!("{what}: {note}."),
        }
        return Ok(());
    }
    show_target(ctx, &cache, &target)
}

/// A ticket the cache does not hold (closed before the working set), read
/// from the server's archive and kept; offline, says that it needs a
/// connection. `missing`: the cache's own words, for when it is no ticket.
async fn from_archive(
    ctx: &Ctx,
    cache: Cache,
    reference: &str,
    missing: String,
) -> Result<(Cache, Uuid), Failure> {
    let Some(wanted) = fyncall_sync::TicketRef::parse(reference) else {
        return Err(CacheError::NotFound(missing).into());
    };
    let days = cache.settings()?.sync_window_days;
    if ctx.offline || session::load(&ctx.home)?.is_none() {
        return Err(Failure::other(format!(
            "{missing}; {}",
            fyncall_domain::working_set::archive_offline(days)
        )));
    }
    let engine = ctx.engine(cache).await?;
    let id = match engine.fetch_ticket(&wanted).await {
        Ok(id) => id,
        Err(e) if e.is_transient() => {
            return Err(Failure::other(format!(
                "{} ({e})",
                fyncall_domain::working_set::archive_offline(days)
            )));
        }
        Err(e) => return Err(e.into()),
    };
    let shared = engine.cache().clone();
    drop(engine);
    let cache = Arc::try_unwrap(shared)
        .ok()
        .and_then(|m| m.into_inner().ok())
        .ok_or_else(|| Failure::other("the cache is still in use"))?;
    Ok((cache, id))
}

fn show_target(ctx: &Ctx, cache: &Cache, target: &Target) -> Outcome {
    if !ctx.json {
        return Ok(());
    }
    match target {
        Target::Ticket(id) => ctx.print(&cache.ticket(*id, Utc::now())?.ticket),
        Target::Conversation(id) => ctx.print(&cache.conversation(*id, Utc::now())?),
        Target::Mentions => ctx.print(&cache.mentions(200)?),
    }
}

/// A password from `var`, or a prompt on a terminal.
fn password_from(var: &str, prompt: &str) -> Result<String, Failure> {
    match std::env::var(var) {
        Ok(p) => Ok(p),
        Err(_) if std::io::stdin().is_terminal() => rpassword::prompt_password(prompt)
            .map_err(|e| Failure::other(format!("cannot read the password: {e}"))),
        Err(_) => Err(Failure::other(format!(
            "no password: set {var} or run on a terminal to be asked"
        ))),
    }
}

async fn login(ctx: &Ctx, server: &str, email: &str, transport: Transport) -> Outcome {
    // The address is checked before the password is asked for.
    let client = Client::connect(server, &transport)?;
    let password = password_from("FYNCALL_PASSWORD", "Password: ")?;
    let (home, at, mail) = (
        ctx.home.clone(),
        client.server().to_owned(),
        email.to_owned(),
    );
    let device = blocking(move || Ok(fyncall_signin::device_token(&home, &at, &mail))).await?;
    let signed = client
        .login_on_device(email, &password, device.as_deref())
        .await?;
    let (token, agent) = (signed.token, signed.agent);
    if let Some(device) = signed.device_token {
        let (home, server, mail) = (
            ctx.home.clone(),
            client.server().to_owned(),
            email.to_owned(),
        );
        blocking(move || fyncall_signin::keep_device_token(&home, &server, &mail, &device)).await?;
    }
    let mut cache = open_cache(&ctx.home)?;
    cache.sign_in(client.server(), agent.id)?;
    let home = ctx.home.clone();
    let session = Session {
        server: client.server().to_owned(),
        token: token.clone(),
        agent: agent.clone(),
        token_in_keyring: false,
        ca_file: transport
            .ca_file
            .as_ref()
            .map(|p| std::path::absolute(p).unwrap_or_else(|_| p.clone()))
            .map(|p| p.display().to_string()),
        allow_http: transport.allow_http,
    };
    blocking(move || fyncall_signin::keep(&home, session, fyncall_signin::Keep::KeyringOrFile))
        .await?;
    let engine = Engine::new(client.with_token(&token), Arc::new(Mutex::new(cache)));
    let progress = (!ctx.json).then(|| show_download(&engine));
    let synced = engine.sync_once().await;
    if let Some(p) = progress {
        p.abort();
    }
    // The first download's log into the file before the process ends.
    engine.settled().await;
    if ctx.json {
        return ctx.print(&agent);
    }
    println!(
        "Signed in as {} <{}> ({}) on {}.",
        agent.name,
        agent.email,
        if agent.is_admin() { "admin" } else { "agent" },
        server
    );
    match synced {
        Ok(r) => {
            if let Some(notice) = &r.notice {
                println!("{notice}");
            }
            println!("Synced: {} changes pulled, cursor {}.", r.pulled, r.cursor)
        }
        Err(e) => println!("Not synced yet: {e}"),
    }
    Ok(())
}

async fn logout(ctx: &Ctx) -> Outcome {
    let saved = match recall(&ctx.home).await {
        Ok(saved) => saved,
        // The keyring cannot be read: forget the sign-in here all the same.
        Err(e) => {
            eprintln!("{}", e.message);
            session::load(&ctx.home)?
        }
    };
    let Some(s) = saved else {
        println!("Not signed in.");
        return Ok(());
    };
    let told = match s.token.is_empty() {
        true => Err(SyncError::Unauthorized("no token".into())),
        false => Client::for_session(&s)?.logout().await,
    };
    let home = ctx.home.clone();
    let forgotten = s.clone();
    blocking(move || fyncall_signin::forget(&home, Some(&forgotten))).await?;
    match told {
        Ok(()) | Err(SyncError::Unauthorized(_)) => println!("Signed out."),
        Err(e) => println!("Signed out here; the server was not told ({e})."),
    }
    Ok(())
}

async fn info(ctx: &Ctx) -> Outcome {
    let cache = open_cache(&ctx.home)?;
    let info = cache.info()?;
    let s = match recall(&ctx.home).await {
        Ok(s) => s,
        Err(e) => {
            eprintln!("{}", e.message);
            session::load(&ctx.home)?
        }
    };
    let online = match &s {
        Some(s) => Client::for_session(s)?.me().await.map(|_| ()),
        None => Err(SyncError::Unauthorized("not signed in".into())),
    };
    if ctx.json {
        return ctx.print(&serde_json::json!({
            "server": s.as_ref().map(|s| &s.server),
            "agent": s.as_ref().map(|s| &s.agent),
            "online": online.is_ok(),
            "sync": info,
        }));
    }
    match &s {
        Some(s) => {
            println!("Server:     {}", s.server);
            println!("Agent:      {} <{}>", s.agent.name, s.agent.email);
        }
        None => println!("Signed in:  no (run `fyncall login --server URL --email EMAIL`)"),
    }
    println!(
        "Connection: {}",
        match &online {
            Ok(()) => "online".to_owned(),
            Err(e) => format!("offline ({e})"),
        }
    );
    println!(
        "Last sync:  {}",
        info.last_sync_at
            .map_or_else(|| "never".into(), |t| t.to_rfc3339())
    );
    println!("Cursor:     {}", info.cursor);
    println!("Pending:    {}", info.pending);
    println!("Problems:   {}", info.problems);
    println!("Cache:      {}", cache.path().display());
    Ok(())
}

async fn change_password(ctx: &Ctx) -> Outcome {
    let s = ctx.session().await?;
    let current = password_from("FYNCALL_PASSWORD", "Current password: ")?;
    let new = password_from(
        "FYNCALL_NEW_PASSWORD",
        "New password (12 characters or more): ",
    )?;
    if std::env::var("FYNCALL_NEW_PASSWORD").is_err() {
        let again = password_from("FYNCALL_NEW_PASSWORD", "New password again: ")?;
        if again != new {
            return Err(Failure::other(
                "the two new passwords differ: nothing changed",
            ));
        }
    }
    Client::for_session(&s)?
        .change_password(&current, &new)
        .await?;
    println!("Password changed; every other session of yours has ended.");
    Ok(())
}

async fn sessions(ctx: &Ctx, action: Option<SessionAction>) -> Outcome {
    let s = ctx.session().await?;
    let client = Client::for_session(&s)?;
    match action {
        Some(SessionAction::End { id }) => {
            client.end_session(parse_uuid(&id, "session")?).await?;
            println!("Session {id} ended.");
        }
        Some(SessionAction::EndOthers) => {
            let n = client.end_other_sessions().await?;
            println!("{n} other session(s) ended; this one stays.");
        }
        None => {
            let list = client.sessions().await?;
            if ctx.json {
                return ctx.print(&list);
            }
            for session in list {
                println!(
                    "{} {}  last used {}  ends {}  {}",
                    if session.current { "*" } else { " " },
                    session.id,
                    session.last_used_at.format("%Y-%m-%d %H:%M"),
                    session.expires_at.format("%Y-%m-%d"),
                    session.user_agent.as_deref().unwrap_or("(unknown client)")
                );
            }
        }
    }
    Ok(())
}

/// Prints how far a first download is to stderr, a line every tenth
/// (a terminal sees one line rewritten), until the download ends.
fn show_download(engine: &Engine) -> tokio::task::JoinHandle<()> {
    use std::io::{IsTerminal, Write};
    let mut status = engine.status();
    tokio::spawn(async move {
        let terminal = std::io::stderr().is_terminal();
        let mut shown = None;
        while status.changed().await.is_ok() {
            let Some(d) = status.borrow_and_update().download else {
                continue;
            };
            let percent = (d.rows * 100).checked_div(d.total).unwrap_or(100);
            let step = if terminal { percent } else { percent / 10 * 10 };
            if shown == Some(step) {
                continue;
            }
            shown = Some(step);
            let mut err = std::io::stderr().lock();
            let line = format!(
                "Downloading the team: {} of {} rows ({percent}%)",
                d.rows, d.total
            );
            let _ = if terminal {
                write!(err, "\r{line}{}", if d.rows == d.total { "\n" } else { "" })
            } else {
                writeln!(err, "{line}")
            };
        }
    })
}

async fn sync(ctx: &Ctx, watch: bool) -> Outcome {
    let cache = open_cache(&ctx.home)?;
    let engine = Arc::new(ctx.engine(cache).await?);
    if !watch {
        let progress = (!ctx.json).then(|| show_download(&engine));
        let report = engine.sync_once().await;
        if let Some(p) = progress {
            p.abort();
        }
        engine.settled().await;
        let report = report?;
        let info = engine.with_cache(|c| c.info()).await?;
        if ctx.json {
            return ctx.print(&serde_json::json!({
                "pushed": report.pushed, "rejected": report.rejected,
                "pulled": report.pulled, "cursor": report.cursor, "pending": info.pending,
                "problems": info.problems, "resent": report.resent, "notice": report.notice,
            }));
        }
        if let Some(notice) = &report.notice {
            println!("{notice}");
        }
        println!(
            "Synced: pushed {} ({} refused), pulled {} changes, cursor {}.",
            report.pushed, report.rejected, report.pulled, report.cursor
        );
        if info.problems > 0 {
            println!("{} sync problem(s): see `fyncall problems`.", info.problems);
        }
        return Ok(());
    }
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let mut events = engine.subscribe();
    let runner = {
        let engine = engine.clone();
        tokio::spawn(async move { engine.run(stop_rx).await })
    };
    println!("Watching for changes; Ctrl-C to stop.");
    let outcome = loop {
        tokio::select! {
            _ = tokio::signal::ctrl_c() => break Ok(()),
            ev = events.recv() => match ev {
                Ok(SyncEvent::Changed(changes)) => {
                    for t in &changes.tickets {
                        let label = t.after.as_ref().or(t.before.as_ref()).map(|t| {
                            t.number.map_or_else(|| t.id.to_string(), |n| format!("#{n}"))
                        });
                        println!("changed {}", label.unwrap_or_default());
                    }
                }
                // Presence is for windows; the CLI shows none.
                Ok(SyncEvent::Presence(_)) => {}
                Ok(SyncEvent::Status(s)) => {
                    if s.connection == fyncall_sync::Connection::SignedOut {
                        break Err(Failure::other(format!(
                            "{}: sign in again with `fyncall login`",
                            s.error.unwrap_or_default()
                        )));
                    }
                    if let Some(e) = s.error {
                        eprintln!("offline: {e}; retrying");
                    }
                }
                Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {}
                Err(_) => break Ok(()),
            }
        }
    };
    let _ = stop_tx.send(true);
    let _ = runner.await;
    outcome
}

async fn problems(ctx: &Ctx, action: Option<ProblemAction>) -> Outcome {
    let mut cache = open_cache(&ctx.home)?;
    match action {
        None => {
            let problems = cache.problems()?;
            if ctx.json {
                return ctx.print(&problems);
            }
            output::problems(&problems);
            Ok(())
        }
        Some(ProblemAction::Discard { id }) => {
            cache.discard_problem(parse_uuid(&id, "problem")?)?;
            println!("Discarded.");
            Ok(())
        }
        Some(ProblemAction::Retry { id }) => {
            let acted = cache.retry_problem(parse_uuid(&id, "problem")?, Utc::now())?;
            match acted.mutation_id {
                Some(new_id) => {
                    println!("Queued again as {new_id}; run `fyncall sync` to send it.")
                }
                None => println!("Nothing to change any more; the problem is cleared."),
            }
            Ok(())
        }
    }
}

/// `fyncall report sla`: the report from the local cache.
fn sla_report(ctx: &Ctx, from: Option<String>, to: Option<String>, by: &str, csv: bool) -> Outcome {
    use fyncall_domain::report::{self, GroupBy, ReportQuery};
    let cache = open_cache(&ctx.home)?;
    let now = cache.server_now(Utc::now())?;
    let zone = report::report_zone(&cache.settings()?);
    let when = |text: Option<String>, flag: &str| {
        text.map(|t| {
            report::parse_when(&t, zone).map_err(|why| Failure::other(format!("--{flag}: {why}")))
        })
        .transpose()
    };
    let to = when(to, "to")?.unwrap_or(now);
    let from = when(from, "from")?.unwrap_or(to - chrono::TimeDelta::days(28));
    if from >= to {
        return Err(Failure::other(
            "the period is empty: --from must come before --to",
        ));
    }
    let group_by = GroupBy::parse(by).ok_or_else(|| {
        Failure::other(format!(
            "cannot group by \"{by}\": use agent, priority, category, day, week or month"
        ))
    })?;
    let query = ReportQuery { from, to, group_by };
    let out = cache.sla_report(&query, now)?;
    if csv {
        print!("{}", out.to_csv());
        Ok(())
    } else if ctx.json {
        ctx.print(&out)
    } else {
        output::sla_report(&out);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_wrong_status_or_priority_lists_the_domain_s_words() {
        let e = parse_status("shipped").expect_err("no such status");
        assert_eq!(
            e.message,
            "no status \"shipped\": use open, in_progress, waiting_on_customer, resolved or closed"
        );
        let e = parse_priority("asap").expect_err("no such priority");
        assert_eq!(
            e.message,
            "no priority \"asap\": use urgent, high, normal or low"
        );
        assert_eq!(parse_status("in-progress").ok(), Some(Status::InProgress));
        assert_eq!(choices(&["a"]), "a");
        assert_eq!(choices(&[]), "");
    }
}
