/** Which request to hold: an operation id, and/or a method and a path pattern (a regular expression's source). */
export interface HoldMatch {
  operation?: string;
  method?: string;
  path?: string;
}

export interface HeldRequest {
  method: string;
  path: string;
  operation: string;
  /** The request's body as sent. */
  body: string;
}

/**
 * A request held on arrival, before it takes effect: the caller can go away meanwhile (a server killed
 * while it waited for Azure's answer); `release()` lets it proceed, and resolves with what was answered
 * (to a caller that may no longer be there).
 */
export interface Hold {
  received: Promise<HeldRequest>;
  release(): Promise<{ status: number; body: unknown }>;
}

interface Pending {
  match: HoldMatch;
  receive: (request: HeldRequest) => void;
  gate: Promise<void>;
  open: () => void;
  answered: Promise<{ status: number; body: unknown }>;
  answer: (value: { status: number; body: unknown }) => void;
}

export class Holds {
  private readonly pending: Pending[] = [];
  private readonly waiting = new Set<() => void>();

  /** Holds the next request that matches. */
  add(match: HoldMatch): Hold {
    if (match.operation === undefined && match.path === undefined) throw new TypeError("a hold needs an operation or a path pattern");
    let receive!: (request: HeldRequest) => void;
    const received = new Promise<HeldRequest>((resolve) => (receive = resolve));
    let open!: () => void;
    const gate = new Promise<void>((resolve) => (open = resolve));
    let answer!: (value: { status: number; body: unknown }) => void;
    const answered = new Promise<{ status: number; body: unknown }>((resolve) => (answer = resolve));
    this.pending.push({ match, receive, gate, open, answered, answer });
    return {
      received,
      release: () => {
        open();
        return answered;
      },
    };
  }

  /**
   * For a request that arrived: when a hold matches, waits for its release, and returns what to call
   * with the answer; null (at once) when none matches.
   */
  async take(request: HeldRequest): Promise<((answer: { status: number; body: unknown }) => void) | null> {
    const index = this.pending.findIndex(
      ({ match }) =>
        (match.operation === undefined || match.operation === request.operation) &&
        (match.method === undefined || match.method.toUpperCase() === request.method) &&
        (match.path === undefined || new RegExp(match.path, "i").test(request.path)),
    );
    if (index < 0) return null;
    const [hold] = this.pending.splice(index, 1);
    hold!.receive(request);
    await new Promise<void>((resolve) => {
      this.waiting.add(resolve);
      void hold!.gate.then(() => {
        this.waiting.delete(resolve);
        resolve();
      });
    });
    return hold!.answer;
  }

  /** Lets every held request go (on close). */
  releaseAll(): void {
    for (const hold of this.pending.splice(0)) hold.open();
    for (const resolve of [...this.waiting]) resolve();
    this.waiting.clear();
  }
}
