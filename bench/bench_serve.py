"""`kcap serve` throughput and latency with batching on (--max-batch 8; continuous and static) and off (--max-batch 1), side by side in one run.

Setting: four `kcap serve` processes on loopback, started from the same model folder:
- continuous: `--max-batch 8 --max-wait-ms 20` (batching on: continuous batching, the default);
- static: the same with `--batching static` (one generate call per batch, which runs until its longest caption ends);
- off: `--max-batch 1` (batching off: kcap's decoding loop with one row, the same loop as continuous; this is the target's baseline);
- off-generate: `--max-batch 1 --batching static` (transformers' `generate`, one clip at a time: the baseline of earlier stops).
Clients: one asyncio process with httpx, each client posting `/v1/captions` (multipart upload of a synthetic 112x64,
2 s clip, as in the demo) back to back. For each concurrency (1, 8, 32) the servers are measured one after the other
(never at the same time), in `--rounds` alternating rounds (the figures are the rounds' means, so that a machine whose speed
drifts skews every arm alike): `--warmup-s` of load first, then `--seconds` of load; requests/s counts the requests that
completed inside that window (steady state: every client is busy the whole window), and p50/p95 are theirs. The table also
gives the ratios and the mean batch (rows per forward, or clips per generate call) each batching server reported (/healthz).
A second table splits the mean latency into decoding, encode + generate (the server's `timings`) and the rest (the wait for
admission, upload, HTTP, the client), with how busy the machine's CPUs were (Linux /proc/stat) during the window.

Model: `--model DIR` (a captioner folder such as the demo's `demo_out/run/model`, or a serving folder),
or by default a freshly saved random captioner of the demo's size (`kcap.demo.demo_config()`: tiny
SigLIP + Qwen3, hidden 64/128, 2 frames, max_new_tokens 64). A random model never stops early, so each
caption is the full 64 tokens; the trained demo model stops at its caption's end. The script prints which
model it used.

Target (issue 12): batching on at concurrency 8 gives at least 3x the requests/s of batching off on
the demo model. The machine's load average is printed: other work on it skews all arms.

`--runner-ceiling` adds the ratio's ceiling on this machine: the server's runner alone (the same ContinuousBatcher with
max_batch 8 and 1) fed in this process by 8 closed-loop threads with clips decoded beforehand, so no HTTP, no upload,
no decoding and no client share the CPUs with it; `--runner-think-ms` (default 0,10,20) makes each thread pause between its
requests, standing in for the time a request spends outside the engine in the server (a pause costs no CPU).

Usage: OMP_NUM_THREADS=1 python bench/bench_serve.py [--model DIR] [--seconds 8] [--warmup-s 2] [--concurrency 1,8,32] [--rounds 2]
       [--clip-size 112x64] [--runner-ceiling [--runner-think-ms 0,10,20]]
"""
import argparse, asyncio, os, re, statistics, subprocess, sys, tempfile, threading, time
os.environ.setdefault('OMP_NUM_THREADS', '1')
from pathlib import Path
import httpx, torch
from kcap.data.aihub import build_manifest
from kcap.data.synth import make_synth_dataset
from kcap.demo import demo_config
from kcap.infer.caption import save_captioner
from kcap.infer.continuous import ContinuousBatcher
from kcap.infer.export import load_engine
from kcap.infer.serve import Job, ServeConfig, decode_pixels
from kcap.train.two_stage import prompt_text, tiny_tokenizer
from kcap.vlm.llava_next_video import add_video_tokens, tiny_model
from kcap.vlm.processor import VideoCaptionProcessor

def demo_sized_captioner(out:Path, data:Path)->Path:
    "A random captioner with the demo's architecture and generation settings, its tokenizer learned from `data`'s captions."
    cfg = demo_config()
    captions = [s.caption for s in build_manifest(data, check_videos=False)[0]]
    tok = tiny_tokenizer(captions, cfg.model.llm_spec.prompt_style, prompt=prompt_text(cfg))
    model = tiny_model(cfg.model, seed=0, tokenizer_size=add_video_tokens(tok)[0], tiny=cfg.tiny_spec)
    proc = VideoCaptionProcessor.from_spec(cfg.model, tok, cfg.data, tiny=cfg.tiny_spec)
    return save_captioner(model, proc, out, gen=cfg.generate)

class Server:
    "A `kcap serve` subprocess on a free loopback port."
    def __init__(self, model:Path, log:Path, *flags:str):
        cmd = [sys.executable, '-c', 'import sys; from kcap.cli import main; sys.exit(main(sys.argv[1:]))',
               'serve', '--model', str(model), '--port', '0', *flags]
        self.log = log
        with open(log, 'w') as f: self.p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=f)
        for _ in range(900):
            if (m := re.search(r'ready on (http://\S+)', log.read_text())): self.url = m.group(1); return
            if self.p.poll() is not None: raise SystemExit(f'kcap serve exited:\n{log.read_text()[-3000:]}')
            time.sleep(0.2)
        self.stop(); raise SystemExit('kcap serve did not start in 180 s')
    def stop(self):
        if self.p.poll() is None:
            self.p.terminate()
            try: self.p.wait(30)
            except subprocess.TimeoutExpired: self.p.kill(); self.p.wait(10)

async def _client(c:httpx.AsyncClient, clips:list[bytes], i:int, until:float, window:tuple[float, float], lat:list[float], parts:list[tuple]):
    "Post clips back to back until `until`; record the latency of each request that completes inside `window`, and its server timings."
    k = 0
    while time.perf_counter() < until:
        t0 = time.perf_counter()
        r = await c.post('/v1/captions', files={'file': ('clip.mp4', clips[(i + k) % len(clips)], 'video/mp4')})
        r.raise_for_status(); k += 1
        if window[0] <= (t1 := time.perf_counter()) <= window[1]:
            lat.append(t1 - t0); t = r.json()['timings']
            parts.append((t1 - t0, t['decode_s'], t['encode_s'] + t['generate_s']))

def _summary(lat:list[float], seconds:float)->dict:
    "Requests counted in the window, requests/s, p50 and p95 (s) of their latencies."
    lat = sorted(lat)
    return dict(n=len(lat), rps=len(lat) / seconds, p50=statistics.median(lat), p95=lat[max(0, round(0.95 * len(lat)) - 1)])

def cpu_ticks()->tuple[int, int]|None:
    "(all, idle) CPU ticks of the machine since boot (Linux /proc/stat; None elsewhere)."
    try: v = [int(x) for x in Path('/proc/stat').read_text().split('\n')[0].split()[1:]]
    except OSError: return None
    return sum(v), v[3] + v[4]

async def _busy(warmup:float, seconds:float, out:dict):
    "The machine's CPU busy fraction over the measured window."
    await asyncio.sleep(warmup); a = cpu_ticks()
    await asyncio.sleep(seconds); b = cpu_ticks()
    out['busy'] = None if a is None or b is None or b[0] == a[0] else 1 - (b[1] - a[1]) / (b[0] - a[0])

async def measure(url:str, clips:list[bytes], conc:int, seconds:float, warmup:float)->dict:
    "conc clients posting back to back; requests/s, p50, p95 (s) of the requests that complete in the `seconds` after `warmup`, the CPUs' busy fraction, and where their time went (ms)."
    async with httpx.AsyncClient(base_url=url, timeout=httpx.Timeout(300), limits=httpx.Limits(max_connections=conc)) as c:
        t0 = time.perf_counter(); window = (t0 + warmup, t0 + warmup + seconds); lat, parts, out = [], [], {}
        await asyncio.gather(_busy(warmup, seconds, out), *[_client(c, clips, i, window[1], window, lat, parts) for i in range(conc)])
    m = lambda i: 1000 * statistics.mean(p[i] for p in parts)
    return dict(_summary(lat, seconds), busy=out.get('busy'), latency_ms=m(0), decode_ms=m(1), engine_ms=m(2), rest_ms=m(0) - m(1) - m(2))

def measure_runner(engine, jobs_from, conc:int, seconds:float, warmup:float, max_batch:int, think:float=0.)->dict:
    "The server's runner alone: a ContinuousBatcher fed by `conc` closed-loop threads with pre-decoded clips (no HTTP, no decoding); each thread waits `think` s between requests."
    runner, lat = ContinuousBatcher(engine, max_batch, 20, in_flight=lambda: conc), []
    t0 = time.perf_counter(); window = (t0 + warmup, t0 + warmup + seconds)
    def client(i):
        k = 0
        while time.perf_counter() < window[1]:
            t = time.perf_counter(); runner.submit(jobs_from(i + k)).result(); k += 1
            if window[0] <= (t1 := time.perf_counter()) <= window[1]: lat.append(t1 - t)
            if think: time.sleep(think)
    threads = [threading.Thread(target=client, args=(i,)) for i in range(conc)]
    for th in threads: th.start()
    for th in threads: th.join()
    runner.close()
    return _summary(lat, seconds)

def runner_ceiling(model:Path, clip_paths:list[Path], seconds:float, warmup:float, thinks_ms:list[float], rounds:int=2)->dict:
    "Requests/s of the runner alone at concurrency 8, batching on (max_batch 8) and off (max_batch 1), for each think time, alternating `rounds` times: {think_ms: {'on', 'off'}}."
    torch.set_num_threads(int(os.environ['OMP_NUM_THREADS']))
    eng = load_engine(model)
    px = [decode_pixels(p, eng.processor.frames, eng.sampling, ServeConfig(), eng.pixel_args())[0] for p in clip_paths]   # as the server's decoding processes make them
    jobs_from = lambda k: Job(None, eng.gen, pixels=px[k % len(px)])
    out = {t: {'on': [], 'off': []} for t in thinks_ms}
    for _ in range(rounds):
        for t in thinks_ms:
            for name, mb in (('on', 8), ('off', 1)): out[t][name].append(measure_runner(eng, jobs_from, 8, seconds, warmup, mb, t / 1000)['rps'])
    return {t: {k: statistics.mean(v) for k, v in r.items()} for t, r in out.items()}

def _mean_runs(runs:list[dict])->dict:
    "The mean of each figure over the alternating runs of one arm (p50/p95: the mean of the runs' percentiles)."
    return {k: None if any(r[k] is None for r in runs) else statistics.mean(r[k] for r in runs) for k in runs[0]}

def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--model', type=Path, help='captioner or serving folder (default: a random captioner of the demo size)')
    ap.add_argument('--seconds', type=float, default=8, help='measured seconds per concurrency, arm and round')
    ap.add_argument('--warmup-s', type=float, default=2, help='seconds of load before each measurement')
    ap.add_argument('--concurrency', default='1,8,32')
    ap.add_argument('--rounds', type=int, default=2, help='alternating rounds over the arms at each concurrency (the figures are their means)')
    ap.add_argument('--runner-ceiling', action='store_true', help='also measure the runner alone (no HTTP, no decoding) at concurrency 8: the ceiling of the ratio')
    ap.add_argument('--runner-think-ms', default='0,10,20', help='with --runner-ceiling: the pauses between a thread\'s requests (standing in for the time a request spends outside the engine)')
    ap.add_argument('--clip-size', default='112x64', help='synthetic clip size WxH (the demo: 112x64; AI-Hub clips are 1920x1080 or larger)')
    a = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix='bench-serve-'))
    w, h = map(int, a.clip_size.split('x'))
    make_synth_dataset(tmp/'clips', n=8, seed=0, size=(w, h), fps=8, seconds=2.0)
    clips = [p.read_bytes() for p in sorted((tmp/'clips'/'videos').glob('*.mp4'))]
    model = a.model or demo_sized_captioner(tmp/'captioner', tmp/'clips')
    print(f'model: {a.model if a.model else "a random captioner of the demo size (kcap.demo.demo_config(), max_new_tokens 64)"}')
    print(f'clients post /v1/captions ({w}x{h}, 2 s clips) back to back; {a.seconds:g} s measured per level, arm and round after {a.warmup_s:g} s of load, '
          f'{a.rounds} alternating round(s); OMP_NUM_THREADS={os.environ["OMP_NUM_THREADS"]}, {os.cpu_count()} CPUs\n')
    arms = {'continuous': ('--max-batch', '8', '--max-wait-ms', '20'), 'static': ('--max-batch', '8', '--max-wait-ms', '20', '--batching', 'static'),
            'off': ('--max-batch', '1'), 'off-generate': ('--max-batch', '1', '--batching', 'static')}
    servers, rows = {}, []
    try:
        for name, flags in arms.items(): servers[name] = Server(model, tmp/f'{name}.log', *flags)
        time.sleep(5)      # let the last servers' decoding processes finish starting (the first arm measured them as load)
        for conc in [int(x) for x in a.concurrency.split(',')]:
            runs, h0 = {k: [] for k in servers}, {k: httpx.get(s.url + '/healthz').json()['batching'] for k, s in servers.items()}
            for _ in range(a.rounds):
                for name, srv in servers.items(): runs[name].append(asyncio.run(measure(srv.url, clips, conc, a.seconds, a.warmup_s)))
            r, mb = {k: _mean_runs(v) for k, v in runs.items()}, {}
            for name, srv in servers.items():
                h1 = httpx.get(srv.url + '/healthz').json()['batching']      # this level's batches (its warm-ups included)
                mb[name] = round((h1['clips'] - h0[name]['clips']) / max(1, h1['batches'] - h0[name]['batches']), 2)
            rows.append((conc, r, mb))
            print(f'  concurrency {conc}: ' + ', '.join(f'{k} {v["rps"]:.2f} req/s' for k, v in r.items()) + f'; load average {os.getloadavg()[0]:.1f}', flush=True)
    finally:
        for srv in servers.values(): srv.stop()
    print('\n| concurrency | req/s: continuous | static | off | off-generate | continuous/off | static/off | continuous/off-generate | '
          'p50 / p95 (s): continuous | static | off | off-generate | mean batch: continuous (rows/forward) | static (clips/generate) |')
    print('|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|')
    pp = lambda x: f'{x["p50"]:.3f} / {x["p95"]:.3f}'
    for conc, r, mb in rows:
        c, st, off, og = r['continuous'], r['static'], r['off'], r['off-generate']
        print(f'| {conc} | {c["rps"]:.2f} | {st["rps"]:.2f} | {off["rps"]:.2f} | {og["rps"]:.2f} | {c["rps"] / off["rps"]:.2f}x | {st["rps"] / off["rps"]:.2f}x | '
              f'{c["rps"] / og["rps"]:.2f}x | {pp(c)} | {pp(st)} | {pp(off)} | {pp(og)} | {mb["continuous"]} | {mb["static"]} |')
    print('\nWhere a request\'s time went (ms, means; decoding, and encode + generate, as the server reports them in `timings`; '
          'the rest: the wait for admission, upload, HTTP and the client), and how busy the machine\'s CPUs were:\n')
    print('| concurrency | arm | latency | decoding | encode + generate | the rest | CPUs busy |')
    print('|---:|---|---:|---:|---:|---:|---:|')
    for conc, r, _ in rows:
        for name, x in r.items():
            busy = '-' if x['busy'] is None else f'{100 * x["busy"]:.0f}%'
            print(f'| {conc} | {name} | {x["latency_ms"]:.1f} | {x["decode_ms"]:.1f} | {x["engine_ms"]:.1f} | {x["rest_ms"]:.1f} | {busy} |')
    at8 = [r['continuous']['rps'] / r['off']['rps'] for conc, r, _ in rows if conc == 8]
    if at8: print(f'\ntarget: batching on (continuous, the default) at concurrency 8 >= 3x batching off: {at8[0]:.2f}x -> {"met" if at8[0] >= 3 else "NOT met"}'
                  f'{"" if a.model else " (on the random demo-size model; rerun with --model demo_out/run/model for the target as stated)"}')
    if a.runner_ceiling:
        thinks = [float(x) for x in a.runner_think_ms.split(',')]
        rc = runner_ceiling(model, sorted((tmp/'clips'/'videos').glob('*.mp4')), a.seconds, a.warmup_s, thinks, a.rounds)
        print(f"\nthe runner alone (ContinuousBatcher in this process, 8 closed-loop threads with decoded clips: no HTTP, no decoding; "
              f"a thread pauses `think` ms between its requests), {a.rounds} alternating round(s):\n")
        print('| think (ms) | batching on (req/s) | off (req/s) | ratio |\n|---:|---:|---:|---:|')
        for t, x in rc.items(): print(f"| {t:g} | {x['on']:.2f} | {x['off']:.2f} | {x['on'] / x['off']:.2f}x |")

if __name__ == '__main__': main()
