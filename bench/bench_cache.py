"""Stage-1 epoch time with and without kcap's vision-feature cache, side by side in one run.

Setting (the demo's scale): synthetic clips from kcap.data.synth, 8 frames at 32 px, a tiny
CLIP(64) + Llama(128) LlavaNextVideo, projector trained (stage 1), batch 16, 1 thread.
Caption tokens are random ids of a fixed length (the text side is identical in both arms; this
measures what the cache removes: decoding + the frozen vision tower).
Arms: (a) decode frames from MP4 every epoch; (b) frames from a warm FrameCache, vision tower
every epoch; (c) cached encoder features (kcap.train.cache). Usage: python bench/bench_cache.py [N_CLIPS]
"""
import os, sys, tempfile, time
os.environ.setdefault('OMP_NUM_THREADS', '1')
from pathlib import Path
import numpy as np, torch
from transformers import LlavaNextVideoConfig, LlavaNextVideoForConditionalGeneration, CLIPVisionConfig, LlamaConfig
from kcap.data.synth import make_synth_dataset
from kcap.data.aihub import build_manifest
from kcap.data.video import load_frames, FrameCache
from kcap.train.cache import FeatureCache, clip_key, fill_cache, embeds_from_features

torch.set_num_threads(1); torch.manual_seed(0)
N = int(sys.argv[1]) if len(sys.argv) > 1 else 96
T, S, BS, CAP = 8, 32, 16, 40
tmp = Path(tempfile.mkdtemp())
make_synth_dataset(tmp/'data', n=N, seed=0, workers=2)
samples, _ = build_manifest(tmp/'data', workers=2)
vc = CLIPVisionConfig(hidden_size=64, intermediate_size=128, num_hidden_layers=2, num_attention_heads=4, image_size=S, patch_size=8)
tc = LlamaConfig(hidden_size=128, intermediate_size=256, num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=4,
                 vocab_size=400, max_position_embeddings=256)
m = LlavaNextVideoForConditionalGeneration(LlavaNextVideoConfig(vision_config=vc, text_config=tc, video_token_index=399,
                                                                image_token_index=398, vision_feature_layer=-1))
for n, p in m.named_parameters(): p.requires_grad = 'multi_modal_projector' in n
opt = torch.optim.AdamW([p for p in m.parameters() if p.requires_grad], lr=1e-3)
per_frame = (S // 8 // 2) ** 2
ids = torch.cat([torch.full((BS, per_frame * T), 399), torch.randint(0, 390, (BS, CAP))], 1)
mean, std = torch.tensor([0.48, 0.46, 0.41]).view(1, 3, 1, 1), torch.tensor([0.27, 0.26, 0.28]).view(1, 3, 1, 1)
def pix(fr): return (torch.from_numpy(fr).permute(0, 3, 1, 2).float() / 255 - mean) / std
def step(**kw):
    b = next(iter(kw.values())).shape[0]
    out = m(input_ids=ids[:b], labels=ids[:b], **kw) if 'pixel_values_videos' in kw else \
          m(inputs_embeds=embeds_from_features(m, ids[:b], kw['feats']), labels=ids[:b])
    out.loss.backward(); opt.step(); opt.zero_grad()
def epoch(get):
    t = time.perf_counter()
    for i in range(0, len(samples), BS): step(**get(samples[i:i+BS]))
    return time.perf_counter() - t
fc = FrameCache(tmp/'frames')
for s in samples: load_frames(s.video, T, size=S, cache=fc)   # warm the frame cache (not timed)
cache = FeatureCache(tmp/'feats', {'encoder': 'bench-tiny-clip', 'size': S, 'frames': T})
fill = fill_cache(m, cache, [(clip_key(s.id, s.video), (lambda s=s: pix(load_frames(s.video, T, size=S, cache=fc)))) for s in samples])
arms = {'decode every epoch': lambda b: {'pixel_values_videos': torch.stack([pix(load_frames(s.video, T, size=S)) for s in b])},
        'warm frame cache': lambda b: {'pixel_values_videos': torch.stack([pix(load_frames(s.video, T, size=S, cache=fc)) for s in b])},
        'feature cache': lambda b: {'feats': torch.stack([cache.get(clip_key(s.id, s.video)) for s in b])}}
res = {k: float(np.median([epoch(f) for _ in range(3)])) for k, f in arms.items()}
print(f'{len(samples)} clips, {T} frames x {S}px, batch {BS}; feature cache filled once in {fill["seconds"]:.2f} s')
print(f'{"arm":<22}{"epoch s (median of 3)":>24}{"vs feature cache":>18}')
for k, v in res.items(): print(f'{k:<22}{v:>24.3f}{v / res["feature cache"]:>17.1f}x')
