//! `Options::root_shard`: the union over shards of the distinct terminal states, outcomes and
//! violations equals the unsharded run's, for BFS and DFS, with and without reduction.

use models::bench::{Cleanup, Naming, RebootStorm, TapChurn};
use sim::{explore, ActorId, Footprint, Model, Options, Property, Reduction, StepInfo, Strategy};
use std::collections::BTreeSet;

/// A model whose outcome is the terminal state itself, so the report's outcome names are exactly
/// the distinct terminal states.
struct Terminals<M>(M);

impl<M: Model + 'static> Model for Terminals<M> {
    type State = M::State;
    type Action = M::Action;
    fn name(&self) -> String {
        self.0.name()
    }
    fn actors(&self) -> Vec<String> {
        self.0.actors()
    }
    fn init_states(&self) -> Vec<M::State> {
        self.0.init_states()
    }
    fn actions(&self, s: &M::State, out: &mut Vec<M::Action>) {
        self.0.actions(s, out)
    }
    fn next_state(&self, s: &M::State, a: &M::Action) -> M::State {
        self.0.next_state(s, a)
    }
    fn step_info(&self, a: &M::Action) -> StepInfo {
        self.0.step_info(a)
    }
    fn actor_of(&self, a: &M::Action) -> ActorId {
        self.0.actor_of(a)
    }
    fn footprint(&self, s: &M::State, a: &M::Action) -> Footprint {
        self.0.footprint(s, a)
    }
    fn future_footprint(&self, s: &M::State, actor: ActorId) -> Footprint {
        self.0.future_footprint(s, actor)
    }
    fn is_done(&self, s: &M::State) -> bool {
        self.0.is_done(s)
    }
    fn outcome(&self, s: &M::State) -> Option<String> {
        Some(format!("{:?} / {:?}", s, self.0.outcome(s)))
    }
    fn properties(&self) -> Vec<Property<Self>> {
        self.0
            .properties()
            .into_iter()
            .map(|p| {
                let name = p.name.clone();
                let kind = p.kind;
                let inner = std::sync::Arc::new(p);
                let f = move |m: &Self, s: &M::State| inner.holds(&m.0, s);
                match kind {
                    sim::PropertyKind::Always => Property::always(&name, f),
                    sim::PropertyKind::AtEnd => Property::at_end(&name, f),
                    sim::PropertyKind::Sometimes => Property::sometimes(&name, f),
                    sim::PropertyKind::Eventually => Property::eventually(&name, f),
                }
            })
            .collect()
    }
}

type Found = (BTreeSet<String>, BTreeSet<String>);

fn found<M: Model>(model: &M, options: &Options) -> (Found, u64) {
    let report = explore(model, options);
    assert!(
        report.complete,
        "{} was cut: {:?}",
        model.name(),
        report.cuts
    );
    let found = (
        report.outcomes.keys().cloned().collect(),
        report
            .violations
            .iter()
            .map(|v| v.property.clone())
            .collect(),
    );
    (found, report.states)
}

fn check_union<M: Model>(model: &M) {
    for strategy in [Strategy::Bfs, Strategy::Dfs] {
        for reduction in [Reduction::None, Reduction::Por] {
            let base = Options {
                strategy,
                reduction,
                ..Options::default()
            };
            let (whole, states) = found(model, &base);
            assert!(whole.0.len() > 1, "the model has several terminal states");
            for n in 1..=3 {
                let mut union: Found = Default::default();
                let mut smaller = false;
                for i in 0..n {
                    let opts = Options {
                        root_shard: Some((i, n)),
                        ..base.clone()
                    };
                    let ((t, v), shard_states) = found(model, &opts);
                    smaller |= shard_states < states;
                    union.0.extend(t);
                    union.1.extend(v);
                }
                assert_eq!(smaller, n > 1, "a shard of {n} explores only a part");
                assert_eq!(
                    union,
                    whole,
                    "{} {strategy:?} {reduction:?}: union of {n} shards",
                    model.name()
                );
            }
        }
    }
}

#[test]
fn union_of_root_shards_is_the_whole_run() {
    check_union(&Terminals(RebootStorm::new(2, false).unwrap()));
    check_union(&Terminals(
        TapChurn::new(2, 1, Naming::LowestFree, Cleanup::Buggy).unwrap(),
    ));
}

/// The BFS states budget is checked per chunk during a level, so a cut run overshoots by at most
/// one chunk's successors instead of a whole level.
#[test]
fn bfs_states_budget_is_checked_during_a_level() {
    let model = TapChurn::new(4, 1, Naming::LowestFree, Cleanup::Buggy).unwrap();
    let upto = |depth: usize| {
        let opts = Options {
            max_depth: Some(depth),
            ..Options::default()
        };
        explore(&model, &opts).states
    };
    // Level 15 is the widest (19 652 states): the budget lands in its middle.
    let depth = 15;
    let before = upto(depth - 1);
    let width = upto(depth) - before;
    let limit = before + width / 2;
    // One chunk is 64 states, each with at most 4 VMs' steps.
    let slack = 64 * 4;
    assert!(
        width / 2 > 4 * slack,
        "level {depth} is {width} states wide"
    );
    for jobs in [1, 2] {
        let report = explore(
            &model,
            &Options {
                max_states: Some(limit),
                jobs,
                ..Options::default()
            },
        );
        assert!(!report.complete);
        assert_eq!(report.cuts, vec![sim::Cut::States(limit)]);
        assert!(
            report.states <= limit + slack * jobs as u64,
            "{} states for a budget of {limit} (level {depth}: {before} + {width})",
            report.states
        );
    }
}
