"""Peak host RAM per rank of `kcap train` under `torchrun --nproc_per_node 2` on the CPU (gloo), with a mid-size model.

The pretrained parts are random and local: a Qwen3-0.6B-shaped LLM (hidden 1024, 28 layers, 151,936-row tied embedding,
~0.6 B parameters, bfloat16 on disk) and a small DINOv2 tower (any frame size: 56 px), saved as the checkpoints that `model.llm_path` and
`model.vision_path` point at. One run trains stage 1 and stage 2 for one optimizer step each on a few synthetic clips,
then rank 0 merges and evaluates (as `kcap train` does). Every rank logs its peak RSS (`ru_maxrss`) and its current
RSS (anonymous / file-backed) after building the features, after each stage and at the end.

    python bench/bench_rank_rss.py --work /tmp/kcap_rss            # prepares the checkpoints once, then runs
    python bench/bench_rank_rss.py --work /tmp/kcap_rss --layers 8 # a shorter LLM (same embedding), quicker

Prints a table per rank and the ratio of its peak RSS to one copy of the weights (the sum of the checkpoints' tensor
bytes). The target of kcap issue 14 is at most 1.3x one copy per rank. Figures depend on the machine (and on what else
shares it), so nothing here is asserted.
"""
from __future__ import annotations
import argparse, json, math, os, resource, subprocess, sys, time
from pathlib import Path

STAGES = ('features', 'train_begin', 'step', 'evaluate', 'stage1', 'stage2', 'merged', 'end')

def rss()->dict:
    "This process's peak RSS and current RSS split into anonymous and file-backed pages, in MiB."
    st = {k: int(v.split()[0]) / 1024 for k, v in (l.split(':', 1) for l in Path('/proc/self/status').read_text().splitlines())
          if k in ('VmRSS', 'RssAnon', 'RssFile')}
    return dict(peak=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, rss=st['VmRSS'], anon=st['RssAnon'],
                file=st['RssFile'])

def prepare(work:Path, layers:int):
    "Random pretrained checkpoints (LLM + its tokenizer, vision tower) and a synthetic data set, made once."
    import torch
    from transformers import AutoModelForCausalLM, Dinov2Config, Dinov2Model
    from kcap.data.synth import make_synth_dataset
    from kcap.vlm.llava_next_video import hf_text_config
    from kcap.vlm.registry import ModelSpec
    from kcap.train.two_stage import tiny_tokenizer
    llm, vis, data = work/f'qwen3-0.6b-{layers}l', work/'dinov2-small', work/'data'
    if not (llm/'config.json').exists():
        torch.manual_seed(0)
        cfg = hf_text_config(ModelSpec(llm='qwen3-0.6b')).to_dict()
        cfg = type(hf_text_config(ModelSpec(llm='qwen3-0.6b')))(**{**cfg, 'num_hidden_layers': layers, 'layer_types': None})
        m = AutoModelForCausalLM.from_config(cfg, dtype=torch.bfloat16)
        m.save_pretrained(llm); del m
        tiny_tokenizer([f'a red ball moves {w}' for w in ('left', 'right', 'up', 'down')], 'qwen3').save_pretrained(llm)
    if not (vis/'config.json').exists():
        v = Dinov2Config(hidden_size=192, num_hidden_layers=4, num_attention_heads=4, mlp_ratio=2, patch_size=14, image_size=56)
        Dinov2Model(v).to(torch.bfloat16).save_pretrained(vis)
    if not (data/'splits.json').exists(): make_synth_dataset(data, n=16, seed=3, val_frac=0.2)
    return llm, vis, data

def weight_bytes(*folders)->int:
    "Bytes of every tensor in the folders' safetensors files: one copy of the weights."
    from safetensors import safe_open
    n = 0
    for d in folders:
        for f in Path(d).glob('*.safetensors'):
            with safe_open(str(f), 'pt') as s:
                for k in s.keys(): sl = s.get_slice(k); n += math.prod(sl.get_shape()) * _bytes(sl.get_dtype())
    return n

def _bytes(dt:str)->int: return {'BF16': 2, 'F16': 2, 'F32': 4, 'I64': 8, 'F64': 8, 'I32': 4, 'U8': 1, 'BOOL': 1}[dt]

def config_yaml(llm:Path, vis:Path, mode:str)->str:
    return f'''
name: bench rank rss
model: {{vision: dinov2-vit-l-14, llm: qwen3-0.6b, frames: 2, image_size: 56, dtype: bfloat16, vision_path: {vis}, llm_path: {llm}}}
data: {{max_caption_tokens: 24, resize: squash}}
lora: {{mode: {mode}, r: 8, alpha: 16, dropout: 0.0}}
stage1: {{epochs: 1, batch_size: 8, grad_accum: 1, precision: fp32, grad_checkpointing: false, scale_lr: false}}
stage2: {{epochs: 1, batch_size: 8, grad_accum: 1, precision: fp32, grad_checkpointing: false, scale_lr: false}}
eval: {{patience: 0, max_samples: 2, report_protocols: [coco], protocol: coco}}
generate: {{max_new_tokens: 4, batch_size: 2}}
run: {{log_every_steps: 1}}
'''

def worker(a):
    "One torchrun rank: kcap's train() with its stage functions wrapped to log this rank's RSS after each."
    import kcap.train.two_stage as ts
    from kcap.config import load_config
    rank, log = int(os.environ.get('RANK', '0')), Path(a.log)
    def note(stage):
        with open(log/f'rank{rank}.jsonl', 'a') as f: f.write(json.dumps(dict(stage=stage, rank=rank, time=time.time(), **rss())) + '\n')
    def wrap(fn, stage):
        def inner(*args, **kw):
            r = fn(*args, **kw); note(stage); return r
        return inner
    from transformers import TrainerCallback
    class Probe(TrainerCallback):     # inside a stage: after the Trainer's setup (DDP), each step and each evaluation
        def on_train_begin(self, *a, **k): note('train_begin')
        def on_step_end(self, *a, **k): note('step')
        def on_evaluate(self, *a, **k): note('evaluate')
    tinit = ts.KcapTrainer.__init__
    def trainer_init(self, *args, callbacks=None, **kw): tinit(self, *args, callbacks=[*(callbacks or []), Probe()], **kw)
    ts.KcapTrainer.__init__ = trainer_init
    init = ts._Run.__init__
    def run_init(self, *args, **kw): init(self, *args, **kw); note('features')
    ts._Run.__init__ = run_init
    ts.stage1, ts.stage2, ts.merged_model = wrap(ts.stage1, 'stage1'), wrap(ts.stage2, 'stage2'), wrap(ts.merged_model, 'merged')
    ts.train(load_config(a.config), a.data, a.out, stage='all')
    note('end')

def table(log:Path, one:int)->str:
    rows = [json.loads(l) for f in sorted(log.glob('rank*.jsonl')) for l in f.read_text().splitlines()]
    gib = one / 2**20
    out = [f'one copy of the weights: {gib:.0f} MiB', '',
           '| rank | after | peak RSS MiB | peak / one copy | RSS now MiB (anon + file) |', '|---|---|---|---|---|']
    for r in sorted(rows, key=lambda r: (r['rank'], r['time'])):
        out.append(f"| {r['rank']} | {r['stage']} | {r['peak']:.0f} | {r['peak'] / gib:.2f}x | {r['rss']:.0f} ({r['anon']:.0f} + {r['file']:.0f}) |")
    return '\n'.join(out)

def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    ap.add_argument('--work', default='/tmp/kcap_rss', help='folder for the checkpoints, data and runs (kept between calls)')
    ap.add_argument('--layers', type=int, default=28, help='LLM layers (28: Qwen3-0.6B)')
    ap.add_argument('--mode', default='lora', choices=['lora', 'dora', 'qlora'])
    ap.add_argument('--nproc', type=int, default=2)
    ap.add_argument('--label', default='run', help='name of this measurement (its run folder and log)')
    ap.add_argument('--worker', action='store_true', help=argparse.SUPPRESS)
    ap.add_argument('--config'); ap.add_argument('--data'); ap.add_argument('--out'); ap.add_argument('--rss-log', dest='log')
    a = ap.parse_args()
    if a.worker: return worker(a)
    work = Path(a.work); work.mkdir(parents=True, exist_ok=True)
    llm, vis, data = prepare(work, a.layers)
    run, log = work/'runs'/f'{a.label}-{a.mode}-{a.layers}l', work/'logs'/f'{a.label}-{a.mode}-{a.layers}l'
    for d in (run, log):
        if d.exists(): subprocess.run(['rm', '-rf', str(d)], check=True)
    log.mkdir(parents=True)
    cfg = work/f'{a.mode}.yaml'; cfg.write_text(config_yaml(llm, vis, a.mode))
    tr = str(Path(sys.executable).parent/'torchrun')
    env = dict(os.environ, OMP_NUM_THREADS='1', HF_HUB_OFFLINE='1', TRANSFORMERS_OFFLINE='1')
    t = time.perf_counter()
    p = subprocess.run([tr, '--nproc_per_node', str(a.nproc), '--master_port', str(29500 + os.getpid() % 500), __file__, '--worker',
                        '--config', str(cfg), '--data', str(data), '--out', str(run), '--rss-log', str(log)], env=env)
    print(f'torchrun exit {p.returncode} after {time.perf_counter() - t:.0f} s ({a.mode}, {a.layers} LLM layers, {a.nproc} ranks)')
    print(table(log, weight_bytes(llm, vis)))
    return p.returncode

if __name__ == '__main__': sys.exit(main())
