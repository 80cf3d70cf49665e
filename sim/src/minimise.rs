//! Counterexample minimisation: after BFS has given a shortest path, swap adjacent independent
//! steps to group each actor's steps together (fewer context switches) while the path still
//! executes and still shows what it witnessed.

use crate::model::Model;
use crate::search::Path;

/// Executes `path`, returning the final state, or `None` if some step is not enabled.
pub fn execute<M: Model>(model: &M, path: &Path<M>) -> Option<M::State> {
    let mut state = model.init_states().get(path.init)?.clone();
    let mut enabled = Vec::new();
    for action in &path.actions {
        enabled.clear();
        model.actions(&state, &mut enabled);
        if !enabled.contains(action) {
            return None;
        }
        state = model.next_state(&state, action);
    }
    Some(state)
}

/// Number of adjacent step pairs taken by different actors.
pub fn context_switches<M: Model>(model: &M, path: &Path<M>) -> usize {
    path.actions
        .windows(2)
        .filter(|w| model.actor_of(&w[0]) != model.actor_of(&w[1]))
        .count()
}

/// Removes needless preemptions: repeatedly swaps adjacent steps of different actors when that
/// lowers the number of context switches and `still_witnesses` accepts the final state.
pub fn drop_needless_preemptions<M: Model>(
    model: &M,
    path: &Path<M>,
    still_witnesses: impl Fn(&M::State) -> bool,
) -> Path<M> {
    let mut best = path.clone();
    let mut switches = context_switches(model, &best);
    let mut improved = true;
    while improved {
        improved = false;
        for i in 0..best.actions.len().saturating_sub(1) {
            let mut candidate = best.clone();
            candidate.actions.swap(i, i + 1);
            let s = context_switches(model, &candidate);
            if s >= switches {
                continue;
            }
            if execute(model, &candidate).is_some_and(|end| still_witnesses(&end)) {
                best = candidate;
                switches = s;
                improved = true;
            }
        }
    }
    best
}
