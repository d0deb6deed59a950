"""The README's example runs as written, and the quick examples run and say what they
should."""

import re
import subprocess
import sys

from conftest import ROOT


def readme_example() -> str:
    text = (ROOT / "README.md").read_text()
    section = text.split("## From Python", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```python\n(.*?)```", section, flags=re.S)
    assert blocks, "README's From Python section has no python block"
    return blocks[0]


def test_readme_example_runs_as_written(capsys):
    code = readme_example()
    assert len(code.strip().splitlines()) <= 12
    exec(compile(code, "README.md", "exec"), {"__name__": "__readme__"})
    out = capsys.readouterr().out
    assert "optimal" in out


def run(script: str, *args: str) -> str:
    res = subprocess.run([sys.executable, str(ROOT / "examples" / "python" / script), *args],
                         cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr
    return res.stdout


def test_random_rollout_example():
    out = run("random_rollout.py", "--episodes", "2")
    a_ep = [float(x) for x in re.findall(r"A_ep (\d\.\d+) \(return", out)]
    hind = [float(x) for x in re.findall(r"hindsight optimum (\d\.\d+)", out)]
    assert len(a_ep) == len(hind) == 2
    assert all(a <= h + 1e-4 for a, h in zip(a_ep, hind))


def test_compare_milp_example():
    out = run("compare_milp.py", "--instances", "2", "--n-devices", "20")
    ratios = {line.split()[0]: float(line.split()[2]) for line in out.splitlines()[2:]}
    assert ratios["milp"] == 1.0
    assert all(r <= 1.0 + 1e-9 for r in ratios.values())
