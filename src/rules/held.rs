//! What earlier layers created and still hold, as LW105 and LW106 track it.

use std::collections::BTreeMap;
use std::hash::Hash;

use fnv::FnvHashMap;

/// Creations in the order they were made, each key once: a removal or a change touches all
/// creations of one key or none (the rules' tests read nothing else of them) and names the
/// latest, so a creation takes the place of the one before it of its key, and a long file that
/// makes the same paths again and again does not grow the list. The latest match is found from
/// the newest end, as a list in creation order would find it.
pub(super) struct Held<K, T> {
    by_order: BTreeMap<usize, T>,
    order_of: FnvHashMap<K, usize>,
    next: usize,
    key: fn(&T) -> K,
}

impl<K: Hash + Eq, T> Held<K, T> {
    /// Creations told apart by `key`.
    pub(super) fn new(key: fn(&T) -> K) -> Self {
        Held {
            by_order: BTreeMap::new(),
            order_of: FnvHashMap::default(),
            next: 0,
            key,
        }
    }

    /// A creation after all those before, in the place of an earlier one of its key.
    pub(super) fn add(&mut self, created: T) {
        if let Some(earlier) = self.order_of.insert((self.key)(&created), self.next) {
            self.by_order.remove(&earlier);
        }
        self.by_order.insert(self.next, created);
        self.next += 1;
    }

    /// The latest creation that `touched` says is touched.
    pub(super) fn latest(&self, touched: impl Fn(&T) -> bool) -> Option<&T> {
        self.by_order.values().rev().find(|c| touched(c))
    }

    pub(super) fn any(&self, touched: impl Fn(&T) -> bool) -> bool {
        self.by_order.values().any(touched)
    }

    /// Keeps the creations `keep` says are still there.
    pub(super) fn retain(&mut self, keep: impl Fn(&T) -> bool) {
        let (order_of, key) = (&mut self.order_of, self.key);
        self.by_order.retain(|_, c| {
            let kept = keep(c);
            if !kept {
                order_of.remove(&key(c));
            }
            kept
        });
    }
}
