//! Waiting for something to become true, with a deadline that names what
//! was awaited when it passes.

use std::time::{Duration, Instant};

/// Calls `f` every 100 ms until it gives a value, for at most `timeout`.
///
/// # Panics
/// When `timeout` passes first: "timed out waiting for {what}".
pub fn wait_for<T>(what: &str, timeout: Duration, f: impl FnMut() -> Option<T>) -> T {
    wait_for_every(what, timeout, Duration::from_millis(100), f)
}

/// [`wait_for`], calling `f` every `every`.
pub fn wait_for_every<T>(
    what: &str,
    timeout: Duration,
    every: Duration,
    mut f: impl FnMut() -> Option<T>,
) -> T {
    let start = Instant::now();
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(
            start.elapsed() < timeout,
            "timed out waiting for {what} ({timeout:?})"
        );
        std::thread::sleep(every);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn returns_the_first_value_and_names_what_timed_out() {
        let mut n = 0;
        let got = wait_for("the third call", Duration::from_secs(5), || {
            n += 1;
            (n == 3).then_some(n)
        });
        assert_eq!(got, 3);
        let failed = std::panic::catch_unwind(|| {
            wait_for::<()>("nothing", Duration::from_millis(150), || None)
        });
        let message = failed.expect_err("times out");
        let text = message
            .downcast_ref::<String>()
            .cloned()
            .unwrap_or_default();
        assert!(text.contains("timed out waiting for nothing"), "{text}");
    }
}
