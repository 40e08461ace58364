#!/usr/bin/env python3
"""Decode benchmark: 8 frames at 336x336 from 1080p and 720p H.264 clips made by kcap's generator.

Measures, side by side in one run: decord (num_threads=2, decoding at the target size), a plain PyAV
loop (threaded decoding, frames converted at the target size), and kcap's `load_frames` with an empty
frame cache (cold: decode + atomic cache write) and a filled one (warm). Each is repeated `--reps`
times in an interleaved order; the table gives medians and the two ratios the issue asks for:
kcap cold / fastest decoder (target <= 1.1) and kcap cold / kcap warm (target >= 20).

A second table compares kcap's PyAV reader (the only decoder `kcap serve` uses) as it ships, seeking from keyframe to
keyframe for a sparse request, with the same reader decoding every frame from the start (seeking switched off for the
arm), on the same clips and on copies re-encoded with a keyframe every `--gop` frames (the generator's clips keep
x264's default of 250, one or two keyframes in 15 s; camera and phone footage often has one every 0.5-2 s).

    python bench/bench_decode.py [--clips 2] [--reps 5] [--seconds 15] [--gop 30] [--work /tmp/kcap_bench]

Clips are generated once into --work (15 s, 30 fps) and reused by later runs.
Not a test: figures depend on the machine and its load (printed before and after).
"""
import argparse, os, shutil, statistics, tempfile, time
from pathlib import Path

import av
import decord
import numpy as np

from kcap.data.synth import make_synth_dataset
from kcap.data import video
from kcap.data.video import FrameCache, load_frames, sample_indices, write_video

SIZE, K = 336, 8

def run_decord(path):
    vr = decord.VideoReader(str(path), ctx=decord.cpu(0), num_threads=2, width=SIZE, height=SIZE)
    return vr.get_batch(sample_indices(len(vr), K).tolist()).asnumpy()

def run_pyav(path):
    with av.open(str(path)) as c:
        s = c.streams.video[0]; s.thread_type = 'AUTO'; s.codec_context.thread_count = 2
        want, out = set(sample_indices(s.frames, K).tolist()), []
        for i, f in enumerate(c.decode(s)):
            if i in want: out.append(f.reformat(width=SIZE, height=SIZE, format='rgb24').to_ndarray())
            if i >= max(want): break
    return np.stack(out)

def run_kcap_pyav(path, seeking:bool):
    "kcap's PyAV reader (no cache), with seeking as shipped or switched off (every frame decoded from the start)."
    keep = video._SEEK_MIN
    if not seeking: video._SEEK_MIN = 10**9
    try: return load_frames(path, K, size=SIZE, backend='pyav')
    finally: video._SEEK_MIN = keep

def regop(src:Path, dst:Path, gop:int)->Path:
    "A copy of src re-encoded with a keyframe every `gop` frames (same frames, libx264 veryfast)."
    if not dst.exists():
        dst.parent.mkdir(exist_ok=True)
        with av.open(str(src)) as c: frames = [f.to_ndarray(format='rgb24') for f in c.decode(c.streams.video[0])]
        write_video(dst.with_suffix('.tmp.mp4'), frames, fps=30, options={'preset': 'veryfast', 'crf': '18', 'g': str(gop), 'keyint_min': str(gop)})
        dst.with_suffix('.tmp.mp4').rename(dst)
    return dst

def seek_table(clips:dict, gop:int, reps:int):
    "Median seconds per clip of kcap's PyAV reader with and without seeking, on the clips and on their re-encoded copies."
    print(f'\nkcap PyAV reader, {K} frames at {SIZE}x{SIZE}: seeking from keyframe to keyframe vs every frame from the start (median seconds per clip)')
    print('| clip | keyframes | n | from the start | seeking | speed-up |')
    print('| --- | --- | ---: | ---: | ---: | ---: |')
    for name, paths in clips.items():
        for kind, ps in (('x264 default (250)', paths), (f'every {gop}', [regop(p, p.parent.parent/f'gop{gop}'/p.name, gop) for p in paths])):
            t = {True: [], False: []}
            for p in ps:
                assert np.array_equal(run_kcap_pyav(p, True), run_kcap_pyav(p, False)), 'seeking changed the frames'
                for r in range(reps):
                    for seeking in ((True, False) if r % 2 else (False, True)):
                        t0 = time.perf_counter(); run_kcap_pyav(p, seeking); t[seeking].append(time.perf_counter() - t0)
            a, b = statistics.median(t[False]), statistics.median(t[True])
            print(f'| {name} | {kind} | {len(t[True])} | {a:.3f} | {b:.3f} | {a / b:.2f}x |')

def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--clips', type=int, default=2, help='clips per resolution')
    p.add_argument('--reps', type=int, default=5, help='repetitions per method and clip')
    p.add_argument('--seconds', type=float, default=15.0)
    p.add_argument('--gop', type=int, default=30, help='keyframe interval of the re-encoded copies in the seeking table')
    p.add_argument('--work', default=os.path.join(tempfile.gettempdir(), 'kcap_bench'))
    a = p.parse_args(argv)
    work = Path(a.work)
    print(f'load average before: {os.getloadavg()}  (cpus: {os.cpu_count()})')
    clips = {}
    for name, size in (('1080p', (1920, 1080)), ('720p', (1280, 720))):
        out = work/f'{name}_{a.seconds:g}s_{a.clips}'
        if not (out/'splits.json').exists():
            t = time.perf_counter()
            make_synth_dataset(out, n=a.clips, seed=0, size=size, fps=30, seconds=a.seconds, workers=1, overwrite=True)
            print(f'generated {a.clips} {name} clips ({a.seconds:g} s, 30 fps, H.264) in {time.perf_counter() - t:.1f} s')
        clips[name] = sorted((out/'videos').glob('*.mp4'))

    cache_root = Path(tempfile.mkdtemp(prefix='kcap_bench_cache_'))
    try:
        rows = []
        for name, paths in clips.items():
            times = {m: [] for m in ('decord', 'pyav', 'kcap cold', 'kcap warm')}
            for path in paths:
                ref = run_decord(path)
                assert np.abs(run_pyav(path).astype(int) - ref).mean() < 8, 'PyAV and decord disagree'
                for r in range(a.reps):
                    order = [('decord', lambda: run_decord(path)), ('pyav', lambda: run_pyav(path))]
                    if r % 2: order.reverse()
                    for m, fn in order:
                        t = time.perf_counter(); fn(); times[m].append(time.perf_counter() - t)
                    shutil.rmtree(cache_root); cache_root.mkdir()
                    t = time.perf_counter(); f, info = load_frames(path, K, size=SIZE, cache=cache_root, return_info=True)
                    times['kcap cold'].append(time.perf_counter() - t)
                    assert not info['cached'] and f.shape == (K, SIZE, SIZE, 3) and np.array_equal(f, ref)
                    for _ in range(3):
                        t = time.perf_counter(); f, info = load_frames(path, K, size=SIZE, cache=cache_root, return_info=True)
                        times['kcap warm'].append(time.perf_counter() - t)
                        assert info['cached'] and np.array_equal(f, ref)
            med = {m: statistics.median(v) for m, v in times.items()}
            fastest = min(('decord', 'pyav'), key=med.get)
            rows.append((name, med, fastest, len(times['decord'])))
    finally:
        shutil.rmtree(cache_root, ignore_errors=True)

    print(f'\n8 frames at {SIZE}x{SIZE}, uniform sampling, {a.seconds:g} s clips at 30 fps; median seconds per clip')
    print('| clip | n | decord | PyAV | kcap cold | kcap warm | cold / fastest decoder | cold / warm |')
    print('| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |')
    for name, med, fastest, n in rows:
        print(f"| {name} | {n} | {med['decord']:.3f} | {med['pyav']:.3f} | {med['kcap cold']:.3f} | {med['kcap warm'] * 1000:.1f} ms"
              f" | {med['kcap cold'] / med[fastest]:.2f}x (vs {fastest}) | {med['kcap cold'] / med['kcap warm']:.0f}x |")
    print(f'\ntargets: cold / fastest <= 1.10, cold / warm >= 20')
    seek_table(clips, a.gop, a.reps)
    print(f'load average after: {os.getloadavg()}')

if __name__ == '__main__': main()
