-- Levels that feed each other (issue 20): a commune's or school's contest sends its top N per
-- category to a contest of a unit above it (the provincial round). The link is chosen before
-- the child's results and locks with them; when they are published its top entries are
-- nominated: new entries of the parent contest that show the same media (no copy, no
-- re-upload) and remember where they came from. Expand only: older nodes never read these.
create table contest_advancement (
    contest_id        bigint primary key references contest (contest_id) on delete cascade,
    parent_contest_id bigint not null references contest (contest_id) on delete cascade,
    top_n             integer not null check (top_n between 1 and 20),
    basis             text not null check (basis in ('judges', 'votes', 'combined')),
    -- When the child's results nominated (null: not yet). Set once, by the first publish.
    nominated_at      timestamptz,
    created_by        bigint references app_user (app_user_id) on delete set null,
    updated_at        timestamptz not null default now(),
    check (contest_id <> parent_contest_id)
);
create index contest_advancement_parent_idx on contest_advancement (parent_contest_id);

-- An explicit category mapping of a link (child category → parent category); a child
-- category without one goes to the parent's category of the same slug, else the same name.
create table contest_advancement_category (
    contest_id         bigint not null references contest_advancement (contest_id) on delete cascade,
    category_id        bigint not null references contest_category (category_id) on delete cascade,
    parent_category_id bigint not null references contest_category (category_id) on delete cascade,
    primary key (contest_id, category_id)
);

-- The entry whose media an entry shows: a nominated entry has no media of its own and reads
-- its source's (media_asset.entry_id stays the uploader's entry, so erasure and retention
-- keep one owner of each file).
alter table entry add column media_entry_id uuid references entry (entry_id) on delete restrict;
create index entry_media_entry_idx on entry (media_entry_id) where media_entry_id is not null;

-- One nomination: the source entry of the child contest, its rank there, and the new entry of
-- the parent contest. A source is nominated into a parent once, however often or however
-- concurrently the child's results are published.
create table nomination (
    entry_id          uuid primary key references entry (entry_id) on delete cascade,
    parent_contest_id bigint not null references contest (contest_id) on delete cascade,
    source_entry_id   uuid not null references entry (entry_id) on delete cascade,
    source_contest_id bigint not null references contest (contest_id) on delete cascade,
    rank              integer not null check (rank > 0),
    basis             text not null check (basis in ('judges', 'votes', 'combined')),
    created_at        timestamptz not null default now(),
    constraint nomination_once unique (parent_contest_id, source_entry_id)
);
create index nomination_source_contest_idx on nomination (source_contest_id);

-- A category's own rubric (issue 20: "each with its own … rubric"): criteria of a round that
-- belong to one category score that category's entries instead of the round's general ones
-- (category_id null). They follow `contest_category.criteria` until the round opens.
alter table judging_criterion add column category_id bigint
    references contest_category (category_id) on delete cascade;
create index judging_criterion_category_idx on judging_criterion (judging_round_id, category_id);
