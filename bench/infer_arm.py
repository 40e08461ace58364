"""One arm of bench_infer.py, run in its own process (so its peak memory is its own).

Usage: python bench/infer_arm.py SPEC.json   (SPEC written by bench_infer.py; the result goes to spec['out'])
Runs under the main venv (hf arms) or .venv-vllm (vllm arms); vLLM starts its engine with spawn, hence the main guard.
"""
from __future__ import annotations
import json, os, resource, sys, time
from pathlib import Path

def _strip(ids, stop:set)->list[int]:
    "Generated ids up to (not including) the first end or pad id."
    out = []
    for t in ids:
        if t in stop: break
        out.append(int(t))
    return out

class _Recorder:
    "Wraps processor.decode to keep the generated ids every engine hands it (hf: (B, L) padded; vllm/speculative: one list)."
    def __init__(self, proc, stop:set):
        self.proc, self.stop, self.orig, self.ids = proc, stop, proc.decode, []
        proc.decode = self
    def __call__(self, ids):
        rows = ids.tolist() if hasattr(ids, 'tolist') else ids
        if rows and isinstance(rows[0], int): rows = [rows]
        self.ids += [_strip(r, self.stop) for r in rows]
        return self.orig(ids)

def _force_length(ends:list[int]):
    "Mask the end ids in hf generate and kcap's speculative decoder (bench only): every caption runs to max_new_tokens."
    import kcap.infer.export as ex, kcap.infer.speculative as sp
    base = ex.generate_kwargs
    def gk(*a, **k):
        kw = base(*a, **k); kw['suppress_tokens'] = sorted(set(kw['suppress_tokens']) | set(ends)); return kw
    ex.generate_kwargs = sp.generate_kwargs = gk

def _open(s:dict, max_len:int):
    import torch
    from kcap.infer.export import load_engine
    dev = s['device']
    if s['engine'] == 'vllm':
        kw = dict(max_model_len=max_len)
        if dev == 'cpu': kw['cpu_kv_cache_gib'] = s['kv_gib']
        else: kw['gpu_memory_utilization'] = s.get('gpu_memory_utilization', 0.5)
        if s['speculative']: kw.update(speculative=s['speculative'], num_speculative_tokens=s['k'])
        return load_engine(s['folder'], engine='vllm', device=dev, dtype=getattr(torch, s['dtype']), **kw)
    kw = dict(speculative=s['speculative'], num_speculative_tokens=s['k']) if s['speculative'] else {}
    if s['quant'] == 'nf4': kw['load_4bit'] = True                 # bitsandbytes NF4 at load time; lm_head kept full precision
    return load_engine(s['folder'], engine='hf', device=dev, dtype=s['dtype'], **kw)

def run(s:dict)->dict:
    import torch
    torch.set_num_threads(s['threads'])
    from kcap.config import GenerateConfig
    from kcap.data.video import load_frames
    from kcap.infer.caption import _end_ids
    from kcap.vlm.processor import VideoCaptionProcessor
    cuda = s['device'] != 'cpu'
    proc = VideoCaptionProcessor.from_pretrained(s['folder'])
    max_len = proc.text_batch(n=1)['input_ids'].shape[1] + s['max_new_tokens'] + 8
    t0 = time.perf_counter()
    eng = _open(s, max_len)
    startup = time.perf_counter() - t0
    ends = list(getattr(eng, 'ends', None) or _end_ids(eng.llm, eng.processor))
    if s['force_length']:
        if s['engine'] == 'vllm': eng.allowed = [i for i in eng.allowed if i not in set(ends)]   # the same mask as suppress_tokens
        else: _force_length(ends)
    rec = _Recorder(eng.processor, set(ends) | {eng.processor.tokenizer.pad_token_id})
    frames = [load_frames(p, eng.processor.frames, strategy=eng.sampling) for p in s['clips']]   # decoding is not timed
    gen = GenerateConfig(max_new_tokens=s['max_new_tokens'], repetition_penalty=s['repetition_penalty'], batch_size=s['batch_size'])
    warm = GenerateConfig(max_new_tokens=4, repetition_penalty=s['repetition_penalty'], batch_size=1)
    eng.caption(frames[:1], warm)                                     # first-call costs (allocations, compiled graphs) not timed
    sync = torch.cuda.synchronize if cuda else (lambda: None)
    if cuda: torch.cuda.reset_peak_memory_stats()
    rec.ids.clear()
    if hasattr(eng, 'stats'):
        from kcap.infer.speculative import SpecStats
        eng.stats = SpecStats()
    one_by_one = bool(s['speculative']) and s['engine'] == 'hf'        # kcap's speculative hf engine decodes one clip at a time
    lat, caps = [], []
    sync(); t = time.perf_counter()
    if one_by_one:
        for f in frames:
            a = time.perf_counter(); caps += eng.caption([f], gen, batch_size=1); sync(); lat.append(time.perf_counter() - a)
    else: caps = eng.caption(frames, gen)
    sync(); total = time.perf_counter() - t
    ids = list(rec.ids)
    if not one_by_one:                                                # latency: clips captioned alone, batch 1
        for f in frames[:s['latency_clips']]:
            a = time.perf_counter(); eng.caption([f], gen, batch_size=1); sync(); lat.append(time.perf_counter() - a)
    out = dict(captions=caps, ids=ids, seconds=total, latency=lat, startup_s=startup, n=len(frames),
               tokens=sum(len(x) for x in ids), threads=s['threads'], torch_threads=torch.get_num_threads(),
               self_maxrss_mb=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    if cuda:
        out['cuda_max_allocated_mb'] = torch.cuda.max_memory_allocated() / 2**20
        free, tot = torch.cuda.mem_get_info(); out['cuda_used_mb'] = (tot - free) / 2**20
    st = getattr(eng, 'stats', None)
    if st is not None:
        out['spec'] = dict(steps=st.steps, proposed=st.proposed, accepted=st.accepted, tokens=st.tokens,
                           acceptance=st.acceptance, tokens_per_step=st.tokens_per_step)
    return out

if __name__ == '__main__':
    spec = json.loads(Path(sys.argv[1]).read_text(encoding='utf-8'))
    res = run(spec)
    tmp = Path(spec['out'] + '.tmp'); tmp.write_text(json.dumps(res, ensure_ascii=False), encoding='utf-8'); os.replace(tmp, spec['out'])
