/**
 * A bounded map whose entries expire: when full, the least recently used entry goes first; an
 * entry is never returned after its own expiry time.
 */
export class TtlLruCache<K, V> {
  private readonly entries = new Map<K, { value: V; expiresAtMs: number }>();
  /** The key last in the map's order: a viewer's burst of hits on one entry moves nothing. */
  private newest: K | undefined;

  constructor(private readonly capacity: number) {}

  get(key: K, nowMs = Date.now()): V | undefined {
    const entry = this.entries.get(key);
    if (!entry) return undefined;
    if (entry.expiresAtMs <= nowMs) {
      this.entries.delete(key);
      return undefined;
    }
    if (key !== this.newest) {
      this.entries.delete(key);
      this.entries.set(key, entry); // most recently used goes last
      this.newest = key;
    }
    return entry.value;
  }

  set(key: K, value: V, expiresAtMs: number): void {
    this.entries.delete(key);
    if (this.entries.size >= this.capacity) {
      const oldest = this.entries.keys().next().value;
      if (oldest !== undefined) this.entries.delete(oldest);
    }
    this.entries.set(key, { value, expiresAtMs });
    this.newest = key;
  }

  delete(key: K): void {
    this.entries.delete(key);
  }

  /** Deletes every entry whose value matches (a scan: for rare events, not per request). */
  deleteWhere(matches: (value: V) => boolean): void {
    for (const [key, entry] of this.entries) if (matches(entry.value)) this.entries.delete(key);
  }

  clear(): void {
    this.entries.clear();
  }

  get size(): number {
    return this.entries.size;
  }
}
