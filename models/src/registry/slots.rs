//! The versions of one hot-reloadable model: live, previous and shadow.

use std::sync::Arc;

use parking_lot::{Mutex, RwLock};

/// There is no previous version to roll back to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("no previous version is loaded to roll back to")]
pub struct NoPrevious;

/// The live version of a model (what decides), the version it replaced
/// (kept loaded for an instant rollback) and an optional shadow (scored
/// beside the live one, never deciding).
///
/// Readers take an `Arc` of the version they use and keep it for the whole
/// call, so a swap never changes a model under a call in flight: calls that
/// started before it finish with the old version, later ones use the new.
#[derive(Debug)]
pub struct Slots<T> {
    live: RwLock<Arc<T>>,
    previous: RwLock<Option<Arc<T>>>,
    shadow: RwLock<Option<Arc<T>>>,
    /// Serialises transitions, so live and previous change together.
    changing: Mutex<()>,
}

impl<T> Slots<T> {
    /// Slots serving `live`, with no previous version and no shadow.
    pub fn new(live: Arc<T>) -> Slots<T> {
        Slots {
            live: RwLock::new(live),
            previous: RwLock::new(None),
            shadow: RwLock::new(None),
            changing: Mutex::new(()),
        }
    }

    /// The live version.
    pub fn live(&self) -> Arc<T> {
        self.live.read().clone()
    }

    /// The version the live one replaced, when one is kept.
    pub fn previous(&self) -> Option<Arc<T>> {
        self.previous.read().clone()
    }

    /// The shadow version, when one is set.
    pub fn shadow(&self) -> Option<Arc<T>> {
        self.shadow.read().clone()
    }

    /// Makes `next` live; the version it replaces becomes the previous one
    /// (and is returned).
    pub fn promote(&self, next: Arc<T>) -> Arc<T> {
        let _changing = self.changing.lock();
        let old = std::mem::replace(&mut *self.live.write(), next);
        *self.previous.write() = Some(old.clone());
        old
    }

    /// Makes the previous version live again; the version it replaces
    /// becomes the previous one, so a second rollback undoes the first.
    /// Returns (now live, now previous).
    pub fn rollback(&self) -> Result<(Arc<T>, Arc<T>), NoPrevious> {
        let _changing = self.changing.lock();
        let back = self.previous.read().clone().ok_or(NoPrevious)?;
        let old = std::mem::replace(&mut *self.live.write(), back.clone());
        *self.previous.write() = Some(old.clone());
        Ok((back, old))
    }

    /// Sets (or with `None` clears) the shadow; returns the one it replaced.
    pub fn set_shadow(&self, shadow: Option<Arc<T>>) -> Option<Arc<T>> {
        let _changing = self.changing.lock();
        std::mem::replace(&mut *self.shadow.write(), shadow)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn promote_keeps_the_replaced_version_and_rollback_swaps_back_and_forth() {
        let slots = Slots::new(Arc::new(1));
        assert_eq!(slots.rollback(), Err(NoPrevious));
        let held = slots.live();
        assert_eq!(*slots.promote(Arc::new(2)), 1);
        assert_eq!(*held, 1, "a caller keeps the version it took");
        assert_eq!((*slots.live(), slots.previous().map(|p| *p)), (2, Some(1)));
        let (now, was) = slots.rollback().unwrap();
        assert_eq!((*now, *was), (1, 2));
        let (now, was) = slots.rollback().unwrap();
        assert_eq!((*now, *was), (2, 1));
        assert_eq!(slots.set_shadow(Some(Arc::new(3))), None);
        assert_eq!(slots.shadow().map(|s| *s), Some(3));
        assert_eq!(slots.set_shadow(None).map(|s| *s), Some(3));
    }
}
