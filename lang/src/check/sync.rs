//! Checking the synchronisation primitives: `mutex`, `cond` and `queue` variables, the
//! statements on them (`lock`, `unlock`, `wait`, `signal`, `broadcast`, `send`, `recv`) and the
//! functions `len`, `peek`, `held`, `locked`.
//!
//! A blocking statement's enabling condition joins its step's (or `either` alternative's)
//! guard, evaluated before the step runs; so that this is the condition at the statement, it
//! must come first, and may not block on something the step already changed. A `wait` ends its
//! step: the actor goes to a hidden wake step that takes the mutex again once it is signalled.

use super::{Checker, Denot, Reported, Scope, R};
use crate::error::Diagnostic;
use crate::expr::{self, Expr, Func, Stmt, SyncOp};
use crate::ir::{BinOp, Branch, Fault, Place, Step, SyncStmt, TExpr, TStmt, Ty};
use crate::syntax::{StepDecl, StmtDecl};

/// Most actor instances a model with a `cond` may have (a cond's waiters are a bit mask in one
/// cell).
const MAX_WAITERS: usize = 62;

/// Where the statement being checked stands in its list.
#[derive(Clone, Copy, Debug, Default)]
pub(super) struct Position {
    /// Directly in a step's or an `either` alternative's `do` (not inside `if`), and every
    /// statement before it there blocks.
    pub prefix: bool,
    /// Directly in a step's or an alternative's `do`, and at most a `goto` follows it.
    pub last: bool,
}

/// A written cell or variable: the variable, and when the place's indices are constants and
/// `self`, its cell as a constant and the cells per step of `self` (`None`: any cell of the
/// variable).
type Mark = (usize, Option<(u32, u32)>);

/// A `wait` whose hidden wake step is still to be made.
pub(super) struct Wake {
    /// The waiting step's index.
    step: usize,
    /// The alternative the `wait` ends, or `None` for the step's own `do`.
    branch: Option<usize>,
    cond: Place,
    mutex: Place,
    actor: TExpr,
    /// Where the actor goes once woken, when a `goto` follows the `wait`.
    then: Option<u32>,
    /// The `wait` statement.
    at: Diagnostic,
}

/// A `lock`, `unlock` or `wait` in the program, for the load-time lock analysis.
pub(super) struct Use {
    /// The step's index.
    pub step: usize,
    /// Which statement.
    pub op: SyncOp,
    /// The mutex's variable.
    pub var: usize,
    /// The statement's text.
    pub text: String,
    /// The statement's place.
    pub at: Diagnostic,
    /// The run-time fault's message, should the actor not hold the mutex.
    fault: String,
}

/// What the checker tracks about synchronisation while checking one actor's program.
#[derive(Default)]
pub(super) struct Tracker {
    /// The statement being checked is in a step's or an alternative's top-level `do`.
    pub top: bool,
    /// Where the statement being checked stands.
    pub at: Position,
    /// Slots bound for the whole step (its `pick`s and the hidden ones of its `signal`s).
    pub picks: usize,
    /// The hidden pick slots of the step's `signal`s not yet taken.
    pub hidden: Vec<usize>,
    /// What the step has written so far.
    written: Vec<Mark>,
    /// Enabling conditions found at the current level (the step, or an alternative).
    enabling: Vec<TExpr>,
    /// Hidden pick slots taken at the current level.
    signals: Vec<usize>,
    /// The step being checked.
    step: usize,
    /// Which alternative is being checked (`None`: the step's own guard and `do`).
    branch: Option<usize>,
    /// The program counter of the first wake step.
    first_wake: u32,
    /// The program's `wait`s, in order.
    wakes: Vec<Wake>,
    /// The program's `lock`, `unlock` and `wait` statements.
    pub uses: Vec<Use>,
}

impl Tracker {
    /// Starts an actor's program of `steps` written steps.
    pub fn begin_program(&mut self, steps: u32) {
        *self = Tracker {
            first_wake: steps,
            ..Tracker::default()
        };
    }

    /// Starts step `step`.
    pub fn begin_step(&mut self, step: usize) {
        self.step = step;
        self.branch = None;
        self.top = true;
        self.hidden.clear();
        self.written.clear();
        self.enabling.clear();
        self.signals.clear();
    }

    /// Ends the current level (the step's own guard and `do`, or an alternative): returns its
    /// enabling conditions and the hidden pick slots it took, and starts the next alternative.
    pub fn end_level(&mut self) -> (Vec<TExpr>, Vec<usize>) {
        self.branch = Some(self.branch.map_or(0, |b| b + 1));
        (
            std::mem::take(&mut self.enabling),
            std::mem::take(&mut self.signals),
        )
    }

    /// The number of marks written so far in the step.
    pub fn written(&self) -> usize {
        self.written.len()
    }

    /// Forgets the marks after the first `n` (an alternative does not see another's writes).
    pub fn forget(&mut self, n: usize) {
        self.written.truncate(n);
    }

    /// Records that the step writes `place`.
    pub fn mark(&mut self, place: &Place) {
        self.written.push(mark(place));
    }

    /// A `wait` followed by a `goto` at the end of `out`: the `goto` is where the actor goes
    /// once woken, so it becomes the wake step's.
    pub fn merge_wake_goto(&mut self, out: &mut Vec<TStmt>) {
        if let [.., TStmt::Sync(SyncStmt::Wait { .. }), TStmt::Goto(pc)] = out[..] {
            if let Some(wake) = self.wakes.last_mut() {
                wake.then = Some(pc);
                out.pop();
            }
        }
    }

    /// Records a `lock`, `unlock` or `wait` of a mutex of variable `var`; returns its number
    /// (until sites are given out, an `unlock` or `wait` holds it as its check site).
    fn use_of(
        &mut self,
        op: SyncOp,
        var: usize,
        text: &str,
        fault: String,
        at: &Diagnostic,
    ) -> u32 {
        self.uses.push(Use {
            step: self.step,
            op,
            var,
            text: text.to_string(),
            at: at.clone(),
            fault,
        });
        self.uses.len() as u32 - 1
    }

    /// Whether a place with mark `m`, or an index in `indices`, was written by the step.
    fn changed(&self, m: Mark, indices: &[(TExpr, u32)]) -> bool {
        let mut reads = vec![m];
        for (e, _) in indices {
            marks_read(e, &mut reads);
        }
        reads
            .iter()
            .any(|r| self.written.iter().any(|w| overlap(*r, *w)))
    }
}

fn mark(place: &Place) -> Mark {
    let selfish = place
        .parts
        .iter()
        .all(|(e, _)| matches!(e, TExpr::SelfIndex));
    let stride = place.parts.iter().map(|(_, s)| s).sum();
    (place.var, selfish.then_some((place.base, stride)))
}

/// Two marks may name one cell for the same acting instance (whatever its index).
fn overlap(a: Mark, b: Mark) -> bool {
    a.0 == b.0
        && match (a.1, b.1) {
            // `x + me·s == y + me·t` for some `me >= 0`.
            (Some((x, s)), Some((y, t))) => {
                let (d, k) = (y as i64 - x as i64, s as i64 - t as i64);
                match k {
                    0 => d == 0,
                    k => d % k == 0 && d / k >= 0,
                }
            }
            _ => true,
        }
}

/// Appends the marks of every cell `e` reads.
fn marks_read(e: &TExpr, out: &mut Vec<Mark>) {
    match e {
        TExpr::Const(_) | TExpr::SelfIndex | TExpr::Bound(_) => {}
        TExpr::Read(p) => {
            out.push(mark(p));
            for (i, _) in &p.parts {
                marks_read(i, out);
            }
        }
        TExpr::Not(a) | TExpr::Neg(a) => marks_read(a, out),
        TExpr::Bin(_, a, b) | TExpr::Bit(a, b) => {
            marks_read(a, out);
            marks_read(b, out);
        }
        TExpr::Quant(_, _, lo, hi, body) => {
            for x in [lo, hi, body] {
                marks_read(x, out);
            }
        }
    }
}

/// Whether `e` uses a bound slot from `first` on (a quantifier's, not the step's picks).
fn uses_slot_from(e: &TExpr, first: usize) -> bool {
    match e {
        TExpr::Const(_) | TExpr::SelfIndex => false,
        TExpr::Bound(s) => *s >= first,
        TExpr::Read(p) => p.parts.iter().any(|(i, _)| uses_slot_from(i, first)),
        TExpr::Not(a) | TExpr::Neg(a) => uses_slot_from(a, first),
        TExpr::Bin(_, a, b) | TExpr::Bit(a, b) => {
            uses_slot_from(a, first) || uses_slot_from(b, first)
        }
        TExpr::Quant(_, _, lo, hi, body) => [lo, hi, body].iter().any(|x| uses_slot_from(x, first)),
    }
}

/// Whether `e` reads only constants, `self` and the locals in variable `locals`.
fn local_only(e: &TExpr, locals: usize) -> bool {
    match e {
        TExpr::Const(_) | TExpr::SelfIndex => true,
        TExpr::Bound(_) | TExpr::Quant(..) => false,
        TExpr::Read(p) => p.var == locals && p.parts.iter().all(|(i, _)| local_only(i, locals)),
        TExpr::Not(a) | TExpr::Neg(a) => local_only(a, locals),
        TExpr::Bin(_, a, b) | TExpr::Bit(a, b) => local_only(a, locals) && local_only(b, locals),
    }
}

/// The statements of `decls` (inside `if`s too) that parse as `op`.
fn count(decls: &[StmtDecl], op: SyncOp) -> usize {
    decls
        .iter()
        .map(|d| match d {
            StmtDecl::Text(t) => {
                matches!(expr::parse_stmt(t), Ok(Stmt::Sync(o, _)) if o == op) as usize
            }
            StmtDecl::If(i) => count(&i.then, op) + count(&i.otherwise, op),
        })
        .sum()
}

fn count_step(step: &StepDecl, op: SyncOp) -> usize {
    count(&step.body, op)
        + step
            .either
            .iter()
            .map(|b| count(&b.body, op))
            .sum::<usize>()
}

/// How many `wait`s a program has (each has a hidden wake step).
pub(super) fn wait_count<'s>(program: impl IntoIterator<Item = &'s StepDecl>) -> usize {
    program
        .into_iter()
        .map(|s| count_step(s, SyncOp::Wait))
        .sum()
}

/// How many `signal`s a step has (each has a hidden pick).
pub(super) fn signal_count(step: &StepDecl) -> usize {
    count_step(step, SyncOp::Signal)
}

/// Whether the `k`-th of `decls` is the last, or followed only by a `goto`.
pub(super) fn is_last(decls: &[StmtDecl], k: usize) -> bool {
    match &decls[k + 1..] {
        [] => true,
        [StmtDecl::Text(t)] => matches!(expr::parse_stmt(t), Ok(Stmt::Goto(..))),
        _ => false,
    }
}

/// Whether a checked statement blocks (`lock`, `send`, `recv`).
pub(super) fn blocks(s: &TStmt) -> bool {
    matches!(
        s,
        TStmt::Sync(SyncStmt::Lock { .. } | SyncStmt::Send { .. } | SyncStmt::Recv { .. })
    )
}

/// `guard && conds...`.
pub(super) fn conjoin(guard: Option<TExpr>, conds: Vec<TExpr>) -> Option<TExpr> {
    conds.into_iter().fold(guard, |g, c| {
        Some(match g {
            Some(g) => TExpr::Bin(BinOp::And, Box::new(g), Box::new(c)),
            None => c,
        })
    })
}

/// An alternative that does not signal leaves the hidden picks of the other alternatives'
/// `signal`s at 0, so that it is one action, not one per value.
pub(super) fn fix_other_signals(branches: &mut [Branch], signals: &[Vec<usize>], step: &[usize]) {
    let all: Vec<usize> = signals.iter().flatten().copied().collect();
    for (branch, own) in branches.iter_mut().zip(signals) {
        let zero = all
            .iter()
            .filter(|s| !own.contains(s) && !step.contains(s))
            .map(|s| bin(BinOp::Eq, TExpr::Bound(*s), TExpr::Const(0)))
            .collect();
        branch.guard = conjoin(branch.guard.take(), zero);
    }
}

fn bin(op: BinOp, a: TExpr, b: TExpr) -> TExpr {
    TExpr::Bin(op, Box::new(a), Box::new(b))
}

fn read(p: &Place) -> TExpr {
    TExpr::Read(Box::new(p.clone()))
}

impl Checker<'_> {
    /// Whether a value of type `ty` contains a mutex, a cond or a queue.
    pub(super) fn has_sync(&self, ty: &Ty) -> bool {
        match ty {
            Ty::Mutex | Ty::Cond | Ty::Queue(..) => true,
            Ty::Array(elem, _) => self.has_sync(elem),
            Ty::Record(r) => self.records[*r].iter().any(|(_, t, _)| self.has_sync(t)),
            Ty::Bool | Ty::Int(..) | Ty::Enum(_) => false,
        }
    }

    /// How many actor instances there are, every template's together.
    pub(super) fn instance_total(&self) -> usize {
        self.templates
            .iter()
            .map(|t| t.instances.unwrap_or(1))
            .sum()
    }

    /// The acting instance's number among all instances, in template `t`'s program.
    fn instance_number(&self, t: usize) -> TExpr {
        let first: usize = self.templates[..t]
            .iter()
            .map(|t| t.instances.unwrap_or(1))
            .sum();
        match self.templates[t].instances {
            Some(_) if first == 0 => TExpr::SelfIndex,
            Some(_) => bin(BinOp::Add, TExpr::SelfIndex, TExpr::Const(first as i64)),
            None => TExpr::Const(first as i64),
        }
    }

    /// Gives mutex cells room for every instance's number and cond cells a bit per instance.
    pub(super) fn size_sync_cells(&mut self) {
        let n = self.instance_total();
        for (cell, cond, var) in std::mem::take(&mut self.sync_cells) {
            let hi = if !cond {
                n as i64
            } else if n <= MAX_WAITERS {
                (1i64 << n) - 1
            } else {
                let name = self.vars[var].0.name.clone();
                let _: R<()> = self.error(
                    &["globals:", name.as_str()],
                    0,
                    format!("`{name}` is a cond, and a model with a cond may have at most {MAX_WAITERS} actor instances ({n} here)"),
                );
                0
            };
            self.cells[cell as usize].hi = hi;
        }
    }

    /// A `lock`, `unlock`, `wait` or `held` names its actor as the holder, so a symmetric
    /// actor's instances would not be interchangeable.
    fn not_symmetric(&mut self, what: &str, at: usize, scope: &Scope) -> R<()> {
        let t = &self.templates[scope.actor.expect("in a program")];
        if t.symmetric {
            let msg = format!("`{what}` records which actor holds the mutex, so the symmetric actor `{}` cannot use it", t.name);
            return self.error(&scope.anchors, at, msg);
        }
        Ok(())
    }

    /// The place `e` names, which must be of the kind `want` names (`mutex`, `cond`, `queue`).
    fn sync_place(
        &mut self,
        e: &Expr,
        want: &str,
        what: &str,
        scope: &mut Scope,
    ) -> R<(Place, Ty)> {
        let found = match self.denote(e, scope)? {
            Denot::Place(p, ty) => {
                let ok = matches!(
                    (&ty, want),
                    (Ty::Mutex, "mutex") | (Ty::Cond, "cond") | (Ty::Queue(..), "queue")
                );
                if ok {
                    return Ok((p, ty));
                }
                self.type_name(&ty)
            }
            Denot::Value(_, ty) => format!("the value {}", self.type_name(&ty)),
        };
        self.error(
            &scope.anchors,
            e.at,
            format!("`{what}` takes a {want} here, not {found}"),
        )
    }

    /// `len(q)`, `peek(q)`, `held(m)`, `locked(m)`.
    pub(super) fn call(&mut self, f: Func, arg: &Expr, at: usize, scope: &mut Scope) -> R<Denot> {
        let value = |t, ty| Ok(Denot::Value(t, ty));
        match f {
            Func::Len => {
                let (q, ty) = self.sync_place(arg, "queue", "len", scope)?;
                let Ty::Queue(_, capacity) = ty else {
                    unreachable!("a queue")
                };
                value(read(&q), Ty::Int(0, capacity as i64))
            }
            Func::Locked => {
                let (m, _) = self.sync_place(arg, "mutex", "locked", scope)?;
                value(bin(BinOp::Ne, read(&m), TExpr::Const(0)), Ty::Bool)
            }
            Func::Held => {
                let Some(t) = scope.actor else {
                    return self.error(
                        &scope.anchors,
                        at,
                        "`held(m)` asks whether the acting actor holds `m`, so it exists only in an actor's program; use `locked(m)`".into(),
                    );
                };
                self.not_symmetric("held", at, scope)?;
                let (m, _) = self.sync_place(arg, "mutex", "held", scope)?;
                let owner = bin(BinOp::Add, self.instance_number(t), TExpr::Const(1));
                value(bin(BinOp::Eq, read(&m), owner), Ty::Bool)
            }
            Func::Peek => {
                if scope.actor.is_none() {
                    return self.error(
                        &scope.anchors,
                        at,
                        "`peek(q)` blocks while `q` is empty, so it exists only in an actor's program; use `len(q)`".into(),
                    );
                }
                let (q, ty) = self.sync_place(arg, "queue", "peek", scope)?;
                let Ty::Queue(elem, _) = ty else {
                    unreachable!("a queue")
                };
                if q.parts
                    .iter()
                    .any(|(i, _)| uses_slot_from(i, self.sync.picks))
                {
                    return self.error(
                        &scope.anchors,
                        arg.at,
                        "`peek` blocks the whole step, so its queue may not be indexed by a quantifier's variable".into(),
                    );
                }
                if self.sync.changed(mark(&q), &q.parts) {
                    return self.error(
                        &scope.anchors,
                        at,
                        "`peek` blocks the whole step on the queue as it was before the step, but the step already changed the queue or its index: peek in a step of its own".into(),
                    );
                }
                self.sync
                    .enabling
                    .push(bin(BinOp::Gt, read(&q), TExpr::Const(0)));
                let mut head = q;
                head.base += 1;
                value(read(&head), *elem)
            }
        }
    }

    /// A synchronisation statement (`text` as written).
    pub(super) fn sync_stmt(
        &mut self,
        op: SyncOp,
        args: &[Expr],
        text: &str,
        scope: &mut Scope,
    ) -> R<TStmt> {
        let name = op.name();
        let arity = match op {
            SyncOp::Wait | SyncOp::Send | SyncOp::Recv => 2,
            _ => 1,
        };
        if args.len() != arity {
            let shape = match op {
                SyncOp::Wait => "wait(cond, mutex)",
                SyncOp::Send => "send(queue, value)",
                SyncOp::Recv => "recv(queue, place)",
                SyncOp::Signal | SyncOp::Broadcast => "signal(cond)",
                SyncOp::Lock | SyncOp::Unlock => "lock(mutex)",
            };
            return self.error(
                &scope.anchors,
                0,
                format!(
                    "`{name}` takes {arity} argument{}: `{shape}`",
                    if arity == 1 { "" } else { "s" }
                ),
            );
        }
        let t = scope.actor.expect("statements are in programs");
        let at = self
            .loc
            .at_from(self.start, &scope.anchors, 0, String::new());
        let position = self.sync.at;
        let blocking = matches!(op, SyncOp::Lock | SyncOp::Send | SyncOp::Recv);
        if blocking && !position.prefix {
            return self.error(
                &scope.anchors,
                0,
                format!("`{text}` blocks, so it must come first in a step's `do` (or an `either` alternative's), after other blocking statements only and not inside `if`"),
            );
        }
        if op == SyncOp::Wait && !position.last {
            return self.error(
                &scope.anchors,
                0,
                format!("`{text}` must be the last statement of a step's `do` (or an `either` alternative's), not inside `if`, followed at most by a `goto` (where the actor goes once woken)"),
            );
        }
        if matches!(op, SyncOp::Lock | SyncOp::Unlock | SyncOp::Wait) {
            self.not_symmetric(name, 0, scope)?;
        }
        let actor = self.instance_number(t);
        let stmt = match op {
            SyncOp::Lock | SyncOp::Unlock => {
                let (mutex, _) = self.sync_place(&args[0], "mutex", name, scope)?;
                let fault = format!("`{text}` by an actor that does not hold it");
                let site = Some(self.sync.use_of(op, mutex.var, text, fault, &at));
                if op == SyncOp::Lock {
                    self.unchanged(&mutex, text, scope)?;
                    let free = bin(BinOp::Eq, read(&mutex), TExpr::Const(0));
                    self.sync.enabling.push(free);
                    SyncStmt::Lock { mutex, actor }
                } else {
                    SyncStmt::Unlock { mutex, actor, site }
                }
            }
            SyncOp::Wait => {
                let (cond, _) = self.sync_place(&args[0], "cond", name, scope)?;
                let (mutex, _) = self.sync_place(&args[1], "mutex", name, scope)?;
                let locals = self.templates[t].var;
                let named_again = [&cond, &mutex]
                    .iter()
                    .all(|p| p.parts.iter().all(|(i, _)| local_only(i, locals)));
                if !named_again {
                    return self.error(
                        &scope.anchors,
                        0,
                        format!("`{text}` must name its cond and mutex with constants, `self` and locals only: the actor wakes in a later step that names them again"),
                    );
                }
                let fault = format!(
                    "`{text}` by an actor that does not hold `{}`",
                    arg_text(text, &args[1])
                );
                let site = Some(self.sync.use_of(op, mutex.var, text, fault, &at));
                let wake = self.sync.first_wake + self.sync.wakes.len() as u32;
                self.sync.wakes.push(Wake {
                    step: self.sync.step,
                    branch: self.sync.branch,
                    cond: cond.clone(),
                    mutex: mutex.clone(),
                    actor: actor.clone(),
                    then: None,
                    at,
                });
                self.sync.mark(&cond);
                SyncStmt::Wait {
                    cond,
                    mutex,
                    actor,
                    site,
                    wake,
                }
            }
            SyncOp::Signal => {
                let (cond, _) = self.sync_place(&args[0], "cond", name, scope)?;
                self.unchanged(&cond, text, scope)?;
                let waiter = self
                    .sync
                    .hidden
                    .pop()
                    .expect("the step's signals were counted");
                self.sync.signals.push(waiter);
                let w = TExpr::Bound(waiter);
                // The hidden pick ranges over the waiters, or is 0 when there is none.
                let is_waiter = TExpr::Bit(Box::new(read(&cond)), Box::new(w.clone()));
                let none = bin(
                    BinOp::And,
                    bin(BinOp::Eq, read(&cond), TExpr::Const(0)),
                    bin(BinOp::Eq, w, TExpr::Const(0)),
                );
                self.sync.enabling.push(bin(BinOp::Or, is_waiter, none));
                SyncStmt::Signal { cond, waiter }
            }
            SyncOp::Broadcast => {
                let (cond, _) = self.sync_place(&args[0], "cond", name, scope)?;
                SyncStmt::Broadcast { cond }
            }
            SyncOp::Send => {
                let (queue, ty) = self.sync_place(&args[0], "queue", name, scope)?;
                let Ty::Queue(elem, capacity) = ty else {
                    unreachable!("a queue")
                };
                self.unchanged(&queue, text, scope)?;
                let (value, vty) = self.value(&args[1], scope)?;
                let check =
                    self.fits(&elem, &vty, args[1].at, &format!("`{text}` sends"), scope)?;
                let room = bin(BinOp::Lt, read(&queue), TExpr::Const(capacity as i64));
                self.sync.enabling.push(room);
                SyncStmt::Send {
                    queue,
                    capacity: capacity as u32,
                    value,
                    check,
                }
            }
            SyncOp::Recv => {
                let (queue, ty) = self.sync_place(&args[0], "queue", name, scope)?;
                let Ty::Queue(elem, capacity) = ty else {
                    unreachable!("a queue")
                };
                self.unchanged(&queue, text, scope)?;
                let (into, ity) = match self.denote(&args[1], scope)? {
                    Denot::Place(p, ty) if super::range_of(&ty, &self.enums).is_some() => (p, ty),
                    _ => {
                        return self.error(
                            &scope.anchors,
                            args[1].at,
                            "`recv` stores the head in a scalar variable (bool, int or enum)"
                                .into(),
                        )
                    }
                };
                let check = self.fits(
                    &ity,
                    &elem,
                    args[1].at,
                    &format!("`{text}` receives"),
                    scope,
                )?;
                let nonempty = bin(BinOp::Gt, read(&queue), TExpr::Const(0));
                self.sync.enabling.push(nonempty);
                self.sync.mark(&into);
                SyncStmt::Recv {
                    queue,
                    capacity: capacity as u32,
                    into,
                    check,
                }
            }
        };
        // What the statement writes (a queue as a whole: its elements move).
        match &stmt {
            SyncStmt::Lock { mutex, .. } | SyncStmt::Unlock { mutex, .. } => self.sync.mark(mutex),
            SyncStmt::Wait { mutex, .. } => self.sync.mark(mutex),
            SyncStmt::Signal { cond, .. } | SyncStmt::Broadcast { cond } => self.sync.mark(cond),
            SyncStmt::Send { queue, .. } | SyncStmt::Recv { queue, .. } => {
                self.sync.written.push((queue.var, None))
            }
        }
        Ok(TStmt::Sync(stmt))
    }

    /// A blocking statement's (or a `signal`'s) condition is read before the step runs, so the
    /// step may not have changed what it names.
    fn unchanged(&mut self, place: &Place, text: &str, scope: &Scope) -> R<()> {
        if self.sync.changed(mark(place), &place.parts) {
            return self.error(
                &scope.anchors,
                0,
                format!("`{text}` is decided before the step runs, but this step already changed what it names (or an index): put it in a step of its own"),
            );
        }
        Ok(())
    }

    /// Gives the `unlock`s and `wait`s of `steps` their run-time ownership checks: a check site
    /// for each use in `needed` (by number in [`Tracker::uses`]), none for the others.
    pub(super) fn owner_sites(&mut self, steps: &mut [Step], needed: &[bool]) {
        let uses = std::mem::take(&mut self.sync.uses);
        let mut sites = Vec::new();
        for (u, needed) in uses.iter().zip(needed) {
            sites.push(needed.then(|| {
                let message = format!("{}:{}:{}: {}", u.at.file, u.at.line, u.at.column, u.fault);
                self.site(Fault::Owner, message)
            }));
        }
        self.sync.uses = uses;
        for step in steps {
            set_sites(&mut step.body, &sites);
            for b in &mut step.branches {
                set_sites(&mut b.body, &sites);
            }
        }
    }

    /// A `wait` ends its step: no `goto` but the one right after it, and no `either`
    /// alternatives after a `wait` in the step's own `do`.
    pub(super) fn check_waits(&mut self, step: &Step, either: bool) -> R<()> {
        let index = self.sync.step;
        let mut bad = Vec::new();
        for w in self.sync.wakes.iter().filter(|w| w.step == index) {
            let (own, before) = match w.branch {
                None => (&step.body, &[][..]),
                Some(b) => (&step.branches[b].body, &step.body[..]),
            };
            if has_goto(own) || has_goto(before) {
                bad.push((w.at.clone(), "a step that waits may `goto` only right after its `wait` (where the actor goes once woken)"));
            } else if w.branch.is_none() && either {
                bad.push((w.at.clone(), "this step's `either` alternatives would run after its `wait`: wait inside the alternatives instead"));
            }
        }
        let failed = !bad.is_empty();
        for (at, why) in bad {
            self.errors.push(Diagnostic {
                message: format!("a `wait` ends its step: {why}"),
                ..at
            });
        }
        if failed {
            return Err(Reported);
        }
        Ok(())
    }

    /// The hidden wake step of each `wait` of the program (`steps` are its written steps): once
    /// the actor is no longer among the cond's waiters and the mutex is free, it takes the mutex
    /// and goes on where the `wait`'s step would have gone.
    pub(super) fn wake_steps(&mut self, steps: &[Step], labels: &[&str]) -> Vec<Step> {
        let wakes = std::mem::take(&mut self.sync.wakes);
        wakes
            .into_iter()
            .map(|w| {
                let waiting = &steps[w.step];
                let label = format!("{}.wake", waiting.label);
                if labels.contains(&label.as_str()) {
                    self.errors.push(Diagnostic {
                        message: format!(
                            "label `{label}` is the name of the wake step of `{}`'s `wait`",
                            waiting.label
                        ),
                        ..w.at.clone()
                    });
                }
                let signalled = TExpr::Not(Box::new(TExpr::Bit(
                    Box::new(read(&w.cond)),
                    Box::new(w.actor.clone()),
                )));
                let free = bin(BinOp::Eq, read(&w.mutex), TExpr::Const(0));
                Step {
                    label,
                    upstream: waiting.upstream.clone(),
                    guard: Some(bin(BinOp::And, signalled, free)),
                    picks: Vec::new(),
                    body: vec![TStmt::Sync(SyncStmt::Lock {
                        mutex: w.mutex,
                        actor: w.actor,
                    })],
                    branches: vec![Branch {
                        guard: None,
                        body: Vec::new(),
                    }],
                    fallthrough: w.then.unwrap_or(waiting.fallthrough),
                }
            })
            .collect()
    }
}

/// Replaces the use numbers that stand for `unlock`s' and `wait`s' check sites by `sites`.
fn set_sites(stmts: &mut [TStmt], sites: &[Option<u32>]) {
    for s in stmts {
        match s {
            TStmt::Sync(SyncStmt::Unlock { site, .. } | SyncStmt::Wait { site, .. }) => {
                *site = site.and_then(|u| sites[u as usize]);
            }
            TStmt::If(_, a, b) => {
                set_sites(a, sites);
                set_sites(b, sites);
            }
            _ => {}
        }
    }
}

/// Whether `stmts` hold a `goto` (inside `if`s too).
fn has_goto(stmts: &[TStmt]) -> bool {
    stmts.iter().any(|s| match s {
        TStmt::Goto(_) => true,
        TStmt::If(_, a, b) => has_goto(a) || has_goto(b),
        TStmt::Assign { .. } | TStmt::Sync(_) => false,
    })
}

/// The text of the last argument `arg` of the statement `text`.
fn arg_text<'t>(text: &'t str, arg: &Expr) -> &'t str {
    let end = text.rfind(')').unwrap_or(text.len());
    text.get(arg.at..end).unwrap_or(text).trim()
}
