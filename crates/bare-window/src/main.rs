//! An empty Tauri 2 window: the same Tauri and WebKit as Fyncall Desk, an
//! empty page, nothing else. `scripts/bench app` starts it beside the app
//! to measure what a bare window costs on this machine (memory, time to
//! its page) in the same run. Prints `page loaded after N ms` once its page
//! has loaded, then stays open until killed.

use std::time::Instant;

fn main() {
    let started = Instant::now();
    let result = tauri::Builder::default()
        .on_page_load(move |_, payload| {
            if matches!(payload.event(), tauri::webview::PageLoadEvent::Finished) {
                println!("page loaded after {} ms", started.elapsed().as_millis());
            }
        })
        .run(tauri::generate_context!());
    if let Err(e) = result {
        eprintln!("the window did not open: {e}");
        std::process::exit(1);
    }
}
