-- A category's own vote limit (issue 20): `contest_category.vote_policy.per_category` caps a
-- voter's votes within one category, numbered 1..limit like `contest_slot`, so a unique key
-- refuses the vote beyond it even when two arrive at the same instant on two nodes. The
-- vote keeps the category its entry was in when it was cast (an entry moves only while
-- submission is open). Expand only: older nodes leave both columns null.
alter table vote add column category_id bigint;
alter table vote add column category_slot smallint check (category_slot between 1 and 10000);
create unique index vote_once_per_category_slot on vote (category_id, voter_id, category_slot)
    where category_slot is not null;
