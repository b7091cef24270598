//! RouteReturn: where a returned item goes and what happens to each unit
//! there (the engine's [`allot_engine::returns`]), from what allot holds:
//! each node's stock of the SKU, the demand forecast of the node's region
//! (the probability that a restocked unit sells there before the horizon)
//! and the refurbishing and liquidation capacity the node has left today.
//!
//! The capacity used is counted per node and local day ([`ChannelUse`]);
//! the count and the decision's choice happen under one lock, so two
//! concurrent returns never take the same last unit of capacity. The
//! decision is recorded before it is answered.
//!
//! The count is rebuilt at start ([`refill`]) from the return decisions of
//! the last two days in the decision log, so a restart does not hand out
//! a day's capacity twice.
//!
//! - `channels`: the capacity used per node and day.
//! - `sell`: the sell-through probabilities from the demand forecast.

mod channels;
mod sell;

use std::sync::Arc;
use std::time::{Instant, SystemTime};

use allot_engine::returns::{NodeOffer, ReturnEconomics, ReturnRequest, ReturnRoute, route};

pub use channels::{ChannelUse, ReturnUse};

use crate::clock::Clock;
use crate::engine::Engine;
use crate::error::ServiceError;
use crate::id::DecisionId;
use crate::pool::SolverPool;
use crate::sink::{Entry, Event, EventKind};
use crate::wire::{Recording, Wire};

/// Days a restocked unit has to sell at its node before it counts as
/// liquidated (the forecast horizon of the sell-through probability).
pub const SELL_HORIZON_DAYS: usize = 28;

/// One RouteReturn call, converted and validated by the adapter.
pub struct RouteReturnCall<R> {
    /// The OMS's return id.
    pub return_id: String,
    /// The original order's id (may be empty).
    pub order_id: String,
    /// The return.
    pub request: ReturnRequest,
    /// The request as received (recorded).
    pub raw: R,
    /// When the call started.
    pub started: Instant,
    /// The call's deadline.
    pub deadline: Instant,
    /// Who asks: the name of the caller's token; empty with authentication
    /// off.
    pub caller: String,
}

/// A routed return: the route and when it was decided.
#[derive(Debug, Clone)]
pub struct RoutedReturn {
    /// The OMS's return id.
    pub return_id: String,
    /// The route.
    pub route: ReturnRoute,
    /// When it was decided.
    pub decided_at: SystemTime,
}

/// The RouteReturn use case.
pub struct ReturnRouting<W: Wire> {
    engine: Arc<Engine>,
    clock: Arc<dyn Clock>,
    wire: Arc<W>,
    pool: SolverPool,
    economics: ReturnEconomics,
    used: Arc<ChannelUse>,
}

impl<W: Wire> ReturnRouting<W> {
    /// Over `engine` at `clock`'s time, valuing recoveries by `economics`,
    /// running the forecast on `pool`, answering through `wire`.
    pub fn new(
        engine: Arc<Engine>,
        clock: Arc<dyn Clock>,
        wire: Arc<W>,
        pool: SolverPool,
        economics: ReturnEconomics,
    ) -> Self {
        ReturnRouting {
            engine,
            clock,
            wire,
            pool,
            economics,
            used: Arc::new(ChannelUse::default()),
        }
    }

    /// Routes the return, counts the capacity it takes, records the
    /// decision and answers.
    pub async fn route(
        &self,
        call: RouteReturnCall<W::RouteReturnRequest>,
    ) -> Result<W::ReturnDecision, ServiceError> {
        let network = self.engine.network.clone();
        if !network.node_ids().any(|n| network.node(n).accepts_returns) {
            return Err(ServiceError::precondition(
                "no node of the network accepts returns: set accepts_returns = true on the nodes that do (docs/network.md)",
            ));
        }
        let engine = self.engine.clone();
        let used = self.used.clone();
        let wire = self.wire.clone();
        let economics = self.economics;
        let now = self.clock.now();
        let deadline = call.deadline;
        // Choosing, counting the capacity and recording happen together on
        // the blocking pool: a caller that goes away meanwhile leaves a
        // recorded decision (its capacity counted, rebuilt at start), never
        // a count without a record.
        self.pool
            .run(deadline, move || {
                decide_and_record(&engine, &used, &*wire, economics, now, call)
            })
            .await?
    }
}

/// Routes `call`'s return with what each node has left today, counts what
/// it takes, records the decision with its event and builds the answer.
/// Blocking (the forecast runs the model once per day of the horizon).
fn decide_and_record<W: Wire>(
    engine: &Engine,
    used: &ChannelUse,
    wire: &W,
    economics: ReturnEconomics,
    now: SystemTime,
    call: RouteReturnCall<W::RouteReturnRequest>,
) -> Result<W::ReturnDecision, ServiceError> {
    let network = &engine.network;
    let request = &call.request;
    let sell = sell::sell_through(engine, request, now, SELL_HORIZON_DAYS);
    let route = used.decide(network, now, |left| {
        let offers: Vec<NodeOffer> = network
            .node_ids()
            .filter(|&n| network.node(n).accepts_returns)
            .map(|node| {
                let (refurbish_left, liquidation_left) = left(node);
                NodeOffer {
                    node,
                    sell_probability: sell.probabilities(node, request.quantity),
                    refurbish_left,
                    liquidation_left,
                }
            })
            .collect();
        route(network, request, &economics, &offers)
    });
    let routed = RoutedReturn {
        return_id: call.return_id,
        route,
        decided_at: now,
    };
    let summary = match &routed.route.chosen {
        Some(chosen) => format!(
            "return {}: {} unit(s) to {} ({}), net {:.2}",
            routed.return_id,
            request.quantity,
            network.node(chosen.node).code,
            chosen.main_disposition().as_str(),
            chosen.net_minor() as f64 / 100.0
        ),
        None => format!(
            "return {}: {} unit(s) written off where they are",
            routed.return_id, request.quantity
        ),
    };
    let id = DecisionId::mint();
    let answer = wire.return_decision(&id, &routed);
    let bytes = wire.return_record(
        Recording {
            id: &id,
            request: call.raw,
            decided_at: now,
            elapsed: call.started.elapsed(),
            caller: &call.caller,
        },
        &answer,
    );
    let event = Event {
        kind: EventKind::ReturnRouted,
        order_id: call.order_id,
        reservation_id: String::new(),
        summary,
        caller: call.caller,
    };
    engine
        .decisions
        .record(Entry::new(&id, bytes, Some(event)))?;
    Ok(answer)
}

/// Counts again, in `routing`'s channel use, the capacity taken by the
/// return decisions recorded in the last two days (every local "today" of
/// the network lies within them), decoding records through `wire`. Call
/// it once at start, before the services answer; it runs on the blocking
/// pool. Returns the decisions counted.
pub async fn refill<W: Wire>(
    routing: &ReturnRouting<W>,
    wire: Arc<W>,
) -> Result<u64, ServiceError> {
    let engine = routing.engine.clone();
    let used = routing.used.clone();
    let since = routing
        .clock
        .now()
        .checked_sub(std::time::Duration::from_secs(2 * 86_400))
        .unwrap_or(SystemTime::UNIX_EPOCH);
    tokio::task::spawn_blocking(move || {
        let mut counted = 0u64;
        engine.decisions.records_since(
            since,
            &mut |key, record| match wire.return_use(record) {
                Ok(Some(taken)) => {
                    used.add(&engine.network, taken);
                    counted += 1;
                }
                Ok(None) => {}
                Err(error) => tracing::warn!(
                    decision = %ulid::Ulid(key),
                    %error,
                    "a decision record is unreadable: the return capacity it took is not counted"
                ),
            },
        )?;
        Ok(counted)
    })
    .await
    .map_err(|e| ServiceError::internal(format!("the return capacity rebuild stopped: {e}")))?
}
