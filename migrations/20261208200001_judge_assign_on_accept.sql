-- An organizer invites a judge and assigns them in one step (issue 18): what to assign when the
-- invitation is accepted. `assign_round_id` set: assign in that round, `assign_entries` those
-- entries (null: every entry the judge may score). Cleared once done.
alter table contest_judge
    add column assign_round_id bigint references judging_round (judging_round_id) on delete set null,
    add column assign_entries uuid[];
