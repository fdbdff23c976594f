/**
 * A Map that forgets its oldest entries past `limit`: what a long-running server may remember per run,
 * per image or per account without growing without end. Setting a key again makes it the newest.
 */
export class BoundedMap<K, V> extends Map<K, V> {
  constructor(readonly limit: number) {
    super();
    if (!(limit >= 1)) throw new RangeError("a BoundedMap needs a limit of at least 1");
  }

  override set(key: K, value: V): this {
    super.delete(key);
    super.set(key, value);
    while (this.size > this.limit) super.delete(this.keys().next().value as K);
    return this;
  }

  /** The value of `key`, made by `make` on first use; a rejected promise is forgotten so a later call tries again. */
  getOrMake(key: K, make: () => V): V {
    if (this.has(key)) return this.get(key) as V;
    const value = make();
    this.set(key, value);
    if (value instanceof Promise) {
      value.catch(() => {
        if (this.get(key) === value) this.delete(key);
      });
    }
    return value;
  }
}
