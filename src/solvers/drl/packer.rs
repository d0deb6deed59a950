//! The optimisation subroutine of the proposed scheme: exact packing of one edge
//! server's RBs and compute units.
//!
//! The policy chooses, task by task, *what* runs at the edge or in the cloud (location
//! and model); the packer decides *how much* each gets. Every edge task has a Pareto
//! list of `(r, u)` pairs and every cloud task a fixed `r`. The packer keeps, by dynamic
//! programming over the chosen edge tasks, `dp[b]` = the fewest compute units with which
//! they can all be served using exactly `b` RBs. A new choice is feasible exactly when
//! some `b` leaves room for the cloud tasks' RBs and `dp[b] <= U`, so masking with it
//! never rejects a feasible choice and never accepts an infeasible one; the pairs are
//! re-balanced among all chosen tasks at every step (a greedy commits them one by one).

const INF: u32 = u32::MAX / 2;

/// The packing state of one edge server.
#[derive(Debug, Clone)]
pub struct EdgePacker {
    rbs: u32,
    units: u32,
    cloud_rbs: u32,
    /// Pareto lists of the chosen edge tasks, in order of choice.
    items: Vec<Vec<(u32, u32)>>,
    /// `layers[i][b]`: fewest units for the first `i` edge tasks using exactly `b` RBs.
    layers: Vec<Vec<u32>>,
}

impl EdgePacker {
    pub fn new(rbs: u32, units: u32) -> Self {
        let mut first = vec![INF; rbs as usize + 1];
        first[0] = 0;
        EdgePacker { rbs, units, cloud_rbs: 0, items: Vec::new(), layers: vec![first] }
    }

    fn last(&self) -> &[u32] {
        self.layers.last().map(Vec::as_slice).unwrap_or(&[])
    }

    fn next_layer(&self, pareto: &[(u32, u32)]) -> Vec<u32> {
        let dp = self.last();
        let mut next = vec![INF; dp.len()];
        for (b, slot) in next.iter_mut().enumerate() {
            for &(r, u) in pareto {
                let r = r as usize;
                if r <= b && dp[b - r] < INF {
                    *slot = (*slot).min(dp[b - r] + u);
                }
            }
        }
        next
    }

    fn feasible(&self, dp: &[u32], cloud_rbs: u32) -> bool {
        cloud_rbs <= self.rbs && dp[..=(self.rbs - cloud_rbs) as usize].iter().any(|&u| u <= self.units)
    }

    /// Whether an edge task with this Pareto list can be added.
    pub fn can_add_edge(&self, pareto: &[(u32, u32)]) -> bool {
        !pareto.is_empty() && self.feasible(&self.next_layer(pareto), self.cloud_rbs)
    }

    /// Whether a cloud task needing `r` RBs can be added.
    pub fn can_add_cloud(&self, r: u32) -> bool {
        self.feasible(self.last(), self.cloud_rbs + r)
    }

    /// Adds an edge task; returns false (and changes nothing) when it cannot fit.
    pub fn add_edge(&mut self, pareto: &[(u32, u32)]) -> bool {
        let next = self.next_layer(pareto);
        if pareto.is_empty() || !self.feasible(&next, self.cloud_rbs) {
            return false;
        }
        self.items.push(pareto.to_vec());
        self.layers.push(next);
        true
    }

    /// Adds a cloud task; returns false (and changes nothing) when it cannot fit.
    pub fn add_cloud(&mut self, r: u32) -> bool {
        if !self.can_add_cloud(r) {
            return false;
        }
        self.cloud_rbs += r;
        true
    }

    /// Spare capacity of the cheapest packing: `(RBs, units)` left when the chosen tasks
    /// use the fewest units (ties: fewest RBs).
    pub fn slack(&self) -> (u32, u32) {
        let dp = self.last();
        let budget = self.rbs.saturating_sub(self.cloud_rbs) as usize;
        let best =
            (0..=budget.min(dp.len() - 1)).filter(|&b| dp[b] <= self.units).min_by_key(|&b| (dp[b], b));
        match best {
            Some(b) => (self.rbs - self.cloud_rbs - b as u32, self.units - dp[b]),
            None => (0, 0),
        }
    }

    /// The `(r, u)` of every chosen edge task, in order of choice, for the packing that
    /// uses the fewest units (ties: fewest RBs). Always feasible.
    pub fn allocation(&self) -> Vec<(u32, u32)> {
        let dp = self.last();
        let budget = (self.rbs - self.cloud_rbs) as usize;
        let Some(mut b) = (0..=budget).filter(|&b| dp[b] <= self.units).min_by_key(|&b| (dp[b], b)) else {
            return Vec::new();
        };
        let mut out = vec![(0, 0); self.items.len()];
        for i in (0..self.items.len()).rev() {
            let (prev, target) = (&self.layers[i], self.layers[i + 1][b]);
            let &(r, u) = self.items[i]
                .iter()
                .find(|&&(r, u)| {
                    (r as usize) <= b && prev[b - r as usize] < INF && prev[b - r as usize] + u == target
                })
                .expect("a chosen pair reaches every finite dp entry");
            out[i] = (r, u);
            b -= r as usize;
        }
        out
    }

    pub fn n_edge_tasks(&self) -> usize {
        self.items.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rebalances_pairs_that_a_greedy_would_commit() {
        // 4 RBs, 4 units. Task A: (1,3) or (3,1). Task B: (1,3) or (3,1)... both cannot
        // take (1,3) (6 units) nor (3,1) (6 RBs); A=(1,3), B=(3,1) fits exactly.
        let mut p = EdgePacker::new(4, 4);
        assert!(p.add_edge(&[(1, 3), (3, 1)]));
        assert!(p.add_edge(&[(1, 3), (3, 1)]));
        let alloc = p.allocation();
        assert_eq!(alloc.iter().map(|x| x.0).sum::<u32>(), 4);
        assert_eq!(alloc.iter().map(|x| x.1).sum::<u32>(), 4);
        assert_eq!(p.slack(), (0, 0));
        // Nothing else fits.
        assert!(!p.can_add_edge(&[(1, 1)]));
        assert!(!p.can_add_cloud(1));
    }

    #[test]
    fn cloud_rbs_shrink_the_budget() {
        let mut p = EdgePacker::new(5, 10);
        assert!(p.add_cloud(2));
        assert!(p.add_edge(&[(1, 8), (3, 2)]));
        // Edge task can still use (1, 8): 3 RBs left for a cloud task of 2.
        assert!(p.can_add_cloud(2));
        assert!(p.add_cloud(2));
        assert_eq!(p.allocation(), vec![(1, 8)]);
        assert!(!p.can_add_cloud(1));
        assert_eq!(p.slack(), (0, 2));
    }

    #[test]
    fn exact_against_enumeration() {
        use rand::{Rng, SeedableRng};
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(3);
        for _ in 0..300 {
            let (nb, nu) = (rng.gen_range(1..8u32), rng.gen_range(1..8u32));
            let mut p = EdgePacker::new(nb, nu);
            let mut chosen: Vec<Vec<(u32, u32)>> = Vec::new();
            for _ in 0..4 {
                let mut pareto: Vec<(u32, u32)> = Vec::new();
                let mut u = rng.gen_range(1..6u32);
                for r in 1..=nb {
                    if rng.gen_bool(0.4) && u >= 1 {
                        pareto.push((r, u));
                        if u == 1 {
                            break;
                        }
                        u -= rng.gen_range(1..=u.min(3)).min(u - 1).max(1);
                    }
                }
                // Brute force: does some combination of pairs fit?
                let mut all = chosen.clone();
                all.push(pareto.clone());
                let fits = brute_fits(&all, nb, nu);
                assert_eq!(p.can_add_edge(&pareto), fits, "{all:?} nb={nb} nu={nu}");
                if p.add_edge(&pareto) {
                    chosen.push(pareto);
                    let alloc = p.allocation();
                    assert!(alloc.iter().map(|x| x.0).sum::<u32>() <= nb);
                    assert!(alloc.iter().map(|x| x.1).sum::<u32>() <= nu);
                    for (a, list) in alloc.iter().zip(&chosen) {
                        assert!(list.contains(a));
                    }
                }
            }
        }
    }

    fn brute_fits(items: &[Vec<(u32, u32)>], nb: u32, nu: u32) -> bool {
        fn rec(items: &[Vec<(u32, u32)>], r: u32, u: u32, nb: u32, nu: u32) -> bool {
            match items.split_first() {
                None => r <= nb && u <= nu,
                Some((first, rest)) => first.iter().any(|&(a, b)| rec(rest, r + a, u + b, nb, nu)),
            }
        }
        rec(items, 0, 0, nb, nu)
    }
}
