//! Variants as patches: the patches a configuration names are applied to the actors' programs,
//! in order, before checking. An op deletes, replaces or inserts steps at a step named
//! `actor.label`; every step of the result remembers where it was written (so that the
//! checker places its errors there and says which patch caused them), and every applied patch
//! leaves its [`PatchDiff`].

use crate::diff::{ActorDiff, PatchDiff, StepLine};
use crate::error::{suggestion, Diagnostic, Locator};
use crate::syntax::{File, OpDecl, StepDecl};
use std::collections::BTreeMap;

/// A step of a patched program and where it was written.
pub struct Placed<'f> {
    /// The step as written.
    pub decl: &'f StepDecl,
    /// The applied patch that wrote it (an index into [`Patched::names`]); `None` for the
    /// model's own program.
    pub patch: Option<usize>,
    /// The byte offset of its `label:` in the text: where its errors are searched from.
    pub start: usize,
}

/// The actors' programs after the patches.
pub struct Patched<'f> {
    /// Each actor template's steps, in the model's order of templates.
    pub programs: Vec<Vec<Placed<'f>>>,
    /// Per template: each label a patch removed (and none put back), with that patch.
    pub removed: Vec<BTreeMap<String, usize>>,
    /// Per template: the last patch that edited its program.
    pub edited: Vec<Option<usize>>,
    /// The applied patches' names, in order.
    pub names: Vec<String>,
    /// What each applied patch changed.
    pub diffs: Vec<PatchDiff>,
}

/// The key of an op that names its target.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Key {
    Delete,
    Replace,
    InsertAfter,
    InsertBefore,
}

impl Key {
    fn name(self) -> &'static str {
        match self {
            Key::Delete => "delete",
            Key::Replace => "replace",
            Key::InsertAfter => "insert_after",
            Key::InsertBefore => "insert_before",
        }
    }
}

/// An op, validated: what it does at its target.
enum Op<'f> {
    Delete,
    Replace(&'f [StepDecl]),
    Insert { after: bool, steps: &'f [StepDecl] },
}

struct Applier<'a, 'f> {
    file: &'f File,
    loc: &'a Locator<'a>,
    out: Patched<'f>,
}

/// Applies the patches `names` of `file` (whose text `loc` searches), in order.
pub fn apply<'f>(
    file: &'f File,
    loc: &Locator,
    names: &[String],
) -> Result<Patched<'f>, Vec<Diagnostic>> {
    let mut keys = vec!["actors:".to_string()];
    let programs = file
        .actors
        .0
        .iter()
        .map(|(name, actor)| {
            // Every earlier actor's key first, so that a name inside another is not taken.
            keys.push(format!("{name}:"));
            let mut list = keys.clone();
            list.push("program:".into());
            placed(loc, &list, &actor.program, None)
        })
        .collect();
    let templates = file.actors.0.len();
    let mut a = Applier {
        file,
        loc,
        out: Patched {
            programs,
            removed: vec![BTreeMap::new(); templates],
            edited: vec![None; templates],
            names: Vec::new(),
            diffs: Vec::new(),
        },
    };
    for (k, name) in names.iter().enumerate() {
        a.patch(name, names[..k].contains(name))
            .map_err(|d| vec![d])?;
    }
    Ok(a.out)
}

impl<'f> Applier<'_, 'f> {
    /// The anchors of patch `index`'s key (every earlier patch's key first, so that a name
    /// that ends another is not taken for it).
    fn key_anchors(&self, index: usize) -> Vec<String> {
        let keys = self.file.patches.0[..=index]
            .iter()
            .map(|(n, _)| format!("{n}:"));
        ["patches:".to_string()].into_iter().chain(keys).collect()
    }

    fn at(&self, anchors: &[String], inner: usize, message: String) -> Diagnostic {
        let anchors: Vec<&str> = anchors.iter().map(String::as_str).collect();
        self.loc.at(&anchors, inner, message)
    }

    fn patch(&mut self, name: &str, again: bool) -> Result<(), Diagnostic> {
        let declared = &self.file.patches.0;
        let Some(index) = declared.iter().position(|(n, _)| n == name) else {
            let hint = if declared.is_empty() {
                " (it has no `patches:`)".to_string()
            } else {
                suggestion(name, declared.iter().map(|(n, _)| n.as_str()))
            };
            return Err(self.at(
                &["patches:".into()],
                0,
                format!("the model has no patch `{name}`{hint}"),
            ));
        };
        let mut anchors = self.key_anchors(index);
        if again {
            return Err(self.at(&anchors, 0, format!("patch `{name}` is applied twice")));
        }
        anchors.push("ops:".into());
        let patch = &declared[index].1;
        if patch.ops.is_empty() {
            return Err(self.at(&anchors, 0, format!("patch `{name}` has no ops")));
        }
        let p = self.out.names.len();
        self.out.names.push(name.to_string());
        let before: Vec<Vec<StepLine>> = self.out.programs.iter().map(|s| lines(s)).collect();
        let mut edited = vec![false; before.len()];
        for op in &patch.ops {
            if let Some((_, target)) = targets(op).first() {
                anchors.push(target.to_string());
            }
            let (target, what) = self
                .op(op)
                .map_err(|m| self.at(&anchors, 0, format!("patch `{name}`: {m}")))?;
            let t = self.edit(p, target, what, &anchors)?;
            edited[t] = true;
            self.out.edited[t] = Some(p);
        }
        let actors = self
            .file
            .actors
            .0
            .iter()
            .zip(&before)
            .enumerate()
            .filter(|(t, _)| edited[*t])
            .map(|(t, ((actor, _), old))| ActorDiff::new(actor, old, &lines(&self.out.programs[t])))
            .collect();
        self.out.diffs.push(PatchDiff {
            name: name.to_string(),
            title: patch.title.clone(),
            actors,
        });
        Ok(())
    }

    /// The op's target and what it does, or why it is not an op.
    fn op(&self, op: &'f OpDecl) -> Result<(&'f str, Op<'f>), String> {
        let [(key, target)] = targets(op)[..] else {
            return Err(
                "an op has exactly one of `delete:`, `replace:`, `insert_after:` and `insert_before:`"
                    .into(),
            );
        };
        let key_name = key.name();
        let steps = |list: &'f Option<Vec<StepDecl>>, list_key: &str| match list {
            Some(steps) if !steps.is_empty() => Ok(steps.as_slice()),
            _ => Err(format!(
                "`{key_name}: {target}` needs `{list_key}:`, one step or more"
            )),
        };
        let stray = |list: &Option<Vec<StepDecl>>, list_key: &str| match list {
            Some(_) => Err(format!("`{key_name}:` takes no `{list_key}:`")),
            None => Ok(()),
        };
        let what = match key {
            Key::Delete => {
                stray(&op.with, "with")?;
                stray(&op.steps, "steps")?;
                Op::Delete
            }
            Key::Replace => {
                stray(&op.steps, "steps")?;
                Op::Replace(steps(&op.with, "with")?)
            }
            Key::InsertAfter | Key::InsertBefore => {
                stray(&op.with, "with")?;
                Op::Insert {
                    after: key == Key::InsertAfter,
                    steps: steps(&op.steps, "steps")?,
                }
            }
        };
        Ok((target, what))
    }

    /// Applies op `what` of applied patch `p` at `target`, whose anchors are `anchors`; returns
    /// the template it edited.
    fn edit(
        &mut self,
        p: usize,
        target: &str,
        what: Op<'f>,
        anchors: &[String],
    ) -> Result<usize, Diagnostic> {
        let name = self.out.names[p].clone();
        let Some((actor, label)) = target.split_once('.') else {
            return Err(self.at(
                anchors,
                0,
                format!("patch `{name}`: `{target}` does not name a step as `actor.label`"),
            ));
        };
        let actors = &self.file.actors.0;
        let Some(t) = actors.iter().position(|(a, _)| a == actor) else {
            let hint = suggestion(actor, actors.iter().map(|(a, _)| a.as_str()));
            return Err(self.at(
                anchors,
                0,
                format!("patch `{name}`: no actor `{actor}`{hint}"),
            ));
        };
        let program = &self.out.programs[t];
        let Some(at) = program.iter().position(|s| s.decl.label == label) else {
            let hint = suggestion(label, program.iter().map(|s| s.decl.label.as_str()));
            let gone = match self.out.removed[t].get(label) {
                Some(q) if *q == p => " (an earlier op of this patch removed it)".to_string(),
                Some(q) => format!(" (patch `{}` removed it)", self.out.names[*q]),
                None => String::new(),
            };
            return Err(self.at(
                anchors,
                actor.len() + 1,
                format!("patch `{name}`: actor `{actor}` has no label `{label}`{hint}{gone}"),
            ));
        };
        let (range, steps) = match what {
            Op::Delete => (at..at + 1, &[][..]),
            Op::Replace(steps) => (at..at + 1, steps),
            Op::Insert { after, steps } => {
                let i = at + usize::from(after);
                (i..i, steps)
            }
        };
        for s in &program[range.clone()] {
            self.out.removed[t].insert(s.decl.label.clone(), p);
        }
        let mut labels: Vec<&str> = program
            .iter()
            .enumerate()
            .filter(|(i, _)| !range.contains(i))
            .map(|(_, s)| s.decl.label.as_str())
            .collect();
        for decl in steps {
            let l = decl.label.as_str();
            if l == "done" || labels.contains(&l) {
                let mut full = anchors.to_vec();
                full.extend(["label:".to_string(), l.to_string()]);
                return Err(self.at(
                    &full,
                    0,
                    format!(
                        "after patch `{name}`: label `{l}` is used twice in `{actor}` (`done` is reserved)"
                    ),
                ));
            }
            labels.push(l);
        }
        let placed = placed(self.loc, anchors, steps, Some(p));
        for s in &placed {
            self.out.removed[t].remove(&s.decl.label);
        }
        self.out.programs[t].splice(range, placed);
        Ok(t)
    }
}

/// The keys of `op` that name its target, with the target, in the order of [`OpDecl`].
fn targets(op: &OpDecl) -> Vec<(Key, &String)> {
    [
        (Key::Delete, &op.delete),
        (Key::Replace, &op.replace),
        (Key::InsertAfter, &op.insert_after),
        (Key::InsertBefore, &op.insert_before),
    ]
    .into_iter()
    .filter_map(|(key, t)| t.as_ref().map(|t| (key, t)))
    .collect()
}

/// `steps` as written by `patch`, in the list that `anchors` lead to: each step starts at the
/// first `label:` after the one before it.
fn placed<'f>(
    loc: &Locator,
    anchors: &[String],
    steps: &'f [StepDecl],
    patch: Option<usize>,
) -> Vec<Placed<'f>> {
    let anchors: Vec<&str> = anchors.iter().map(String::as_str).collect();
    let (mut at, _) = loc.find(0, &anchors);
    steps
        .iter()
        .map(|decl| {
            let (start, _) = loc.find(at, &["label:"]);
            let (label, _) = loc.find(start, &["label:", &decl.label]);
            at = label + decl.label.len();
            Placed { decl, patch, start }
        })
        .collect()
}

fn lines(program: &[Placed]) -> Vec<StepLine> {
    program.iter().map(|s| StepLine::of(s.decl)).collect()
}
