-- Voters and their guards: email one-time codes (the sign-in of a voter without a password),
-- contest rosters, per-contest and per-round vote slots, single-use proof-of-work challenges,
-- and the erasure of voters' addresses after the dispute window.

-- A 6-digit code mailed to an address. Only an HMAC of it is stored; it expires, allows a few
-- guesses, and is used once. `ip` (who asked) serves the per-address send limit and is deleted
-- with the row a day after expiry.
create table voter_code (
    voter_code_id bigint generated always as identity primary key,
    email         citext not null check (length(email) between 3 and 254),
    code_hash     bytea not null,
    ip            inet,
    attempts      integer not null default 0,
    expires_at    timestamptz not null,
    used_at       timestamptz,
    created_at    timestamptz not null default now()
);
create index voter_code_email_idx on voter_code (email, created_at desc);
create index voter_code_ip_idx on voter_code (ip, created_at desc) where ip is not null;

-- A member number, for rosters that list members by number rather than by email.
alter table app_user add column member_number text
    check (member_number ~ '^[A-Za-z0-9][A-Za-z0-9._/-]{0,39}$');
create index app_user_member_number_idx on app_user (member_number) where member_number is not null;

-- The people allowed to vote in a contest whose policy says `"roster": true`: each row an
-- email or a member number, as the organizer's CSV listed them.
create table vote_roster (
    contest_id    bigint not null references contest (contest_id) on delete cascade,
    kind          text not null check (kind in ('email', 'member')),
    value         citext not null check (length(value) between 1 and 254),
    created_at    timestamptz not null default now(),
    primary key (contest_id, kind, value)
);

-- Per-contest and per-round limits use the same design as the per-day `slot`: a voter's votes
-- are numbered 1..limit and a unique key refuses a second vote with the same number, so no
-- race can go beyond the limit. Null when the contest sets no such limit.
alter table vote add column round smallint not null default 1 check (round between 1 and 1000);
alter table vote add column contest_slot smallint check (contest_slot between 1 and 10000);
alter table vote add column round_slot smallint check (round_slot between 1 and 10000);
create unique index vote_once_per_contest_slot on vote (contest_id, voter_id, contest_slot)
    where contest_slot is not null;
create unique index vote_once_per_round_slot on vote (contest_id, voter_id, round, round_slot)
    where round_slot is not null;
-- Fraud review reads votes by time and by network.
create index vote_contest_created_idx on vote (contest_id, created_at);

-- Proof-of-work challenges already spent: a solved challenge counts once. Rows go when the
-- challenge would have expired anyway.
create table vote_challenge_used (
    challenge_hash bytea primary key,
    expires_at     timestamptz not null
);

-- When the addresses of a contest's votes were erased (after the dispute window).
alter table contest add column vote_ips_erased_at timestamptz;

-- The audit trail also records roster uploads, policy changes and address erasures, which
-- are not tied to an invalidation.
alter table vote_audit alter column vote_invalidation_id drop not null;
alter table vote_audit drop constraint vote_audit_action_check;
alter table vote_audit add constraint vote_audit_action_check
    check (action in ('invalidate', 'restore', 'roster', 'policy', 'erase-ips'));
