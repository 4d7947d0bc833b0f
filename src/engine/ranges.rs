//! Sets of bucket ranges (`[start, end)` in unix seconds), for the buckets still to heal.

/// Adds `[start, end)` to a sorted, non-overlapping list, merging ranges closer than `slack`
/// seconds so a few scattered holes become one query instead of many.
pub fn add(ranges: &mut Vec<(i64, i64)>, start: i64, end: i64, slack: i64) {
    if end <= start {
        return;
    }
    ranges.push((start, end));
    ranges.sort_unstable();
    let mut out: Vec<(i64, i64)> = Vec::with_capacity(ranges.len());
    for &(s, e) in ranges.iter() {
        match out.last_mut() {
            Some(last) if s <= last.1 + slack => last.1 = last.1.max(e),
            _ => out.push((s, e)),
        }
    }
    *ranges = out;
}

/// Removes `[start, end)` from the list.
pub fn remove(ranges: &mut Vec<(i64, i64)>, start: i64, end: i64) {
    let mut out = Vec::with_capacity(ranges.len() + 1);
    for &(s, e) in ranges.iter() {
        if e <= start || s >= end {
            out.push((s, e));
            continue;
        }
        if s < start {
            out.push((s, start));
        }
        if e > end {
            out.push((end, e));
        }
    }
    *ranges = out;
}

/// Drops everything before `cutoff` (older than any window).
pub fn trim_before(ranges: &mut Vec<(i64, i64)>, cutoff: i64) {
    ranges.retain(|r| r.1 > cutoff);
    if let Some(first) = ranges.first_mut() {
        first.0 = first.0.max(cutoff);
    }
}

/// The ranges of consecutive missing buckets in `known` (one flag per bucket from `start`).
pub fn missing(known: impl Iterator<Item = bool>, start: i64, width: i64) -> Vec<(i64, i64)> {
    let mut out = Vec::new();
    let mut open: Option<i64> = None;
    let mut t = start;
    for k in known {
        match (k, open) {
            (false, None) => open = Some(t),
            (true, Some(s)) => {
                out.push((s, t));
                open = None;
            }
            _ => {}
        }
        t += width;
    }
    if let Some(s) = open {
        out.push((s, t));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn add_merges_and_remove_splits() {
        let mut r = vec![];
        add(&mut r, 0, 60, 0);
        add(&mut r, 120, 180, 0);
        assert_eq!(r, vec![(0, 60), (120, 180)]);
        add(&mut r, 60, 120, 0);
        assert_eq!(r, vec![(0, 180)]);
        remove(&mut r, 60, 120);
        assert_eq!(r, vec![(0, 60), (120, 180)]);
        // With slack, ranges closer than 200 s become one query.
        add(&mut r, 300, 360, 200);
        assert_eq!(r, vec![(0, 360)]);
        trim_before(&mut r, 30);
        assert_eq!(r, vec![(30, 360)]);
        add(&mut r, 1000, 1060, 200);
        assert_eq!(r, vec![(30, 360), (1000, 1060)]);
    }

    #[test]
    fn missing_finds_runs() {
        let k = [true, false, false, true, false];
        assert_eq!(missing(k.into_iter(), 0, 60), vec![(60, 180), (240, 300)]);
    }
}
