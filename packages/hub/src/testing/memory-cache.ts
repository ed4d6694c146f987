import type { CacheLike } from '../browser/fetch-model-files.js';

/** A Map-backed stand-in for a Cache API cache (Node has none), for tests of the browser entry. */
export class MemoryCache implements CacheLike {
  readonly entries = new Map<string, { body: ArrayBuffer; headers: [string, string][] }>();

  async match(request: string): Promise<Response | undefined> {
    const e = this.entries.get(request);
    return e ? new Response(e.body.slice(0), { headers: e.headers }) : undefined;
  }

  async put(request: string, response: Response): Promise<void> {
    // The Cache API refuses partial answers; so does this.
    if (response.status === 206) throw new TypeError('Cache.put: partial response');
    this.entries.set(request, { body: await response.arrayBuffer(), headers: [...response.headers] });
  }

  async delete(request: string): Promise<boolean> {
    return this.entries.delete(request);
  }

  async keys(): Promise<{ url: string }[]> {
    return [...this.entries.keys()].map((url) => ({ url }));
  }
}
