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

/**
 * A map by request path (or a key made from one), for answers that depend on the path alone: at
 * most `maxKeys` keys (a client's distinct query strings would otherwise grow it without end; when
 * full it starts over), each at most `maxKeyLength` characters (a longer one is not kept: its
 * value is made each time). Keys must be strings of their own, not slices of a request head (the
 * parser's targets are: http-parser's detachedString), so it holds under 1 MB at the bounds used
 * (1,024 keys of 256 characters) whatever clients send. Used by live reload's page shapes and
 * the configured header lists.
 */
export class BoundedPathMap<V> {
  private readonly entries = new Map<string, V>();

  constructor(
    private readonly maxKeys = 1024,
    private readonly maxKeyLength = 256,
  ) {}

  get(key: string): V | undefined {
    return this.entries.get(key);
  }

  /** Keeps `value` for `key` unless the key is too long; a full map is emptied first. */
  set(key: string, value: V): void {
    if (key.length > this.maxKeyLength) return;
    if (this.entries.size >= this.maxKeys) this.entries.clear();
    this.entries.set(key, value);
  }
}
