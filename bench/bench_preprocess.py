"""Where a clip's preprocessing runs in `kcap serve`: the engine thread's work and the pipe's load per clip, frames vs pixels, side by side.

Before: the decoding process sent the decoded uint8 frames and the engine thread ran the processor (resize + normalize,
`frames_to_pixels`) before the vision tower; during that time, with continuous batching, every row waited.
Now: the decoding process also runs `frames_to_pixels(frames, **engine.pixel_args())` and sends float32 pixels at the
encoder's input size; the engine thread calls `encode(pixels=...)`.

For each clip size this prints, per clip, on one thread (OMP_NUM_THREADS=1, as the tests):
- the engine thread's encode time from frames (`encode(videos=)`) and from pixels (`encode(pixels=)`), with the
  demo model (`--model`, default: a random captioner of the demo's size) and its frame count;
- the bytes the pipe carries (pickled frames vs pickled pixels);
- for a SigLIP-384 processor with 16 frames (the plan's full-size setting, preprocessing only: no model is loaded),
  the time of `frames_to_pixels` and the bytes of both.

Usage: OMP_NUM_THREADS=1 python bench/bench_preprocess.py [--model DIR] [--sizes 112x64,1280x720,1920x1080]
"""
import argparse, os, pickle, statistics, sys, tempfile, time
os.environ.setdefault('OMP_NUM_THREADS', '1')
from pathlib import Path
import numpy as np, torch
from transformers import AutoTokenizer
from kcap.data.synth import make_synth_dataset
from kcap.infer.export import load_engine
from kcap.llm.tokenization import bundled_qwen3_tokenizer_dir
from kcap.vlm.processor import VideoCaptionProcessor, frames_to_pixels
from kcap.vlm.registry import ModelSpec
sys.path.insert(0, str(Path(__file__).parent))
from bench_serve import demo_sized_captioner

def ms(fn, n:int=5)->float:
    "Median wall time of fn() in ms (one warm-up call)."
    fn(); ts = []
    for _ in range(n): t = time.perf_counter(); fn(); ts.append(time.perf_counter() - t)
    return statistics.median(ts) * 1000

def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--model', type=Path, help='captioner or serving folder (default: a random captioner of the demo size)')
    ap.add_argument('--sizes', default='112x64,1280x720,1920x1080', help='clip sizes WxH')
    a = ap.parse_args(); torch.set_num_threads(1)
    tmp = Path(tempfile.mkdtemp(prefix='bench-pre-'))
    if a.model is None: make_synth_dataset(tmp/'clips', n=4, seed=0, size=(112, 64), fps=8, seconds=1.0)
    eng = load_engine(a.model or demo_sized_captioner(tmp/'captioner', tmp/'clips'))
    T, rng = eng.processor.frames, np.random.default_rng(0)
    full = VideoCaptionProcessor.from_spec(ModelSpec('siglip-so400m-14-384', 'qwen3-8b', frames=16), AutoTokenizer.from_pretrained(str(bundled_qwen3_tokenizer_dir())))
    big = full.pixel_args()   # kcap's own processor for the plan's SigLIP-384 + Qwen3 model (no weights needed)
    print(f'model: {a.model or "a random captioner of the demo size"} ({T} frames, input {eng.processor.image_size} px); '
          f'full-size columns: the SigLIP-384 processor with 16 frames (preprocessing only); OMP_NUM_THREADS={os.environ["OMP_NUM_THREADS"]}\n')
    print('| clip | engine thread: encode(videos=) ms | encode(pixels=) ms | ratio | pipe: frames | pixels | SigLIP-384 x16: frames_to_pixels ms | pipe: frames | pixels |')
    print('|---|---:|---:|---:|---:|---:|---:|---:|---:|')
    mb = lambda x: f'{len(pickle.dumps(x, protocol=5)) / 2**20:.2f} MB'
    for s in a.sizes.split(','):
        w, h = map(int, s.split('x'))
        fr = rng.integers(0, 256, (T, h, w, 3), dtype=np.uint8)
        px = frames_to_pixels(fr, **eng.pixel_args()).numpy()
        t_fr, t_px = ms(lambda: eng.encode(videos=[fr])), ms(lambda: eng.encode(pixels=[px]))
        fr16 = rng.integers(0, 256, (16, h, w, 3), dtype=np.uint8)
        t16 = ms(lambda: frames_to_pixels(fr16, **big), n=2)
        px16 = frames_to_pixels(fr16, **big).numpy()
        print(f'| {w}x{h} | {t_fr:.1f} | {t_px:.2f} | {t_fr / t_px:.1f}x | {mb(fr)} | {mb(px)} | {t16:.0f} | {mb(fr16)} | {mb(px16)} |', flush=True)

if __name__ == '__main__': main()
