#!/usr/bin/env bash
# Outputs of the checked-out code for a before/after comparison. Usage: make_outputs.sh OUTDIR
# (run in a virtualenv where `lnf` is this checkout; LNF_DATA_DIR must point at the datasets)
set -euo pipefail
OUT=$(realpath -m "$1"); mkdir -p "$OUT"; cd "$(dirname "$0")/../.."
: "${LNF_DATA_DIR:?set LNF_DATA_DIR to the real datasets}"
export OMP_NUM_THREADS=1
printf 'the cat sat on the mat\nhello world\n%.0s' $(seq 1 40) > "$OUT/corpus.txt"
for m in af-af af-scf iaf-scf af-only lstm; do
  lnf train --dataset jsb --model $m --preset tiny --device cpu --no-progress --run-dir "$OUT/run-$m" > "$OUT/train-$m.out" 2>&1
  lnf evaluate "$OUT/run-$m/last.pt" --samples 5 --elbo-samples 2 --split valid --split test --json "$OUT/eval-$m.json" --device cpu --no-progress > /dev/null 2>&1
  lnf sample --checkpoint "$OUT/run-$m/last.pt" --out "$OUT/s-$m-{i}.mid" --num 2 --seed 3 --device cpu > "$OUT/s-$m.out" 2>&1
done
for m in af-scf lstm; do
  lnf train --dataset text:$OUT/corpus.txt --model $m --preset tiny --device cpu --no-progress --run-dir "$OUT/trun-$m" > "$OUT/ttrain-$m.out" 2>&1
  lnf text-sample --checkpoint "$OUT/trun-$m/last.pt" --num 3 --seed 1 --device cpu > "$OUT/t-$m.txt" 2>&1
  lnf evaluate "$OUT/trun-$m/last.pt" --samples 5 --json "$OUT/teval-$m.json" --device cpu --no-progress > /dev/null 2>&1
done
lnf sample --out "$OUT/song.mid" --seed 0 --device cpu > "$OUT/song.out" 2>&1
lnf sample --checkpoint models/jsb-af-af-small.pt --out "$OUT/afaf-{i}.mid" --num 2 --seed 0 --length 20 --device cpu > "$OUT/afaf.out" 2>&1
lnf sample --out "$OUT/thr.mid" --seed 7 --threshold 0.4 --temperature 0.8 --device cpu > "$OUT/thr.out" 2>&1
