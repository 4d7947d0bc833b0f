//! `alerting.policies` and per-SLO overrides, resolved over the built-in Workbook policy.

use super::*;

/// A named policy: the fields it sets over the built-in default.
#[derive(Debug, Clone, Default)]
pub struct PolicyPatch {
    rules: Option<Vec<Rule>>,
    min_events: Option<f64>,
    budget_ticket_below: Option<Option<f64>>,
    budget_exhausted: Option<Option<Severity>>,
    no_data_after: Option<Option<Dur>>,
    budget_drop: Option<crate::alert::policy::BudgetDrop>,
    exhaustion_within: Option<crate::alert::policy::ExhaustionWithin>,
}

impl PolicyPatch {
    fn apply(&self, p: &mut Policy) {
        if let Some(r) = &self.rules {
            p.rules = r.clone();
        }
        if let Some(m) = self.min_events {
            p.min_events = m;
        }
        if let Some(b) = self.budget_ticket_below {
            p.budget_ticket_below = b;
        }
        if let Some(b) = self.budget_exhausted {
            p.budget_exhausted = b;
        }
        if let Some(n) = self.no_data_after {
            p.no_data_after = n;
        }
        if let Some(d) = self.budget_drop {
            p.budget_drop = Some(d);
        }
        if let Some(e) = self.exhaustion_within {
            p.exhaustion_within = Some(e);
        }
    }
}

/// Which value of a burn-rate rule a [`RuleError`] is about: slo.yaml points at that value's
/// position, the try page at the rule's line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RuleField {
    /// `severity`.
    Severity,
    /// The long window.
    Long,
    /// The short window.
    Short,
    /// The burn-rate factor.
    Factor,
    /// The rule as a whole (its windows against the bucket width).
    Rule,
}

/// What is wrong with one burn-rate rule, in the same words wherever a rule is written (slo.yaml,
/// the web UI's try page), because one function checks both.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleError {
    /// The value it is about.
    pub field: RuleField,
    /// What to fix.
    pub message: String,
}

/// Validates one burn-rate rule from its written values (windows already `${ENV}`-expanded):
/// slo.yaml's policies and the try page's typed rules share these limits and messages, so a rule
/// the page accepts is one the config would, and a replay never shows episodes the daemon could
/// not fire. Windows must be whole buckets of `bucket`: part of a bucket would count one twice
/// or none. Every problem is reported, not only the first.
pub fn burn_rule(
    severity: &str,
    long: &str,
    short: &str,
    factor: f64,
    bucket: Dur,
) -> Result<Rule, Vec<RuleError>> {
    let mut errors = Vec::new();
    let mut err = |field: RuleField, message: String| errors.push(RuleError { field, message });
    let severity = match severity {
        "page" => Some(Severity::Page),
        "ticket" => Some(Severity::Ticket),
        other => {
            err(
                RuleField::Severity,
                format!("`{other}` is not a severity; use `page` or `ticket`"),
            );
            None
        }
    };
    let mut window = |text: &str, field: RuleField| match duration::parse(text) {
        Ok(d) if d.as_millis() > 0 => Some(d),
        Ok(_) => {
            err(field, "duration must be greater than zero".to_string());
            None
        }
        Err(e) => {
            err(field, e.to_string());
            None
        }
    };
    let long = window(long, RuleField::Long);
    let short = window(short, RuleField::Short);
    if !(factor > 0.0 && factor.is_finite()) {
        err(
            RuleField::Factor,
            "the burn-rate factor must be a positive number".to_string(),
        );
    }
    let rule = match (severity, long, short) {
        (Some(severity), Some(long), Some(short)) => {
            if short >= long {
                err(
                    RuleField::Short,
                    format!(
                        "the short window ({short}) must be shorter than the long one ({long})"
                    ),
                );
                None
            } else if !long.is_whole_buckets(bucket) || !short.is_whole_buckets(bucket) {
                err(
                    RuleField::Rule,
                    format!("rule windows must be whole buckets ({bucket})"),
                );
                None
            } else {
                Some(Rule {
                    severity,
                    long,
                    short,
                    factor,
                    pending: Dur::from_secs(0),
                })
            }
        }
        _ => None,
    };
    match rule {
        Some(r) if errors.is_empty() => Ok(r),
        _ => Err(errors),
    }
}

/// A rule's `for:`: how long it must hold before it fires, in whole buckets (the condition is
/// judged once a bucket), zero allowed. slo.yaml and the try page share it.
pub fn pending_duration(text: &str, bucket: Dur) -> Result<Dur, String> {
    let d = duration::parse(text).map_err(|e| e.to_string())?;
    if !d.is_whole_buckets(bucket) {
        return Err(format!(
            "`for` must be whole buckets ({bucket}): the condition is judged once a bucket"
        ));
    }
    Ok(d)
}

pub(super) fn rules(
    cx: &mut Ctx,
    raw: &Spanned<Vec<Spanned<RawRule>>>,
    path: &str,
    bucket: Dur,
) -> Option<Vec<Rule>> {
    let mut out = Vec::new();
    let mut ok = true;
    for (i, r) in raw.value.iter().enumerate() {
        let p = format!("{path}[{i}]");
        let v = &r.value;
        // `${ENV}` is expanded here (its errors reported at the window); the checks are the
        // shared ones, and a window that did not expand is not checked again.
        let long = cx.string(&v.long, &format!("{p}.long"));
        let short = cx.string(&v.short, &format!("{p}.short"));
        let checked = burn_rule(
            &v.severity.value,
            long.as_deref().unwrap_or(""),
            short.as_deref().unwrap_or(""),
            v.factor.value,
            bucket,
        );
        let pending = match &v.pending {
            None => Some(Dur::from_secs(0)),
            // `${ENV}` expanded as the windows are (its errors reported there).
            Some(text) => match cx.string(text, &format!("{p}.for")) {
                None => {
                    ok = false;
                    None
                }
                Some(expanded) => match pending_duration(&expanded, bucket) {
                    Ok(d) => Some(d),
                    Err(e) => {
                        cx.err(&text.referenced, format!("{p}.for"), e);
                        ok = false;
                        None
                    }
                },
            },
        };
        match checked {
            Ok(mut rule) if long.is_some() && short.is_some() => {
                rule.pending = pending.unwrap_or(rule.pending);
                out.push(rule);
            }
            Ok(_) => ok = false,
            Err(errors) => {
                ok = false;
                for e in errors {
                    let (loc, at) = match e.field {
                        RuleField::Severity => (&v.severity.referenced, format!("{p}.severity")),
                        RuleField::Long if long.is_none() => continue,
                        RuleField::Long => (&v.long.referenced, format!("{p}.long")),
                        RuleField::Short if short.is_none() => continue,
                        RuleField::Short => (&v.short.referenced, format!("{p}.short")),
                        RuleField::Factor => (&v.factor.referenced, format!("{p}.factor")),
                        RuleField::Rule => (&r.referenced, p.clone()),
                    };
                    cx.err(loc, at, e.message);
                }
            }
        }
    }
    if raw.value.is_empty() {
        cx.err(
            &raw.referenced,
            path,
            "needs at least one rule, or leave `rules` out to keep the default ones",
        );
        ok = false;
    }
    ok.then_some(out)
}

#[allow(clippy::too_many_arguments)]
pub(super) fn patch_fields(
    cx: &mut Ctx,
    path: &str,
    bucket: Dur,
    raw_rules: Option<&Spanned<Vec<Spanned<RawRule>>>>,
    min_events: Option<&Spanned<f64>>,
    below: Option<&Spanned<f64>>,
    exhausted: Option<&SStr>,
    no_data: Option<&SStr>,
) -> PolicyPatch {
    let mut patch = PolicyPatch::default();
    if let Some(r) = raw_rules {
        patch.rules = rules(cx, r, &format!("{path}.rules"), bucket);
    }
    if let Some(m) = min_events {
        if m.value >= 0.0 && m.value.is_finite() {
            patch.min_events = Some(m.value);
        } else {
            cx.err(
                &m.referenced,
                format!("{path}.min_events"),
                "must be zero or more events",
            );
        }
    }
    if let Some(b) = below {
        if b.value > 0.0 && b.value < 1.0 {
            patch.budget_ticket_below = Some(Some(b.value));
        } else if b.value == 0.0 {
            patch.budget_ticket_below = Some(None);
        } else {
            cx.err(&b.referenced, format!("{path}.budget_ticket_below"), format!("a share of the budget between 0 and 1 (0.25 for 25%), or 0 to turn it off; got {}", b.value));
        }
    }
    if let Some(e) = exhausted {
        match e.value.as_str() {
            "page" => patch.budget_exhausted = Some(Some(Severity::Page)),
            "ticket" => patch.budget_exhausted = Some(Some(Severity::Ticket)),
            "none" => patch.budget_exhausted = Some(None),
            other => cx.err(
                &e.referenced,
                format!("{path}.budget_exhausted"),
                format!("`{other}`: use `page`, `ticket` or `none`"),
            ),
        }
    }
    if let Some(n) = no_data {
        if n.value == "none" {
            patch.no_data_after = Some(None);
        } else if let Some(d) = cx.dur(n, &format!("{path}.no_data_after")) {
            if d.is_whole_buckets(bucket) {
                patch.no_data_after = Some(Some(d));
            } else {
                cx.err(
                    &n.referenced,
                    format!("{path}.no_data_after"),
                    format!("must be whole buckets ({bucket}), or `none`"),
                );
            }
        }
    }
    patch
}

/// `budget_drop:` and `exhaustion_within:` of a policy or an SLO's overrides, into `patch`.
fn consumption(
    cx: &mut Ctx,
    path: &str,
    bucket: Dur,
    drop: Option<&Spanned<RawBudgetDrop>>,
    exhaustion: Option<&Spanned<RawExhaustion>>,
    patch: &mut PolicyPatch,
) {
    let span = |cx: &mut Ctx, s: &SStr, at: String| -> Option<Dur> {
        let d = cx.dur(s, &at)?;
        match crate::alert::policy::consumption_span(d, bucket) {
            Ok(d) => Some(d),
            Err(e) => {
                cx.err(&s.referenced, at, e);
                None
            }
        }
    };
    let severity = |cx: &mut Ctx, s: Option<&SStr>, at: String, default: Severity| match s
        .map(|s| (s, s.value.as_str()))
    {
        None => Some(default),
        Some((_, "page")) => Some(Severity::Page),
        Some((_, "ticket")) => Some(Severity::Ticket),
        Some((s, other)) => {
            cx.err(
                &s.referenced,
                at,
                format!("`{other}`: use `page` or `ticket`"),
            );
            None
        }
    };
    if let Some(d) = drop {
        let dpath = format!("{path}.budget_drop");
        let p = &d.value.percent;
        let share = match crate::alert::policy::budget_share(p.value) {
            Ok(s) => Some(s),
            Err(e) => {
                cx.err(&p.referenced, format!("{dpath}.percent"), e);
                None
            }
        };
        let within = span(cx, &d.value.within, format!("{dpath}.within"));
        let sev = severity(
            cx,
            d.value.severity.as_ref(),
            format!("{dpath}.severity"),
            Severity::Page,
        );
        if let (Some(share), Some(within), Some(severity)) = (share, within, sev) {
            patch.budget_drop = Some(crate::alert::policy::BudgetDrop {
                share,
                within,
                severity,
            });
        }
    }
    if let Some(e) = exhaustion {
        let epath = format!("{path}.exhaustion_within");
        let (w, s) = match &e.value {
            RawExhaustion::Within(w) => (w, None),
            RawExhaustion::Full { within, severity } => (within, severity.as_ref()),
        };
        // An untagged enum keeps no positions of its own: point at the key's value.
        let w = Spanned::new(w.value.clone(), e.referenced, e.defined);
        let s = s.map(|s| Spanned::new(s.value.clone(), e.referenced, e.defined));
        let within = span(cx, &w, epath.clone());
        let sev = severity(
            cx,
            s.as_ref(),
            format!("{epath}.severity"),
            Severity::Ticket,
        );
        if let (Some(within), Some(severity)) = (within, sev) {
            patch.exhaustion_within =
                Some(crate::alert::policy::ExhaustionWithin { within, severity });
        }
    }
}

pub(super) fn policy_patches(
    cx: &mut Ctx,
    raw: Option<&RawAlerting>,
    bucket: Dur,
) -> BTreeMap<String, PolicyPatch> {
    let mut out = BTreeMap::new();
    let Some(raw) = raw else { return out };
    for (name, p) in &raw.policies {
        let path = format!("alerting.policies.{name}");
        let v = &p.value;
        let mut patch = patch_fields(
            cx,
            &path,
            bucket,
            v.rules.as_ref(),
            v.min_events.as_ref(),
            v.budget_ticket_below.as_ref(),
            v.budget_exhausted.as_ref(),
            v.no_data_after.as_ref(),
        );
        consumption(
            cx,
            &path,
            bucket,
            v.budget_drop.as_ref(),
            v.exhaustion_within.as_ref(),
            &mut patch,
        );
        out.insert(name.clone(), patch);
    }
    out
}

pub(super) fn resolve_policy(
    cx: &mut Ctx,
    policies: &BTreeMap<String, PolicyPatch>,
    default_name: Option<&(String, Location)>,
    raw: Option<&Spanned<RawSloAlerting>>,
    path: &str,
    period: Dur,
    bucket: Dur,
) -> Option<Policy> {
    let mut policy = Policy::builtin(period, bucket);
    let (name, loc, npath) = match raw.and_then(|r| r.value.policy.as_ref()) {
        Some(n) => (
            n.value.clone(),
            n.referenced,
            format!("{path}.alerting.policy"),
        ),
        None => match default_name {
            Some((n, l)) => (n.clone(), *l, "defaults.alerting".to_string()),
            None => ("default".to_string(), Location::UNKNOWN, String::new()),
        },
    };
    match policies.get(&name) {
        Some(p) => p.apply(&mut policy),
        None if name == "default" => {}
        None => {
            let names: Vec<&str> = policies
                .keys()
                .map(String::as_str)
                .chain(["default"])
                .collect();
            let hint = crate::config::error::nearest(&name, &names)
                .map(|n| format!("; did you mean `{n}`?"))
                .unwrap_or_default();
            cx.err(
                &loc,
                npath,
                format!(
                    "no alert policy named `{name}`{hint} (defined: {})",
                    names.join(", ")
                ),
            );
            return None;
        }
    }
    if let Some(r) = raw {
        let v = &r.value;
        let before = cx.errors.len();
        let mut patch = patch_fields(
            cx,
            &format!("{path}.alerting"),
            bucket,
            v.rules.as_ref(),
            v.min_events.as_ref(),
            v.budget_ticket_below.as_ref(),
            v.budget_exhausted.as_ref(),
            v.no_data_after.as_ref(),
        );
        consumption(
            cx,
            &format!("{path}.alerting"),
            bucket,
            v.budget_drop.as_ref(),
            v.exhaustion_within.as_ref(),
            &mut patch,
        );
        if cx.errors.len() > before {
            return None;
        }
        patch.apply(&mut policy);
    }
    Some(policy)
}

#[cfg(test)]
mod tests {
    use super::super::errors_of;

    #[test]
    fn rules_and_conditions_are_checked() {
        let ok = "alerting:\n  policies:\n    quiet:\n      rules: [{severity: ticket, long: 3d, short: 6h, factor: 1}]\ndefaults: {alerting: quiet}";
        assert!(errors_of(ok).is_empty(), "{:?}", errors_of(ok));
        let bad = "alerting:\n  policies:\n    quiet:\n      rules: [{severity: urgent, long: 1h, short: 5m, factor: 0}, {severity: page, long: 5m, short: 1h, factor: 2}]\n      budget_ticket_below: 2";
        let e = errors_of(bad);
        assert!(
            e.iter().any(|m| m.contains("`urgent` is not a severity")),
            "{e:?}"
        );
        assert!(
            e.iter()
                .any(|m| m.contains("must be shorter than the long one")),
            "{e:?}"
        );
        assert!(e.iter().any(|m| m.contains("positive number")), "{e:?}");
        assert!(e.iter().any(|m| m.contains("budget_ticket_below")), "{e:?}");
        let pending = "alerting:\n  policies:\n    slow:\n      rules: [{severity: page, long: 1h, short: 5m, factor: 14.4, for: 5m}, {severity: page, long: 6h, short: 30m, factor: 6, for: 90s}]";
        let e = errors_of(pending);
        assert_eq!(e.len(), 1, "{e:?}");
        assert!(
            e[0].contains("rules[1].for") && e[0].contains("whole buckets"),
            "{e:?}"
        );
        let e = errors_of("defaults: {alerting: nope}");
        assert!(
            e.iter().any(|m| m.contains("no alert policy named `nope`")),
            "{e:?}"
        );
    }

    #[test]
    fn budget_consumption_conditions_are_read_and_checked_at_their_line() {
        let ok = "alerting:\n  policies:\n    p:\n      budget_drop: {percent: 5, within: 1h}\n      exhaustion_within: 24h\ndefaults: {alerting: p}\nslos:\n  - service: a\n    name: b\n    objective: 99\n    sli: {ratio: {errors: e, total: t}}\n    alerting: {exhaustion_within: {within: 2d, severity: page}}\n";
        let c = crate::config::parse_str(ok, "slo.yaml", &|_| None).expect("valid");
        let p = &c.slos[0].policy;
        let d = p.budget_drop.expect("budget_drop");
        assert_eq!(
            (d.share, d.within.as_secs(), d.severity),
            (0.05, 3600, crate::alert::policy::Severity::Page)
        );
        let e = p.exhaustion_within.expect("exhaustion_within");
        assert_eq!(
            (e.within.as_secs(), e.severity),
            (2 * 86400, crate::alert::policy::Severity::Page)
        );
        let bad = "slos:\n  - service: a\n    name: b\n    objective: 99\n    sli: {ratio: {errors: e, total: t}}\n    alerting: {budget_drop: {percent: 0, within: 90s, severity: urgent}, exhaustion_within: 30s}\n";
        let e = super::super::errors_of(bad);
        assert_eq!(e.len(), 4, "{e:?}");
        assert!(e.iter().all(|m| m.starts_with("t.yaml:6:")), "{e:?}");
        assert!(e.iter().any(|m| m.contains("budget_drop.percent")), "{e:?}");
        assert!(e.iter().any(|m| m.contains("`urgent`")), "{e:?}");
    }
}
