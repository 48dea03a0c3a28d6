-- Teams and series (issue 20, part 3). Expand only: older nodes never read the new columns.
--
-- A team entry is made by a branch (chi đoàn) or a team with named members. The contest
-- says whether it takes them and how many members a team may list (0: no team entries).
-- Members are names only (and optionally a member number of the union's roster): they have
-- no accounts here, and the least is kept about them (many are under 18).
alter table contest add column max_team_members integer not null default 0
    check (max_team_members between 0 and 50);
-- A photo entry may be a series (bộ ảnh) of up to this many photos judged as one entry.
alter table contest add column max_series_photos integer not null default 1
    check (max_series_photos between 1 and 10);

-- Null: an entry of one person. The name shows in public as the entry's author.
alter table entry add column team_name text check (length(team_name) between 1 and 120);
-- The chi đoàn the team entered as, when the entrant picked one of the unit tree.
alter table entry add column team_unit_id bigint references unit (unit_id) on delete set null;
-- The entrant chose a series: files attach one by one while the entry stays a draft, and the
-- entry goes on to processing only when the entrant hands the series in.
alter table entry add column photo_series boolean not null default false;

create table entry_team_member (
    entry_id      uuid not null references entry (entry_id) on delete cascade,
    position      integer not null check (position between 1 and 50),
    full_name     text not null check (length(full_name) between 1 and 120),
    member_number text check (member_number ~ '^[A-Za-z0-9][A-Za-z0-9._/-]{0,39}$'),
    primary key (entry_id, position)
);

-- The order of the photos of a series (1 first); null for a single file.
alter table media_asset add column series_position integer check (series_position between 1 and 10);

-- A team entry's certificate is one, for the team (as a union awards a tập thể): the team's
-- name as the holder, and its members' names as they were when it was issued. Cleared with
-- the holder's name when the submitting account is deleted.
alter table certificate add column team_members text check (length(team_members) <= 4000);
