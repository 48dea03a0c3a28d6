-- A provincial contest at its real size (thousands of entries): every entry is reachable
-- from the gallery and the vote page by keyset pages, and each has a short public number.

-- The public number of an entry in its contest ("Bài số 0142"). It is handed out by the row
-- of `entry_counter`, which the insert trigger updates (and so locks) for the length of the
-- inserting transaction: two entries created at once wait for each other and get distinct
-- numbers. A number is never reused, not even after a draft is deleted.
create table entry_counter (
    contest_id  bigint primary key references contest (contest_id) on delete cascade,
    last_number integer not null default 0 check (last_number >= 0)
);

alter table entry add column number integer;

with numbered as (
    select entry_id, row_number() over (partition by contest_id order by created_at, entry_id) as n
    from entry
)
update entry e set number = numbered.n from numbered where numbered.entry_id = e.entry_id;

insert into entry_counter (contest_id, last_number)
select contest_id, max(number) from entry group by contest_id;

create function entry_take_number() returns trigger language plpgsql as $$
begin
    insert into entry_counter as c (contest_id, last_number) values (new.contest_id, 1)
    on conflict (contest_id) do update set last_number = c.last_number + 1
    returning c.last_number into new.number;
    return new;
end $$;
create trigger entry_take_number before insert on entry
    for each row execute function entry_take_number();

alter table entry alter column number set not null;
alter table entry add constraint entry_number_unique unique (contest_id, number);

-- Pages of approved entries, newest first or by number: one index range per page.
create index entry_gallery_number_idx on entry (contest_id, number) where status = 'approved';

-- Random order per voter, backed by an index: every entry has a random position in each of
-- 16 shuffles of its contest; a voter's seed picks one shuffle and pages walk it by
-- position. Withdrawn or unapproved entries stay in the shuffle and are skipped by the join
-- to `entry` (what remains is still a uniform random order), so approving and withdrawing
-- need no refresh.
create table entry_shuffle (
    contest_id bigint not null references contest (contest_id) on delete cascade,
    k          smallint not null check (k between 0 and 15),
    pos        integer not null,
    entry_id   uuid not null references entry (entry_id) on delete cascade,
    primary key (contest_id, k, pos, entry_id)
);
create index entry_shuffle_entry_idx on entry_shuffle (entry_id);

insert into entry_shuffle (contest_id, k, pos, entry_id)
select e.contest_id, k, (floor(random() * 2147483647))::int, e.entry_id
from entry e cross join generate_series(0, 15) k;

create function entry_shuffle_place() returns trigger language plpgsql as $$
begin
    insert into entry_shuffle (contest_id, k, pos, entry_id)
    select new.contest_id, k, (floor(random() * 2147483647))::int, new.entry_id
    from generate_series(0, 15) k;
    return null;
end $$;
create trigger entry_shuffle_place after insert on entry
    for each row execute function entry_shuffle_place();

-- Search by title and by author name with an index (pg_trgm ships with PostgreSQL's contrib
-- and is a trusted extension: the database owner may create it).
create extension if not exists pg_trgm;
create index entry_title_trgm_idx on entry using gin (title gin_trgm_ops);
create index app_user_name_trgm_idx on app_user using gin (display_name gin_trgm_ops);
