//! Variants as patches: for a scenario on a model in the modelling language, each variant that
//! applies patches of its model, shown as the diff it is (in the scenario reports and in
//! `vmrace explain`).

use super::{esc, job_of, markdown::md_esc};
use crate::error::CliError;
use crate::scenario::run::Run;
use crate::scenario::{Job, Scenario};
use lang::PatchDiff;
use std::fmt::Write;

/// A variant (in a case, for matrix scenarios) and the patches its setup applies, in order.
pub struct Patched {
    /// The matrix case.
    pub case: Option<String>,
    /// The variant.
    pub variant: String,
    /// The patches, each with what it changed.
    pub patches: Vec<PatchDiff>,
}

impl Patched {
    /// `job`'s patches, if its setup applies any.
    pub fn of(scenario: &Scenario, job: &Job) -> Result<Option<Patched>, CliError> {
        let patches = scenario.patches(job)?;
        Ok((!patches.is_empty()).then(|| Patched {
            case: job.case.clone(),
            variant: job.variant.clone(),
            patches,
        }))
    }

    /// Every run's variant that applies patches, in run order; a variant whose cases apply
    /// the same patches is shown once.
    pub fn all(scenario: &Scenario, runs: &[Run]) -> Result<Vec<Patched>, CliError> {
        let mut out: Vec<Patched> = Vec::new();
        for run in runs {
            let Some(p) = Patched::of(scenario, &job_of(run))? else {
                continue;
            };
            let shown = out
                .iter()
                .any(|q| q.variant == p.variant && q.patches == p.patches);
            if !shown {
                out.push(p);
            }
        }
        Ok(out)
    }

    /// "Variant `fix` = patch `a` (its title) + patch `b`", with names shown by `code` and
    /// titles by `text`.
    fn lead(&self, code: impl Fn(&str) -> String, text: impl Fn(&str) -> String) -> String {
        let mut out = format!("Variant {}", code(&self.variant));
        if let Some(c) = &self.case {
            let _ = write!(out, " (case {})", code(c));
        }
        let named: Vec<String> = self
            .patches
            .iter()
            .map(|p| match &p.title {
                Some(t) => format!("patch {} ({})", code(&p.name), text(t)),
                None => format!("patch {}", code(&p.name)),
            })
            .collect();
        let _ = write!(out, " = {}", named.join(" + "));
        out
    }

    /// The lead line and the listings, as plain text.
    pub fn text(&self) -> String {
        let mut out = self.lead(|c| format!("`{c}`"), str::to_string) + "\n";
        for p in &self.patches {
            out.push_str(&p.to_string());
        }
        out
    }

    /// The lead paragraph and a `diff` block per patch, in Markdown.
    pub fn markdown(&self) -> String {
        let mut out = self.lead(|c| format!("`{c}`"), md_esc) + "\n";
        for p in &self.patches {
            let _ = write!(out, "\n```diff\n{p}```\n");
        }
        out
    }

    /// The lead paragraph and a `<pre>` per patch, in HTML.
    pub fn html(&self) -> String {
        let lead = self.lead(|c| format!("<code>{}</code>", esc(c)), esc);
        let mut out = format!("<p>{lead}</p>\n");
        for p in &self.patches {
            let _ = writeln!(out, "<pre class=\"diff\">{}</pre>", esc(&p.to_string()));
        }
        out
    }
}
