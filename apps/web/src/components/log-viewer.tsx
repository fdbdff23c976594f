import { useLayoutEffect, useMemo, useRef, useState } from "react";
import { LOG_LEVELS, type LogLevel, type LogLine } from "@ferry/core/browser";
import clsx from "clsx";
import { Button } from "./button.js";
import { Field, SelectInput, TextInput } from "./field.js";
import { filterLogLines, splitMatches } from "./log-lines.js";

/** Lines rendered at once; earlier ones come in steps of this many with "Show earlier lines". */
export const LOG_WINDOW = 1000;

const LEVEL_TONES: Record<LogLevel, string> = {
  debug: "text-slate-600 dark:text-slate-400",
  info: "text-slate-900 dark:text-slate-100",
  warning: "text-amber-800 dark:text-amber-300",
  error: "text-red-700 dark:text-red-400",
  critical: "font-semibold text-red-800 dark:text-red-300",
};

function Line({ line, search }: { line: LogLine; search: string }) {
  return (
    <div className={clsx("whitespace-pre-wrap break-words", LEVEL_TONES[line.level])}>
      <time dateTime={line.timestamp} className="mr-2 text-slate-600 dark:text-slate-400">
        {new Date(line.timestamp).toLocaleTimeString()}
      </time>
      <span className="mr-2 uppercase">{line.level}</span>
      {line.source !== "flow" && <span className="mr-2 text-slate-600 dark:text-slate-400">[{line.source}]</span>}
      {splitMatches(line.message, search).map((part, i) =>
        part.match ? (
          <mark key={i} className="bg-yellow-200 text-slate-950 dark:bg-yellow-300">
            {part.text}
          </mark>
        ) : (
          part.text
        ),
      )}
    </div>
  );
}

/**
 * A run's log: level filter, search (matching lines only, matches highlighted), the last LOG_WINDOW
 * lines rendered (10,000 lines stay responsive) with earlier ones on demand, and auto-scroll that
 * follows new lines until the reader scrolls up.
 */
export function LogViewer({ lines, status, onDownload, downloading }: { lines: LogLine[]; status: string; onDownload(): void; downloading: boolean }) {
  const [level, setLevel] = useState<LogLevel>("debug");
  const [search, setSearch] = useState("");
  const [shown, setShown] = useState(LOG_WINDOW);
  const [follow, setFollow] = useState(true);
  const box = useRef<HTMLDivElement>(null);
  const filtered = useMemo(() => filterLogLines(lines, level, search), [lines, level, search]);
  const hidden = Math.max(0, filtered.length - shown);
  const visible = hidden > 0 ? filtered.slice(hidden) : filtered;

  useLayoutEffect(() => {
    const el = box.current;
    if (el && follow) el.scrollTop = el.scrollHeight;
  }, [visible, follow]);

  return (
    <div className="space-y-2">
      <div className="grid grid-cols-1 items-end gap-3 sm:grid-cols-[10rem_1fr_auto]">
        <Field label="Level">
          {({ id }) => (
            <SelectInput id={id} value={level} onChange={(e) => setLevel(e.target.value as LogLevel)}>
              {LOG_LEVELS.map((l) => (
                <option key={l} value={l}>
                  {l === "debug" ? "All levels" : `${l[0]!.toUpperCase()}${l.slice(1)} and up`}
                </option>
              ))}
            </SelectInput>
          )}
        </Field>
        <Field label="Search logs">
          {({ id }) => <TextInput id={id} type="search" value={search} onChange={(e) => setSearch(e.target.value)} placeholder="Text in the message" />}
        </Field>
        <Button onClick={onDownload} disabled={downloading}>
          {downloading ? "Preparing…" : "Download"}
        </Button>
      </div>
      <p className="text-xs text-slate-700 dark:text-slate-300">
        {filtered.length === lines.length ? `${lines.length} lines` : `${filtered.length} of ${lines.length} lines`} · {status}
      </p>
      {hidden > 0 && (
        <Button size="sm" onClick={() => setShown((n) => n + LOG_WINDOW)}>
          Show earlier lines ({hidden} hidden)
        </Button>
      )}
      <div
        ref={box}
        role="log"
        aria-label="Logs"
        tabIndex={0}
        onScroll={(e) => {
          const el = e.currentTarget;
          setFollow(el.scrollHeight - el.scrollTop - el.clientHeight < 24);
        }}
        className="max-h-[28rem] min-h-32 overflow-auto rounded-md border border-slate-300 bg-slate-50 p-3 font-mono text-xs focus-visible:outline-2 focus-visible:outline-blue-600 dark:border-slate-700 dark:bg-slate-900"
      >
        {lines.length === 0 ? (
          <p className="text-slate-700 dark:text-slate-300">No log lines yet.</p>
        ) : filtered.length === 0 ? (
          <p className="text-slate-700 dark:text-slate-300">No lines match the level and search.</p>
        ) : (
          visible.map((line) => <Line key={line.id} line={line} search={search} />)
        )}
      </div>
      {!follow && (
        <Button size="sm" onClick={() => setFollow(true)}>
          Jump to the latest line
        </Button>
      )}
    </div>
  );
}
