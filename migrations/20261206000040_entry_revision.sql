-- An author's edit of an entry that is public already (approved, in a contest that reviews
-- entries) does not touch `entry`: it waits here until an organizer approves it, so every page,
-- the gallery, the API, share tags, live screens, judging and exports keep showing the text
-- that was reviewed. Approving copies the text into `entry`; rejecting keeps the old text and
-- tells the author why. A newer edit supersedes a waiting one.
create table entry_revision (
    entry_revision_id bigint generated always as identity primary key,
    entry_id          uuid not null references entry (entry_id) on delete cascade,
    title             text not null check (length(title) between 1 and 200),
    description       text not null default '' check (length(description) <= 5000),
    status            text not null default 'pending'
                      check (status in ('pending', 'approved', 'rejected', 'superseded')),
    reason            text check (length(reason) <= 2000),
    created_by        bigint references app_user (app_user_id) on delete set null,
    created_at        timestamptz not null default now(),
    reviewed_by       bigint references app_user (app_user_id) on delete set null,
    reviewed_at       timestamptz,
    -- A rejected edit always carries the reason the author is shown.
    check (status <> 'rejected' or reason is not null)
);

-- At most one edit waits per entry: two tabs saving at once cannot leave two proposals for
-- the organizer to approve in the wrong order.
create unique index entry_revision_one_pending_key on entry_revision (entry_id)
    where status = 'pending';
create index entry_revision_entry_idx on entry_revision (entry_id, entry_revision_id desc);
