//! Idempotency keys kept as bytes in a [`KeyStore`] (the durable state),
//! with the answers encoded and decoded by the adapter's [`Wire`].

use std::sync::Arc;
use std::time::SystemTime;

use allot_engine::reservation::Reservation;

use crate::idempotency::{KeyLedger, KeyStore, Remembered};
use crate::wire::Wire;

/// A [`KeyLedger`] of Allocate answers over a byte [`KeyStore`].
pub struct EncodedKeys<W: Wire> {
    store: Arc<dyn KeyStore>,
    wire: Arc<W>,
}

impl<W: Wire> EncodedKeys<W> {
    /// Keys in `store`, answers in `wire`'s format.
    pub fn new(store: Arc<dyn KeyStore>, wire: Arc<W>) -> Self {
        EncodedKeys { store, wire }
    }
}

impl<W: Wire> KeyLedger<W::AllocateResponse> for EncodedKeys<W> {
    fn get(&self, key: &str) -> Option<Remembered<W::AllocateResponse>> {
        let (request, bytes) = self.store.get(key)?;
        match self.wire.allocation_from_bytes(&bytes) {
            Ok(response) => Some(Remembered { request, response }),
            Err(error) => {
                // Written by this process's own encoder: a bug, not input.
                tracing::error!(key, %error, "a remembered answer does not decode");
                None
            }
        }
    }

    fn remember(&self, key: &str, remembered: Remembered<W::AllocateResponse>) {
        let bytes = self.wire.allocation_bytes(&remembered.response);
        self.store
            .remember(key, remembered.request, bytes, SystemTime::now());
    }

    fn commit_record(
        &self,
        key: &str,
        remembered: &Remembered<W::AllocateResponse>,
        reservation: Option<&Reservation>,
        at: SystemTime,
    ) -> Option<Vec<u8>> {
        let bytes = self.wire.allocation_bytes(&remembered.response);
        Some(
            self.store
                .commit_record(key, remembered.request, bytes, reservation, at),
        )
    }
}
