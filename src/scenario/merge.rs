//! Variants and cases are setup overrides: a deep merge of YAML mappings (sequences and
//! scalars replace what they override).

use serde_yaml_ng::Value;

/// Merges `over` into `base`.
pub fn deep_merge(base: &mut Value, over: &Value) {
    match (base, over) {
        (Value::Mapping(b), Value::Mapping(o)) => {
            for (k, v) in o {
                match b.get_mut(k) {
                    Some(existing) => deep_merge(existing, v),
                    None => {
                        b.insert(k.clone(), v.clone());
                    }
                }
            }
        }
        (b, o) => *b = o.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mappings_merge_and_the_rest_replaces() {
        let mut base: Value = serde_yaml_ng::from_str("a: 1\nb: {c: 2, d: [1, 2]}").unwrap();
        let over: Value = serde_yaml_ng::from_str("b: {d: [3]}\ne: x").unwrap();
        deep_merge(&mut base, &over);
        let want: Value = serde_yaml_ng::from_str("a: 1\nb: {c: 2, d: [3]}\ne: x").unwrap();
        assert_eq!(base, want);
    }
}
