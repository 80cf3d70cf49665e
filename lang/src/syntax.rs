//! The model file as written: serde structs for the YAML, in the order the user wrote it.
//! Expressions, types and statements stay strings here; `expr` parses them and `check`
//! resolves them.

use serde::de::{Deserializer, MapAccess, Visitor};
use serde::Deserialize;
use std::fmt;
use std::marker::PhantomData;

/// A YAML mapping whose order matters (later declarations may use earlier ones).
#[derive(Clone, Debug, PartialEq)]
pub struct Ordered<T>(pub Vec<(String, T)>);

impl<T> Default for Ordered<T> {
    fn default() -> Self {
        Ordered(Vec::new())
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Ordered<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<T>(PhantomData<T>);
        impl<'de, T: Deserialize<'de>> Visitor<'de> for V<T> {
            type Value = Ordered<T>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a mapping")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut entries: Vec<(String, T)> = Vec::new();
                while let Some((k, v)) = map.next_entry::<String, T>()? {
                    if entries.iter().any(|(e, _)| *e == k) {
                        return Err(serde::de::Error::custom(format!("`{k}` is declared twice")));
                    }
                    entries.push((k, v));
                }
                Ok(Ordered(entries))
            }
        }
        d.deserialize_map(V(PhantomData))
    }
}

/// A whole model file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct File {
    /// The model's name (traces carry it).
    pub model: String,
    /// Parameters, set per configuration (`N`, `fix`, a variant axis).
    #[serde(default)]
    pub params: Ordered<ParamDecl>,
    /// Named constants computed from the parameters, in order.
    #[serde(default)]
    pub consts: Ordered<String>,
    /// Enum and record types.
    #[serde(default)]
    pub types: Ordered<TypeDecl>,
    /// Shared variables.
    #[serde(default)]
    pub globals: Ordered<VarDecl>,
    /// Actor templates, each with its program.
    pub actors: Ordered<ActorDecl>,
    /// Properties checked by the search.
    #[serde(default)]
    pub properties: Vec<PropertyDecl>,
    /// The name of a terminal state's outcome: text with `{expression}` holes.
    #[serde(default)]
    pub outcome: Option<String>,
    /// Named edits of the programs (a variant as a patch), applied when a configuration asks.
    #[serde(default)]
    pub patches: Ordered<PatchDecl>,
}

/// A parameter: its type and its default value.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ParamDecl {
    /// `bool`, `int lo..hi` or an enum's name.
    #[serde(rename = "type")]
    pub ty: String,
    /// The value when the configuration does not set it (a number, `true`/`false` or an enum
    /// constant).
    pub default: Scalar,
}

/// A YAML scalar (`3`, `true`, `lowest_free`, `N - 1`) kept as the text of an expression.
#[derive(Clone, Debug, PartialEq)]
pub struct Scalar(pub String);

impl<'de> Deserialize<'de> for Scalar {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        match serde_yaml_ng::Value::deserialize(d)? {
            serde_yaml_ng::Value::Bool(b) => Ok(Scalar(b.to_string())),
            serde_yaml_ng::Value::Number(n) => Ok(Scalar(n.to_string())),
            serde_yaml_ng::Value::String(s) => Ok(Scalar(s)),
            _ => Err(serde::de::Error::custom(
                "expected a scalar: a number, true/false or a name",
            )),
        }
    }
}

/// An enum or a record type.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TypeDecl {
    /// The constants of an enum, in order (the first is the default).
    #[serde(default, rename = "enum")]
    pub enumeration: Option<Vec<String>>,
    /// The fields of a record, each with its type.
    #[serde(default)]
    pub record: Option<Ordered<String>>,
}

/// A variable: a type alone, or a type and an initial value.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum VarDecl {
    /// `name: int 0..3` (starts at its type's default: false, the low bound, the first constant).
    Type(String),
    /// `name: { type: bool[N], init: true }` (an array's every element starts at `init`).
    Init {
        /// The type.
        #[serde(rename = "type")]
        ty: String,
        /// The initial value: a constant expression.
        init: Scalar,
    },
}

/// An actor template: one program run by `instances` actors.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ActorDecl {
    /// How many instances (an expression over parameters); one unindexed actor when absent.
    #[serde(default)]
    pub instances: Option<String>,
    /// The instances are interchangeable: states equal up to a permutation of their locals are
    /// explored once (the program may not use `self`).
    #[serde(default)]
    pub symmetric: bool,
    /// A server loop: a terminal state where it has not reached `done` is not a deadlock.
    #[serde(default)]
    pub daemon: bool,
    /// Variables of each instance.
    #[serde(default)]
    pub locals: Ordered<VarDecl>,
    /// The labelled atomic steps, in order.
    pub program: Vec<StepDecl>,
}

/// One labelled atomic step.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StepDecl {
    /// The label: the step's name in traces and the target of `goto`.
    pub label: String,
    /// The upstream function the step stands for.
    #[serde(default, rename = "fn")]
    pub upstream: Option<String>,
    /// The guard: the step is enabled only when it holds.
    #[serde(default)]
    pub when: Option<String>,
    /// Nondeterministic choices: each variable takes every value of its range (`0..N-1`), one
    /// action per value.
    #[serde(default)]
    pub pick: Ordered<String>,
    /// The effects, in order.
    #[serde(default, rename = "do")]
    pub body: Vec<StmtDecl>,
    /// Alternatives, one action each: each has its own guard and effects (after `do`).
    #[serde(default)]
    pub either: Vec<BranchDecl>,
}

/// One alternative of `either`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BranchDecl {
    /// Its guard (with the step's).
    #[serde(default)]
    pub when: Option<String>,
    /// Its effects.
    #[serde(default, rename = "do")]
    pub body: Vec<StmtDecl>,
}

/// A statement: `place = value`, `goto label`, or a conditional.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum StmtDecl {
    /// `place = value` or `goto label`.
    Text(String),
    /// `{ if: cond, then: [...], else: [...] }`.
    If(IfDecl),
}

/// A conditional statement.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IfDecl {
    /// The condition.
    #[serde(rename = "if")]
    pub cond: String,
    /// When it holds.
    #[serde(default)]
    pub then: Vec<StmtDecl>,
    /// When it does not.
    #[serde(default, rename = "else")]
    pub otherwise: Vec<StmtDecl>,
}

/// A patch: edits of the actors' programs by label, applied in order.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PatchDecl {
    /// What it stands for (an upstream commit's subject).
    #[serde(default)]
    pub title: Option<String>,
    /// The edits, in order.
    pub ops: Vec<OpDecl>,
}

/// One edit of a patch as written: exactly one of `delete`, `replace` (with `with`),
/// `insert_after` and `insert_before` (with `steps`), each naming a step as `actor.label`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OpDecl {
    /// Removes the step.
    #[serde(default)]
    pub delete: Option<String>,
    /// Replaces the step by `with`.
    #[serde(default)]
    pub replace: Option<String>,
    /// The steps that replace it.
    #[serde(default)]
    pub with: Option<Vec<StepDecl>>,
    /// Inserts `steps` after the step.
    #[serde(default)]
    pub insert_after: Option<String>,
    /// Inserts `steps` before the step.
    #[serde(default)]
    pub insert_before: Option<String>,
    /// The steps inserted.
    #[serde(default)]
    pub steps: Option<Vec<StepDecl>>,
}

/// A named property; exactly one of its kinds is set.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PropertyDecl {
    /// Shown in reports.
    pub name: String,
    /// Must hold in every reachable state.
    #[serde(default)]
    pub always: Option<String>,
    /// Must hold in every terminal state.
    #[serde(default)]
    pub at_end: Option<String>,
    /// Must hold in some reachable state.
    #[serde(default)]
    pub sometimes: Option<String>,
}
