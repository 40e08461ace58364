"""Training step with logits for every position vs for the caption positions only, side by side in one run.

kcap's training computes logits only where the loss reads them: `CaptionCollator` passes
`logits_to_keep = caption_logits_to_keep(labels)` and `CaptionLM` hands it to transformers, so `lm_head`
runs on the caption positions and not on the prompt and the `<video>` tokens. This script measures what
that saves, on the CPU, for two settings:

  demo       the CPU demo's tiny model (`kcap.demo.demo_config()`: Qwen3-style LLM, hidden 128, 2 layers)
             with its tokenizer's vocabulary (384) and a demo-sized batch: 16 samples of 72 video tokens,
             34 prompt tokens and 22 caption tokens;
  real-vocab the same tiny model with Qwen3's real `lm_head` size (151,936 rows) at the planner's real
             sequence for Qwen3-8B + SigLIP, 8 frames (`kcap plan configs/l4.yaml`: 1,352 video tokens, 64
             prompt tokens, 512 caption tokens; here 1,368 video tokens, 38 frames of the tiny encoder's 36);
             batch 1. Only the logits part is real size here: the
             tiny decoder makes the rest small, so the memory saved is close to the planner's logits terms.

Each arm runs in a fresh process (so its peak resident memory is its own): build the model, make the
batch, 1 warm-up step, then `--steps` timed steps (forward, `caption_loss`, backward). It prints the
median step time, the peak RSS of the process (`ru_maxrss`) and the loss; the parent prints them side by
side, with the ratio and whether the two losses agree. Arms alternate (all, caption, all, caption) when
`--rounds` > 1.

Usage: OMP_NUM_THREADS=1 python bench/bench_logits.py [--steps 3] [--rounds 1] [--settings demo,real-vocab]
"""
import argparse, json, os, resource, statistics, subprocess, sys, time
os.environ.setdefault('OMP_NUM_THREADS', '1')

SETTINGS = {   # batch, video tokens, prompt tokens, caption tokens, vocabulary (None: the demo tokenizer's)
    'demo': dict(batch=16, video=None, prompt=34, caption=22, vocab=384),
    'real-vocab': dict(batch=1, video=1368, prompt=64, caption=512, vocab=151936),
}


def arm(setting, keep, steps):
    "One arm in this process: median step seconds, peak RSS MiB, loss."
    import torch
    torch.set_num_threads(int(os.environ['OMP_NUM_THREADS']))
    from kcap.demo import demo_config
    from kcap.vlm.llava_next_video import tiny_model
    from kcap.train.two_stage import CaptionLM, caption_loss, caption_logits_to_keep
    from kcap.vlm.embed import video_features
    s, cfg = SETTINGS[setting], demo_config()
    vlm = tiny_model(cfg.model, seed=0, tokenizer_size=s['vocab'], tiny=cfg.tiny_spec)
    vlm.train()
    c = vlm.config
    g = torch.Generator().manual_seed(0)
    px = torch.randn(1, cfg.model.frames, 3, c.kcap_frame_size, c.kcap_frame_size, generator=g)
    with torch.no_grad(): f1 = video_features(vlm, px)   # (1, T, N, C): what the feature cache holds for one clip
    n_vid = f1.shape[1] * f1.shape[2] if s['video'] is None else s['video']
    B, L = s['batch'], s['prompt'] + n_vid + s['caption']
    ids = torch.randint(0, min(c.video_token_index, s['vocab']) - 1, (B, L), generator=g)
    ids[:, 4:4 + n_vid] = c.video_token_index
    labels = torch.full_like(ids, -100); labels[:, s['prompt'] + n_vid:] = ids[:, s['prompt'] + n_vid:]
    if s['video'] is None: vf = f1.expand(B, *f1.shape[1:]).contiguous()
    else:                  # the real-size token count, as frames of the tiny encoder's tokens
        per = f1.shape[2]
        if n_vid % per: raise SystemExit(f'{setting}: {n_vid} video tokens is not a multiple of {per} tokens per frame')
        vf = torch.randn(B, n_vid // per, per, f1.shape[3], generator=g)
    lm = CaptionLM(vlm)
    k = caption_logits_to_keep(labels) if keep else 0
    def step():
        loss = caption_loss(lm(ids, torch.ones_like(ids), video_features=vf, logits_to_keep=k), labels)
        loss.backward(); vlm.zero_grad(set_to_none=True)
        return loss.item()
    loss = step()
    times = []
    for _ in range(steps):
        t = time.perf_counter(); step(); times.append(time.perf_counter() - t)
    return dict(step_s=statistics.median(times), peak_rss_mib=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                loss=loss, positions=k or L, sequence=L, batch=B)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--steps', type=int, default=3)
    ap.add_argument('--rounds', type=int, default=1, help='alternating rounds of the two arms (default 1)')
    ap.add_argument('--settings', default='demo,real-vocab')
    ap.add_argument('--arm', help=argparse.SUPPRESS)   # internal: SETTING:all|caption, run in a child process
    a = ap.parse_args(argv)
    if a.arm:
        setting, which = a.arm.split(':')
        print(json.dumps(arm(setting, which == 'caption', a.steps))); return 0
    print(f'torch threads {os.environ["OMP_NUM_THREADS"]}; {a.steps} timed steps per arm (median), each arm in its own process')
    for setting in a.settings.split(','):
        res = {'all': [], 'caption': []}
        for _ in range(a.rounds):
            for which in ('all', 'caption'):
                out = subprocess.run([sys.executable, __file__, '--arm', f'{setting}:{which}', '--steps', str(a.steps)],
                                     capture_output=True, text=True, check=True).stdout
                res[which].append(json.loads(out.strip().splitlines()[-1]))
        r = {w: {**v[0], 'step_s': statistics.median(x['step_s'] for x in v), 'rss': max(x['peak_rss_mib'] for x in v)}
             for w, v in res.items()}
        ra, rc = r['all'], r['caption']
        print(f'\n== {setting}: batch {ra["batch"]}, sequence {ra["sequence"]}, vocabulary {SETTINGS[setting]["vocab"]:,}')
        print(f'{"logits for":<22}{"positions":>10}{"step s":>10}{"peak RSS MiB":>14}{"loss":>12}')
        for w, x in (('every position', ra), ('caption positions', rc)):
            print(f'{w:<22}{x["positions"]:>10}{x["step_s"]:>10.3f}{x["rss"]:>14.0f}{x["loss"]:>12.6f}')
        print(f'step time all/caption {ra["step_s"] / rc["step_s"]:.2f}x; peak RSS saved {ra["rss"] - rc["rss"]:.0f} MiB; '
              f'losses agree: {abs(ra["loss"] - rc["loss"]) <= 1e-5 * max(1.0, abs(ra["loss"]))}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
