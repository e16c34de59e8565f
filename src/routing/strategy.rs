//! Member selection: given the agents eligible for one contact, which one(s) get the offer.
//!
//! This is app_queue's `calc_metric` rethought as a pure function over candidates the
//! engine has already filtered for eligibility (presence, wrap-up, capacity, skills, retry
//! window). Penalty tiers are applied here: every strategy but `weighted_random` only
//! looks at the lowest penalty present among the candidates.

use rand::Rng;
use rand::rngs::SmallRng;

use super::model::{Strategy, Timestamp};

/// One eligible agent as the strategy sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Candidate {
    /// Engine-internal agent index, returned to the caller untouched.
    pub agent: u32,
    /// Member penalty in this queue.
    pub penalty: u32,
    /// Position in the configured member order.
    pub order: u32,
    /// Position in ascending agent-id order (round_robin's walk).
    pub id_order: u32,
    /// When the agent's last contact of this medium ended (`None` = never).
    pub last_ended: Option<Timestamp>,
    /// Contacts completed from this queue since the daily reset.
    pub handled: u32,
    /// Sum of the agent's levels over the contact's required skills.
    pub skill_sum: u32,
}

/// Pointers the strategies carry between decisions.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Cursor {
    /// Queue-wide round-robin pointer: the walk position of the agent offered last.
    pub rr_last: Option<u32>,
    /// The contact's linear pointer: the first configured position to try.
    pub linear_next: u32,
}

/// Never-used agents sort before everyone (app_queue: "never-called members come first").
fn recency(c: &Candidate) -> i64 {
    c.last_ended.map_or(i64::MIN, |t| t.0)
}

/// Walk position after `last`, wrapping: positions after the pointer come first.
fn after(pos: u32, last: Option<u32>) -> (bool, u32) {
    match last {
        Some(last) => (pos <= last, pos),
        None => (false, pos),
    }
}

/// Picks the agent(s) to offer to. Writes the chosen candidates' `agent` values into
/// `out` (several only for `ring_all`) and returns nothing if `cands` is empty.
pub(crate) fn pick(
    strategy: Strategy,
    cands: &[Candidate],
    cursor: Cursor,
    rng: &mut SmallRng,
    out: &mut Vec<u32>,
) {
    out.clear();
    if cands.is_empty() {
        return;
    }
    if strategy == Strategy::WeightedRandom {
        // wrandom: penalty is only a weight, no tiers. Ties go to configured order.
        let best = cands.iter().min_by_key(|c| {
            let span = (1 + u64::from(c.penalty)) * 1000;
            (rng.r#gen::<u64>() % span, c.order)
        });
        out.extend(best.map(|c| c.agent));
        return;
    }
    let tier = cands.iter().map(|c| c.penalty).min().unwrap_or(0);
    let in_tier = || cands.iter().filter(move |c| c.penalty == tier);
    let chosen = match strategy {
        Strategy::RingAll => {
            out.extend(in_tier().map(|c| c.agent));
            return;
        }
        Strategy::RoundRobin => in_tier().min_by_key(|c| after(c.id_order, cursor.rr_last)),
        Strategy::RoundRobinOrdered => in_tier().min_by_key(|c| after(c.order, cursor.rr_last)),
        Strategy::LeastRecent => in_tier().min_by_key(|c| (recency(c), c.order)),
        Strategy::FewestContacts => in_tier().min_by_key(|c| (c.handled, c.order)),
        Strategy::Random => {
            let n = in_tier().count();
            let k = rng.gen_range(0..n);
            in_tier().nth(k)
        }
        Strategy::Linear => {
            // Members before the pointer are only tried after wrapping around.
            in_tier().min_by_key(|c| (c.order < cursor.linear_next, c.order))
        }
        Strategy::SkillsBest => {
            in_tier().min_by_key(|c| (std::cmp::Reverse(c.skill_sum), recency(c), c.order))
        }
        Strategy::WeightedRandom => None, // handled above
    };
    out.extend(chosen.map(|c| c.agent));
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    fn cand(agent: u32, penalty: u32) -> Candidate {
        Candidate {
            agent,
            penalty,
            order: agent,
            id_order: agent,
            last_ended: None,
            handled: 0,
            skill_sum: 0,
        }
    }

    fn run(strategy: Strategy, cands: &[Candidate], cursor: Cursor) -> Vec<u32> {
        let mut rng = SmallRng::seed_from_u64(7);
        let mut out = Vec::new();
        pick(strategy, cands, cursor, &mut rng, &mut out);
        out
    }

    #[test]
    fn no_candidates_picks_nobody() {
        assert!(run(Strategy::RingAll, &[], Cursor::default()).is_empty());
    }

    #[test]
    fn ring_all_offers_every_agent_of_the_lowest_tier_only() {
        let cands = [cand(0, 1), cand(1, 0), cand(2, 0), cand(3, 2)];
        assert_eq!(
            run(Strategy::RingAll, &cands, Cursor::default()),
            vec![1, 2]
        );
    }

    #[test]
    fn round_robin_resumes_after_the_last_offered_agent_and_wraps() {
        let cands = [cand(0, 0), cand(1, 0), cand(2, 0)];
        let cur = |last| Cursor {
            rr_last: Some(last),
            linear_next: 0,
        };
        assert_eq!(run(Strategy::RoundRobin, &cands, cur(0)), vec![1]);
        assert_eq!(run(Strategy::RoundRobin, &cands, cur(2)), vec![0]);
        assert_eq!(
            run(Strategy::RoundRobin, &cands, Cursor::default()),
            vec![0]
        );
    }

    #[test]
    fn round_robin_walks_id_order_while_ordered_walks_configured_order() {
        // Configured order is the reverse of id order.
        let mut cands = [cand(10, 0), cand(11, 0), cand(12, 0)];
        for (i, c) in cands.iter_mut().enumerate() {
            c.id_order = i as u32;
            c.order = 2 - i as u32;
        }
        let cursor = Cursor {
            rr_last: Some(0),
            linear_next: 0,
        };
        assert_eq!(run(Strategy::RoundRobin, &cands, cursor), vec![11]);
        // Ordered: after configured position 0 (agent 12) comes position 1 (agent 11),
        // and with the pointer at 1, position 2 (agent 10).
        let cursor = Cursor {
            rr_last: Some(1),
            linear_next: 0,
        };
        assert_eq!(run(Strategy::RoundRobinOrdered, &cands, cursor), vec![10]);
    }

    #[test]
    fn least_recent_prefers_never_used_then_oldest_last_contact() {
        let mut a = cand(0, 0);
        a.last_ended = Some(Timestamp(500));
        let mut b = cand(1, 0);
        b.last_ended = Some(Timestamp(100));
        let c = cand(2, 0);
        assert_eq!(
            run(Strategy::LeastRecent, &[a, b, c], Cursor::default()),
            vec![2]
        );
        assert_eq!(
            run(Strategy::LeastRecent, &[a, b], Cursor::default()),
            vec![1]
        );
    }

    #[test]
    fn fewest_contacts_prefers_the_agent_with_fewest_handled_today() {
        let mut a = cand(0, 0);
        a.handled = 3;
        let mut b = cand(1, 0);
        b.handled = 1;
        assert_eq!(
            run(Strategy::FewestContacts, &[a, b], Cursor::default()),
            vec![1]
        );
    }

    #[test]
    fn random_stays_within_the_lowest_tier_and_uses_everyone_there() {
        let cands = [cand(0, 0), cand(1, 0), cand(2, 5)];
        let mut rng = SmallRng::seed_from_u64(1);
        let mut seen = [0u32; 3];
        let mut out = Vec::new();
        for _ in 0..1000 {
            pick(
                Strategy::Random,
                &cands,
                Cursor::default(),
                &mut rng,
                &mut out,
            );
            seen[out[0] as usize] += 1;
        }
        assert_eq!(seen[2], 0);
        assert!(seen[0] > 400 && seen[1] > 400, "{seen:?}");
    }

    #[test]
    fn linear_starts_at_the_pointer_and_wraps_to_earlier_members() {
        let cands = [cand(0, 0), cand(1, 0), cand(2, 0)];
        let cur = |next| Cursor {
            rr_last: None,
            linear_next: next,
        };
        assert_eq!(run(Strategy::Linear, &cands, cur(0)), vec![0]);
        assert_eq!(run(Strategy::Linear, &cands, cur(2)), vec![2]);
        assert_eq!(run(Strategy::Linear, &cands, cur(3)), vec![0]);
    }

    #[test]
    fn weighted_random_ignores_tiers_but_favours_low_penalty() {
        let cands = [cand(0, 0), cand(1, 3)];
        let mut rng = SmallRng::seed_from_u64(3);
        let mut seen = [0u32; 2];
        let mut out = Vec::new();
        for _ in 0..4000 {
            pick(
                Strategy::WeightedRandom,
                &cands,
                Cursor::default(),
                &mut rng,
                &mut out,
            );
            seen[out[0] as usize] += 1;
        }
        // Draws from 0..1000 vs 0..4000: the penalty-3 agent wins about 1/8 of the time.
        assert!(seen[1] > 300 && seen[1] < 700, "{seen:?}");
    }

    #[test]
    fn skills_best_prefers_the_highest_sum_then_least_recent() {
        let mut a = cand(0, 0);
        a.skill_sum = 12;
        a.last_ended = Some(Timestamp(10));
        let mut b = cand(1, 0);
        b.skill_sum = 15;
        b.last_ended = Some(Timestamp(900));
        let mut c = cand(2, 0);
        c.skill_sum = 15;
        c.last_ended = Some(Timestamp(100));
        assert_eq!(
            run(Strategy::SkillsBest, &[a, b, c], Cursor::default()),
            vec![2]
        );
    }

    #[test]
    fn every_tiered_strategy_exhausts_the_lower_tier_first() {
        let cands = [cand(0, 2), cand(1, 1), cand(2, 3)];
        for s in [
            Strategy::RoundRobin,
            Strategy::RoundRobinOrdered,
            Strategy::LeastRecent,
            Strategy::FewestContacts,
            Strategy::Random,
            Strategy::Linear,
            Strategy::SkillsBest,
        ] {
            assert_eq!(run(s, &cands, Cursor::default()), vec![1], "{s:?}");
        }
    }
}
