//! A series' label set as a range answer gives it: one packed text, not a map of strings.
//!
//! A tick at 10,000 SLOs decodes some 25,000 series; a `HashMap` per series (SipHash, a table
//! allocation, then a sorted copy to find duplicates) cost more than the samples themselves, and
//! then a sorted `Vec` of `(String, String)` still cost two allocations a label. Here a series'
//! names and values sit end to end in one string, sorted by name, with their end offsets beside:
//! one allocation a series (the offsets, and the pairs while sorted, sit inline up to eight
//! labels). Equal label sets pack to equal bytes, so comparing, ordering and hashing the packed
//! form is comparing the sets; the few look-ups (the batch label) are a binary search.

use serde::Deserialize;
use serde::de::{MapAccess, Visitor};
use smallvec::SmallVec;
use std::borrow::Cow;
use std::fmt;

/// Label names and values, sorted by name, each name once.
#[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Labels {
    /// Name, value, name, value, … end to end.
    text: String,
    /// Where each name and each value ends in `text`: `2 × len` offsets (inline up to eight
    /// labels, so most series cost one allocation).
    ends: SmallVec<[u32; 16]>,
}

impl Labels {
    /// The value of label `name`, if the series has it.
    pub fn get(&self, name: &str) -> Option<&str> {
        let (mut lo, mut hi) = (0, self.len());
        while lo < hi {
            let mid = (lo + hi) / 2;
            let (k, v) = self.pair(mid);
            match k.cmp(name) {
                std::cmp::Ordering::Equal => return Some(v),
                std::cmp::Ordering::Less => lo = mid + 1,
                std::cmp::Ordering::Greater => hi = mid,
            }
        }
        None
    }

    /// How many labels there are.
    pub fn len(&self) -> usize {
        self.ends.len() / 2
    }

    /// Whether the series has no label at all (an aggregation without `by`).
    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    /// The `i`-th name and value in name order.
    fn pair(&self, i: usize) -> (&str, &str) {
        let start = if i == 0 {
            0
        } else {
            self.ends[2 * i - 1] as usize
        };
        let mid = self.ends[2 * i] as usize;
        let end = self.ends[2 * i + 1] as usize;
        (&self.text[start..mid], &self.text[mid..end])
    }

    /// Packs pairs already sorted by name, each name once.
    fn pack<K: AsRef<str>, V: AsRef<str>>(sorted: &[(K, V)]) -> Self {
        let bytes: usize = sorted
            .iter()
            .map(|(k, v)| k.as_ref().len() + v.as_ref().len())
            .sum();
        let mut text = String::with_capacity(bytes);
        let mut ends = SmallVec::with_capacity(2 * sorted.len());
        for (k, v) in sorted {
            text.push_str(k.as_ref());
            ends.push(text.len() as u32);
            text.push_str(v.as_ref());
            ends.push(text.len() as u32);
        }
        Labels { text, ends }
    }
}

impl FromIterator<(String, String)> for Labels {
    fn from_iter<I: IntoIterator<Item = (String, String)>>(iter: I) -> Self {
        let mut v: Vec<(String, String)> = iter.into_iter().collect();
        v.sort_unstable();
        v.dedup_by(|a, b| a.0 == b.0);
        Labels::pack(&v)
    }
}

impl fmt::Display for Labels {
    /// PromQL's own form, `{a="1",b="2"}`, for messages.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("{")?;
        for i in 0..self.len() {
            if i > 0 {
                f.write_str(",")?;
            }
            let (k, v) = self.pair(i);
            write!(f, "{k}=\"{v}\"")?;
        }
        f.write_str("}")
    }
}

/// A name or value borrowed from the answer's bytes when it holds no escape.
struct Text<'de>(Cow<'de, str>);

impl<'de> Deserialize<'de> for Text<'de> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visit;
        impl<'de> Visitor<'de> for Visit {
            type Value = Text<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E: serde::de::Error>(self, v: &'de str) -> Result<Text<'de>, E> {
                Ok(Text(Cow::Borrowed(v)))
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Text<'de>, E> {
                Ok(Text(Cow::Owned(v.to_owned())))
            }
        }
        d.deserialize_str(Visit)
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
                // On the stack for up to eight labels: 25,000 series a tick.
                let mut v: SmallVec<[(Cow<'de, str>, Cow<'de, str>); 8]> =
                    SmallVec::with_capacity(map.size_hint().unwrap_or(8));
                while let Some((Text(k), Text(v2))) = map.next_entry::<Text, Text>()? {
                    v.push((k, v2));
                }
                // Prometheus writes them sorted already; sorting is then one pass.
                v.sort_unstable_by(|a, b| a.0.cmp(&b.0));
                if let Some(w) = v.windows(2).find(|w| w[0].0 == w[1].0) {
                    return Err(serde::de::Error::custom(format!(
                        "label `{}` given twice in one series",
                        w[0].0
                    )));
                }
                Ok(Labels::pack(&v))
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

    #[test]
    fn escaped_text_and_any_order_pack_to_the_same_set() {
        let a: Labels =
            serde_json::from_str(r#"{"z":"1","path":"/a\"b\u00e9","a":""}"#).unwrap_or_default();
        let b: Labels = [("a", ""), ("path", "/a\"bé"), ("z", "1")]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        assert_eq!(a, b);
        assert_eq!(a.len(), 3);
        assert_eq!(a.get("path"), Some("/a\"bé"));
        assert_eq!(a.get("a"), Some(""));
        assert_eq!(a.get("z"), Some("1"));
        assert_eq!(a.get("b"), None);
        let c: Labels = serde_json::from_str(r#"{"z":"1","a":"","path":"/a"}"#).unwrap_or_default();
        assert_ne!(a, c);
    }
}
