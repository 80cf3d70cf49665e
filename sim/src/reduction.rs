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
//!
//! Clusters are the connected components of "touches an object some active actor writes",
//! found with a union-find over actors in time linear in the footprints' sizes.

use crate::footprint::Footprint;
use crate::model::{ActorId, Model};

/// Which steps of a state to explore.
pub enum Selection {
    /// Every enabled step.
    All,
    /// Only these indices into the enabled-action list (a proper persistent set).
    Ample(Vec<usize>),
}

/// Reusable buffers, so that choosing a persistent set allocates nothing per state.
#[derive(Default)]
pub struct Scratch {
    parent: Vec<usize>,
    futures: Vec<Footprint>,
    enabled: Vec<usize>,
    actor_of: Vec<usize>,
    first_toucher: Vec<usize>,
    touched: Vec<usize>,
}

/// Computes persistent sets for one model.
pub struct Reducer {
    actors: usize,
    visible: Footprint,
}

fn find(parent: &mut [usize], mut x: usize) -> usize {
    while parent[x] != x {
        parent[x] = parent[parent[x]];
        x = parent[x];
    }
    x
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
        scratch: &mut Scratch,
    ) -> Selection {
        if actions.len() <= 1 {
            return Selection::All;
        }
        let n = self.actors;
        let Scratch {
            parent,
            futures,
            enabled,
            actor_of,
            first_toucher,
            touched,
        } = scratch;
        actor_of.clear();
        actor_of.extend(actions.iter().map(|a| model.actor_of(a) as usize));
        let first = actor_of[0];
        if actor_of.iter().all(|&p| p == first) {
            return Selection::All;
        }
        futures.clear();
        futures.extend((0..n).map(|p| model.future_footprint(state, p as ActorId)));
        parent.clear();
        parent.extend(0..n);
        // An object joins every actor that touches it, provided some actor writes it.
        let written = futures
            .iter()
            .fold(Footprint::NONE, |w, f| w.union(f.writes_only()));
        first_toucher.resize(Footprint::MAX_OBJECTS, usize::MAX);
        for (p, f) in futures.iter().enumerate() {
            for object in f.intersection(&written).objects() {
                let slot = &mut first_toucher[object as usize];
                if *slot == usize::MAX {
                    *slot = p;
                    touched.push(object as usize);
                } else {
                    let (a, b) = (find(parent, p), find(parent, *slot));
                    parent[a] = b;
                }
            }
        }
        for object in touched.drain(..) {
            first_toucher[object] = usize::MAX;
        }
        enabled.clear();
        enabled.resize(n, 0);
        for &p in actor_of.iter() {
            let root = find(parent, p);
            enabled[root] += 1;
        }
        // Try clusters from the smallest (ties: lowest root) until one is invisible.
        loop {
            let best = (0..n)
                .filter(|&r| enabled[r] > 0 && enabled[r] < actions.len())
                .min_by_key(|&r| (enabled[r], r));
            let Some(root) = best else {
                return Selection::All;
            };
            let chosen: Vec<usize> = (0..actions.len())
                .filter(|&i| find(parent, actor_of[i]) == root)
                .collect();
            let invisible = chosen.iter().all(|&i| {
                !model
                    .footprint(state, &actions[i])
                    .writes_any_of(&self.visible)
            });
            if invisible {
                return Selection::Ample(chosen);
            }
            enabled[root] = 0;
        }
    }
}
