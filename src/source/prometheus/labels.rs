//! A series' label set as a range answer gives it: a sorted list, not a hash map.
//!
//! A tick at 10,000 SLOs decodes some 45,000 series; a `HashMap` per series (SipHash, a table
//! allocation, then a sorted copy to find duplicates) cost more than the samples themselves. A
//! sorted `Vec` is one allocation, its duplicate check is a sort of references, and the few
//! look-ups (the batch label) are a binary search.

use serde::Deserialize;
use serde::de::{MapAccess, Visitor};
use std::fmt;

/// Label names and values, sorted by name, each name once.
#[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Labels(Vec<(String, String)>);

impl Labels {
    /// The value of label `name`, if the series has it.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .binary_search_by(|(k, _)| k.as_str().cmp(name))
            .ok()
            .map(|i| self.0[i].1.as_str())
    }

    /// How many labels there are.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether the series has no label at all (an aggregation without `by`).
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl FromIterator<(String, String)> for Labels {
    fn from_iter<I: IntoIterator<Item = (String, String)>>(iter: I) -> Self {
        let mut v: Vec<(String, String)> = iter.into_iter().collect();
        v.sort_unstable();
        v.dedup_by(|a, b| a.0 == b.0);
        Labels(v)
    }
}

impl fmt::Display for Labels {
    /// PromQL's own form, `{a="1",b="2"}`, for messages.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("{")?;
        for (i, (k, v)) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            write!(f, "{k}=\"{v}\"")?;
        }
        f.write_str("}")
    }
}

impl<'de> Deserialize<'de> for Labels {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visit;
        impl<'de> Visitor<'de> for Visit {
            type Value = Labels;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an object of label names and string values")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Labels, A::Error> {
                let mut v: Vec<(String, String)> = Vec::with_capacity(map.size_hint().unwrap_or(8));
                while let Some(pair) = map.next_entry::<String, String>()? {
                    v.push(pair);
                }
                v.sort_unstable_by(|a, b| a.0.cmp(&b.0));
                if let Some(w) = v.windows(2).find(|w| w[0].0 == w[1].0) {
                    return Err(serde::de::Error::custom(format!(
                        "label `{}` given twice in one series",
                        w[0].0
                    )));
                }
                Ok(Labels(v))
            }
        }
        d.deserialize_map(Visit)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_read_sorted_and_look_up_by_name() {
        let l: Labels = serde_json::from_str(r#"{"job":"api","__name__":"up","code":"500"}"#)
            .unwrap_or_default();
        assert_eq!(l.len(), 3);
        assert_eq!(l.get("code"), Some("500"));
        assert_eq!(l.get("job"), Some("api"));
        assert_eq!(l.get("le"), None);
        assert_eq!(l.to_string(), r#"{__name__="up",code="500",job="api"}"#);
        assert!(serde_json::from_str::<Labels>(r#"{"a":"1","a":"2"}"#).is_err());
        assert!(serde_json::from_str::<Labels>("{}").is_ok_and(|l| l.is_empty()));
    }
}
