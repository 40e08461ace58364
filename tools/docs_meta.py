#!/usr/bin/env python3
"""Generate README.md from nbs/index.ipynb and nbs/sidebar.yml (grouped by notebook band).

`nbdev_readme` needs Quarto, which cannot be installed on the CI machines; this renders the
index notebook's markdown cells the same way (title, summary as a quote, prose; hidden cells
dropped) so the README never drifts from the notebook. The docs workflow renders the site with
Quarto itself. `--check` exits 1 if either file is out of date (tools/test.sh runs it).
"""
import json, re, sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
NBS = ROOT/'nbs'
BANDS = [('0', '바탕과 데이터 (core, data)'), ('1', 'VLM 핵심 (VLM core)'), ('2', '비전 인코더 (vision)'),
         ('3', 'LLM 백본 (LLM)'), ('4', '학습 (training)'), ('5', '평가 (evaluation)'),
         ('6', '추론 최적화 (inference)'), ('9', '명령줄과 앱 (CLI/app)')]

def readme_text()->str:
    nb = json.loads((NBS/'index.ipynb').read_text(encoding='utf-8'))
    parts = []
    for c in nb['cells']:
        if c['cell_type'] != 'markdown': continue
        src = ''.join(c['source'])
        parts.append(src)
    text = '\n\n'.join(parts)
    # notebook links -> links to the notebooks in the repo (the docs site rewrites them itself)
    text = re.sub(r'\]\(((?:tutorials/)?\d\d_[\w.]+)\.ipynb\)', r'](nbs/\1.ipynb)', text)
    text = re.sub(r'\]\(images/', '](nbs/images/', text)                  # pictures live in nbs/images
    return '<!-- generated from nbs/index.ipynb by tools/docs_meta.py: edit the notebook, not this file -->\n\n' + text.strip() + '\n'

def sidebar_text()->str:
    nbs = sorted(p.name for p in NBS.glob('[0-9][0-9]_*.ipynb'))
    tut = sorted(str(p.relative_to(NBS)) for p in (NBS/'tutorials').glob('*.ipynb')) if (NBS/'tutorials').exists() else []
    lines = ['website:', '  sidebar:', '    contents:', '      - index.ipynb']
    if tut:
        lines += ['      - section: 튜토리얼 (tutorials)', '        contents:'] + [f'          - {t}' for t in tut]
    for band, title in BANDS:
        mine = [n for n in nbs if n.startswith(band)]
        if not mine: continue
        lines += [f'      - section: "{title}"', '        contents:'] + [f'          - {n}' for n in mine]
    return '\n'.join(lines) + '\n'

def main(argv):
    outs = {ROOT/'README.md': readme_text(), NBS/'sidebar.yml': sidebar_text()}
    stale = [p for p, t in outs.items() if not p.exists() or p.read_text(encoding='utf-8') != t]
    if '--check' in argv:
        for p in stale: print(f'{p.relative_to(ROOT)} is out of date: run python tools/docs_meta.py')
        return 1 if stale else 0
    for p, t in outs.items(): p.write_text(t, encoding='utf-8')
    return 0

if __name__ == '__main__': sys.exit(main(sys.argv[1:]))
