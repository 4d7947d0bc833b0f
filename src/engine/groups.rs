//! The engine's side of `group_by`: at start, at every reload and at every tick it asks the
//! source which values each definition's labels take ([`crate::source::groups::find`]), keeps
//! them in [`Members`](super::Members) (and in the store), and when the set changes applies the
//! re-expanded config exactly as a reload would: new members are backfilled, retired ones stop.

use super::{Engine, GroupView, StoreError};
use crate::config::Config;
use crate::config::group;
use crate::duration::Dur;
use tracing::{error, info, warn};

/// How far back a tick's look reaches: Prometheus's own lookback, so a counter scraped at any
/// usual interval is found.
const TICK_LOOKBACK: Dur = Dur::from_secs(300);

impl Engine {
    /// The evaluated config: the file's, each definition replaced by its members.
    pub(super) fn expanded(&self) -> Config {
        group::expand(&self.file, |d| self.members.of(&d.id))
    }

    /// Restores every definition's members from the store.
    pub(super) fn load_members(&mut self) {
        if !group::has_groups(&self.file) {
            return;
        }
        match self.shared.store.groups() {
            Ok(all) => {
                for (id, bytes) in all {
                    if let Err(e) = self.members.load(&id, &bytes) {
                        warn!(slo = %id, error = %e, "unreadable group record; its members are looked for again");
                    }
                }
            }
            Err(e) => {
                warn!(error = %e, "cannot read the groups' members from the store; looking for them again")
            }
        }
        self.forget_removed_groups();
    }

    /// Drops the members of definitions no longer in the file (or no longer grouped).
    pub(super) fn forget_removed_groups(&mut self) {
        let file = &self.file;
        let gone = self
            .members
            .retain(|id| file.slos.iter().any(|s| s.is_group() && s.id == id));
        for id in gone {
            if let Err(e) = self.shared.store.put_group(&id, None) {
                warn!(slo = %id, error = %e, "cannot remove a removed group's record");
            }
        }
    }

    /// Looks for every definition's members at `at`; true when any set changed. A failed look
    /// changes nothing: members are neither added nor retired on an outage.
    pub(super) async fn find_members(&mut self, at: i64) -> bool {
        let defs: Vec<_> = self
            .file
            .slos
            .iter()
            .filter(|s| s.is_group())
            .cloned()
            .collect();
        let mut changed = false;
        for def in defs {
            let lookback = if self.members.knows(&def.id) {
                TICK_LOOKBACK.max(self.file.bucket)
            } else {
                def.longest_period()
            };
            let found = match crate::source::groups::find(&self.sources, &def, Some(at), lookback)
                .await
            {
                Ok(f) => f,
                Err(e) => {
                    warn!(slo = %def.id, error = %e, "cannot look for the group's members; keeping the ones followed");
                    continue;
                }
            };
            let before = self.members.group(&def.id).map_or(0, |g| g.dropped);
            let o = self.members.observe(&def, found, at);
            let max = def.group_by.as_ref().map_or(0, |g| g.max);
            if o.dropped > 0 && o.dropped != before {
                error!(
                    slo = %def.id,
                    followed = max,
                    left_out = o.dropped,
                    "the group has more values than max_groups: the first {max} in sorted order are followed, the rest are not evaluated; raise max_groups or narrow the selectors"
                );
            }
            for v in &o.added {
                info!(slo = %group::member_id(&def, v), "group member found");
            }
            for v in &o.retired {
                info!(slo = %group::member_id(&def, v), "group member retired: not seen for longer than its longest period");
            }
            let stale = self
                .members
                .group(&def.id)
                .is_some_and(|g| at - g.stored_at >= 3600);
            if o.changed() || stale {
                self.store_members(&def.id, at);
            }
            changed |= o.changed();
        }
        changed
    }

    fn store_members(&mut self, id: &str, at: i64) {
        if let Some(bytes) = self.members.encode(id, at)
            && let Err(e) = self.shared.store.put_group(id, Some(&bytes))
        {
            warn!(slo = %id, error = %e, "cannot store the group's members; they are looked for again after a restart");
        }
    }

    /// The tick's first stage: finds members and, when they changed, applies the new set.
    pub(super) async fn refresh_members(&mut self, at: i64) -> Result<(), StoreError> {
        if !group::has_groups(&self.file) || !self.find_members(at).await {
            return Ok(());
        }
        self.apply(std::sync::Arc::new(self.expanded()), at).await
    }

    /// Every definition with its member count, for the snapshot.
    pub(super) fn group_views(&self) -> Vec<GroupView> {
        self.file
            .slos
            .iter()
            .filter(|s| s.is_group())
            .map(|d| {
                let g = self.members.group(&d.id);
                GroupView {
                    id: d.id.clone(),
                    members: g.map_or(0, |g| g.members.len()),
                    dropped: g.map_or(0, |g| g.dropped),
                    max: d.group_by.as_ref().map_or(0, |g| g.max),
                }
            })
            .collect()
    }
}
