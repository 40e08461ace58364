"""`kcap serve` throughput and latency with batching on (--max-batch 8; continuous and static) and off (--max-batch 1), side by side in one run.

Setting: three `kcap serve` processes on loopback, started from the same model folder:
`--max-batch 8 --max-wait-ms 20` (batching on: continuous batching, the default), the same with
`--batching static` (one generate call per batch, which runs until its longest caption ends), and
`--max-batch 1` (off: one generate call per request). Clients: one asyncio process with httpx, each client posting `/v1/captions` (multipart
upload of a synthetic 112x64, 2 s clip, as in the demo) back to back. For each concurrency (1, 8, 32)
the servers are measured one after the other (never at the same time), after a short warm-up;
the table gives requests/s, p50 and p95 latency for each arm, the ratios to off, and the mean batch
size (rows per forward, or clips per generate call) each batching server reported (/healthz).

Model: `--model DIR` (a captioner folder such as the demo's `demo_out/run/model`, or a serving folder),
or by default a freshly saved random captioner of the demo's size (`kcap.demo.demo_config()`: tiny
SigLIP + Qwen3, hidden 64/128, 2 frames, max_new_tokens 64). A random model never stops early, so each
caption is the full 64 tokens; the trained demo model stops at its caption's end. The script prints which
model it used.

Target (issue 12): batching on at concurrency 8 gives at least 3x the requests/s of batching off on
the demo model. The machine's load average is printed: other work on it skews all arms.

Usage: OMP_NUM_THREADS=1 python bench/bench_serve.py [--model DIR] [--requests-per-client 4] [--min-requests 32] [--concurrency 1,8,32]
"""
import argparse, asyncio, os, re, statistics, subprocess, sys, tempfile, time
os.environ.setdefault('OMP_NUM_THREADS', '1')
from pathlib import Path
import httpx
from kcap.data.aihub import build_manifest
from kcap.data.synth import make_synth_dataset
from kcap.demo import demo_config
from kcap.infer.caption import save_captioner
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

async def _client(c:httpx.AsyncClient, clips:list[bytes], i:int, n:int, lat:list[float]):
    for k in range(n):
        t0 = time.perf_counter()
        r = await c.post('/v1/captions', files={'file': ('clip.mp4', clips[(i + k) % len(clips)], 'video/mp4')})
        r.raise_for_status()
        lat.append(time.perf_counter() - t0)

async def measure(url:str, clips:list[bytes], conc:int, per_client:int)->dict:
    "conc clients, per_client requests each: requests/s, p50, p95 (s)."
    async with httpx.AsyncClient(base_url=url, timeout=httpx.Timeout(300), limits=httpx.Limits(max_connections=conc)) as c:
        await asyncio.gather(*[_client(c, clips, i, 1, []) for i in range(min(conc, 8))])      # warm-up
        lat = []; t0 = time.perf_counter()
        await asyncio.gather(*[_client(c, clips, i, per_client, lat) for i in range(conc)])
        wall = time.perf_counter() - t0
    lat.sort()
    return dict(n=len(lat), rps=len(lat) / wall, p50=statistics.median(lat), p95=lat[max(0, round(0.95 * len(lat)) - 1)])

def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--model', type=Path, help='captioner or serving folder (default: a random captioner of the demo size)')
    ap.add_argument('--requests-per-client', type=int, default=4)
    ap.add_argument('--min-requests', type=int, default=32, help='at least this many timed requests per concurrency and arm')
    ap.add_argument('--concurrency', default='1,8,32')
    a = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix='bench-serve-'))
    make_synth_dataset(tmp/'clips', n=8, seed=0, size=(112, 64), fps=8, seconds=2.0)
    clips = [p.read_bytes() for p in sorted((tmp/'clips'/'videos').glob('*.mp4'))]
    model = a.model or demo_sized_captioner(tmp/'captioner', tmp/'clips')
    print(f'model: {a.model if a.model else "a random captioner of the demo size (kcap.demo.demo_config(), max_new_tokens 64)"}')
    print(f'clients post /v1/captions (112x64, 2 s clips), at least {a.requests_per_client} requests each and {a.min_requests} per level; OMP_NUM_THREADS={os.environ["OMP_NUM_THREADS"]}, {os.cpu_count()} CPUs\n')
    arms = {'continuous': ('--max-batch', '8', '--max-wait-ms', '20'), 'static': ('--max-batch', '8', '--max-wait-ms', '20', '--batching', 'static'),
            'off': ('--max-batch', '1')}
    servers, rows = {}, []
    try:
        for name, flags in arms.items(): servers[name] = Server(model, tmp/f'{name}.log', *flags)
        for conc in [int(x) for x in a.concurrency.split(',')]:
            per_client = max(a.requests_per_client, -(-a.min_requests // conc))
            r, mb = {}, {}
            for name, srv in servers.items():
                h0 = httpx.get(srv.url + '/healthz').json()['batching']
                r[name] = asyncio.run(measure(srv.url, clips, conc, per_client))
                h1 = httpx.get(srv.url + '/healthz').json()['batching']      # this level's batches (its warm-up included)
                mb[name] = round((h1['clips'] - h0['clips']) / max(1, h1['batches'] - h0['batches']), 2)
            rows.append((conc, r, mb))
            print(f'  concurrency {conc}: ' + ', '.join(f'{k} {v["rps"]:.2f} req/s' for k, v in r.items()) + f'; load average {os.getloadavg()[0]:.1f}', flush=True)
    finally:
        for srv in servers.values(): srv.stop()
    print('\n| concurrency | requests per arm | continuous: req/s | static: req/s | off: req/s | continuous/off | static/off | '
          'p50 / p95 (s): continuous | static | off | mean batch: continuous (rows/forward) | static (clips/generate) |')
    print('|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|')
    for conc, r, mb in rows:
        c, st, off = r['continuous'], r['static'], r['off']
        print(f'| {conc} | {c["n"]} | {c["rps"]:.2f} | {st["rps"]:.2f} | {off["rps"]:.2f} | {c["rps"] / off["rps"]:.2f}x | {st["rps"] / off["rps"]:.2f}x | '
              f'{c["p50"]:.3f} / {c["p95"]:.3f} | {st["p50"]:.3f} / {st["p95"]:.3f} | {off["p50"]:.3f} / {off["p95"]:.3f} | {mb["continuous"]} | {mb["static"]} |')
    at8 = [r['continuous']['rps'] / r['off']['rps'] for conc, r, _ in rows if conc == 8]
    if at8: print(f'\ntarget: batching on (continuous, the default) at concurrency 8 >= 3x batching off: {at8[0]:.2f}x -> {"met" if at8[0] >= 3 else "NOT met"}'
                  f'{"" if a.model else " (on the random demo-size model; rerun with --model demo_out/run/model for the target as stated)"}')

if __name__ == '__main__': main()
