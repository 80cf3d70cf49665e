//! Limits checked before a YAML document is parsed into values, so that hostile input fails
//! fast with a located error instead of taking quadratic time or all memory: flow collections
//! (`[...]`, `{...}`) nested deeper than [`MAX_FLOW_DEPTH`] (libyaml's scanner, which
//! serde_yaml_ng uses, takes time quadratic in that depth), and aliases that expand the
//! document beyond [`node_budget`] nodes ("billion laughs": serde_yaml_ng's own repetition
//! limit still lets one anchor of n nodes be used n times). Deep block nesting needs no check:
//! its indentation makes it linear, and serde_yaml_ng refuses more than 128 levels.
//!
//! Also: serde_yaml_ng's errors as a place and a message said once ([`describe`]), with a
//! "did you mean" for a misspelt key or variant ([`with_suggestion`], [`closest`]).

use serde::de::{DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use std::cell::Cell;
use std::fmt;

/// The deepest nesting of flow collections accepted (serde_yaml_ng refuses more than 128
/// levels of any nesting anyway).
pub const MAX_FLOW_DEPTH: usize = 128;

/// How many nodes (scalars, sequences, mappings) a document of `bytes` bytes may expand to
/// with its aliases: 100,000 plus one per byte. A document without aliases never has more
/// nodes than bytes.
pub fn node_budget(bytes: usize) -> u64 {
    100_000 + bytes as u64
}

/// A YAML limit exceeded, with the 1-based line and column where it was.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("line {line} column {column}: {what}")]
pub struct LimitError {
    /// 1-based line.
    pub line: usize,
    /// 1-based column.
    pub column: usize,
    /// Which limit.
    pub what: String,
}

/// Checks `text` against both limits; a document these accept parses in time and memory
/// linear in its size (its syntax errors are left to the parser).
pub fn check(text: &str) -> Result<(), LimitError> {
    if let Some((line, column)) = flow_depth_exceeded(text, MAX_FLOW_DEPTH) {
        return Err(LimitError {
            line,
            column,
            what: format!(
                "flow collections (`[...]`, `{{...}}`) nested deeper than {MAX_FLOW_DEPTH}"
            ),
        });
    }
    let budget = node_budget(text.len());
    let counter = Counter {
        left: Cell::new(budget),
        exceeded: Cell::new(false),
    };
    let result = counter
        .seed()
        .deserialize(serde_yaml_ng::Deserializer::from_str(text));
    match result {
        Err(e) if counter.exceeded.get() => {
            let (line, column) = e.location().map_or((1, 1), |l| (l.line(), l.column()));
            Err(LimitError {
                line,
                column,
                what: format!(
                    "aliases expand the document to more than {budget} nodes (100,000 plus one \
                     per byte of the file)"
                ),
            })
        }
        _ => Ok(()),
    }
}

/// Where the flow nesting of `text` first exceeds `max` (1-based line and column), following
/// libyaml's tokens closely enough never to see less nesting than the parser will: quoted
/// scalars, comments, plain scalars and block scalars are skipped, brackets elsewhere count.
fn flow_depth_exceeded(text: &str, max: usize) -> Option<(usize, usize)> {
    let mut depth = 0usize;
    // Skip lines indented deeper than this (the content of a block scalar `|` or `>`).
    let mut block_scalar: Option<usize> = None;
    let mut quote: Option<char> = None;
    // A token may start here (not inside a plain scalar).
    let mut token_start = true;
    let mut plain = false;
    for (n, line) in text.split('\n').enumerate() {
        let indent = line.len() - line.trim_start_matches([' ', '\t', '\r']).len();
        if let Some(parent) = block_scalar {
            if line.trim().is_empty() || indent > parent {
                continue;
            }
            block_scalar = None;
        }
        let chars: Vec<(usize, char)> = line.char_indices().collect();
        let mut i = 0;
        // The column of the line's first node after `- `, `? ` and `: ` indicators.
        let mut node_column: Option<usize> = None;
        if depth == 0 {
            // Flow scalars go on over line breaks. In block context every line is scanned
            // afresh: a quote left open is dropped, so that a quote that is really part of a
            // plain scalar's continuation line can hide nothing beyond its line.
            (quote, plain, token_start) = (None, false, true);
            if is_document_marker(line) {
                i = 3;
            }
        }
        while i < chars.len() {
            let (at, c) = chars[i];
            let next = chars.get(i + 1).map(|&(_, c)| c);
            let blank_next = next.is_none_or(|c| c == ' ' || c == '\t' || c == '\r');
            i += 1;
            if let Some(q) = quote {
                if c == '\\' && q == '"' {
                    i += 1;
                } else if c == q {
                    if q == '\'' && next == Some('\'') {
                        i += 1;
                    } else {
                        quote = None;
                        token_start = false;
                    }
                }
                continue;
            }
            let preceded_by_blank = at == 0 || matches!(line.as_bytes()[at - 1], b' ' | b'\t');
            if c == '#' && preceded_by_blank {
                break;
            }
            if matches!(c, ' ' | '\t' | '\r') {
                if !plain {
                    token_start = true;
                }
                continue;
            }
            if depth > 0 {
                match c {
                    '[' | '{' => {
                        depth += 1;
                        if depth > max {
                            return Some((n + 1, line[..at].chars().count() + 1));
                        }
                        (plain, token_start) = (false, true);
                    }
                    ']' | '}' => {
                        depth -= 1;
                        (plain, token_start) = (false, depth == 0);
                    }
                    ',' => (plain, token_start) = (false, true),
                    ':' | '?' if !plain || blank_next || next.is_some_and(is_flow_indicator) => {
                        (plain, token_start) = (false, true)
                    }
                    '"' | '\'' if token_start && !plain => quote = Some(c),
                    _ => {
                        plain = true;
                        token_start = false;
                    }
                }
                continue;
            }
            // Block context.
            if plain {
                if c == ':' && blank_next {
                    (plain, token_start) = (false, true);
                }
                continue;
            }
            if !token_start {
                continue;
            }
            if matches!(c, '-' | '?' | ':') && blank_next {
                continue;
            }
            let column = *node_column.get_or_insert(at);
            match c {
                '[' | '{' => {
                    depth = 1;
                    token_start = true;
                }
                '"' | '\'' => quote = Some(c),
                '|' | '>' => {
                    block_scalar = Some(column);
                    break;
                }
                '&' | '!' | '*' => {
                    // An anchor, tag or alias: up to the next blank.
                    while i < chars.len() && !matches!(chars[i].1, ' ' | '\t' | '\r') {
                        i += 1;
                    }
                }
                _ => plain = true,
            }
        }
    }
    None
}

fn is_flow_indicator(c: char) -> bool {
    matches!(c, ',' | '[' | ']' | '{' | '}')
}

fn is_document_marker(line: &str) -> bool {
    (line.starts_with("---") || line.starts_with("..."))
        && line[3..].chars().next().is_none_or(|c| c.is_whitespace())
}

/// Counts the nodes of a document as serde_yaml_ng expands its aliases, failing once the
/// budget is spent.
struct Counter {
    left: Cell<u64>,
    exceeded: Cell<bool>,
}

/// One node to count.
struct Node<'a>(&'a Counter);

impl Counter {
    fn seed(&self) -> Node<'_> {
        Node(self)
    }

    fn spend<E: serde::de::Error>(&self) -> Result<(), E> {
        match self.left.get().checked_sub(1) {
            Some(left) => {
                self.left.set(left);
                Ok(())
            }
            None => {
                self.exceeded.set(true);
                Err(E::custom("the node budget is spent"))
            }
        }
    }
}

impl<'de> DeserializeSeed<'de> for Node<'_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

macro_rules! scalars {
    ($($name:ident: $ty:ty),*) => {
        $(fn $name<E: serde::de::Error>(self, _: $ty) -> Result<(), E> {
            self.0.spend()
        })*
    };
}

impl<'de> Visitor<'de> for Node<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any YAML node")
    }

    scalars!(visit_bool: bool, visit_i64: i64, visit_u64: u64, visit_i128: i128,
        visit_u128: u128, visit_f64: f64, visit_str: &str);

    fn visit_unit<E: serde::de::Error>(self) -> Result<(), E> {
        self.0.spend()
    }

    fn visit_none<E: serde::de::Error>(self) -> Result<(), E> {
        self.0.spend()
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        self.0.spend()?;
        d.deserialize_any(self)
    }

    fn visit_newtype_struct<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        self.0.spend()?;
        d.deserialize_any(self)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        self.0.spend()?;
        while seq.next_element_seed(Node(self.0))?.is_some() {}
        Ok(())
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        self.0.spend()?;
        while map.next_entry_seed(Node(self.0), Node(self.0))?.is_some() {}
        Ok(())
    }

    fn visit_enum<A: serde::de::EnumAccess<'de>>(self, data: A) -> Result<(), A::Error> {
        use serde::de::VariantAccess;
        self.0.spend()?;
        let ((), variant) = data.variant_seed(Node(self.0))?;
        variant.newtype_variant_seed(Node(self.0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn depth_error(text: &str) -> Option<(usize, usize)> {
        flow_depth_exceeded(text, 3)
    }

    #[test]
    fn flow_nesting_is_counted_where_the_parser_sees_it() {
        assert_eq!(depth_error("a: [[[x]]]\n"), None);
        assert_eq!(depth_error("a: [[[[x]]]]\n"), Some((1, 7)));
        assert_eq!(depth_error("a:\n  - {b: [{c: [d]}]}\n"), Some((2, 14)));
        // Quoted scalars, plain scalars, comments and block scalars hold no collections.
        assert_eq!(depth_error("a: \"[[[[\" # [[[[\nb: x[[[[\n"), None);
        assert_eq!(depth_error("a: |\n  [[[[\n  [[[[\nb: 1\n"), None);
        assert_eq!(
            depth_error("- 'it''s [[[['\n- [\"]]]]\", [[[x]]]]\n"),
            Some((2, 14))
        );
    }

    #[test]
    fn quotes_inside_flow_plain_scalars_do_not_hide_nesting() {
        // `a "x` and `a:"x` are plain scalars: the quote opens nothing.
        assert_eq!(depth_error("[a \"x, [[[y]]]]\n"), Some((1, 10)));
        assert_eq!(depth_error("[a:\"x, [[[y]]]]\n"), Some((1, 10)));
        assert_eq!(depth_error("--- [[[[x]]]]\n"), Some((1, 8)));
        assert_eq!(depth_error("[a\n \"x, [[[y]]]]\n"), Some((2, 8)));
        assert_eq!(depth_error("k: a\n  \"x\nb: [[[[y]]]]\n"), Some((3, 7)));
    }

    #[test]
    fn a_billion_laughs_is_refused_at_the_alias_that_spends_the_budget() {
        let mut text = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 1..10 {
            let aliases = vec![format!("*a{}", i - 1); 10].join(", ");
            text.push_str(&format!("a{i}: &a{i} [{aliases}]\n"));
        }
        let e = check(&text).expect_err("refused");
        assert!(e.what.contains("aliases expand"), "{e}");
        // Placed inside the anchored node whose expansion spent the budget.
        assert_eq!((e.line, e.column), (1, 31), "{e}");
        // The same anchors used once each are fine.
        assert_eq!(check("a: &a [x, y]\nb: *a\n"), Ok(()));
    }
}

/// A parse error of serde_yaml_ng as a 1-based place (when it has one) and its message, the
/// message without the " at line L column C" serde appends (the place goes in front instead) and
/// with a suggestion for a misspelt key or variant.
pub fn describe(e: &serde_yaml_ng::Error) -> (Option<(usize, usize)>, String) {
    let mut message = e.to_string();
    let place = e.location().map(|l| (l.line(), l.column()));
    if let Some((line, column)) = place {
        let tail = format!(" at line {line} column {column}");
        if let Some(at) = message.rfind(&tail) {
            message.replace_range(at..at + tail.len(), "");
        }
    }
    (place, with_suggestion(&message))
}

/// Adds "did you mean" to serde's "unknown field `x`, expected one of …" and "unknown variant
/// `x`, expected one of …" messages.
pub fn with_suggestion(message: &str) -> String {
    let Some(rest) = ["unknown field `", "unknown variant `"]
        .iter()
        .find_map(|prefix| message.split(prefix).nth(1))
    else {
        return message.to_string();
    };
    let found = rest.split('`').next().unwrap_or("");
    let candidates: Vec<&str> = message
        .split("expected ")
        .nth(1)
        .map(|list| list.split('`').skip(1).step_by(2).collect())
        .unwrap_or_default();
    match closest(found, candidates) {
        Some(best) => format!("{message} (did you mean `{best}`?)"),
        None => message.to_string(),
    }
}

/// The closest of `candidates` to `found`, if close enough to be a typo (Jaro-Winkler
/// similarity above 0.8).
pub fn closest<'a>(found: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    candidates
        .into_iter()
        .map(|c| (strsim::jaro_winkler(found, c), c))
        .filter(|(score, _)| *score > 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, c)| c)
}
