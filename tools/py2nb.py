#!/usr/bin/env python3
"""Turn a cell-script draft into a notebook: `python tools/py2nb.py draft.py nbs/NN_name.ipynb`.

A draft is plain text split into cells by marker lines: `#%%` starts a code cell, `#%% md` a
markdown cell (its lines are written as they are, no comment prefix). Notebooks stay the
source of truth; this only saves hand-writing JSON. Existing outputs are not kept.
"""
import json, re, sys
from pathlib import Path

def cells_from_text(text:str)->list[dict]:
    cells, kind, buf = [], None, []
    def flush():
        if kind is None: return
        src = '\n'.join(buf).strip('\n')
        if not src: return
        lines = src.split('\n')
        source = [l+'\n' for l in lines[:-1]] + [lines[-1]]
        c = {'cell_type': kind, 'metadata': {}, 'source': source}
        if kind == 'code': c.update(execution_count=None, outputs=[])
        cells.append(c)
    for line in text.split('\n'):
        m = re.fullmatch(r'#%%\s*(md)?\s*', line)
        if m:
            flush(); kind, buf = ('markdown' if m.group(1) else 'code'), []
        else: buf.append(line)
    flush()
    return cells

def main(src, dst):
    nb = {'cells': cells_from_text(Path(src).read_text(encoding='utf-8')),
          'metadata': {'kernelspec': {'display_name': 'python3', 'language': 'python', 'name': 'python3'}},
          'nbformat': 4, 'nbformat_minor': 5}
    Path(dst).write_text(json.dumps(nb, ensure_ascii=False, indent=1) + '\n', encoding='utf-8')

if __name__ == '__main__': main(*sys.argv[1:3])
