-- The union's own member list (issue 20): the rows of the spreadsheet a union keeps,
-- imported from XLSX or CSV by an admin or an organizer of the unit. A row with an email has
-- an account (invited, or the existing one with this member number and unit attached); a row
-- with only a phone stays here. Re-importing finds a row by member number, else email, else
-- phone, and updates it.
create table roster_member (
    roster_member_id bigint generated always as identity primary key,
    full_name        text not null check (length(full_name) between 1 and 120),
    email            citext check (length(email) between 3 and 254),
    phone            text check (phone ~ '^\+?[0-9]{9,15}$'),
    member_number    text check (member_number ~ '^[A-Za-z0-9][A-Za-z0-9._/-]{0,39}$'),
    unit_id          bigint not null references unit (unit_id) on delete cascade,
    app_user_id      bigint references app_user (app_user_id) on delete set null,
    imported_by      bigint references app_user (app_user_id) on delete set null,
    created_at       timestamptz not null default now(),
    updated_at       timestamptz not null default now(),
    check (email is not null or phone is not null)
);
create unique index roster_member_number_idx on roster_member (member_number)
    where member_number is not null;
create unique index roster_member_email_idx on roster_member (email)
    where member_number is null and email is not null;
create index roster_member_unit_idx on roster_member (unit_id);
create index roster_member_app_user_idx on roster_member (app_user_id);

-- A checked file waiting for its importer's confirmation (the preview's rows as CSV), for a
-- day at most: the confirm step names it, so a large list needs no second upload.
create table roster_upload (
    roster_upload_id uuid primary key,
    created_by       bigint not null references app_user (app_user_id) on delete cascade,
    rows_csv         text not null,
    created_at       timestamptz not null default now()
);
