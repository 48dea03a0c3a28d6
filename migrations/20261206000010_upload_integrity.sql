-- Moderation integrity of uploads (issue 15, items 1 and 2).
--
-- An upload started before submission closes may send its bytes until close plus this grace,
-- which the organizer sets per contest and the rules page shows; never later.
alter table contest add column upload_grace_minutes integer not null default 30
    check (upload_grace_minutes between 0 and 1440);

-- At most one live upload per entry, enforced here rather than by a check-then-insert: two
-- creations at the same instant both got in before, and the second one later added an
-- unreviewed file to an approved entry. Duplicates left by that race are ended first (the one
-- already completing, else the newest, stays); the sweep removes their storage.
with ranked as (
    select upload_id,
           row_number() over (partition by entry_id
                              order by (status = 'completing') desc, created_at desc) as n
    from upload
    where status in ('active', 'completing')
)
update upload u set status = 'terminated'
from ranked r
where u.upload_id = r.upload_id and r.n > 1;

create unique index upload_one_live_per_entry on upload (entry_id)
    where status in ('active', 'completing');

-- Uploads expire at a fixed time set at creation (a PATCH no longer pushes it out); the live
-- ones are brought under their contest's cutoff now.
update upload u set expires_at = least(u.expires_at,
                                       c.submission_closes_at + make_interval(mins => c.upload_grace_minutes))
from entry e join contest c using (contest_id)
where e.entry_id = u.entry_id and u.status = 'active';
