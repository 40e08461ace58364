'use strict';
// kcap serve's page: pick or drop a clip, preview the frames the model sees (/v1/frames),
// then stream the caption from /v1/chat/completions (server-sent events). No external files.
const $ = (id) => document.getElementById(id);

function headers(extra) {
  const h = Object.assign({}, extra || {});
  const key = $('key').value.trim();
  if (key) h['Authorization'] = 'Bearer ' + key;
  return h;
}

function setStatus(text, state) {
  const s = $('status');
  s.textContent = text;
  s.dataset.state = state;
}

async function errorText(r) {
  try { const j = await r.json(); return j.error.message; } catch (e) { return 'HTTP ' + r.status; }
}

async function init() {
  try {
    const h = await (await fetch('/healthz')).json();
    $('model').textContent = `모델: ${h.model} · 엔진: ${h.engine} · 클립마다 프레임 ${h.frames}장`;
    $('limits').textContent = `클립 한 개, 최대 ${h.max_upload_mb} MB · ${h.max_duration_s}초`;
    $('key-box').hidden = !h.auth;
  } catch (e) {
    setStatus('서버에 연결할 수 없습니다.', 'error');
  }
}

function readDataURL(file) {
  return new Promise((ok, fail) => {
    const fr = new FileReader();
    fr.onload = () => ok(fr.result);
    fr.onerror = () => fail(fr.error);
    fr.readAsDataURL(file);
  });
}

async function showFrames(file) {
  const fd = new FormData();
  fd.append('file', file);
  const r = await fetch('/v1/frames', { method: 'POST', headers: headers(), body: fd });
  if (!r.ok) throw new Error(await errorText(r));
  const j = await r.json();
  const box = $('frames');
  box.replaceChildren();
  j.frames.forEach((src, i) => {
    const fig = document.createElement('figure');
    const img = new Image();
    img.src = src;
    img.alt = `프레임 ${j.indices[i]}`;
    const cap = document.createElement('figcaption');
    cap.textContent = `${j.indices[i]}번 프레임`;
    fig.append(img, cap);
    box.append(fig);
  });
}

async function streamCaption(file) {
  const url = await readDataURL(file);
  // the browser may label an .mp4 as anything (or nothing): the server reads the bytes, not the label
  const data = url.replace(/^data:[^;,]*/, 'data:video/mp4');
  const body = { model: 'kcap', stream: true, messages: [{ role: 'user', content: [{ type: 'video_url', video_url: { url: data } }] }] };
  const r = await fetch('/v1/chat/completions', {
    method: 'POST', headers: headers({ 'Content-Type': 'application/json' }), body: JSON.stringify(body) });
  if (!r.ok) throw new Error(await errorText(r));
  const reader = r.body.getReader();
  const dec = new TextDecoder();
  const out = $('caption');
  let buf = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buf += dec.decode(value, { stream: true });
    let i;
    while ((i = buf.indexOf('\n\n')) >= 0) {
      const event = buf.slice(0, i);
      buf = buf.slice(i + 2);
      for (const line of event.split('\n')) {
        if (!line.startsWith('data: ')) continue;
        const payload = line.slice(6);
        if (payload === '[DONE]') return;
        const j = JSON.parse(payload);
        if (j.error) throw new Error(j.error.message);
        const piece = j.choices.length ? j.choices[0].delta.content : null;
        if (piece) out.textContent += piece;
      }
    }
  }
}

let busy = false;
async function run(file) {
  if (!file || busy) return;
  busy = true;
  $('caption').textContent = '';
  $('copy').disabled = true;
  $('frames').replaceChildren();
  const t0 = performance.now();
  try {
    setStatus(`"${file.name}"에서 프레임을 뽑는 중…`, 'busy');
    await showFrames(file);
    setStatus('캡션을 만드는 중…', 'busy');
    await streamCaption(file);
    setStatus(`완료 (${((performance.now() - t0) / 1000).toFixed(1)}초)`, 'done');
    $('copy').disabled = false;
  } catch (e) {
    setStatus('오류: ' + e.message, 'error');
  } finally {
    busy = false;
    $('file').value = '';
  }
}

$('file').addEventListener('change', (e) => run(e.target.files[0]));
const drop = $('drop');
['dragenter', 'dragover'].forEach((t) => drop.addEventListener(t, (e) => { e.preventDefault(); drop.classList.add('over'); }));
['dragleave', 'drop'].forEach((t) => drop.addEventListener(t, (e) => { e.preventDefault(); drop.classList.remove('over'); }));
drop.addEventListener('drop', (e) => run(e.dataTransfer.files[0]));

$('copy').addEventListener('click', async () => {
  const text = $('caption').textContent;
  try {
    await navigator.clipboard.writeText(text);
    setStatus('캡션을 복사했습니다.', 'done');
  } catch (e) {
    const range = document.createRange();
    range.selectNodeContents($('caption'));
    const sel = window.getSelection();
    sel.removeAllRanges();
    sel.addRange(range);
    setStatus('복사하지 못했습니다: 선택된 캡션을 Ctrl+C로 복사하세요.', 'error');
  }
});

init();
