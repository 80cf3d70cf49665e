//! The C-like expression syntax, and the small syntaxes built on it (types, statements, ranges),
//! parsed with `winnow` into trees whose nodes carry their byte offset in the source string.

use winnow::ascii::{digit1, multispace0};
use winnow::combinator::{alt, cut_err, delimited, opt, preceded, repeat, separated, terminated};
use winnow::error::{ContextError, StrContext, StrContextValue};
use winnow::prelude::*;
use winnow::stream::{LocatingSlice, Location};
use winnow::token::take_while;

type In<'a> = LocatingSlice<&'a str>;
type PResult<T> = winnow::ModalResult<T>;

/// An expression with the byte offset where it starts in its source string.
#[derive(Clone, Debug, PartialEq)]
pub struct Expr {
    /// What it is.
    pub kind: ExprKind,
    /// Byte offset in the source string.
    pub at: usize,
}

/// The expression forms.
#[derive(Clone, Debug, PartialEq)]
pub enum ExprKind {
    /// A decimal constant.
    Int(i64),
    /// `true` or `false`.
    Bool(bool),
    /// A variable, parameter, constant, enum constant or actor name.
    Name(String),
    /// `self`: the instance index of the actor taking the step.
    SelfIndex,
    /// `!e` or `-e`.
    Unary(UnOp, Box<Expr>),
    /// `a op b`.
    Binary(BinOp, Box<Expr>, Box<Expr>),
    /// `a[i]`.
    Index(Box<Expr>, Box<Expr>),
    /// `rec.field`.
    Field(Box<Expr>, String),
    /// `all(i in lo..hi: body)`, `any(...)`, `count(...)`; both bounds included.
    Quant(Quant, String, Box<Expr>, Box<Expr>, Box<Expr>),
    /// `len(q)`, `peek(q)`, `held(m)`, `locked(m)`.
    Call(Func, Box<Expr>),
}

/// The built-in functions on queues and mutexes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Func {
    /// `len(q)`: how many elements the queue holds.
    Len,
    /// `peek(q)`: the queue's head (a step reading it blocks while the queue is empty).
    Peek,
    /// `held(m)`: the acting actor holds the mutex.
    Held,
    /// `locked(m)`: some actor holds the mutex.
    Locked,
}

impl Func {
    fn named(name: &str) -> Option<Func> {
        Some(match name {
            "len" => Func::Len,
            "peek" => Func::Peek,
            "held" => Func::Held,
            "locked" => Func::Locked,
            _ => return None,
        })
    }
}

/// The synchronisation statements.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SyncOp {
    /// `lock(m)`: blocks while `m` is held, then holds it.
    Lock,
    /// `unlock(m)`: releases `m`, which the actor must hold.
    Unlock,
    /// `wait(c, m)`: releases `m` and sleeps on `c` until signalled, then holds `m` again.
    Wait,
    /// `signal(c)`: wakes one waiter of `c`.
    Signal,
    /// `broadcast(c)`: wakes every waiter of `c`.
    Broadcast,
    /// `send(q, e)`: blocks while `q` is full, then appends `e`.
    Send,
    /// `recv(q, place)`: blocks while `q` is empty, then pops its head into `place`.
    Recv,
}

impl SyncOp {
    fn named(name: &str) -> Option<SyncOp> {
        Some(match name {
            "lock" => SyncOp::Lock,
            "unlock" => SyncOp::Unlock,
            "wait" => SyncOp::Wait,
            "signal" => SyncOp::Signal,
            "broadcast" => SyncOp::Broadcast,
            "send" => SyncOp::Send,
            "recv" => SyncOp::Recv,
            _ => return None,
        })
    }

    /// The statement's name as written.
    pub fn name(self) -> &'static str {
        match self {
            SyncOp::Lock => "lock",
            SyncOp::Unlock => "unlock",
            SyncOp::Wait => "wait",
            SyncOp::Signal => "signal",
            SyncOp::Broadcast => "broadcast",
            SyncOp::Send => "send",
            SyncOp::Recv => "recv",
        }
    }
}

/// Unary operators.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UnOp {
    /// Logical not.
    Not,
    /// Arithmetic negation.
    Neg,
}

/// Binary operators, C precedence.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BinOp {
    /// `||`
    Or,
    /// `&&`
    And,
    /// `==`
    Eq,
    /// `!=`
    Ne,
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `>`
    Gt,
    /// `>=`
    Ge,
    /// `+`
    Add,
    /// `-`
    Sub,
    /// `*`
    Mul,
}

/// Quantifiers over an inclusive integer range.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Quant {
    /// True when the body holds for every value.
    All,
    /// True when the body holds for some value.
    Any,
    /// How many values the body holds for.
    Count,
}

/// A type as written: `bool`, `int 0..7`, `mutex`, `cond`, `queue T[cap]`, a declared name, or
/// `T[n]`.
#[derive(Clone, Debug, PartialEq)]
pub enum TypeExpr {
    /// `bool`
    Bool,
    /// `mutex`
    Mutex,
    /// `cond`
    Cond,
    /// `queue elem[cap]`: a bounded FIFO of `cap` scalars.
    Queue(Box<TypeExpr>, Expr),
    /// `int lo..hi` (both included).
    Int(Expr, Expr),
    /// A declared enum or record.
    Named(String, usize),
    /// `elem[len]`
    Array(Box<TypeExpr>, Expr),
}

/// A statement as written.
#[derive(Clone, Debug, PartialEq)]
pub enum Stmt {
    /// `place = value`
    Assign(Expr, Expr),
    /// `goto label`: where the actor goes after this step (`done` ends it).
    Goto(String, usize),
    /// `lock(m)`, `wait(c, m)`, `send(q, e)`, ...: the operation and its arguments.
    Sync(SyncOp, Vec<Expr>),
}

/// A syntax error: byte offset in the string and what was expected.
#[derive(Clone, Debug, PartialEq)]
pub struct SyntaxError {
    /// Byte offset.
    pub at: usize,
    /// Message for people.
    pub message: String,
}

const KEYWORDS: &[&str] = &[
    "true", "false", "self", "all", "any", "count", "in", "goto", "bool", "int", "mutex", "cond",
    "queue",
];

fn ws<'a, O>(
    inner: impl Parser<In<'a>, O, winnow::error::ErrMode<ContextError>>,
) -> impl Parser<In<'a>, O, winnow::error::ErrMode<ContextError>> {
    delimited(multispace0, inner, multispace0)
}

fn ident(i: &mut In<'_>) -> PResult<String> {
    (
        take_while(1, |c: char| c.is_ascii_alphabetic() || c == '_'),
        take_while(0.., |c: char| c.is_ascii_alphanumeric() || c == '_'),
    )
        .take()
        .map(str::to_string)
        .context(StrContext::Expected(StrContextValue::Description("a name")))
        .parse_next(i)
}

fn number(i: &mut In<'_>) -> PResult<i64> {
    digit1
        .try_map(str::parse::<i64>)
        .context(StrContext::Expected(StrContextValue::Description(
            "a number",
        )))
        .parse_next(i)
}

fn quant(i: &mut In<'_>) -> PResult<Expr> {
    let at = i.current_token_start();
    let q = alt((
        "all".value(Quant::All),
        "any".value(Quant::Any),
        "count".value(Quant::Count),
    ))
    .parse_next(i)?;
    let _ = ws("(").parse_next(i)?;
    let (var, _, lo, _, hi, _, body, _) = cut_err((
        ws(ident),
        ws("in"),
        additive,
        "..",
        additive,
        ws(":"),
        expr,
        ws(")"),
    ))
    .parse_next(i)?;
    Ok(Expr {
        kind: ExprKind::Quant(q, var, Box::new(lo), Box::new(hi), Box::new(body)),
        at,
    })
}

/// `len(q)`, `peek(q)`, `held(m)`, `locked(m)`; a name not followed by `(` is not a call.
fn call(i: &mut In<'_>) -> PResult<ExprKind> {
    let f = ident.verify_map(|n| Func::named(&n)).parse_next(i)?;
    let arg = preceded(ws("("), cut_err(terminated(expr, ws(")")))).parse_next(i)?;
    Ok(ExprKind::Call(f, Box::new(arg)))
}

fn atom(i: &mut In<'_>) -> PResult<Expr> {
    let _ = multispace0.parse_next(i)?;
    let at = i.current_token_start();
    let e = alt((
        number.map(ExprKind::Int),
        delimited("(", expr, cut_err(ws(")"))).map(|e| e.kind),
        quant.map(|e| e.kind),
        call,
        ident.map(|name| match name.as_str() {
            "true" => ExprKind::Bool(true),
            "false" => ExprKind::Bool(false),
            "self" => ExprKind::SelfIndex,
            _ => ExprKind::Name(name),
        }),
    ))
    .context(StrContext::Expected(StrContextValue::Description(
        "a number, `(`, `!` or `-`",
    )))
    .parse_next(i)?;
    Ok(Expr { kind: e, at })
}

enum Postfix {
    Index(Expr),
    Field(String),
}

fn postfix(i: &mut In<'_>) -> PResult<Expr> {
    let base = atom.parse_next(i)?;
    let suffixes: Vec<Postfix> = repeat(
        0..,
        preceded(
            multispace0,
            alt((
                delimited("[", expr, cut_err(ws("]"))).map(Postfix::Index),
                preceded(
                    terminated(".", winnow::combinator::not(".")),
                    cut_err(ws(ident)),
                )
                .map(Postfix::Field),
            )),
        ),
    )
    .parse_next(i)?;
    Ok(suffixes.into_iter().fold(base, |e, s| {
        let at = e.at;
        let kind = match s {
            Postfix::Index(index) => ExprKind::Index(Box::new(e), Box::new(index)),
            Postfix::Field(f) => ExprKind::Field(Box::new(e), f),
        };
        Expr { kind, at }
    }))
}

fn unary(i: &mut In<'_>) -> PResult<Expr> {
    let _ = multispace0.parse_next(i)?;
    let at = i.current_token_start();
    let op = opt(alt((
        terminated("!", winnow::combinator::not("=")).value(UnOp::Not),
        "-".value(UnOp::Neg),
    )))
    .parse_next(i)?;
    match op {
        Some(op) => {
            let inner = cut_err(unary).parse_next(i)?;
            Ok(Expr {
                kind: ExprKind::Unary(op, Box::new(inner)),
                at,
            })
        }
        None => postfix.parse_next(i),
    }
}

/// One precedence level: `next (op next)*`, left-associative.
fn level(
    i: &mut In<'_>,
    next: fn(&mut In<'_>) -> PResult<Expr>,
    ops: &[(&'static str, BinOp)],
) -> PResult<Expr> {
    let mut left = next(i)?;
    loop {
        let _ = multispace0.parse_next(i)?;
        let found = ops.iter().find(|(text, _)| {
            let rest: &str = i;
            rest.starts_with(text)
                // `=` alone is assignment, `..` a range, `<` is not `<=`: longest first.
                && !(*text == "<" && rest.starts_with("<="))
                && !(*text == ">" && rest.starts_with(">="))
        });
        let Some(&(text, op)) = found else {
            return Ok(left);
        };
        let _ = winnow::token::literal(text).parse_next(i)?;
        let right = cut_err(next).parse_next(i)?;
        let at = left.at;
        left = Expr {
            kind: ExprKind::Binary(op, Box::new(left), Box::new(right)),
            at,
        };
    }
}

fn multiplicative(i: &mut In<'_>) -> PResult<Expr> {
    level(i, unary, &[("*", BinOp::Mul)])
}

fn additive(i: &mut In<'_>) -> PResult<Expr> {
    level(i, multiplicative, &[("+", BinOp::Add), ("-", BinOp::Sub)])
}

fn relational(i: &mut In<'_>) -> PResult<Expr> {
    level(
        i,
        additive,
        &[
            ("<=", BinOp::Le),
            (">=", BinOp::Ge),
            ("<", BinOp::Lt),
            (">", BinOp::Gt),
        ],
    )
}

fn equality(i: &mut In<'_>) -> PResult<Expr> {
    level(i, relational, &[("==", BinOp::Eq), ("!=", BinOp::Ne)])
}

fn conjunction(i: &mut In<'_>) -> PResult<Expr> {
    level(i, equality, &[("&&", BinOp::And)])
}

fn expr(i: &mut In<'_>) -> PResult<Expr> {
    level(i, conjunction, &[("||", BinOp::Or)])
}

/// An atom of an integer type's bound: no postfix, so that `int 0..3[2]` is an array of
/// `int 0..3` (a bound is a constant, never an array element).
fn bound_atom(i: &mut In<'_>) -> PResult<Expr> {
    let _ = multispace0.parse_next(i)?;
    let at = i.current_token_start();
    let kind = alt((
        number.map(ExprKind::Int),
        delimited("(", expr, cut_err(ws(")"))).map(|e| e.kind),
        ident.map(ExprKind::Name),
    ))
    .parse_next(i)?;
    Ok(Expr { kind, at })
}

fn bound_term(i: &mut In<'_>) -> PResult<Expr> {
    level(i, bound_atom, &[("*", BinOp::Mul)])
}

fn bound(i: &mut In<'_>) -> PResult<Expr> {
    level(i, bound_term, &[("+", BinOp::Add), ("-", BinOp::Sub)])
}

/// A type without array dimensions; `queue elem[cap]` takes its first `[cap]` itself.
fn base_type(i: &mut In<'_>) -> PResult<TypeExpr> {
    let _ = multispace0.parse_next(i)?;
    let at = i.current_token_start();
    let name = ident.parse_next(i)?;
    Ok(match name.as_str() {
        "bool" => TypeExpr::Bool,
        "mutex" => TypeExpr::Mutex,
        "cond" => TypeExpr::Cond,
        "int" => {
            let (lo, _, hi) = cut_err((bound, "..", bound)).parse_next(i)?;
            TypeExpr::Int(lo, hi)
        }
        "queue" => {
            let (elem, _, cap, _) = cut_err((base_type, ws("["), expr, ws("]")))
                .context(StrContext::Expected(StrContextValue::Description(
                    "`queue T[capacity]`",
                )))
                .parse_next(i)?;
            TypeExpr::Queue(Box::new(elem), cap)
        }
        _ => TypeExpr::Named(name, at),
    })
}

fn type_expr(i: &mut In<'_>) -> PResult<TypeExpr> {
    let base = base_type.parse_next(i)?;
    let dims: Vec<Expr> =
        repeat(0.., preceded(ws("["), cut_err(terminated(expr, ws("]"))))).parse_next(i)?;
    Ok(dims
        .into_iter()
        .fold(base, |t, len| TypeExpr::Array(Box::new(t), len)))
}

fn stmt(i: &mut In<'_>) -> PResult<Stmt> {
    let _ = multispace0.parse_next(i)?;
    let checkpoint = *i;
    if let Ok(word) = ident.parse_next(i) {
        if word == "goto" {
            let _ = multispace0.parse_next(i)?;
            let at = i.current_token_start();
            let label = cut_err(ident).parse_next(i)?;
            return Ok(Stmt::Goto(label, at));
        }
        if let Some(op) = SyncOp::named(&word) {
            if ws("(").parse_next(i).is_ok() {
                let args =
                    cut_err(terminated(separated(1.., expr, ws(",")), ws(")"))).parse_next(i)?;
                return Ok(Stmt::Sync(op, args));
            }
        }
    }
    *i = checkpoint;
    let place = postfix.parse_next(i)?;
    let _ = cut_err(ws(terminated("=", winnow::combinator::not("="))))
        .context(StrContext::Expected(StrContextValue::Description(
            "`=` (statements are `place = value` or `goto label`)",
        )))
        .parse_next(i)?;
    let value = cut_err(expr).parse_next(i)?;
    Ok(Stmt::Assign(place, value))
}

fn range(i: &mut In<'_>) -> PResult<(Expr, Expr)> {
    let (lo, _, hi) = (additive, ws(".."), cut_err(additive)).parse_next(i)?;
    Ok((lo, hi))
}

fn run<T>(text: &str, mut parser: impl FnMut(&mut In<'_>) -> PResult<T>) -> Result<T, SyntaxError> {
    let mut whole = |i: &mut In<'_>| -> PResult<T> {
        let value = parser(i)?;
        let _ = multispace0.parse_next(i)?;
        Ok(value)
    };
    whole
        .parse(LocatingSlice::new(text))
        .map_err(|e| SyntaxError {
            at: e.offset(),
            message: match e.inner().to_string() {
                s if s.is_empty() => "unexpected text".to_string(),
                s => s,
            },
        })
}

/// Parses an expression.
pub fn parse_expr(text: &str) -> Result<Expr, SyntaxError> {
    run(text, expr)
}

/// Parses a type: `bool`, `int lo..hi`, `Name`, with `[len]` suffixes.
pub fn parse_type(text: &str) -> Result<TypeExpr, SyntaxError> {
    run(text, type_expr)
}

/// Parses a statement: `place = value`, `goto label`, or a synchronisation statement
/// (`lock(m)`).
pub fn parse_stmt(text: &str) -> Result<Stmt, SyntaxError> {
    run(text, stmt)
}

/// Parses an inclusive range `lo..hi`.
pub fn parse_range(text: &str) -> Result<(Expr, Expr), SyntaxError> {
    run(text, range)
}

/// True for words the syntax reserves (a declaration may not use them as names).
pub fn is_keyword(name: &str) -> bool {
    KEYWORDS.contains(&name)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn show(e: &Expr) -> String {
        match &e.kind {
            ExprKind::Int(v) => v.to_string(),
            ExprKind::Bool(b) => b.to_string(),
            ExprKind::Name(n) => n.clone(),
            ExprKind::SelfIndex => "self".into(),
            ExprKind::Unary(op, a) => format!("({op:?} {})", show(a)),
            ExprKind::Binary(op, a, b) => format!("({op:?} {} {})", show(a), show(b)),
            ExprKind::Index(a, i) => format!("{}[{}]", show(a), show(i)),
            ExprKind::Field(a, f) => format!("{}.{f}", show(a)),
            ExprKind::Quant(q, v, lo, hi, b) => {
                format!("({q:?} {v} {} {} {})", show(lo), show(hi), show(b))
            }
            ExprKind::Call(f, a) => format!("{f:?}({})", show(a)),
        }
    }

    #[test]
    fn c_precedence_and_postfix() {
        let e =
            parse_expr("!a[i] && b.c == x + 1 * 2 || count(k in 0..N-1: k < self) >= 2").unwrap();
        assert_eq!(
            show(&e),
            "(Or (And (Not a[i]) (Eq b.c (Add x (Mul 1 2)))) (Ge (Count k 0 (Sub N 1) (Lt k self)) 2))"
        );
        let e = parse_expr("a != b").unwrap();
        assert_eq!(show(&e), "(Ne a b)");
        assert_eq!(
            parse_expr("x <= -1").map(|e| show(&e)).unwrap(),
            "(Le x (Neg 1))"
        );
    }

    #[test]
    fn offsets_point_into_the_string() {
        let e = parse_expr("a && foo").unwrap();
        let ExprKind::Binary(_, _, b) = e.kind else {
            panic!("binary")
        };
        assert_eq!(b.at, 5);
        let err = parse_expr("a && (b ||").unwrap_err();
        assert_eq!(err.at, 10);
        assert!(parse_expr("a b").is_err());
    }

    #[test]
    fn statements_types_and_ranges() {
        assert!(matches!(parse_stmt("goto done"), Ok(Stmt::Goto(l, 5)) if l == "done"));
        let Ok(Stmt::Assign(p, v)) = parse_stmt("kernel[tap] = !x") else {
            panic!("assignment")
        };
        assert_eq!(
            (show(&p), show(&v)),
            ("kernel[tap]".into(), "(Not x)".into())
        );
        assert!(parse_stmt("a == b").is_err());
        assert!(matches!(parse_type("int 0..T"), Ok(TypeExpr::Int(..))));
        assert!(matches!(
            parse_type("int 0..N-1[2]"),
            Ok(TypeExpr::Array(inner, _)) if matches!(*inner, TypeExpr::Int(..))
        ));
        assert!(matches!(
            parse_type("Dom[N][2]"),
            Ok(TypeExpr::Array(inner, _)) if matches!(*inner, TypeExpr::Array(..))
        ));
        assert!(parse_range("0..N-1").is_ok());
        assert!(parse_range("0..").is_err());
    }

    #[test]
    fn synchronisation_syntax() {
        let Ok(Stmt::Sync(SyncOp::Wait, args)) = parse_stmt("wait(job_cond[d], vm_lock)") else {
            panic!("wait")
        };
        let shown: Vec<String> = args.iter().map(show).collect();
        assert_eq!(shown, ["job_cond[d]", "vm_lock"]);
        assert_eq!(args[1].at, 18);
        assert!(matches!(parse_stmt("lock(m)"), Ok(Stmt::Sync(SyncOp::Lock, a)) if a.len() == 1));
        assert!(matches!(parse_stmt("lock = 1"), Ok(Stmt::Assign(..))));
        assert!(parse_stmt("lock(m").is_err());
        let e = parse_expr("len(q) > 0 && peek(q) == x && !held(m) || length").unwrap();
        assert_eq!(
            show(&e),
            "(Or (And (And (Gt Len(q) 0) (Eq Peek(q) x)) (Not Held(m))) length)"
        );
        assert!(
            matches!(parse_type("mutex[N]"), Ok(TypeExpr::Array(m, _)) if *m == TypeExpr::Mutex)
        );
        let Ok(TypeExpr::Array(q, _)) = parse_type("queue int 0..3[4][2]") else {
            panic!("an array of queues")
        };
        assert!(matches!(*q, TypeExpr::Queue(elem, _) if matches!(*elem, TypeExpr::Int(..))));
        assert!(parse_type("queue bool").is_err());
        assert!(is_keyword("cond"));
    }
}
