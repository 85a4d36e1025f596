#!/usr/bin/env bash
# Set up emoboost on Debian/Ubuntu with Python 3.11: system packages (ffmpeg, espeak-ng) when
# missing, a virtual environment in .venv, the package (with --dev: and its test tools), and
# the embedded encoder weights in the user cache. Safe to run again: it only does what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

extra=""
if [ "${1:-}" = "--dev" ]; then extra="[dev]"; fi

missing=()
command -v ffmpeg >/dev/null 2>&1 || missing+=(ffmpeg)
command -v espeak-ng >/dev/null 2>&1 || missing+=(espeak-ng)
# --dev: real read speech (LibriVox) for the speech-encoder tests
if [ -n "$extra" ] && [ ! -d /usr/share/pocketsphinx/test/data/librivox ]; then missing+=(pocketsphinx-testdata); fi
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing system packages: ${missing[*]}"
  sudo=""
  if [ "$(id -u)" != 0 ]; then sudo="sudo"; fi
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
fi

python="${PYTHON:-}"
if [ -z "$python" ]; then
  if command -v python3.11 >/dev/null 2>&1; then python=python3.11; else python=python3; fi
fi
if [ ! -x .venv/bin/python ]; then
  echo "creating .venv with $($python --version)"
  "$python" -m venv .venv
fi
.venv/bin/python -m pip install --quiet --upgrade pip
echo "installing emoboost${extra} (first time: a few minutes, about 6 GB with torch)"
.venv/bin/python -m pip install --quiet -e ".${extra}"
.venv/bin/emoboost fetch-weights
echo "ready: run 'source .venv/bin/activate' (once per shell) to put emoboost on the PATH"
