// What the runner starts, for the main step and for the post step (dist/index.js is this file bundled).
// All logic, and the one catch that fails the step, is in run() / post(): tests and @github/local-action
// call them directly.
import * as core from "@actions/core";
import { post } from "./post.js";
import { run } from "./run.js";

if (core.getState("isPost") === "true") await post();
else await run();
