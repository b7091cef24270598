//! What a load run sends: the RPC kinds and weighted mixes of them.

use std::fmt;
use std::str::FromStr;

/// One kind of request the load generator sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum RpcKind {
    /// `grpc.health.v1.Health/Check`: the empty-RPC baseline.
    Health,
    /// `AllocationService.Allocate` of a random order, nothing reserved.
    Allocate,
    /// `Allocate` with `commit` and a fresh idempotency key.
    AllocateCommit,
    /// A deliberate retry of an earlier `AllocateCommit` (same order, same
    /// key): reported separately.
    AllocateCommitRetry,
    /// `PromiseService.GetDeliveryPromise` of a random cart.
    Promise,
    /// `RiskService.ScoreOrder` of a random order with a synthetic context.
    Score,
}

impl RpcKind {
    /// Every kind, in report order.
    pub const ALL: [RpcKind; 6] = [
        RpcKind::Health,
        RpcKind::Allocate,
        RpcKind::AllocateCommit,
        RpcKind::AllocateCommitRetry,
        RpcKind::Promise,
        RpcKind::Score,
    ];

    /// The name used on the command line and in reports.
    pub fn name(self) -> &'static str {
        match self {
            RpcKind::Health => "health",
            RpcKind::Allocate => "allocate",
            RpcKind::AllocateCommit => "allocate-commit",
            RpcKind::AllocateCommitRetry => "allocate-commit-retry",
            RpcKind::Promise => "promise",
            RpcKind::Score => "score",
        }
    }

    /// Position in [`RpcKind::ALL`].
    pub fn index(self) -> usize {
        self as usize
    }

    /// Whether requests of this kind are Allocate calls.
    pub fn is_allocation(self) -> bool {
        matches!(
            self,
            RpcKind::Allocate | RpcKind::AllocateCommit | RpcKind::AllocateCommitRetry
        )
    }

    /// Whether requests of this kind are built from random orders (and so
    /// need the network).
    pub fn needs_orders(self) -> bool {
        self != RpcKind::Health
    }
}

impl fmt::Display for RpcKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for RpcKind {
    type Err = String;

    /// Parses a kind a user may ask for (retries are not asked for: they
    /// come with `allocate-commit`).
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        [
            RpcKind::Health,
            RpcKind::Allocate,
            RpcKind::AllocateCommit,
            RpcKind::Promise,
            RpcKind::Score,
        ]
        .into_iter()
        .find(|k| k.name() == text.trim())
        .ok_or_else(|| {
            format!(
                "unknown rpc {text:?} (use health, allocate, allocate-commit, promise or score)"
            )
        })
    }
}

/// A weighted mix of kinds, spread evenly: request `i` is of kind
/// `mix.kind_at(i)`, so a run is reproducible and every window of
/// [`Mix::period`] consecutive requests holds exactly the weights.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mix {
    weights: Vec<(RpcKind, u32)>,
    slots: Vec<RpcKind>,
}

/// Longest cycle a mix may have (sum of weights).
const MAX_PERIOD: u32 = 10_000;

impl Mix {
    /// A mix of one kind.
    pub fn single(kind: RpcKind) -> Mix {
        Mix::from_weights(vec![(kind, 1)]).expect("one positive weight")
    }

    /// A mix from `(kind, weight)` pairs; zero weights are dropped, kinds
    /// must be distinct and the weights sum to 1..=10000.
    pub fn from_weights(weights: Vec<(RpcKind, u32)>) -> Result<Mix, String> {
        let weights: Vec<_> = weights.into_iter().filter(|&(_, w)| w > 0).collect();
        for (i, (kind, _)) in weights.iter().enumerate() {
            if weights[..i].iter().any(|(k, _)| k == kind) {
                return Err(format!("{kind} appears twice in the mix"));
            }
        }
        let period: u32 = weights.iter().map(|&(_, w)| w).sum();
        if period == 0 || period > MAX_PERIOD {
            return Err(format!(
                "the mix weights must sum to 1..={MAX_PERIOD}, not {period}"
            ));
        }
        // Smooth weighted round robin: the kinds interleave as evenly as
        // the weights allow (6,3,1 gives A B A C A B A A B A ... ).
        let mut current: Vec<i64> = vec![0; weights.len()];
        let slots = (0..period)
            .map(|_| {
                for (c, &(_, w)) in current.iter_mut().zip(&weights) {
                    *c += i64::from(w);
                }
                let best = (0..weights.len())
                    .max_by_key(|&i| (current[i], std::cmp::Reverse(i)))
                    .expect("non-empty");
                current[best] -= i64::from(period);
                weights[best].0
            })
            .collect();
        Ok(Mix { weights, slots })
    }

    /// The kind of request `index`.
    pub fn kind_at(&self, index: u64) -> RpcKind {
        self.slots[(index % self.period()) as usize]
    }

    /// Length of the repeating cycle of kinds (the sum of the weights).
    pub fn period(&self) -> u64 {
        self.slots.len() as u64
    }

    /// The kinds and their weights.
    pub fn weights(&self) -> &[(RpcKind, u32)] {
        &self.weights
    }

    /// Whether some request of the mix is of `kind`.
    pub fn contains(&self, kind: RpcKind) -> bool {
        self.weights.iter().any(|&(k, _)| k == kind)
    }
}

impl fmt::Display for Mix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, (kind, weight)) in self.weights.iter().enumerate() {
            let sep = if i == 0 { "" } else { "," };
            write!(f, "{sep}{kind}={weight}")?;
        }
        Ok(())
    }
}

impl FromStr for Mix {
    type Err = String;

    /// Parses `allocate=6,promise=3,score=1` (a kind without `=` weighs 1).
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let weights = text
            .split(',')
            .filter(|part| !part.trim().is_empty())
            .map(|part| {
                let (name, weight) = part.split_once('=').unwrap_or((part, "1"));
                let weight = weight
                    .trim()
                    .parse::<u32>()
                    .map_err(|_| format!("{part:?}: the weight must be a whole number"))?;
                Ok((name.parse::<RpcKind>()?, weight))
            })
            .collect::<Result<Vec<_>, String>>()?;
        Mix::from_weights(weights)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_ratios() {
        let mix: Mix = "allocate=6,promise=3,score=1".parse().unwrap();
        assert_eq!(
            mix.weights(),
            [
                (RpcKind::Allocate, 6),
                (RpcKind::Promise, 3),
                (RpcKind::Score, 1)
            ]
        );
        assert_eq!(mix.period(), 10);
        assert_eq!(mix.to_string(), "allocate=6,promise=3,score=1");
        let counts = |kind| (0..1000).filter(|&i| mix.kind_at(i) == kind).count();
        assert_eq!(counts(RpcKind::Allocate), 600);
        assert_eq!(counts(RpcKind::Promise), 300);
        assert_eq!(counts(RpcKind::Score), 100);
        // Spread out: never more than two allocates in a row for 6 in 10.
        let run: Vec<_> = (0..10).map(|i| mix.kind_at(i)).collect();
        assert!(
            !run.windows(3)
                .any(|w| w.iter().all(|&k| k == RpcKind::Allocate))
        );
    }

    #[test]
    fn parses_shorthand_and_zero_weights() {
        let mix: Mix = " health , allocate-commit=2, score=0".parse().unwrap();
        assert_eq!(
            mix.weights(),
            [(RpcKind::Health, 1), (RpcKind::AllocateCommit, 2)]
        );
        assert!(!mix.contains(RpcKind::Score));
        assert_eq!(Mix::single(RpcKind::Promise).kind_at(7), RpcKind::Promise);
    }

    #[test]
    fn rejects_bad_mixes() {
        for bad in [
            "",
            "allocate=0",
            "allocate=x",
            "allocate=-1",
            "bogus=1",
            "allocate=1,allocate=2",
            "allocate-commit-retry=1",
            "allocate=10001",
        ] {
            assert!(bad.parse::<Mix>().is_err(), "{bad:?} accepted");
        }
    }
}
