#!/usr/bin/env bash
# Research run, not CI: SynthAV v3 at benchmark size, end to end.
#   generation (110 identities x 4 scenarios x 12 clips of 2.5 s = 5280 clips: real, each fake category
#   at both mismatch levels, the emotion-only fake) -> feature extraction -> encoder probe ->
#   leave-one-category-out benchmark with the four EmoForensics ablations; beside it a real-only corpus of
#   other people (224 identities of seed 100 x 4 clips of 4 s, the 110 names the benchmark also uses left
#   out by --exclude) on which `emoboost train-consistency` trains the consistency detector every fold uses
#   (CONSISTENCY=per-fold instead trains one per fold on its ~160 real training clips). Folds:
#   configs/protocols/synthav_large.yaml (54 test identities, 216 real + 432 held-out clips, both
#   mismatch levels, per test fold). Every step resumes where it stopped. SYNTHAV_VERSION=2 with
#   SECONDS_PER_CLIP=3 reproduces the v2 run of docs/results.md.
# Usage: scripts/synthav_large.sh [OUT]   (default runs/synthav_large; PYTHON overrides the interpreter,
#        WORKERS the processes of generation and the Ray actors of extraction: default one per core)
# Outputs: OUT/probe/probe.{md,json}, OUT/benchmark/results.{md,json}. Results are SynthAV results: they show what
# a detector can use when a cue is there by construction, never FakeAVCeleb performance.
set -euo pipefail
cd "$(dirname "$0")/.."
python="${PYTHON:-.venv/bin/python}"
out="${1:-runs/synthav_large}"
workers="${WORKERS:-$(nproc)}"
engine=local  # one process; torch uses the cores inside each clip
threads=()
if "$python" -c "import ray" 2>/dev/null; then  # pip install 'emoboost[ray]': one actor per core, one thread each
  engine=ray
  threads=(OMP_NUM_THREADS=1)
fi

"$python" -m emoboost.cli synth "$out/synthav" --identities 110 --clips-per-identity 4 \
  --seconds "${SECONDS_PER_CLIP:-2.5}" --seed 0 --synthav-version "${SYNTHAV_VERSION:-3}" \
  --protocol configs/protocols/synthav_large.yaml --workers "$workers" >&2
# exit 1 = some clips failed (each named above); the benchmark's max_missing rule decides whether that is too many
env "${threads[@]}" "$python" -m emoboost.cli extract "$out/synthav/manifest.csv" --out "$out/features" --engine "$engine" \
  --workers "$workers" >&2 || [ $? -eq 1 ]
"$python" -m emoboost.cli probe "$out/synthav/manifest.csv" --store "$out/features" --out "$out/probe" >&2
consistency=()
if [ "${CONSISTENCY:-pretrained}" != per-fold ]; then
  "$python" -m emoboost.cli synth "$out/real_corpus" --identities 224 --clips-per-identity 4 --seconds 4 \
    --seed 100 --real-only --workers "$workers" >&2
  env "${threads[@]}" "$python" -m emoboost.cli extract "$out/real_corpus/manifest.csv" --out "$out/features" \
    --engine "$engine" --workers "$workers" >&2 || [ $? -eq 1 ]
  if [ ! -f "$out/consistency/config.json" ]; then  # resumes from its last evaluation when stopped
    "$python" -m emoboost.cli train-consistency "$out/real_corpus/manifest.csv" --store "$out/features" \
      --out "$out/consistency" --config configs/benchmark/synthav_large.yaml --exclude "$out/synthav/manifest.csv" \
      --steps 1500 >&2
  fi
  consistency=(--consistency "$out/consistency")
fi
"$python" -m emoboost.cli benchmark --config configs/benchmark/synthav_large.yaml --out "$out/benchmark" \
  --folds "$out/synthav/folds" --store "$out/features" --root "$out/synthav" "${consistency[@]}"
