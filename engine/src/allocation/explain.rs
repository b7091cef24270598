//! Why a plan is what it is: reason codes per line, the cost of the best
//! plan without each used node, and why the best unused candidates lost.

use std::time::Instant;

use super::outcome::{NodeAlternative, Reason, ReasonCode, RunnerUp};
use super::pipeline::solve;
use super::problem::{Plan, Problem};
use super::solution::SolveStatus;
use crate::network::Network;

/// How many unused candidates are compared in an answer.
pub const RUNNERS_UP: usize = 3;

/// A discount larger than the cost difference between any two plans of
/// `problem`: subtracting it from a node's package cost makes every optimal
/// plan use that node whenever some plan can. Kept as small as that allows so
/// relative gap tolerances stay meaningful.
fn force_discount(problem: &Problem) -> i64 {
    let units: i64 = problem.lines.iter().map(|l| i64::from(l.quantity)).sum();
    let max_unit = (0..problem.lines.len())
        .flat_map(|l| (0..problem.n()).map(move |n| (l, n)))
        .map(|(l, n)| problem.unit_cost(l, n))
        .max()
        .unwrap_or(0);
    let packages: i64 = problem
        .candidates
        .iter()
        .map(|c| c.package_cost.max(0))
        .sum();
    packages
        + units * (max_unit + problem.protect_penalty + problem.backorder_penalty)
        + problem.split_penalty * problem.n() as i64
        + 1
}

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
            r.cost_delta = problem.protect_penalty * i64::from(protected);
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

/// For each used candidate, the objective of the best plan without it.
pub fn alternatives(problem: &Problem, plan: &Plan, deadline: Instant) -> Vec<NodeAlternative> {
    plan.used(problem)
        .into_iter()
        .map(|n| {
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

/// The best unused candidates (by the cost of the best plan that uses them)
/// and the binding reason each lost.
pub fn runners_up(
    network: &Network,
    problem: &Problem,
    plan: &Plan,
    chosen: i64,
    deadline: Instant,
) -> Vec<RunnerUp> {
    let used = plan.used(problem);
    let total: u32 = problem.lines.iter().map(|l| l.quantity).sum();
    // Rank unused candidates by a cheap single-node estimate first.
    let mut unused: Vec<(i64, usize)> = (0..problem.n())
        .filter(|n| !used.contains(n))
        .filter(|&n| (0..problem.lines.len()).any(|l| problem.free_stock[problem.at(l, n)] > 0))
        .map(|n| {
            let c = &problem.candidates[n];
            let estimate = c.package_cost
                + (0..problem.lines.len())
                    .map(|l| problem.unit_cost(l, n) * i64::from(problem.lines[l].quantity))
                    .sum::<i64>();
            (estimate, n)
        })
        .collect();
    unused.sort();
    let mut out = Vec::new();
    for &(_, n) in unused.iter().take(RUNNERS_UP) {
        if Instant::now() >= deadline {
            break;
        }
        let c = &problem.candidates[n];
        let code = &network.node(c.node).code;
        let mut forced = problem.clone();
        let force = force_discount(problem);
        forced.candidates[n].package_cost -= force;
        let solution = solve(&forced, deadline);
        let Some(forced_plan) = solution
            .plan
            .as_ref()
            .filter(|_| solution.status == SolveStatus::Optimal)
        else {
            continue;
        };
        if forced_plan.node_units(&forced, n) == 0 {
            continue;
        }
        let difference = solution.objective.total() + force - chosen;
        let short_line = (0..problem.lines.len()).find(|&l| {
            let i = problem.at(l, n);
            problem.free_stock[i] + problem.protected_stock[i] < problem.lines[l].quantity
        });
        let mut reason = if let Some(l) = short_line {
            let sku = &network.sku(problem.lines[l].sku).code;
            let i = problem.at(l, n);
            Reason {
                code: ReasonCode::ExcludedNoStock,
                message: format!(
                    "{code} holds {} of the {} units of {sku} ordered",
                    problem.free_stock[i] + problem.protected_stock[i],
                    problem.lines[l].quantity
                ),
                node: Some(c.node),
                cost_delta: difference,
            }
        } else if c.capacity < total {
            Reason {
                code: ReasonCode::CapacityLimited,
                message: format!(
                    "{code} has only {} units of capacity left today",
                    c.capacity
                ),
                node: Some(c.node),
                cost_delta: difference,
            }
        } else {
            Reason {
                code: ReasonCode::LowestCost,
                message: format!("the best plan using {code} costs {difference} more"),
                node: Some(c.node),
                cost_delta: difference,
            }
        };
        reason.node = Some(c.node);
        out.push(RunnerUp {
            node: c.node,
            reason,
            cost_difference: difference,
        });
    }
    out.sort_by_key(|r| (r.cost_difference, r.node));
    out
}

/// Reasons for line `l` that come from the eligibility rules: nodes that
/// hold available stock of the line's SKU but were excluded (or restricted
/// for this line), one reason per rule, and EXCLUDED_NO_STOCK when no
/// candidate holds the SKU at all.
pub fn exclusion_reasons(
    stock: &crate::stock::StockStore,
    built: &super::candidates::BuiltProblem,
    l: usize,
) -> Vec<Reason> {
    use super::candidates::ExclusionReason;
    use std::collections::BTreeMap;

    let network = stock.network();
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
        if stock.level(exclusion.node, sku).available() <= 0 {
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
    fn a_node_forced_in_is_used_and_never_beats_the_optimum() {
        let (mut forced_in, mut skipped) = (0, 0);
        for seed in 0..12 {
            let problem = random_problem(seed, 3, 8);
            let chosen = solve(&problem, later());
            let Some(plan) = chosen.plan.as_ref() else {
                continue;
            };
            let used = plan.used(&problem);
            let force = force_discount(&problem);
            let stocked = |n: usize| {
                (0..problem.lines.len()).any(|l| problem.free_stock[problem.at(l, n)] > 0)
            };
            for n in (0..problem.n()).filter(|&n| !used.contains(&n) && stocked(n)) {
                let mut forced = problem.clone();
                forced.candidates[n].package_cost -= force;
                let exact = solve(&forced, later());
                let forced_plan = exact
                    .plan
                    .as_ref()
                    .expect("a node with stock can always ship");
                check(&forced, forced_plan).unwrap();
                if forced_plan.node_units(&forced, n) == 0 {
                    // Only when no plan can ship from n (runners_up skips
                    // such nodes).
                    skipped += 1;
                    continue;
                }
                forced_in += 1;
                let cost = exact.objective.total() + force;
                assert!(
                    cost >= chosen.objective.total(),
                    "seed {seed}: forcing node {n} beat the optimum"
                );
                // HiGHS's MILP may pay y[n] without shipping from n; where its
                // plan does ship from n, both optima must agree.
                let highs = solve_highs(&forced, later(), None).unwrap();
                if highs
                    .plan
                    .as_ref()
                    .is_some_and(|p| p.node_units(&forced, n) > 0)
                {
                    assert_eq!(
                        exact.objective.total(),
                        highs.objective.total(),
                        "seed {seed} node {n}"
                    );
                }
            }
        }
        assert!(
            forced_in > skipped,
            "forced in {forced_in}, skipped {skipped}"
        );
    }

    #[test]
    fn alternatives_never_beat_the_chosen_plan() {
        for seed in 100..110 {
            let problem = random_problem(seed, 4, 12);
            let chosen = solve(&problem, later());
            let Some(plan) = chosen.plan.as_ref() else {
                continue;
            };
            for alternative in alternatives(&problem, plan, later()) {
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
