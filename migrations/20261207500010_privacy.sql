-- Personal data (issue 22): recorded consent, a guardian's consent for a child's entry,
-- a person's request to delete their account, retention after results, and an audit of what
-- was done with someone's data.

-- What a person agreed to: the privacy notice and a contest's rules (each with the version
-- they read), or a guardian's consent for a child's entry. `ip` is where it was given from.
-- Withdrawn consent keeps its row with `withdrawn_at`, as the record of both.
create table consent (
    consent_id     bigint generated always as identity primary key,
    app_user_id    bigint not null references app_user (app_user_id) on delete cascade,
    kind           text not null check (kind in ('privacy', 'rules', 'guardian')),
    notice_version text not null check (length(notice_version) between 1 and 80),
    contest_id     bigint references contest (contest_id) on delete cascade,
    entry_id       uuid references entry (entry_id) on delete cascade,
    ip             inet,
    given_at       timestamptz not null default now(),
    withdrawn_at   timestamptz
);
create index consent_user_idx on consent (app_user_id);

-- Asked only by a contest that requires it (collect the least): a child's entry then waits
-- for a parent or guardian.
alter table app_user add column birth_date date
    check (birth_date > date '1900-01-01');
alter table contest add column requires_birth_date boolean not null default false;

-- An entry of a child under 16 waits for the guardian's consent: while this is true the
-- entry is never public (the trigger below keeps it from `approved`).
alter table entry add column guardian_pending boolean not null default false;

create function entry_guardian_hold() returns trigger language plpgsql as $$
begin
    if new.guardian_pending and new.status = 'approved' then
        new.status := 'pending_review';
    end if;
    return new;
end $$;
create trigger entry_guardian_hold before insert or update on entry
    for each row execute function entry_guardian_hold();

-- The guardian's link of one child's entry: only a hash of the token, an expiry, and when
-- (and from where) the guardian agreed.
create table guardian_consent (
    entry_id       uuid primary key references entry (entry_id) on delete cascade,
    guardian_name  text not null check (length(guardian_name) between 1 and 120),
    guardian_email citext not null check (length(guardian_email) between 3 and 254),
    token_hash     bytea not null unique,
    expires_at     timestamptz not null,
    created_at     timestamptz not null default now(),
    given_at       timestamptz,
    ip             inet
);

-- Deleting an account: asked for (by its owner or an organizer), carried out after a grace
-- period by the hourly job, which anonymises the row (votes and published results keep
-- pointing at it) and sets `deleted_at`.
alter table app_user add column deletion_requested_at timestamptz;
alter table app_user add column deleted_at timestamptz;

-- Retention after results: the media of entries that won nothing and the email addresses of
-- voters who only signed in with a code go `retention_days` after results (null: kept).
alter table contest add column retention_days integer check (retention_days between 0 and 3650);
alter table contest add column retention_applied_at timestamptz;

-- What was done with a person's data, and by whom: export, deletion asked, cancelled and
-- carried out, consent withdrawn, retention applied. `subject_id` is not a foreign key: the
-- row outlives the person's data.
create table privacy_audit (
    privacy_audit_id bigint generated always as identity primary key,
    subject_id       bigint,
    actor_id         bigint references app_user (app_user_id) on delete set null,
    action           text not null check (action in ('export', 'delete-requested',
                         'delete-cancelled', 'deleted', 'consent-withdrawn', 'retention')),
    detail           text not null default '' check (length(detail) <= 2000),
    contest_id       bigint references contest (contest_id) on delete set null,
    created_at       timestamptz not null default now()
);
create index privacy_audit_subject_idx on privacy_audit (subject_id);
