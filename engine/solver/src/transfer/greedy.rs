//! A greedy plan: the MILP's first incumbent, so a plan cut short by the
//! deadline is never worse than it.
//!
//! Repeatedly dispatches the lane whose one dispatch saves the most (its
//! fixed cost paid): each dispatch carries the units with the best net
//! value (the unit's value at the destination less the value lost at the
//! origin and the lane's unit cost) across the lane's items, up to its
//! capacity and the destination's storage room.

use super::{Flow, TransferPlan, TransferProblem};

/// Most dispatches the greedy plan makes.
const MAX_DISPATCHES: usize = 5_000;

/// One dispatch the greedy plan could make.
struct Dispatch {
    /// What it saves, its fixed cost paid.
    saving: f64,
    lane: usize,
    /// Units per entry of the lane's (item, origin, destination) list.
    load: Vec<(usize, u32)>,
}

/// The greedy plan over the (lane, item) pairs in `allowed`.
pub fn greedy(problem: &TransferProblem, allowed: &[(usize, usize)]) -> TransferPlan {
    // Per item and position: units held, units that may still leave.
    let mut held: Vec<Vec<u32>> = problem
        .items
        .iter()
        .map(|i| i.positions.iter().map(|p| p.stock).collect())
        .collect();
    let mut movable: Vec<Vec<u32>> = problem
        .items
        .iter()
        .map(|i| i.positions.iter().map(|p| p.movable.min(p.stock)).collect())
        .collect();
    let mut room: Vec<Option<i64>> = problem.room.iter().map(|r| r.map(i64::from)).collect();
    let mut by_lane: Vec<Vec<(usize, usize, usize)>> = vec![Vec::new(); problem.lanes.len()];
    for &(l, i) in allowed {
        let lane = &problem.lanes[l];
        let item = &problem.items[i];
        let src = item.positions.iter().position(|p| p.node == lane.from);
        let dst = item.positions.iter().position(|p| p.node == lane.to);
        if let (Some(src), Some(dst)) = (src, dst) {
            by_lane[l].push((i, src, dst));
        }
    }
    let mut plan = TransferPlan::none(problem);
    let mut units: Vec<Vec<u32>> = vec![vec![0; problem.items.len()]; problem.lanes.len()];
    for _ in 0..MAX_DISPATCHES {
        let mut best: Option<Dispatch> = None;
        for (l, pairs) in by_lane.iter().enumerate() {
            if pairs.is_empty() {
                continue;
            }
            let lane = &problem.lanes[l];
            let fits = room[lane.to].map_or(i64::from(lane.capacity), |r| {
                r.clamp(0, i64::from(lane.capacity))
            }) as usize;
            if fits == 0 {
                continue;
            }
            // Every unit's net value, item by item (each non-increasing).
            let mut gains: Vec<(f64, usize)> = Vec::new();
            for (k, &(i, src, dst)) in pairs.iter().enumerate() {
                let item = &problem.items[i];
                let (from, to) = (&item.positions[src], &item.positions[dst]);
                let (mut q_from, mut q_to) = (held[i][src], held[i][dst]);
                for _ in 0..movable[i][src].min(lane.capacity) {
                    let arriving = to.value.get(q_to as usize).copied().unwrap_or(0.0);
                    let leaving = from.value.get(q_from as usize - 1).copied().unwrap_or(0.0);
                    let gain = arriving - leaving - lane.unit_cost as f64;
                    if gain <= 0.0 {
                        break;
                    }
                    gains.push((gain, k));
                    q_from -= 1;
                    q_to += 1;
                }
            }
            gains.sort_by(|a, b| b.0.total_cmp(&a.0));
            gains.truncate(fits);
            let saving: f64 = gains.iter().map(|g| g.0).sum::<f64>() - lane.fixed_cost as f64;
            if saving > best.as_ref().map_or(0.0, |b| b.saving) {
                let mut load: Vec<(usize, u32)> = Vec::new();
                for &(_, k) in &gains {
                    match load.iter_mut().find(|(j, _)| *j == k) {
                        Some((_, n)) => *n += 1,
                        None => load.push((k, 1)),
                    }
                }
                best = Some(Dispatch {
                    saving,
                    lane: l,
                    load,
                });
            }
        }
        let Some(Dispatch { lane: l, load, .. }) = best else {
            break;
        };
        let lane = &problem.lanes[l];
        plan.dispatches[l] += 1;
        for (k, n) in load {
            let (i, src, dst) = by_lane[l][k];
            held[i][src] -= n;
            movable[i][src] -= n;
            held[i][dst] += n;
            units[l][i] += n;
            if let Some(r) = room[lane.to].as_mut() {
                *r -= i64::from(n);
            }
            if let Some(r) = room[lane.from].as_mut() {
                *r += i64::from(n);
            }
        }
    }
    for (l, per_item) in units.iter().enumerate() {
        for (i, &n) in per_item.iter().enumerate() {
            if n > 0 {
                plan.flows.push(Flow {
                    lane: l,
                    item: i,
                    units: n,
                });
            }
        }
    }
    plan
}
