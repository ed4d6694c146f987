import {
  createWorkerEngine,
  type LoadProgress,
  type ModelSource,
  type PaliEngine,
  type TaskName,
} from '@pali/web';
import { drawOverlay, objectColor } from './overlay.js';

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const el = {
  modelForm: $<HTMLFormElement>('model-form'),
  model: $<HTMLInputElement>('model'),
  modelDir: $<HTMLInputElement>('model-dir'),
  dtype: $<HTMLSelectElement>('dtype'),
  backend: $<HTMLSelectElement>('backend'),
  vae: $<HTMLInputElement>('vae'),
  vaeFile: $<HTMLInputElement>('vae-file'),
  load: $<HTMLButtonElement>('load'),
  progress: $<HTMLProgressElement>('progress'),
  modelStatus: $('model-status'),
  drop: $('drop'),
  image: $<HTMLCanvasElement>('image'),
  overlay: $<HTMLCanvasElement>('overlay'),
  imageFile: $<HTMLInputElement>('image-file'),
  taskForm: $<HTMLFormElement>('task-form'),
  task: $<HTMLSelectElement>('task'),
  lang: $<HTMLInputElement>('lang'),
  langLabel: $('lang-label'),
  text: $<HTMLInputElement>('text'),
  textLabel: $<HTMLLabelElement>('text-label'),
  run: $<HTMLButtonElement>('run'),
  cancel: $<HTMLButtonElement>('cancel'),
  answer: $<HTMLOutputElement>('answer'),
  objects: $<HTMLUListElement>('objects'),
  runStatus: $('run-status'),
};

const params = new URLSearchParams(location.search);
const wasmPaths = new URL('ort/', document.baseURI).href;
let engine: PaliEngine | undefined;
let image: Blob | undefined;
let running: AbortController | undefined;

function setState(state: 'idle' | 'loading' | 'ready' | 'running' | 'done' | 'error'): void {
  document.body.dataset.state = state;
  el.run.disabled = !engine || !image || state === 'running' || state === 'loading';
  el.cancel.disabled = state !== 'running' && state !== 'loading';
  el.load.disabled = state === 'loading' || state === 'running';
}

function describeError(error: unknown): string {
  const e = error as { code?: string; message?: string };
  return e.code ? `${e.code}: ${e.message}` : String(e?.message ?? error);
}

const mb = (n: number) => `${(n / 1e6).toFixed(1)} MB`;

function showProgress(e: LoadProgress): void {
  if (e.stage === 'download') {
    const { loaded, total } = e.overall;
    el.progress.hidden = false;
    if (total) el.progress.value = loaded / total;
    else el.progress.removeAttribute('value');
    el.modelStatus.textContent = `Downloading ${e.file}: ${mb(loaded)}${total ? ` of ${mb(total)}` : ''} (${e.overall.filesDone}/${e.overall.files} files)`;
  } else if (e.stage === 'session') {
    el.modelStatus.textContent = `Opening ${e.component}…`;
  } else {
    el.modelStatus.textContent = `Backend: ${e.backend}${e.reason ? ` (${e.reason})` : ''}`;
  }
}

function modelSource(): ModelSource {
  const files = el.modelDir.files;
  if (files && files.length > 0) return { files: [...files] };
  return el.model.value.trim();
}

async function loadModel(): Promise<void> {
  running?.abort();
  const old = engine;
  engine = undefined;
  await old?.dispose().catch(() => undefined);
  running = new AbortController();
  setState('loading');
  el.progress.value = 0;
  el.modelStatus.textContent = 'Loading…';
  const vaeFile = el.vaeFile.files?.[0];
  const vae = vaeFile ?? (el.vae.value.trim() || undefined);
  const worker = new Worker(new URL('./worker.ts', import.meta.url), { type: 'module', name: 'pali-engine' });
  try {
    engine = await createWorkerEngine(worker, modelSource(), {
      backend: el.backend.value as 'auto' | 'webgpu' | 'wasm',
      wasmPaths,
      ...(el.dtype.value ? { dtype: el.dtype.value as 'q4' } : {}),
      ...(vae ? { vae } : {}),
      onProgress: showProgress,
      signal: running.signal,
    });
    const { info } = engine;
    el.progress.value = 1;
    el.modelStatus.textContent =
      `Ready on ${info.backend}${info.backend === 'wasm' ? ` (${info.threads} thread${info.threads > 1 ? 's' : ''})` : ''}` +
      `${info.fallbackReason ? ` — ${info.fallbackReason}` : ''}. ${info.source}, ${info.imageSize} px, ` +
      `${info.dtypes.decoder_model_merged} decoder${info.hasMaskDecoder ? ', masks on' : ''}. Kept in the browser cache for the next visit.`;
    el.modelStatus.dataset.backend = info.backend;
    setState('ready');
  } catch (error) {
    el.modelStatus.textContent = describeError(error);
    setState('error');
  }
}

async function showImage(blob: Blob): Promise<void> {
  const bitmap = await createImageBitmap(blob, { imageOrientation: 'from-image' }).catch(() => undefined);
  if (!bitmap) {
    el.runStatus.textContent = 'That file is not an image this browser can read.';
    return;
  }
  image = blob;
  el.image.width = bitmap.width;
  el.image.height = bitmap.height;
  el.image.getContext('2d')!.drawImage(bitmap, 0, 0);
  bitmap.close();
  drawOverlay(el.overlay, el.image.width, el.image.height, []);
  el.image.setAttribute('aria-label', `The chosen image, ${el.image.width} × ${el.image.height} pixels`);
  el.runStatus.textContent = '';
  setState(engine ? 'ready' : (document.body.dataset.state as 'idle'));
}

function updateTaskFields(): void {
  const task = el.task.value as TaskName;
  const needsText = task === 'ask' || task === 'detect' || task === 'segment';
  el.text.hidden = el.textLabel.hidden = !needsText;
  el.textLabel.textContent = task === 'ask' ? 'Question' : 'What to find (separate with ;)';
  el.text.placeholder = task === 'ask' ? 'what is in the picture?' : 'cat ; dog';
  el.langLabel.hidden = !(task === 'caption' || task === 'describe' || task === 'ask');
}

async function runTask(): Promise<void> {
  if (!engine || !image) return;
  running = new AbortController();
  const task = el.task.value as TaskName;
  const text = el.text.value.trim();
  el.answer.textContent = '';
  el.answer.dataset.chunks = '0';
  el.objects.replaceChildren();
  el.runStatus.className = '';
  el.runStatus.textContent = 'Running…';
  drawOverlay(el.overlay, el.image.width, el.image.height, []);
  setState('running');
  const started = performance.now();
  let chunks = 0;
  try {
    const stream = engine.streamTask({
      task,
      image,
      lang: el.lang.value.trim() || 'en',
      ...(task === 'ask' ? { question: text } : {}),
      ...(task === 'detect' || task === 'segment' ? { labels: text } : {}),
      signal: running.signal,
    });
    let next = await stream.next();
    while (!next.done) {
      chunks++;
      el.answer.textContent += next.value.text;
      el.answer.dataset.chunks = String(chunks);
      next = await stream.next();
    }
    const result = next.value;
    el.answer.textContent = result.text;
    const objects = result.objects ?? [];
    el.overlay.dataset.objects = String(drawOverlay(el.overlay, result.width, result.height, objects));
    for (const [k, o] of objects.entries()) {
      const li = document.createElement('li');
      const swatch = document.createElement('span');
      swatch.style.background = objectColor(k);
      const { x1, y1, x2, y2 } = o.box;
      li.append(
        swatch,
        `${o.label || '?'}: (${Math.round(x1)}, ${Math.round(y1)}) – (${Math.round(x2)}, ${Math.round(y2)})`,
      );
      el.objects.append(li);
    }
    const seconds = (performance.now() - started) / 1000;
    el.runStatus.textContent = `${result.tokens.length} tokens in ${seconds.toFixed(1)} s${objects.length ? `, ${objects.length} object${objects.length > 1 ? 's' : ''}` : ''}.`;
    setState('done');
  } catch (error) {
    const aborted = (error as { code?: string }).code === 'ABORTED';
    el.runStatus.textContent = aborted ? 'Cancelled.' : describeError(error);
    el.runStatus.className = aborted ? '' : 'error';
    setState('ready');
  }
}

el.modelForm.addEventListener('submit', (e) => {
  e.preventDefault();
  void loadModel();
});
el.taskForm.addEventListener('submit', (e) => {
  e.preventDefault();
  void runTask();
});
el.cancel.addEventListener('click', () => running?.abort());
el.task.addEventListener('change', updateTaskFields);
el.imageFile.addEventListener('change', () => {
  const file = el.imageFile.files?.[0];
  if (file) void showImage(file);
});
el.drop.addEventListener('dragover', (e) => {
  e.preventDefault();
  el.drop.classList.add('over');
});
el.drop.addEventListener('dragleave', () => el.drop.classList.remove('over'));
el.drop.addEventListener('drop', (e) => {
  e.preventDefault();
  el.drop.classList.remove('over');
  const file = [...(e.dataTransfer?.files ?? [])].find((f) => f.type.startsWith('image/'));
  if (file) void showImage(file);
});
window.addEventListener('paste', (e) => {
  const file = [...(e.clipboardData?.files ?? [])].find((f) => f.type.startsWith('image/'));
  if (file) void showImage(file);
});

// Deep links: ?model=URL-or-id&backend=wasm&dtype=q4&vae=URL&image=URL&task=detect&text=cat
for (const [key, input] of [
  ['model', el.model],
  ['vae', el.vae],
  ['text', el.text],
  ['lang', el.lang],
] as const) {
  const value = params.get(key);
  if (value !== null) input.value = value;
}
for (const [key, select] of [
  ['backend', el.backend],
  ['dtype', el.dtype],
  ['task', el.task],
] as const) {
  const value = params.get(key);
  if (value !== null) select.value = value;
}
updateTaskFields();
setState('idle');
const imageUrl = params.get('image');
if (imageUrl) {
  void fetch(imageUrl)
    .then((r) => r.blob())
    .then(showImage);
}
if (params.has('model')) void loadModel();
