//! What a crash run found: the invariant violations, what the clients saw
//! acknowledged, and how long each restart took.

use std::fmt::Write as _;
use std::path::PathBuf;
use std::time::Duration;

/// Which invariant an observation broke.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ViolationKind {
    /// An acknowledged reservation is not found.
    ReservationMissing,
    /// An acknowledged reservation is in another state than the last one
    /// acknowledged (or its units or decision differ).
    ReservationState,
    /// Reserved units at a (node, SKU) differ from the baseline plus the
    /// live holds.
    StockReserved,
    /// On-hand units at a (node, SKU) differ from the baseline minus the
    /// confirmed units.
    StockOnHand,
    /// A node holds and ships more units of a SKU than it had available.
    Oversold,
    /// An acknowledged idempotency key re-sent with its request answered
    /// other bytes than the first time.
    IdempotencyBytes,
    /// An acknowledged idempotency key re-sent with its request failed.
    IdempotencyError,
    /// ExplainDecision of an acknowledged decision did not answer OK.
    NotExplainable,
    /// An answer no correct server gives to these requests (for example
    /// NOT_FOUND for a reservation this client made, ALREADY_EXISTS for a
    /// key re-sent with its own request).
    Unexpected,
    /// A call whose outcome was unknown after a restart could not be
    /// resolved (its retries kept failing).
    Unresolved,
}

impl ViolationKind {
    /// A stable snake_case name (for JSON and messages).
    pub fn name(self) -> &'static str {
        match self {
            ViolationKind::ReservationMissing => "reservation_missing",
            ViolationKind::ReservationState => "reservation_state",
            ViolationKind::StockReserved => "stock_reserved",
            ViolationKind::StockOnHand => "stock_on_hand",
            ViolationKind::Oversold => "oversold",
            ViolationKind::IdempotencyBytes => "idempotency_bytes",
            ViolationKind::IdempotencyError => "idempotency_error",
            ViolationKind::NotExplainable => "not_explainable",
            ViolationKind::Unexpected => "unexpected",
            ViolationKind::Unresolved => "unresolved",
        }
    }
}

/// One broken invariant.
#[derive(Debug, Clone)]
pub struct Violation {
    /// Which invariant.
    pub kind: ViolationKind,
    /// What was expected and what was seen.
    pub detail: String,
}

impl Violation {
    /// A violation of `kind`.
    pub fn new(kind: ViolationKind, detail: impl Into<String>) -> Violation {
        Violation {
            kind,
            detail: detail.into(),
        }
    }
}

/// Operations and their outcomes as the clients saw them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    /// Committing Allocate calls answered OK (with or without a
    /// reservation), including retries of unknown outcomes answered OK.
    pub commits_acked: u64,
    /// Of those, answers that reserved units.
    pub commits_reserved: u64,
    /// Committing Allocate calls refused with FAILED_PRECONDITION (stock or
    /// capacity taken by another commit since the solve): nothing reserved.
    pub commits_refused: u64,
    /// Committing Allocate calls shed for overload (RESOURCE_EXHAUSTED):
    /// nothing reserved.
    pub commits_shed: u64,
    /// ConfirmReservation calls answered OK.
    pub confirms_acked: u64,
    /// ReleaseReservation calls answered OK.
    pub releases_acked: u64,
    /// GetReservation calls answered OK.
    pub gets_acked: u64,
    /// Commits, confirms and releases whose outcome was unknown (in flight
    /// when the server died, timed out, transport errors); each is settled
    /// after the restart.
    pub unknown: u64,
}

impl Counts {
    /// Adds `other` to these counts.
    pub fn add(&mut self, other: &Counts) {
        self.commits_acked += other.commits_acked;
        self.commits_reserved += other.commits_reserved;
        self.commits_refused += other.commits_refused;
        self.commits_shed += other.commits_shed;
        self.confirms_acked += other.confirms_acked;
        self.releases_acked += other.releases_acked;
        self.gets_acked += other.gets_acked;
        self.unknown += other.unknown;
    }

    /// Every operation answered OK.
    pub fn acked(&self) -> u64 {
        self.commits_acked + self.confirms_acked + self.releases_acked + self.gets_acked
    }
}

/// One round: client work, the kill, the restart, the checks.
#[derive(Debug, Clone)]
pub struct Round {
    /// 1-based number of the round (of the kill).
    pub kill: usize,
    /// How long the clients worked before the kill (or the stop).
    pub killed_after: Duration,
    /// From spawning the restarted server to its SERVING health status
    /// (zero without a kill).
    pub recovery: Duration,
    /// Resolving unknown outcomes and checking every invariant.
    pub check: Duration,
    /// Calls of unknown outcome resolved after the restart.
    pub resolved: usize,
    /// What the clients saw during the round's work (retries of unknown
    /// outcomes included).
    pub counts: Counts,
    /// Violations found during the round's work and by its checks.
    pub violations: Vec<Violation>,
}

impl Round {
    /// One line for people: what the round did and found.
    pub fn line(&self, killed: bool) -> String {
        let end = if killed {
            format!(
                "killed after {:?}, SERVING {:?} after the restart",
                self.killed_after, self.recovery
            )
        } else {
            format!("stopped after {:?} (no kill)", self.killed_after)
        };
        format!(
            "round {}: {end}; {} acknowledged, {} unknown ({} settled); checks {:?}; {} violations",
            self.kill,
            self.counts.acked(),
            self.counts.unknown,
            self.resolved,
            self.check,
            self.violations.len()
        )
    }
}

/// The result of a crash run.
#[derive(Debug, Clone)]
pub struct CrashReport {
    /// The seed of the run.
    pub seed: u64,
    /// Concurrent clients.
    pub clients: usize,
    /// Whether each round ended with a kill (false: the control, see
    /// `CrashConfig::kill`).
    pub killed: bool,
    /// The contested SKUs the orders were for.
    pub skus: Vec<String>,
    /// From spawning the first server to SERVING (empty data directory).
    pub first_start: Duration,
    /// The rounds run, in order.
    pub rounds: Vec<Round>,
    /// The data directory, kept for inspection when a violation was found.
    pub kept_dir: Option<PathBuf>,
}

impl CrashReport {
    /// Kills done (= restarts).
    pub fn kills(&self) -> usize {
        if self.killed { self.rounds.len() } else { 0 }
    }

    /// Every violation of every round.
    pub fn violations(&self) -> impl Iterator<Item = (usize, &Violation)> {
        self.rounds
            .iter()
            .flat_map(|r| r.violations.iter().map(move |v| (r.kill, v)))
    }

    /// Number of violations.
    pub fn violation_count(&self) -> usize {
        self.rounds.iter().map(|r| r.violations.len()).sum()
    }

    /// Violations per kind, by kind.
    pub fn violations_by_kind(&self) -> Vec<(ViolationKind, usize)> {
        let mut by_kind = std::collections::BTreeMap::new();
        for (_, v) in self.violations() {
            *by_kind.entry(v.kind).or_insert(0) += 1;
        }
        by_kind.into_iter().collect()
    }

    /// The counts of every round added up.
    pub fn totals(&self) -> Counts {
        let mut totals = Counts::default();
        for round in &self.rounds {
            totals.add(&round.counts);
        }
        totals
    }

    /// Recovery time of each restart, in order.
    pub fn recoveries(&self) -> Vec<Duration> {
        self.rounds.iter().map(|r| r.recovery).collect()
    }

    /// A text for people: the seed, the totals, each round, and the first
    /// `max_listed` violations of each kind.
    pub fn summary(&self, max_listed: usize) -> String {
        let totals = self.totals();
        let mut text = String::new();
        let _ = writeln!(
            text,
            "crash run: seed {}, {} clients, SKUs {:?}, {} rounds, {} kills; acknowledged: {} commits ({} reserved, {} not: stock short), {} confirms, {} releases, {} gets; commits refused: {} FAILED_PRECONDITION, {} RESOURCE_EXHAUSTED; {} unknown outcomes",
            self.seed,
            self.clients,
            self.skus,
            self.rounds.len(),
            self.kills(),
            totals.commits_acked,
            totals.commits_reserved,
            totals.commits_acked - totals.commits_reserved,
            totals.confirms_acked,
            totals.releases_acked,
            totals.gets_acked,
            totals.commits_refused,
            totals.commits_shed,
            totals.unknown,
        );
        for round in &self.rounds {
            let _ = writeln!(text, "  {}", round.line(self.killed));
        }
        let count = self.violation_count();
        if count > 0 {
            let kinds: Vec<String> = self
                .violations_by_kind()
                .iter()
                .map(|(k, n)| format!("{} {n}", k.name()))
                .collect();
            let _ = writeln!(text, "{count} violations: {}", kinds.join(", "));
            for (kind, _) in self.violations_by_kind() {
                let of_kind = self.violations().filter(|(_, v)| v.kind == kind);
                for (kill, v) in of_kind.take(max_listed) {
                    let _ = writeln!(text, "  round {kill}: {}: {}", kind.name(), v.detail);
                }
            }
        }
        if let Some(dir) = &self.kept_dir {
            let _ = writeln!(
                text,
                "data directory and server logs kept in {}",
                dir.display()
            );
        }
        text
    }
}

/// The `q`-quantile (0.0 to 1.0, nearest rank) of `values`; zero if empty.
pub fn quantile(values: &[Duration], q: f64) -> Duration {
    if values.is_empty() {
        return Duration::ZERO;
    }
    let mut sorted = values.to_vec();
    sorted.sort();
    let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}
