#!/usr/bin/env python3
"""GPU check of issue #5: QLoRA stage-2 steps of a real-size config with random weights, peak memory and tokens/s
measured against kcap's planner estimate (`kcap plan`), side by side in one run.

    PYTHONUNBUFFERED=1 python bench/gpu_qlora_check.py [--config configs/t4.yaml --config configs/l4.yaml] [--steps 6]
    OMP_NUM_THREADS=1 python bench/gpu_qlora_check.py --tiny          # CPU smoke test of this script (tiny model, no GPU)

For each config: the full-size model is built from the registry with random weights (no download) on the GPU in the
stage-2 compute dtype, loaded 4-bit through `kcap.train.qlora.load_4bit` (the path `kcap train` takes: save, reload
with NF4 + double quantization, the skip list of the config), and wrapped by `apply_adapter_config` with the config's
LoRA section, projector trainable, gradient checkpointing as configured. One batch of the config's stage-2 batch size
is made at the planner's sequence length (`plan_tokens`: visual tokens + prompt + max_caption_tokens, every caption
token a label), with random frames at the encoder's size. The loss is kcap's training path: `CaptionLM` with logits
for the caption positions only (`caption_logits_to_keep`) and `caption_loss`. After 2 warm-up steps, `--steps`
optimizer steps (forward, backward, clip, the config's optimizer) are timed. Printed and written to $OUT/gpu_qlora_check.json when OUT
is set: peak allocated and reserved GiB (torch.cuda.max_memory_*), the planner's stage-2 total, their ratio,
seconds per step and tokens per second (batch x sequence / step time).

Random weights give the same shapes, memory and FLOPs as the released checkpoints; the loss means nothing.
"""
import argparse, json, os, sys, time
from pathlib import Path
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
import torch
from kcap.config import load_config
from kcap.train.lora import apply_adapter_config, count_trainable
from kcap.train.qlora import load_4bit, bits_per_weight
from kcap.train.two_stage import CaptionLM, caption_logits_to_keep, caption_loss
from kcap.vlm.llava_next_video import hf_config, model_class, tiny_model
from kcap.vlm.planner import plan, plan_tokens

DTYPES = {'bf16': torch.bfloat16, 'fp16': torch.float16, 'fp32': torch.float32}


def random_model(cfg, dev, dtype):
    "The config's model at full size (or tiny) with random weights, built directly on `dev`."
    if cfg.tiny: return tiny_model(cfg.model, seed=0, tiny=cfg.tiny_spec).to(dtype)
    old = torch.get_default_dtype(); torch.set_default_dtype(dtype)
    try:
        with torch.device(dev): return model_class(cfg.model)(hf_config(cfg.model))
    finally: torch.set_default_dtype(old)


def batch(model, cfg, dev, dtype):
    "One stage-2 batch at the planner's sequence length: prompt + <video> tokens + caption labels."
    c, st = model.config, cfg.stage2
    tok = plan_tokens(model, cfg)
    n_vis, seq, B = tok['per_sample'], tok['sequence'], st.batch_size
    g = torch.Generator().manual_seed(0)
    vocab = min(c.video_token_index, c.text_config.vocab_size)
    ids = torch.randint(0, vocab, (B, seq), generator=g)
    ids[:, 8:8 + n_vis] = c.video_token_index
    labels = torch.full_like(ids, -100); cap = seq - cfg.data.max_caption_tokens
    labels[:, cap:] = ids[:, cap:]
    s = c.kcap_frame_size
    px = torch.randn(B, cfg.model.frames, 3, s, s, generator=g)
    return dict(input_ids=ids.to(dev), attention_mask=torch.ones_like(ids).to(dev), labels=labels.to(dev),
                pixel_values_videos=px.to(dev, dtype)), B * seq


def optimizer(params, st):
    if st.optimizer == 'adamw' or not torch.cuda.is_available(): return torch.optim.AdamW(params, lr=st.lr)
    import bitsandbytes as bnb
    return (bnb.optim.PagedAdamW8bit if st.optimizer == 'paged_adamw_8bit' else bnb.optim.AdamW8bit)(params, lr=st.lr)


def check(path, steps, tiny):
    cfg = load_config(path)
    if tiny: cfg.tiny = True; cfg.stage2.precision = 'fp32'
    cuda = torch.cuda.is_available()
    dev = 'cuda' if cuda else 'cpu'
    dtype = DTYPES[cfg.stage2.precision]
    t0 = time.perf_counter()
    est = plan(cfg)['memory_gb']
    model = random_model(cfg, dev, dtype)
    model = load_4bit(model, compute_dtype={'bf16': 'bfloat16', 'fp16': 'float16', 'fp32': 'float32'}[cfg.stage2.precision],
                      quant_type=cfg.lora.quant_type, double_quant=cfg.lora.double_quant, skip=cfg.lora.quant_skip,
                      device=dev, dtype=dtype)
    vlm = apply_adapter_config(model, cfg.lora, train_projector=True, gradient_checkpointing=cfg.stage2.grad_checkpointing)
    vlm.train()
    t_load = time.perf_counter() - t0
    b, tokens = batch(model, cfg, dev, dtype)
    params = [p for p in vlm.parameters() if p.requires_grad]
    opt = optimizer(params, cfg.stage2)
    amp = torch.autocast(dev, dtype=dtype, enabled=cuda and dtype != torch.float32)

    lm, k = CaptionLM(vlm), caption_logits_to_keep(b['labels'])
    def step():
        with amp:
            loss = caption_loss(lm(b['input_ids'], b['attention_mask'], pixel_values_videos=b['pixel_values_videos'],
                                   logits_to_keep=k), b['labels'])
        loss.backward(); torch.nn.utils.clip_grad_norm_(params, cfg.stage2.max_grad_norm)
        opt.step(); opt.zero_grad(set_to_none=True)
        return loss.detach().item()
    for _ in range(2): step()
    if cuda: torch.cuda.synchronize(); torch.cuda.reset_peak_memory_stats()
    t = time.perf_counter(); losses = [step() for _ in range(steps)]
    if cuda: torch.cuda.synchronize()
    dt = (time.perf_counter() - t) / steps
    r = dict(config=str(path), tiny=bool(cfg.tiny), device=torch.cuda.get_device_name() if cuda else 'cpu',
             llm=cfg.model.llm, vision=cfg.model.vision, frames=cfg.model.frames, batch=cfg.stage2.batch_size,
             sequence=tokens // cfg.stage2.batch_size, precision=cfg.stage2.precision,
             grad_checkpointing=cfg.stage2.grad_checkpointing, lora=f'{cfg.lora.mode} r{cfg.lora.r}',
             trainable=count_trainable(vlm)['total'], bits_per_4bit_weight=round(bits_per_weight(model), 3),
             load_s=round(t_load, 1), step_s=round(dt, 3), tokens_per_s=round(tokens / dt, 1),
             loss_finite=all(l == l and abs(l) != float('inf') for l in losses),
             planner_stage2_gib=round(est['total'], 2), planner_peak_gib=round(est['peak'], 2))
    if cuda:
        r['peak_allocated_gib'] = round(torch.cuda.max_memory_allocated() / 2**30, 2)
        r['peak_reserved_gib'] = round(torch.cuda.max_memory_reserved() / 2**30, 2)
        r['measured_over_planner'] = round(r['peak_reserved_gib'] / est['total'], 2)
    del vlm, model, opt, b
    if cuda: torch.cuda.empty_cache()
    return r


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--config', action='append', help='QLoRA config(s) (default: configs/t4.yaml and configs/l4.yaml)')
    ap.add_argument('--steps', type=int, default=6)
    ap.add_argument('--tiny', action='store_true', help='tiny random model on the CPU: checks this script, measures nothing real')
    a = ap.parse_args(argv)
    rows = []
    for c in a.config or [ROOT/'configs/t4.yaml', ROOT/'configs/l4.yaml']:
        r = check(c, a.steps, a.tiny); rows.append(r)
        print(json.dumps(r, ensure_ascii=False), flush=True)
    if os.environ.get('OUT'): Path(os.environ['OUT'], 'gpu_qlora_check.json').write_text(json.dumps(rows, indent=1))
    return 0


if __name__ == '__main__':
    sys.exit(main())
