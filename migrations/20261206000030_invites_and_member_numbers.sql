-- Nothing is granted to an address an account merely typed. A judge invitation acts only for
-- the verified account that accepted it (through a single-use link mailed to the invited
-- address, or at once when the address already belongs to a verified account); a member
-- number passes a contest's roster only when the roster's email for it is the voter's
-- verified email, or when the contest's organizer confirmed that voter for it.

-- Judges: the account an invitation is bound to, and the pending invitation link (only a
-- hash of the token is stored; a new invitation replaces it, acceptance spends it).
alter table contest_judge
    add column app_user_id bigint references app_user (app_user_id) on delete cascade,
    add column accepted_at timestamptz,
    add column invite_token_hash bytea unique,
    add column invite_expires_at timestamptz,
    add constraint contest_judge_accepted_by check ((app_user_id is null) = (accepted_at is null));
-- One invitation per account and contest (an account has one address).
create unique index contest_judge_user_key on contest_judge (contest_id, app_user_id)
    where app_user_id is not null;
-- Judges whose account proved the address keep judging; an unverified holder of an invited
-- address is not bound, and must accept a fresh invitation once verified.
update contest_judge cj set app_user_id = u.app_user_id, accepted_at = now()
from app_user u
where u.email = cj.email and u.email_verified_at is not null;

-- Member numbers: a stated number is a claim, so two accounts may state the same number (a
-- dispute the organizer resolves) instead of the first comer locking the member out.
drop index app_user_member_number_key;
create index app_user_member_number_idx on app_user (lower(member_number))
    where member_number is not null;

-- A roster line may bind a member number to the member's email (`member_number,email`).
alter table vote_roster
    add column email citext check (length(email) between 3 and 254),
    add constraint vote_roster_email_of_member check (email is null or kind = 'member');
create index vote_roster_member_email_idx on vote_roster (contest_id, email)
    where email is not null;

-- An organizer's decision on a claim in one contest: this account is (confirmed) or is not
-- (rejected) the member with this number. At most one confirmed account per number.
create table member_decision (
    contest_id    bigint not null references contest (contest_id) on delete cascade,
    member_number citext not null check (length(member_number) between 1 and 40),
    app_user_id   bigint not null references app_user (app_user_id) on delete cascade,
    decision      text not null check (decision in ('confirmed', 'rejected')),
    decided_by    bigint references app_user (app_user_id) on delete set null,
    decided_at    timestamptz not null default now(),
    primary key (contest_id, member_number, app_user_id)
);
create unique index member_decision_one_holder on member_decision (contest_id, member_number)
    where decision = 'confirmed';

-- Whether a voter passes a contest's roster: a verified account listed by its email, or
-- holding a listed member number the organizer confirmed for it, or named by the email the
-- roster gives for a number (unless the organizer decided that number otherwise). The one
-- definition the vote statement, the claim page and the organizer's page all use.
create function voter_on_roster(p_contest bigint, p_voter bigint) returns boolean
language sql stable as $$
    select exists (
        select 1 from app_user u
        where u.app_user_id = p_voter and u.email_verified_at is not null
          and (exists (select 1 from vote_roster r
                       where r.contest_id = p_contest and r.kind = 'email' and r.value = u.email)
               or exists (select 1 from vote_roster r
                          join member_decision d
                            on d.contest_id = r.contest_id and d.member_number = r.value
                          where r.contest_id = p_contest and r.kind = 'member'
                            and r.value = u.member_number::citext
                            and d.app_user_id = u.app_user_id and d.decision = 'confirmed')
               or exists (select 1 from vote_roster r
                          where r.contest_id = p_contest and r.kind = 'member' and r.email = u.email
                            and not exists (select 1 from member_decision d
                                            where d.contest_id = r.contest_id
                                              and d.member_number = r.value
                                              and (d.decision = 'confirmed'
                                                   or d.app_user_id = u.app_user_id)))))
$$;

-- The organizer's decisions on member numbers are audited with the roster's other changes.
alter table vote_audit drop constraint vote_audit_action_check;
alter table vote_audit add constraint vote_audit_action_check
    check (action in ('invalidate', 'restore', 'roster', 'policy', 'erase-ips', 'member-number'));
