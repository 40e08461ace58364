"""Offline captioning with static batches (`engine.caption`) vs continuous batching (`caption_continuous`), side by side in one run.

Clips: synthetic 112x64, 2 s (the demo's kind), decoded once. Model: `--model DIR` (default: the demo's model,
demo_out/run/model; run `make demo` first). Both arms decode the same clips with the same settings and batch size, in
alternation, `--repeats` times after a warm-up; the script prints each time, the ratio static/continuous, whether the
captions are identical (greedy: they must be), and the spread of caption lengths in tokens (continuous batching gains
only when lengths differ within a batch).

Usage: OMP_NUM_THREADS=1 python bench/bench_continuous.py [--model DIR] [--clips 32] [--batch-size 8] [--refill N] [--repeats 3]
"""
import argparse, os, statistics, tempfile, time
os.environ.setdefault('OMP_NUM_THREADS', '1')
from pathlib import Path
from kcap.data.synth import make_synth_dataset
from kcap.infer.continuous import caption_continuous
from kcap.infer.export import load_engine
from kcap.infer.serve import ServeConfig, read_clip

def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--model', default='demo_out/run/model'); ap.add_argument('--clips', type=int, default=32)
    ap.add_argument('--batch-size', type=int, default=8); ap.add_argument('--refill', type=int)
    ap.add_argument('--repeats', type=int, default=3)
    a = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix='bench-continuous-'))
    make_synth_dataset(tmp/'c', n=a.clips, seed=1, size=(112, 64), fps=8, seconds=2.0)
    eng = load_engine(a.model)
    vids = [read_clip(p, eng, ServeConfig())[0] for p in sorted((tmp/'c'/'videos').glob('*.mp4'))]
    static = lambda: eng.caption(vids, batch_size=a.batch_size)
    cont = lambda: caption_continuous(eng, vids, batch_size=a.batch_size, refill=a.refill)
    ref = static(); same = cont() == ref                                   # warm-up, and the equality check
    lens = [len(eng.processor.tokenizer(c, add_special_tokens=False)['input_ids']) for c in ref]
    ts, tc = [], []
    for _ in range(a.repeats):
        t = time.perf_counter(); static(); ts.append(time.perf_counter() - t)
        t = time.perf_counter(); cont(); tc.append(time.perf_counter() - t)
    print(f'model {a.model}; {a.clips} clips, batch {a.batch_size}; caption tokens {min(lens)}-{max(lens)} (median {statistics.median(lens):g}); '
          f'load average {os.getloadavg()[0]:.1f}')
    print('| arm | seconds (each repeat) | median | clips/s |\n|---|---|---:|---:|')
    for name, t in (('static (engine.caption)', ts), ('continuous (caption_continuous)', tc)):
        print(f'| {name} | {", ".join(f"{x:.2f}" for x in t)} | {statistics.median(t):.2f} | {a.clips / statistics.median(t):.1f} |')
    print(f'\nstatic / continuous time: {statistics.median(ts) / statistics.median(tc):.2f}x; captions identical: {same}')

if __name__ == '__main__': main()
