//! What makes a model fit to serve, and where the served versions live.
//!
//! - [`ModelIdentity`]: name, version, the SHA-256 computed from the file,
//!   when it was loaded and the gates it passed.
//! - [`Gate`], [`GateLog`], [`GateRefusal`]: the checks a model passes
//!   before it serves, in order; the first that fails refuses the model and
//!   says which gate and why.
//! - [`Holdout`], [`auc`], [`mean_pinball_loss`]: the quality gate's sample
//!   (from the card) and metrics.
//! - [`Slots`]: the live version, the previous one kept for an instant
//!   rollback, and an optional shadow scored beside the live one.

mod gates;
mod identity;
mod open;
mod quality;
mod slots;

pub use gates::{Gate, GateLog, GateOutcome, GateRefusal};
pub use identity::{ModelIdentity, card_sha256, file_sha256};
pub use open::{Opened, Schema};
pub use quality::{Holdout, auc, mean_pinball_loss};
pub use slots::{NoPrevious, Slots};
