-- Public voting: one row per counted vote (never deleted: invalidated and restorable), the
-- tally each entry shows (kept equal to its count of valid votes in the same transactions),
-- and organizers' invalidations with their audit trail. The policy lives in
-- contest.settings->'voting' ({"per_day": 1, "hide_totals": false}); the window is
-- contest.voting_opens_at/voting_closes_at.

-- An organizer's decision that some votes do not count: by voter, IP network and/or time window.
create table vote_invalidation (
    vote_invalidation_id bigint generated always as identity primary key,
    contest_id     bigint not null references contest (contest_id) on delete cascade,
    voter_id       bigint references app_user (app_user_id) on delete set null,
    ip_network     cidr,
    from_at        timestamptz,
    until_at       timestamptz,
    reason         text not null check (length(reason) between 1 and 1000),
    votes          integer not null default 0,
    created_by     bigint references app_user (app_user_id) on delete set null,
    created_at     timestamptz not null default now(),
    restored_at    timestamptz,
    restored_by    bigint references app_user (app_user_id) on delete set null,
    restore_reason text check (length(restore_reason) <= 1000)
);
create index vote_invalidation_contest_idx on vote_invalidation (contest_id);

-- `slot` numbers a voter's votes for one entry on one day (1..per_day), so the unique key
-- makes a vote beyond the policy impossible whatever a client retries. `vote_day` is the
-- calendar day in Asia/Ho_Chi_Minh.
create table vote (
    vote_id              bigint generated always as identity primary key,
    contest_id           bigint not null references contest (contest_id) on delete cascade,
    entry_id             uuid not null references entry (entry_id) on delete cascade,
    voter_id             bigint not null references app_user (app_user_id) on delete restrict,
    vote_day             date not null,
    slot                 smallint not null default 1 check (slot between 1 and 100),
    ip                   inet,
    -- /24 of an IPv4 address, /64 of an IPv6 one: many honest voters share one address.
    ip_network           cidr,
    user_agent_hash      bytea,
    valid                boolean not null default true,
    -- The invalidation that last touched the vote (kept after a restore, for the record).
    vote_invalidation_id bigint references vote_invalidation (vote_invalidation_id) on delete restrict,
    created_at           timestamptz not null default now(),
    constraint vote_once_per_slot unique (contest_id, entry_id, voter_id, vote_day, slot),
    constraint vote_invalid_has_reason check (valid or vote_invalidation_id is not null)
);
create index vote_contest_voter_idx on vote (contest_id, voter_id);
create index vote_invalidation_idx on vote (vote_invalidation_id) where vote_invalidation_id is not null;

-- Valid votes per entry. Changed only together with vote rows, rows locked in entry_id order.
create table vote_tally (
    entry_id   uuid primary key references entry (entry_id) on delete cascade,
    contest_id bigint not null references contest (contest_id) on delete cascade,
    votes      bigint not null default 0 check (votes >= 0),
    updated_at timestamptz not null default now()
);
create index vote_tally_contest_idx on vote_tally (contest_id);

-- Every invalidation and restore, with who did it and why.
create table vote_audit (
    vote_audit_id        bigint generated always as identity primary key,
    contest_id           bigint not null references contest (contest_id) on delete cascade,
    vote_invalidation_id bigint not null references vote_invalidation (vote_invalidation_id) on delete restrict,
    action               text not null check (action in ('invalidate', 'restore')),
    actor_id             bigint references app_user (app_user_id) on delete set null,
    reason               text not null,
    votes                integer not null,
    created_at           timestamptz not null default now()
);
create index vote_audit_contest_idx on vote_audit (contest_id);
