-- Contests, entries, media assets, the job queue and API tokens: the shared schema that the
-- upload, worker and web features build on. Each feature adds its own tables later.

create table contest (
    contest_id             bigint generated always as identity primary key,
    slug                   text not null unique check (slug ~ '^[a-z0-9][a-z0-9-]{0,62}$'),
    title                  text not null check (length(title) between 1 and 200),
    description            text not null default '' check (length(description) <= 20000),
    rules                  text not null default '' check (length(rules) <= 50000),
    unit_id                bigint references unit (unit_id) on delete restrict,
    kinds                  text[] not null default '{video,photo}'
                           check (cardinality(kinds) > 0 and kinds <@ array['video', 'photo']),
    submission_opens_at    timestamptz not null,
    submission_closes_at   timestamptz not null,
    judging_opens_at       timestamptz,
    judging_closes_at      timestamptz,
    voting_opens_at        timestamptz,
    voting_closes_at       timestamptz,
    results_at             timestamptz,
    max_photo_bytes        bigint not null default 31457280 check (max_photo_bytes > 0),
    max_video_bytes        bigint not null default 1610612736 check (max_video_bytes > 0),
    max_video_seconds      integer not null default 180 check (max_video_seconds > 0),
    max_entries_per_member integer not null default 1 check (max_entries_per_member > 0),
    requires_moderation    boolean not null default true,
    blind_judging          boolean not null default false,
    hide_author            boolean not null default false,
    -- Placeholders the judging and voting features fill (criteria, weights, vote policy).
    settings               jsonb not null default '{}',
    created_by             bigint references app_user (app_user_id) on delete set null,
    created_at             timestamptz not null default now(),
    updated_at             timestamptz not null default now(),
    constraint contest_submission_dates check (submission_closes_at > submission_opens_at)
);
create index contest_unit_idx on contest (unit_id);
create trigger contest_updated_at before update on contest for each row execute function set_updated_at();

create type entry_status as enum
    ('draft', 'uploading', 'processing', 'pending_review', 'approved', 'rejected', 'withdrawn');

create table entry (
    entry_id     uuid primary key default gen_random_uuid(),
    contest_id   bigint not null references contest (contest_id) on delete cascade,
    author_id    bigint not null references app_user (app_user_id) on delete restrict,
    title        text not null check (length(title) between 1 and 200),
    description  text not null default '' check (length(description) <= 5000),
    status       entry_status not null default 'draft',
    reason       text,
    submitted_at timestamptz,
    created_at   timestamptz not null default now(),
    updated_at   timestamptz not null default now()
);
create index entry_contest_status_idx on entry (contest_id, status);
create index entry_author_idx on entry (author_id);
create trigger entry_updated_at before update on entry for each row execute function set_updated_at();

create type media_kind as enum ('video', 'photo');
create type media_status as enum ('processing', 'ready', 'failed');

-- One uploaded file of an entry. The original is private; renditions are written under
-- media/{media_asset_id}/ and listed in `renditions`.
create table media_asset (
    media_asset_id    uuid primary key default gen_random_uuid(),
    entry_id          uuid not null references entry (entry_id) on delete cascade,
    kind              media_kind not null,
    status            media_status not null default 'processing',
    progress          smallint not null default 0 check (progress between 0 and 100),
    error             text,
    original_key      text not null,
    original_bytes    bigint not null check (original_bytes >= 0),
    original_sha256   text not null check (original_sha256 ~ '^[0-9a-f]{64}$'),
    original_filename text check (length(original_filename) <= 255),
    content_type      text,
    width             integer,
    height            integer,
    duration_s        double precision,
    renditions        jsonb not null default '{}',
    created_at        timestamptz not null default now(),
    updated_at        timestamptz not null default now()
);
create index media_asset_entry_idx on media_asset (entry_id);
create trigger media_asset_updated_at before update on media_asset for each row execute function set_updated_at();

-- The job queue: rows leased with FOR UPDATE SKIP LOCKED. `dedupe_key` makes enqueueing the
-- same work twice (a repeated upload completion) a no-op.
create table job (
    job_id       bigint generated always as identity primary key,
    kind         text not null,
    payload      jsonb not null default '{}',
    status       text not null default 'queued' check (status in ('queued', 'running', 'done', 'dead')),
    attempts     integer not null default 0,
    max_attempts integer not null default 5 check (max_attempts > 0),
    run_at       timestamptz not null default now(),
    lease_until  timestamptz,
    leased_by    text,
    last_error   text,
    progress     smallint not null default 0 check (progress between 0 and 100),
    dedupe_key   text unique,
    created_at   timestamptz not null default now(),
    updated_at   timestamptz not null default now()
);
create index job_queued_idx on job (run_at) where status = 'queued';
create index job_running_idx on job (lease_until) where status = 'running';
create trigger job_updated_at before update on job for each row execute function set_updated_at();

-- Bearer tokens of API clients; only a hash is stored.
create table api_token (
    token_hash   bytea primary key,
    app_user_id  bigint not null references app_user (app_user_id) on delete cascade,
    created_at   timestamptz not null default now(),
    expires_at   timestamptz not null,
    last_used_at timestamptz
);
create index api_token_user_idx on api_token (app_user_id);
