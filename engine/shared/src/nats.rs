//! The bus allot ships: NATS JetStream through `allot-bus`.

use std::sync::Arc;

use allot_bus::{Bus, BusConfig};
use futures::StreamExt;
use futures::future::BoxFuture;
use futures::stream::BoxStream;

use crate::error::SharedError;
use crate::port::{BusPort, Followed};

/// Connects to the NATS server at `url` and sets up allot's stream.
pub async fn connect_bus(url: &str) -> Result<Arc<dyn BusPort>, SharedError> {
    let bus = Bus::connect(BusConfig::new(url))
        .await
        .map_err(|e| SharedError::Bus(e.to_string()))?;
    Ok(Arc::new(bus))
}

impl BusPort for Bus {
    fn publish<'a>(
        &'a self,
        subject: &'a str,
        msg_id: &'a str,
        payload: Vec<u8>,
    ) -> BoxFuture<'a, Result<(), String>> {
        Box::pin(async move {
            Bus::publish(self, subject, msg_id, payload.into())
                .await
                .map(|_| ())
                .map_err(|e| e.to_string())
        })
    }

    fn follow<'a>(
        &'a self,
        filter: &'a str,
    ) -> BoxFuture<'a, Result<BoxStream<'static, Followed>, String>> {
        Box::pin(async move {
            let messages = Bus::follow(self, filter).await.map_err(|e| e.to_string())?;
            Ok(messages.map(|m| (m.subject, m.payload.to_vec())).boxed())
        })
    }

    fn is_connected(&self) -> bool {
        Bus::is_connected(self)
    }
}
