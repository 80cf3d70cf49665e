//! A search publishes live figures (for a progress display) without changing its result.

use serde::Serialize;
use sim::{
    explore, ActorId, Footprint, Live, Model, ObjectId, Options, Property, StepInfo, Strategy,
};
use std::sync::Arc;

/// Two actors each count to `N`: (N+1)² states, enough for the DFS to publish.
struct Grid;

const N: u16 = 120;

#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
struct Counts([u16; 2]);

impl Model for Grid {
    type State = Counts;
    type Action = u8;

    fn name(&self) -> String {
        "grid".into()
    }

    fn actors(&self) -> Vec<String> {
        vec!["a".into(), "b".into()]
    }

    fn init_states(&self) -> Vec<Counts> {
        vec![Counts([0, 0])]
    }

    fn actions(&self, s: &Counts, out: &mut Vec<u8>) {
        out.extend((0..2u8).filter(|&i| s.0[i as usize] < N));
    }

    fn next_state(&self, s: &Counts, &i: &u8) -> Counts {
        let mut n = s.clone();
        n.0[i as usize] += 1;
        n
    }

    fn step_info(&self, &i: &u8) -> StepInfo {
        StepInfo {
            actor: i as ActorId,
            label: "count".into(),
            upstream: None,
        }
    }

    fn properties(&self) -> Vec<Property<Self>> {
        vec![Property::always("bounded", |_: &Self, s: &Counts| {
            s.0.iter().all(|&c| c <= N)
        })]
    }

    fn footprint(&self, _: &Counts, &i: &u8) -> Footprint {
        Footprint::NONE.write(ObjectId::from(i))
    }
}

#[test]
fn bfs_and_dfs_publish_figures_and_find_the_same() {
    for strategy in [Strategy::Bfs, Strategy::Dfs] {
        let plain = Options {
            strategy,
            ..Options::default()
        };
        let live = Arc::new(Live::default());
        let watched = Options {
            live: Some(live.clone()),
            ..plain.clone()
        };
        let (a, b) = (explore(&Grid, &plain), explore(&Grid, &watched));
        assert_eq!(a.states, u64::from(N + 1).pow(2), "{strategy:?}");
        assert_eq!((a.states, a.transitions), (b.states, b.transitions));
        let seen = live.snapshot();
        assert!(seen.states > 0, "{strategy:?} published nothing");
        assert!(seen.states <= b.states, "{strategy:?}: {seen:?}");
        assert!(seen.depth > 0 && seen.depth <= b.max_depth as u64 + 1);
    }
}
