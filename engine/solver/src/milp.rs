//! The allocation MILP of docs/allocation.md, solved by HiGHS.
//!
//! Built with the `highs` crate directly (not good_lp): good_lp hides the
//! MIP dual bound and turns "time limit without an incumbent" into an error,
//! and its model building is ~3x slower. The model is the same either way.
//!
//! Strong formulation ([`solve_highs`]): continuous `xf[l,n]`, `xp[l,n]`,
//! `b[l]`, binary `y[n]`, continuous `z >= 0`;
//!
//! - demand: `sum_n (xf + xp) + b = qty[l]` (`b` fixed to 0 unless backorders
//!   are allowed);
//! - disaggregated linking: `xf[l,n] <= free[l,n] y[n]`,
//!   `xp[l,n] <= protected[l,n] y[n]`;
//! - capacity: `sum_l (xf + xp)[l,n] <= capacity[n] y[n]` (only where it can
//!   bind);
//! - `sum_n y[n] <= max_nodes`; `z >= sum_n y[n] - 1`.
//!
//! With `y` fixed the rest is a transportation problem with integral data, so
//! its vertices are integral; the plan is still rounded and verified with
//! [`check`], and re-solved with integer `x` if rounding ever fails.

use std::ffi::CStr;
use std::time::{Duration, Instant};

use highs::{Col, HighsModelStatus, HighsSolutionStatus, RowProblem, Sense};

use super::error::SolverError;
use super::problem::{Plan, Problem, check, objective};
use super::solution::{Method, Solution, SolveStatus};

/// Relative MIP gap at which HiGHS stops and the answer counts as optimal.
pub const MIP_REL_GAP: f64 = 1e-4;

/// Absolute MIP gap: every plan's objective is a whole number of minor
/// units, so an incumbent within less than one unit of the bound is optimal.
pub const MIP_ABS_GAP: f64 = 0.999;

/// HiGHS random seed, fixed so the same problem gives the same answer.
pub const RANDOM_SEED: i32 = 0;

/// Shortest time limit ever handed to HiGHS, seconds (a past deadline still
/// lets presolve and the start solution produce an answer).
pub(crate) const MIN_TIME_LIMIT_S: f64 = 1e-3;

/// Solves the problem to optimality (within [`MIP_REL_GAP`]) with the strong
/// formulation, stopping at `deadline`. `start` (for example the greedy plan)
/// is handed to HiGHS as its first incumbent, so a time-limited answer is
/// never worse than it.
///
/// `nodes_explored` is always 0: HiGHS reports its node count as a 64-bit
/// info value that the `highs` crate cannot read.
pub fn solve_highs(
    problem: &Problem,
    deadline: Instant,
    start: Option<&Plan>,
) -> Result<Solution, SolverError> {
    let started = Instant::now();
    let continuous = Formulation::Strong { integer_x: false };
    let mut first = run(problem, deadline, start, true, continuous)?;
    if matches!(first, Outcome::StaleStart) {
        first = run(problem, deadline, start, false, continuous)?;
    }
    let solution = match first {
        Outcome::Rounded(solution) => solution,
        Outcome::RoundingFailed | Outcome::StaleStart => match run(
            problem,
            deadline,
            start,
            false,
            Formulation::Strong { integer_x: true },
        )? {
            Outcome::Rounded(solution) => solution,
            Outcome::RoundingFailed | Outcome::StaleStart => {
                return Err(SolverError(
                    "integer HiGHS plan fails the constraint check".into(),
                ));
            }
        },
    };
    Ok(Solution {
        elapsed: started.elapsed(),
        ..solution
    })
}

/// The straightforward formulation, used only as the benchmark baseline:
/// integer `xf`, `xp`, one aggregated big-M link per node
/// (`sum_l (xf + xp) <= min(capacity, sum_l min(stock, qty)) y`), no starting
/// solution and HiGHS's default feasibility jump.
pub fn solve_highs_naive(problem: &Problem, deadline: Instant) -> Result<Solution, SolverError> {
    let started = Instant::now();
    match run(problem, deadline, None, false, Formulation::Naive)? {
        Outcome::Rounded(solution) => Ok(Solution {
            elapsed: started.elapsed(),
            ..solution
        }),
        Outcome::RoundingFailed | Outcome::StaleStart => Err(SolverError(
            "integer HiGHS plan fails the constraint check".into(),
        )),
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Formulation {
    Strong { integer_x: bool },
    Naive,
}

enum Outcome {
    Rounded(Solution),
    RoundingFailed,
    /// HiGHS 1.16 sometimes reports a better objective than the primal
    /// solution it returns when it was given a start (the start's values
    /// come back). Seen on small models solved during presolve; the caller
    /// re-solves without the start.
    StaleStart,
}

/// Column handles of one order's model, `None` where the variable is fixed
/// at 0 (also one order's share of a backlog's joint model).
pub(crate) struct Columns {
    /// `xf[l,n]`, row-major.
    pub free: Vec<Option<Col>>,
    /// `xp[l,n]`, row-major.
    pub protected: Vec<Option<Col>>,
    /// `b[l]`.
    pub backorder: Vec<Col>,
    /// `y[n]`.
    pub used: Vec<Col>,
    /// `z`.
    pub split: Col,
}

fn build(problem: &Problem, formulation: Formulation) -> (RowProblem, Columns) {
    let mut model = RowProblem::default();
    let integer_x = match formulation {
        Formulation::Strong { integer_x } => integer_x,
        Formulation::Naive => true,
    };
    let n = problem.n();
    let used: Vec<Col> = problem
        .candidates
        .iter()
        .map(|c| model.add_integer_column(c.package_cost as f64, 0..=1))
        .collect();
    let split = model.add_column(problem.split_penalty as f64, 0.0..);
    let mut free = vec![None; problem.lines.len() * n];
    let mut protected = vec![None; problem.lines.len() * n];
    let mut backorder = Vec::with_capacity(problem.lines.len());
    for (l, line) in problem.lines.iter().enumerate() {
        for c in 0..n {
            let i = problem.at(l, c);
            let cap = problem.candidates[c].capacity.min(line.quantity);
            let unit = problem.unit_cost(l, c) as f64;
            let f = problem.free_stock[i].min(cap);
            if f > 0 {
                free[i] = Some(model.add_column_with_integrality(unit, 0..=f, integer_x));
            }
            let p = problem.protected_stock[i].min(cap);
            if p > 0 {
                let cost = unit + problem.protect_penalty[i] as f64;
                protected[i] = Some(model.add_column_with_integrality(cost, 0..=p, integer_x));
            }
        }
        let max_b = if problem.allow_backorder {
            line.quantity
        } else {
            0
        };
        backorder.push(model.add_column_with_integrality(
            problem.backorder_penalty as f64,
            0..=max_b,
            integer_x,
        ));
    }
    let cols = Columns {
        free,
        protected,
        backorder,
        used,
        split,
    };
    add_rows(problem, formulation, &mut model, &cols);
    (model, cols)
}

fn add_rows(problem: &Problem, formulation: Formulation, model: &mut RowProblem, cols: &Columns) {
    let n = problem.n();
    for (l, line) in problem.lines.iter().enumerate() {
        let mut row = vec![(cols.backorder[l], 1.0)];
        for c in 0..n {
            let i = problem.at(l, c);
            row.extend(cols.free[i].map(|x| (x, 1.0)));
            row.extend(cols.protected[i].map(|x| (x, 1.0)));
        }
        let q = f64::from(line.quantity);
        model.add_row(q..=q, row);
    }
    for c in 0..n {
        let y = cols.used[c];
        let mut node_row = Vec::new();
        let mut deliverable = 0u64;
        for l in 0..problem.lines.len() {
            let i = problem.at(l, c);
            for (x, stock) in [
                (cols.free[i], problem.free_stock[i]),
                (cols.protected[i], problem.protected_stock[i]),
            ] {
                let Some(x) = x else { continue };
                let bound = stock
                    .min(problem.lines[l].quantity)
                    .min(problem.candidates[c].capacity);
                deliverable += u64::from(bound);
                node_row.push((x, 1.0));
                if formulation != Formulation::Naive {
                    model.add_row(..=0.0, [(x, 1.0), (y, -f64::from(bound))]);
                }
            }
        }
        let capacity = u64::from(problem.candidates[c].capacity);
        let link = match formulation {
            Formulation::Naive => Some(capacity.min(deliverable)),
            Formulation::Strong { .. } => (capacity < deliverable).then_some(capacity),
        };
        if let Some(m) = link {
            node_row.push((y, -(m as f64)));
            model.add_row(..=0.0, node_row);
        }
    }
    if let Some(max) = problem.max_nodes {
        model.add_row(..=f64::from(max), cols.used.iter().map(|&y| (y, 1.0)));
    }
    let mut split_row = vec![(cols.split, 1.0)];
    split_row.extend(cols.used.iter().map(|&y| (y, -1.0)));
    model.add_row(-1.0.., split_row);
}

/// The column values of a plan, in the model's column order.
fn start_vector(problem: &Problem, cols: &Columns, plan: &Plan, num_cols: usize) -> Vec<f64> {
    let mut v = vec![0.0; num_cols];
    write_plan(problem, cols, plan, &mut v);
    v
}

/// Writes `plan`'s values into its columns of `values`.
pub(crate) fn write_plan(problem: &Problem, cols: &Columns, plan: &Plan, values: &mut [f64]) {
    for (i, (f, p)) in cols.free.iter().zip(&cols.protected).enumerate() {
        if let Some(f) = f {
            values[f.index()] = f64::from(plan.free[i]);
        }
        if let Some(p) = p {
            values[p.index()] = f64::from(plan.protected[i]);
        }
    }
    for (l, b) in cols.backorder.iter().enumerate() {
        values[b.index()] = f64::from(plan.backordered[l]);
    }
    let used = plan.used(problem);
    for &c in &used {
        values[cols.used[c].index()] = 1.0;
    }
    values[cols.split.index()] = used.len().saturating_sub(1) as f64;
}

/// The plan in `values`, rounded to whole units.
pub(crate) fn read_plan(problem: &Problem, cols: &Columns, values: &[f64]) -> Plan {
    let round = |col: Option<Col>| col.map_or(0, |c| values[c.index()].round().max(0.0) as u32);
    Plan {
        free: cols.free.iter().map(|&c| round(c)).collect(),
        protected: cols.protected.iter().map(|&c| round(c)).collect(),
        backordered: (0..problem.lines.len())
            .map(|l| round(Some(cols.backorder[l])))
            .collect(),
    }
}

/// Sets a HiGHS option, naming it in the error.
pub(crate) fn set(
    model: &mut highs::Model,
    name: &str,
    value: impl highs::HighsOptionValue,
) -> Result<(), SolverError> {
    model
        .try_set_option(name, value)
        .map_err(|e| SolverError(format!("setting HiGHS option {name}: {e:?}")))
}

/// Sets HiGHS's time limit to what is left until `deadline` (at least
/// [`MIN_TIME_LIMIT_S`]).
pub(crate) fn set_deadline(model: &mut highs::Model, deadline: Instant) -> Result<(), SolverError> {
    let left = deadline
        .saturating_duration_since(Instant::now())
        .as_secs_f64();
    set(model, "time_limit", left.max(MIN_TIME_LIMIT_S))
}

fn double_info(solved: &highs::SolvedModel, name: &CStr) -> Option<f64> {
    solved
        .double_info_value(name)
        .ok()
        .filter(|v| v.is_finite())
}

/// One HiGHS solve. `start`, if feasible, is the answer whenever HiGHS finds
/// nothing better; it is also handed to HiGHS when `give_start`.
fn run(
    problem: &Problem,
    deadline: Instant,
    start: Option<&Plan>,
    give_start: bool,
    formulation: Formulation,
) -> Result<Outcome, SolverError> {
    let started = Instant::now();
    let (row_problem, cols) = build(problem, formulation);
    let num_cols = row_problem.num_cols();
    let mut model = row_problem
        .try_optimise(Sense::Minimise)
        .map_err(|e| SolverError(format!("building the HiGHS model: {e:?}")))?;
    let time_limit = deadline
        .saturating_duration_since(started)
        .as_secs_f64()
        .max(MIN_TIME_LIMIT_S);
    set(&mut model, "threads", 1)?;
    set(&mut model, "output_flag", false)?;
    set(&mut model, "random_seed", RANDOM_SEED)?;
    set(&mut model, "mip_rel_gap", MIP_REL_GAP)?;
    set(&mut model, "time_limit", time_limit)?;
    if formulation != Formulation::Naive {
        set(&mut model, "mip_abs_gap", MIP_ABS_GAP)?;
        set(&mut model, "mip_heuristic_run_feasibility_jump", false)?;
    }
    let start = start.filter(|p| check(problem, p).is_ok());
    if let Some(plan) = start.filter(|_| give_start) {
        let values = start_vector(problem, &cols, plan, num_cols);
        model
            .try_set_solution(Some(&values), None, None, None)
            .map_err(|e| SolverError(format!("setting the HiGHS start: {e:?}")))?;
    }
    let solved = model
        .try_solve()
        .map_err(|e| SolverError(format!("HiGHS run failed: {e:?}")))?;
    let status = solved.status();
    let has_solution = solved.primal_solution_status() == HighsSolutionStatus::Feasible;
    let status = match status {
        HighsModelStatus::Optimal => SolveStatus::Optimal,
        HighsModelStatus::Infeasible | HighsModelStatus::UnboundedOrInfeasible => {
            return Ok(Outcome::Rounded(Solution {
                status: SolveStatus::Infeasible,
                plan: None,
                objective: Default::default(),
                lower_bound: 0,
                method: Method::Highs,
                nodes_explored: 0,
                elapsed: started.elapsed(),
            }));
        }
        HighsModelStatus::ReachedTimeLimit
        | HighsModelStatus::ReachedIterationLimit
        | HighsModelStatus::ReachedSolutionLimit
        | HighsModelStatus::ReachedInterrupt
        | HighsModelStatus::ReachedMemoryLimit => SolveStatus::TimeLimit,
        other => {
            return Err(SolverError(format!("HiGHS ended with status {other:?}")));
        }
    };
    let mut plan = if has_solution {
        let plan = read_plan(problem, &cols, solved.get_solution().columns());
        let reported = solved.objective_value();
        if give_start
            && start.is_some()
            && status == SolveStatus::Optimal
            && objective(problem, &plan).total() as f64 > reported + 0.5
        {
            return Ok(Outcome::StaleStart);
        }
        if check(problem, &plan).is_err() {
            if matches!(formulation, Formulation::Strong { integer_x: false }) {
                return Ok(Outcome::RoundingFailed);
            }
            start.cloned()
        } else {
            Some(plan)
        }
    } else {
        None
    };
    if let (Some(s), Some(p)) = (start, plan.as_ref()) {
        if objective(problem, s).total() < objective(problem, p).total() {
            plan = Some(s.clone());
        }
    } else if plan.is_none() {
        plan = start.cloned();
    }
    let objective = plan
        .as_ref()
        .map(|p| objective(problem, p))
        .unwrap_or_default();
    let lower_bound = match status {
        SolveStatus::Optimal => objective.total(),
        _ => double_info(&solved, c"mip_dual_bound")
            .map(|b| ((b - 1e-6).ceil() as i64).min(objective.total()))
            .unwrap_or(0),
    };
    if status == SolveStatus::Optimal && plan.is_none() {
        return Err(SolverError(
            "HiGHS reported optimal without a solution".into(),
        ));
    }
    Ok(Outcome::Rounded(Solution {
        status,
        plan,
        objective,
        lower_bound,
        method: Method::Highs,
        nodes_explored: 0,
        elapsed: started.elapsed(),
    }))
}

/// Time left until `deadline`, zero when it has passed.
pub fn remaining(deadline: Instant) -> Duration {
    deadline.saturating_duration_since(Instant::now())
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant};

    use super::*;
    use crate::greedy::greedy;
    use crate::testgen::random_problem;

    fn far() -> Instant {
        Instant::now() + Duration::from_secs(20)
    }

    fn assert_sound(problem: &Problem, solution: &Solution) {
        if let Some(plan) = &solution.plan {
            assert_eq!(check(problem, plan), Ok(()));
            assert_eq!(objective(problem, plan), solution.objective);
            assert!(solution.lower_bound <= solution.objective.total());
        }
    }

    #[test]
    fn highs_is_feasible_and_no_worse_than_greedy() {
        for (lines, nodes) in [(3, 10), (5, 20)] {
            for seed in 0..30 {
                let problem = random_problem(seed, lines, nodes);
                let start = greedy(&problem);
                let solution = solve_highs(&problem, far(), start.as_ref()).unwrap();
                assert_sound(&problem, &solution);
                match (&start, solution.status) {
                    (Some(g), SolveStatus::Optimal) => {
                        let greedy_total = objective(&problem, g).total();
                        assert!(
                            solution.objective.total() <= greedy_total,
                            "seed {seed}: {solution:?} vs greedy {greedy_total}"
                        );
                        // Without the start HiGHS reaches the same optimum.
                        let cold = solve_highs(&problem, far(), None).unwrap();
                        assert_eq!(
                            cold.objective.total(),
                            solution.objective.total(),
                            "seed {seed}"
                        );
                    }
                    (Some(_), status) => {
                        panic!("seed {seed}: greedy found a plan, HiGHS says {status:?}")
                    }
                    (None, SolveStatus::Infeasible) => assert!(!problem.allow_backorder),
                    (None, SolveStatus::Optimal) => assert!(!problem.allow_backorder),
                    (None, status) => panic!("seed {seed}: {status:?}"),
                }
            }
        }
    }

    #[test]
    fn naive_formulation_reaches_the_same_optimum() {
        for seed in 0..15 {
            let problem = random_problem(seed, 3, 8);
            let strong = solve_highs(&problem, far(), None).unwrap();
            let naive = solve_highs_naive(&problem, far()).unwrap();
            assert_sound(&problem, &naive);
            assert_eq!(strong.status, naive.status, "seed {seed}");
            assert_eq!(
                strong.objective.total(),
                naive.objective.total(),
                "seed {seed}"
            );
        }
    }

    #[test]
    fn ship_complete_without_a_complete_node_is_infeasible() {
        let mut problem = random_problem(3, 2, 2);
        problem.free_stock = vec![problem.lines[0].quantity, 0, 0, problem.lines[1].quantity];
        problem.protected_stock = vec![0; 4];
        problem.max_nodes = Some(1);
        problem.allow_backorder = false;
        assert_eq!(greedy(&problem), None);
        let solution = solve_highs(&problem, far(), None).unwrap();
        assert_eq!(solution.status, SolveStatus::Infeasible);
        assert_eq!(solution.plan, None);
    }

    #[test]
    fn past_deadline_still_answers_with_the_start() {
        let problem = random_problem(11, 5, 20);
        let start = greedy(&problem);
        let solution = solve_highs(&problem, Instant::now(), start.as_ref()).unwrap();
        assert_sound(&problem, &solution);
        if let Some(g) = &start {
            assert!(solution.objective.total() <= objective(&problem, g).total());
        }
    }

    #[test]
    fn same_input_same_answer() {
        let problem = random_problem(5, 5, 20);
        let a = solve_highs(&problem, far(), None).unwrap();
        let b = solve_highs(&problem, far(), None).unwrap();
        assert_eq!(a.plan, b.plan);
    }
}
