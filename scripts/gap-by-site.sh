#!/usr/bin/env bash
# Where a policy's gap to the hindsight optimum lies, by site (docs/online.md, "Where the
# gap to hindsight is"): for every episode of a folder, the policy's own A_ep, then the
# same with the edges' holdings, the devices' holdings and both taken from the optimal
# plan (`dnnrm simulate --holdings-from PLAN --sites ...`), and the optimum.
#
#   scripts/gap-by-site.sh POLICY EPISODE_DIR PLAN_DIR [DNNRM]
#
# PLAN_DIR keeps each episode's optimal plan (`<episode>.json`); a missing plan is
# solved first with `dnnrm simulate --policy hindsight --threads 1` (seconds to minutes
# per episode) and written atomically, so an interrupted run resumes where it stopped.
# Prints one line per episode (episode, own, edges, devices, both, hindsight) and the
# means with each site's share of the gap.
set -euo pipefail
if [ $# -lt 3 ]; then
  sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'
  exit 2
fi
policy=$1 episodes=$2 plans=$3 dnnrm=${4:-target/release/dnnrm}
[ -x "$dnnrm" ] || { echo "error: $dnnrm is not an executable (cargo build --release)" >&2; exit 1; }
[ -d "$episodes" ] || { echo "error: $episodes is not a folder of episodes" >&2; exit 1; }
mkdir -p "$plans"
objective() { grep -o 'objective=[0-9.e-]*' | cut -d= -f2; }
shopt -s nullglob
files=("$episodes"/*.json)
[ ${#files[@]} -gt 0 ] || { echo "error: no episode (*.json) in $episodes" >&2; exit 1; }
for ep in "${files[@]}"; do
  name=$(basename "$ep" .json)
  plan="$plans/$name.json"
  if [ ! -f "$plan" ]; then
    echo "solving the hindsight plan of $name" >&2
    "$dnnrm" simulate --policy hindsight --episode "$ep" --threads 1 --out "$plan.tmp" >/dev/null
    mv "$plan.tmp" "$plan"
  fi
  row="$name $("$dnnrm" simulate --policy "$policy" --episode "$ep" | objective)"
  for sites in edges devices edges,devices; do
    row="$row $("$dnnrm" simulate --policy "$policy" --episode "$ep" --holdings-from "$plan" --sites "$sites" | objective)"
  done
  opt=$("$dnnrm" validate-episode --episode "$ep" --decisions "$plan" | objective)
  echo "$row $opt"
done | awk '
  { print; for (i = 2; i <= 6; i++) s[i] += $i; n++ }
  END {
    if (n == 0) exit;
    gap = (s[6] - s[2]) / n;
    printf "mean own=%.5f edges=%.5f devices=%.5f both=%.5f hindsight=%.5f\n", s[2]/n, s[3]/n, s[4]/n, s[5]/n, s[6]/n;
    if (gap > 0) printf "share of the gap: edges %.2f, devices %.2f\n", (s[3]-s[2])/n/gap, (s[4]-s[2])/n/gap;
  }'
