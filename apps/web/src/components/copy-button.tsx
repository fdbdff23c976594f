import { useEffect, useRef, useState } from "react";
import { Copy } from "lucide-react";
import { Button } from "./button.js";

/**
 * Writes text to the clipboard. The async Clipboard API needs a secure context (https or localhost);
 * a server reached over plain http by another name has none, so the old copy command is the fallback.
 */
export async function copyText(text: string, doc: Document = document): Promise<boolean> {
  const clipboard = doc.defaultView?.navigator.clipboard;
  if (clipboard && doc.defaultView?.isSecureContext) {
    try {
      await clipboard.writeText(text);
      return true;
    } catch {
      // Permission refused: try the fallback.
    }
  }
  const area = doc.createElement("textarea");
  area.value = text;
  area.setAttribute("readonly", "");
  area.style.position = "fixed";
  area.style.opacity = "0";
  doc.body.appendChild(area);
  area.select();
  try {
    return typeof doc.execCommand === "function" && doc.execCommand("copy");
  } catch {
    return false;
  } finally {
    area.remove();
  }
}

/** A "Copy" button (its name stays "Copy"); the outcome is announced in a status next to it. */
export function CopyButton({ text, label = "Copy" }: { text: string; label?: string }) {
  const [status, setStatus] = useState<"" | "Copied" | "Could not copy: select the text and copy it by hand">("");
  const timer = useRef<ReturnType<typeof setTimeout> | undefined>(undefined);
  useEffect(() => () => clearTimeout(timer.current), []);
  return (
    <span className="inline-flex items-center gap-2">
      <Button
        size="sm"
        onClick={async () => {
          const ok = await copyText(text);
          setStatus(ok ? "Copied" : "Could not copy: select the text and copy it by hand");
          clearTimeout(timer.current);
          timer.current = setTimeout(() => setStatus(""), 3000);
        }}
      >
        <Copy aria-hidden size={14} />
        {label}
      </Button>
      <span role="status" className="text-sm text-slate-700 dark:text-slate-300">
        {status}
      </span>
    </span>
  );
}
