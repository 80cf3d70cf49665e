//! Where in a scenario file an error found after parsing comes from. A setup is checked after
//! the shared `setup:`, the case's and the variant's overrides are merged, so the decoder's
//! message names no place; [`locate`] finds the key or value it names in the file and says which
//! section holds it (`setup`, a case or a variant), with its line and column. [`value_at`] places
//! the value at a key path (`properties[2].name`, a model's `domains[1].name`).

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

/// One step of a key path: a mapping key or a sequence index.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Step {
    /// The value of this key in a mapping.
    Key(String),
    /// The element at this index (0-based) of a sequence.
    Index(usize),
}

impl Step {
    /// The value of `key`.
    pub fn key(key: &str) -> Step {
        Step::Key(key.to_string())
    }
}

/// Parses a key path as setup messages begin with it: keys joined by dots, each optionally
/// followed by indices (`domains[1].name`). `None` when `text` is not one.
pub fn parse_path(text: &str) -> Option<Vec<Step>> {
    let mut path = Vec::new();
    for segment in text.split('.') {
        let (key, mut indices) = segment.split_once('[').map_or((segment, ""), |(k, rest)| {
            (k, &segment[k.len()..][..rest.len() + 1])
        });
        if key.is_empty()
            || !key
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
        {
            return None;
        }
        path.push(Step::key(key));
        while !indices.is_empty() {
            let (index, rest) = indices.strip_prefix('[')?.split_once(']')?;
            path.push(Step::Index(index.parse().ok()?));
            indices = rest;
        }
    }
    Some(path)
}

/// Where the value at `path` stands in the YAML `text`: its 1-based line and column, as the YAML
/// parser places it (flow and block style alike). `None` when the document has no such value.
pub fn value_at(text: &str, path: &[Step]) -> Option<(usize, usize)> {
    let de = serde_yaml_ng::Deserializer::from_str(text);
    match serde::de::DeserializeSeed::deserialize(seek::Seek(path), de) {
        Err(e) if e.to_string().contains(seek::FOUND) => {
            e.location().map(|l| (l.line(), l.column()))
        }
        _ => None,
    }
}

/// Walks a YAML document along a key path and fails, on purpose, at the value it leads to: the
/// parser then gives that failure the value's place.
mod seek {
    use super::Step;
    use serde::de::{
        DeserializeSeed, Deserializer, Error, IgnoredAny, MapAccess, SeqAccess, Visitor,
    };
    use std::fmt;

    /// The message of the purposeful failure.
    pub const FOUND: &str = "(the value sought)";

    pub struct Seek<'p>(pub &'p [Step]);

    impl Seek<'_> {
        fn scalar<E: Error>(self) -> Result<(), E> {
            match self.0 {
                [] => Err(E::custom(FOUND)),
                _ => Ok(()),
            }
        }
    }

    impl<'de> DeserializeSeed<'de> for Seek<'_> {
        type Value = ();
        fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
            d.deserialize_any(self)
        }
    }

    impl<'de> Visitor<'de> for Seek<'_> {
        type Value = ();
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("any YAML value")
        }
        fn visit_bool<E: Error>(self, _: bool) -> Result<(), E> {
            self.scalar()
        }
        fn visit_i64<E: Error>(self, _: i64) -> Result<(), E> {
            self.scalar()
        }
        fn visit_u64<E: Error>(self, _: u64) -> Result<(), E> {
            self.scalar()
        }
        fn visit_f64<E: Error>(self, _: f64) -> Result<(), E> {
            self.scalar()
        }
        fn visit_str<E: Error>(self, _: &str) -> Result<(), E> {
            self.scalar()
        }
        fn visit_unit<E: Error>(self) -> Result<(), E> {
            self.scalar()
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
            match self.0.split_first() {
                None => return Err(A::Error::custom(FOUND)),
                Some((Step::Index(i), rest)) => {
                    let mut n = 0;
                    while n < *i && seq.next_element::<IgnoredAny>()?.is_some() {
                        n += 1;
                    }
                    if n == *i {
                        seq.next_element_seed(Seek(rest))?;
                    }
                }
                Some((Step::Key(_), _)) => {}
            }
            while seq.next_element::<IgnoredAny>()?.is_some() {}
            Ok(())
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
            let (key, rest) = match self.0.split_first() {
                None => return Err(A::Error::custom(FOUND)),
                Some((Step::Key(key), rest)) => (Some(key), rest),
                Some((Step::Index(_), rest)) => (None, rest),
            };
            while let Some(k) = map.next_key::<serde_yaml_ng::Value>()? {
                let name = match &k {
                    serde_yaml_ng::Value::String(s) => Some(s.clone()),
                    serde_yaml_ng::Value::Number(n) => Some(n.to_string()),
                    serde_yaml_ng::Value::Bool(b) => Some(b.to_string()),
                    _ => None,
                };
                if key.is_some() && name.as_ref() == key {
                    map.next_value_seed(Seek(rest))?;
                } else {
                    map.next_value::<IgnoredAny>()?;
                }
            }
            Ok(())
        }
    }
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
    fn key_paths_parse_with_indices() {
        let path = parse_path("domains[1].name").expect("a path");
        assert_eq!(
            path,
            [Step::key("domains"), Step::Index(1), Step::key("name")]
        );
        assert_eq!(parse_path("a[0][2]").map(|p| p.len()), Some(3));
        for not in ["the name `A`", "", "a..b", "a[x]", "a[1"] {
            assert_eq!(parse_path(not), None, "{not}");
        }
    }

    #[test]
    fn values_are_found_by_key_path_in_block_and_flow_style() {
        let at = |path: &str| value_at(TEXT, &parse_path(path).expect("a path"));
        assert_eq!(at("setup.domains[0].name"), Some((4, 14)));
        assert_eq!(at("setup.domains[0].guest_polcy"), Some((4, 30)));
        assert_eq!(at("cases.one.timeouts"), Some((7, 15)));
        assert_eq!(at("variants.v"), Some((9, 6)));
        assert_eq!(at("variants.v.jobs"), Some((9, 13)));
        assert_eq!(at("setup.domains[1]"), None);
        assert_eq!(at("setup.threads"), None);
        assert_eq!(value_at("a: [x\nb: 1\n", &[Step::key("b")]), None);
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
