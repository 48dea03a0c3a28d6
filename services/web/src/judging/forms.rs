//! What judging's forms and queries carry, and numbers as typed and as shown. The
//! organizer's forms are checked into the domain's terms here: a round's set-up
//! (criteria, formula, tie-break, fairness rules) and how to assign judges. A form that does
//! not pass gives the refusal the page shows.

use std::collections::HashMap;

use hoithi_core::i18n::Lang;
use serde::Deserialize;

use crate::domain::judging::JudgingRefusal;
use crate::domain::judging::assign::Mode;
use crate::domain::judging::math::{JudgeBasis, TieBreak, VoteScaling, parse_number, round2};
use crate::domain::judging::rounds::{CriterionDraft, Setup};

/// `?round=N` of a page, an export or an API call: the latest round when absent.
#[derive(Debug, Default, Deserialize)]
pub struct RoundQuery {
    pub round: Option<i32>,
}

/// A number as shown: two decimals, the Vietnamese way (a comma) or the English way.
pub fn show(lang: Lang, x: f64) -> String {
    let s = format!("{:.2}", round2(x));
    match lang {
        Lang::Vi => s.replace('.', ","),
        Lang::En => s,
    }
}

/// A form's fields by name.
pub type Fields = HashMap<String, String>;

/// A field, trimmed; empty when absent.
pub fn field<'a>(f: &'a Fields, k: &str) -> &'a str {
    f.get(k).map_or("", |s| s.trim())
}

/// The round number a form names.
pub fn round_of(f: &Fields) -> Option<i32> {
    field(f, "round").parse().ok()
}

/// The most criteria a round has (rows of the form).
const CRITERIA_MAX: usize = 20;

/// The set-up form, checked.
pub fn parse_setup(f: &Fields) -> Result<Setup, JudgingRefusal> {
    let name = field(f, "name");
    if name.is_empty() || name.chars().count() > 200 {
        return Err(JudgingRefusal::RoundNameInvalid);
    }
    let mut criteria = Vec::new();
    for i in 0..CRITERIA_MAX {
        if let Some(c) = parse_criterion(f, i)? {
            criteria.push(c);
        }
    }
    let judges_weight: i32 = field(f, "judges_weight")
        .parse()
        .ok()
        .filter(|w| (0..=100).contains(w))
        .ok_or(JudgingRefusal::JudgesWeightInvalid)?;
    let vote_scaling =
        VoteScaling::parse(field(f, "vote_scaling")).ok_or(JudgingRefusal::ChoiceInvalid)?;
    let judge_basis =
        JudgeBasis::parse(field(f, "judge_basis")).ok_or(JudgingRefusal::ChoiceInvalid)?;
    let on = |k: &str| f.contains_key(k);
    Ok(Setup {
        name: name.to_owned(),
        criteria,
        judges_weight,
        vote_scaling,
        judge_basis,
        tie_break: parse_tie_break(f)?,
        half_points: on("half_points"),
        conflict_own_unit: on("conflict_own_unit"),
        public_shortlist: on("public_shortlist"),
        blind: on("blind"),
    })
}

/// Row `i` of the criteria; `None` when it is left blank.
fn parse_criterion(f: &Fields, i: usize) -> Result<Option<CriterionDraft>, JudgingRefusal> {
    let name = field(f, &format!("crit_name_{i}"));
    let max = field(f, &format!("crit_max_{i}"));
    if name.is_empty() && max.is_empty() {
        return Ok(None);
    }
    if name.is_empty() || name.chars().count() > 200 {
        return Err(JudgingRefusal::CriterionNameInvalid);
    }
    let in_range = |x: &f64| *x > 0.0 && *x <= 1000.0;
    let max = parse_number(max)
        .filter(in_range)
        .ok_or(JudgingRefusal::CriterionMaxInvalid)?;
    let weight = match field(f, &format!("crit_weight_{i}")) {
        "" => 1.0,
        w => parse_number(w)
            .filter(in_range)
            .ok_or(JudgingRefusal::CriterionWeightInvalid)?,
    };
    let description = field(f, &format!("crit_desc_{i}"));
    if description.chars().count() > 2000 {
        return Err(JudgingRefusal::CriterionDescriptionTooLong);
    }
    Ok(Some(CriterionDraft {
        id: field(f, &format!("crit_id_{i}")).parse().ok(),
        name: name.to_owned(),
        description: description.to_owned(),
        max,
        weight,
    }))
}

/// The tie-break steps as chosen (`tie_0` … `tie_3`), each once, in order.
fn parse_tie_break(f: &Fields) -> Result<Vec<String>, JudgingRefusal> {
    let mut steps: Vec<String> = Vec::new();
    for i in 0..4 {
        let t = field(f, &format!("tie_{i}"));
        if t.is_empty() {
            continue;
        }
        if !t.starts_with("criterion:#") && TieBreak::parse(t).is_none() {
            return Err(JudgingRefusal::ChoiceInvalid);
        }
        if !steps.iter().any(|x| x == t) {
            steps.push(t.to_owned());
        }
    }
    Ok(steps)
}

/// How the assignment form spreads entries; a unit is given by its id once looked up.
pub enum ModeChoice {
    Ready(Mode),
    /// One judge for a unit's entries: the unit's slug still to be looked up.
    Unit {
        email: String,
        unit: String,
    },
}

/// The assignment form's mode, checked.
pub fn parse_mode(f: &Fields) -> Result<ModeChoice, JudgingRefusal> {
    Ok(match field(f, "mode") {
        "all" => ModeChoice::Ready(Mode::All),
        "even" => match field(f, "quorum").parse::<usize>() {
            Ok(q) if (1..=50).contains(&q) => ModeChoice::Ready(Mode::Even { quorum: q }),
            _ => return Err(JudgingRefusal::QuorumInvalid),
        },
        "unit" => ModeChoice::Unit {
            email: field(f, "email").to_owned(),
            unit: field(f, "unit").to_owned(),
        },
        _ => return Err(JudgingRefusal::ChoiceInvalid),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typed_numbers_take_a_comma_or_a_dot() {
        assert_eq!(parse_number("7,5"), Some(7.5));
        assert_eq!(parse_number(" 8 "), Some(8.0));
        assert_eq!(parse_number(""), None);
        assert_eq!(parse_number("NaN"), None);
        assert_eq!(parse_number("inf"), None);
        assert_eq!(show(Lang::Vi, 7.456), "7,46");
    }
}
