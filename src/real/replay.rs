//! The common result of a real replay (a trace executed against real software instead of the
//! model) and the dispatch from a scenario's model to the replay that can execute it.
//!
//! A [`RealOutcome`] holds the model's prediction (the replayed trace's final observations),
//! what the real system showed, mapped to the same observation names, and every executed step.
//! `agreed` is true iff the two agree on every compared key (the keys of `observed`).

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::Serialize;
use sim::Trace;

use crate::error::CliError;
use crate::scenario::{Job, Scenario};

/// One executed step of a real replay.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RealStep {
    /// The trace's actor (`api-A`), or `setup` for the scenario's initial state.
    pub actor: String,
    /// The trace's step label (`tap-create`).
    pub label: String,
    /// What was really done (the command or syscall), or why nothing was.
    pub action: String,
    /// What it returned.
    pub result: String,
}

/// The result of replaying one trace on real software.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RealOutcome {
    /// The model (`network`, `lifecycle`, `migration`).
    pub model: String,
    /// Scenario name.
    pub scenario: String,
    /// Variant.
    pub variant: String,
    /// Matrix case, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub case: Option<String>,
    /// The model's final observations for the compared keys.
    pub predicted: BTreeMap<String, String>,
    /// The real system's state, mapped to the model's observation names.
    pub observed: BTreeMap<String, String>,
    /// True iff `predicted` and `observed` are equal on every key of `observed`.
    pub agreed: bool,
    /// Every executed step, in order.
    pub steps: Vec<RealStep>,
    /// Where it ran (kernel, tool versions, datapath), for the report.
    pub environment: BTreeMap<String, String>,
}

impl RealOutcome {
    /// The compared keys on which prediction and observation differ.
    pub fn disagreements(&self) -> Vec<&str> {
        self.observed
            .iter()
            .filter(|(k, v)| self.predicted.get(*k) != Some(*v))
            .map(|(k, _)| k.as_str())
            .collect()
    }

    /// A Markdown report: verdict, predicted vs observed side by side, the executed steps and
    /// the environment.
    pub fn to_markdown(&self) -> String {
        let mut out = String::new();
        let case = self
            .case
            .as_deref()
            .map(|c| format!(", case `{c}`"))
            .unwrap_or_default();
        let verdict = if self.agreed {
            "AGREED: the real system did what the model predicted".to_string()
        } else {
            format!(
                "DISAGREED on {}",
                self.disagreements()
                    .iter()
                    .map(|k| format!("`{k}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        };
        let _ = writeln!(
            out,
            "### Real replay: {} (model `{}`), variant `{}`{case}\n\n**{verdict}**\n",
            self.scenario, self.model, self.variant
        );
        out.push_str("| observation | predicted (model) | observed (real) | |\n");
        out.push_str("|---|---|---|---|\n");
        for (key, seen) in &self.observed {
            let want = self.predicted.get(key).map_or("(none)", String::as_str);
            let mark = if want == seen { "ok" } else { "DIFFERS" };
            let _ = writeln!(out, "| `{key}` | {want} | {seen} | {mark} |");
        }
        out.push_str("\n| # | actor | step | real action | result |\n|---|---|---|---|---|\n");
        for (i, step) in self.steps.iter().enumerate() {
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} | {} |",
                i + 1,
                step.actor,
                step.label,
                cell(&step.action),
                cell(&step.result)
            );
        }
        if !self.environment.is_empty() {
            out.push_str("\nEnvironment: ");
            let env: Vec<String> = self
                .environment
                .iter()
                .map(|(k, v)| format!("{k} = {v}"))
                .collect();
            out.push_str(&env.join("; "));
            out.push('\n');
        }
        out
    }
}

/// Escapes a Markdown table cell.
fn cell(text: &str) -> String {
    format!("`{}`", text.replace('|', "\\|").replace('`', "'"))
}

/// Whether this build can replay traces of `model` on real software.
pub fn supports_real(model: &str) -> bool {
    matches!(model, "network" | "lifecycle" | "migration")
}

/// `Some(reason)` when `job`'s variant models other real software than this machine's (the
/// migration model's `qemu_migration` axis names QEMU versions; the real replay runs the QEMU
/// installed here; the network model's `datapath: kernel` is an OVS datapath the sandbox does
/// not run), or a setup the real replay cannot drive (a lifecycle domain on SeaBIOS, or with
/// several domains), so that replaying its witnesses would not test the model. `check --real`
/// and `fidelity` skip such jobs and say why.
pub fn other_software(scenario: &Scenario, job: &Job) -> Result<Option<String>, CliError> {
    match scenario.file.model.as_str() {
        "migration" => super::migration_replay::other_qemu(scenario, job),
        "lifecycle" => super::qemu_replay::not_replayable(scenario, job),
        "network" => super::net_replay::other_datapath(scenario, job),
        _ => Ok(None),
    }
}

/// Replays `trace` (a trace of `scenario`'s `job`) on real software and compares the result with
/// the model's prediction. `Err` means the replay could not run (bad trace, missing tools, not
/// root): exit code 2.
pub fn replay_real(scenario: &Scenario, job: &Job, trace: &Trace) -> Result<RealOutcome, CliError> {
    match scenario.file.model.as_str() {
        "network" => super::net_replay::replay(scenario, job, trace),
        "lifecycle" => super::qemu_replay::replay(scenario, job, trace),
        "migration" => super::migration_replay::replay(scenario, job, trace),
        other => Err(CliError::bad_input(format!(
            "{}: model `{other}` has no real replay",
            scenario.path.display()
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn outcome(observed_b: &str) -> RealOutcome {
        let map = |pairs: &[(&str, &str)]| {
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect::<BTreeMap<_, _>>()
        };
        let observed = map(&[("B.connected", observed_b), ("B.state", "running")]);
        let predicted = map(&[("B.connected", "false"), ("B.state", "running")]);
        RealOutcome {
            model: "network".into(),
            scenario: "s".into(),
            variant: "v".into(),
            case: None,
            agreed: observed == predicted,
            predicted,
            observed,
            steps: vec![RealStep {
                actor: "api-A".into(),
                label: "ovs-del-port".into(),
                action: "ovs-vsctl a|b".into(),
                result: "done".into(),
            }],
            environment: BTreeMap::new(),
        }
    }

    #[test]
    fn markdown_shows_predicted_and_observed_side_by_side() {
        let text = outcome("true").to_markdown();
        assert!(text.contains("**DISAGREED on `B.connected`**"), "{text}");
        assert!(
            text.contains("| `B.connected` | false | true | DIFFERS |"),
            "{text}"
        );
        assert!(
            text.contains("| `B.state` | running | running | ok |"),
            "{text}"
        );
        assert!(text.contains("`ovs-vsctl a\\|b`"), "{text}");
        let agreed = outcome("false");
        assert!(agreed.disagreements().is_empty());
        assert!(agreed.to_markdown().contains("**AGREED"));
    }

    #[test]
    fn a_migration_fault_without_a_real_counterpart_is_refused_with_the_reason() {
        let dir = std::env::temp_dir().join(format!("vmrace-replay-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let path = dir.join("cancel.yaml");
        let yaml = std::fs::read_to_string("scenarios/seed-003-socket-error.yaml")
            .expect("bundled scenario")
            .replace(
                "fail_after_inactivation: socket-error",
                "fail_after_inactivation: cancel",
            );
        std::fs::write(&path, yaml).expect("write scenario");
        let scenario = Scenario::load(&path).expect("scenario");
        let job = scenario.jobs().expect("jobs").remove(0);
        let witness = crate::commands::real::witnesses(&scenario, &job, 1, 7)
            .expect("witnesses")
            .remove(0);
        let err = replay_real(&scenario, &job, &witness.trace).expect_err("refused");
        std::fs::remove_dir_all(&dir).expect("clean up");
        assert_eq!(err.code, crate::error::EXIT_BAD_INPUT);
        assert!(err.message.contains("`cancel` fault"), "{}", err.message);
        assert!(
            supports_real("lifecycle") && supports_real("network") && supports_real("migration")
        );
    }
}
