#!/usr/bin/env bash
# Renders the grid of every recorded run (results/table3_cpu.txt and .json) from the
# evaluation JSON each run's `lnf evaluate CHECKPOINT --json` wrote; evaluates nothing.
# With the data present (LNF_DATA_DIR), the independent-Bernoulli floors are computed from it.
set -euo pipefail
cd "$(dirname "$0")"
lnf evaluate --json table3_cpu.json \
    --from-json jsb_small_cpu/eval.json \
    --from-json jsb_small_cpu/eval_iaf-scf.json \
    --from-json jsb_made_emission/eval_af-scf-made-d3.json \
    --from-json jsb_made_emission/eval_af-af-made-small.json \
    --from-json jsb_made_emission/eval_iaf-scf-made-d3.json \
    --from-json table3_cpu/eval_nott_120.json \
    --from-json nottingham_made_cpu/eval_nott-af-scf-indep.json \
    --from-json nottingham_made_cpu/eval_nott-lstm.json \
    --from-json table3_cpu/eval_piano_d5.json \
    --from-json table3_cpu/eval_piano_lstm.json \
    --from-json table3_cpu/eval_muse_made.json \
    --from-json table3_cpu/eval_muse_lstm.json \
    --from-json table3_cpu/eval_ptb_af_scf.json \
    --from-json table3_cpu/eval_nott_iaf.json \
    --from-json table3_cpu/eval_nott_af_af.json \
    --from-json table3_cpu/eval_ptb_iaf.json \
    --from-json table3_cpu/eval_ptb_lstm8.json \
    --from-json table3_cpu/eval_default_text.json \
    > table3_cpu.txt
