/**
 * A map of entries that hold a body, bounded in count and in the total length of their bodies:
 * setting an entry evicts the oldest ones until it fits (insertion order; a key set again counts as
 * new). Used by the file cache and the listing cache, which differ in how an entry stays valid.
 */
export class BoundedBodyMap<T extends { readonly body: { readonly length: number } }> {
  private readonly entries = new Map<string, T>();
  private total = 0;

  /** `maxEntries` entries and `maxLength` body units (bytes, or characters for strings) at most. */
  constructor(
    private readonly maxEntries: number,
    private readonly maxLength: number,
  ) {}

  get(key: string): T | undefined {
    return this.entries.get(key);
  }

  set(key: string, entry: T): void {
    this.delete(key);
    while (this.entries.size > 0 && (this.entries.size >= this.maxEntries || this.total + entry.body.length > this.maxLength)) {
      const oldest = this.entries.keys().next().value;
      if (oldest === undefined) break;
      this.delete(oldest);
    }
    this.entries.set(key, entry);
    this.total += entry.body.length;
  }

  delete(key: string): void {
    const old = this.entries.get(key);
    if (old === undefined) return;
    this.entries.delete(key);
    this.total -= old.body.length;
  }
}

/**
 * One `T` per owner object, made by `make` on first use and dropped with its owner (a WeakMap):
 * the file cache and the compressed copies belong to one options object (one server, one config).
 */
export function perOwner<T>(make: () => T): (owner: object) => T {
  const made = new WeakMap<object, T>();
  return (owner) => {
    let value = made.get(owner);
    if (value === undefined) {
      value = make();
      made.set(owner, value);
    }
    return value;
  };
}
