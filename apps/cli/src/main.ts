import { processIo } from "./io.js";
import { run } from "./program.js";

// `ferry … | head` closes the pipe before the output ends: that is the reader saying it has enough, not an
// error to print a stack for. Stop quietly, as other Unix tools do.
for (const stream of [process.stdout, process.stderr]) {
  stream.on("error", (error: NodeJS.ErrnoException) => {
    if (error.code === "EPIPE") process.exit(0);
    throw error;
  });
}

process.exitCode = await run(process.argv.slice(2), processIo());
