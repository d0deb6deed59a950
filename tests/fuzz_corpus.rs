//! The fuzz targets on stable Rust: every file of the seed corpus (`fuzz/corpus/`) is
//! replayed through the same harness as `cargo fuzz`, then a bounded, seeded mutation
//! run explores around it. A failure prints the input that broke a property.
//!
//! `cargo test --release --test fuzz_corpus -- --ignored write_seed_corpus` rewrites the
//! generated part of the corpus (files named `gen-*`); the crash cases are kept by hand.

#[path = "../fuzz/harness.rs"]
mod harness;

use std::path::{Path, PathBuf};

use dnnrm::model::{evaluate, Instance, Solution};
use dnnrm::scenario::{generate, ScenarioParams};
use dnnrm::solver::SolveOptions;
use harness::Handled;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

type Pipeline = fn(&[u8]) -> Result<Handled, String>;

fn corpus_dir(target: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus").join(target)
}

fn corpus(target: &str) -> Vec<(String, Vec<u8>)> {
    let mut files: Vec<_> = std::fs::read_dir(corpus_dir(target))
        .unwrap_or_else(|e| panic!("fuzz/corpus/{target}: {e}"))
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    files
        .into_iter()
        .map(|p| (p.file_name().unwrap().to_string_lossy().into_owned(), std::fs::read(&p).unwrap()))
        .collect()
}

fn run(pipeline: Pipeline, name: &str, data: &[u8]) -> Handled {
    match pipeline(data) {
        Ok(h) => h,
        Err(broken) => panic!("{name}: {broken}\ninput: {}", String::from_utf8_lossy(data)),
    }
}

#[test]
fn instance_corpus_replays() {
    let files = corpus("instance");
    assert!(files.len() >= 10, "{} files", files.len());
    let mut accepted = 0;
    for (name, data) in &files {
        let handled = run(harness::instance_pipeline, name, data);
        // Crash cases are named after the field they break and must be refused; the
        // generated and hand-written valid shapes must be accepted.
        match (name.starts_with("crash-"), &handled) {
            (true, Handled::Accepted) => panic!("{name} must be refused"),
            (false, Handled::Refused(why)) if name.starts_with("gen-") => panic!("{name} refused: {why}"),
            (_, Handled::Accepted) => accepted += 1,
            _ => {}
        }
    }
    assert!(accepted >= 5, "{accepted}");
}

#[test]
fn solution_corpus_replays() {
    let files = corpus("solution");
    assert!(files.len() >= 10, "{} files", files.len());
    let (mut accepted, mut refused) = (0, 0);
    for (name, data) in &files {
        match run(harness::solution_pipeline, name, data) {
            Handled::Accepted => accepted += 1,
            Handled::Refused(_) => refused += 1,
        }
    }
    assert!(accepted >= 3 && refused >= 3, "accepted {accepted}, refused {refused}");
}

/// Numbers a mutation may put in place of any number: limits, overflow points,
/// signs, zero, tiny and huge magnitudes.
const NUMBERS: &[&str] = &[
    "0",
    "-1",
    "1",
    "2",
    "4294967295",
    "4294967296",
    "18446744073709551615",
    "100000",
    "100001",
    "1e8",
    "1e308",
    "-1e308",
    "1e-308",
    "5e-324",
    "1e400",
    "0.5",
    "-0.0",
    "1.7976931348623157e308",
    "null",
    "\"x\"",
];

/// One structural mutation of a JSON value: replace a number, delete a key, add an
/// unknown key, duplicate or drop an array element, or swap an element's type.
fn mutate_value(v: &mut serde_json::Value, rng: &mut ChaCha8Rng) {
    use serde_json::Value;
    // Choose a random node as a JSON pointer, then mutate it.
    let mut pointer = String::new();
    let mut cur: &Value = v;
    loop {
        if !rng.gen_bool(0.75) {
            break;
        }
        let (step, next) = match cur {
            Value::Object(m) if !m.is_empty() => {
                let (k, x) = m.iter().nth(rng.gen_range(0..m.len())).unwrap();
                (k.replace('~', "~0").replace('/', "~1"), x)
            }
            Value::Array(a) if !a.is_empty() => {
                let i = rng.gen_range(0..a.len());
                (i.to_string(), &a[i])
            }
            _ => break,
        };
        pointer = format!("{pointer}/{step}");
        cur = next;
    }
    let Some(node) = v.pointer_mut(&pointer) else { return };
    match node {
        Value::Number(_) | Value::String(_) | Value::Bool(_) | Value::Null => {
            let text = NUMBERS.choose(rng).unwrap();
            *node = serde_json::from_str(text).unwrap_or(Value::Null);
        }
        Value::Object(m) => match rng.gen_range(0..3) {
            0 if !m.is_empty() => {
                let key = m.keys().nth(rng.gen_range(0..m.len())).unwrap().clone();
                m.remove(&key);
            }
            1 => {
                m.insert("unexpected".into(), Value::from(1));
            }
            _ => {
                for x in m.values_mut() {
                    if x.is_number() {
                        *x = serde_json::from_str(NUMBERS.choose(rng).unwrap()).unwrap_or(Value::Null);
                        break;
                    }
                }
            }
        },
        Value::Array(a) => match rng.gen_range(0..3) {
            0 if !a.is_empty() => {
                let x = a[rng.gen_range(0..a.len())].clone();
                let times = rng.gen_range(1..20);
                a.extend(std::iter::repeat_n(x, times));
            }
            1 if !a.is_empty() => {
                a.remove(rng.gen_range(0..a.len()));
            }
            _ => a.clear(),
        },
    }
}

/// One byte-level mutation: flip, insert a number, delete or duplicate a range.
fn mutate_bytes(data: &mut Vec<u8>, rng: &mut ChaCha8Rng) {
    if data.is_empty() {
        data.extend_from_slice(b"{}");
    }
    let i = rng.gen_range(0..data.len());
    match rng.gen_range(0..4) {
        0 => data[i] ^= 1 << rng.gen_range(0..8),
        1 => {
            let s = NUMBERS.choose(rng).unwrap().as_bytes();
            data.splice(i..i, s.iter().copied());
        }
        2 => {
            let j = rng.gen_range(i..=data.len().min(i + 16));
            data.drain(i..j);
        }
        _ => {
            let j = rng.gen_range(i..=data.len().min(i + 32));
            let chunk = data[i..j].to_vec();
            data.splice(i..i, chunk);
        }
    }
}

/// A mutant of `seed`: structural when the seed (after `skip` bytes) is JSON, then a
/// few byte-level mutations now and then.
fn mutant(seed: &[u8], skip: usize, rng: &mut ChaCha8Rng) -> Vec<u8> {
    let (head, body) = seed.split_at(skip.min(seed.len()));
    let mut out = head.to_vec();
    match serde_json::from_slice::<serde_json::Value>(body) {
        Ok(mut v) => {
            for _ in 0..rng.gen_range(1..=3) {
                mutate_value(&mut v, rng);
            }
            out.extend_from_slice(v.to_string().as_bytes());
        }
        Err(_) => out.extend_from_slice(body),
    }
    if rng.gen_bool(0.2) {
        for _ in 0..rng.gen_range(1..=4) {
            mutate_bytes(&mut out, rng);
        }
    }
    out
}

fn mutation_run(target: &str, pipeline: Pipeline, skip: usize, iterations: usize) {
    let seeds: Vec<Vec<u8>> = corpus(target).into_iter().map(|(_, d)| d).collect();
    let mut rng = ChaCha8Rng::seed_from_u64(0xf022);
    let mut accepted = 0;
    for i in 0..iterations {
        let data = mutant(seeds.choose(&mut rng).unwrap(), skip, &mut rng);
        if run(pipeline, &format!("{target} mutant {i}"), &data) == Handled::Accepted {
            accepted += 1;
        }
    }
    // Mutants that still parse exercise the solvers and the evaluator, not just the
    // parser.
    assert!(accepted * 20 >= iterations, "{target}: only {accepted} of {iterations} mutants accepted");
}

#[test]
fn instance_mutations_never_break_a_property() {
    mutation_run("instance", harness::instance_pipeline, 0, 8000);
}

#[test]
fn solution_mutations_never_break_a_property() {
    mutation_run("solution", harness::solution_pipeline, 1, 20000);
}

/// Rewrites the generated seed corpus (`gen-*` files).
#[test]
#[ignore = "writes fuzz/corpus; run by hand after a format change"]
fn write_seed_corpus() {
    let dir = corpus_dir("instance");
    std::fs::create_dir_all(&dir).unwrap();
    // Shapes of the committed instance sets: default, scale (N, M), sweeps (rbs,
    // cache, edge compute, deadline scale), shrunk to a few devices.
    let shapes: &[(&str, &[(&str, &str)])] = &[
        ("default", &[]),
        ("scale-m2", &[("n_edges", "2")]),
        ("scale-m4", &[("n_edges", "4")]),
        ("rbs-10", &[("rbs", "10")]),
        ("rbs-100", &[("rbs", "100")]),
        ("cache-100", &[("edge_cache_mb", "100")]),
        ("cache-1000", &[("edge_cache_mb", "1000")]),
        ("flops-1e12", &[("edge_flops", "1e12")]),
        ("deadline-0.5", &[("deadline_scale", "0.5")]),
        ("deadline-10", &[("deadline_scale", "10")]),
        ("units-1", &[("edge_units", "1")]),
        ("cache-0", &[("edge_cache_mb", "0")]),
    ];
    for (i, (name, flags)) in shapes.iter().enumerate() {
        let mut p = ScenarioParams { n_devices: 4, n_edges: 1, ..ScenarioParams::default() };
        for (k, v) in *flags {
            p.set(k, v).unwrap();
        }
        let inst = generate(&p.check().unwrap(), i as u64, &format!("fuzz-{name}"));
        std::fs::write(dir.join(format!("gen-{name}.json")), serde_json::to_string(&inst).unwrap()).unwrap();
    }
    let dir = corpus_dir("solution");
    std::fs::create_dir_all(&dir).unwrap();
    for (i, inst) in harness::solution_instances().iter().enumerate() {
        let write = |what: &str, sol: &Solution| {
            let mut bytes = vec![i as u8];
            bytes.extend_from_slice(serde_json::to_string(sol).unwrap().as_bytes());
            std::fs::write(dir.join(format!("gen-{i}-{what}.json")), bytes).unwrap();
        };
        write("reject-all", &Solution::reject_all(inst));
        let opts = SolveOptions::default();
        for solver in harness::heuristics() {
            let sol = solver.solve(inst, &opts).unwrap().solution;
            assert!(evaluate(inst, &sol).is_ok());
            if ["greedy", "random"].contains(&solver.name()) {
                write(solver.name(), &sol);
            }
        }
    }
}

/// The fixtures the corpus is built from stay valid.
#[test]
fn solution_instances_are_valid() {
    let insts: &[Instance] = harness::solution_instances();
    assert_eq!(insts.len(), 4);
    for inst in insts {
        inst.validate().unwrap();
    }
}
