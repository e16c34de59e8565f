//! The Erlang C model of a queue with Poisson arrivals, exponential handle times, `c`
//! identical agents and no abandonment (M/M/c): probability of waiting, average speed of
//! answer, service level and the staffing that meets a target.
//!
//! Used to check the engine through the simulator and as a quick staffing estimate.
//! Computed with the numerically stable Erlang B recursion rather than factorials, so it
//! works for thousands of agents.

/// Offered load in Erlangs: arrivals per second × mean handle time in seconds.
pub fn load_erlangs(arrivals_per_hour: f64, mean_handle_secs: f64) -> f64 {
    arrivals_per_hour / 3600.0 * mean_handle_secs
}

/// Erlang B: probability that all `agents` are busy in a loss system offered `load`.
pub fn erlang_b(agents: u32, load: f64) -> f64 {
    // B(0) = 1, B(k) = A·B(k−1) / (k + A·B(k−1)).
    let mut b = 1.0;
    for k in 1..=agents {
        b = load * b / (f64::from(k) + load * b);
    }
    b
}

/// Erlang C: probability that an arriving contact has to wait (P_w). 1 when the load
/// reaches or exceeds the number of agents (the queue grows without bound).
pub fn prob_wait(agents: u32, load: f64) -> f64 {
    let c = f64::from(agents);
    if load <= 0.0 {
        return 0.0;
    }
    if load >= c {
        return 1.0;
    }
    let b = erlang_b(agents, load);
    c * b / (c - load * (1.0 - b))
}

/// Average speed of answer (mean wait over all contacts), seconds:
/// `P_w × AHT / (c − A)`. Infinite when the load reaches the number of agents.
pub fn asa_secs(agents: u32, load: f64, mean_handle_secs: f64) -> f64 {
    let c = f64::from(agents);
    if load >= c {
        return f64::INFINITY;
    }
    prob_wait(agents, load) * mean_handle_secs / (c - load)
}

/// Share of contacts answered within `threshold_secs`:
/// `1 − P_w × exp(−(c − A) × t / AHT)`.
pub fn service_level(agents: u32, load: f64, mean_handle_secs: f64, threshold_secs: f64) -> f64 {
    let c = f64::from(agents);
    if load >= c {
        return 0.0;
    }
    if mean_handle_secs <= 0.0 {
        return 1.0;
    }
    1.0 - prob_wait(agents, load) * (-(c - load) * threshold_secs / mean_handle_secs).exp()
}

/// Agent occupancy `A / c` (capped at 1).
pub fn occupancy(agents: u32, load: f64) -> f64 {
    if agents == 0 {
        return 1.0;
    }
    (load / f64::from(agents)).min(1.0)
}

/// The smallest number of agents whose Erlang C service level reaches `target`
/// (e.g. 0.8 for 80/20), searching up to `max_agents`.
pub fn agents_for_service_level(
    load: f64,
    mean_handle_secs: f64,
    target: f64,
    threshold_secs: f64,
    max_agents: u32,
) -> Option<u32> {
    // Below the load the queue is unstable, so start just above it.
    let start = (load.floor().max(0.0) as u32).saturating_add(1);
    (start..=max_agents)
        .find(|&c| service_level(c, load, mean_handle_secs, threshold_secs) >= target)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-9
    }

    #[test]
    fn one_agent_waits_with_probability_equal_to_its_utilisation() {
        // M/M/1: P_w = ρ and Wq = ρ/(1−ρ) × AHT.
        assert!(close(prob_wait(1, 0.7), 0.7));
        assert!(close(asa_secs(1, 0.7, 100.0), 0.7 / 0.3 * 100.0));
    }

    #[test]
    fn two_agents_at_half_load_wait_one_time_in_three() {
        // M/M/2 with A = 1: B = 0.2, C = 2·0.2 / (2 − 0.8) = 1/3.
        assert!(close(erlang_b(2, 1.0), 0.2));
        assert!(close(prob_wait(2, 1.0), 1.0 / 3.0));
    }

    #[test]
    fn overload_means_everyone_waits_forever() {
        assert_eq!(prob_wait(3, 3.0), 1.0);
        assert!(asa_secs(3, 3.5, 60.0).is_infinite());
        assert_eq!(service_level(3, 4.0, 60.0, 20.0), 0.0);
    }

    #[test]
    fn service_level_rises_with_staffing_and_the_search_finds_the_first_that_meets_it() {
        let load = load_erlangs(360.0, 240.0); // 24 Erlangs
        assert!(close(load, 24.0));
        let c = agents_for_service_level(load, 240.0, 0.8, 20.0, 200).expect("reachable");
        assert!(service_level(c, load, 240.0, 20.0) >= 0.8);
        assert!(service_level(c - 1, load, 240.0, 20.0) < 0.8);
        assert!(c > 24 && c < 35, "{c}");
        assert!(occupancy(c, load) < 1.0);
    }

    #[test]
    fn erlang_b_stays_finite_for_large_systems() {
        let p = prob_wait(2000, 1950.0);
        assert!(p > 0.0 && p < 1.0);
    }
}
