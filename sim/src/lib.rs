//! `sim`: a deterministic, exhaustive explorer of actor interleavings.
//!
//! A [`Model`] is a transition system whose steps belong to actors and declare the shared
//! objects they touch ([`Footprint`]). [`explore`] walks its state graph with one of several
//! strategies (BFS, parallel and deterministic; DFS; random walks; PCT), optionally with
//! partial-order and symmetry reduction, checks [`Property`]s, groups terminal states into
//! outcomes, and returns witnesses that become replayable [`Trace`]s. Nothing here knows about
//! virtual machines.

pub mod channel;
pub mod fingerprint;
pub mod footprint;
pub mod minimise;
pub mod model;
pub mod property;
pub mod reduction;
pub mod search;
mod sync;
pub mod trace;
pub mod yaml;

pub use channel::{Channel, Discipline, Receive};
pub use fingerprint::{fingerprint, format_fingerprint};
pub use footprint::{Footprint, ObjectId};
pub use model::{ActorId, Model, StepInfo};
pub use property::{Property, PropertyKind};
pub use search::{
    explore, Cut, Live, LiveSnapshot, Options, Outcome, Path, Reduction, Report, Strategy,
    Violation, ViolationKind,
};
pub use search::{DEFAULT_WALK_CAP, MAX_PCT_DEPTH, PORTFOLIO_PCT_DEPTH};
pub use trace::{Change, ReplayError, Trace, TraceStep};
