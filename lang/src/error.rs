//! Load-time errors placed at file, line and column, and how places are found in the YAML text.

use std::fmt;

/// One error in a model file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diagnostic {
    /// The file as the user named it.
    pub file: String,
    /// 1-based line.
    pub line: usize,
    /// 1-based column.
    pub column: usize,
    /// What is wrong, for people.
    pub message: String,
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}:{}: {}",
            self.file, self.line, self.column, self.message
        )
    }
}

impl std::error::Error for Diagnostic {}

/// Finds places in the source text. serde gives values without positions, so a place is found
/// by its anchors: words searched for in order, each after the previous one (a section key,
/// an actor's name, a step's label, then the expression's own text).
pub struct Locator<'a> {
    file: &'a str,
    text: &'a str,
}

impl<'a> Locator<'a> {
    /// A locator over `text`, naming `file` in its diagnostics.
    pub fn new(file: &'a str, text: &'a str) -> Self {
        Locator { file, text }
    }

    /// The diagnostic for `message` at the last anchor found, moved `inner` bytes into it when
    /// the last anchor (an expression's text) was found itself.
    pub fn at(&self, anchors: &[&str], inner: usize, message: String) -> Diagnostic {
        self.at_from(0, anchors, inner, message)
    }

    /// As [`Locator::at`], searching from byte `from` (a step's start) on.
    pub fn at_from(
        &self,
        from: usize,
        anchors: &[&str],
        inner: usize,
        message: String,
    ) -> Diagnostic {
        let (mut offset, found_last) = self.find(from, anchors);
        if found_last {
            offset += inner.min(anchors.last().map_or(0, |a| a.len()));
        }
        let before = &self.text[..offset.min(self.text.len())];
        let line = before.matches('\n').count() + 1;
        let column = before.len() - before.rfind('\n').map_or(0, |i| i + 1) + 1;
        Diagnostic {
            file: self.file.to_string(),
            line,
            column,
            message,
        }
    }

    /// The byte offset of the last anchor found searching from `from` (each after the one
    /// before; an anchor not found is skipped), and whether it is the last of `anchors`.
    pub fn find(&self, from: usize, anchors: &[&str]) -> (usize, bool) {
        let mut offset = from.min(self.text.len());
        let mut found_last = false;
        for (n, anchor) in anchors.iter().enumerate() {
            match self.text.get(offset..).and_then(|rest| rest.find(anchor)) {
                Some(i) => {
                    offset += i;
                    found_last = n + 1 == anchors.len();
                    if !found_last {
                        offset += anchor.len();
                    }
                }
                None => found_last = false,
            }
        }
        (offset, found_last)
    }
}

/// "; did you mean `x`?" for the closest of `candidates` to `name`, if one is close.
pub fn suggestion<'a>(name: &str, candidates: impl IntoIterator<Item = &'a str>) -> String {
    sim::yaml::closest(name, candidates)
        .map(|c| format!("; did you mean `{c}`?"))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn anchors_are_found_in_order() {
        let text = "actors:\n  a:\n    program:\n      - label: x\n        when: \"y && z\"\n";
        let d =
            Locator::new("m.yaml", text).at(&["actors:", "label: x", "y && z"], 5, "bad".into());
        assert_eq!((d.line, d.column), (5, 21));
        assert_eq!(d.to_string(), "m.yaml:5:21: bad");
        assert_eq!(
            suggestion("kernl", ["kernel", "switch"]),
            "; did you mean `kernel`?"
        );
        assert_eq!(suggestion("q", ["kernel"]), "");
    }
}
