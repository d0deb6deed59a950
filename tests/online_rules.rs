//! The placement rules that follow the production phases: `regime-placement` targets
//! the placement of the observed regime in every slot, and `demand-placement` changes
//! its target only when a regime starts or a device not seen in the regime shows up.

use dnnrm::model::{Episode, Replay};
use dnnrm::scenario::{DynamicsParams, ScenarioParams};
use dnnrm::solver::online::OnlinePolicy;
use dnnrm::solvers::online::{generate_episode, DemandPlacement, RegimePlacement};

fn episode(seed: u64) -> Episode {
    let p = ScenarioParams { n_devices: 16, n_edges: 2, ..ScenarioParams::default() };
    let mut d = DynamicsParams { n_slots: 14, ..DynamicsParams::default() };
    d.set("regime_length", "3").expect("regime_length");
    d.set("init", "warm").expect("init");
    generate_episode(&p.check().expect("params"), &d.check().expect("dynamics"), seed, &format!("r{seed}"))
}

#[test]
fn regime_placement_targets_the_observed_regime() {
    let mut switches = 0;
    for seed in 0..3 {
        let ep = episode(900 + seed);
        let mut p = RegimePlacement::default();
        p.reset(&ep.network, &ep.initial, seed).expect("reset");
        assert_eq!(p.targets().len(), ep.network.demand.regimes.len(), "one target per regime");
        let mut replay = Replay::new(&ep);
        for (t, slot) in ep.slots.iter().enumerate() {
            let d = p.decide(t, slot, replay.state()).expect("decides");
            // Every model of the regime's target that fits is held (targets come first).
            for (m, held) in d.hold.edges.iter().enumerate() {
                let target = &p.targets()[slot.regime][m];
                let mut used = 0.0;
                for &k in target {
                    used += ep.network.models[k].size_mb;
                    if used <= ep.network.edges[m].cache_mb {
                        assert!(
                            held.contains(&k),
                            "seed {seed} slot {t} edge {m}: target model {k} not held"
                        );
                    }
                }
            }
            switches += usize::from(t > 0 && ep.slots[t - 1].regime != slot.regime);
            replay.step(&d).expect("valid");
        }
        replay.finish().expect("valid episode");
    }
    assert!(switches >= 3, "the episodes switch regime ({switches})");
}

#[test]
fn demand_placement_changes_its_target_only_on_news() {
    let mut changes_in_regime = 0;
    for seed in 0..3 {
        let ep = episode(910 + seed);
        let mut p = DemandPlacement::default();
        p.reset(&ep.network, &ep.initial, seed).expect("reset");
        let mut replay = Replay::new(&ep);
        let mut seen = vec![false; ep.network.devices.len()];
        let mut last = p.targets().to_vec();
        for (t, slot) in ep.slots.iter().enumerate() {
            let new_regime = t == 0 || ep.slots[t - 1].regime != slot.regime;
            if new_regime {
                seen.iter_mut().for_each(|s| *s = false);
            }
            let news = slot.tasks.iter().any(|task| !seen[task.device]);
            for task in &slot.tasks {
                seen[task.device] = true;
            }
            let d = p.decide(t, slot, replay.state()).expect("decides");
            if p.targets() != last.as_slice() {
                assert!(new_regime || news, "seed {seed} slot {t}: the target changed without news");
                changes_in_regime += usize::from(!new_regime);
            }
            last = p.targets().to_vec();
            replay.step(&d).expect("valid");
        }
        replay.finish().expect("valid episode");
    }
    eprintln!("target changes within a regime (new devices): {changes_in_regime}");
}
