//! Medians, percentiles, quartiles and a confidence interval for a median.

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

/// The first and third quartiles (nearest rank), `None` for no values.
pub(crate) fn quartiles(values: &[f64]) -> Option<(f64, f64)> {
    if values.is_empty() {
        return None;
    }
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    Some((percentile(&sorted, 25.0), percentile(&sorted, 75.0)))
}

/// A confidence interval of at least 95 % for the median of the
/// distribution `values` were drawn from, by order statistics: whatever that
/// distribution, each value falls below its median with probability 1/2, so
/// how many fall below it is Binomial(n, 1/2). The interval runs from the
/// k-th smallest value to the k-th largest, for the largest k at which that
/// count is below k with probability at most 2.5 % (so that the median lies
/// outside with probability at most 5 %). `None` for fewer than 6 values:
/// below that, even the range of the values covers less than 95 %.
pub(crate) fn median_ci95(values: &[f64]) -> Option<(f64, f64)> {
    let n = values.len();
    let k = median_ci_rank(n, 0.025)?;
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    Some((sorted[k - 1], sorted[n - k]))
}

/// The largest k (1-based) with P(Binomial(n, 1/2) < k) <= `tail`, or
/// `None` if not even k = 1 qualifies.
fn median_ci_rank(n: usize, tail: f64) -> Option<usize> {
    // P(X = i) from P(X = 0) = 2^-n upwards. 2^-n stays a normal f64 to
    // n = 1022; beyond 1000 values (far more rounds than a run takes) the
    // rank for 1000 is used, which only widens the interval.
    let n = n.min(1000);
    let mut pmf = 0.5f64.powi(n as i32);
    let mut below = 0.0;
    let mut k = 0;
    for i in 0..n {
        below += pmf;
        if below > tail {
            break;
        }
        k = i + 1;
        pmf *= (n - i) as f64 / (i + 1) as f64;
    }
    (k >= 1).then_some(k)
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
        assert_eq!(quartiles(&[0.9, 0.5, 0.7, 0.8]), Some((0.5, 0.8)));
        assert_eq!(quartiles(&[]), None);
    }

    #[test]
    fn median_intervals_by_exact_binomial_rank() {
        // Known ranks: 15 values give the 4th to the 12th (P(X <= 3) =
        // 576/32768 = 1.76 %, P(X <= 4) = 5.9 %); 9 give the 2nd to the 8th
        // (10/512 = 1.95 %, then 46/512 = 9 %); 6 give the range (1/64 =
        // 1.6 %, then 7/64 = 11 %); 5 give nothing (1/32 = 3.1 %).
        assert_eq!(median_ci_rank(15, 0.025), Some(4));
        assert_eq!(median_ci_rank(9, 0.025), Some(2));
        assert_eq!(median_ci_rank(6, 0.025), Some(1));
        assert_eq!(median_ci_rank(5, 0.025), None);
        assert_eq!(median_ci_rank(0, 0.025), None);
        let v: Vec<f64> = (1..=15).rev().map(f64::from).collect();
        assert_eq!(median_ci95(&v), Some((4.0, 12.0)));
        assert_eq!(median_ci95(&[1.0; 5]), None);
    }

    #[test]
    fn median_intervals_are_the_narrowest_with_95_percent_coverage() {
        // Exact coverage 1 - 2 P(X < k) from the binomial's pmf by counting:
        // at least 95 % at the chosen k, under 95 % at k + 1.
        fn below(n: u32, k: u32) -> f64 {
            let mut c = 1f64;
            let mut sum = 0.0;
            for i in 0..k {
                sum += c;
                c = c * f64::from(n - i) / f64::from(i + 1);
            }
            sum / 2f64.powi(n as i32)
        }
        for n in 6..=200u32 {
            let k = median_ci_rank(n as usize, 0.025).unwrap() as u32;
            assert!(1.0 - 2.0 * below(n, k) >= 0.95, "n = {n}, k = {k}");
            assert!(
                1.0 - 2.0 * below(n, k + 1) < 0.95,
                "n = {n}, k + 1 = {}",
                k + 1
            );
        }
    }
}
