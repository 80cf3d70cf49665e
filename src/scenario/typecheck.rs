//! What a scenario writes, checked against the types of the model's observations (those of the
//! initial state; an observation keeps its type in every state): property expressions compare
//! and combine values of matching types and are boolean, and expected outcomes give every
//! observed name in `observe:` order with a value of its observation's shape.

use evalexpr::{DefaultNumericTypes, Node, Operator, Value};
use models::scenario::Obs;
use std::collections::BTreeMap;

/// The type of an observation, or of a value in an expression.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Type {
    /// `true` or `false`.
    Bool,
    /// A whole number.
    Int,
    /// A number with a fraction (only as an expression's constant).
    Float,
    /// Text.
    Str,
}

impl Type {
    fn of(obs: &Obs) -> Type {
        match obs {
            Obs::Bool(_) => Type::Bool,
            Obs::Int(_) => Type::Int,
            Obs::Str(_) => Type::Str,
        }
    }

    fn numeric(self) -> bool {
        matches!(self, Type::Int | Type::Float)
    }

    /// Whether `==` and `!=` can tell values of these types apart.
    fn comparable(self, other: Type) -> bool {
        self == other || (self.numeric() && other.numeric())
    }

    fn name(self) -> &'static str {
        match self {
            Type::Bool => "a bool",
            Type::Int => "a whole number",
            Type::Float => "a number",
            Type::Str => "a string",
        }
    }
}

/// The types of a model's observations, by name.
pub struct ObsTypes(BTreeMap<String, Type>);

impl ObsTypes {
    /// The types of the observations of one state.
    pub fn new(observations: &[(String, Obs)]) -> Self {
        ObsTypes(
            observations
                .iter()
                .map(|(name, value)| (name.clone(), Type::of(value)))
                .collect(),
        )
    }
}

/// An operand: its type, and how a message names it.
struct Operand {
    ty: Type,
    what: String,
}

impl Operand {
    fn new(ty: Type, what: String) -> Self {
        Operand { ty, what }
    }
}

/// Checks that `tree` is boolean and that every operator gets operands of types it can use; the
/// message names the observation or constant that does not fit.
pub fn expression(tree: &Node<DefaultNumericTypes>, types: &ObsTypes) -> Result<(), String> {
    match infer(tree, types)? {
        Some(top) if top.ty != Type::Bool => Err(format!("is {}, not a boolean", top.what)),
        _ => Ok(()),
    }
}

/// The type of `node`, or `None` where the language gives no fixed one (tuples, functions,
/// assignments); operands of known types are checked all the way down.
fn infer(node: &Node<DefaultNumericTypes>, types: &ObsTypes) -> Result<Option<Operand>, String> {
    let operands = node
        .children()
        .iter()
        .map(|c| infer(c, types))
        .collect::<Result<Vec<_>, _>>()?;
    let known: Option<Vec<&Operand>> = operands.iter().map(Option::as_ref).collect();
    let result = |ty: Type, text: &str| Operand::new(ty, format!("{text} ({})", ty.name()));
    Ok(match node.operator() {
        Operator::VariableIdentifierRead { identifier } => types
            .0
            .get(identifier)
            .map(|&ty| result(ty, &format!("`{identifier}`"))),
        Operator::Const { value } => constant(value),
        Operator::RootNode => match operands.as_slice() {
            [one] => one.as_ref().map(|o| Operand::new(o.ty, o.what.clone())),
            _ => None,
        },
        Operator::Eq | Operator::Neq => {
            if let Some([a, b]) = known.as_deref() {
                if !a.ty.comparable(b.ty) {
                    return Err(format!("compares {} with {}", a.what, b.what));
                }
            }
            Some(result(Type::Bool, "a comparison"))
        }
        Operator::Lt | Operator::Gt | Operator::Leq | Operator::Geq => {
            if let Some([a, b]) = known.as_deref() {
                let ordered =
                    (a.ty.numeric() && b.ty.numeric()) || (a.ty, b.ty) == (Type::Str, Type::Str);
                if !ordered {
                    return Err(format!("orders {} against {}", a.what, b.what));
                }
            }
            Some(result(Type::Bool, "a comparison"))
        }
        op @ (Operator::And | Operator::Or | Operator::Not) => {
            if let Some(bad) = operands.iter().flatten().find(|o| o.ty != Type::Bool) {
                return Err(format!(
                    "`{op}` needs booleans, and {} is not one",
                    bad.what
                ));
            }
            Some(result(Type::Bool, &format!("a `{op}`")))
        }
        Operator::Add => match known.as_deref() {
            Some([a, b]) if (a.ty, b.ty) == (Type::Str, Type::Str) => {
                Some(result(Type::Str, "a concatenation"))
            }
            Some([a, b]) if a.ty.numeric() && b.ty.numeric() => Some(arithmetic(a, b)),
            Some([a, b]) => return Err(format!("adds {} to {}", b.what, a.what)),
            _ => None,
        },
        op @ (Operator::Sub | Operator::Mul | Operator::Div | Operator::Mod | Operator::Exp) => {
            match known.as_deref() {
                Some([a, b]) if a.ty.numeric() && b.ty.numeric() => Some(arithmetic(a, b)),
                Some([a, b]) => {
                    let bad = if a.ty.numeric() { b } else { a };
                    return Err(format!("`{op}` needs numbers, and {} is not one", bad.what));
                }
                _ => None,
            }
        }
        Operator::Neg => match known.as_deref() {
            Some([a]) if a.ty.numeric() => Some(Operand::new(a.ty, a.what.clone())),
            Some([a]) => return Err(format!("`-` needs a number, and {} is not one", a.what)),
            _ => None,
        },
        _ => None,
    })
}

fn arithmetic(a: &Operand, b: &Operand) -> Operand {
    let ty = if (a.ty, b.ty) == (Type::Int, Type::Int) {
        Type::Int
    } else {
        Type::Float
    };
    Operand::new(ty, format!("an arithmetic result ({})", ty.name()))
}

fn constant(value: &Value<DefaultNumericTypes>) -> Option<Operand> {
    let ty = match value {
        Value::Boolean(_) => Type::Bool,
        Value::Int(_) => Type::Int,
        Value::Float(_) => Type::Float,
        Value::String(_) => Type::Str,
        _ => return None,
    };
    Some(Operand::new(ty, format!("{value} ({})", ty.name())))
}

/// Checks an expected outcome as `check` names outcomes: `name=value` for every name of
/// `observe`, in that order, joined by `, `; each value of its observation's shape (`true` or
/// `false`, a whole number, any text: the last value runs to the end).
pub fn outcome(text: &str, observe: &[String], types: &ObsTypes) -> Result<(), String> {
    let form = observe
        .iter()
        .map(|n| format!("{n}=…"))
        .collect::<Vec<_>>()
        .join(", ");
    if observe.is_empty() {
        return Err(
            "an outcome is made of the values of the observations `observe:` names, and it names none"
                .into(),
        );
    }
    let mut rest = text;
    for (i, name) in observe.iter().enumerate() {
        let Some((found, after)) = rest.split_once('=') else {
            return Err(format!("lacks `{name}=…`; outcomes read `{form}`"));
        };
        if found != name {
            let refs: Vec<&str> = observe.iter().map(String::as_str).collect();
            let listed = if refs.contains(&found) {
                "out of order".to_string()
            } else {
                let hint = sim::yaml::closest(found, refs.iter().copied())
                    .map(|s| format!(", did you mean `{s}`?"))
                    .unwrap_or_default();
                format!("not an observation `observe:` names{hint}")
            };
            return Err(format!(
                "`{found}` where `{name}` belongs ({listed}); outcomes read `{form}`"
            ));
        }
        let (value, tail) = match observe.get(i + 1) {
            None => (after, ""),
            Some(next) => match after.find(&format!(", {next}=")) {
                Some(end) => (&after[..end], &after[end + 2..]),
                // What follows is not the next name: the check of the next round says why.
                None => match after.split_once(", ") {
                    Some((value, tail)) => (value, tail),
                    None => return Err(format!("lacks `{next}=…`; outcomes read `{form}`")),
                },
            },
        };
        shape(name, value, types)?;
        rest = tail;
    }
    Ok(())
}

/// Checks that `value` can be a value of the observation `name`.
fn shape(name: &str, value: &str, types: &ObsTypes) -> Result<(), String> {
    let ty = types.0.get(name).copied().unwrap_or(Type::Str);
    let fits = match ty {
        Type::Bool => value == "true" || value == "false",
        Type::Int => value.parse::<i64>().is_ok(),
        Type::Float | Type::Str => true,
    };
    if fits {
        return Ok(());
    }
    let expected = match ty {
        Type::Bool => "true or false",
        _ => "a whole number",
    };
    Err(format!(
        "`{name}` is {}: its value is {expected}, not `{value}`",
        ty.name()
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use evalexpr::build_operator_tree;

    fn types() -> ObsTypes {
        ObsTypes::new(&[
            ("B.state".into(), Obs::Str("running".into())),
            ("B.connected".into(), Obs::Bool(true)),
            ("B.boots".into(), Obs::Int(0)),
        ])
    }

    fn check(expr: &str) -> Result<(), String> {
        expression(&build_operator_tree(expr).expect("parses"), &types())
    }

    #[test]
    fn well_typed_expressions_pass() {
        for expr in [
            "B.state == \"running\"",
            "!B.connected || B.boots > 1",
            "(B.boots + 1) * 2 >= 3.5 && B.state != \"x\"",
            "B.state < \"z\"",
            "-B.boots < 0",
        ] {
            assert_eq!(check(expr), Ok(()), "{expr}");
        }
    }

    #[test]
    fn mixed_types_are_named() {
        for (expr, named) in [
            ("B.connected == \"true\"", "`B.connected` (a bool)"),
            ("B.boots != \"0\"", "`B.boots` (a whole number)"),
            ("B.connected && B.state", "`B.state` (a string)"),
            ("!B.boots", "`B.boots`"),
            ("B.state < 3", "`B.state`"),
            ("B.state + 1 == 2", "`B.state`"),
            ("B.boots + 1", "not a boolean"),
        ] {
            let err = check(expr).expect_err(expr);
            assert!(err.contains(named), "{expr}: {err}");
        }
    }

    #[test]
    fn outcomes_follow_observe_with_values_of_the_right_shape() {
        let observe = ["B.state".to_string(), "B.connected".to_string()];
        let ok = |t: &str| outcome(t, &observe, &types());
        assert_eq!(ok("B.state=running, B.connected=false"), Ok(()));
        assert_eq!(ok("B.state=a, b, B.connected=true"), Ok(()));
        let err = |t: &str| ok(t).expect_err(t);
        assert!(err("B.stat=running, B.connected=true").contains("did you mean `B.state`?"));
        assert!(err("B.connected=true, B.state=running").contains("out of order"));
        assert!(err("B.state=running, B.connected=yes").contains("true or false"));
        assert!(err("B.state=running").contains("lacks `B.connected=…`"));
        assert!(err("B.state=running, B.connected=true, x").contains("not `true, x`"));
        assert!(err("running").contains("lacks `B.state=…`"));
        let none = outcome("B.state=running", &[], &types()).expect_err("no observe");
        assert!(none.contains("observe:"), "{none}");
        let boots = ["B.boots".to_string()];
        assert!(outcome("B.boots=two", &boots, &types())
            .expect_err("not a number")
            .contains("whole number"));
    }
}
