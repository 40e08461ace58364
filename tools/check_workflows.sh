#!/usr/bin/env bash
# Check the GitHub workflows in .github/workflows/ without GitHub (everything here runs offline):
#  a. each file validates against GitHub's workflow schema (check-jsonschema's vendored copy);
#  b. zizmor --offline reports no finding (its policy, and the one documented exception, are in
#     .github/zizmor.yml);
#  c. kcap-specific mistakes neither tool sees: a setup-python `cache:` without a
#     `cache-dependency-path` that exists (setup-python then looks for requirements.txt, which kcap
#     does not have, and the step fails), and a CPU-torch pin in test.yaml that differs from the
#     Makefile's (the Makefile would then replace it with PyPI's CUDA build).
# Exit 1 on any failure. Needs check-jsonschema and zizmor (test_requirements in settings.ini).
set -uo pipefail
cd "$(dirname "$0")/.."
shopt -s nullglob
wfs=(.github/workflows/*.yaml .github/workflows/*.yml)
status=0
[ ${#wfs[@]} -gt 0 ] || { echo "FAIL: no workflow in .github/workflows/"; exit 1; }
for tool in check-jsonschema zizmor; do
  command -v "$tool" >/dev/null || { echo "FAIL: $tool not found (pip install -e '.[test]')"; exit 1; }
done

out=$(check-jsonschema --builtin-schema vendor.github-workflows "${wfs[@]}" 2>&1) \
  || { echo "$out"; echo "FAIL: check-jsonschema (GitHub workflow schema)"; status=1; }

# zizmor exits non-zero when it reports a finding; --no-progress/--quiet keep the log to the findings
out=$(zizmor --offline --no-progress --quiet .github/workflows/ 2>&1) \
  || { echo "$out"; echo "FAIL: zizmor --offline"; status=1; }

python - "${wfs[@]}" <<'PY' || status=1
import re, sys, yaml
from pathlib import Path
bad = []
for wf in sys.argv[1:]:
    doc = yaml.safe_load(Path(wf).read_text())
    for job_id, job in (doc.get('jobs') or {}).items():
        for i, step in enumerate(job.get('steps') or []):
            if not str(step.get('uses', '')).startswith('actions/setup-python@'): continue
            w = step.get('with') or {}
            if not w.get('cache'): continue
            paths = str(w.get('cache-dependency-path') or '').split()
            if not paths: bad.append(f'{wf}: job {job_id} step {i}: setup-python cache without cache-dependency-path')
            bad += [f'{wf}: job {job_id} step {i}: cache-dependency-path {p} does not exist' for p in paths if not Path(p).exists()]
pin = lambda text: set(re.findall(r'pip install -q torch==([0-9][0-9.]*)\s*$', text, re.M))
make, test = pin(Path('Makefile').read_text()), set(re.findall(r'torch==([0-9][0-9.]*) --index-url', Path('.github/workflows/test.yaml').read_text()))
if len(make) != 1 or make != test:
    bad.append(f'torch pin: Makefile installs {sorted(make)}, .github/workflows/test.yaml installs the CPU build of {sorted(test)}: they must be one version')
for b in bad: print('FAIL:', b)
sys.exit(1 if bad else 0)
PY
exit $status
