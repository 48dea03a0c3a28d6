//! The free-space accounting of the embedded store: the bytes of writes still under way,
//! which a free-space check must count as taken (`statvfs` does not see them yet).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

/// Bytes of the writes under way, not yet all on the disk: what a free-space check must count
/// as already taken.
#[derive(Clone, Default)]
pub(crate) struct Reservations(Arc<AtomicU64>);

/// `bytes` counted as taken until dropped.
pub(crate) struct Reservation {
    of: Reservations,
    bytes: u64,
}

impl Reservations {
    /// Takes `bytes` when `free` (the disk's free bytes now) still holds them, the writes under
    /// way and `min_free` besides; `None` when it does not.
    pub(crate) fn take(&self, bytes: u64, free: u64, min_free: u64) -> Option<Reservation> {
        let before = self.0.fetch_add(bytes, Ordering::SeqCst);
        if free < before.saturating_add(bytes).saturating_add(min_free) {
            self.0.fetch_sub(bytes, Ordering::SeqCst);
            return None;
        }
        Some(Reservation {
            of: self.clone(),
            bytes,
        })
    }

    pub(crate) fn taken(&self) -> u64 {
        self.0.load(Ordering::SeqCst)
    }
}

impl Drop for Reservation {
    fn drop(&mut self) {
        self.of.0.fetch_sub(self.bytes, Ordering::SeqCst);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_under_way_count_as_taken_until_they_end() {
        let reserved = Reservations::default();
        // 10 free, 2 kept in reserve: two writes of 4 fit, a third does not while they run.
        let a = reserved.take(4, 10, 2).expect("the first write fits");
        let b = reserved.take(4, 10, 2).expect("the second write fits");
        assert!(
            reserved.take(4, 10, 2).is_none(),
            "a third would eat the reserve"
        );
        assert_eq!(reserved.taken(), 8, "a refused write takes nothing");
        drop(a);
        assert_eq!(reserved.taken(), 4);
        let c = reserved
            .take(4, 10, 2)
            .expect("room again once a write ended");
        drop((b, c));
        assert_eq!(reserved.taken(), 0);
        assert!(
            reserved.take(9, 10, 2).is_none(),
            "alone it must still leave the reserve"
        );
        assert_eq!(reserved.taken(), 0);
    }
}
