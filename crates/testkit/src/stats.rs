//! Percentiles of timings, one formula for every bench and scale test:
//! nearest rank on the sorted samples (the value at index
//! round((n - 1) * p); the median of an even count is the upper middle).

use std::time::Duration;

/// The `p` quantile (0.0 to 1.0) of `samples`, which it sorts (a NaN last).
///
/// # Panics
/// With no samples: a bench that measured nothing has no figure to print.
pub fn percentile<T: Copy + PartialOrd>(samples: &mut [T], p: f64) -> T {
    assert!(!samples.is_empty(), "a percentile of no samples");
    samples.sort_unstable_by(|a, b| {
        a.partial_cmp(b).unwrap_or_else(|| {
            // Only a NaN compares with nothing: it goes last.
            if a.partial_cmp(a).is_none() {
                std::cmp::Ordering::Greater
            } else {
                std::cmp::Ordering::Less
            }
        })
    });
    let last = samples.len() - 1;
    samples[((last as f64 * p.clamp(0.0, 1.0)).round() as usize).min(last)]
}

/// "min / median / p95 / max ms" of `xs` (in ms, sorted here) with
/// `decimals` digits; "no samples" when there are none.
pub fn spread_ms(xs: &mut [f64], decimals: usize) -> String {
    if xs.is_empty() {
        return "no samples".into();
    }
    let (median, p95) = (percentile(xs, 0.5), percentile(xs, 0.95));
    format!(
        "min {:.decimals$} / median {median:.decimals$} / p95 {p95:.decimals$} / max {:.decimals$} ms",
        xs[0],
        xs[xs.len() - 1]
    )
}

/// `d` in milliseconds with one decimal, as the benches print it.
pub fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_on_the_sorted_samples() {
        let mut s: Vec<Duration> = [5, 1, 4, 2, 3].map(Duration::from_millis).to_vec();
        assert_eq!(percentile(&mut s, 0.5), Duration::from_millis(3));
        assert_eq!(percentile(&mut s, 0.0), Duration::from_millis(1));
        assert_eq!(percentile(&mut s, 1.0), Duration::from_millis(5));
        // 0.95 of 5 samples: index round(3.8) = 4.
        assert_eq!(percentile(&mut s, 0.95), Duration::from_millis(5));
        assert_eq!(percentile(&mut s, 0.25), Duration::from_millis(2));
        // An even count: the upper middle.
        let mut even = [4.0, 1.0, 3.0, 2.0];
        assert_eq!(percentile(&mut even, 0.5), 3.0);
        // 20 samples: p95 is the 19th.
        let mut twenty: Vec<f64> = (1..=20).rev().map(f64::from).collect();
        assert_eq!(percentile(&mut twenty, 0.95), 19.0);
        let mut with_nan = [2.0, f64::NAN, 1.0];
        assert_eq!(percentile(&mut with_nan, 0.0), 1.0);
        assert!(percentile(&mut with_nan, 1.0).is_nan());
        assert_eq!(ms(Duration::from_micros(1250)), "1.2 ms");
        assert_eq!(
            spread_ms(&mut [3.0, 1.0, 2.0], 1),
            "min 1.0 / median 2.0 / p95 3.0 / max 3.0 ms"
        );
        assert_eq!(spread_ms(&mut [], 0), "no samples");
    }
}
