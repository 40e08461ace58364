#!/usr/bin/env python3
"""Report notebooks committed without outputs, with outputs older than their code, or with machine-specific noise.

    python tools/check_outputs.py            # prints WARN lines, exits 0 (tools/test.sh, for now)
    python tools/check_outputs.py --strict   # exits 1 if anything is reported

A notebook "has no outputs" when none of its code cells holds an output although the default
`nbdev_test` runs at least one cell a reader sees (not `#| hide`, not an export; a notebook whose
every such cell is skipped, or that sets `skip_exec`, is not counted). Its outputs are "older than its code" when
the hash of its code cells that `tools/exec_nbs.py` recorded in the notebook's metadata (`kcap.code_sha1`) is missing
or differs from the hash of the code cells now: a cell was edited and the notebook not re-executed. Noise: absolute paths of this checkout, the home folder, the temporary
folder or an installed package (`.../site-packages/...`, usually a warning's file name), object
addresses (`at 0x7f...`) and progress-bar rates (`12.3it/s`): they change from machine to machine or
run to run. `python tools/exec_nbs.py NB` executes a notebook and runs the same checks.
"""
import argparse, hashlib, re, sys, tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

def _patterns():
    paths = {str(ROOT), str(Path.home()), tempfile.gettempdir(), '/tmp'}
    pats = [(re.compile(re.escape(p.rstrip('/')) + r'/'), f'machine path {p}') for p in sorted(paths) if p not in ('', '/')]
    return pats + [(re.compile(r'site-packages/'), 'path of an installed package (a warning?)'),
                   (re.compile(r'\bat 0x[0-9a-f]{6,}'), 'object address'),
                   (re.compile(r'\d(?:\.\d+)?\s?(?:it/s|s/it)\b'), 'progress-bar rate')]

def _texts(out):
    "Text carried by one output (streams, text/*, JSON, tracebacks); images are skipped."
    if out.get('output_type') == 'stream': yield ''.join(out.get('text', ''))
    if out.get('output_type') == 'error': yield '\n'.join(out.get('traceback', []))
    for mime, v in (out.get('data') or {}).items():
        if mime.startswith('text/') or mime.endswith('json'): yield v if isinstance(v, str) else ''.join(map(str, v))

def noise(path)->list:
    "(cell index, what) for each noisy pattern found in the notebook's outputs."
    from execnb.nbio import read_nb
    found = []
    for c in read_nb(path).cells:
        for out in c.get('outputs', []) or []:
            for t in _texts(out):
                found += [(c.idx_, what) for pat, what in _patterns() if pat.search(t)]
    return list(dict.fromkeys(found))

SILENT = {'hide', 'export', 'exports', 'exporti', 'default_exp'}   # cells a reader is not expected to see output from

def runs_something(path)->bool:
    "Whether the default nbdev_test would run a cell of the notebook that a reader sees (not hidden, not an export)."
    from execnb.nbio import read_nb
    from nbdev.process import extract_directives
    sys.path.insert(0, str(ROOT / 'tools'))
    from exec_nbs import skipped, skip_flags, skip_exec
    if skip_exec(path): return False
    flags, nb = skip_flags(), read_nb(path)
    for c in nb.cells: c.directives_ = extract_directives(c, remove=False)
    return any(not skipped(c, flags) and not SILENT & c.directives_.keys() for c in nb.cells)

def cells_sha1(cells)->str:
    "Hash of the code cells' sources, in order: what a notebook's outputs were computed from."
    return hashlib.sha1('\0'.join(c.source for c in cells if c.cell_type == 'code').encode()).hexdigest()[:16]

def stale(path)->bool:
    "Whether the code changed since tools/exec_nbs.py executed the notebook (or it never recorded doing so)."
    from execnb.nbio import read_nb
    nb = read_nb(path)
    return (nb.metadata.get('kcap') or {}).get('code_sha1') != cells_sha1(nb.cells)

def has_outputs(path)->bool:
    from execnb.nbio import read_nb
    return any(c.get('outputs') for c in read_nb(path).cells if c.cell_type == 'code')

def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--strict', action='store_true', help='exit 1 when a notebook is reported')
    a = p.parse_args(argv)
    from nbdev.doclinks import nbglob
    nbs = sorted(Path(f) for f in nbglob(None))
    empty = [f for f in nbs if not has_outputs(f) and runs_something(f)]
    old = [f for f in nbs if f not in empty and runs_something(f) and stale(f)]
    noisy = [(f, i, w) for f in nbs for i, w in noise(f)]
    word = 'FAIL' if a.strict else 'WARN'
    rel = lambda f: f.relative_to(ROOT) if f.is_absolute() else f
    if empty:
        print(f'{word}: {len(empty)} of {len(nbs)} notebooks have no outputs (run python tools/exec_nbs.py on them):')
        for f in empty: print(f'  {rel(f)}')
    if old:
        print(f'{word}: {len(old)} of {len(nbs)} notebooks have outputs older than their code (re-run python tools/exec_nbs.py on them):')
        for f in old: print(f'  {rel(f)}')
    for f, i, w in noisy: print(f'{word}: {rel(f)} cell {i}: {w} in its output')
    if not empty and not old and not noisy: print(f'ok: all {len(nbs)} notebooks have outputs computed from their current code, none with machine paths or run-to-run noise')
    return 1 if a.strict and (empty or old or noisy) else 0

if __name__ == '__main__': sys.exit(main())
