#!/usr/bin/env bash
# tdlab on a GPU, side by side with PyTorch CUDA and tdlab's CPU path on the same machine, in one
# go (under 5 minutes), with nothing from a network. Prints one JSON line per figure on stdout
# (logs on stderr); BENCHMARKS.md says what each figure is.
#
#   on this machine:   bash bench/gpu-prepare.sh        (builds bench/gpu-kit/ and dist/, both ignored)
#   device tool call:  carry ["bench/gpu-kit", "dist"], command "bash bench/gpu.sh", timeout_s 420
#   rehearsal here:    bash bench/gpu.sh --smoke        (tiny sizes, the software adapter, PyTorch on the CPU);
#                      GPU_BENCH_USE_KIT=1 also takes Node and node_modules from the kit (run it in a copy
#                      of the checkout holding only what the device tool sends: it replaces node_modules)
#
# Needs on the GPU machine: an NVIDIA driver (its Vulkan ICD), python3 with torch. Brings Node,
# node_modules and Debian's Vulkan/GL loaders from bench/gpu-kit when the machine lacks them.
set -uo pipefail
cd "$(dirname "$0")/.."
SMOKE=0
[ "${1:-}" = "--smoke" ] && SMOKE=1
KIT=bench/gpu-kit
BUDGET=${GPU_BENCH_BUDGET_S:-280}
START=$(date +%s)
OUT=$(mktemp)
WORK=$(mktemp -d)
trap 'rm -rf "$WORK" "$OUT"' EXIT
log() { echo "gpu.sh: $*" >&2; }
left() { echo $((BUDGET - ($(date +%s) - START))); }
emit() { echo "$1"; echo "$1" >>"$OUT"; }
die() { emit "{\"bench\":\"error\",\"error\":$(printf '%s' "$1" | python3 -c 'import json,sys;print(json.dumps(sys.stdin.read()))' 2>/dev/null || echo '"see stderr"')}"; log "$1"; exit 1; }

# --- Node ---------------------------------------------------------------------------------
node_ok() { command -v node >/dev/null 2>&1 && [ "$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)" -ge 20 ]; }
if [ "${GPU_BENCH_USE_KIT:-0}" = 1 ] || ! node_ok; then
  [ -f "$KIT/node.xz" ] || die "no Node >= 20 and no $KIT/node.xz: run bash bench/gpu-prepare.sh and carry bench/gpu-kit"
  mkdir -p "$WORK/bin"
  xz -dc "$KIT/node.xz" >"$WORK/bin/node" && chmod +x "$WORK/bin/node"
  export PATH="$WORK/bin:$PATH"
  log "node $(node --version) from the kit"
fi
if [ ! -d node_modules/@tensorflow/tfjs ] || [ ! -d node_modules/webgpu ] || { [ "${GPU_BENCH_USE_KIT:-0}" = 1 ] && [ ! -f node_modules/.from-kit ]; }; then
  [ -f "$KIT/node_modules.tar.xz" ] || die "no node_modules and no $KIT/node_modules.tar.xz: run bash bench/gpu-prepare.sh and carry bench/gpu-kit"
  rm -rf node_modules
  tar -xJf "$KIT/node_modules.tar.xz" && touch node_modules/.from-kit
  log "node_modules from the kit"
fi
[ -f dist/train/webgpu/engine.js ] || die "dist/ is missing or old: run bash bench/gpu-prepare.sh (it builds dist/) and carry dist"

# --- Vulkan loader and the NVIDIA ICD (platform notes section 10) -------------------------
if [ "$SMOKE" = 0 ]; then
  if ! ldconfig -p 2>/dev/null | grep -q 'libvulkan.so.1 '; then
    if ls "$KIT"/debs/*.deb >/dev/null 2>&1; then
      if [ "$(id -u)" = 0 ]; then
        for d in "$KIT"/debs/*.deb; do dpkg -x "$d" /; done
        ldconfig
        log "unpacked Debian's Vulkan/GL loaders into /"
      else
        for d in "$KIT"/debs/*.deb; do dpkg -x "$d" "$WORK/root"; done
        export LD_LIBRARY_PATH="$WORK/root/usr/lib/x86_64-linux-gnu:${LD_LIBRARY_PATH:-}"
        log "Debian's Vulkan/GL loaders on LD_LIBRARY_PATH"
      fi
    fi
  fi
  if [ -z "${VK_DRIVER_FILES:-}" ]; then
    icd=$(ls /usr/share/vulkan/icd.d/nvidia_icd*.json /etc/vulkan/icd.d/nvidia_icd*.json /usr/share/glvnd/egl_vendor.d/../../vulkan/icd.d/nvidia_icd*.json 2>/dev/null | head -1)
    [ -z "$icd" ] && icd=$(find /usr /etc -maxdepth 6 -name 'nvidia_icd*.json' 2>/dev/null | head -1)
    if [ -z "$icd" ] && ldconfig -p 2>/dev/null | grep -q libGLX_nvidia.so.0; then
      icd="$WORK/nvidia_icd.json"
      echo '{"file_format_version":"1.0.0","ICD":{"library_path":"libGLX_nvidia.so.0","api_version":"1.3"}}' >"$icd"
    fi
    [ -n "$icd" ] && export VK_DRIVER_FILES="$icd" && log "VK_DRIVER_FILES=$icd"
  fi
fi

PY=${PYTHON:-python3}
$PY -c 'import torch' 2>/dev/null || PY=/usr/bin/python3
TORCH_DEV=cuda
[ "$SMOKE" = 1 ] && TORCH_DEV=cpu
$PY -c 'import torch,sys; sys.exit(0 if torch.cuda.is_available() else 1)' 2>/dev/null || TORCH_DEV=cpu

# --- environment --------------------------------------------------------------------------
env_line=$(node --input-type=module -e "
  import {openWebGPU} from './dist/backend/webgpu.js';
  const os = await import('node:os');
  let adapter = null, why = null;
  try { adapter = (await openWebGPU({allowSoftware: $SMOKE === 1})).adapter; } catch (e) { why = String(e.message); }
  console.log(JSON.stringify({bench: 'env', smoke: $SMOKE === 1, node: process.version, cpu: os.cpus()[0]?.model, cores: os.cpus().length, adapter, no_adapter: why}));
  process.exit(0);" 2>>"$WORK/env.err")
[ -n "$env_line" ] || env_line='{"bench":"env","error":"node probe failed"}'
gpu_name=$(nvidia-smi --query-gpu=name,driver_version --format=csv,noheader 2>/dev/null | head -1)
torch_ver=$($PY -c 'import torch;print(torch.__version__)' 2>/dev/null)
emit "$(node -e "const j=JSON.parse(process.argv[1]); j.nvidia_smi=process.argv[2]||null; j.torch=process.argv[3]||null; j.torch_device=process.argv[4]; console.log(JSON.stringify(j))" "$env_line" "$gpu_name" "$torch_ver" "$TORCH_DEV")"
if echo "$env_line" | grep -q '"adapter":null'; then
  log "no WebGPU adapter: $(echo "$env_line" | sed 's/.*no_adapter":\(.*\)}/\1/')"; tail -5 "$WORK/env.err" >&2
fi

# --- figures ------------------------------------------------------------------------------
# fig TIMEOUT_S LABEL CMD...: runs CMD and emits its last JSON line (or an error line)
fig() {
  local t=$1 label=$2
  shift 2
  local l
  l=$(left)
  if [ "$l" -lt 10 ]; then emit "{\"bench\":\"skipped\",\"what\":\"$label\",\"why\":\"time budget\"}"; return; fi
  [ "$t" -gt "$l" ] && t=$l
  local o
  o=$(timeout "$t" "$@" 2>>"$WORK/fig.err" | grep '^{' | tail -1)
  if [ -n "$o" ]; then emit "$o"; else emit "{\"bench\":\"failed\",\"what\":\"$label\",\"timeout_s\":$t,\"stderr\":$(tail -3 "$WORK/fig.err" | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.stringify(s.slice(-400))))')}"; fi
}
STEP="node bench/webgpu-step.mjs"
TORCH="$PY bench/gpu_torch.py --device $TORCH_DEV"

# configs/mnist-cnn.yaml end to end on the CPU path, in the background from the start (it is the slowest figure)
E2E_SET=()
[ "$SMOKE" = 1 ] && E2E_SET=(--set data.options.limit=64 --set train.epochs=1 --set train.batchSize=16 --set 'metrics.estimators=[act.stats]')
e2e() { # BACKEND OUTDIR TIMEOUT_S
  local t0 t1
  t0=$(date +%s%N)
  timeout "$3" node bin/run.js run configs/mnist-cnn.yaml --backend "$1" --out "$2" --json "${E2E_SET[@]}" >"$2.json" 2>"$2.err"
  t1=$(date +%s%N)
  node -e "
    const fs=require('fs'); const [b,dir,ms]=process.argv.slice(1);
    let j={}; try { j=JSON.parse(fs.readFileSync(dir+'.json','utf8')); } catch {}
    let stages={}, adapter=null; try { const p=JSON.parse(fs.readFileSync(j.runDir+'/provenance.json','utf8')); adapter=p.adapter??null; for (const [k,v] of Object.entries(p.stages)) stages[k]={status:v.status,seconds:v.seconds,...(v.info?.msPerEpoch?{ms_per_epoch:Math.round(v.info.msPerEpoch)}:{})}; } catch {}
    if (!j.runDir) { try { const d=fs.readdirSync(dir+'/mnist-cnn')[0]; const p=JSON.parse(fs.readFileSync(dir+'/mnist-cnn/'+d+'/provenance.json','utf8')); for (const [k,v] of Object.entries(p.stages)) stages[k]={status:v.status,seconds:v.seconds,...(v.info?.msPerEpoch?{ms_per_epoch:Math.round(v.info.msPerEpoch)}:{})}; } catch {} }
    console.log(JSON.stringify({bench:'e2e', config:'configs/mnist-cnn.yaml', backend:b, status:j.status??'unfinished (timeout)', wall_s:Number((Number(ms)/1000).toFixed(1)), stages, adapter}));
  " "$1" "$2" "$(( (t1 - t0) / 1000000 ))" >"$2.line"
}
e2e wasm "$WORK/e2e-wasm" "$((BUDGET - 15))" &
E2E_CPU=$!

if [ "$SMOKE" = 1 ]; then
  fig 120 "engine cnn" $STEP --model cnn --batch 8 --path engine --steps 1
  fig 120 "engine mlp" $STEP --model mlp --batch 8 --path engine --rows 32
  fig 60 "torch cnn" $TORCH --model cnn --batch 8 --steps 2
  fig 60 "torch mlp" $TORCH --model mlp --batch 8 --steps 2 --rows 32
  fig 120 "tfjs-webgpu cnn" $STEP --model cnn --batch 8 --path tfjs --steps 1
  fig 60 "tfjs-webgpu per op" node bench/webgpu-per-op.mjs --reps 2
  fig 60 "wasm cnn" $STEP --model cnn --batch 8 --path wasm --steps 1
else
  for m in cnn wide; do
    for b in 128 256; do
      fig 40 "engine $m $b" $STEP --model $m --batch $b --path engine --steps 20
      fig 40 "torch $m $b" $TORCH --model $m --batch $b --steps 50
    done
  done
  fig 40 "engine mlp" $STEP --model mlp --batch 128 --path engine --rows 10000
  fig 40 "torch mlp" $TORCH --model mlp --batch 128 --steps 50 --rows 10000
  fig 30 "tfjs-webgpu per op" node bench/webgpu-per-op.mjs --reps 20
  fig 60 "tfjs-webgpu cnn 128" $STEP --model cnn --batch 128 --path tfjs --steps 4
  fig 60 "tfjs-webgpu mlp 128" $STEP --model mlp --batch 128 --path tfjs --steps 4
fi
# configs/mnist-cnn.yaml end to end on the GPU
if [ "$(left)" -gt 30 ]; then
  e2e webgpu "$WORK/e2e-webgpu" "$(($(left) - 20))"
  [ -s "$WORK/e2e-webgpu.line" ] && emit "$(cat "$WORK/e2e-webgpu.line")"
fi
if [ "$SMOKE" = 0 ]; then
  fig 40 "wasm cnn 128" $STEP --model cnn --batch 128 --path wasm --steps 2
  fig 40 "wasm mlp 128" $STEP --model mlp --batch 128 --path wasm --steps 4
  fig 30 "torch-cpu cnn 128" $PY bench/gpu_torch.py --device cpu --model cnn --batch 128 --steps 20
  fig 30 "torch-cpu mlp 128" $PY bench/gpu_torch.py --device cpu --model mlp --batch 128 --steps 20 --rows 10000
fi
wait "$E2E_CPU" 2>/dev/null
[ -s "$WORK/e2e-wasm.line" ] && emit "$(cat "$WORK/e2e-wasm.line")"
node -e "
  const lines=require('fs').readFileSync(process.argv[1],'utf8').trim().split('\n').map(l=>{try{return JSON.parse(l)}catch{return {}}});
  const step=(m,b,p)=>lines.find(l=>l.bench==='train-step'&&l.model===m&&l.batch===b&&l.path===p);
  const out={bench:'summary', elapsed_s: Math.round((Date.now()/1000)-Number(process.argv[2]))};
  for (const [m,b] of [['cnn',128],['cnn',256],['wide',128],['wide',256],['mlp',128],['cnn',8],['mlp',8]]) {
    const e=step(m,b,'engine'); if (!e) continue;
    const t=step(m,b,'torch-cuda')??step(m,b,'torch-cpu'); const f=step(m,b,'tfjs'); const w=step(m,b,'wasm');
    out[m+'_'+b]={engine_ms_per_step:e.ms_per_step, dispatches_per_step:e.dispatches_per_step, submits_per_step:e.submits_per_step,
      ...(t?{[t.path+'_ms_per_step']:t.ms_per_step}:{}), ...(f?{tfjs_webgpu_ms_per_step:f.ms_per_step, tfjs_dispatches_per_step:f.dispatches_per_step}:{}), ...(w?{wasm_ms_per_step:w.ms_per_step}:{}),
      ...(m==='mlp'?{engine_ms_per_epoch:e.ms_per_epoch, rows_per_epoch:e.rows_per_epoch}:{})};
  }
  const g=lines.find(l=>l.bench==='e2e'&&l.backend==='webgpu'), c=lines.find(l=>l.bench==='e2e'&&l.backend==='wasm');
  if (g&&c&&g.status==='done'&&c.status==='done') out.e2e_speedup=Number((c.wall_s/g.wall_s).toFixed(2));
  console.log(JSON.stringify(out));
" "$OUT" "$START"
