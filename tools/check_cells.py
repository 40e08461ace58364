#!/usr/bin/env python3
"""Fail when a test cell holds an import (or a show_doc call), when an export cell is long, or when export cells follow each other.

`nbdev_proc_nbs` (the docs build) runs every cell that holds an import, without the test cells
before it, so such a cell fails there (a NameError, a relative path) or runs its test a second
time; a `show_doc` call has the same effect. Imports belong in the notebook's `#| hide` imports cell at the top. A test cell is a cell
that nbdev's docs build would run and that calls fastcore's test_* or asserts.

Lessons are short cells (issue 13): an export cell holds at most 40 non-blank lines unless it says why in a
`# long because: ...` comment, and every export cell is followed by prose or a cell that shows or tests it before
the next export cell (the exported imports cell at the top excepted).
"""
import ast, re, sys, warnings
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

MAX_EXPORT_LINES = 40
EXPORTS = {'export', 'exports', 'exporti'}

def _is_export(c)->bool:
    return c.cell_type == 'code' and bool(re.match(r'\s*#\|\s*export[si]?\b', c.source))

def lesson_shape(nb_path)->list:
    "(cell index, problem) for long export cells and export cells followed directly by another export cell."
    from execnb.nbio import read_nb
    cells, out = read_nb(nb_path).cells, []
    for k, c in enumerate(cells):
        if not _is_export(c): continue
        n = sum(1 for l in c.source.splitlines() if l.strip())
        if n > MAX_EXPORT_LINES and '# long because:' not in c.source:
            out.append((c.idx_, f'an export cell of {n} non-blank lines (at most {MAX_EXPORT_LINES}, or say why in a `# long because:` comment)'))
        first_export = not any(_is_export(x) for x in cells[:k])
        if k + 1 < len(cells) and _is_export(cells[k + 1]) and not first_export:
            out.append((c.idx_, 'followed directly by another export cell (put prose or a demo/test between them)'))
    return out

if __name__ == '__main__':
    bad = [(f, i, w, l) for f in sorted(Path('nbs').rglob('*.ipynb')) if '.ipynb_checkpoints' not in f.parts for i, w, l in test_cells_with_imports(f)]
    for f, i, w, l in bad:
        print(f'FAIL: {f} cell {i}: a test cell that {w}, so the docs build runs it alone (move the import to the imports cell, '
              f'or show_doc to a cell of its own): {l}')
    shape = [(f, i, w) for f in sorted(Path('nbs').rglob('*.ipynb')) if '.ipynb_checkpoints' not in f.parts for i, w in lesson_shape(f)]
    for f, i, w in shape: print(f'FAIL: {f} cell {i}: {w}')
    sys.exit(1 if bad or shape else 0)
