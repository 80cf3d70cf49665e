//! Where in a scenario file a setup error comes from. A setup is checked after the shared
//! `setup:`, the case's and the variant's overrides are merged, so the decoder's message names
//! no place; this finds the key or value it names in the file and says which section holds it
//! (`setup`, a case or a variant), with its line and column.

/// A place in the file: 1-based line and column, and the section that holds it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Place {
    /// 1-based line.
    pub line: usize,
    /// 1-based column.
    pub column: usize,
    /// `setup`, ``case `X` `` or ``variant `V` ``.
    pub section: String,
}

/// The token a decoder message names: the field of ``unknown field `x` ``, or the value of
/// ``unknown variant `y` ``.
fn named_token(message: &str) -> Option<(&str, bool)> {
    let quoted = |prefix: &str| {
        let rest = &message[message.find(prefix)? + prefix.len()..];
        rest.split('`').next()
    };
    if let Some(field) = quoted("unknown field `") {
        return Some((field, true));
    }
    quoted("unknown variant `").map(|v| (v, false))
}

/// Where a token stands on a line as a key (`token:`) or as a value (a whole word).
fn column_of(line: &str, token: &str, key: bool) -> Option<usize> {
    let bytes = line.as_bytes();
    let mut from = 0;
    while let Some(i) = line[from..].find(token).map(|i| i + from) {
        let before_ok = i == 0 || !is_word(bytes[i - 1]);
        let after = &line[i + token.len()..];
        let after_ok = if key {
            after.trim_start().starts_with(':')
        } else {
            after.bytes().next().is_none_or(|b| !is_word(b))
        };
        if before_ok && after_ok {
            return Some(i + 1);
        }
        from = i + token.len();
    }
    None
}

fn is_word(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b == b'-' || b == b'.'
}

/// The section of each line, in one pass (so that a long file costs linear time): the
/// top-level key above it, and for `cases:` and `variants:` the entry's name.
struct Sections<'a> {
    top: Option<&'a str>,
    entry: Option<&'a str>,
}

impl<'a> Sections<'a> {
    /// Takes in the next line and returns its section.
    fn next(&mut self, l: &'a str) -> Option<String> {
        let key = |l: &'a str| {
            l.trim()
                .split(':')
                .next()
                .unwrap_or_default()
                .trim_matches(|c| c == '"' || c == '\'')
        };
        if !(l.trim().is_empty() || l.trim_start().starts_with('#')) {
            match l.len() - l.trim_start().len() {
                0 => (self.top, self.entry) = (Some(key(l)), None),
                2 => self.entry = Some(key(l)),
                _ => {}
            }
        }
        Some(match (self.top?, self.entry) {
            ("cases", Some(e)) => format!("case `{e}`"),
            ("variants", Some(e)) => format!("variant `{e}`"),
            (top, _) => top.to_string(),
        })
    }
}

/// The place of the token `message` names, preferring one in `sections` (in order: the
/// sections merged into the failing setup, e.g. the variant, the case, `setup`).
pub fn locate(text: &str, message: &str, sections: &[String]) -> Option<Place> {
    let (token, key) = named_token(message)?;
    let mut section_of = Sections {
        top: None,
        entry: None,
    };
    let found: Vec<Place> = text
        .lines()
        .enumerate()
        .filter_map(|(n, l)| {
            let section = section_of.next(l);
            let column = column_of(l, token, key)?;
            Some(Place {
                line: n + 1,
                column,
                section: section?,
            })
        })
        .collect();
    sections
        .iter()
        .find_map(|s| found.iter().find(|p| p.section == *s))
        .or_else(|| found.first())
        .cloned()
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = "name: x\nsetup:\n  domains:\n    - {name: A, guest_polcy: first}\ncases:\n  one:\n    timeouts: rase\nvariants:\n  v: {jobs: splt}\n";

    #[test]
    fn a_typo_in_the_shared_setup_is_placed_there() {
        let p = locate(
            TEXT,
            "unknown field `guest_polcy`, expected one of `name`",
            &["variant `v`".into(), "case `one`".into(), "setup".into()],
        )
        .expect("found");
        assert_eq!((p.line, p.column, p.section.as_str()), (4, 17, "setup"));
    }

    #[test]
    fn values_are_placed_in_their_case_or_variant() {
        let p = locate(TEXT, "unknown variant `rase`, expected", &[]).expect("found");
        assert_eq!((p.line, p.section.as_str()), (7, "case `one`"));
        let p = locate(TEXT, "unknown variant `splt`, expected", &[]).expect("found");
        assert_eq!(
            (p.line, p.column, p.section.as_str()),
            (9, 13, "variant `v`")
        );
    }
}
