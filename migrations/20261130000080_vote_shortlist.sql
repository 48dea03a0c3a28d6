-- A judging round marked `public_shortlist` picks the entries of the public vote: once it has
-- advanced entries, only those take votes. The vote ingest asks for this view inside its one
-- statement (hashed once per batch, as `live_vote_entry`).
create view vote_shortlist as
    select r.contest_id, re.entry_id
    from judging_round r
    join round_entry re on re.judging_round_id = r.judging_round_id
    where r.public_shortlist and re.advanced;
