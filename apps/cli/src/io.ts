import type { loadClientPlugins } from "@ferry/client-node";
import type { ImageBackend } from "./images/image-build.js";

/**
 * Everything a command touches outside itself: the streams, the environment, the working directory,
 * prompts and signals. Commands receive an `Io`; `processIo()` is the real one, tests hand in a fake.
 */
export interface OutputStream {
  write(text: string): void;
  readonly isTTY: boolean;
}

export interface Io {
  stdout: OutputStream;
  stderr: OutputStream;
  /** Whether stdin is a terminal, so a person can answer a prompt. */
  stdinIsTTY: boolean;
  /** All of stdin as text (until end of file). */
  readStdin(): Promise<string>;
  env: Readonly<Record<string, string | undefined>>;
  cwd: string;
  /** Hidden input on the terminal; only called when `stdinIsTTY`. */
  promptSecret(message: string): Promise<string>;
  confirm(message: string): Promise<boolean>;
  /** Resolves on the first SIGINT or SIGTERM after the call; `dispose` stops listening. */
  nextSignal(): { signal: Promise<NodeJS.Signals>; dispose(): void };
  /** Replaces the global fetch (tests point the client at a fake server). */
  fetch?: typeof fetch;
  /**
   * Replaces the client-plugin loader (tests hand in plugins made in memory; the real one imports each
   * module's `./client`), and sees which modules a command asks for.
   */
  loadClientPlugins?: typeof loadClientPlugins;
  /** Replaces the image builder (tests hand in a fake; the real one, Docker, is loaded on demand). */
  images?: () => Promise<ImageBackend>;
  /** Opens a URL in the user's browser; false when no browser could be opened (tests record the URL instead). */
  openBrowser?: (url: string) => Promise<boolean>;
}

export function processIo(): Io {
  return {
    stdout: { write: (text) => void process.stdout.write(text), isTTY: process.stdout.isTTY === true },
    stderr: { write: (text) => void process.stderr.write(text), isTTY: process.stderr.isTTY === true },
    stdinIsTTY: process.stdin.isTTY === true,
    readStdin,
    env: process.env,
    cwd: process.cwd(),
    async promptSecret(message) {
      // Loaded on demand: most commands never prompt, and startup time matters.
      const { default: password } = await import("@inquirer/password");
      return password({ message, mask: "*" }, { output: process.stderr });
    },
    async confirm(message) {
      const { default: confirm } = await import("@inquirer/confirm");
      return confirm({ message, default: false }, { output: process.stderr });
    },
    async openBrowser(url) {
      // Without a display (a server, SSH, CI) xdg-open would "succeed" into a text browser or nothing.
      if (process.platform === "linux" && !process.env.DISPLAY && !process.env.WAYLAND_DISPLAY) return false;
      try {
        // Loaded on demand, like the prompts: only `ferry ui` opens a browser.
        const { default: open } = await import("open");
        await open(url);
        return true;
      } catch {
        return false;
      }
    },
    nextSignal() {
      let handler: (signal: NodeJS.Signals) => void = () => {};
      const signal = new Promise<NodeJS.Signals>((resolve) => {
        handler = resolve;
      });
      process.once("SIGINT", handler);
      process.once("SIGTERM", handler);
      return {
        signal,
        dispose() {
          process.off("SIGINT", handler);
          process.off("SIGTERM", handler);
        },
      };
    },
  };
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(typeof chunk === "string" ? Buffer.from(chunk) : (chunk as Buffer));
  return Buffer.concat(chunks).toString("utf8");
}
