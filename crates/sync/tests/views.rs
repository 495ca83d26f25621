//! The views are defined once, in the domain (`View::rule`): the server's
//! SQL and the cache's SQL are two translations of it. Over the same demo
//! team (closed tickets included), every view under every status filter,
//! with and without a priority, assignee, category or tag filter, lists the
//! same tickets from the server (over HTTP, page by page), from the cache
//! (page by page) and from the domain's rule applied to every ticket.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};

use fyncall_cache::{AssigneeFilter, Cache, Query};
use fyncall_domain::SlaReport;
use fyncall_domain::inbox::{self, InboxMoments};
use fyncall_domain::report::{self, GroupBy, ReportQuery};
use fyncall_domain::tags::TagFilter;
use fyncall_domain::testing::{ReportFixture, report_fixture};
use fyncall_domain::wire::Pulled;
use fyncall_domain::wire::millis;
use fyncall_domain::{
    Change, Conversation, InboxPage, InboxQuery, InboxRow, InboxView, Message, Priority, Status,
    Ticket, Timestamp, View,
};
use fyncall_server::{app, demo};
use fyncall_sync::{Client, Engine};
use serde_json::{Value, json};
use uuid::Uuid;

const ALICE: &str = "alice@demo.fyncall.test";

/// One filter beside the status filter, as each side spells it.
#[derive(Debug, Clone)]
enum Extra {
    None,
    Priority(Vec<Priority>),
    Assignee(Option<Uuid>),
    Category(String),
    /// Created within, both ends included.
    Created(Timestamp, Timestamp),
    /// Updated within, both ends included.
    Updated(Timestamp, Timestamp),
    /// A word to find in the subject, description or a comment.
    Search(String),
    /// Any of the first tags, none of the second (the domain's filter).
    Tags(TagFilter),
}

/// Whether some word of `text` starts with `word` (ignoring case): how
/// both stores find a whole word typed in the search box.
fn has_word(text: &str, word: &str) -> bool {
    text.split(|c: char| !c.is_alphanumeric())
        .any(|w| w.to_lowercase().starts_with(&word.to_lowercase()))
}

fn matches_extra(extra: &Extra, t: &Ticket, comments: &[(Uuid, String)]) -> bool {
    match extra {
        Extra::Created(from, to) => *from <= t.created_at && t.created_at <= *to,
        Extra::Updated(from, to) => *from <= t.updated_at && t.updated_at <= *to,
        Extra::Search(word) => {
            has_word(&t.subject, word)
                || t.description.as_deref().is_some_and(|d| has_word(d, word))
                || comments
                    .iter()
                    .any(|(id, body)| *id == t.id && has_word(body, word))
        }
        Extra::None => true,
        Extra::Priority(p) => p.contains(&t.priority),
        Extra::Assignee(a) => t.assignee_id == *a,
        Extra::Category(c) => t.category.as_deref() == Some(c.as_str()),
        Extra::Tags(f) => f.matches(t),
    }
}

fn server_params(view: View, status: &[Status], extra: &Extra) -> String {
    let mut p = format!("view={}&limit=40", view.as_str());
    if !status.is_empty() {
        let list: Vec<&str> = status.iter().map(|s| s.as_str()).collect();
        p.push_str(&format!("&status={}", list.join(",")));
    }
    match extra {
        Extra::None => {}
        Extra::Priority(list) => {
            let list: Vec<&str> = list.iter().map(|s| s.as_str()).collect();
            p.push_str(&format!("&priority={}", list.join(",")));
        }
        Extra::Assignee(None) => p.push_str("&assignee_id=none"),
        Extra::Assignee(Some(a)) => p.push_str(&format!("&assignee_id={a}")),
        Extra::Category(c) => p.push_str(&format!("&category={c}")),
        Extra::Created(from, to) => p.push_str(&format!(
            "&created_from={}&created_to={}",
            stamp(*from),
            stamp(*to)
        )),
        Extra::Updated(from, to) => p.push_str(&format!(
            "&updated_from={}&updated_to={}",
            stamp(*from),
            stamp(*to)
        )),
        Extra::Search(word) => p.push_str(&format!("&q={word}")),
        Extra::Tags(f) => {
            if !f.any_of.is_empty() {
                p.push_str(&format!("&tag={}", f.any_of.join(",")));
            }
            if !f.none_of.is_empty() {
                p.push_str(&format!("&not_tag={}", f.none_of.join(",")));
            }
        }
    }
    p
}

fn stamp(t: Timestamp) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
        .replace('+', "%2B")
}

async fn server_ids(
    http: &reqwest::Client,
    url: &str,
    token: &str,
    params: &str,
) -> BTreeSet<Uuid> {
    let mut ids = BTreeSet::new();
    let mut cursor: Option<String> = None;
    loop {
        let mut req = http
            .get(format!("{url}/api/v1/tickets?{params}"))
            .bearer_auth(token);
        if let Some(c) = &cursor {
            req = req.query(&[("cursor", c)]);
        }
        let page: Value = req
            .send()
            .await
            .expect("answers")
            .json()
            .await
            .expect("json");
        let tickets = page["tickets"]
            .as_array()
            .unwrap_or_else(|| panic!("{params}: {page}"));
        for t in tickets {
            ids.insert(t["id"].as_str().and_then(|s| s.parse().ok()).expect("id"));
        }
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => return ids,
        }
    }
}

fn cache_ids(
    cache: &Cache,
    view: View,
    status: &[Status],
    extra: &Extra,
    me: Uuid,
) -> BTreeSet<Uuid> {
    let mut q = Query::view(view);
    q.status = status.to_vec();
    q.limit = 40;
    match extra {
        Extra::None => {}
        Extra::Priority(p) => q.priority = p.clone(),
        Extra::Assignee(None) => q.assignee = Some(AssigneeFilter::Nobody),
        Extra::Assignee(Some(a)) if *a == me => q.assignee = Some(AssigneeFilter::Me),
        Extra::Assignee(Some(a)) => q.assignee = Some(AssigneeFilter::Agent(*a)),
        Extra::Category(c) => q.category = Some(c.clone()),
        Extra::Created(from, to) => (q.created_from, q.created_to) = (Some(*from), Some(*to)),
        Extra::Updated(from, to) => (q.updated_from, q.updated_to) = (Some(*from), Some(*to)),
        Extra::Search(word) => q.search = Some(word.clone()),
        Extra::Tags(f) => q.tags = f.clone(),
    }
    let mut ids = BTreeSet::new();
    loop {
        let page = cache.tickets(&q, chrono::Utc::now()).expect("page");
        ids.extend(page.tickets.iter().map(|t| t.ticket.id));
        match page.next_cursor {
            Some(c) => q.cursor = Some(c),
            None => return ids,
        }
    }
}

/// The demo team served on 127.0.0.1, Alice signed in, her cache synced.
struct Demo {
    _dir: tempfile::TempDir,
    team: demo::DemoTeam,
    server: app::Running,
    url: String,
    client: Client,
    token: String,
    agent: fyncall_domain::Agent,
    cache: Arc<Mutex<Cache>>,
    engine: Engine,
}

async fn demo_team() -> Demo {
    let dir = tempfile::tempdir().expect("dir");
    let team = demo::create(&dir.path().join("team.db"), chrono::Utc::now()).expect("demo");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    // Hundreds of list requests in a row: the per-session rate is off.
    let config = fyncall_server::Config {
        max_request_rate: 0,
        ..Default::default()
    };
    let server = app::start_with(team.store.clone(), listener, config)
        .await
        .expect("start");
    let url = format!("http://{}", server.addr);
    let client = Client::new(&url).expect("client");
    let (token, agent) = client
        .login(ALICE, demo::DEMO_PASSWORD)
        .await
        .expect("login");
    let cache = Arc::new(Mutex::new(
        Cache::open(&dir.path().join("cache.sqlite")).expect("cache"),
    ));
    cache
        .lock()
        .expect("lock")
        .sign_in(&url, agent.id)
        .expect("sign in");
    let engine = Engine::new(client.clone().with_token(&token), cache.clone());
    engine.sync_once().await.expect("synced");
    Demo {
        _dir: dir,
        team,
        server,
        url,
        client,
        token,
        agent,
        cache,
        engine,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_view_and_filter_lists_the_same_tickets_in_server_cache_and_rule() {
    let Demo {
        _dir,
        team: _,
        server,
        url,
        client,
        token,
        agent,
        cache,
        engine: _engine,
    } = demo_team().await;

    // Every ticket, from the server's own feed.
    let authed = client.with_token(&token);
    let Feed {
        tickets, comments, ..
    } = feed(&authed).await;
    assert!(
        tickets.iter().any(|t| t.status == Status::Closed),
        "the demo has closed tickets"
    );
    let policy = cache
        .lock()
        .expect("lock")
        .settings()
        .expect("settings")
        .sla;
    let mut created: Vec<Timestamp> = tickets.iter().map(|t| t.created_at).collect();
    created.sort();
    let mut updated: Vec<Timestamp> = tickets.iter().map(|t| t.updated_at).collect();
    updated.sort();
    let category = tickets
        .iter()
        .find_map(|t| t.category.clone())
        .expect("a category in use");

    let statuses: [&[Status]; 6] = [
        &[],
        &[Status::Closed],
        &[Status::Open, Status::Closed],
        &[Status::Resolved],
        &[Status::WaitingOnCustomer],
        &[Status::InProgress, Status::Open],
    ];
    let extras = [
        Extra::None,
        Extra::Priority(vec![Priority::High, Priority::Urgent]),
        Extra::Assignee(Some(agent.id)),
        Extra::Assignee(None),
        Extra::Category(category),
        // Ranges whose ends are tickets' own moments: both ends count.
        Extra::Created(created[created.len() / 4], created[created.len() * 3 / 4]),
        Extra::Updated(updated[updated.len() / 3], updated[updated.len() - 1]),
        Extra::Search("address".into()),
        Extra::Search("Loyalty".into()),
        Extra::Search("warehouse".into()),
        Extra::Tags(TagFilter::new(&["vip"], &[]).expect("tags")),
        Extra::Tags(TagFilter::new(&["late_delivery", "refund"], &[]).expect("tags")),
        Extra::Tags(TagFilter::new(&[], &["vip"]).expect("tags")),
        Extra::Tags(TagFilter::new(&["refund"], &["vip"]).expect("tags")),
        // `_` is no wildcard: this tag is on no ticket.
        Extra::Tags(TagFilter::new(&["late-delivery"], &[]).expect("tags")),
    ];
    let http = reqwest::Client::new();
    // The tag counts (suggestions) agree too.
    let from_server: Value = http
        .get(format!("{url}/api/v1/tags"))
        .bearer_auth(&token)
        .send()
        .await
        .expect("answers")
        .json()
        .await
        .expect("json");
    let from_cache = cache.lock().expect("lock").tags().expect("tags");
    assert!(!from_cache.is_empty(), "the demo has tags");
    assert_eq!(
        from_server,
        serde_json::to_value(&from_cache).expect("json")
    );
    let mut compared = 0;
    for view in View::ALL {
        for status in statuses {
            for extra in &extras {
                let params = server_params(view, status, extra);
                // SLA At Risk moves with the clock: ask again if a ticket
                // crossed its at-risk moment between the three reads.
                let mut attempt = 0;
                loop {
                    let now = chrono::Utc::now();
                    let rule = view.rule();
                    let expected: BTreeSet<Uuid> = tickets
                        .iter()
                        .filter(|t| rule.matches(t, agent.id, &policy, now, status))
                        .filter(|t| matches_extra(extra, t, &comments))
                        .map(|t| t.id)
                        .collect();
                    let from_server = server_ids(&http, &url, &token, &params).await;
                    let from_cache =
                        cache_ids(&cache.lock().expect("lock"), view, status, extra, agent.id);
                    if (from_server != expected || from_cache != expected)
                        && view == View::SlaAtRisk
                        && attempt < 3
                    {
                        attempt += 1;
                        continue;
                    }
                    let finds_some = matches!(
                        extra,
                        Extra::Created(..) | Extra::Updated(..) | Extra::Search(_)
                    ) || matches!(extra, Extra::Tags(f) if f.any_of.iter().any(|t| t != "late-delivery"));
                    if view == View::All && status.is_empty() && finds_some {
                        assert!(!expected.is_empty(), "{extra:?} finds something to compare");
                    }
                    assert_eq!(from_server, expected, "server, {params}");
                    assert_eq!(from_cache, expected, "cache, {params}");
                    break;
                }
                compared += 1;
            }
        }
    }
    // The archive: All with status closed holds every closed ticket.
    let closed = tickets
        .iter()
        .filter(|t| t.status == Status::Closed)
        .count();
    let archive = cache_ids(
        &cache.lock().expect("lock"),
        View::All,
        &[Status::Closed],
        &Extra::None,
        agent.id,
    );
    assert_eq!(archive.len(), closed);
    println!(
        "{compared} view × filter combinations agree over {} tickets ({closed} closed)",
        tickets.len()
    );
    server.shutdown().await.expect("stopped");
}

/// The team as the server's own feed has it now.
#[derive(Default)]
struct Feed {
    tickets: Vec<Ticket>,
    /// (ticket, comment text)
    comments: Vec<(Uuid, String)>,
    conversations: Vec<(Conversation, Vec<Message>)>,
}

async fn feed(client: &Client) -> Feed {
    let mut out = Feed::default();
    let mut cursor = 0;
    loop {
        let pulled = client.pull(cursor, 500).await.expect("pull");
        for change in &pulled.page.changes {
            match &change.data {
                Pulled::Activity(a) => {
                    if let Change::Comment { body, .. } = &a.change {
                        out.comments.push((a.ticket_id, body.clone()));
                    }
                }
                Pulled::Ticket(t) => {
                    out.tickets.retain(|x| x.id != t.ticket.id);
                    out.tickets.push(t.ticket.clone());
                }
                Pulled::Conversation(c) => {
                    out.conversations.retain(|(x, _)| x.id != c.conversation.id);
                    out.conversations
                        .push((c.conversation.clone(), c.messages.clone()));
                }
                _ => {}
            }
        }
        cursor = pulled.page.cursor;
        if !pulled.page.has_more {
            return out;
        }
    }
}

async fn server_inbox(
    http: &reqwest::Client,
    url: &str,
    token: &str,
    view: InboxView,
    search: &str,
) -> (Vec<Uuid>, u64) {
    let mut ids = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let mut req = http
            .get(format!("{url}/api/v1/conversations"))
            .query(&[("view", view.as_str()), ("limit", "7"), ("q", search)])
            .bearer_auth(token);
        if let Some(c) = &cursor {
            req = req.query(&[("cursor", c)]);
        }
        let res = req.send().await.expect("answers");
        assert!(
            res.status().is_success(),
            "{view:?} {search:?}: {}",
            res.status()
        );
        let page: InboxPage = res.json().await.expect("an inbox page");
        ids.extend(page.conversations.iter().map(|c| c.id));
        match page.next_cursor {
            Some(c) => cursor = Some(c),
            None => return (ids, page.total),
        }
    }
}

fn cache_inbox(cache: &Cache, view: InboxView, search: &str) -> (Vec<InboxRow>, u64) {
    let mut q = InboxQuery {
        view,
        search: Some(search.to_owned()),
        limit: 7,
        cursor: None,
    };
    let mut rows = Vec::new();
    loop {
        let page = cache.inbox(&q).expect("page");
        rows.extend(page.conversations);
        match page.next_cursor {
            Some(c) => q.cursor = Some(c),
            None => return (rows, page.total),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_inbox_view_and_search_lists_the_same_conversations_in_order() {
    let demo = demo_team().await;
    let http = reqwest::Client::new();
    // New chats nobody has claimed yet: one without a message, two whose
    // customers wrote (one of them answered by the AI since).
    let admin = demo
        .client
        .login("admin@demo.fyncall.test", demo::DEMO_PASSWORD)
        .await
        .expect("admin")
        .0;
    let integration: Value = http
        .post(format!("{}/api/v1/integrations/tokens", demo.url))
        .bearer_auth(&admin)
        .json(&json!({"name": "inbox test"}))
        .send()
        .await
        .expect("token")
        .json()
        .await
        .expect("json");
    let integration = integration["token"].as_str().expect("token").to_owned();
    for (name, messages) in [
        ("Quinn Nomessage", vec![]),
        ("Rae Waiting", vec![("customer", "My parcel never came")]),
        (
            "Sol Answered",
            vec![
                ("customer", "Invoice 50%_off wrong"),
                ("ai", "Looking into it"),
            ],
        ),
    ] {
        let c: Value = http
            .post(format!("{}/api/v1/integrations/conversations", demo.url))
            .bearer_auth(&integration)
            .json(&json!({"customer": {"name": name, "email": format!("{}@example.org", name.split(' ').next().unwrap_or("x").to_lowercase())}, "channel": "chat"}))
            .send()
            .await
            .expect("open")
            .json()
            .await
            .expect("json");
        let id = c["id"].as_str().expect("id").to_owned();
        for (author, body) in messages {
            let res = http
                .post(format!(
                    "{}/api/v1/integrations/conversations/{id}/messages",
                    demo.url
                ))
                .bearer_auth(&integration)
                .json(&json!({"author": author, "body": body}))
                .send()
                .await
                .expect("message");
            assert!(res.status().is_success(), "{}", res.status());
        }
    }
    demo.engine.sync_once().await.expect("synced");
    let authed = demo.client.clone().with_token(&demo.token);
    let Feed {
        tickets,
        conversations: all,
        ..
    } = feed(&authed).await;
    let messages: Vec<Message> = all.iter().flat_map(|(_, m)| m.clone()).collect();
    let a_customer = all[all.len() / 2].0.customer.name.clone();
    let searches = [
        "",
        "rae",
        "EXAMPLE.ORG",
        &a_customer[..a_customer.len().min(5)],
        "parcel",
        "50%_",
        "50%x",
        "looking",
        "no such words anywhere",
    ];
    let mut compared = 0;
    for view in InboxView::ALL {
        for search in searches {
            let rule = view.rule();
            let mut expected: Vec<&(Conversation, Vec<Message>)> = all
                .iter()
                .filter(|(c, _)| rule.matches(c, demo.agent.id))
                .filter(|(c, _)| inbox::search_matches(c, &messages, search))
                .collect();
            expected.sort_by_key(|(c, _)| rule.key(c, &InboxMoments::of(c, &messages)));
            let expected_ids: Vec<Uuid> = expected.iter().map(|(c, _)| c.id).collect();
            let (from_server, server_total) =
                server_inbox(&http, &demo.url, &demo.token, view, search).await;
            let (from_cache, cache_total) =
                cache_inbox(&demo.cache.lock().expect("lock"), view, search);
            let cache_ids: Vec<Uuid> = from_cache.iter().map(|r| r.id).collect();
            assert_eq!(from_server, expected_ids, "server, {view:?} {search:?}");
            assert_eq!(cache_ids, expected_ids, "cache, {view:?} {search:?}");
            assert_eq!(server_total, expected_ids.len() as u64);
            assert_eq!(cache_total, expected_ids.len() as u64);
            // Each row's summary: the last message and the open tickets.
            for row in &from_cache {
                let own: Vec<&Message> = messages
                    .iter()
                    .filter(|m| m.conversation_id == row.id)
                    .collect();
                let last = own
                    .iter()
                    .max_by_key(|m| (m.sent_at, m.id.to_string()))
                    .map(|m| m.body.clone());
                assert_eq!(row.last_message.as_ref().map(|m| m.body.clone()), last);
                let open = tickets
                    .iter()
                    .filter(|t| t.conversation_id == row.id && inbox::counts_as_open(t))
                    .count();
                assert_eq!(
                    row.open_ticket_count as usize, open,
                    "{}",
                    row.customer.name
                );
            }
            compared += 1;
        }
    }
    let counts = demo
        .cache
        .lock()
        .expect("lock")
        .inbox_counts()
        .expect("counts");
    assert_eq!(counts.all, all.len() as u64);
    assert!(counts.unassigned >= 3, "the three new chats: {counts:?}");
    println!(
        "{compared} inbox view × search combinations agree over {} conversations ({counts:?})",
        all.len()
    );
    demo.server.shutdown().await.expect("stopped");
}

/// The server's report over HTTP, read into the domain's shape.
async fn server_report(d: &Demo, query: &ReportQuery) -> SlaReport {
    let url = format!(
        "{}/api/v1/reports/sla?from={}&to={}&group_by={}",
        d.url,
        millis::format(&query.from),
        millis::format(&query.to),
        query.group_by.as_str()
    );
    let res = reqwest::Client::new()
        .get(url)
        .bearer_auth(&d.token)
        .send()
        .await
        .expect("reaches the server");
    assert_eq!(res.status().as_u16(), 200);
    res.json().await.expect("the API.md shape")
}

/// Every grouping over the last day, week and month up to `to`: the
/// server's report equals the cache's.
async fn compare_reports(d: &Demo, to: Timestamp, label: &str) {
    let mut compared = 0;
    for days in [1, 7, 30] {
        for group_by in GroupBy::ALL {
            let query = ReportQuery {
                from: to - chrono::TimeDelta::days(days),
                to,
                group_by,
            };
            let server = server_report(d, &query).await;
            let cache = d
                .cache
                .lock()
                .expect("lock")
                .sla_report(&query, chrono::Utc::now())
                .expect("report");
            assert_eq!(server, cache, "{label}: {days} days by {group_by:?}");
            compared += server.total.first_response.met
                + server.total.first_response.missed
                + server.total.resolution.met
                + server.total.resolution.missed;
        }
    }
    assert!(
        compared > 0,
        "{label}: the demo team has outcomes to compare"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sla_report_is_the_same_from_the_server_and_from_the_cache() {
    let d = demo_team().await;
    let now = chrono::Utc::now();
    // Ends a minute ago, so a timer falling due between the two reads
    // cannot count in one and not the other.
    let to = chrono::SubsecRound::trunc_subsecs(now - chrono::TimeDelta::minutes(1), 3);
    compare_reports(&d, to, "24/7").await;
    // Business hours in Berlin for normal and low: other outcome moments,
    // days cut at Berlin midnight.
    let admin = d
        .client
        .login("admin@demo.fyncall.test", demo::DEMO_PASSWORD)
        .await
        .expect("admin")
        .0;
    let http = reqwest::Client::new();
    let settings_url = format!("{}/api/v1/settings", d.url);
    let mut settings: Value = http
        .get(&settings_url)
        .bearer_auth(&admin)
        .send()
        .await
        .expect("settings")
        .json()
        .await
        .expect("json");
    let day = json!([{"from": "09:00", "to": "17:30"}]);
    settings["calendar"] = json!({"time_zone": "Europe/Berlin",
        "weekly": {"mon": day, "tue": day, "wed": day, "thu": day, "fri": day}, "holidays": []});
    settings["sla_policy"]["normal"]["hours"] = json!("business_hours");
    settings["sla_policy"]["low"]["hours"] = json!("business_hours");
    let res = http
        .put(&settings_url)
        .bearer_auth(&admin)
        .json(&settings)
        .send()
        .await
        .expect("put");
    assert_eq!(res.status().as_u16(), 200);
    d.engine.sync_once().await.expect("synced");
    compare_reports(&d, to, "business hours").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_hand_computed_fixture_reads_the_same_from_the_cache() {
    let d = demo_team().await;
    let alice = d.team.agents[0].id;
    let ben = d.team.agents[1].id;
    let conversation = d
        .cache
        .lock()
        .expect("lock")
        .inbox(&InboxQuery {
            view: InboxView::All,
            search: None,
            limit: 1,
            cursor: None,
        })
        .expect("inbox")
        .conversations[0]
        .id;
    // The fixture's March 2026 lies before every demo ticket.
    let fixture = report_fixture(conversation, ben);
    let store = d.team.store.clone();
    let changes = fixture.changes(d.team.admin.id, alice, ben);
    tokio::task::spawn_blocking(move || {
        for (caller, mutation, at) in &changes {
            store
                .apply(*caller, mutation, Uuid::now_v7(), *at)
                .expect("a fixture step");
        }
    })
    .await
    .expect("loaded");
    d.engine.sync_once().await.expect("synced");
    let zone = report::report_zone(&d.cache.lock().expect("lock").settings().expect("settings"));
    for group_by in [GroupBy::Agent, GroupBy::Week] {
        let query = ReportQuery {
            from: report::parse_when(&fixture.from, zone).expect("from"),
            to: report::parse_when(&fixture.to, zone).expect("to"),
            group_by,
        };
        let mut cache = d
            .cache
            .lock()
            .expect("lock")
            .sla_report(&query, chrono::Utc::now())
            .expect("report");
        assert_eq!(
            fixture.differences(&cache, ReportFixture::namer(alice, ben)),
            Vec::<String>::new()
        );
        // March lies before the 90 days a desktop keeps: its report says so
        // (the app then asks the server), and counts the same.
        assert!(
            cache.covers_since.is_some(),
            "the period reaches past the window"
        );
        cache.covers_since = None;
        assert_eq!(cache, server_report(&d, &query).await);
    }
}
