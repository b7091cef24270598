//! What the shared state needs of an event bus: publish with a message id
//! (the bus drops a repeat within its duplicate window) and follow a
//! subject. `allot-bus` (NATS JetStream) is the implementation allot ships.

use futures::future::BoxFuture;
use futures::stream::BoxStream;

/// One message followed on the bus: its subject (without the bus's prefix)
/// and payload.
pub type Followed = (String, Vec<u8>);

/// An event bus as the shared state uses it.
pub trait BusPort: Send + Sync {
    /// Publishes `payload` on `subject` under `msg_id`, once the bus has
    /// stored it.
    fn publish<'a>(
        &'a self,
        subject: &'a str,
        msg_id: &'a str,
        payload: Vec<u8>,
    ) -> BoxFuture<'a, Result<(), String>>;
    /// The messages on subjects matching `filter` published from now on.
    fn follow<'a>(
        &'a self,
        filter: &'a str,
    ) -> BoxFuture<'a, Result<BoxStream<'static, Followed>, String>>;
    /// Whether the bus is reachable now.
    fn is_connected(&self) -> bool;
}
