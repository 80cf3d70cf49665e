//! The result of replaying a trace against real systems: what the model
//! predicted, what was observed, each step's real counterpart, and the
//! environment it ran in. (The CLI plumbing that prints it lives elsewhere.)

use serde::Serialize;
use std::collections::BTreeMap;
use std::fmt::Write;

/// One trace step as it was carried out for real.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RealStep {
    /// The model actor (`api-1`, `qemu-A`, `guest-A`, ...).
    pub actor: String,
    /// The model step label.
    pub label: String,
    /// What the harness did for real (or "nothing": libvirt-internal steps).
    pub action: String,
    /// What it observed, or why the step has no faithful real counterpart.
    pub result: String,
}

/// Predicted vs observed for one real replay.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RealOutcome {
    /// The model (`lifecycle`, `network`, `migration`).
    pub model: String,
    /// The scenario name.
    pub scenario: String,
    /// The variant.
    pub variant: String,
    /// The matrix case, if any.
    pub case: Option<String>,
    /// The model's final observations for the compared names.
    pub predicted: BTreeMap<String, String>,
    /// The observed values for the same names.
    pub observed: BTreeMap<String, String>,
    /// Whether every compared observation agrees.
    pub agreed: bool,
    /// The steps, in trace order.
    pub steps: Vec<RealStep>,
    /// Where it ran: accelerator, versions, image hashes.
    pub environment: BTreeMap<String, String>,
}

impl RealOutcome {
    /// A Markdown report: verdict, predicted vs observed table, steps, environment.
    pub fn to_markdown(&self) -> String {
        let mut s = String::new();
        let case = self
            .case
            .as_ref()
            .map(|c| format!(", case `{c}`"))
            .unwrap_or_default();
        let _ = writeln!(
            s,
            "## Real replay: {} (variant `{}`{case})\n",
            self.scenario, self.variant
        );
        let verdict = if self.agreed { "AGREED" } else { "DISAGREED" };
        let _ = writeln!(s, "Model `{}`: **{verdict}**\n", self.model);
        let _ = writeln!(s, "| observation | predicted | observed |");
        let _ = writeln!(s, "|---|---|---|");
        for (k, p) in &self.predicted {
            let o = self
                .observed
                .get(k)
                .map(String::as_str)
                .unwrap_or("(not observed)");
            let mark = if o == p { "" } else { " ✗" };
            let _ = writeln!(s, "| {k} | {p} | {o}{mark} |");
        }
        let _ = writeln!(s, "\n| # | actor | step | real action | result |");
        let _ = writeln!(s, "|---|---|---|---|---|");
        for (i, st) in self.steps.iter().enumerate() {
            let _ = writeln!(
                s,
                "| {} | {} | {} | {} | {} |",
                i + 1,
                st.actor,
                st.label,
                st.action.replace('|', "\\|"),
                st.result.replace('|', "\\|")
            );
        }
        let _ = writeln!(s, "\nEnvironment:\n");
        for (k, v) in &self.environment {
            let _ = writeln!(s, "- {k}: {v}");
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markdown_marks_disagreement() {
        let mut predicted = BTreeMap::new();
        predicted.insert("A.result".to_string(), "REBOOT".to_string());
        let mut observed = BTreeMap::new();
        observed.insert("A.result".to_string(), "SHUTDOWN".to_string());
        let o = RealOutcome {
            model: "lifecycle".into(),
            scenario: "s".into(),
            variant: "v".into(),
            case: None,
            predicted,
            observed,
            agreed: false,
            steps: vec![RealStep {
                actor: "api-1".into(),
                label: "x".into(),
                action: "a|b".into(),
                result: "r".into(),
            }],
            environment: BTreeMap::new(),
        };
        let md = o.to_markdown();
        assert!(md.contains("**DISAGREED**"));
        assert!(md.contains("| A.result | REBOOT | SHUTDOWN ✗ |"));
        assert!(md.contains("a\\|b"));
    }
}
