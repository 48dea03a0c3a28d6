//! `JudgeOf`: a judge bound to the contest of the route (filled in by the judging redesign).
