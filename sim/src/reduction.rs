//! Static partial-order reduction: persistent sets computed from declared footprints, as Spin
//! does, so that the reduced graph depends only on the state (never on search order).
//!
//! In a state, a *cluster* is a set of actors closed under "their futures may conflict"
//! ([`Model::future_footprint`]). No step of an actor outside the cluster can ever conflict with,
//! enable or disable a step of an actor inside it, so the enabled steps of the cluster form a
//! persistent set: every terminal state stays reachable (Godefroid). For `always`, `sometimes`
//! and `eventually` properties a proper subset is used only when none of its steps writes an
//! object the property reads (visibility); the cycle proviso that completes the argument is
//! applied by the search strategy (stack proviso in DFS, level proviso in BFS).

use crate::footprint::Footprint;
use crate::model::{ActorId, Model};

/// Which steps of a state to explore.
pub enum Selection {
    /// Every enabled step.
    All,
    /// Only these indices into the enabled-action list (a proper persistent set).
    Ample(Vec<usize>),
}

/// Computes persistent sets for one model.
pub struct Reducer {
    actors: usize,
    visible: Footprint,
}

impl Reducer {
    /// `visible` is the union of the read sets of the properties that reduction must preserve
    /// in every state (not only terminal ones).
    pub fn new<M: Model>(model: &M, visible: Footprint) -> Self {
        Reducer {
            actors: model.actors().len(),
            visible,
        }
    }

    /// Chooses the smallest persistent, invisible cluster of enabled actions in `state`.
    pub fn select<M: Model>(
        &self,
        model: &M,
        state: &M::State,
        actions: &[M::Action],
    ) -> Selection {
        if actions.len() <= 1 {
            return Selection::All;
        }
        let actor_of: Vec<ActorId> = actions.iter().map(|a| model.actor_of(a)).collect();
        let mut has_enabled = vec![false; self.actors];
        for &p in &actor_of {
            has_enabled[p as usize] = true;
        }
        if has_enabled.iter().filter(|&&e| e).count() <= 1 {
            return Selection::All;
        }
        let futures: Vec<Footprint> = (0..self.actors)
            .map(|p| model.future_footprint(state, p as ActorId))
            .collect();
        let mut best: Option<Vec<usize>> = None;
        let mut tried = vec![false; self.actors];
        for start in 0..self.actors {
            if !has_enabled[start] || tried[start] {
                continue;
            }
            let cluster = self.closure(start, &futures);
            for (p, &inside) in cluster.iter().enumerate() {
                if inside && has_enabled[p] {
                    tried[p] = true;
                }
            }
            let chosen: Vec<usize> = (0..actions.len())
                .filter(|&i| cluster[actor_of[i] as usize])
                .collect();
            if chosen.len() == actions.len() {
                continue;
            }
            let invisible = chosen.iter().all(|&i| {
                !model
                    .footprint(state, &actions[i])
                    .writes_any_of(&self.visible)
            });
            if invisible && best.as_ref().is_none_or(|b| chosen.len() < b.len()) {
                best = Some(chosen);
            }
        }
        match best {
            Some(chosen) => Selection::Ample(chosen),
            None => Selection::All,
        }
    }

    fn closure(&self, start: usize, futures: &[Footprint]) -> Vec<bool> {
        let mut inside = vec![false; self.actors];
        inside[start] = true;
        let mut work = vec![start];
        while let Some(q) = work.pop() {
            for r in 0..self.actors {
                if !inside[r] && futures[q].conflicts(&futures[r]) {
                    inside[r] = true;
                    work.push(r);
                }
            }
        }
        inside
    }
}
