//! What a patch changed, for people: each step of an actor's program as one line in a canonical
//! form (`label  fn  when … do …`), and a unified-diff-like listing of the lines a patch removed
//! and added, with a little context.

use crate::syntax::{StepDecl, StmtDecl};
use std::fmt;

/// Unchanged steps shown around each change.
pub const CONTEXT: usize = 2;

/// Above this many cells the changed middle of two listings is not aligned line by line: it is
/// shown as all removed, then all added (the diff stays linear in the programs' sizes).
const MAX_CELLS: usize = 1 << 20;

/// One step in canonical form.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StepLine {
    /// Its label.
    pub label: String,
    /// The upstream function (`-` when the step names none).
    pub upstream: String,
    /// `pick …`, `when …`, `do …` and `either …`, as written, in that order.
    pub rest: String,
}

/// Whether a line of a hunk is context, or removed or added by the patch.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mark {
    /// In the program before and after.
    Same,
    /// Only before.
    Removed,
    /// Only after.
    Added,
}

impl Mark {
    fn sign(self) -> char {
        match self {
            Mark::Same => ' ',
            Mark::Removed => '-',
            Mark::Added => '+',
        }
    }
}

/// A run of changes with its context: where it starts in each listing (1-based step numbers)
/// and how many steps it spans there.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Hunk {
    /// First step before the patch, and the number of steps shown from before.
    pub old: (usize, usize),
    /// First step after the patch, and the number of steps shown from after.
    pub new: (usize, usize),
    /// The lines.
    pub lines: Vec<(Mark, StepLine)>,
}

/// One actor template's program, before and after a patch.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ActorDiff {
    /// The template's name.
    pub actor: String,
    /// The changes (none when the patch left the program as it was).
    pub hunks: Vec<Hunk>,
}

/// An applied patch and what it changed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PatchDiff {
    /// The patch's name.
    pub name: String,
    /// Its title (an upstream commit's subject), if it has one.
    pub title: Option<String>,
    /// Each actor it edited, in the model's order.
    pub actors: Vec<ActorDiff>,
}

impl StepLine {
    /// The canonical line of `step`.
    pub fn of(step: &StepDecl) -> StepLine {
        let mut rest = Vec::new();
        if !step.pick.0.is_empty() {
            let picks: Vec<String> = step
                .pick
                .0
                .iter()
                .map(|(var, range)| format!("{var} in {range}"))
                .collect();
            rest.push(format!("pick {}", picks.join(", ")));
        }
        if let Some(when) = &step.when {
            rest.push(format!("when {when}"));
        }
        if !step.body.is_empty() {
            rest.push(format!("do {}", stmts(&step.body)));
        }
        if !step.either.is_empty() {
            let branches: Vec<String> = step
                .either
                .iter()
                .map(|b| {
                    let mut parts = Vec::new();
                    if let Some(when) = &b.when {
                        parts.push(format!("when {when}"));
                    }
                    if !b.body.is_empty() {
                        parts.push(format!("do {}", stmts(&b.body)));
                    }
                    format!("{{ {} }}", parts.join(" "))
                })
                .collect();
            rest.push(format!("either {}", branches.join(" or ")));
        }
        StepLine {
            label: step.label.clone(),
            upstream: step.upstream.clone().unwrap_or_else(|| "-".into()),
            rest: rest.join("  "),
        }
    }
}

fn stmts(list: &[StmtDecl]) -> String {
    let shown: Vec<String> = list
        .iter()
        .map(|s| match s {
            StmtDecl::Text(t) => t.clone(),
            StmtDecl::If(i) => {
                let mut text = format!("if {} then {{ {} }}", i.cond, stmts(&i.then));
                if !i.otherwise.is_empty() {
                    text.push_str(&format!(" else {{ {} }}", stmts(&i.otherwise)));
                }
                text
            }
        })
        .collect();
    shown.join("; ")
}

/// The edit script from `old` to `new`: every line of both, in order, each marked.
fn script<'a>(old: &'a [StepLine], new: &'a [StepLine]) -> Vec<(Mark, &'a StepLine)> {
    let prefix = old.iter().zip(new).take_while(|(a, b)| a == b).count();
    let suffix = old[prefix..]
        .iter()
        .rev()
        .zip(new[prefix..].iter().rev())
        .take_while(|(a, b)| a == b)
        .count();
    let (a, b) = (
        &old[prefix..old.len() - suffix],
        &new[prefix..new.len() - suffix],
    );
    let mut out: Vec<(Mark, &StepLine)> = old[..prefix].iter().map(|l| (Mark::Same, l)).collect();
    if (a.len() + 1).saturating_mul(b.len() + 1) > MAX_CELLS {
        out.extend(a.iter().map(|l| (Mark::Removed, l)));
        out.extend(b.iter().map(|l| (Mark::Added, l)));
    } else {
        // Longest common subsequence of the changed middles: lcs[i][j] for a[i..], b[j..].
        let width = b.len() + 1;
        let mut lcs = vec![0u32; (a.len() + 1) * width];
        for i in (0..a.len()).rev() {
            for j in (0..b.len()).rev() {
                lcs[i * width + j] = if a[i] == b[j] {
                    lcs[(i + 1) * width + j + 1] + 1
                } else {
                    lcs[(i + 1) * width + j].max(lcs[i * width + j + 1])
                };
            }
        }
        let (mut i, mut j) = (0, 0);
        while i < a.len() || j < b.len() {
            if i < a.len() && j < b.len() && a[i] == b[j] {
                out.push((Mark::Same, &a[i]));
                i += 1;
                j += 1;
            } else if j == b.len()
                || (i < a.len() && lcs[(i + 1) * width + j] >= lcs[i * width + j + 1])
            {
                out.push((Mark::Removed, &a[i]));
                i += 1;
            } else {
                out.push((Mark::Added, &b[j]));
                j += 1;
            }
        }
    }
    out.extend(old[old.len() - suffix..].iter().map(|l| (Mark::Same, l)));
    out
}

impl ActorDiff {
    /// The hunks that turn `old` into `new`, each with up to [`CONTEXT`] unchanged lines around
    /// its changes.
    pub fn new(actor: &str, old: &[StepLine], new: &[StepLine]) -> ActorDiff {
        let script = script(old, new);
        // Which lines are shown: the changes and their context.
        let mut shown = vec![false; script.len()];
        for (k, (mark, _)) in script.iter().enumerate() {
            if *mark != Mark::Same {
                let from = k.saturating_sub(CONTEXT);
                let to = (k + CONTEXT + 1).min(script.len());
                shown[from..to].iter_mut().for_each(|s| *s = true);
            }
        }
        let mut hunks: Vec<Hunk> = Vec::new();
        let (mut at_old, mut at_new) = (1, 1);
        let mut open = false;
        for (k, (mark, line)) in script.iter().enumerate() {
            if shown[k] {
                if !open {
                    hunks.push(Hunk {
                        old: (at_old, 0),
                        new: (at_new, 0),
                        lines: Vec::new(),
                    });
                    open = true;
                }
                let hunk = hunks.last_mut().expect("a hunk is open");
                hunk.lines.push((*mark, (*line).clone()));
                hunk.old.1 += usize::from(*mark != Mark::Added);
                hunk.new.1 += usize::from(*mark != Mark::Removed);
            } else {
                open = false;
            }
            at_old += usize::from(*mark != Mark::Added);
            at_new += usize::from(*mark != Mark::Removed);
        }
        ActorDiff {
            actor: actor.to_string(),
            hunks,
        }
    }
}

/// The listing: per actor a `---`/`+++` header and its hunks, with `@@ -old +new @@` step
/// numbers and one line per step (` `, `-` or `+`, then label, function and the rest in
/// aligned columns).
impl fmt::Display for PatchDiff {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for actor in &self.actors {
            writeln!(f, "--- {}", actor.actor)?;
            writeln!(f, "+++ {} (patch `{}`)", actor.actor, self.name)?;
            if actor.hunks.is_empty() {
                writeln!(f, "  (the program is unchanged)")?;
            }
            let lines = actor.hunks.iter().flat_map(|h| &h.lines);
            let label = lines.clone().map(|(_, l)| l.label.len()).max().unwrap_or(0);
            let upstream = lines.map(|(_, l)| l.upstream.len()).max().unwrap_or(0);
            for hunk in &actor.hunks {
                writeln!(
                    f,
                    "@@ -{},{} +{},{} @@",
                    hunk.old.0, hunk.old.1, hunk.new.0, hunk.new.1
                )?;
                for (mark, line) in &hunk.lines {
                    let text = format!(
                        "{} {:label$}  {:upstream$}  {}",
                        mark.sign(),
                        line.label,
                        line.upstream,
                        line.rest
                    );
                    writeln!(f, "{}", text.trim_end())?;
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(labels: &str) -> Vec<StepLine> {
        labels
            .chars()
            .map(|c| StepLine {
                label: c.to_string(),
                upstream: "-".into(),
                rest: String::new(),
            })
            .collect()
    }

    #[test]
    fn hunks_keep_context_and_count_steps() {
        let d = ActorDiff::new("a", &lines("abcdefgh"), &lines("abcXefgh"));
        assert_eq!(d.hunks.len(), 1);
        assert_eq!((d.hunks[0].old, d.hunks[0].new), ((2, 5), (2, 5)));
        let marks: Vec<Mark> = d.hunks[0].lines.iter().map(|(m, _)| *m).collect();
        use Mark::*;
        assert_eq!(marks, [Same, Same, Removed, Added, Same, Same]);
        let far = ActorDiff::new("a", &lines("abcdefghij"), &lines("bcdefghi"));
        assert_eq!(far.hunks.len(), 2);
        assert_eq!(far.hunks[1].old, (8, 3));
        assert_eq!(far.hunks[1].new, (7, 2));
        assert!(ActorDiff::new("a", &lines("ab"), &lines("ab"))
            .hunks
            .is_empty());
    }
}
