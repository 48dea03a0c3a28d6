-- Judging: judges of a contest (a judge is per contest, not a global role), rounds with their
-- criteria, formula and tie-break (locked once the round opens), which judge scores which
-- entry, the scores, an append-only audit of every score write, and published results.

-- Judges invited to a contest, by email: the invitee may not have an account yet, and is a
-- judge as soon as an account with that email exists. `conflict_unit_ids` lists units
-- (besides the judge's own) whose entries the judge must never score.
create table contest_judge (
    contest_id        bigint not null references contest (contest_id) on delete cascade,
    email             citext not null check (length(email) between 3 and 254),
    conflict_unit_ids bigint[] not null default '{}',
    invited_by        bigint references app_user (app_user_id) on delete set null,
    invited_at        timestamptz not null default now(),
    reminded_at       timestamptz,
    primary key (contest_id, email)
);
create index contest_judge_email_idx on contest_judge (email);

-- A round of judging. Round 1 takes the contest's approved entries; a later round takes the
-- entries the previous one advanced. Everything that decides results is set here and is
-- refused once `opened_at` is set.
create table judging_round (
    judging_round_id bigint generated always as identity primary key,
    contest_id       bigint not null references contest (contest_id) on delete cascade,
    number           integer not null check (number between 1 and 20),
    name             text not null check (length(name) between 1 and 200),
    -- Percent of the combined score that comes from judges; the rest from public votes.
    judges_weight    integer not null default 100 check (judges_weight between 0 and 100),
    -- How votes become points: 'top_share' (votes / the top entry's votes × the judges'
    -- range, the default) or 'rank_points' (by rank among entries, same range).
    vote_scaling     text not null default 'top_share' check (vote_scaling in ('top_share', 'rank_points')),
    -- Which judges' mean enters the combined score: 'raw' or 'normalized'.
    judge_basis      text not null default 'raw' check (judge_basis in ('raw', 'normalized')),
    -- Steps after the combined score: 'judges', 'votes', 'criterion:<id>', 'earlier'.
    tie_break        text[] not null default '{judges,earlier}',
    half_points      boolean not null default false,
    conflict_own_unit boolean not null default true,
    -- This round picks entries for the public vote (its advancers are the shortlist).
    public_shortlist boolean not null default false,
    opened_at        timestamptz,
    closed_at        timestamptz,
    created_at       timestamptz not null default now(),
    updated_at       timestamptz not null default now(),
    unique (contest_id, number)
);
create trigger judging_round_updated_at before update on judging_round for each row execute function set_updated_at();

create table judging_criterion (
    judging_criterion_id bigint generated always as identity primary key,
    judging_round_id bigint not null references judging_round (judging_round_id) on delete cascade,
    position         integer not null,
    name             text not null check (length(name) between 1 and 200),
    description      text not null default '' check (length(description) <= 2000),
    max_score        numeric(6, 1) not null check (max_score > 0 and max_score <= 1000),
    weight           numeric(6, 2) not null check (weight > 0 and weight <= 1000)
);
create index judging_criterion_round_idx on judging_criterion (judging_round_id, position);

-- The entries a round judges (round 1: approved entries when it opens; later: advancers).
create table round_entry (
    judging_round_id bigint not null references judging_round (judging_round_id) on delete cascade,
    entry_id         uuid not null references entry (entry_id) on delete cascade,
    advanced         boolean not null default false,
    primary key (judging_round_id, entry_id)
);

-- One judge's sheet for one entry in one round. An inactive row was reassigned away and
-- keeps what the judge wrote for the record; `submitted_at` locks the sheet until an
-- organizer reopens it.
create table judge_assignment (
    judge_assignment_id bigint generated always as identity primary key,
    judging_round_id  bigint not null references judging_round (judging_round_id) on delete cascade,
    entry_id          uuid not null references entry (entry_id) on delete cascade,
    judge_id          bigint not null references app_user (app_user_id) on delete restrict,
    active            boolean not null default true,
    comment           text not null default '' check (length(comment) <= 5000),
    comment_to_entrant text not null default '' check (length(comment_to_entrant) <= 5000),
    submitted_at      timestamptz,
    created_at        timestamptz not null default now(),
    updated_at        timestamptz not null default now(),
    unique (judging_round_id, entry_id, judge_id)
);
create index judge_assignment_judge_idx on judge_assignment (judge_id, judging_round_id);
create index judge_assignment_entry_idx on judge_assignment (judging_round_id, entry_id);
create trigger judge_assignment_updated_at before update on judge_assignment for each row execute function set_updated_at();

create table judge_score (
    judge_assignment_id  bigint not null references judge_assignment (judge_assignment_id) on delete cascade,
    judging_criterion_id bigint not null references judging_criterion (judging_criterion_id) on delete cascade,
    score                numeric(6, 1) not null check (score >= 0),
    updated_at           timestamptz not null default now(),
    primary key (judge_assignment_id, judging_criterion_id)
);

-- Every write to a sheet: who, when, what, old → new. No foreign keys, so no cascade can
-- ever reach it; the triggers below refuse every UPDATE, DELETE and TRUNCATE, for every role
-- (the table owner and superusers included: triggers are not privileges).
create table judge_score_audit (
    judge_score_audit_id bigint generated always as identity primary key,
    contest_id          bigint not null,
    judging_round_id    bigint not null,
    judge_assignment_id bigint not null,
    entry_id            uuid not null,
    judge_id            bigint not null,
    actor_id            bigint,
    -- 'score:<criterion id>', 'comment', 'comment_to_entrant', 'submit', 'reopen', 'reassign'
    field               text not null,
    old_value           text,
    new_value           text,
    created_at          timestamptz not null default now()
);
create index judge_score_audit_assignment_idx on judge_score_audit (judge_assignment_id);
create index judge_score_audit_contest_idx on judge_score_audit (contest_id, created_at);

create function judge_score_audit_is_append_only() returns trigger as $$
begin
    raise exception 'judge_score_audit is append-only: % refused', tg_op
        using errcode = 'insufficient_privilege';
end;
$$ language plpgsql;

create trigger judge_score_audit_no_change before update or delete on judge_score_audit
    for each row execute function judge_score_audit_is_append_only();
create trigger judge_score_audit_no_truncate before truncate on judge_score_audit
    for each statement execute function judge_score_audit_is_append_only();
-- Where the application runs as a role other than the table's owner, it may only add rows.
revoke update, delete, truncate on judge_score_audit from public;

-- Published results of a round: the frozen snapshot the public page shows.
create table judging_result (
    judging_round_id bigint primary key references judging_round (judging_round_id) on delete cascade,
    contest_id       bigint not null references contest (contest_id) on delete cascade,
    snapshot         jsonb not null,
    published_by     bigint references app_user (app_user_id) on delete set null,
    published_at     timestamptz not null default now()
);
create index judging_result_contest_idx on judging_result (contest_id, published_at desc);
