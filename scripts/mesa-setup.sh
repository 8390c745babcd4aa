#!/usr/bin/env bash
# Mesa's software OpenGL ES driver (llvmpipe) for the WebGPU tests: Dawn's OpenGL ES backend runs
# on it in WebGPU compatibility mode (EGL_PLATFORM=surfaceless), so test/webgpu.test.js needs no GPU.
# Exit codes: 0 ready; 10 the packages are missing and apt-get could not fetch them (no registry).
set -uo pipefail
PKGS="libegl1 libegl-mesa0 libgles2 libgl1-mesa-dri"
missing=""
for p in $PKGS; do dpkg -s "$p" >/dev/null 2>&1 || missing="$missing $p"; done
[ -z "$missing" ] && { echo "mesa-setup: $PKGS already installed"; exit 0; }
echo "mesa-setup: installing$missing with apt-get"
apt-get update -qq || exit 10
apt-get install -y -qq --no-install-recommends $missing >/dev/null || exit 10
