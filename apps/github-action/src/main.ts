// What the runner starts (dist/index.js is this file bundled). All logic, and the one catch that fails
// the step, is in run(): tests and @github/local-action call it directly.
import { run } from "./run.js";

await run();
