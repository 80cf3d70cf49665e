//! reboot-storm(N, fix): N independent domains, each running seed 000's repeated-reboot race
//! (an ACPI-mode reboot, then an agent-mode one). Domains share nothing, so it measures how close
//! a reduction gets to exploring the domains one after another.

use serde::Serialize;
use sim::{ActorId, Footprint, Model, Property, StepInfo};

/// Most domains a configuration may have.
pub const MAX_DOMAINS: usize = 12;

/// Threads per domain: A (ACPI reboot), B (agent reboot), G (guest), E (event thread).
const THREADS: usize = 4;

// Bit layout of one domain's globals and program counters in a u16.
const FAKE: u16 = 1;
const AGENT_UP: u16 = 1 << 1;
const ACPI_REQ: u16 = 1 << 2;
const AGENT_REQ: u16 = 1 << 3;
const SHUTDOWN_PENDING: u16 = 1 << 4;
const ACTED_SHIFT: u16 = 5; // 2 bits: 0 none, 1 acpi, 2 agent
const OUTCOME_SHIFT: u16 = 7; // 2 bits: 0 none, 1 reboot, 2 shutdown
const A_PC_SHIFT: u16 = 9; // 2 bits: 0..=2
const B_PC_SHIFT: u16 = 11; // 2 bits: 0..=3 (3 = done)
const G_PC_SHIFT: u16 = 13; // 2 bits: 0..=2

const NONE: u16 = 0;
const ACPI: u16 = 1;
const AGENT: u16 = 2;
const REBOOT: u16 = 1;
const SHUTDOWN: u16 = 2;

/// One domain's variables, packed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Default)]
pub struct Domain(u16);

impl Domain {
    fn flag(self, bit: u16) -> bool {
        self.0 & bit != 0
    }
    fn set_flag(&mut self, bit: u16, on: bool) {
        if on {
            self.0 |= bit
        } else {
            self.0 &= !bit
        }
    }
    fn field(self, shift: u16) -> u16 {
        (self.0 >> shift) & 3
    }
    fn set_field(&mut self, shift: u16, v: u16) {
        self.0 = (self.0 & !(3 << shift)) | (v << shift);
    }
}

/// The whole state: every domain.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
pub struct State {
    domains: [Domain; MAX_DOMAINS],
}

/// One thread's step of one domain; `choice` picks the request G1 acts on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Step {
    domain: u8,
    label: Label,
}

/// The steps of docs/bench.md.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum Label {
    /// `fake := true`.
    A1,
    /// `acpi_req := true`.
    A2,
    /// Ends B if the agent is down.
    B1,
    /// `fake := false` unless fixed.
    B2,
    /// `agent_req := true`.
    B3,
    /// The guest acts on the ACPI request.
    G1Acpi,
    /// The guest acts on the agent request.
    G1Agent,
    /// The guest completes what it acted on.
    G2,
    /// The event thread handles SHUTDOWN.
    E1,
}

/// The model for one configuration.
pub struct RebootStorm {
    n: usize,
    fix: bool,
}

impl RebootStorm {
    /// A configuration; `n` is at most [`MAX_DOMAINS`].
    pub fn new(n: usize, fix: bool) -> Result<Self, String> {
        if n == 0 || n > MAX_DOMAINS {
            return Err(format!("N must be between 1 and {MAX_DOMAINS}, got {n}"));
        }
        Ok(RebootStorm { n, fix })
    }

    /// The parameters as `reference-counts.tsv` writes them.
    pub fn params(&self) -> String {
        format!("N={},fix={}", self.n, self.fix)
    }

    fn thread_of(label: Label) -> usize {
        match label {
            Label::A1 | Label::A2 => 0,
            Label::B1 | Label::B2 | Label::B3 => 1,
            Label::G1Acpi | Label::G1Agent | Label::G2 => 2,
            Label::E1 => 3,
        }
    }
}

impl Model for RebootStorm {
    type State = State;
    type Action = Step;

    fn name(&self) -> String {
        format!("bench/reboot-storm({})", self.params())
    }

    fn actors(&self) -> Vec<String> {
        (0..self.n)
            .flat_map(|d| ["A", "B", "G", "E"].map(|t| format!("d{d}.{t}")))
            .collect()
    }

    fn init_states(&self) -> Vec<State> {
        let mut domains = [Domain::default(); MAX_DOMAINS];
        for d in domains.iter_mut().take(self.n) {
            d.set_flag(AGENT_UP, true);
        }
        vec![State { domains }]
    }

    fn actions(&self, state: &State, out: &mut Vec<Step>) {
        for (i, &d) in state.domains[..self.n].iter().enumerate() {
            let mut push = |label| {
                out.push(Step {
                    domain: i as u8,
                    label,
                })
            };
            match d.field(A_PC_SHIFT) {
                0 => push(Label::A1),
                1 => push(Label::A2),
                _ => {}
            }
            match d.field(B_PC_SHIFT) {
                0 => push(Label::B1),
                1 => push(Label::B2),
                2 => push(Label::B3),
                _ => {}
            }
            match d.field(G_PC_SHIFT) {
                0 if d.field(ACTED_SHIFT) == NONE => {
                    if d.flag(ACPI_REQ) {
                        push(Label::G1Acpi);
                    }
                    if d.flag(AGENT_REQ) {
                        push(Label::G1Agent);
                    }
                }
                1 => push(Label::G2),
                _ => {}
            }
            if d.flag(SHUTDOWN_PENDING) {
                push(Label::E1);
            }
        }
    }

    fn next_state(&self, state: &State, step: &Step) -> State {
        let mut s = *state;
        let d = &mut s.domains[step.domain as usize];
        match step.label {
            Label::A1 => {
                d.set_flag(FAKE, true);
                d.set_field(A_PC_SHIFT, 1);
            }
            Label::A2 => {
                d.set_flag(ACPI_REQ, true);
                d.set_field(A_PC_SHIFT, 2);
            }
            Label::B1 => {
                let next = if d.flag(AGENT_UP) { 1 } else { 3 };
                d.set_field(B_PC_SHIFT, next);
            }
            Label::B2 => {
                if !self.fix {
                    d.set_flag(FAKE, false);
                }
                d.set_field(B_PC_SHIFT, 2);
            }
            Label::B3 => {
                d.set_flag(AGENT_REQ, true);
                d.set_field(B_PC_SHIFT, 3);
            }
            Label::G1Acpi | Label::G1Agent => {
                let acted = if step.label == Label::G1Acpi {
                    ACPI
                } else {
                    AGENT
                };
                d.set_field(ACTED_SHIFT, acted);
                d.set_flag(AGENT_UP, false);
                d.set_field(G_PC_SHIFT, 1);
            }
            Label::G2 => {
                match d.field(ACTED_SHIFT) {
                    ACPI => d.set_flag(SHUTDOWN_PENDING, true),
                    AGENT => d.set_field(OUTCOME_SHIFT, REBOOT),
                    _ => {}
                }
                d.set_field(G_PC_SHIFT, 2);
            }
            Label::E1 => {
                let outcome = if d.flag(FAKE) { REBOOT } else { SHUTDOWN };
                d.set_field(OUTCOME_SHIFT, outcome);
                d.set_flag(SHUTDOWN_PENDING, false);
            }
        }
        s
    }

    fn actor_of(&self, step: &Step) -> ActorId {
        (step.domain as usize * THREADS + Self::thread_of(step.label)) as ActorId
    }

    fn step_info(&self, step: &Step) -> StepInfo {
        StepInfo {
            actor: self.actor_of(step),
            label: format!("{:?}", step.label),
            upstream: None,
        }
    }

    fn properties(&self) -> Vec<Property<Self>> {
        vec![Property::at_end(
            "every domain rebooted",
            |m: &Self, s: &State| {
                s.domains[..m.n]
                    .iter()
                    .all(|d| d.field(OUTCOME_SHIFT) == REBOOT)
            },
        )]
    }

    fn footprint(&self, _state: &State, step: &Step) -> Footprint {
        Footprint::NONE.write(step.domain)
    }

    fn future_footprint(&self, state: &State, actor: ActorId) -> Footprint {
        let domain = actor as usize / THREADS;
        let d = state.domains[domain];
        let active = match actor as usize % THREADS {
            0 => d.field(A_PC_SHIFT) < 2,
            1 => d.field(B_PC_SHIFT) < 3,
            2 => d.field(G_PC_SHIFT) < 2,
            _ => d.flag(SHUTDOWN_PENDING) || d.field(G_PC_SHIFT) < 2,
        };
        if active {
            Footprint::NONE.write(domain as u8)
        } else {
            Footprint::NONE
        }
    }
}
