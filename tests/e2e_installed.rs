//! The installed app (FYNCALL_DESK_BIN=/usr/bin/fyncall-desk, from the
//! package scripts/package made): `--demo` opens a window under Xvfb that
//! shows My Tickets. Screenshot `artifacts/e2e/installed.png`.
//!
//! Run by `scripts/test-install` after it installs the packages.

mod desk;

use desk::*;

#[test]
#[ignore = "needs the installed package; scripts/test-install runs it"]
fn the_installed_app_shows_my_tickets() {
    let Run {
        app,
        artifacts,
        dir: run,
        mut reaper,
    } = run();
    let desktop = Desktop::start(run.path(), &mut reaper);
    let home = run.path().join("home");
    let d = desktop.launch(
        &app,
        &["--demo".into(), "--home".into(), home.display().to_string()],
    );
    d.wait("a[data-view=mine].active");
    d.wait("[data-testid=ticket-list] tbody tr");
    d.screenshot(&artifacts, "installed");
    d.call(reqwest::Method::DELETE, "", None);
}
