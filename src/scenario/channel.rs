//! 3GPP TR 38.901 Indoor Factory, sparse clutter, low base station (InF-SL).

/// Path loss in dB at 3D distance `d3d_m` (m) and carrier `fc_ghz` (GHz):
/// `max(LOS, NLOS)` with LOS `31.84 + 21.5 log10(d) + 19 log10(fc)` and NLOS
/// `33 + 25.5 log10(d) + 20 log10(fc)`.
pub fn inf_sl_path_loss_db(d3d_m: f64, fc_ghz: f64) -> f64 {
    let los = 31.84 + 21.5 * d3d_m.log10() + 19.0 * fc_ghz.log10();
    let nlos = 33.0 + 25.5 * d3d_m.log10() + 20.0 * fc_ghz.log10();
    los.max(nlos)
}

/// dB to linear power ratio.
pub fn db_to_linear(db: f64) -> f64 {
    10f64.powf(db / 10.0)
}

/// dBm to watts.
pub fn dbm_to_w(dbm: f64) -> f64 {
    10f64.powf((dbm - 30.0) / 10.0)
}

/// Edge server positions: a regular grid of `ceil(sqrt(M))` columns and
/// `ceil(M / cols)` rows over the square floor, one server at each cell centre, filled
/// row by row.
pub fn grid_positions(m: usize, floor_m: f64) -> Vec<(f64, f64)> {
    let cols = (m as f64).sqrt().ceil().max(1.0) as usize;
    let rows = m.div_ceil(cols);
    let (cw, ch) = (floor_m / cols as f64, floor_m / rows as f64);
    (0..m).map(|i| ((i % cols) as f64 * cw + cw / 2.0, (i / cols) as f64 * ch + ch / 2.0)).collect()
}
