-- Certificates (issue 20): "giấy chứng nhận" of a contest's winners and, where the organizer
-- turns it on, of everyone who took part. A certificate keeps the facts it was issued with
-- (name, unit, award, contest, date), so the PDF and the public check page agree even if a
-- name changes later. One per (contest, person, award): issuing twice at once issues once.

alter table contest add column participant_certificates boolean not null default false;

create table certificate (
    certificate_id bigint generated always as identity primary key,
    -- 16 characters of Crockford's base32 (80 random bits), shown as HT-XXXX-XXXX-XXXX-XXXX.
    code           text not null unique check (code ~ '^[0-9A-HJKMNP-TV-Z]{16}$'),
    contest_id     bigint not null references contest (contest_id) on delete cascade,
    app_user_id    bigint not null references app_user (app_user_id) on delete cascade,
    award          text not null check (award in ('first', 'second', 'third', 'participant')),
    -- The facts at issue time. `holder_name` and `holder_unit` are cleared when the account is
    -- deleted: the code keeps verifying, without a name (docs/privacy.md).
    holder_name    text check (length(holder_name) <= 200),
    holder_unit    text check (length(holder_unit) <= 200),
    entry_title    text check (length(entry_title) <= 300),
    contest_title  text not null,
    issuer_name    text not null default '',
    awarded_on     date not null,
    issued_at      timestamptz not null default now(),
    unique (contest_id, app_user_id, award)
);
create index certificate_app_user_idx on certificate (app_user_id);
