//! The bare window is only a fair baseline if it is the app's window with
//! nothing in it: the same size, the same Tauri features, an empty page.

use serde_json::Value;

fn config(path: &str) -> Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn tauri_line(manifest: &str) -> String {
    let text = std::fs::read_to_string(manifest).unwrap_or_else(|e| panic!("{manifest}: {e}"));
    text.lines()
        .find(|l| l.starts_with("tauri = "))
        .unwrap_or_else(|| panic!("{manifest} has no tauri dependency"))
        .to_owned()
}

#[test]
fn the_bare_window_is_the_apps_window_with_an_empty_page() {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../..");
    let app = config(&format!("{root}/tauri.conf.json"));
    let bare = config(concat!(env!("CARGO_MANIFEST_DIR"), "/tauri.conf.json"));
    for key in ["width", "height"] {
        assert_eq!(
            bare["app"]["windows"][0][key], app["app"]["windows"][0][key],
            "the window's {key}"
        );
    }
    assert_eq!(
        tauri_line(concat!(env!("CARGO_MANIFEST_DIR"), "/Cargo.toml")),
        tauri_line(&format!("{root}/Cargo.toml")),
        "the same Tauri with the same features"
    );
    let page = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/page/index.html"))
        .expect("page");
    assert!(page.contains("<body></body>"), "the page is empty");
    assert!(!page.contains("<script"), "the page runs nothing");
}
