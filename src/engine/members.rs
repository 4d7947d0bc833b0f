//! Which members each grouped SLO follows, and since when each was last seen: the state behind
//! `group_by`. Pure: the engine asks the source which values exist ([`crate::source::groups`])
//! and hands the answer to [`Members::observe`], which admits new values up to `max_groups`,
//! refreshes the ones seen and retires the ones unseen for longer than the definition's longest
//! period (by then none of its budgets holds any of their events). It is kept in the store, so
//! a restart neither forgets a member that paused nor backfills one it had retired.

use crate::config::Slo;
use crate::config::group::Values;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// One member and the last evaluation at which its series were found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Seen {
    /// Its values of the group labels.
    pub values: Values,
    /// Unix seconds.
    pub last: i64,
}

/// One definition's members (what the store keeps) and what its last look found.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Group {
    /// Members followed, sorted by their values.
    pub members: Vec<Seen>,
    /// Values found at the last look that `max_groups` kept out.
    #[serde(skip)]
    pub dropped: usize,
    /// When the store last got this group's record (the engine refreshes it hourly, so `last`
    /// survives a restart to within the hour).
    #[serde(skip)]
    pub stored_at: i64,
}

/// What one look changed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Outcome {
    /// Values followed from now on (to backfill).
    pub added: Vec<Values>,
    /// Values no longer followed: unseen for longer than the longest period, or of labels the
    /// definition no longer groups by.
    pub retired: Vec<Values>,
    /// Values found but not followed, `max_groups` being reached.
    pub dropped: usize,
}

impl Outcome {
    /// Whether the set of members changed, so the engine must re-expand the config.
    pub fn changed(&self) -> bool {
        !self.added.is_empty() || !self.retired.is_empty()
    }
}

/// Every grouped definition's members, by definition id.
#[derive(Debug, Clone, Default)]
pub struct Members {
    groups: BTreeMap<String, Group>,
}

impl Members {
    /// Whether anything is known of this definition yet (its first look asks over its whole
    /// longest period, so members quiet right now but inside the budget are not missed).
    pub fn knows(&self, id: &str) -> bool {
        self.groups.contains_key(id)
    }

    /// The members of a definition, sorted by their values.
    pub fn of(&self, id: &str) -> Vec<Values> {
        self.groups
            .get(id)
            .map(|g| g.members.iter().map(|s| s.values.clone()).collect())
            .unwrap_or_default()
    }

    /// One definition's state.
    pub fn group(&self, id: &str) -> Option<&Group> {
        self.groups.get(id)
    }

    /// Restores a definition's state from the store.
    pub fn load(&mut self, id: &str, bytes: &[u8]) -> Result<(), String> {
        let g: Group = serde_json::from_slice(bytes).map_err(|e| e.to_string())?;
        self.groups.insert(id.to_string(), g);
        Ok(())
    }

    /// A definition's record for the store, noting when it was written.
    pub fn encode(&mut self, id: &str, at: i64) -> Option<Vec<u8>> {
        let g = self.groups.get_mut(id)?;
        g.stored_at = at;
        serde_json::to_vec(g).ok()
    }

    /// Forgets the definitions `keep` refuses (removed from the file); their ids, for the store.
    pub fn retain(&mut self, keep: impl Fn(&str) -> bool) -> Vec<String> {
        let gone: Vec<String> = self.groups.keys().filter(|id| !keep(id)).cloned().collect();
        for id in &gone {
            self.groups.remove(id);
        }
        gone
    }

    /// Takes one look's answer for `def` at `at`: refreshes the members found, admits new
    /// values (in sorted order) while fewer than `max_groups` are followed, retires members
    /// unseen for longer than the longest period.
    pub fn observe(&mut self, def: &Slo, found: Vec<Values>, at: i64) -> Outcome {
        let Some(by) = &def.group_by else {
            return Outcome::default();
        };
        let keep_for = def.longest_period().as_secs() as i64;
        let found: BTreeSet<Values> = found
            .iter()
            .map(|v| crate::config::group::values_of(def, v))
            .collect();
        let g = self.groups.entry(def.id.clone()).or_default();
        let mut out = Outcome::default();
        let labels: BTreeSet<&String> = by.labels.iter().collect();
        g.members.retain(|s| {
            let same_labels = s.values.keys().collect::<BTreeSet<_>>() == labels;
            let fresh = found.contains(&s.values) || s.last >= at - keep_for;
            if !(same_labels && fresh) {
                out.retired.push(s.values.clone());
            }
            same_labels && fresh
        });
        for s in &mut g.members {
            if found.contains(&s.values) {
                s.last = at;
            }
        }
        for v in found {
            if g.members.iter().any(|s| s.values == v) {
                continue;
            }
            if g.members.len() >= by.max {
                out.dropped += 1;
                continue;
            }
            out.added.push(v.clone());
            g.members.push(Seen {
                values: v,
                last: at,
            });
        }
        g.members.sort_by(|a, b| a.values.cmp(&b.values));
        g.dropped = out.dropped;
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn def(max: usize) -> Slo {
        let yaml = format!(
            "slos:\n  - service: api\n    name: avail\n    objective: 99\n    windows: [7d]\n    group_by: [route]\n    max_groups: {max}\n    sli: {{ratio: {{errors: e_total, total: t_total}}}}\n"
        );
        let c = crate::config::parse_str(&yaml, "slo.yaml", &|_| None).expect("valid");
        c.slos[0].clone()
    }

    fn v(route: &str) -> Values {
        [("route".to_string(), route.to_string())]
            .into_iter()
            .collect()
    }

    #[test]
    fn members_are_admitted_up_to_the_cap_and_retired_after_the_longest_period() {
        let d = def(2);
        let mut m = Members::default();
        assert!(!m.knows("api/avail"));
        let o = m.observe(&d, vec![v("/b"), v("/a"), v("/c")], 1000);
        assert_eq!(
            o.added,
            vec![v("/a"), v("/b")],
            "sorted, first two admitted"
        );
        assert_eq!(o.dropped, 1);
        assert_eq!(m.of("api/avail"), vec![v("/a"), v("/b")]);
        // /a disappears; /c still cannot get in while /a is kept.
        let o = m.observe(&d, vec![v("/b"), v("/c")], 1000 + 86400);
        assert!(!o.changed());
        assert_eq!(o.dropped, 1);
        // A week after its last sighting /a is retired, and /c takes the free place.
        let o = m.observe(&d, vec![v("/b"), v("/c")], 1001 + 7 * 86400);
        assert_eq!(o.retired, vec![v("/a")]);
        assert_eq!(o.added, vec![v("/c")]);
        assert_eq!(o.dropped, 0);
        assert_eq!(m.of("api/avail"), vec![v("/b"), v("/c")]);
    }

    #[test]
    fn the_record_survives_the_store_and_a_changed_label_set_retires_the_old_members() {
        let d = def(10);
        let mut m = Members::default();
        m.observe(&d, vec![v("/a"), BTreeMap::new()], 50);
        assert_eq!(
            m.of("api/avail"),
            vec![v(""), v("/a")],
            "no label reads as empty"
        );
        let bytes = m.encode("api/avail", 50).expect("encodes");
        let mut back = Members::default();
        back.load("api/avail", &bytes).expect("decodes");
        assert_eq!(back.of("api/avail"), m.of("api/avail"));
        let mut other = d.clone();
        if let Some(g) = &mut other.group_by {
            g.labels = vec!["code".into()];
        }
        let o = back.observe(&other, vec![], 60);
        assert_eq!(o.retired.len(), 2);
        assert!(back.of("api/avail").is_empty());
        assert_eq!(back.retain(|_| false), vec!["api/avail".to_string()]);
    }
}
