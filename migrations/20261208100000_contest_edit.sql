-- Organizers edit a contest after creating it (issue 18): a setting that lets voting run
-- while submissions still come in, and the history of every change (who, when, which field,
-- old → new), written by the edit page, `PATCH /api/v1/contests/{slug}` and the phase
-- controls alike. Expand only: older nodes keep working (the column has a default).
alter table contest add column voting_overlaps_submission boolean not null default false;

create table contest_change (
    contest_change_id bigint generated always as identity primary key,
    contest_id  bigint not null references contest (contest_id) on delete cascade,
    -- Null once the account is deleted; the change stays.
    app_user_id bigint references app_user (app_user_id) on delete set null,
    field       text not null,
    old_value   text,
    new_value   text,
    created_at  timestamptz not null default now()
);
create index contest_change_contest_idx on contest_change (contest_id, contest_change_id desc);

-- The early closes and reopens logged so far become the first lines of the history.
insert into contest_change (contest_id, app_user_id, field, old_value, new_value, created_at)
select contest_id, app_user_id, phase || '_closes_at',
       to_char(old_closes_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'),
       to_char(new_closes_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'),
       created_at
from contest_phase_log order by contest_phase_log_id;
