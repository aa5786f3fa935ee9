//! Money arithmetic shared by discounts and returns: rounding half up, and sharing an
//! amount among parts so the shares add up to it exactly.

/// `numerator / denominator` rounded half up (both non-negative).
pub(crate) fn half_up(numerator: i128, denominator: i128) -> i64 {
    i64::try_from((2 * numerator + denominator) / (2 * denominator)).unwrap_or(i64::MAX)
}

/// `amount` (at most the sum of `parts`) shared among `parts` in proportion, each share
/// rounded half up and at most its part; the remainder of the rounding moved one unit at
/// a time to (or from) the largest parts, so the shares add up to `amount` exactly.
pub(crate) fn share(amount: i64, parts: &[i64]) -> Vec<i64> {
    let whole: i64 = parts.iter().sum();
    let amount = amount.min(whole);
    if whole == 0 {
        return vec![0; parts.len()];
    }
    let mut shares: Vec<i64> = parts
        .iter()
        .map(|&part| half_up(i128::from(amount) * i128::from(part), i128::from(whole)).min(part))
        .collect();
    let mut largest: Vec<usize> = (0..parts.len()).collect();
    largest.sort_by_key(|&i| std::cmp::Reverse(parts[i]));
    let mut off = amount - shares.iter().sum::<i64>();
    // One unit at a time, round the largest lines, skipping a line that cannot move.
    let (mut next, mut skipped) = (0, 0);
    while off != 0 && skipped < largest.len() {
        let i = largest[next % largest.len()];
        next += 1;
        let moved = shares[i] + off.signum();
        if (0..=parts[i]).contains(&moved) {
            shares[i] = moved;
            off -= off.signum();
            skipped = 0;
        } else {
            skipped += 1;
        }
    }
    shares
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_share_adds_up_and_never_passes_its_part() {
        assert_eq!(share(100, &[1, 1, 1]), [1, 1, 1]);
        assert_eq!(share(10, &[1, 1, 1]), [1, 1, 1], "at most the whole");
        assert_eq!(share(100, &[300, 300, 300]).iter().sum::<i64>(), 100);
        assert_eq!(share(1, &[500, 500]).iter().sum::<i64>(), 1);
        assert_eq!(share(500, &[1000, 0]), [500, 0]);
        for (amount, parts) in [
            (333, vec![100, 200, 300, 400]),
            (7, vec![3, 3, 3]),
            (1_000_001, vec![999_999, 1, 2]),
        ] {
            let shares = share(amount, &parts);
            assert_eq!(shares.iter().sum::<i64>(), amount.min(parts.iter().sum()));
            assert!(shares.iter().zip(&parts).all(|(s, p)| (0..=*p).contains(s)));
        }
    }

    #[test]
    fn half_up_rounds_a_half_away_from_zero() {
        assert_eq!(half_up(250, 100), 3);
        assert_eq!(half_up(249, 100), 2);
        assert_eq!(half_up(0, 100), 0);
    }
}
