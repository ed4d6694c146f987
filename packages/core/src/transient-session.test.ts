import type { InferenceSession } from 'onnxruntime-common';
import { describe, expect, it } from 'vitest';
import { IdleOpener, TransientSession } from './transient-session.js';

/** Sessions that record their life: each open makes a new one, `live` counts those not released. */
function fakeOpener() {
  const log: string[] = [];
  let made = 0;
  let live = 0;
  const open = async (): Promise<InferenceSession> => {
    const id = ++made;
    live++;
    log.push(`open ${id}`);
    return {
      inputNames: ['x'],
      release: async () => {
        live--;
        log.push(`release ${id}`);
      },
    } as unknown as InferenceSession;
  };
  return { open, log, live: () => live };
}

const macrotasks = async (n = 20) => {
  for (let i = 0; i < n; i++) await new Promise((done) => setTimeout(done, 0));
};

describe('TransientSession', () => {
  it('runs on the session opened ahead and releases it after the run, even when the run throws', async () => {
    const f = fakeOpener();
    const slot = new TransientSession('a.onnx', f.open);
    await slot.prepare();
    await slot.prepare();
    expect(f.log).toEqual(['open 1']);
    expect(slot.isOpen).toBe(true);
    expect(await slot.use(async (s) => s.inputNames[0])).toBe('x');
    expect(f.log).toEqual(['open 1', 'release 1']);
    expect(slot.isOpen).toBe(false);
    // Used again without a prepare: opened for the run.
    await expect(
      slot.use(async () => {
        throw new Error('run failed');
      }),
    ).rejects.toThrow('run failed');
    expect(f.log).toEqual(['open 1', 'release 1', 'open 2', 'release 2']);
    expect(f.live()).toBe(0);
  });

  it('two uses at once get a session each; close() releases an open one and refuses later uses', async () => {
    const f = fakeOpener();
    const slot = new TransientSession('a.onnx', f.open);
    await slot.prepare();
    let release!: () => void;
    const held = slot.use(() => new Promise<void>((done) => (release = done)));
    const other = slot.use(async () => 'second');
    await macrotasks(2);
    release();
    await held;
    expect(await other).toBe('second');
    expect(f.live()).toBe(0);
    await slot.prepare();
    await slot.close();
    expect(f.live()).toBe(0);
    await expect(slot.use(async () => 1)).rejects.toThrow(/disposed/);
  });

  it('close() during an opening releases what it opens', async () => {
    const f = fakeOpener();
    const slot = new TransientSession('a.onnx', f.open);
    const opening = slot.prepare().catch((e: unknown) => e);
    await slot.close();
    expect(await opening).toBeInstanceOf(Error);
    expect(f.live()).toBe(0);
  });
});

describe('IdleOpener', () => {
  it('opens released slots again only while no generation is running, one per macrotask', async () => {
    const f = fakeOpener();
    const idle = new IdleOpener();
    const slots = [new TransientSession('a', f.open), new TransientSession('b', f.open)];
    for (const s of slots) s.onReleased = (r) => idle.request(r);
    const done = idle.busy();
    for (const s of slots) await s.use(async () => undefined);
    await macrotasks();
    // Busy: nothing reopened.
    expect(slots.map((s) => s.isOpen)).toEqual([false, false]);
    done();
    done(); // idempotent
    await macrotasks();
    expect(slots.map((s) => s.isOpen)).toEqual([true, true]);
    expect(f.live()).toBe(2);
  });

  it('drain() opens what is queued now; stop() drops the queue', async () => {
    const f = fakeOpener();
    const idle = new IdleOpener();
    const a = new TransientSession('a', f.open);
    const b = new TransientSession('b', f.open);
    const busy = idle.busy();
    idle.request(a);
    idle.request(a);
    await idle.drain();
    expect([a.isOpen, f.live()]).toEqual([true, 1]);
    idle.request(b);
    idle.stop();
    busy();
    await macrotasks();
    expect(b.isOpen).toBe(false);
  });
});
