#!/usr/bin/env python3
"""Execute notebooks in place, so they are committed with their outputs (then cleaned by nbdev_clean).

    python tools/exec_nbs.py nbs/10_vlm.llava.ipynb [more.ipynb ...]

Each notebook runs the way `nbdev_test` runs it: execnb's CaptureShell, in a fresh process, with the
notebook's folder as the working directory, and the same cells skipped: cells flagged with any of
settings.ini's `tst_flags` (slow, cuda, hub), `#| eval: false` cells and `nbdev_export()` calls.
Skipped cells keep the outputs they have (a `#| slow` cell's, from a run with `--flags slow`). The environment is pinned as in tools/test.sh (one CPU
thread, Hugging Face offline, matplotlib's Agg backend) so that re-running changes as little as
possible. On an exception the notebook is not written; the message names the notebook and the cell.
After writing, nbdev_clean cleans the file (outputs are kept: clear_all=False in settings.ini), the notebook's
metadata records a hash of its code cells (`kcap.code_sha1`, kept by nbdev_clean: allowed_metadata_keys in settings.ini;
tools/check_outputs.py --strict fails when the code has changed since), and tools/check_outputs.py's checks for
machine paths and similar noise are run on it (exit 1 if any).
"""
import argparse, os, subprocess, sys, time
from pathlib import Path

ENV = dict(OMP_NUM_THREADS='1', MKL_NUM_THREADS='1', TOKENIZERS_PARALLELISM='false', HF_HUB_OFFLINE='1',
           TRANSFORMERS_OFFLINE='1', MPLBACKEND='Agg', PYTHONHASHSEED='0', IN_TEST='1')
TOOLS = Path(__file__).resolve().parent

def skip_flags():
    "The flags whose cells the default `nbdev_test` skips (settings.ini `tst_flags`)."
    from nbdev.config import get_config
    return set(str(get_config().get('tst_flags', '')).split())

def skipped(cell, flags):
    "Why the cell is not run (nbdev_test's rule), or '' when it runs."
    if cell.cell_type != 'code': return 'markdown'
    if 'nbdev_export' + '(' in cell.source: return 'nbdev_export call'
    d = getattr(cell, 'directives_', {}) or {}
    if d.get('eval:', [''])[0].lower() == 'false': return 'eval: false'
    return ', '.join(sorted(flags & d.keys()))

def skip_exec(path)->bool:
    "Whether the notebook's front matter says `skip_exec: true` (nbdev_test then skips it whole)."
    from nbdev.process import NBProcessor
    from nbdev.frontmatter import FrontmatterProc
    nb = NBProcessor(path, procs=FrontmatterProc, process=True).nb
    return str(getattr(nb, 'frontmatter_', {}).get('skip_exec', '')).lower() == 'true'

def first_line(src): return next((l for l in src.splitlines() if l.strip() and not l.startswith('#|')), '')[:80]

def run_one(path:Path, mpl_format:str, run_flags:set=frozenset())->int:
    "Execute one notebook in this process; write it back only if every run cell succeeded."
    from execnb.nbio import write_nb
    from execnb.shell import CaptureShell
    from fastcore.xtras import working_directory
    from nbdev.process import NBProcessor
    from nbdev.clean import nbdev_clean
    flags, name = skip_flags() - set(run_flags), os.path.relpath(path)
    nb = NBProcessor(path, rm_directives=False).nb   # keeps the `#|` lines in the source it writes back
    if skip_exec(path): print(f'{name}: skip_exec in its front matter, not executed'); return 0
    for c in nb.cells:   # a skipped cell keeps the outputs it has (from a run with its flag, e.g. --flags slow)
        if c.cell_type == 'code' and not skipped(c, flags): c.outputs, c.execution_count = [], None
    current = {}
    def pre(cell):
        if skipped(cell, flags): return True
        current.update(idx=cell.idx_, src=cell.source)
        return False
    sh = CaptureShell(path, mpl_format=mpl_format)
    start = time.time()
    with working_directory(path.parent):
        try: sh.run_all(nb, exc_stop=True, preproc=pre)
        except BaseException as e:
            sys.stderr.write(sh.prettytb(fname=path) + '\n')
            print(f'FAIL: {name} cell {current.get("idx")} ({first_line(current.get("src", ""))!r}) raised '
                  f'{type(e).__name__}: {e}; the notebook was not written')
            return 1
    for c in nb.cells: c.pop('directives_', None)
    sys.path.insert(0, str(TOOLS))
    from check_outputs import noise, cells_sha1
    nb.metadata['kcap'] = {'code_sha1': cells_sha1(nb.cells)}    # what the outputs were computed from (nbdev_clean keeps it)
    write_nb(nb, path)
    nbdev_clean(fname=str(path))
    found = noise(path)
    for idx, what in found: print(f'FAIL: {name} cell {idx}: {what} in its output (written; fix the cell and re-run)')
    n_run = sum(1 for c in nb.cells if not skipped(c, flags))
    print(f'{name}: {n_run} cells run in {time.time() - start:.0f} s' + (', output noise found' if found else ''))
    return 1 if found else 0

def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('notebooks', nargs='+', type=Path)
    p.add_argument('--mpl-format', default='retina', help="matplotlib inline format (retina = 2x PNG)")
    p.add_argument('--flags', default='', help='flagged cells to run too, as nbdev_test --flags (e.g. "vllm quant")')
    p.add_argument('--one', action='store_true', help=argparse.SUPPRESS)  # run in this process (the child)
    a = p.parse_args(argv)
    missing = [str(f) for f in a.notebooks if not f.is_file() or f.suffix != '.ipynb']
    if missing: p.error(f'not a notebook: {", ".join(missing)}')
    if a.one: return run_one(a.notebooks[0].resolve(), a.mpl_format, set(a.flags.split()))
    env = {**os.environ, **ENV}
    # one process per notebook, like nbdev_test: no state or imported module leaks from one notebook to the next
    rcs = [subprocess.run([sys.executable, __file__, '--one', '--mpl-format', a.mpl_format, '--flags', a.flags, str(f)], env=env).returncode
           for f in a.notebooks]
    bad = [str(f) for f, rc in zip(a.notebooks, rcs) if rc]
    if bad: print(f'exec_nbs: {len(bad)} of {len(rcs)} failed: {" ".join(bad)}')
    return 1 if bad else 0

if __name__ == '__main__': sys.exit(main())
