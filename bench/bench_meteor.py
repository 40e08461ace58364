#!/usr/bin/env python3
"""Benchmark kcap's caption metrics against the reference programs, side by side in one run.

    OMP_NUM_THREADS=1 .venv/bin/python bench/bench_meteor.py [--n 2000] [--skip-long] [--cli-n 300]

Data: the 2000 KorSTS pairs of nbs/fixtures/korsts-meteor/oracle_scores.tsv ("short"), and 2000 "long" pairs made
deterministically by joining consecutive pairs until both sides have at least 500 characters (AI-Hub captions average
about 575). For every protocol it times kcap and the reference implementation on the same input and prints the ratio
and the largest segment-score difference. Tokenization is timed on its own rows:

- meteor15-en:   kcap end to end on raw text (normalizer included)  vs  `java -jar meteor-1.5.jar h r -l en -norm`
- meteor15-kiwi: kcap on Kiwi tokens                                 vs  `java -jar meteor-1.5.jar h r -l other` on the same tokens
- coco:          kcap (PTB port + METEOR port) end to end            vs  pycocoevalcap PTBTokenizer + Meteor (Java), end to end
- nltk-kiwi:     kcap on Kiwi tokens                                 vs  nltk.translate.meteor_score (no WordNet) on the same tokens
Jar times are wall-clock of the whole process (JVM start, paraphrase table load, scoring), as a user would run it.
kcap's METEOR rows use the numba beam-search kernel when numba is installed. Its one-time costs are printed on their own
rows and are NOT in the kcap column: the first call in this process (loading the compiled kernel from numba's cache in
kcap/eval/__pycache__, or compiling it when the cache is empty), and a cold compile measured in a separate process with an
empty NUMBA_CACHE_DIR (what the very first run after installing kcap pays once).
The CLI rows time what a grid pays per run: `kcap eval PRED REF --protocol meteor15-en` as a new process on the first
--cli-n short pairs (imports, reading the files, scoring, CI95, constant baseline, BLEU/ROUGE-L/CIDEr-D, diversity), median of
3 runs, against the jar's median of 3 on the same pairs; "cold" gives each run an empty NUMBA_CACHE_DIR (a kernel cache miss).
kcap ports only METEOR's exact module: the row "vs jar -m exact" shows the agreement with the jar restricted to it (the
full jar's English stem/synonym/paraphrase modules fire on some Latin words and digits, mostly in the long news pairs).
"""
import argparse, csv, json, os, re, statistics, subprocess, sys, tempfile, time
from pathlib import Path
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from kcap.eval.meteor import meteor_jar_path, meteor_words, meteor_corpus, meteor_params   # noqa: E402
from kcap.eval import meteor as kmeteor                                                     # noqa: E402
from kcap.eval.nltk_meteor import nltk_meteor                                               # noqa: E402
from kcap.eval.tokenize import kiwi_tokens, kiwi_instance, coco_tokenize                    # noqa: E402
from kcap.eval.protocols import score_protocol                                              # noqa: E402


def load(n):
    rows = list(csv.DictReader(open(ROOT / 'nbs/fixtures/korsts-meteor/oracle_scores.tsv', encoding='utf-8'),
                               delimiter='\t', quoting=csv.QUOTE_NONE))[:n]
    short = [(r['hypothesis'], r['reference']) for r in rows]
    long, m = [], len(rows)
    for k in range(m):
        h, f, j = [], [], k
        while len(' '.join(h)) < 500 or len(' '.join(f)) < 500:
            h.append(rows[j % m]['hypothesis']); f.append(rows[j % m]['reference']); j += 1
        long.append((' '.join(h), ' '.join(f)))
    return short, long


def timed(fn):
    t = time.perf_counter(); out = fn(); return out, time.perf_counter() - t


def jar_files(hyps, refs, args):
    "Plaintext jar run; returns segment scores."
    with tempfile.TemporaryDirectory() as d:
        Path(d, 'h').write_text('\n'.join(hyps) + '\n', encoding='utf-8'); Path(d, 'r').write_text('\n'.join(refs) + '\n', encoding='utf-8')
        p = subprocess.run(['java', '-Xmx2G', '-jar', str(meteor_jar_path()), f'{d}/h', f'{d}/r', *args], capture_output=True, text=True, check=True)
    return [float(x) for x in re.findall(r'Segment \d+ score:\s*(\S+)', p.stdout)]


def cocoevalcap(hyps, refs):
    from pycocoevalcap.tokenizer.ptbtokenizer import PTBTokenizer
    from pycocoevalcap.meteor.meteor import Meteor
    gts = {k: [{'caption': r}] for k, r in enumerate(refs)}; res = {k: [{'caption': h}] for k, h in enumerate(hyps)}
    tok = PTBTokenizer(); gts, res = tok.tokenize(gts), tok.tokenize(res)
    m = Meteor(); _, seg = m.compute_score(gts, res); del m
    return seg


class NoWordNet:
    def synsets(self, *a, **k): return []


def bench(name, pairs, rows):
    hyps, refs = [h for h, _ in pairs], [r for _, r in pairs]
    # tokenization, timed separately
    kiwi_tokens(hyps[:10])                       # load and warm up Kiwi outside the timed call
    kt, t_kiwi = timed(lambda: kiwi_tokens(hyps + refs))
    kh, kr = kt[:len(hyps)], kt[len(hyps):]
    _, t_norm = timed(lambda: [meteor_words(t, True) for t in hyps + refs])
    _, t_ptb = timed(lambda: coco_tokenize(hyps + refs))
    rows.append((name, 'tokenize: Kiwi morphemes', t_kiwi, None, None))
    rows.append((name, 'tokenize: METEOR -norm (kcap)', t_norm, None, None))
    rows.append((name, 'tokenize: PTB (kcap port)', t_ptb, None, None))
    # meteor15-en
    (_, seg), t_k = timed(lambda: meteor_corpus([meteor_words(h, True) for h in hyps], [[meteor_words(r, True)] for r in refs], meteor_params('en')))
    js, t_j = timed(lambda: jar_files(hyps, refs, ['-l', 'en', '-norm']))
    rows.append((name, 'meteor15-en  (end to end)', t_k, t_j, np.abs(np.array(seg) - js)))
    js, t_j = timed(lambda: jar_files(hyps, refs, ['-l', 'en', '-norm', '-m', 'exact']))
    rows.append((name, 'meteor15-en  vs jar -m exact', t_k, t_j, np.abs(np.array(seg) - js)))
    # meteor15-kiwi
    jh, jr = [' '.join(t) for t in kh], [' '.join(t) for t in kr]
    (_, seg), t_k = timed(lambda: meteor_corpus(kh, [[r] for r in kr], meteor_params('other')))
    js, t_j = timed(lambda: jar_files(jh, jr, ['-l', 'other']))
    rows.append((name, 'meteor15-kiwi (scoring)', t_k, t_j, np.abs(np.array(seg) - js)))
    # coco
    s, t_k = timed(lambda: score_protocol(hyps, [[r] for r in refs], 'coco').segments)
    js, t_j = timed(lambda: cocoevalcap(hyps, refs))
    rows.append((name, 'coco         (end to end)', t_k, t_j, np.abs(s - np.array(js))))
    # nltk-kiwi (both warmed up first: kcap imports nltk's stemmer on its first call, and nltk is imported below before timing)
    nltk_meteor([kr[0]], kh[0])
    seg, t_k = timed(lambda: [nltk_meteor([r], h) for h, r in zip(kh, kr)])
    from nltk.translate.meteor_score import meteor_score
    ns, t_n = timed(lambda: [meteor_score([r], h, wordnet=NoWordNet()) for h, r in zip(kh, kr)])
    rows.append((name, 'nltk-kiwi    (scoring)', t_k, t_n, np.abs(np.array(seg) - ns)))


FIRST_CALL = "from kcap.eval.meteor import _kernel_matches; _kernel_matches([('a b a'.split(), 'b a c a'.split())], 40)"


def kernel_rows(rows):
    "The numba kernel's one-time costs, each on its own row (not counted in the kcap column)."
    if not kmeteor._KERNEL:
        rows.append(('-', 'numba kernel: off (numba missing or KCAP_NO_NUMBA set): scalar beam search, pair by pair', 0.0, None, None)); return
    _, t = timed(lambda: exec(FIRST_CALL, {}))
    hit = sum(kmeteor._beam_kernel.stats.cache_hits.values()) > 0
    rows.append(('-', f"numba kernel: first call in this process ({'loaded from cache' if hit else 'compiled, cache was empty'})", t, None, None))
    with tempfile.TemporaryDirectory() as d:
        env = dict(os.environ, NUMBA_CACHE_DIR=d)
        code = f"import time, sys; sys.path.insert(0, {str(ROOT)!r}); import kcap.eval.meteor; t = time.perf_counter(); {FIRST_CALL}; print(time.perf_counter() - t)"
        t = float(subprocess.run([sys.executable, '-c', code], env=env, capture_output=True, text=True, check=True).stdout)
    rows.append(('-', 'numba kernel: cold compile (own process, empty cache; once per install)', t, None, None))


def cli_rows(pairs, rows, repeats=3):
    "`kcap eval --protocol meteor15-en` end to end in its own process (warm caches, then an empty numba cache) vs the jar, medians of `repeats`."
    hyps, refs = [h for h, _ in pairs], [r for _, r in pairs]
    with tempfile.TemporaryDirectory() as d:
        for name, caps in (('p', hyps), ('r', refs)):
            Path(d, f'{name}.jsonl').write_text(''.join(json.dumps({'id': str(k), 'caption': c}, ensure_ascii=False) + '\n' for k, c in enumerate(caps)), encoding='utf-8')
        cmd = [sys.executable, '-c', 'import sys; from kcap.cli import main; sys.exit(main(sys.argv[1:]))', 'eval', f'{d}/p.jsonl', f'{d}/r.jsonl', '--protocol', 'meteor15-en']
        env = dict(os.environ, PYTHONPATH=str(ROOT)); env.pop('NUMBA_CACHE_DIR', None)
        run = lambda e: timed(lambda: subprocess.run(cmd, env=e, cwd=d, capture_output=True, check=True))[1]
        run(env)                                                           # bytecode and numba caches in place for the warm runs
        warm, cold, jar = [], [], []
        for _ in range(repeats):                                           # interleaved: a busy machine slows all three alike
            jar.append(timed(lambda: jar_files(hyps, refs, ['-l', 'en', '-norm']))[1]); warm.append(run(env))
            with tempfile.TemporaryDirectory() as c: cold.append(run(dict(env, NUMBA_CACHE_DIR=c)))
    name = f'{len(pairs)} short'
    rows.append((name, f'kcap eval CLI, meteor15-en, new process, warm (median of {repeats})', statistics.median(warm), statistics.median(jar), None))
    rows.append((name, f'kcap eval CLI, meteor15-en, new process, empty numba cache (median of {repeats})', statistics.median(cold), statistics.median(jar), None))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--n', type=int, default=2000); ap.add_argument('--skip-long', action='store_true')
    ap.add_argument('--cli-n', type=int, default=300, help='pairs for the kcap eval CLI rows (0: skip them)')
    a = ap.parse_args()
    short, long = load(a.n)
    rows = []
    kernel_rows(rows)
    if a.cli_n: cli_rows(load(a.cli_n)[0], rows)
    bench(f'{a.n} short', short, rows)
    if not a.skip_long: bench(f'{a.n} long (>=500 chars)', long, rows)
    print(f"\n| set | what | kcap s | reference s | reference / kcap | max abs diff | pairs within 1e-6 |")
    print('| --- | --- | ---: | ---: | ---: | ---: | ---: |')
    for name, what, tk, tr, d in rows:
        ref = f'{tr:.2f}' if tr is not None else '-'
        ratio = f'{tr / tk:.1f}x' if tr is not None else '-'
        diff = f'{d.max():.1e}' if d is not None else '-'
        within = f'{(d <= 1e-6).mean():.4f}' if d is not None else '-'
        print(f'| {name} | {what} | {tk:.2f} | {ref} | {ratio} | {diff} | {within} |')


if __name__ == '__main__':
    main()
