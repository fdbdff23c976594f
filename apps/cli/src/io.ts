import type { loadClientPlugins } from "@ferry/client-node";
import { createSpinner } from "nanospinner";
import type { ImageBackend } from "./images/image-build.js";

/**
 * Everything a command touches outside itself: the streams, the environment, the working directory,
 * prompts and signals. Commands receive an `Io`; `processIo()` is the real one, tests hand in a fake.
 */
export interface OutputStream {
  write(text: string): void;
  readonly isTTY: boolean;
  /** The terminal's width, when it is one. */
  readonly columns?: number;
}

export interface Choice<T> {
  name: string;
  value: T;
  description?: string;
}

export interface Spinner {
  /** Ends the animation with a mark: ✓ when the step succeeded, ✗ when it failed. */
  stop(ok: boolean): void;
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
  confirm(message: string, defaultAnswer?: boolean): Promise<boolean>;
  /** One of `choices`, picked with the arrow keys; only called when `stdinIsTTY`. */
  select<T>(message: string, choices: readonly Choice<T>[]): Promise<T>;
  /** A line of text; `validate` answers an error message to show, or null to accept. Only called when `stdinIsTTY`. */
  input(message: string, options?: { default?: string; validate?: (value: string) => string | null }): Promise<string>;
  /**
   * A spinner on stderr for a step that may take a while; null when stderr is not a terminal (a pipe, a
   * log file, CI), where an animation would only be noise.
   */
  spinner(text: string): Spinner | null;
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
    stdout: {
      write: (text) => void process.stdout.write(text),
      isTTY: process.stdout.isTTY === true,
      // Read at each use: the terminal may be resized while a command runs.
      get columns() {
        return process.stdout.columns;
      },
    },
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
    async confirm(message, defaultAnswer = false) {
      const { default: confirm } = await import("@inquirer/confirm");
      return confirm({ message, default: defaultAnswer }, { output: process.stderr });
    },
    async select(message, choices) {
      const { default: select } = await import("@inquirer/select");
      return select({ message, choices: [...choices], pageSize: 12 }, { output: process.stderr });
    },
    async input(message, options = {}) {
      const { default: input } = await import("@inquirer/input");
      const { validate } = options;
      return input(
        { message, ...(options.default !== undefined ? { default: options.default } : {}), ...(validate ? { validate: (value: string) => validate(value) ?? true } : {}) },
        { output: process.stderr },
      );
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
    spinner(text) {
      if (!process.stderr.isTTY || process.env.TERM === "dumb") return null;
      const spinner = createSpinner(text, { stream: process.stderr, color: "cyan" }).start();
      return { stop: (ok) => void (ok ? spinner.success() : spinner.error()) };
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
