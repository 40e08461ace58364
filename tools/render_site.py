#!/usr/bin/env python3
"""Render the docs-processed notebooks (`_proc/`) to standalone HTML without Quarto, and check every page.

    python tools/proc_nbs.py && python tools/render_site.py      # what tools/test.sh runs (step 3b)
    python tools/render_site.py                                   # runs tools/proc_nbs.py itself when _proc/ is missing

Quarto renders the site in the docs workflow; it cannot be installed here, so nbconvert (PyPI, offline) renders
each notebook of `_proc/` (nbdev's docs processing: hidden cells removed, directives applied, show_doc cells run)
into `_site_check/<output-file>` (the page name Quarto gives it: `00_core.ipynb` -> `core.html`), with every image
embedded as a data: URI and no script or style fetched from a CDN (MathJax is left out: formulas show as TeX).

A page FAILs when
- nbconvert raises on it, or it shows nothing but its title (an empty page);
- the title cell holds more than `# Title`, `> summary` (and `- key: value` lines): nbdev turns that cell into
  the page's front matter and drops the rest, so that prose never reaches the site;
- it has fewer embedded images (`<img src="data:...">`) than its image outputs and markdown images, or an image
  that is not embedded (a path the page cannot load);
- it has fewer `<table>` than its markdown tables (prose and show_doc's parameter tables) and HTML table outputs
  (DataFrames);
- a link to another notebook (`NN_x.ipynb`), to a page (`x.html`) or to this site's address (nbdev's doc links)
  names a page that does not exist.
Notebooks committed without outputs are WARN lines (tools/check_outputs.py reports them too), not failures.
Prints one line per page (images, tables) and a total; exits 1 when a page fails.
"""
import argparse, re, shutil, subprocess, sys, time, warnings
from html.parser import HTMLParser
from pathlib import Path
from types import SimpleNamespace
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / 'tools'))

# nbconvert's lab template, minus the scripts it loads from a CDN (require.js, MathJax, mermaid, widgets)
OFFLINE_TEMPLATE = """{%- extends 'lab/index.html.j2' -%}
{%- block html_head_js_requirejs -%}{%- endblock html_head_js_requirejs -%}
{%- block jupyter_widgets -%}{%- endblock jupyter_widgets -%}
{%- block html_head_js_mathjax -%}{%- endblock html_head_js_mathjax -%}
{%- block html_head_js_mermaidjs -%}{%- endblock html_head_js_mermaidjs -%}
{%- block extra_css -%}<style>body{font-family:"NanumGothic","Noto Sans KR",sans-serif}</style>{%- endblock extra_css -%}
"""
# which representation of an output nbconvert's HTML exporter shows (its display_data_priority, in order)
PRIORITY = ['application/vnd.jupyter.widget-view+json', 'application/javascript', 'text/html', 'text/markdown',
            'image/svg+xml', 'text/latex', 'image/png', 'image/jpeg', 'image/gif', 'image/webp', 'text/plain']
RASTER = {'image/png', 'image/jpeg', 'image/gif', 'image/webp'}

_fence = re.compile(r'^\s*(```|~~~)')
_table_sep = re.compile(r'^\s*\|?\s*:?-{3,}:?\s*(\|\s*:?-{3,}:?\s*)+\|?\s*$|^\s*\|\s*:?-{3,}:?\s*\|\s*$')
_md_img = re.compile(r'!\[[^\]]*\]\([^)]+\)|<img\s', re.I)

def prose_lines(md:str)->list:
    "Lines of a markdown text outside fenced code blocks."
    out, fenced = [], False
    for l in md.splitlines():
        if _fence.match(l): fenced = not fenced; continue
        if not fenced: out.append(l)
    return out

def md_tables(md:str)->int:
    "Markdown (GFM) tables in a text: a separator row `|---|---|` right under a row holding `|`."
    ls = prose_lines(md)
    return sum(1 for a, b in zip(ls, ls[1:]) if '|' in a and _table_sep.match(b))

def md_images(md:str)->int: return sum(len(_md_img.findall(l)) for l in prose_lines(md))

def shown(out)->tuple:
    "(mime type, text) of the representation nbconvert shows for one output."
    if out.get('output_type') == 'stream': return 'stream', ''
    if out.get('output_type') == 'error': return 'error', ''
    data = out.get('data') or {}
    for m in PRIORITY:
        if m in data: return m, data[m] if isinstance(data[m], str) else ''.join(data[m])
    return '', ''

def expected(nb)->dict:
    "What the rendered page must hold: images (raster outputs + markdown images), svgs, tables."
    n = dict(images=0, svgs=0, tables=0, image_outputs=0)
    for c in nb.cells:
        if c.cell_type == 'markdown':
            n['images'] += md_images(c.source); n['tables'] += md_tables(c.source)
        for o in c.get('outputs', []) or []:
            m, t = shown(o)
            if m in RASTER: n['images'] += 1; n['image_outputs'] += 1
            elif m == 'image/svg+xml': n['svgs'] += 1
            elif m == 'text/html': n['tables'] += len(re.findall(r'<table\b', t, re.I))
            elif m == 'text/markdown': n['tables'] += md_tables(t); n['images'] += md_images(t)
    return n

class Page(HTMLParser):
    "The images, tables, links and visible text of a rendered page."
    def __init__(self):
        super().__init__(); self.imgs, self.links, self.tables, self.svgs, self.text, self._skip = [], [], 0, 0, [], 0
    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == 'img': self.imgs.append(a.get('src') or '')
        elif tag == 'a' and a.get('href'): self.links.append(a['href'])
        elif tag == 'table': self.tables += 1
        elif tag == 'svg': self.svgs += 1
        elif tag in ('script', 'style', 'title'): self._skip += 1
    def handle_endtag(self, tag):
        if tag in ('script', 'style', 'title'): self._skip -= 1
    def handle_data(self, d):
        if not self._skip and d.strip(): self.text.append(d.strip())

def read(path):
    "The notebook as nbformat nodes (without nbformat's warning about cells lacking ids: nbdev_clean assigns them)."
    import nbformat
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        return nbformat.read(path, as_version=4)

def is_frontmatter(c)->bool: return c.cell_type == 'raw' and c.source.strip().startswith('---')

def frontmatter(nb)->dict:
    "The YAML front matter nbdev put in the notebook's first raw cell."
    import yaml
    for c in nb.cells:
        if is_frontmatter(c): return yaml.safe_load(c.source.strip().strip('-')) or {}
    return {}

def lost_prose(src_path)->list:
    "Lines of the source notebook's title cell that nbdev's front matter processing drops from the page."
    from execnb.nbio import read_nb
    from nbdev.frontmatter import _md2dict
    if not src_path.exists(): return []
    for c in read_nb(src_path).cells:
        if is_frontmatter(c) and 'title' in frontmatter(SimpleNamespace(cells=[c])): return []   # title given as YAML
        if c.cell_type == 'markdown' and _md2dict(c.source):
            keep = re.compile(r'^(#\s+\S.*|>\s+\S.*|-\s+\S.*:.*\S)\s*$')
            return [l for l in c.source.splitlines() if l.strip() and not keep.match(l.strip())]
    return []

def visible_cells(nb)->int:
    "Cells a reader sees besides the front matter and nbdev's 'autogenerated' comment."
    return sum(1 for c in nb.cells if c.cell_type != 'raw' and (c.source.strip() or c.get('outputs'))
               and not c.source.strip().startswith('<!-- WARNING: THIS FILE WAS AUTOGENERATED'))

def site_prefix()->str:
    "This site's address (doc_host + doc_baseurl from settings.ini), as nbdev's doc links write it."
    from nbdev.config import get_config
    cfg = get_config()
    return f"{cfg.doc_host.rstrip('/')}/{cfg.doc_baseurl.strip('/')}/"

def exporter():
    "nbconvert's HTML exporter with the offline template; markdown tables inside list items and quotes render too (as pandoc does)."
    import jinja2
    from mistune.plugins import import_plugin
    from nbconvert import HTMLExporter
    from nbconvert.filters.markdown_mistune import MarkdownWithMath
    from jinja2 import pass_context as contextfilter
    plugins = [*MarkdownWithMath.DEFAULT_PLUGINS, 'mistune.plugins.table.table_in_list', 'mistune.plugins.table.table_in_quote']
    class Exporter(HTMLExporter):
        @contextfilter
        def markdown2html(self, context, source):
            r = self._md_renderer(context)
            return MarkdownWithMath(renderer=r, plugins=[import_plugin(p) for p in plugins]).render(source)
        def _md_renderer(self, context):
            from nbconvert.filters.markdown_mistune import IPythonRenderer
            return IPythonRenderer(escape=False, attachments=context.get('cell', {}).get('attachments', {}),
                                   embed_images=self.embed_images, path=context.get('resources', {}).get('metadata', {}).get('path', ''),
                                   anchor_link_text=self.anchor_link_text, exclude_anchor_links=self.exclude_anchor_links, **self.lexer_options)
    return Exporter(template_name='lab', embed_images=True, exclude_input_prompt=True, exclude_output_prompt=True, template_file='kcap_offline.html.j2',
                    extra_loaders=[jinja2.DictLoader({'kcap_offline.html.j2': OFFLINE_TEMPLATE})])

_opt = re.compile(r'^#\|\s*([\w-]+)\s*:\s*(.*?)\s*$')
_attrs = re.compile(r'(\]\([^)\s]*\))\{[^}]*\}')

def quarto_options(c):
    "Apply the cell options Quarto honours (`#| echo/output/include: false`) and drop the option lines; None drops the cell."
    if c.cell_type != 'code':
        return c
    lines = c.source.splitlines(); opts = {}
    while lines and lines[0].startswith('#|'):
        if m := _opt.match(lines.pop(0)): opts[m.group(1)] = m.group(2).lower()
    if opts.get('include') == 'false': return None
    c.source = '\n'.join(lines)
    if opts.get('echo') == 'false': c.metadata.setdefault('transient', {})['remove_source'] = True; c.source = ''
    if opts.get('output') == 'false': c.outputs = []
    for o in c.get('outputs', []):       # pandoc link attributes (show_doc's `[source](url){target=...}`) are Quarto syntax
        if isinstance((o.get('data') or {}).get('text/markdown'), str): o['data']['text/markdown'] = _attrs.sub(r'\1', o['data']['text/markdown'])
    return c

def render(path, exp)->tuple:
    "(html, expected counts, front matter, cells shown besides the title) of one processed notebook."
    import nbformat
    nb = read(path)
    fm = frontmatter(nb)
    head = f"# {fm.get('title', path.stem)}" + (f"\n\n{fm['description']}" if fm.get('description') else '')
    nb.cells = [c for c in map(quarto_options, nb.cells) if c is not None and not is_frontmatter(c)]
    want = expected(nb)
    nb.cells.insert(0, nbformat.v4.new_markdown_cell(head))      # Quarto shows title and description from front matter
    nb.metadata['title'] = str(fm.get('title', path.stem))
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        html, _ = exp.from_notebook_node(nb, resources={'metadata': {'path': str(path.parent), 'name': path.stem}})
    return html, want, fm, visible_cells(nb) - 1

def check_links(links, page, pages, proc, prefix)->list:
    "Links of one page that name a page, notebook or file that does not exist."
    bad, here = [], (proc / page).parent
    for href in links:
        u = urlsplit(href)
        if href.startswith('#') or u.scheme in ('mailto', 'data', 'javascript'): continue
        if u.scheme in ('http', 'https'):
            if href.startswith(prefix):
                target = u.path[len(urlsplit(prefix).path):] or 'index.html'
                if target not in pages: bad.append(f'{href} (no page {target} on the site)')
            continue
        if u.scheme or u.netloc: continue
        target = (here / u.path).resolve()
        try: rel = target.relative_to(proc.resolve()).as_posix()
        except ValueError: bad.append(f'{href} (outside the site)'); continue
        if rel.endswith('.html'): ok = rel in pages
        else: ok = target.exists()
        if not ok: bad.append(f'{href} (no such {"page" if rel.endswith((".html", ".ipynb")) else "file"})')
    return bad

def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--proc', default='_proc', help='the docs-processed notebooks (tools/proc_nbs.py writes _proc)')
    p.add_argument('--out', default='_site_check', help='where the HTML pages go')
    p.add_argument('--nbs', default='nbs', help='the source notebooks (front matter and outputs are checked there)')
    a = p.parse_args(argv)
    proc, out, src = (ROOT / a.proc), (ROOT / a.out), (ROOT / a.nbs)
    made_proc = not proc.exists()
    if made_proc:
        print(f'{a.proc}/ missing: running tools/proc_nbs.py (about a minute)')
        r = subprocess.run([sys.executable, str(ROOT / 'tools/proc_nbs.py')], cwd=ROOT, capture_output=True, text=True)
        if r.returncode: print(r.stdout[-3000:], r.stderr[-3000:]); print('FAIL: tools/proc_nbs.py'); return 1
    try: return _check(proc, out, src)
    finally:
        if made_proc: shutil.rmtree(proc, ignore_errors=True)

def relink(html, nb_path, page, proc, nbpage)->str:
    "Links to notebooks become links to their pages, relative to `page` (Quarto does the same)."
    def _one(m):
        u = urlsplit(m.group(2))
        try: key = (nb_path.parent / u.path).resolve().relative_to(proc.resolve()).as_posix()
        except ValueError: return m.group(0)
        if key not in nbpage: return m.group(0)      # left as it is: check_links reports it
        up = ['..'] * len(Path(page).parent.parts)
        return f'{m.group(1)}"{"/".join(up + [nbpage[key]])}{"#" + u.fragment if u.fragment else ""}"'
    return re.sub(r'(href=)"([^"#:]+\.ipynb(?:#[^"]*)?)"', _one, html)

def check_page(html, want, ncells, srcf, page, pages, proc, prefix)->tuple:
    "(problems, embedded images, tables) of one rendered page."
    pg, problems = Page(), []
    pg.feed(html)
    data_imgs = [s for s in pg.imgs if s.startswith('data:')]
    other_imgs = [s for s in pg.imgs if not s.startswith('data:')]
    if ncells == 0: problems.append('empty page: nothing but the title')
    if lost := lost_prose(srcf):
        problems.append(f'{len(lost)} lines of the title cell are dropped by nbdev (keep `# Title` and `> summary` alone in their cell), '
                        f'first: {lost[0][:70]!r}')
    if len(data_imgs) < want['images']:
        problems.append(f'{len(data_imgs)} embedded images, {want["images"]} expected ({want["image_outputs"]} image outputs)')
    if other_imgs: problems.append(f'images not embedded: {", ".join(other_imgs[:5])}')
    if pg.svgs < want['svgs']: problems.append(f'{pg.svgs} svg, {want["svgs"]} expected')
    if pg.tables < want['tables']: problems.append(f'{pg.tables} tables, {want["tables"]} expected')
    if bad := check_links(pg.links, page, pages, proc, prefix): problems.append('broken links: ' + '; '.join(dict.fromkeys(bad)))
    return problems, len(data_imgs), pg.tables

def _check(proc, out, src)->int:
    from check_outputs import has_outputs, runs_something
    t0 = time.time()
    nbs = sorted(f for f in proc.rglob('*.ipynb') if not any(p.startswith(('_', '.')) for p in f.relative_to(proc).parts))
    for f in out.rglob('*.html'): f.unlink()
    # page names first (Quarto's output-file), so links can be checked against the whole site
    nbpage = {f.relative_to(proc).as_posix(): (f.parent.relative_to(proc) / frontmatter(read(f)).get('output-file', f.stem + '.html')).as_posix()
              for f in nbs}
    pages, prefix, exp = set(nbpage.values()), site_prefix(), exporter()
    fails, warns, tot = [], [], dict(images=0, tables=0, pages=0)
    for f in nbs:
        rel = f.relative_to(proc).as_posix(); page, srcf = nbpage[rel], src / rel
        try: html, want, fm, ncells = render(f, exp)
        except Exception as e:
            fails.append(f'{rel} -> {page}: nbconvert failed: {type(e).__name__}: {str(e)[:300]}'); print(f'FAIL {page:32} does not render ({rel})'); continue
        html = relink(html, f, page, proc, nbpage)
        problems, n_img, n_tab = check_page(html, want, ncells, srcf, page, pages, proc, prefix)
        dst = out / page; dst.parent.mkdir(parents=True, exist_ok=True); dst.write_text(html, encoding='utf-8')
        tot['images'] += n_img; tot['tables'] += n_tab; tot['pages'] += 1
        src_imgs = sum(1 for c in read(srcf).cells for o in c.get('outputs', []) or [] if shown(o)[0] in RASTER) if srcf.exists() else 0
        note = f', {src_imgs - want["image_outputs"]} image outputs of hidden cells not shown' if src_imgs > want['image_outputs'] else ''
        print(f'{"FAIL" if problems else "ok  "} {page:32} {n_img:3} images {n_tab:3} tables {len(html)//1024:5} KB  ({rel}{note})')
        fails += [f'{rel} -> {page}: {p}' for p in problems]
        if srcf.exists() and not has_outputs(srcf) and runs_something(srcf): warns.append(rel)
    if warns:
        print(f'WARN: {len(warns)} of {len(nbs)} notebooks have no outputs, so their pages show code without results '
              f'(python tools/exec_nbs.py NB): {" ".join(warns)}')
    print(f'render: {tot["pages"]} pages in {out.relative_to(ROOT) if out.is_relative_to(ROOT) else out}/, {tot["images"]} images, '
          f'{tot["tables"]} tables, {len(warns)} without outputs, {len({x.split(" ->")[0] for x in fails})} failed ({time.time() - t0:.0f} s)')
    for x in fails: print(f'FAIL: {x}')
    return 1 if fails else 0

if __name__ == '__main__': sys.exit(main())
