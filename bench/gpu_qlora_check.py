#!/usr/bin/env python3
"""GPU check of issue #5: QLoRA stage-1 and stage-2 steps of a real-size config with random weights, peak memory and
tokens/s measured against kcap's planner estimate (`kcap plan`), side by side in one run.

    PYTHONUNBUFFERED=1 python bench/gpu_qlora_check.py [--config configs/t4.yaml --config configs/l4.yaml] [--steps 6]
    OMP_NUM_THREADS=1 python bench/gpu_qlora_check.py --tiny          # CPU smoke test of this script (tiny model, no GPU)

For each config: the full-size model is built from the registry with random weights (no download) on the GPU in the
stage-2 compute dtype and loaded 4-bit through `kcap.train.qlora.load_4bit` (the path `kcap train` takes: save, reload
with NF4 + double quantization, the skip list of the config). On that one 4-bit base, as `kcap train` runs a QLoRA
config:
  stage 1  `apply_adapters(..., 'none', train_projector=True)`: only the projector trains, no kbit preparation;
  stage 2  `apply_adapter_config` with the config's LoRA section, projector trainable.
Each stage gets one batch of its batch size at the planner's sequence length (`plan_tokens`: visual tokens + prompt +
max_caption_tokens, every caption token a label) with random frames at the encoder's size, and kcap's training path:
`CaptionLM` with logits for the caption positions only (`caption_logits_to_keep`), `caption_loss`, autocast in the
stage's precision, and under fp16 the trainables in fp32 (`fp32_trainables`) and a loss scaler, as the Trainer does.
After 2 warm-up steps, `--steps` optimizer steps (forward, backward, unscale, clip, the config's optimizer) are timed.
Printed per stage and written to $OUT/gpu_qlora_check.json when OUT is set: peak allocated and reserved GiB
(torch.cuda.max_memory_*), the planner's total for that stage, their ratio, seconds per step and tokens per second
(batch x sequence / step time).

Random weights give the same shapes, memory and FLOPs as the released checkpoints; the loss means nothing.
"""
import argparse, json, os, sys, time
from pathlib import Path
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
import torch
from kcap.config import load_config
from kcap.train.lora import apply_adapter_config, apply_adapters, count_trainable
from kcap.train.qlora import load_4bit, bits_per_weight
from kcap.train.two_stage import CaptionLM, caption_logits_to_keep, caption_loss, fp32_trainables
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


def batch(model, cfg, st, dev, dtype):
    "One batch of stage `st` at the planner's sequence length: prompt + <video> tokens + caption labels."
    c = model.config
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


def timed_steps(vlm, model, cfg, st, steps, dev, cuda):
    "2 warm-up and `steps` timed optimizer steps as the Trainer takes them: autocast, and a loss scaler under fp16."
    dtype = DTYPES[st.precision]
    if st.precision == 'fp16': fp32_trainables(vlm)               # as run_stage does
    b, tokens = batch(model, cfg, st, dev, dtype)
    params = [p for p in vlm.parameters() if p.requires_grad]
    opt = optimizer(params, st)
    amp = torch.autocast(dev, dtype=dtype, enabled=cuda and dtype != torch.float32)
    scaler = torch.amp.GradScaler(dev, enabled=cuda and dtype == torch.float16)
    lm, k = CaptionLM(vlm), caption_logits_to_keep(b['labels'])
    def step():
        with amp:
            loss = caption_loss(lm(b['input_ids'], b['attention_mask'], pixel_values_videos=b['pixel_values_videos'],
                                   logits_to_keep=k), b['labels'])
        scaler.scale(loss).backward(); scaler.unscale_(opt)         # unscale_ refuses fp16 gradients, as in the Trainer
        torch.nn.utils.clip_grad_norm_(params, st.max_grad_norm)
        scaler.step(opt); scaler.update(); opt.zero_grad(set_to_none=True)
        return loss.detach().item()
    for _ in range(2): step()
    if cuda: torch.cuda.synchronize(); torch.cuda.reset_peak_memory_stats()
    t = time.perf_counter(); losses = [step() for _ in range(steps)]
    if cuda: torch.cuda.synchronize()
    dt = (time.perf_counter() - t) / steps
    r = dict(batch=st.batch_size, sequence=tokens // st.batch_size, precision=st.precision,
             grad_checkpointing=st.grad_checkpointing, trainable=count_trainable(vlm)['total'],
             step_s=round(dt, 3), tokens_per_s=round(tokens / dt, 1), loss_finite=all(l == l and abs(l) != float('inf') for l in losses))
    if cuda:
        r['peak_allocated_gib'] = round(torch.cuda.max_memory_allocated() / 2**30, 2)
        r['peak_reserved_gib'] = round(torch.cuda.max_memory_reserved() / 2**30, 2)
    del opt, b
    if cuda: torch.cuda.empty_cache()
    return r


def check(path, steps, tiny):
    "Stage 1 (projector only) and then stage 2 (+ the config's LoRA) on one 4-bit base, each against the planner."
    cfg = load_config(path)
    if tiny: cfg.tiny = True; cfg.stage1.precision = cfg.stage2.precision = 'fp32'
    cuda = torch.cuda.is_available()
    dev = 'cuda' if cuda else 'cpu'
    dtype = DTYPES[cfg.stage2.precision]
    t0 = time.perf_counter()
    est = plan(cfg)['memory_gb']
    model = random_model(cfg, dev, dtype)
    model = load_4bit(model, compute_dtype={'bf16': 'bfloat16', 'fp16': 'float16', 'fp32': 'float32'}[cfg.stage2.precision],
                      quant_type=cfg.lora.quant_type, double_quant=cfg.lora.double_quant, skip=cfg.lora.quant_skip,
                      device=dev, dtype=dtype)
    t_load = time.perf_counter() - t0
    s1 = apply_adapters(model, 'none', train_projector=True, gradient_checkpointing=cfg.stage1.grad_checkpointing).train()
    r1 = timed_steps(s1, model, cfg, cfg.stage1, steps, dev, cuda)     # kcap train's stage 1 of a QLoRA run
    vlm = apply_adapter_config(model, cfg.lora, train_projector=True, gradient_checkpointing=cfg.stage2.grad_checkpointing)
    vlm.train()
    r2 = timed_steps(vlm, model, cfg, cfg.stage2, steps, dev, cuda)
    r = dict(config=str(path), tiny=bool(cfg.tiny), device=torch.cuda.get_device_name() if cuda else 'cpu',
             llm=cfg.model.llm, vision=cfg.model.vision, frames=cfg.model.frames, lora=f'{cfg.lora.mode} r{cfg.lora.r}',
             bits_per_4bit_weight=round(bits_per_weight(model), 3), load_s=round(t_load, 1),
             stage1=dict(r1, planner_gib=round(est['stage1_total'], 2)), stage2=dict(r2, planner_gib=round(est['total'], 2)),
             planner_peak_gib=round(est['peak'], 2))
    for k in ('stage1', 'stage2'):
        if cuda: r[k]['measured_over_planner'] = round(r[k]['peak_reserved_gib'] / r[k]['planner_gib'], 2)
    del vlm, s1, model
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
