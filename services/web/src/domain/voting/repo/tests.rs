//! The matching of the vote statement's rows to each vote of a batch.

use super::*;

fn key(n: u128) -> Uuid {
    Uuid::from_u128(n)
}

#[test]
fn each_vote_is_matched_to_what_the_statement_inserted() {
    let (a, b) = (key(1), key(2));
    let rows: Vec<VoteRow> = vec![
        // Counted: its (entry, voter, slot) went in.
        (
            0,
            None,
            Some(7),
            Some(a),
            Some(10),
            Some(1),
            None,
            None,
            None,
        ),
        // Same entry and voter, second slot, not inserted: already voted.
        (
            1,
            None,
            Some(7),
            Some(a),
            Some(10),
            Some(2),
            None,
            None,
            None,
        ),
        // Refused before slotting.
        (
            2,
            Some("voting-closed".into()),
            Some(7),
            None,
            None,
            None,
            None,
            None,
            None,
        ),
        // Over the round limit, and over the contest limit.
        (
            3,
            None,
            Some(7),
            Some(b),
            Some(11),
            Some(1),
            Some(true),
            Some(false),
            None,
        ),
        (
            4,
            None,
            Some(7),
            Some(b),
            Some(12),
            Some(1),
            Some(false),
            Some(true),
            None,
        ),
        // Over the category limit only.
        (
            6,
            None,
            Some(7),
            Some(b),
            Some(14),
            Some(1),
            Some(false),
            Some(false),
            Some(true),
        ),
        // A conflicting slot another batch took: not inserted here.
        (
            5,
            None,
            Some(7),
            Some(b),
            Some(13),
            Some(1),
            Some(false),
            Some(false),
            None,
        ),
        // The inserted keys.
        (-1, None, None, Some(a), Some(10), Some(1), None, None, None),
        (-1, None, None, Some(b), Some(99), Some(1), None, None, None),
    ];
    assert_eq!(
        outcomes(8, rows),
        vec![
            Outcome::Counted { contest_id: 7 },
            Outcome::AlreadyVoted,
            Outcome::Refused("voting-closed"),
            Outcome::Refused("round-limit-reached"),
            Outcome::Refused("contest-limit-reached"),
            Outcome::AlreadyVoted,
            Outcome::Refused("category-limit-reached"),
            // No row at all for the eighth vote: never counted by default.
            Outcome::AlreadyVoted,
        ]
    );
}
