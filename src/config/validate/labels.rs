//! An SLO's `labels:`. Their keys become label names on `slo_info` and on the alerts posted to
//! Alertmanager ([`names::label_name`]: `team-name` → `team_name`), so two keys that map to one
//! name, or a key that maps to a label slowburn sets itself, are refused here: Prometheus
//! refuses a whole scrape that repeats a label name, losing every `slo_*` series of every SLO.

use super::*;
use crate::names;

/// The SLO's labels as written; an error at each key whose label name is taken.
pub(super) fn slo_labels(
    cx: &mut Ctx,
    raw: &Keyed<String>,
    path: &str,
) -> BTreeMap<String, String> {
    let mut taken: HashMap<String, &SStr> = HashMap::new();
    let mut out = BTreeMap::new();
    for (key, value) in &raw.0 {
        let name = names::label_name(&key.value);
        let kpath = format!("{path}.{}", key.value);
        if names::RESERVED_LABELS.contains(&name.as_str()) {
            cx.err(
                &key.referenced,
                kpath,
                format!(
                    "label key `{}` becomes `{name}`, a label slowburn sets itself on slo_info and on alerts ({}); choose another key",
                    key.value,
                    names::RESERVED_LABELS.join(", ")
                ),
            );
        } else if let Some(first) = taken.get(&name) {
            cx.err(
                &key.referenced,
                kpath,
                format!(
                    "label keys `{}` (line {}) and `{}` both become the label name `{name}` (label names keep only letters, digits and `_`): slo_info would carry it twice and Prometheus refuses such a scrape; rename one",
                    first.value,
                    first.referenced.line(),
                    key.value
                ),
            );
        } else {
            taken.insert(name, key);
        }
        out.insert(key.value.clone(), value.clone());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::super::errors_of;

    fn with_labels(labels: &str) -> Vec<String> {
        errors_of(&format!(
            "slos:\n  - service: api\n    name: avail\n    objective: 99.9\n    labels: {labels}\n    sli: {{ratio: {{errors: e_total, total: t_total}}}}\n"
        ))
    }

    #[test]
    fn keys_that_become_one_label_name_are_refused_at_the_second() {
        assert!(with_labels("{team-name: a, tier: \"1\"}").is_empty());
        let e = with_labels("{team-name: a, team.name: b}");
        assert_eq!(e.len(), 1, "{e:?}");
        assert!(
            e[0].starts_with("t.yaml:5:28: slos[0].labels.team.name: label keys `team-name` (line 5) and `team.name` both become the label name `team_name`"),
            "{e:?}"
        );
        let e = errors_of(
            "slos:\n  - service: api\n    name: avail\n    objective: 99.9\n    labels:\n      app/part: a\n      app_part: b\n    sli: {ratio: {errors: e_total, total: t_total}}\n",
        );
        assert!(
            e.len() == 1 && e[0].starts_with("t.yaml:7:7: slos[0].labels.app_part:"),
            "{e:?}"
        );
    }

    #[test]
    fn keys_that_become_a_label_slowburn_sets_are_refused() {
        for key in ["service", "slo", "severity", "alertname", "queries"] {
            let e = with_labels(&format!("{{{key}: x}}"));
            assert!(
                e.len() == 1 && e[0].contains("a label slowburn sets itself"),
                "{key}: {e:?}"
            );
        }
        assert!(with_labels("{alert-name: x, Service: y}").is_empty());
    }
}
