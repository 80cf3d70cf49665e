//! The one core trait: a model is a deterministic transition system whose steps belong to actors.

use crate::footprint::Footprint;
use crate::property::Property;
use serde::Serialize;
use std::fmt::Debug;
use std::hash::Hash;

/// Index of an actor (a thread, a process, a device) in [`Model::actors`].
pub type ActorId = u16;

/// What a step is, for people: who takes it, what it is called, and the upstream code it models.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct StepInfo {
    /// The actor taking the step.
    pub actor: ActorId,
    /// Short label, stable across versions (traces refer to steps by actor and label).
    pub label: String,
    /// The upstream function the step stands for (e.g. `qemuProcessHandleShutdown`), if any.
    pub upstream: Option<String>,
}

/// A deterministic transition system of actors with explicit state.
///
/// Nondeterminism lives only in *which* action is taken: every choice inside a step (which request
/// a guest acts on, whether a fault fires) is a separate action. `next_state` must be a function.
pub trait Model: Sync {
    /// The whole system state: every actor's locals, every channel, every shared object.
    type State: Clone + Eq + Hash + Debug + Serialize + Send + Sync;
    /// One enabled step together with its choice.
    type Action: Clone + Eq + Debug + Serialize + Send + Sync;

    /// A stable name for traces; a trace of another model is refused at replay.
    fn name(&self) -> String;

    /// Bumped whenever the model's steps change meaning; old traces then fail with a clear error.
    fn version(&self) -> u32 {
        1
    }

    /// Names of the actors, indexed by [`ActorId`].
    fn actors(&self) -> Vec<String>;

    /// The initial states (usually one).
    fn init_states(&self) -> Vec<Self::State>;

    /// Appends every action enabled in `state` to `out`, in a deterministic order.
    fn actions(&self, state: &Self::State, out: &mut Vec<Self::Action>);

    /// The state after taking `action` in `state`.
    fn next_state(&self, state: &Self::State, action: &Self::Action) -> Self::State;

    /// The actor, label and upstream function of an action.
    fn step_info(&self, action: &Self::Action) -> StepInfo;

    /// The actor taking `action`; override when [`Model::step_info`] is costly, since searches
    /// call this on their hot path.
    fn actor_of(&self, action: &Self::Action) -> ActorId {
        self.step_info(action).actor
    }

    /// The properties to check.
    fn properties(&self) -> Vec<Property<Self>>
    where
        Self: Sized;

    /// Shared objects `action` reads and writes in `state` (including what decides its
    /// enabledness). The default conflicts with everything, which disables reduction.
    fn footprint(&self, _state: &Self::State, _action: &Self::Action) -> Footprint {
        Footprint::ALL
    }

    /// An over-approximation of everything `actor` may still touch from `state` on, whatever the
    /// other actors do. Used by the persistent-set reduction.
    fn future_footprint(&self, _state: &Self::State, _actor: ActorId) -> Footprint {
        Footprint::ALL
    }

    /// False while some actor still has work to do; a state with no enabled action that is not
    /// done is a deadlock.
    fn is_done(&self, _state: &Self::State) -> bool {
        true
    }

    /// Groups terminal states into named outcomes (e.g. "domain running").
    fn outcome(&self, _state: &Self::State) -> Option<String> {
        None
    }

    /// The state as traces show it (their `init_state` and the paths of their `changes`). The
    /// default is the state's own serialisation; a model whose state is opaque (packed words)
    /// overrides it with a readable view.
    fn state_json(&self, state: &Self::State) -> serde_json::Value {
        serde_json::to_value(state).expect("model states serialise to JSON")
    }

    /// The representative of `state`'s symmetry class, for models with interchangeable actors.
    /// `None` means no symmetry reduction.
    fn canonical(&self, _state: &Self::State) -> Option<Self::State> {
        None
    }
}
