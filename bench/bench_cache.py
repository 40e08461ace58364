"""Stage-1 epoch time with and without kcap's vision-feature cache, side by side in one run.

Setting (default): the CPU demo exactly. `kcap.demo.demo_config()` (tiny random SigLIP + Qwen3 as the
demo sizes it: its TinySpec, frames, pool stride, squash resize, batch 16) and
`make_synth_dataset(n=DEMO_CLIPS, seed=0, wording='canonical')` (1600) (112x64 clips, 2 s at
8 fps). One epoch is the train split (stage 1 trains on it), in a fixed order, cut into the same
batches for every arm. The model, tokenizer, processor and loss are kcap's own training parts
(`tiny_tokenizer`, `tiny_model`, `apply_adapters(..., 'none', train_projector=True)`,
`VideoCaptionProcessor`, `CaptionLM`, `CaptionCollator`, `caption_loss`); each batch is one
projector-only AdamW step (stage 1's lr and gradient clipping), run by a plain loop rather than
the Trainer (whose overhead is the same in every arm).

Arms (same model, same captions, same batches):
  (a) decode every epoch  frames decoded from the MP4 (`load_frames`, as `cache_features` does),
                          `processor(videos, captions)`, `CaptionLM(pixel_values_videos=...)`:
                          the encoder runs every step;
  (b) warm frame cache    the same, frames read from a warm `FrameCache` (video-size frames);
  (c) feature cache       `CaptionDataset` over a `FeatureCache` filled by `cache_features`,
                          `CaptionCollator`, `CaptionLM(video_features=...)`: what `kcap train` does.
Each arm gets one warm-up epoch, then 3 timed epochs; the arms are interleaved (a, b, c, a, b,
c, ...) so that load from other jobs on the machine falls on all of them. The table reports the
median epoch, per clip, and the ratio to the feature-cache arm; the one-off costs of filling
the frame cache and the feature cache are printed above it (the feature cache filled once per
`--fill-workers` value: decoding threads of `cache_features`, side by side, with a check that the
features are bitwise the same).

`--real-size` adds a second setting (slow, off by default): the same arms on a handful of
1280x720 clips, 15 s at 30 fps (`make_synth_dataset(size=(1280, 720), seconds=15, fps=30)`),
the decode-bound regime of real AI-Hub footage. The model is the same tiny one, so only the
decode side grows. All `--real-n` clips (default 16: one batch) make its epoch. Runtime on 2
shared cores: making 16 clips took about 2 minutes (2 workers), decoding is about 1 s a clip,
so `--real-size` adds about 4 minutes to the default setting's 1.5.

Usage: OMP_NUM_THREADS=1 python bench/bench_cache.py [--n 1600] [--repeats 3] [--real-size [--real-n 16]] [--fill-workers 0,2]
"""
import argparse, os, statistics, sys, tempfile, time
os.environ.setdefault('OMP_NUM_THREADS', '1')
from pathlib import Path
import torch
from kcap.demo import demo_config, DEMO_CLIPS
from kcap.data.synth import make_synth_dataset
from kcap.data.aihub import build_manifest
from kcap.data.video import load_frames, FrameCache
from kcap.train.cache import FeatureCache
from kcap.train.lora import apply_adapters
from kcap.train.two_stage import (load_splits, tiny_tokenizer, prompt_text, CaptionLM, CaptionCollator, caption_loss, caption_logits_to_keep, CaptionDataset,
    cache_features, feature_namespace)
from kcap.vlm.llava_next_video import add_video_tokens, tiny_model
from kcap.vlm.processor import VideoCaptionProcessor

def build(cfg, samples):
    "Tokenizer (learned from the captions, as `kcap train` does for a tiny model), stage-1 model, processor, optimizer."
    tok = tiny_tokenizer([s.caption for s in samples], cfg.model.llm_spec.prompt_style, prompt=prompt_text(cfg))
    vlm = tiny_model(cfg.model, seed=cfg.seed, tokenizer_size=add_video_tokens(tok)[0], tiny=cfg.tiny_spec)
    vlm = apply_adapters(vlm, 'none', train_projector=True)             # stage 1: the projector only
    proc = VideoCaptionProcessor.from_config(cfg, tok).check_model(vlm)
    st = cfg.stage1
    params = [p for p in vlm.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=st.lr, betas=(st.adam_beta1, st.adam_beta2), eps=st.adam_eps, weight_decay=st.weight_decay)
    return vlm, proc, params, opt

def run_setting(name, data, cfg, split, repeats, tmp, fill_workers=(0, 2)):
    "Time the three arms on the clips of `split` ('train' or 'all') of the dataset in `data`; print the table."
    samples = build_manifest(data, workers=2)[0] if split == 'all' else load_splits(data, seed=cfg.seed, workers=2)[0][split]
    vlm, proc, params, opt = build(cfg, samples)
    lm, st, sampling = CaptionLM(vlm).train(), cfg.stage1, cfg.data.sampling
    # one-off costs: the feature cache as `kcap train` fills it (decode + encoder once), a warm frame cache
    warm = FeatureCache(tmp/f'{name}-warm-up', feature_namespace(cfg, proc))   # first calls (decoder, encoder) out of the timings
    cache_features(vlm, proc, samples[:st.batch_size], warm, sampling, batch_size=st.batch_size, workers=max(fill_workers))
    fills = {}                                                          # the fill with each number of decoding threads
    for w in fill_workers:
        t = time.perf_counter()
        c = FeatureCache(tmp/f'{name}-features-w{w}', feature_namespace(cfg, proc))
        kept, keys, rep = cache_features(vlm, proc, samples, c, sampling, batch_size=st.batch_size, workers=w)
        fills[w] = (time.perf_counter() - t, c)
        if rep['failed'] or len(kept) != len(samples): sys.exit(f'{name}: clips failed to decode: {rep["failed"][:3]}')
    cache = fills[fill_workers[-1]][1]
    same = all(torch.equal(cache.get(k), c.get(k)) for _, c in fills.values() for k in keys)
    fc = FrameCache(tmp/f'{name}-frames')
    t = time.perf_counter()
    for s in samples: load_frames(s.video, proc.frames, strategy=sampling, cache=fc)
    frame_fill = time.perf_counter() - t
    ds, collate = CaptionDataset(samples, keys, cache), CaptionCollator(proc)
    batches = [range(i, min(i + st.batch_size, len(samples))) for i in range(0, len(samples), st.batch_size)]

    def step(b, **video):
        logits = lm(b['input_ids'], b['attention_mask'], **video, logits_to_keep=caption_logits_to_keep(b['labels']))
        caption_loss(logits, b['labels']).backward()
        if st.max_grad_norm: torch.nn.utils.clip_grad_norm_(params, st.max_grad_norm)
        opt.step(); opt.zero_grad(set_to_none=True)
    def pixel_epoch(frame_cache):
        for idx in batches:
            clips = [samples[i] for i in idx]
            b = proc([load_frames(s.video, proc.frames, strategy=sampling, cache=frame_cache) for s in clips], [s.caption for s in clips])
            step(b, pixel_values_videos=b['pixel_values_videos'])
    def feature_epoch():
        for idx in batches:
            b = collate([ds[i] for i in idx])
            step(b, video_features=b['video_features'])
    with torch.no_grad():                                               # the two paths compute the same loss
        b0 = [samples[i] for i in batches[0]]
        px = proc([load_frames(s.video, proc.frames, strategy=sampling, cache=fc) for s in b0], [s.caption for s in b0])
        ft = collate([ds[i] for i in batches[0]])
        l_px = caption_loss(lm(px['input_ids'], px['attention_mask'], pixel_values_videos=px['pixel_values_videos']), px['labels'])
        l_ft = caption_loss(lm(ft['input_ids'], ft['attention_mask'], video_features=ft['video_features']), ft['labels'])
    arms = {'(a) decode every epoch': lambda: pixel_epoch(None), '(b) warm frame cache': lambda: pixel_epoch(fc),
            '(c) feature cache': feature_epoch}
    times = {k: [] for k in arms}
    for r in range(repeats + 1):                                        # round 0: warm-up, not counted
        for k, f in arms.items():
            t = time.perf_counter(); f(); dt = time.perf_counter() - t
            if r: times[k].append(dt)
    med = {k: statistics.median(v) for k, v in times.items()}
    ref = med['(c) feature cache']
    v0 = load_frames(samples[0].video, 1, return_info=True)[0]
    print(f'\n== {name}: {len(samples)} clips ({split}), video {v0.shape[2]}x{v0.shape[1]}, {proc.frames} frames -> '
          f'{proc.image_size}px ({proc.resize}), batch {st.batch_size}, {len(batches)} steps/epoch, '
          f'torch threads {torch.get_num_threads()}')
    f0 = fills[fill_workers[0]][0]
    print('one-off: feature cache filled (cache_features: decode + encoder) in '
          + ', '.join(f'{s:.2f} s with workers={w} ({f0 / s:.2f}x)' for w, (s, _) in fills.items())
          + f'; features identical across them: {same}; frame cache filled in {frame_fill:.2f} s')
    print(f'loss of batch 1 before training: pixels {l_px.item():.6f}, cached features {l_ft.item():.6f}')
    print(f'{"arm":<24}{f"epoch s (median of {repeats})":>24}{"ms / clip":>11}{"vs feature cache":>18}   all epochs s')
    for k, v in med.items():
        print(f'{k:<24}{v:>24.3f}{1000 * v / len(samples):>11.1f}{v / ref:>17.1f}x   '
              + ' '.join(f'{x:.3f}' for x in times[k]))
    return med

def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--n', type=int, default=DEMO_CLIPS, help="synthetic clips of the demo setting (default: the demo's DEMO_CLIPS; below about 60 the val split is empty and load_splits refuses)")
    ap.add_argument('--repeats', type=int, default=3, help='timed epochs per arm after the warm-up epoch (default 3)')
    ap.add_argument('--real-size', action='store_true', help='also run the 1280x720 15 s setting (slow: minutes)')
    ap.add_argument('--real-n', type=int, default=16, help='clips of the --real-size setting (default 16)')
    ap.add_argument('--fill-workers', default='0,2', help='decoding threads of the one-off cache fills timed side by side (default 0,2; the last fill is the one trained on)')
    a = ap.parse_args(argv)
    torch.set_num_threads(int(os.environ['OMP_NUM_THREADS']))
    cfg = demo_config()
    with tempfile.TemporaryDirectory(prefix='kcap-bench-cache-') as d:
        tmp = Path(d)
        t = time.perf_counter()
        make_synth_dataset(tmp/'demo', n=a.n, seed=0, wording='canonical', workers=2)
        print(f'demo data: {a.n} clips made in {time.perf_counter() - t:.1f} s')
        fw = tuple(int(w) for w in a.fill_workers.split(','))
        run_setting('demo setting', tmp/'demo', cfg, 'train', a.repeats, tmp, fw)
        if a.real_size:
            t = time.perf_counter()
            make_synth_dataset(tmp/'real', n=a.real_n, seed=0, wording='canonical', workers=2, size=(1280, 720), seconds=15, fps=30)
            print(f'\nreal-size data: {a.real_n} clips made in {time.perf_counter() - t:.1f} s')
            run_setting('real-size setting', tmp/'real', cfg, 'all', a.repeats, tmp, fw)

if __name__ == '__main__': main()
