-- Livestreams: the streams a contest links to (YouTube, Facebook or an HLS URL, stored with
-- the official embed URL made from it), the contest's live state (the entry now on stage and
-- whether the live voting window is open) with a log of every change, and the notifications
-- that carry live state and phase changes to every web node.

create table contest_stream (
    contest_stream_id bigint generated always as identity primary key,
    contest_id  bigint not null references contest (contest_id) on delete cascade,
    title       text not null check (length(title) between 1 and 200),
    platform    text not null check (platform in ('youtube', 'facebook', 'hls')),
    -- What the organizer typed (validated), and what the page embeds or plays.
    source_url  text not null check (length(source_url) <= 2000),
    embed_url   text not null check (length(embed_url) <= 4000),
    starts_at   timestamptz not null,
    ends_at     timestamptz not null,
    created_by  bigint references app_user (app_user_id) on delete set null,
    created_at  timestamptz not null default now(),
    updated_at  timestamptz not null default now(),
    constraint contest_stream_schedule check (ends_at > starts_at)
);
create index contest_stream_contest_idx on contest_stream (contest_id, starts_at);
create index contest_stream_ends_idx on contest_stream (ends_at);
create trigger contest_stream_updated_at before update on contest_stream
    for each row execute function set_updated_at();

-- One row per contest that has been live: what is on stage and whether live votes count.
-- `version` grows with every change, so a reconnecting client can tell whether it missed one.
create table contest_live (
    contest_id       bigint primary key references contest (contest_id) on delete cascade,
    stage_entry_id   uuid references entry (entry_id) on delete set null,
    window_open      boolean not null default false,
    window_opened_at timestamptz,
    version          bigint not null default 1,
    updated_by       bigint references app_user (app_user_id) on delete set null,
    updated_at       timestamptz not null default now()
);
create index contest_live_stage_idx on contest_live (stage_entry_id) where window_open;

-- Every stage change and every opening and closing of the live voting window.
create table contest_live_log (
    contest_live_log_id bigint generated always as identity primary key,
    contest_id  bigint not null references contest (contest_id) on delete cascade,
    action      text not null check (action in ('stage', 'open', 'close')),
    entry_id    uuid references entry (entry_id) on delete set null,
    app_user_id bigint references app_user (app_user_id) on delete set null,
    created_at  timestamptz not null default now()
);
create index contest_live_log_contest_idx on contest_live_log (contest_id, created_at);

-- The entries whose votes count now through a live voting window (on stage, window open).
-- The vote ingest asks `entry_id in (select entry_id from live_vote_entry)` inside its one
-- statement, so a window closed before the statement runs refuses the vote. A view, not a
-- function: the planner hashes it once per batch (~0.5 µs a vote) where a SQL function
-- with a subquery cannot be inlined and costs ~15 µs a call.
create view live_vote_entry as
    select stage_entry_id as entry_id, contest_id
    from contest_live
    where window_open and stage_entry_id is not null;

-- Every node's live hub listens on `contest_live` (payload: the contest id); delivered at
-- commit, so a listener never reads the state before the change is visible.
create function contest_live_notify() returns trigger language plpgsql as $$
begin
    perform pg_notify('contest_live', new.contest_id::text);
    return null;
end;
$$;

create trigger contest_live_changed after insert or update on contest_live
    for each row execute function contest_live_notify();

-- A phase moved by an organizer (early close, reopen, new dates) is a phase change too.
create trigger contest_phase_dates_changed after update on contest
    for each row
    when (old.submission_opens_at is distinct from new.submission_opens_at
       or old.submission_closes_at is distinct from new.submission_closes_at
       or old.judging_opens_at is distinct from new.judging_opens_at
       or old.judging_closes_at is distinct from new.judging_closes_at
       or old.voting_opens_at is distinct from new.voting_opens_at
       or old.voting_closes_at is distinct from new.voting_closes_at
       or old.results_at is distinct from new.results_at)
    execute function contest_live_notify();
