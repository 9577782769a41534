//! A value many threads read on every call and one thread replaces now and then (the
//! decision index, the enrichment). Reading through a lock, or even cloning the `Arc`, writes
//! to memory every reader shares; with a gateway worker per core that cache line moved
//! between cores on every call. Here each reader keeps its own copy and only loads the
//! generation, a word that changes when the value does.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};

/// Generations are unique in the process, so a reader's copy can never be taken for another
/// `Published`'s value.
fn next_generation() -> u64 {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

pub struct Published<T> {
    current: RwLock<Arc<T>>,
    generation: AtomicU64,
}

/// One reader's copy of a `Published` value.
pub type Copy<T> = Option<(u64, Arc<T>)>;

impl<T> Published<T> {
    pub fn new(value: Arc<T>) -> Self {
        Published { current: RwLock::new(value), generation: AtomicU64::new(next_generation()) }
    }

    /// Replaces the value; every reader sees the new one on its next read.
    pub fn replace(&self, value: Arc<T>) {
        *self.current.write().expect("published value lock") = value;
        // After the value: a reader that sees this generation reads the new value.
        self.generation.store(next_generation(), Ordering::Release);
    }

    /// The value now (through the lock): for readers that keep no copy.
    pub fn load(&self) -> Arc<T> {
        Arc::clone(&self.current.read().expect("published value lock"))
    }

    /// The current generation: a copy made at another generation is stale.
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    /// The value, from `copy` when it is current, else loaded into it.
    pub fn read<'a>(&self, copy: &'a mut Copy<T>) -> &'a Arc<T> {
        let generation = self.generation();
        if copy.as_ref().is_none_or(|(g, _)| *g != generation) {
            *copy = Some((generation, self.load()));
        }
        &copy.as_ref().expect("set above").1
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_copy_follows_replacements_and_never_mixes_two_values() {
        let a = Published::new(Arc::new("a1"));
        let b = Published::new(Arc::new("b1"));
        let mut copy = None;
        assert_eq!(**a.read(&mut copy), "a1");
        assert_eq!(**a.read(&mut copy), "a1");
        // The same copy read through another `Published` is not taken for its value.
        assert_eq!(**b.read(&mut copy), "b1");
        a.replace(Arc::new("a2"));
        assert_eq!(**a.read(&mut copy), "a2");
        let generation = a.generation();
        assert_eq!(**a.read(&mut copy), "a2");
        assert_eq!(a.generation(), generation);
    }
}
