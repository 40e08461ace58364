#!/usr/bin/env python3
"""Fail when a test cell holds an import (or a show_doc call).

`nbdev_proc_nbs` (the docs build) runs every cell that holds an import, without the test cells
before it, so such a cell fails there (a NameError, a relative path) or runs its test a second
time; a `show_doc` call has the same effect. Imports belong in the notebook's `#| hide` imports cell at the top. A test cell is a cell
that nbdev's docs build would run and that calls fastcore's test_* or asserts.
"""
import ast, sys, warnings
from pathlib import Path
from nbdev.process import NBProcessor
from nbdev.processors import _do_eval

def test_cells_with_imports(nb_path):
    "(cell index, why, first line) of each test cell in the notebook that nbdev_proc_nbs would execute."
    out = []
    for c in NBProcessor(nb_path).nb.cells:
        with warnings.catch_warnings():
            warnings.simplefilter('ignore')
            if not _do_eval(c) or set(c.directives_) & {'export', 'exports', 'exporti', 'exec_doc'}: continue
        tree = ast.parse(c.source)
        tests = any(isinstance(n, ast.Assert) or (isinstance(n, ast.Call) and isinstance(n.func, ast.Name)
                    and n.func.id.startswith('test_')) for n in ast.walk(tree))
        imports = any(isinstance(n, (ast.Import, ast.ImportFrom)) for n in ast.walk(tree))
        if tests: out.append((c.idx_, 'holds an import' if imports else 'holds show_doc', c.source.strip().splitlines()[0][:80]))
    return out

if __name__ == '__main__':
    bad = [(f, i, w, l) for f in sorted(Path('nbs').rglob('*.ipynb')) if '.ipynb_checkpoints' not in f.parts for i, w, l in test_cells_with_imports(f)]
    for f, i, w, l in bad:
        print(f'FAIL: {f} cell {i}: a test cell that {w}, so the docs build runs it alone (move the import to the imports cell, '
              f'or show_doc to a cell of its own): {l}')
    sys.exit(1 if bad else 0)
