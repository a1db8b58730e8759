//! The portal's clock: real time, except while a state journal is replayed, when it reads the
//! time each change was first made (so dates survive a restart).

use std::cell::Cell;

thread_local! {
    static FIXED: Cell<Option<i64>> = const { Cell::new(None) };
}

/// Unix seconds now (or the replayed change's time).
pub(crate) fn now() -> i64 {
    FIXED
        .with(Cell::get)
        .unwrap_or_else(|| chrono::Utc::now().timestamp())
}

/// Runs `f` with the clock of this thread fixed at `unix_seconds`.
pub(crate) fn at<T>(unix_seconds: i64, f: impl FnOnce() -> T) -> T {
    let before = FIXED.with(|c| c.replace(Some(unix_seconds)));
    let out = f();
    FIXED.with(|c| c.set(before));
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_clock_is_fixed_only_inside_at() {
        let real = super::now();
        assert!(real > 1_700_000_000);
        assert_eq!(super::at(1_000, super::now), 1_000);
        assert_eq!(super::at(5, || super::at(7, super::now) + super::now()), 12);
        assert!(super::now() >= real);
    }
}
