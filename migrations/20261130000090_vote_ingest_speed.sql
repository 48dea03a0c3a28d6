-- The vote spike path (a livestream's "vote now"): every foreign key of `vote` cost a
-- lookup and a row lock per vote, inside the one statement that writes a batch, and the
-- voter's key locked a different app_user row for every vote. The ingest statement itself
-- reads the entry (and from it the contest) and takes the voter from a live session, so a
-- vote cannot name a missing entry or voter; what the keys also did — follow a deletion —
-- is done here from the other side, once per deleting statement instead of once per vote.
alter table vote drop constraint vote_contest_id_fkey;
alter table vote drop constraint vote_entry_id_fkey;
alter table vote drop constraint vote_voter_id_fkey;

-- Deleting entries (also by a contest's cascade) deletes their votes.
create function vote_follow_entry_delete() returns trigger language plpgsql as $$
begin
    delete from vote v using gone g where v.entry_id = g.entry_id;
    return null;
end $$;
create trigger vote_follow_entry_delete after delete on entry
    referencing old table as gone for each statement execute function vote_follow_entry_delete();

-- A user who has voted cannot be deleted (the votes are evidence until the dispute window
-- ends; erase the person's data instead).
create function vote_keep_voter() returns trigger language plpgsql as $$
begin
    if exists (select 1 from vote v join gone g on v.voter_id = g.app_user_id) then
        raise exception 'a user who has voted cannot be deleted'
            using errcode = 'foreign_key_violation';
    end if;
    return null;
end $$;
create trigger vote_keep_voter after delete on app_user
    referencing old table as gone for each statement execute function vote_keep_voter();

-- Tallies in shards. One row per entry made every batch that counted a vote for the entry on
-- stage wait for the previous batch's commit (a disk flush) before it could add its own, so
-- concurrent writers queued on that row. Each writer now adds to its own shard row of the
-- entry (`shard` = the writer's number); the tally is the sum of an entry's shards, read
-- through the view `vote_tally`, so readers see one row per entry as before. Invalidating
-- and restoring apply their difference to shard 0, so a single shard may go below zero;
-- the sum cannot.
alter table vote_tally rename to vote_tally_shard;
alter table vote_tally_shard drop constraint vote_tally_votes_check;
alter table vote_tally_shard add column shard smallint not null default 0 check (shard between 0 and 1000);
alter table vote_tally_shard drop constraint vote_tally_pkey;
alter table vote_tally_shard add primary key (entry_id, shard);
create view vote_tally as
    select entry_id, contest_id, sum(votes)::int8 as votes, max(updated_at) as updated_at
    from vote_tally_shard
    group by entry_id, contest_id;
