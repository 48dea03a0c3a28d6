-- The web app's own tables: cookie sessions, the CSRF key, the mail outbox, one-time links,
-- failed-login throttling, and what contests add for eligibility and phase changes.

-- A signed-in browser. Only a hash of the cookie value is stored.
create table web_session (
    session_hash  bytea primary key,
    app_user_id   bigint not null references app_user (app_user_id) on delete cascade,
    created_at    timestamptz not null default now(),
    expires_at    timestamptz not null,
    last_seen_at  timestamptz not null default now()
);
create index web_session_user_idx on web_session (app_user_id);

-- Keys that must survive restarts and be the same on every node (the CSRF key).
create table site_secret (
    name       text primary key,
    value      bytea not null,
    created_at timestamptz not null default now()
);

-- Mail waiting to be sent; with no SMTP configured admins read it at /admin/outbox.
create table outbox (
    outbox_id  bigint generated always as identity primary key,
    to_email   text not null,
    subject    text not null,
    body       text not null,
    kind       text not null,
    created_at timestamptz not null default now(),
    sent_at    timestamptz
);
create index outbox_created_idx on outbox (created_at desc);

-- Email verification and password reset links: usable once, only a hash stored.
create table one_time_token (
    token_hash  bytea primary key,
    app_user_id bigint not null references app_user (app_user_id) on delete cascade,
    purpose     text not null check (purpose in ('verify-email', 'reset-password')),
    expires_at  timestamptz not null,
    used_at     timestamptz,
    created_at  timestamptz not null default now()
);
create index one_time_token_user_idx on one_time_token (app_user_id);

-- Failed sign-ins per (email, client address): a growing wait, never a lock of the account.
create table login_throttle (
    throttle_key  text primary key,
    failures      integer not null default 0,
    window_start  timestamptz not null default now(),
    blocked_until timestamptz
);

-- Which units' members may enter (null: everyone), and a cover image URL.
alter table contest add column eligible_unit_ids bigint[];
alter table contest add column cover_url text check (length(cover_url) <= 2000);

-- Early closes and reopens of phases, with who did it and the dates before and after.
create table contest_phase_log (
    contest_phase_log_id bigint generated always as identity primary key,
    contest_id  bigint not null references contest (contest_id) on delete cascade,
    phase       text not null check (phase in ('submission', 'judging', 'voting')),
    action      text not null check (action in ('close', 'reopen')),
    old_closes_at timestamptz,
    new_closes_at timestamptz,
    app_user_id bigint references app_user (app_user_id) on delete set null,
    created_at  timestamptz not null default now()
);
create index contest_phase_log_contest_idx on contest_phase_log (contest_id);
