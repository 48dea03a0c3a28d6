-- Foundation: the helper every table with updated_at uses, the youth-union unit tree, and
-- user accounts. Later features add their own migrations (expand/contract: never rewrite
-- an applied file).

create extension if not exists citext;

create or replace function set_updated_at() returns trigger as $$
begin
    new.updated_at := now();
    return new;
end;
$$ language plpgsql;

-- Province → district/commune → branch. `path` is the slug chain from the root
-- ("hcm/q1/chi-doan-a"), so a subtree is `path = x or path like x || '/%'`.
create table unit (
    unit_id     bigint generated always as identity primary key,
    parent_id   bigint references unit (unit_id) on delete restrict,
    slug        text not null unique check (slug ~ '^[a-z0-9][a-z0-9-]{0,62}$'),
    name        text not null check (length(name) between 1 and 200),
    path        text not null unique,
    created_at  timestamptz not null default now(),
    updated_at  timestamptz not null default now()
);
create index unit_parent_idx on unit (parent_id);
create trigger unit_updated_at before update on unit for each row execute function set_updated_at();

create type user_role as enum ('admin', 'organizer', 'judge', 'member');

create table app_user (
    app_user_id       bigint generated always as identity primary key,
    email             citext not null unique check (length(email) between 3 and 254),
    display_name      text not null check (length(display_name) between 1 and 120),
    password_hash     text not null,
    role              user_role not null default 'member',
    unit_id           bigint references unit (unit_id) on delete set null,
    email_verified_at timestamptz,
    created_at        timestamptz not null default now(),
    updated_at        timestamptz not null default now()
);
create index app_user_unit_idx on app_user (unit_id);
create trigger app_user_updated_at before update on app_user for each row execute function set_updated_at();
