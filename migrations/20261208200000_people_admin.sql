-- People from the web (issue 18): an account an admin or organizer disabled cannot sign in,
-- and what they changed about a person is recorded (who, when, what).

-- A disabled account: its sessions and API tokens are deleted when it is disabled, and no new
-- one can be made for it while it stays disabled (the trigger below backs the sign-in check).
alter table app_user add column disabled_at timestamptz;

create function refuse_credential_of_disabled() returns trigger as $$
begin
    if exists (select 1 from app_user where app_user_id = new.app_user_id
               and disabled_at is not null) then
        raise exception 'account % is disabled', new.app_user_id using errcode = 'P0001';
    end if;
    return new;
end;
$$ language plpgsql;
create trigger web_session_not_disabled before insert on web_session
    for each row execute function refuse_credential_of_disabled();
create trigger api_token_not_disabled before insert on api_token
    for each row execute function refuse_credential_of_disabled();

-- The people list pages through names (keyset: name, id).
create index app_user_name_idx on app_user (display_name, app_user_id);

-- Every change made to a person from the people pages. `subject_id` is not a foreign key: the
-- row outlives the account (as `privacy_audit`).
create table people_audit (
    people_audit_id bigint generated always as identity primary key,
    subject_id      bigint not null,
    actor_id        bigint references app_user (app_user_id) on delete set null,
    action          text not null check (action in ('role', 'unit', 'disabled', 'enabled',
                        'member-number', 'verification-resent', 'invited')),
    detail          text not null default '' check (length(detail) <= 500),
    created_at      timestamptz not null default now()
);
create index people_audit_subject_idx on people_audit (subject_id, created_at);

-- The navigation shows "Chấm thi" to whoever judges a contest: one look-up by account.
create index contest_judge_app_user_idx on contest_judge (app_user_id) where app_user_id is not null;
