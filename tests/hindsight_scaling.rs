//! The hindsight scaling table, run on demand (ignored: it takes tens of minutes).

/// Measurement, not a check: the hindsight scaling table (`dnnrm::bench::hindsight_scaling`)
/// at its default points, `HINDSIGHT_SCALING_EPISODES` episodes per point (default 3),
/// `HINDSIGHT_TIME_LIMIT` s per solve (default 300); prints the markdown.
#[test]
#[ignore]
fn hindsight_scaling_table() {
    use dnnrm::bench::hindsight_scaling::{
        hindsight_scaling, hindsight_scaling_table, DEFAULT_POINTS, ONLINE_DEFAULT,
    };
    let per = std::env::var("HINDSIGHT_SCALING_EPISODES").ok().and_then(|s| s.parse().ok()).unwrap_or(3);
    let limit = std::env::var("HINDSIGHT_TIME_LIMIT").ok().and_then(|s| s.parse().ok()).unwrap_or(300.0);
    let rows = hindsight_scaling(
        ONLINE_DEFAULT,
        &DEFAULT_POINTS,
        per,
        std::time::Duration::from_secs_f64(limit),
        &indicatif::ProgressBar::hidden(),
    )
    .expect("valid parameters");
    let cmd = format!(
        "HINDSIGHT_SCALING_EPISODES={per} HINDSIGHT_TIME_LIMIT={limit} cargo test --release --test hindsight_scaling \
         hindsight_scaling_table -- --ignored --nocapture"
    );
    println!("{}", hindsight_scaling_table(&rows, ONLINE_DEFAULT, &cmd));
    for r in &rows {
        println!("T={} N={}: solve times {:.2?} s", r.n_slots, r.n_devices, r.solve_s);
    }
}
