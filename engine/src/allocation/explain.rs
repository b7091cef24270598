//! Why a plan is what it is: reason codes per line, the cost of the best
//! plan without each used node, and why the best unused candidates lost.

use std::time::Instant;

use super::outcome::{NodeAlternative, Reason, ReasonCode, RunnerUp};
use super::pipeline::solve;
use super::problem::{Plan, Problem};
use super::solution::SolveStatus;
use crate::network::Network;

/// How many unused candidates are compared in an answer.
pub const RUNNERS_UP: usize = 5;

fn reason(code: ReasonCode, message: String) -> Reason {
    Reason {
        code,
        message,
        node: None,
        cost_delta: 0,
    }
}

/// Reason codes for line `l` of `plan`.
pub fn line_reasons(
    network: &Network,
    problem: &Problem,
    plan: &Plan,
    l: usize,
    status: SolveStatus,
) -> Vec<Reason> {
    let mut reasons = Vec::new();
    let line = &problem.lines[l];
    let sku = &network.sku(line.sku).code;
    let stocked: Vec<usize> = (0..problem.n())
        .filter(|&n| {
            let i = problem.at(l, n);
            problem.free_stock[i] + problem.protected_stock[i] > 0
        })
        .collect();
    let shipping: Vec<usize> = (0..problem.n())
        .filter(|&n| plan.shipped(problem, l, n) > 0)
        .collect();
    let used = plan.used(problem);
    if status == SolveStatus::TimeLimit {
        reasons.push(reason(
            ReasonCode::DeadlineFallback,
            "the time budget ran out before optimality was proven; this is the best plan found"
                .into(),
        ));
    }
    if stocked.len() == 1 && !shipping.is_empty() {
        let node = &network.node(problem.candidates[stocked[0]].node).code;
        reasons.push(reason(
            ReasonCode::OnlyNodeWithStock,
            format!("{node} is the only candidate holding {sku}"),
        ));
    }
    if shipping.len() > 1 {
        let whole = (0..problem.n()).any(|n| {
            let i = problem.at(l, n);
            problem.free_stock[i] + problem.protected_stock[i] >= line.quantity
        });
        if whole {
            reasons.push(reason(
                ReasonCode::SplitForCost,
                format!(
                    "{sku} ships from {} nodes because that is cheaper than one",
                    shipping.len()
                ),
            ));
        } else {
            reasons.push(reason(
                ReasonCode::SplitForStock,
                format!(
                    "no single candidate holds all {} units of {sku}",
                    line.quantity
                ),
            ));
        }
    } else if used.len() > 1 && !shipping.is_empty() {
        let one_node_could = (0..problem.n()).any(|n| {
            (0..problem.lines.len()).all(|k| {
                let i = problem.at(k, n);
                problem.free_stock[i] + problem.protected_stock[i] >= problem.lines[k].quantity
            }) && problem.candidates[n].capacity
                >= problem.lines.iter().map(|k| k.quantity).sum::<u32>()
        });
        if one_node_could {
            reasons.push(reason(
                ReasonCode::SplitForCost,
                format!(
                    "the order ships from {} nodes because that is cheaper than one",
                    used.len()
                ),
            ));
        }
    }
    for &n in &shipping {
        let c = &problem.candidates[n];
        if plan.node_units(problem, n) >= c.capacity {
            let mut r = reason(
                ReasonCode::CapacityLimited,
                format!(
                    "{} has only {} units of capacity left today",
                    network.node(c.node).code,
                    c.capacity
                ),
            );
            r.node = Some(c.node);
            reasons.push(r);
        }
        let protected = plan.protected[problem.at(l, n)];
        if protected > 0 {
            let mut r = reason(
                ReasonCode::ProtectedStockUsed,
                format!(
                    "{protected} protected units of {sku} used at {}",
                    network.node(c.node).code
                ),
            );
            r.node = Some(c.node);
            r.cost_delta = problem.protect_penalty[problem.at(l, n)] * i64::from(protected);
            reasons.push(r);
        }
        if c.lateness_per_unit > 0 {
            let mut r = reason(
                ReasonCode::LateRisk,
                format!(
                    "{} may miss the promised date with this service",
                    network.node(c.node).code
                ),
            );
            r.node = Some(c.node);
            r.cost_delta = c.lateness_per_unit * i64::from(plan.shipped(problem, l, n));
            reasons.push(r);
        }
    }
    if problem.max_nodes == Some(1) && !problem.allow_backorder && !shipping.is_empty() {
        reasons.push(reason(
            ReasonCode::ShipComplete,
            "the order ships complete from one node".into(),
        ));
    } else if let Some(max) = problem.max_nodes
        && used.len() as u32 == max
        && max > 0
    {
        reasons.push(reason(
            ReasonCode::MaxSplitsLimited,
            format!("the plan uses the maximum of {max} shipping nodes"),
        ));
    }
    if plan.backordered[l] > 0 {
        let mut r = reason(
            ReasonCode::Backordered,
            format!(
                "{} units of {sku} are backordered: no eligible node can ship them",
                plan.backordered[l]
            ),
        );
        r.cost_delta = problem.backorder_penalty * i64::from(plan.backordered[l]);
        reasons.push(r);
    }
    if !shipping.is_empty() && status == SolveStatus::Optimal {
        reasons.push(reason(
            ReasonCode::LowestCost,
            "the cheapest plan under the cost model (proven optimal)".into(),
        ));
    }
    reasons
}

/// Units of line `l` the candidates hold, protected stock included.
fn held(problem: &Problem, l: usize) -> u32 {
    (0..problem.n())
        .map(|n| {
            let i = problem.at(l, n);
            problem.free_stock[i] + problem.protected_stock[i]
        })
        .sum()
}

/// Why line `l` (of lines `line_ids`) has no place in any plan of an
/// unfulfillable order: the eligible nodes hold too few of its units (or of
/// another line's, which sinks the whole order), or the order's constraints
/// (ship-complete, max splits, capacity) leave no plan that ships them all.
pub fn unfulfillable_reasons(
    network: &Network,
    problem: &Problem,
    line_ids: &[&str],
    l: usize,
) -> Vec<Reason> {
    let line = &problem.lines[l];
    let sku = &network.sku(line.sku).code;
    let held_here = held(problem, l);
    if held_here < line.quantity {
        return vec![reason(
            ReasonCode::InsufficientStock,
            format!(
                "the eligible nodes hold {held_here} of the {} units of {sku} ordered, and backorders are not allowed",
                line.quantity
            ),
        )];
    }
    if let Some(short) =
        (0..problem.lines.len()).find(|&k| held(problem, k) < problem.lines[k].quantity)
    {
        return vec![reason(
            ReasonCode::InsufficientStock,
            format!(
                "the order cannot ship: line {} lacks stock, and backorders are not allowed",
                line_ids[short]
            ),
        )];
    }
    let (code, message) = match problem.max_nodes {
        Some(1) => (
            ReasonCode::ShipComplete,
            "no single node can ship the whole order".to_string(),
        ),
        Some(max) => (
            ReasonCode::MaxSplitsLimited,
            format!("no plan with at most {max} shipping nodes ships every unit"),
        ),
        None => (
            ReasonCode::CapacityLimited,
            format!("the nodes holding {sku} lack the capacity left today to ship every unit"),
        ),
    };
    vec![reason(code, message)]
}

/// A copy of `problem` where candidate `n` cannot ship anything.
fn without(problem: &Problem, n: usize) -> Problem {
    let mut p = problem.clone();
    for l in 0..p.lines.len() {
        let i = p.at(l, n);
        p.free_stock[i] = 0;
        p.protected_stock[i] = 0;
    }
    p
}

/// When explanations may run: each solve starts only before `start_by`
/// (the deadline less the time one solve of the order is expected to take,
/// so that none runs far past the deadline) and stops at `deadline`.
#[derive(Debug, Clone, Copy)]
pub struct ExplainBudget {
    /// No explaining solve starts at or after this instant.
    pub start_by: Instant,
    /// Every explaining solve stops by this instant.
    pub deadline: Instant,
}

impl ExplainBudget {
    /// Until `deadline`, for solves expected to take `expected` each.
    pub fn new(deadline: Instant, expected: std::time::Duration) -> ExplainBudget {
        ExplainBudget {
            start_by: deadline.checked_sub(expected).unwrap_or(deadline),
            deadline,
        }
    }

    fn spent(&self) -> bool {
        Instant::now() >= self.start_by
    }
}

/// For each used candidate, the objective of the best plan without it;
/// unknown (`None`) for the nodes the time budget did not reach.
pub fn alternatives(problem: &Problem, plan: &Plan, budget: ExplainBudget) -> Vec<NodeAlternative> {
    let deadline = budget.deadline;
    plan.used(problem)
        .into_iter()
        .map(|n| {
            if budget.spent() {
                return NodeAlternative {
                    node: problem.candidates[n].node,
                    cost_without: None,
                };
            }
            let solution = solve(&without(problem, n), deadline);
            let cost_without = match (solution.status, &solution.plan) {
                (SolveStatus::Optimal, Some(_)) => Some(solution.objective.total()),
                _ => None,
            };
            NodeAlternative {
                node: problem.candidates[n].node,
                cost_without,
            }
        })
        .collect()
}

/// `problem` reduced to candidate `n` alone, backorders allowed and no
/// split limit: "what if this node shipped the order alone". Candidate `n`
/// is candidate 0 of the result; the other candidates would ship nothing,
/// so leaving them out changes no objective and spares the solver them.
fn alone(problem: &Problem, n: usize) -> Problem {
    let lines = problem.lines.len();
    let pick = |v: &[u32]| (0..lines).map(|l| v[problem.at(l, n)]).collect();
    Problem {
        lines: problem.lines.clone(),
        candidates: vec![problem.candidates[n].clone()],
        transport_per_unit: (0..lines)
            .map(|l| problem.transport_per_unit[problem.at(l, n)])
            .collect(),
        free_stock: pick(&problem.free_stock),
        protected_stock: pick(&problem.protected_stock),
        protect_penalty: (0..lines)
            .map(|l| problem.protect_penalty[problem.at(l, n)])
            .collect(),
        split_penalty: problem.split_penalty,
        backorder_penalty: problem.backorder_penalty,
        allow_backorder: true,
        max_nodes: None,
    }
}

/// A lower bound on the cost of shipping the order from candidate `n` alone
/// (backordering the rest): stock at unit cost or backorder, whichever is
/// cheaper per unit, capacity and the protection penalty ignored.
fn alone_lower_bound(problem: &Problem, n: usize) -> i64 {
    let backorder = problem.backorder_penalty;
    let mut variable = 0;
    for (l, line) in problem.lines.iter().enumerate() {
        let i = problem.at(l, n);
        let stock = (problem.free_stock[i] + problem.protected_stock[i]).min(line.quantity);
        variable += i64::from(stock) * problem.unit_cost(l, n).min(backorder)
            + i64::from(line.quantity - stock) * backorder;
    }
    let all_backordered: i64 = problem
        .lines
        .iter()
        .map(|l| i64::from(l.quantity) * backorder)
        .sum();
    (problem.candidates[n].package_cost + variable).min(all_backordered)
}

/// The best unused candidates, ranked by the cost of shipping the order from
/// that node alone (what it cannot ship backordered), with the binding
/// reason each lost: missing stock, capacity, or cost.
pub fn runners_up(
    network: &Network,
    problem: &Problem,
    plan: &Plan,
    chosen: i64,
    budget: ExplainBudget,
) -> Vec<RunnerUp> {
    let deadline = budget.deadline;
    let used = plan.used(problem);
    // A lower bound on each node's "alone" cost (capacity and the protection
    // penalty ignored) lets the exact solves stop early: once the next bound
    // exceeds the last listed exact cost, no later node can make the list.
    let mut bounds: Vec<(i64, usize)> = (0..problem.n())
        .filter(|n| !used.contains(n))
        .map(|n| (alone_lower_bound(problem, n), n))
        .collect();
    bounds.sort_unstable();
    let mut ranked: Vec<(i64, usize, Plan)> = Vec::new();
    for (bound, n) in bounds {
        if budget.spent() {
            break;
        }
        if ranked.len() >= RUNNERS_UP {
            ranked.sort_by_key(|(cost, m, _)| (*cost, *m));
            if bound > ranked[RUNNERS_UP - 1].0 {
                break;
            }
        }
        let restricted = alone(problem, n);
        let solution = solve(&restricted, deadline);
        if let (SolveStatus::Optimal, Some(p)) = (solution.status, solution.plan)
            && p.node_units(&restricted, 0) > 0
        {
            ranked.push((solution.objective.total(), n, p));
        }
    }
    ranked.sort_by_key(|(cost, n, _)| (*cost, *n));
    ranked
        .into_iter()
        .take(RUNNERS_UP)
        .map(|(cost, n, alone_plan)| {
            let c = &problem.candidates[n];
            let code = &network.node(c.node).code;
            let difference = cost - chosen;
            let backordered: u32 = alone_plan.backordered.iter().sum();
            let total: u32 = problem.lines.iter().map(|l| l.quantity).sum();
            let shipped: u32 = total - backordered;
            let (code_, message) = if backordered > 0 && shipped >= c.capacity {
                (
                    ReasonCode::CapacityLimited,
                    format!("{code} has only {} units of capacity left today for the {total} ordered", c.capacity),
                )
            } else if backordered > 0 {
                (
                    ReasonCode::ExcludedNoStock,
                    format!("{code} alone would leave {backordered} of {total} units unshipped (no stock)"),
                )
            } else {
                (
                    ReasonCode::LowestCost,
                    format!("shipping from {code} alone costs {difference} more"),
                )
            };
            RunnerUp {
                node: c.node,
                reason: Reason {
                    code: code_,
                    message,
                    node: Some(c.node),
                    cost_delta: difference,
                },
                cost_difference: difference,
            }
        })
        .collect()
}

/// Reasons for line `l` that come from the eligibility rules: nodes that
/// hold available stock of the line's SKU but were excluded (or restricted
/// for this line), one reason per rule, and EXCLUDED_NO_STOCK when no
/// candidate holds the SKU at all.
pub fn exclusion_reasons(
    network: &Network,
    built: &super::candidates::BuiltProblem,
    l: usize,
) -> Vec<Reason> {
    use super::candidates::ExclusionReason;
    use std::collections::BTreeMap;

    let problem = &built.problem;
    let sku = problem.lines[l].sku;
    let sku_code = &network.sku(sku).code;
    let mut by_code: BTreeMap<u8, (ReasonCode, &'static str, Vec<&str>)> = BTreeMap::new();
    let mut note = |reason: ExclusionReason, node: crate::network::NodeId| {
        let (rank, code, why) = match reason {
            ExclusionReason::ColdChain => (
                0,
                ReasonCode::ExcludedColdChain,
                "cannot ship cold-chain items",
            ),
            ExclusionReason::Hazmat => (
                1,
                ReasonCode::ExcludedHazmat,
                "cannot ship hazardous materials",
            ),
            ExclusionReason::BlockedDestination => (
                2,
                ReasonCode::ExcludedRegion,
                "may not ship to the destination",
            ),
            ExclusionReason::ExcludedByRequest => (
                3,
                ReasonCode::ExcludedByRequest,
                "were excluded by the request",
            ),
            ExclusionReason::NoCapacity => (
                4,
                ReasonCode::CapacityLimited,
                "have no capacity left today",
            ),
            ExclusionReason::NoService => (
                5,
                ReasonCode::ExcludedClosed,
                "have no service meeting the level",
            ),
            ExclusionReason::NoStock => return,
        };
        by_code
            .entry(rank)
            .or_insert((code, why, Vec::new()))
            .2
            .push(network.node(node).code.as_str());
    };
    for exclusion in &built.excluded {
        if built.level_read(exclusion.node, sku).available() <= 0 {
            continue;
        }
        if let Some(&first) = exclusion.reasons.iter().min() {
            note(first, exclusion.node);
        }
    }
    for restriction in built.restricted_lines.iter().filter(|r| r.line == l) {
        note(restriction.reason, restriction.node);
    }
    let mut reasons: Vec<Reason> = by_code
        .into_values()
        .map(|(code, why, nodes)| {
            let named = match nodes.len() {
                1 => nodes[0].to_string(),
                n => format!("{} and {} other nodes", nodes[0], n - 1),
            };
            reason(code, format!("{named} holding {sku_code} {why}"))
        })
        .collect();
    let stocked = (0..problem.n()).any(|n| {
        let i = problem.at(l, n);
        problem.free_stock[i] + problem.protected_stock[i] > 0
    });
    if !stocked {
        reasons.push(reason(
            ReasonCode::ExcludedNoStock,
            format!("no eligible node holds available stock of {sku_code}"),
        ));
    }
    reasons
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant};

    use super::*;
    use crate::allocation::greedy::greedy;
    use crate::allocation::milp::solve_highs;
    use crate::allocation::problem::{check, objective};
    use crate::allocation::testgen::random_problem;

    fn later() -> Instant {
        Instant::now() + Duration::from_secs(10)
    }

    #[test]
    fn runners_up_cost_what_highs_says_for_the_node_alone() {
        let network = crate::network::Network::demo(0);
        let mut compared = 0;
        for seed in 0..12 {
            let problem = problem_with_demo_skus(&random_problem(seed, 3, 8));
            let chosen = solve(&problem, later());
            let Some(plan) = chosen.plan.as_ref() else {
                continue;
            };
            let total = chosen.objective.total();
            let runners = runners_up(
                &network,
                &problem,
                plan,
                total,
                ExplainBudget::new(later(), Duration::ZERO),
            );
            assert!(runners.len() <= RUNNERS_UP);
            assert!(
                runners
                    .windows(2)
                    .all(|w| w[0].cost_difference <= w[1].cost_difference)
            );
            for r in &runners {
                let n = problem
                    .candidates
                    .iter()
                    .position(|c| c.node == r.node)
                    .unwrap();
                assert!(!plan.used(&problem).contains(&n));
                let highs = solve_highs(&alone(&problem, n), later(), None).unwrap();
                assert_eq!(
                    r.cost_difference,
                    highs.objective.total() - total,
                    "seed {seed} node {n}"
                );
                assert_eq!(r.reason.cost_delta, r.cost_difference);
                compared += 1;
            }
        }
        assert!(compared > 10, "only {compared} runners-up compared");
    }

    #[test]
    fn alternatives_never_beat_the_chosen_plan() {
        for seed in 100..110 {
            let problem = random_problem(seed, 4, 12);
            let chosen = solve(&problem, later());
            let Some(plan) = chosen.plan.as_ref() else {
                continue;
            };
            for alternative in
                alternatives(&problem, plan, ExplainBudget::new(later(), Duration::ZERO))
            {
                if let Some(cost) = alternative.cost_without {
                    assert!(cost >= chosen.objective.total(), "seed {seed}");
                }
            }
        }
    }

    #[test]
    fn a_spent_budget_still_answers_never_worse_than_greedy() {
        for seed in 0..5 {
            let problem = random_problem(seed, 10, 100);
            let solution = solve(&problem, Instant::now());
            let plan = solution
                .plan
                .as_ref()
                .expect("the greedy floor always answers");
            check(&problem, plan).unwrap();
            assert_eq!(objective(&problem, plan), solution.objective);
            if let Some(g) = greedy(&problem) {
                assert!(solution.objective.total() <= objective(&problem, &g).total());
            }
            assert!(solution.lower_bound <= solution.objective.total());
            if solution.status == SolveStatus::TimeLimit {
                let reasons = line_reasons(
                    &crate::network::Network::demo(0),
                    &problem_with_demo_skus(&problem),
                    plan,
                    0,
                    solution.status,
                );
                assert!(
                    reasons
                        .iter()
                        .any(|r| r.code == ReasonCode::DeadlineFallback)
                );
            }
        }
    }

    /// The problem with SKU ids valid in the demo network (for messages).
    fn problem_with_demo_skus(problem: &Problem) -> Problem {
        let mut p = problem.clone();
        for line in &mut p.lines {
            line.sku = crate::network::SkuId(line.sku.0 % 5000);
        }
        for c in &mut p.candidates {
            c.node = crate::network::NodeId(c.node.0 % 70);
            c.service = crate::network::ServiceId(0);
        }
        p
    }
}
