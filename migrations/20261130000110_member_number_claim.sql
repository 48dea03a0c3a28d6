-- A voter states their member number once (the vote page of a contest whose roster lists
-- member numbers asks for it); one account per number, compared as the roster compares
-- (case-insensitively), so one member cannot vote through several accounts.
drop index app_user_member_number_idx;
create unique index app_user_member_number_key on app_user (lower(member_number))
    where member_number is not null;
