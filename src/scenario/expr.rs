//! Limits on property expressions, checked before the evalexpr parser sees them: its parser and
//! evaluator recurse once per bracket and per chained operator, so a property of 50,000 `||`
//! terms or 100,000 brackets would overflow the stack. Within these limits an expression's tree
//! is at most a few hundred levels deep wherever it is parsed or evaluated.

/// The longest expression accepted, in bytes.
pub const MAX_BYTES: usize = 4096;
/// The deepest bracket nesting accepted.
pub const MAX_NESTING: usize = 32;
/// The most operators accepted (`&&`, `||`, `==`, `!`, `<`, `,`, … each count once).
pub const MAX_OPERATORS: usize = 256;

/// Operators of two characters, counted once.
const PAIRS: [&str; 15] = [
    "&&", "||", "==", "!=", "<=", ">=", "+=", "-=", "*=", "/=", "%=", "^=", "&=", "|=", "=>",
];

/// Checks `expr` against the limits; the error says which limit and where the expression
/// passes it (a 1-based character offset).
pub fn check(expr: &str) -> Result<(), String> {
    if expr.len() > MAX_BYTES {
        return Err(format!(
            "the expression is {} bytes long; at most {MAX_BYTES} are allowed",
            expr.len()
        ));
    }
    let (mut depth, mut operators) = (0usize, 0usize);
    let mut in_string = false;
    let mut chars = expr.char_indices().peekable();
    while let Some((at, c)) = chars.next() {
        let place = || expr[..at].chars().count() + 1;
        if in_string {
            match c {
                '\\' => {
                    chars.next();
                }
                '"' => in_string = false,
                _ => {}
            }
            continue;
        }
        match c {
            '"' => in_string = true,
            '(' => {
                depth += 1;
                if depth > MAX_NESTING {
                    return Err(format!(
                        "brackets nest deeper than {MAX_NESTING} levels (at character {})",
                        place()
                    ));
                }
            }
            ')' => depth = depth.saturating_sub(1),
            '!' | '&' | '|' | '=' | '<' | '>' | '+' | '-' | '*' | '/' | '%' | '^' | ',' | ';' => {
                if chars
                    .peek()
                    .is_some_and(|&(_, d)| PAIRS.iter().any(|p| p.chars().eq([c, d])))
                {
                    chars.next();
                }
                operators += 1;
                if operators > MAX_OPERATORS {
                    return Err(format!(
                        "more than {MAX_OPERATORS} operators (at character {})",
                        place()
                    ));
                }
            }
            _ => {}
        }
    }
    Ok(())
}

/// Deserializes an optional expression, refusing one past the limits; serde_yaml_ng places
/// the error at the expression's line and column.
pub fn limited<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    let expr = <Option<String> as serde::Deserialize>::deserialize(d)?;
    if let Some(e) = &expr {
        check(e).map_err(serde::de::Error::custom)?;
    }
    Ok(expr)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ordinary_expressions_pass() {
        check(r#"(A.state != "running" || A.connected) && !B.killed"#).expect("fine");
        // Brackets and operators inside strings are text.
        check(&format!("A.result == \"{}\"", "((||".repeat(100))).expect("fine");
    }

    #[test]
    fn each_limit_is_enforced_where_it_is_passed() {
        let long = format!("A.killed{}", " ".repeat(MAX_BYTES));
        assert!(check(&long).expect_err("long").contains("bytes long"));
        let deep = format!("{}A.killed{}", "(".repeat(40), ")".repeat(40));
        assert!(check(&deep).expect_err("deep").contains("at character 33"));
        let many = vec!["A.killed"; 300].join(" || ");
        let e = check(&many).expect_err("many");
        assert!(e.contains("more than 256 operators"), "{e}");
        check(&vec!["A.killed"; 257].join(" || ")).expect("256 operators");
    }
}
