//! Lists an agent can scan, in the real app against a real `fyncall-server`
//! with demo data: at 1280×800 All Tickets shows at least 15 whole rows with
//! the sidebar, at 1920×1080 at least 25, each row one line (every row the
//! same height), compact density more; the date filters say "any time"
//! until a range is chosen; the columns an agent chooses survive a restart;
//! the inbox is one line a row too; a ticket tagged on its page is found by
//! the tag from the palette and the list's Tags filter. Audited (axe) in both densities and
//! both themes; screenshots of each in `artifacts/e2e/`.
//!
//! Run by `scripts/test` with the app it built:
//! `FYNCALL_DESK_BIN=... cargo test -p fyncall-desk --test e2e_lists -- --ignored`

mod desk;

use std::time::Duration;

use desk::*;
use serde_json::{Value, json};

/// What the pane shows of a list now: rows wholly in sight, every row's
/// height, the window's inner size, the sidebar's width.
fn measure(d: &Driver, rows: &str) -> Value {
    d.script_async(
        "const done = arguments[arguments.length - 1]; \
         requestAnimationFrame(() => requestAnimationFrame(() => { \
           const pane = document.querySelector('.main').getBoundingClientRect(); \
           const rows = [...document.querySelectorAll(arguments[0])]; \
           const whole = rows.filter((r) => { const b = r.getBoundingClientRect(); \
             return b.height > 0 && b.top >= pane.top - 0.5 && b.bottom <= pane.bottom + 0.5; }); \
           const side = document.querySelector('.side'); \
           done({ whole: whole.length, drawn: rows.length, \
             heights: [...new Set(rows.map((r) => Math.round(r.getBoundingClientRect().height)))], \
             line: parseFloat(getComputedStyle(rows[0] ?? document.body).lineHeight) || 0, \
             width: innerWidth, height: innerHeight, \
             sidebar: side ? side.getBoundingClientRect().width : 0 }); }));",
        json!([rows]),
    )
}

const TICKET_ROWS: &str = "[data-testid=ticket-list][data-view=all] tr[data-ticket]";

/// All Tickets at the window's size: at least `least` whole rows, one line each.
fn counts_rows(d: &Driver, what: &str, least: u64) -> u64 {
    let m = measure(d, TICKET_ROWS);
    println!("{what}: {m}");
    let whole = m["whole"].as_u64().expect("a count");
    assert!(
        m["sidebar"].as_f64().unwrap_or(0.0) > 100.0,
        "{what}: the sidebar is shown: {m}"
    );
    assert!(
        whole >= least,
        "{what}: at least {least} whole rows in sight, saw {whole}: {m}"
    );
    let heights = m["heights"].as_array().expect("heights");
    assert_eq!(
        heights.len(),
        1,
        "{what}: every row is one line, all of one height: {m}"
    );
    whole
}

fn window_is(d: &Driver, width: u64, height: u64) {
    let got = wait_for(
        &format!("the window at {width}×{height}"),
        Duration::from_secs(20),
        || {
            let m = d.script(
                "return { width: innerWidth, height: innerHeight };",
                json!([]),
            );
            (m["width"].as_u64() >= Some(width - 40) && m["height"].as_u64() >= Some(height - 80))
                .then_some(m)
        },
    );
    println!("window: {got}");
}

fn all_tickets(d: &Driver) {
    d.click("a[data-view=all]");
    d.wait(TICKET_ROWS);
}

#[test]
#[ignore = "needs the app built by scripts/build; scripts/test runs it"]
fn lists_show_many_one_line_rows_with_the_columns_chosen() {
    let Run {
        app,
        artifacts,
        dir: run,
        mut reaper,
    } = run();
    let mut audits: Vec<String> = Vec::new();
    let server = demo_server(run.path());
    let url = server.url.clone();
    reaper.0.push(server.child);
    // A screen as large as the larger window; the app opens at its own 1280×800.
    let desktop = Desktop::start_sized(run.path(), &mut reaper, "1920x1080");
    let home = run.path().join("home");
    let args = ["--home".into(), home.display().to_string()];
    let d = desktop.launch(&app, &args);
    d.type_into("input[name=server]", &url);
    d.type_into("input[name=email]", "alice@demo.fyncall.test");
    d.type_into("input[name=password]", PASSWORD);
    d.click("button[type=submit]");
    d.wait("[data-testid=ticket-list] tbody tr");
    all_tickets(&d);
    window_is(&d, 1280, 800);

    // 1280×800, comfortable: 15 rows or more, one line each.
    let comfortable = counts_rows(&d, "1280×800 comfortable", 15);
    // The subject reads whole to WebDriver (and a screen reader), ellipsis or not.
    let first_subject = d.text(&format!("{TICKET_ROWS} td.subject"));
    assert!(
        first_subject.len() > 5,
        "the subject's text is read: {first_subject:?}"
    );
    // Times that fit, the exact moment in the tooltip.
    let updated = d.text(&format!("{TICKET_ROWS} td[data-column=updated]"));
    assert!(updated.len() <= 12, "a short time in the list: {updated:?}");
    // Made when the pointer comes to the cell.
    let tooltip = d.script(
        "const c = document.querySelector(arguments[0]); \
         c.dispatchEvent(new PointerEvent('pointerover', { bubbles: true })); return c.title;",
        json!([format!("{TICKET_ROWS} td[data-column=updated]")]),
    );
    assert!(
        tooltip.as_str().unwrap_or_default().contains("20"),
        "the exact moment in the tooltip: {tooltip}"
    );
    // Date filters say what they are.
    assert_eq!(
        d.text("button[data-popover=created]")
            .trim_end_matches([' ', '▾']),
        "Created: any time"
    );
    assert_eq!(
        d.text("button[data-popover=updated]")
            .trim_end_matches([' ', '▾']),
        "Updated: any time"
    );
    d.screenshot(&artifacts, "21-list-comfortable-1280x800");
    audits.extend(d.audit("all tickets comfortable"));

    // A range picked from the presets filters and says so; Any time undoes it.
    d.click("button[data-popover=created]");
    d.wait("[data-panel=created] button[data-range='7d']");
    d.screenshot(&artifacts, "24-date-range");
    audits.extend(d.audit("date range picker"));
    d.click("[data-panel=created] button[data-range='7d']");
    d.wait_text("button[data-popover=created]", "the chosen range", |t| {
        t.contains("last 7 days")
    });
    d.click("button[data-popover=created]");
    d.click("[data-panel=created] button[data-range='']");
    d.wait_text("button[data-popover=created]", "any time again", |t| {
        t.contains("any time")
    });

    // Tags: Alice tags one of her tickets on its page, finds it by the
    // tag from the palette (keyboard only), then by the list's Tags filter.
    d.click("a[data-view=mine]");
    d.wait("[data-testid=ticket-list][data-view=mine] tr[data-ticket]");
    d.click("[data-testid=ticket-list][data-view=mine] tr[data-ticket] td.subject");
    d.wait("[data-testid=tags] input[aria-label='Add a tag']:not([disabled])");
    d.type_into(
        "[data-testid=tags] input[aria-label='Add a tag']",
        "E2E-Tag\u{E007}",
    );
    d.wait("[data-testid=tags] [data-tag=e2e-tag]");
    d.wait_text("[data-testid=timeline]", "the tag on the timeline", |t| {
        t.contains("tags +e2e-tag")
    });
    d.screenshot(&artifacts, "26-ticket-tags");
    audits.extend(d.audit("ticket tags"));
    d.click("button[data-action=palette]");
    d.type_into("input[aria-label=Command]", "tag:e2e");
    d.wait_text("[data-testid=palette]", "the tag in the palette", |t| {
        t.contains("Tickets tagged e2e-tag")
    });
    d.type_into("input[aria-label=Command]", "\u{E007}");
    let tagged = "[data-testid=ticket-list][data-view=all] tr[data-ticket]";
    wait_for(
        "All Tickets filtered by the tag",
        Duration::from_secs(20),
        || {
            let rows = d.script(
            "return [...document.querySelectorAll(arguments[0])].map((r) => r.querySelector('.row-tags')?.textContent ?? '');",
            json!([tagged]),
        );
            (rows.as_array().map(Vec::len) == Some(1)
                && rows[0].as_str().unwrap_or("").contains("e2e-tag"))
            .then_some(rows)
        },
    );
    assert_eq!(
        d.script(
            "return document.querySelector(\"input[aria-label=Tags]\").value;",
            json!([])
        ),
        json!("e2e-tag"),
        "the filter says which tag"
    );
    d.screenshot(&artifacts, "27-list-filtered-by-tag");
    audits.extend(d.audit("list filtered by tag"));
    // None of it: the tagged ticket leaves the list.
    d.type_into("input[aria-label=Tags]", "-e2e-tag");
    wait_for(
        "the tagged ticket left out",
        Duration::from_secs(20),
        || {
            let n = d.script(
            "return [...document.querySelectorAll(arguments[0])].filter((r) => (r.querySelector('.row-tags')?.textContent ?? '').includes('e2e-tag')).length;",
            json!([tagged]),
        );
            let all = d.script(
                "return document.querySelectorAll(arguments[0]).length;",
                json!([tagged]),
            );
            (n == json!(0) && all.as_u64() > Some(1)).then_some(all)
        },
    );
    d.type_into("input[aria-label=Tags]", "");

    // Mentions: the admin names Alice in a comment on one of her tickets;
    // the sidebar counts it, the Mentions page lists it, opening it reads it.
    let (http, admin) = api_login(&url, "admin@demo.fyncall.test");
    let me: Value = http
        .get(format!("{url}/api/v1/agents"))
        .bearer_auth(&admin)
        .send()
        .expect("agents")
        .json()
        .expect("json");
    let id_of = |email: &str| {
        me.as_array()
            .and_then(|a| a.iter().find(|x| x["email"] == email))
            .map(|x| x["id"].clone())
            .expect("an agent")
    };
    let (alice_id, ben_id) = (
        id_of("alice@demo.fyncall.test"),
        id_of("ben@demo.fyncall.test"),
    );
    // Alice's tickets as the server lists them, with more of the query.
    let alices = |more: &str| -> Value {
        http.get(format!(
            "{url}/api/v1/tickets?view=all&assignee_id={}&{more}",
            alice_id.as_str().unwrap_or("")
        ))
        .bearer_auth(&admin)
        .send()
        .expect("list")
        .json()
        .expect("json")
    };
    let mine = alices("limit=1");
    let hers = mine["tickets"][0]["id"]
        .as_str()
        .expect("a ticket of Alice's")
        .to_owned();
    // The ticket's page as the server has it (None while it cannot answer).
    let on_server = || -> Option<Value> {
        http.get(format!("{url}/api/v1/tickets/{hers}"))
            .bearer_auth(&admin)
            .send()
            .ok()?
            .json()
            .ok()
    };
    let r = http
        .post(format!("{url}/api/v1/tickets/{hers}/comments"))
        .bearer_auth(&admin)
        .json(&json!({"body": "@Alice Moreau please call the customer", "mention_ids": [alice_id]}))
        .send()
        .expect("comment");
    assert!(r.status().is_success());
    d.wait_text("[data-count=mentions]", "one unread mention", |t| {
        t.trim() == "1"
    });
    d.click("a[data-nav=mentions]");
    d.wait("[data-testid=mentions] li.unread");
    d.screenshot(&artifacts, "28-mentions");
    audits.extend(d.audit("mentions"));
    d.click("[data-testid=mentions] li.unread a");
    d.wait("[data-testid=ticket-subject]");
    d.wait_text("[data-count=mentions]", "the mention read", |t| {
        t.trim() == "0"
    });
    // Alice names Ben with @, picked by keyboard.
    d.type_into("textarea[aria-label=Comment]", "Over to you @Be");
    d.wait("[data-testid=mention-picker] li");
    d.type_more("textarea[aria-label=Comment]", "\u{E007}");
    wait_for("Ben's name in the comment", Duration::from_secs(20), || {
        let v = d.script(
            "return document.querySelector('textarea[aria-label=Comment]').value;",
            json!([]),
        );
        v.as_str()
            .is_some_and(|t| t.contains("@Ben Okoro"))
            .then_some(v)
    });
    d.screenshot(&artifacts, "29-mention-picked");
    d.click("button[data-action=comment]");
    wait_for(
        "the comment naming Ben on the server",
        Duration::from_secs(20),
        || {
            let t = on_server()?;
            t["activity"]
                .as_array()?
                .iter()
                .find(|e| {
                    e["data"]["mention_ids"]
                        .as_array()
                        .is_some_and(|m| m.contains(&ben_id))
                })
                .cloned()
        },
    );

    // A team macro, applied from the palette with the keyboard only.
    let r = http
        .post(format!("{url}/api/v1/macros"))
        .bearer_auth(&admin)
        .json(&json!({"name": "E2E wrap-up", "scope": "team", "text_kind": "comment",
            "text": "Wrapped up by {{agent.first_name}} for {{customer.first_name}}",
            "actions": [{"kind": "add_tags", "value": ["wrapped"]}, {"kind": "priority", "value": "low"}]}))
        .send()
        .expect("macro");
    assert!(r.status().is_success(), "{:?}", r.text());
    // The machine keeps the macros at each sync.
    d.script(
        "[...document.querySelectorAll('[data-testid=connection] button')].find((b) => b.textContent === 'Sync').click(); return true;",
        json!([]),
    );
    d.wait("select[aria-label='Apply macro'] option:nth-child(2)");
    d.click("button[data-action=palette]");
    d.type_into("input[aria-label=Command]", "wrap-up");
    d.wait_text("[data-testid=palette]", "the macro in the palette", |t| {
        t.contains("Macro: E2E wrap-up")
    });
    d.type_more("input[aria-label=Command]", "\u{E007}");
    d.wait("[data-testid=macro-preview] li[data-allowed=true]");
    let preview = d.text("[data-testid=macro-preview]");
    assert!(preview.contains("Wrapped up by Alice for"), "{preview}");
    d.screenshot(&artifacts, "30-macro-preview");
    audits.extend(d.audit("macro preview"));
    d.type_more("button[data-action=apply-macro]", "\u{E007}");
    wait_for(
        "the macro applied on the server",
        Duration::from_secs(20),
        || {
            let t = on_server()?;
            let tagged = t["ticket"]["tags"].as_array()?.contains(&json!("wrapped"));
            let said = t["activity"].as_array()?.iter().any(|e| {
                e["data"]["body"]
                    .as_str()
                    .is_some_and(|b| b.starts_with("Wrapped up by Alice for"))
            });
            (tagged && said && t["ticket"]["priority"] == "low").then_some(t)
        },
    );
    d.wait_text("[data-testid=timeline]", "the macro's comment", |t| {
        t.contains("Wrapped up by Alice")
    });
    d.screenshot(&artifacts, "31-macro-applied");
    // The palette says what was done, then closes by itself.
    wait_for("the palette closed", Duration::from_secs(20), || {
        d.find("[data-testid=palette][open]")
            .is_none()
            .then_some(())
    });

    // Merge: from the palette, keyboard only, Alice merges this ticket into
    // another of hers (picked by its number), then opens the merged one.
    let others = alices("status=open,in_progress&limit=20");
    let into = others["tickets"]
        .as_array()
        .and_then(|t| t.iter().find(|x| x["id"] != json!(hers)))
        .cloned()
        .expect("another open ticket of Alice's");
    let into_no = into["number"].as_i64().expect("a number");
    let into_id = into["id"].as_str().expect("id").to_owned();
    let hers_no = d.text("[data-testid=ticket-subject]");
    d.click("button[data-action=palette]");
    d.type_into("input[aria-label=Command]", "merge into");
    d.wait("[data-testid=palette] li[data-item='act:merge']");
    d.type_more("input[aria-label=Command]", "\u{E007}");
    d.wait("[data-testid=merge-dialog] input[aria-label='Ticket to merge into']");
    d.type_into(
        "[data-testid=merge-dialog] input[aria-label='Ticket to merge into']",
        &format!("#{into_no}"),
    );
    d.wait(&format!(
        "[data-testid=merge-dialog] li[data-target='{into_id}']"
    ));
    d.type_more(
        "[data-testid=merge-dialog] input[aria-label='Ticket to merge into']",
        "\u{E007}",
    );
    d.wait_text("[data-testid=merge-moves]", "what moves", |t| {
        t.contains(&format!("merged into #{into_no}")) && t.contains("undone within 7 days")
    });
    d.screenshot(&artifacts, "32-merge-preview");
    audits.extend(d.audit("merge preview"));
    d.type_more("button[data-action=confirm-merge]", "\u{E007}");
    // The palette opens the target: the merged ticket listed, its comments marked.
    d.wait("[data-testid=merged-here] li a");
    d.wait("[data-testid=timeline] .from-chip");
    d.screenshot(&artifacts, "33-merged-target");
    audits.extend(d.audit("merge target"));
    wait_for("the merge on the server", Duration::from_secs(20), || {
        let t = on_server()?;
        (t["ticket"]["merged_into_id"] == json!(into_id) && t["ticket"]["status"] == "closed")
            .then_some(t)
    });
    d.click("[data-testid=merged-here] li a");
    d.wait_text("[data-testid=merged-banner]", "where it went", |t| {
        t.contains(&format!("Merged into #{into_no}"))
    });
    assert!(
        d.text("[data-testid=ticket-subject]") == hers_no,
        "the merged one opened"
    );
    d.screenshot(&artifacts, "34-merged-source");
    audits.extend(d.audit("merged ticket"));
    // Undone: the ticket is back as it was.
    d.click("button[data-action=unmerge]");
    wait_for("the unmerge on the server", Duration::from_secs(20), || {
        let t = on_server()?;
        (t["ticket"]["merged_into_id"].is_null() && t["ticket"]["status"] != "closed").then_some(t)
    });
    wait_for("the banner gone", Duration::from_secs(20), || {
        d.find("[data-testid=merged-banner]")
            .is_none()
            .then_some(())
    });
    all_tickets(&d);

    // Columns: category hidden, updated before created; kept over a restart.
    d.click("button[data-popover=columns]");
    d.click("[data-panel=columns] li[data-column=category] input[type=checkbox]");
    d.click("[data-panel=columns] li[data-column=updated] button[data-move=up]");
    wait_for("the chosen columns", Duration::from_secs(20), || {
        let cols = d.script(
            "return document.querySelector('[data-testid=ticket-list]').dataset.columns;",
            json!([]),
        );
        (cols == json!("updated,created")).then_some(cols)
    });
    d.screenshot(&artifacts, "25-columns");
    audits.extend(d.audit("column chooser"));
    d.quit();
    let d = desktop.launch(&app, &args);
    d.wait("[data-testid=ticket-list] tbody tr");
    all_tickets(&d);
    let heads = d.script(
        "return [...document.querySelectorAll('[data-testid=ticket-list] th')].map((t) => t.dataset.column);",
        json!([]),
    );
    assert_eq!(
        heads,
        json!([
            "number", "subject", "status", "priority", "assignee", "sla_due", "updated", "created"
        ]),
        "the columns chosen before the restart"
    );
    window_is(&d, 1280, 800);

    // Compact: more rows at the same size.
    d.click("a[href='#settings']");
    d.choose("select[data-pref=density]", "compact");
    all_tickets(&d);
    let compact = counts_rows(&d, "1280×800 compact", comfortable + 1);
    println!("whole rows at 1280×800: comfortable {comfortable}, compact {compact}");
    d.screenshot(&artifacts, "22-list-compact-1280x800");
    audits.extend(d.audit("all tickets compact"));

    // The inbox: one line a row.
    d.click("a[data-inbox]");
    d.wait("ul.inbox li[data-conversation]");
    let inbox = measure(&d, "ul.inbox li[data-conversation]");
    println!("inbox compact: {inbox}");
    assert_eq!(
        inbox["heights"].as_array().map(Vec::len),
        Some(1),
        "inbox rows are one line: {inbox}"
    );
    audits.extend(d.audit("inbox compact"));

    // 1920×1080 (a window made larger): 25 rows or more, in both densities.
    let rect = d.call(
        reqwest::Method::POST,
        "/window/rect",
        Some(json!({"x": 0, "y": 0, "width": 1920, "height": 1080})),
    );
    println!("window rect: {rect}");
    all_tickets(&d);
    window_is(&d, 1920, 1080);
    let big_compact = counts_rows(&d, "1920×1080 compact", 25);
    d.click("a[href='#settings']");
    d.choose("select[data-pref=density]", "comfortable");
    all_tickets(&d);
    let big = counts_rows(&d, "1920×1080 comfortable", 25);
    println!("whole rows at 1920×1080: comfortable {big}, compact {big_compact}");
    d.screenshot(&artifacts, "23-list-comfortable-1920x1080");
    d.quit();

    assert!(
        audits.is_empty(),
        "serious accessibility findings:\n{}",
        audits.join("\n")
    );
}
