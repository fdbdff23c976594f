/** An answer held back: the call took effect, its reply waits until `release()` (a server killed mid-call). */
export interface HeldAnswer {
  /** Resolves once a call of the RPC arrived and took effect; its reply is then held. */
  reached: Promise<void>;
  /** Sends the held reply (to a client that may be gone by now). */
  release(): void;
}

interface PendingHold {
  rpc: string;
  arrived: () => void;
  released: Promise<void>;
}

export class HoldBook {
  private pending: PendingHold[] = [];

  /** Holds the reply of the next call of `rpc`. */
  holdNext(rpc: string): HeldAnswer {
    let arrived!: () => void;
    let release!: () => void;
    const reached = new Promise<void>((resolve) => (arrived = resolve));
    const released = new Promise<void>((resolve) => (release = resolve));
    this.pending.push({ rpc, arrived, released });
    return { reached, release };
  }

  /** For a call of `rpc` that took effect: the promise its reply waits on, or null when nothing holds it. */
  take(rpc: string): Promise<void> | null {
    const index = this.pending.findIndex((h) => h.rpc === rpc);
    if (index < 0) return null;
    const [hold] = this.pending.splice(index, 1);
    hold!.arrived();
    return hold!.released;
  }
}
