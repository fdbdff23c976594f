/** One JSON object of Docker's build or push stream. */
export interface DockerEvent {
  stream?: string;
  status?: string;
  id?: string;
  error?: string;
  errorDetail?: { message?: string };
  aux?: { ID?: string; Tag?: string; Digest?: string; Size?: number };
}

// What a person wants to see of a build: its steps and the outcome of installs, not layer ids.
const SHOWN = /^(Step \d+\/\d+ :|Successfully installed |ERROR|error:|WARNING: (?!One or more build-args))/;
const HIDDEN = /^( ---> |Removing intermediate container |Successfully built |Successfully tagged |\s*$)/;

/**
 * Condenses `docker build` output: each step and each install's outcome go to `show` as they come;
 * everything else is kept in a short tail, which a failure's message carries.
 */
export class BuildLog {
  private readonly tail: string[] = [];
  private failure: string | null = null;
  imageId: string | null = null;

  constructor(
    private readonly show: (line: string) => void,
    private readonly keep = 25,
  ) {}

  event(event: DockerEvent): void {
    if (event.error || event.errorDetail?.message) {
      this.failure = (event.errorDetail?.message || event.error || "").trim();
      return;
    }
    if (event.aux?.ID) this.imageId = event.aux.ID;
    const text = event.stream ?? (event.status ? `${event.status}${event.id ? ` ${event.id}` : ""}` : "");
    for (const raw of text.split(/\r?\n/)) {
      const line = raw.replace(/\s+$/, "");
      if (/^ ---> Using cache$/.test(line)) {
        this.show("(cached)");
        continue;
      }
      if (HIDDEN.test(line)) continue;
      if (SHOWN.test(line)) this.show(line.length > 200 ? `${line.slice(0, 199)}…` : line);
      this.tail.push(line);
      if (this.tail.length > this.keep) this.tail.shift();
    }
  }

  get error(): string | null {
    return this.failure;
  }

  /** The last lines of output, for a failure's message. */
  lastLines(n = 15): string[] {
    return this.tail.slice(-n);
  }
}

/** Condenses `docker push` output into a count of layers, and picks out the digest. */
export class PushLog {
  private readonly pushed = new Set<string>();
  private readonly existing = new Set<string>();
  private failure: string | null = null;
  digest: string | null = null;

  event(event: DockerEvent): void {
    if (event.error || event.errorDetail?.message) {
      this.failure = (event.errorDetail?.message || event.error || "").trim();
      return;
    }
    if (event.aux?.Digest) this.digest = event.aux.Digest;
    if (event.id && event.status === "Pushed") this.pushed.add(event.id);
    if (event.id && event.status === "Layer already exists") this.existing.add(event.id);
    // Older daemons say it only in a status line: "<tag>: digest: sha256:… size: 1234".
    const m = event.status ? /digest: (sha256:[a-f0-9]{64})/.exec(event.status) : null;
    if (m && !this.digest) this.digest = m[1]!;
  }

  get error(): string | null {
    return this.failure;
  }

  summary(): string {
    const parts = [`${this.pushed.size} layer${this.pushed.size === 1 ? "" : "s"} pushed`];
    if (this.existing.size) parts.push(`${this.existing.size} already there`);
    return parts.join(", ");
  }
}
