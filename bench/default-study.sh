#!/usr/bin/env bash
# The full default study, `node bin/run.js run configs/tishby.yaml` (8000 epochs), in this tree
# and in an older commit, interleaved rounds (issue 9's acceptance: at least 4x faster than d23d004).
#   bash bench/default-study.sh [rounds=3] [old-commit=d23d004]
# The old commit is built outside the repository: `git archive` into a temporary directory, this
# tree's node_modules hard-linked in (its dependencies are a superset of the old ones), tsc. Each
# side runs its own configs/tishby.yaml (the same study). One JSON line per run: wall seconds, the
# seconds of each stage (provenance.json), the metrics threads, the 1-minute load before it.
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-3}
old=${2:-d23d004}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir "$tmp/old" "$tmp/runs"
git archive "$old" | tar -x -C "$tmp/old"
cp -al node_modules "$tmp/old/node_modules"
(cd "$tmp/old" && node_modules/.bin/tsc -p tsconfig.json)
one() { # side tree
  local side=$1 tree=$2 load t0 t1 dir
  load=$(cut -d' ' -f1 /proc/loadavg)
  t0=$(date +%s.%N)
  dir=$(node "$tree/bin/run.js" run "$tree/configs/tishby.yaml" --out "$tmp/runs/$side" --json 2>/dev/null | python3 -c 'import json,sys; print(json.load(sys.stdin)["runDir"])')
  t1=$(date +%s.%N)
  python3 - "$side" "$dir" "$t0" "$t1" "$load" <<'EOF'
import json, sys
side, run, t0, t1, load = sys.argv[1], sys.argv[2], float(sys.argv[3]), float(sys.argv[4]), float(sys.argv[5])
st = json.load(open(f'{run}/provenance.json'))['stages']
print(json.dumps({'side': side, 'wall_s': round(t1 - t0, 1), 'load': load,
                  **{k: round(v.get('seconds', 0), 1) for k, v in st.items()},
                  'metrics_threads': st['metrics'].get('info', {}).get('threads', 1)}))
EOF
  rm -rf "$dir"
}
for r in $(seq "$rounds"); do
  if [ $((r % 2)) = 1 ]; then one new .; one old "$tmp/old"; else one old "$tmp/old"; one new .; fi
done
