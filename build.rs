//! Embeds the git revision of the source tree in the binary (`DNNRM_REVISION`), so a
//! results row records the code that produced it whatever the working directory.
//! Outside a git checkout the revision is `unknown`, unless `DNNRM_REVISION` is set in
//! the build environment (e.g. by a packager).

use std::process::Command;

fn git(args: &[&str]) -> Option<std::process::Output> {
    Command::new("git").args(args).output().ok().filter(|o| o.status.success() || args[0] == "diff")
}

fn main() {
    println!("cargo:rerun-if-env-changed=DNNRM_REVISION");
    println!("cargo:rerun-if-changed=src");
    println!("cargo:rerun-if-changed=Cargo.toml");
    for p in [".git/HEAD", ".git/logs/HEAD"] {
        if std::path::Path::new(p).exists() {
            println!("cargo:rerun-if-changed={p}");
        }
    }
    let revision = std::env::var("DNNRM_REVISION").ok().filter(|r| !r.is_empty()).unwrap_or_else(|| {
        let Some(head) = git(&["rev-parse", "--short=10", "HEAD"]) else { return "unknown".into() };
        let rev = String::from_utf8_lossy(&head.stdout).trim().to_string();
        if rev.is_empty() {
            return "unknown".into();
        }
        // Changes under results/ (rewritten by the benchmark itself) do not count.
        let dirty = git(&["diff", "--quiet", "HEAD", "--", ".", ":(exclude)results"])
            .is_some_and(|o| !o.status.success());
        if dirty {
            format!("{rev}-dirty")
        } else {
            rev
        }
    });
    println!("cargo:rustc-env=DNNRM_REVISION={revision}");
}
