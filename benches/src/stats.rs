//! Medians, percentiles and a confidence interval for a median.

/// The median of `values` (the mean of the middle two for an even count).
pub(crate) fn median(values: &[f64]) -> f64 {
    assert!(!values.is_empty(), "the median of nothing");
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let mid = sorted.len() / 2;
    if sorted.len() % 2 == 1 {
        sorted[mid]
    } else {
        (sorted[mid - 1] + sorted[mid]) / 2.0
    }
}

/// The `p`-th percentile (0 to 100) of `sorted`, nearest rank.
pub(crate) fn percentile(sorted: &[f64], p: f64) -> f64 {
    assert!(!sorted.is_empty(), "the percentile of nothing");
    let rank = (p / 100.0 * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// An approximately 95 % confidence interval for the median of the
/// distribution `values` were drawn from, by order statistics: whatever that
/// distribution, each value falls below its median with probability 1/2, so
/// the count below it is Binomial(n, 1/2), and the values ranked n/2 ±
/// 0.98·√n (the normal approximation of that binomial) bracket the median
/// about 95 % of the time. `None` for fewer than 6 values, too few for an
/// interval narrower than the range of the values themselves.
pub(crate) fn median_ci95(values: &[f64]) -> Option<(f64, f64)> {
    let n = values.len();
    if n < 6 {
        return None;
    }
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let half_width = 0.98 * (n as f64).sqrt();
    // 1-based ranks, clamped to the values there are.
    let lower = ((n as f64 / 2.0 - half_width).floor() as usize).max(1);
    let upper = ((n as f64 / 2.0 + 1.0 + half_width).ceil() as usize).min(n);
    Some((sorted[lower - 1], sorted[upper - 1]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn medians_of_odd_and_even_counts() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&[4.0, 1.0, 3.0, 2.0]), 2.5);
    }

    #[test]
    fn nearest_rank_percentiles() {
        let v: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(percentile(&v, 50.0), 50.0);
        assert_eq!(percentile(&v, 99.0), 99.0);
        assert_eq!(percentile(&v, 100.0), 100.0);
        assert_eq!(percentile(&[7.0], 99.0), 7.0);
    }

    #[test]
    fn median_intervals_by_rank() {
        // n = 41: ranks floor(20.5 - 6.27) = 14 and ceil(21.5 + 6.27) = 28.
        let v: Vec<f64> = (1..=41).rev().map(f64::from).collect();
        assert_eq!(median_ci95(&v), Some((14.0, 28.0)));
        // n = 9: ranks floor(4.5 - 2.94) = 1 and ceil(5.5 + 2.94) = 9.
        let v: Vec<f64> = (1..=9).map(f64::from).collect();
        assert_eq!(median_ci95(&v), Some((1.0, 9.0)));
        assert_eq!(median_ci95(&[1.0; 5]), None);
    }

    #[test]
    fn median_intervals_cover_the_median_about_95_percent_of_the_time() {
        // Samples of 41 from a skewed distribution (exponential, median ln 2),
        // drawn with a fixed linear congruential generator.
        let mut state = 0x2545_f491_4f6c_dd1d_u64;
        let mut uniform = || {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            ((state >> 11) as f64 + 0.5) / (1u64 << 53) as f64
        };
        let trials = 2000;
        let covered = (0..trials)
            .filter(|_| {
                let v: Vec<f64> = (0..41).map(|_| -uniform().ln()).collect();
                let (lo, hi) = median_ci95(&v).unwrap();
                lo <= std::f64::consts::LN_2 && std::f64::consts::LN_2 <= hi
            })
            .count();
        let share = covered as f64 / trials as f64;
        assert!((0.93..=0.99).contains(&share), "covered {share}");
    }
}
