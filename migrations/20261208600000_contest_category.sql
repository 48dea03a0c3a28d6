-- Categories (hạng mục / bảng) inside one contest (issue 20): each has its own kinds and may
-- override the contest's limits, rubric and vote policy. An entry of a contest with
-- categories belongs to one; contests without categories keep `entry.category_id` null and
-- work as before. Expand only: older nodes never read the new table or column.
create table contest_category (
    category_id  bigint generated always as identity primary key,
    contest_id   bigint not null references contest (contest_id) on delete cascade,
    slug         text not null check (slug ~ '^[a-z0-9]+(-[a-z0-9]+)*$' and length(slug) <= 60),
    name         text not null check (length(name) between 1 and 200),
    position     integer not null default 0,
    kinds        text[] not null default '{video,photo}'
                 check (cardinality(kinds) > 0 and kinds <@ array['video', 'photo']),
    -- Null: the contest's own value.
    max_entries_per_member integer check (max_entries_per_member > 0),
    max_photo_bytes        bigint check (max_photo_bytes > 0),
    max_video_bytes        bigint check (max_video_bytes > 0),
    max_video_seconds      integer check (max_video_seconds > 0),
    criteria     jsonb,
    weights      jsonb,
    vote_policy  jsonb,
    created_at   timestamptz not null default now(),
    constraint contest_category_slug_key unique (contest_id, slug),
    -- Lets entry reference (contest, category) so an entry can never sit in another
    -- contest's category.
    constraint contest_category_contest_key unique (contest_id, category_id)
);

alter table entry add column category_id bigint;
alter table entry add constraint entry_category_fkey
    foreign key (contest_id, category_id) references contest_category (contest_id, category_id);
create index entry_category_idx on entry (category_id) where category_id is not null;
