//! Idempotency keys kept as bytes in a [`KeyStore`] (the durable state),
//! with the answers encoded and decoded by the adapter's [`Wire`].

use std::sync::Arc;
use std::time::SystemTime;

use allot_engine::reservation::Reservation;

use futures::future::BoxFuture;

use crate::error::ServiceError;
use crate::idempotency::{Fingerprint, KeyLedger, KeyStore, Remembered};
use crate::state::SharedLedger;
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
    fn get<'a>(
        &'a self,
        key: &'a str,
    ) -> BoxFuture<'a, Result<Option<Remembered<W::AllocateResponse>>, ServiceError>> {
        let found = self
            .store
            .get(key)
            .and_then(|(request, bytes)| decode(&*self.wire, key, request, &bytes));
        Box::pin(std::future::ready(Ok(found)))
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

/// A remembered answer read back; `None` (logged) when it does not decode.
pub(crate) fn decode<W: Wire>(
    wire: &W,
    key: &str,
    request: Fingerprint,
    bytes: &[u8],
) -> Option<Remembered<W::AllocateResponse>> {
    match wire.allocation_from_bytes(bytes) {
        Ok(response) => Some(Remembered { request, response }),
        Err(error) => {
            // Written by allot's own encoder: a bug, not input.
            tracing::error!(key, %error, "a remembered answer does not decode");
            None
        }
    }
}

/// A [`KeyLedger`] of Allocate answers in a ledger shared by replicas: a
/// key used on any replica answers the same bytes on every other. Keys are
/// written by the shared commit itself, so remembering is a no-op.
pub struct SharedKeys<W: Wire> {
    ledger: Arc<dyn SharedLedger>,
    wire: Arc<W>,
}

impl<W: Wire> SharedKeys<W> {
    /// Keys in `ledger`, answers in `wire`'s format.
    pub fn new(ledger: Arc<dyn SharedLedger>, wire: Arc<W>) -> Self {
        SharedKeys { ledger, wire }
    }
}

impl<W: Wire> KeyLedger<W::AllocateResponse> for SharedKeys<W> {
    fn get<'a>(
        &'a self,
        key: &'a str,
    ) -> BoxFuture<'a, Result<Option<Remembered<W::AllocateResponse>>, ServiceError>> {
        Box::pin(async move {
            let found = self.ledger.key(key).await?;
            Ok(found.and_then(|(request, bytes)| decode(&*self.wire, key, request, &bytes)))
        })
    }

    fn remember(&self, _key: &str, _remembered: Remembered<W::AllocateResponse>) {}

    fn commit_record(
        &self,
        _key: &str,
        _remembered: &Remembered<W::AllocateResponse>,
        _reservation: Option<&Reservation>,
        _at: SystemTime,
    ) -> Option<Vec<u8>> {
        None
    }
}
