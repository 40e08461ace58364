#!/usr/bin/env bash
# kcap's test command (`make test`, called by .ci/run). Run from the repo root with the venv on PATH.
#  1. nbdev_clean and nbdev_export must change nothing (notebooks are the source, committed clean);
#  1c. tools/check_cells.py: no test cell holds an import; no export cell over 40 non-blank lines (unless `# long because:`);
#      no export cell followed directly by another;
#  1d. tools/check_workflows.sh: both GitHub workflows validate against GitHub's schema and pass zizmor --offline;
#  1e. tools/check_outputs.py --strict: fails on a notebook committed without outputs or with run-to-run noise;
#  2. nbdev_test on every notebook with the default flags (slow/cuda/hub cells skipped) plus $KCAP_TEST_FLAGS
#     (`make test` sets "vllm quant": the cells that run the vLLM and llm-compressor venvs it builds);
#  3. nbdev_proc_nbs: the notebooks process for the docs site (Quarto itself is installed by the
#     docs workflow on GitHub; it cannot be installed here, so its install check is bypassed);
#  3b. tools/render_site.py: nbconvert renders _proc/ to _site_check/*.html; a page fails when it is empty, loses its
#     title cell's prose, lacks an embedded image or a table, or links to a page that does not exist;
#  4. print "notebooks: N passed, N failed", then "test command: PASS" or "test command: FAIL" (every step).
set -uo pipefail
cd "$(dirname "$0")/.."
export OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 TOKENIZERS_PARALLELISM=false
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 MPLBACKEND=Agg
status=0
log=$(mktemp -d)

echo "== 1. nbdev_clean / nbdev_export leave the tree unchanged"
snap() { find nbs kcap -type f \( -name '*.ipynb' -o -name '*.py' \) -not -path '*/.ipynb_checkpoints/*' -not -path '*/__pycache__/*' -print0 | sort -z | xargs -0 sha1sum; }
snap >"$log/before"
nbdev_clean >/dev/null 2>"$log/clean.err" || { cat "$log/clean.err"; status=1; }
nbdev_export 2>"$log/export.err" || { cat "$log/export.err"; status=1; }
snap >"$log/after"
if ! diff -q "$log/before" "$log/after" >/dev/null; then
  echo "FAIL: nbdev_clean/nbdev_export changed these files (commit clean notebooks and the exported library):"
  diff "$log/before" "$log/after" | grep '^[<>]' | awk '{print "  " $3}' | sort -u
  status=1
else
  echo "ok"
fi

echo "== 1b. README.md and nbs/sidebar.yml match nbs/index.ipynb and the notebook list"
python tools/docs_meta.py --check && echo ok || status=1

echo "== 1c. lesson shape: no test cell holds an import, export cells are short and each is followed by prose or a test"
python tools/check_cells.py && echo ok || status=1

echo "== 1d. GitHub workflows: schema (check-jsonschema) and audit (zizmor --offline)"
bash tools/check_workflows.sh && echo ok || status=1

echo "== 1e. notebooks committed with their outputs (execute with tools/exec_nbs.py)"
python tools/check_outputs.py --strict || status=1

echo "== 2. nbdev_test (default flags)"
mapfile -t nbs < <(python - <<'PY'
from nbdev.config import get_config
from nbdev.doclinks import nbglob
from nbdev.test import _keep_file
from pathlib import Path
for f in sorted(nbglob(None, as_path=True)):
    if _keep_file(Path(f), '.notest'): print(Path(f).name)
PY
)
start=$(date +%s)
flags=${KCAP_TEST_FLAGS:-}
[ -n "$flags" ] && echo "extra test flags: $flags"
nbdev_test --timing ${flags:+--flags "$flags"} 2>"$log/test.err" | tee "$log/test.out"
test_rc=${PIPESTATUS[0]}
cat "$log/test.err" >&2
failed=$(sed -n '/Failed On The Following Notebooks/,$p' "$log/test.err" | grep -E '^\s+\S+\.ipynb' | wc -l)
[ "$test_rc" -ne 0 ] && [ "$failed" -eq 0 ] && failed=${#nbs[@]}   # crashed before reporting
echo "nbdev_test: ${#nbs[@]} notebooks in $(( $(date +%s) - start )) s"

echo "== 3. nbdev_proc_nbs (docs processing)"
python tools/proc_nbs.py >"$log/proc.out" 2>&1
proc_rc=$?
if [ $proc_rc -ne 0 ]; then tail -40 "$log/proc.out"; echo "FAIL: nbdev_proc_nbs"; status=1; else echo ok; fi

echo "== 3b. the processed notebooks render to HTML (nbconvert, offline) with their images, tables and links"
if [ $proc_rc -eq 0 ]; then python tools/render_site.py --proc _proc --out _site_check || status=1
else echo "skipped: nbdev_proc_nbs failed"; fi
rm -rf _proc

total=${#nbs[@]}
[ "$test_rc" -ne 0 ] && status=1
echo "notebooks: $(( total - failed )) passed, ${failed} failed"
# the last line says whether the whole command passed: steps 1, 1b and 3 can fail while every notebook passes
[ $status -eq 0 ] && echo "test command: PASS" || echo "test command: FAIL (see the FAIL lines above)"
exit $status
