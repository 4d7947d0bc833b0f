//! Reading a [`CountSpec::fingerprint`] back: the store keeps only the fingerprint of every
//! definition version it holds, and a person looking at an old version wants its queries, not
//! the key. The reader lives beside the sli model so a change to the fingerprint's spelling fails
//! the round-trip test here rather than garbling the web UI.

use super::{Compare, CountSpec};

/// One counted side of a stored definition.
#[derive(Debug, Clone, PartialEq)]
pub struct Side {
    /// `good`, `bad` or `total`.
    pub role: &'static str,
    /// The source that answered it (mixed definitions only).
    pub source: Option<String>,
    /// The query text.
    pub query: String,
}

/// What a stored definition counted.
#[derive(Debug, Clone, PartialEq)]
pub enum Counted {
    /// Event counts: the sides that were given (two of good, bad and total).
    Events(Vec<Side>),
    /// Time slices of one query.
    Timeslice {
        /// The query.
        query: String,
        /// What made a slice good.
        good_when: Compare,
        /// The slice length as written (`5m`).
        slice: String,
    },
}

impl CountSpec {
    /// The definition behind a fingerprint, or `None` when it cannot be split (a query holding
    /// `|sel:` or `|expr:` where a side could start, or a kind or comparison this version does
    /// not write).
    pub fn read_fingerprint(fp: &str) -> Option<Counted> {
        let (kind, rest) = fp.split_once('|')?;
        match kind {
            "events" | "mixed" => {
                let mixed = kind == "mixed";
                // A side begins with `-`, `sel:`/`expr:`, or (mixed) `source:sel:`/`source:expr:`;
                // anything else after a `|` belongs to the query before it (LogQL's pipes).
                let starts = |t: &str| {
                    let t = match t.split_once(':') {
                        Some((src, q))
                            if mixed
                                && !src.is_empty()
                                && src.bytes().all(|b| b.is_ascii_lowercase())
                                && query_of(q).is_some() =>
                        {
                            q
                        }
                        _ => t,
                    };
                    t == "-" || query_of(t).is_some()
                };
                let mut sides: Vec<String> = Vec::new();
                for tok in rest.split('|') {
                    match sides.last_mut() {
                        Some(last) if !starts(tok) => {
                            last.push('|');
                            last.push_str(tok);
                        }
                        _ => sides.push(tok.to_string()),
                    }
                }
                if sides.len() != 3 {
                    return None;
                }
                let mut out = Vec::new();
                for (role, side) in ["good", "bad", "total"].into_iter().zip(&sides) {
                    if side == "-" {
                        continue;
                    }
                    let (source, q) = match side.split_once(':') {
                        Some((src, q)) if mixed => (Some(src.to_string()), q),
                        _ => (None, side.as_str()),
                    };
                    out.push(Side {
                        role,
                        source,
                        query: query_of(q)?.to_string(),
                    });
                }
                Some(Counted::Events(out))
            }
            "timeslice" => {
                let mut parts = rest.rsplitn(3, '|');
                let (slice, cmp, query) = (parts.next()?, parts.next()?, parts.next()?);
                Some(Counted::Timeslice {
                    query: query.to_string(),
                    good_when: read_compare(cmp)?,
                    slice: slice.to_string(),
                })
            }
            _ => None,
        }
    }
}

/// The query of one side's `sel:…` or `expr:…` spelling.
fn query_of(t: &str) -> Option<&str> {
    t.strip_prefix("sel:").or_else(|| t.strip_prefix("expr:"))
}

/// `Compare`'s `Debug` spelling, which the fingerprint uses: `Above(0.9)`, `Below(0.25)`.
fn read_compare(t: &str) -> Option<Compare> {
    let inner = |p: &str| t.strip_prefix(p)?.strip_suffix(')')?.parse::<f64>().ok();
    inner("Above(")
        .map(Compare::Above)
        .or_else(|| inner("Below(").map(Compare::Below))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::duration::Dur;
    use crate::sli::{EventQuery, Sided};

    #[test]
    fn every_kind_reads_back_what_it_wrote() {
        let events = CountSpec::Events {
            good: None,
            bad: Some(EventQuery::Selector(r#"x{code=~"5.."}"#.into())),
            total: Some(EventQuery::Expression("sum(increase(x[$window]))".into())),
        };
        assert_eq!(
            CountSpec::read_fingerprint(&events.fingerprint()),
            Some(Counted::Events(vec![
                Side {
                    role: "bad",
                    source: None,
                    query: r#"x{code=~"5.."}"#.into()
                },
                Side {
                    role: "total",
                    source: None,
                    query: "sum(increase(x[$window]))".into()
                },
            ]))
        );
        // LogQL's pipes stay inside their query.
        let logql = r#"{app="web"} |= "error" | json | level="error""#;
        let mixed = CountSpec::Mixed {
            good: None,
            bad: Some(Sided {
                source: crate::sli::SourceKind::Loki,
                query: EventQuery::Selector(logql.into()),
            }),
            total: Some(Sided {
                source: crate::sli::SourceKind::Prometheus,
                query: EventQuery::Selector("x".into()),
            }),
        };
        let Some(Counted::Events(sides)) = CountSpec::read_fingerprint(&mixed.fingerprint()) else {
            panic!("mixed reads back");
        };
        assert_eq!(
            sides,
            [
                Side {
                    role: "bad",
                    source: Some("loki".into()),
                    query: logql.into()
                },
                Side {
                    role: "total",
                    source: Some("prometheus".into()),
                    query: "x".into()
                },
            ]
        );
        for good_when in [Compare::Above(0.9), Compare::Below(0.25)] {
            let ts = CountSpec::Timeslice {
                query: "avg(up)".into(),
                good_when,
                slice: Dur::from_secs(300),
            };
            assert_eq!(
                CountSpec::read_fingerprint(&ts.fingerprint()),
                Some(Counted::Timeslice {
                    query: "avg(up)".into(),
                    good_when,
                    slice: "5m".into(),
                })
            );
        }
        // What this version cannot split is not guessed at.
        assert_eq!(CountSpec::read_fingerprint("something"), None);
        assert_eq!(CountSpec::read_fingerprint("events|a|b"), None);
        assert_eq!(CountSpec::read_fingerprint("other|-|sel:x|sel:y"), None);
    }
}
