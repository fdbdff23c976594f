// Runs one flow function for the Ferry engine.
//
//   node run-flow.mjs MODULE FUNCTION PARAMETERS_JSON RESULT_FILE ERROR_FILE
//
// Imports MODULE (a .js/.mjs file, or the engine's bundle of a .ts file), calls FUNCTION with the
// parameters object (awaiting it), and writes {"value": <result>} as JSON to RESULT_FILE. When anything
// goes wrong it writes {"kind", "type", "message", "traceback"} to ERROR_FILE instead, prints the
// stack to stderr and exits with the kind's code (the same codes as run-flow.py).
import { existsSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";

const EXIT_CODES = {
  exception: 1,
  file_not_found: 2,
  function_not_found: 3,
  load_failed: 4,
  bad_parameters: 5,
  result_not_serializable: 6,
};

const args = process.argv.slice(2);
if (args.length !== 5) {
  process.stderr.write("usage: node run-flow.mjs MODULE FUNCTION PARAMETERS_JSON RESULT_FILE ERROR_FILE\n");
  process.exit(64);
}
const [file, functionName, parametersFile, resultFile, errorFile] = args;
// The name users know: the entry file, not the bundle the engine made of it.
const displayName = process.env.FERRY_FLOW_DISPLAY_FILE || file;

function writeJson(path, value) {
  writeFileSync(`${path}.tmp`, JSON.stringify(value));
  renameSync(`${path}.tmp`, path);
}

function report(kind, type, message, stack = "") {
  writeJson(errorFile, { kind, type, message, traceback: stack });
  process.exitCode = EXIT_CODES[kind];
}

function reportError(kind, error) {
  const isError = error instanceof Error;
  const type = isError ? error.name || error.constructor?.name || "Error" : typeof error;
  const message = isError ? error.message : String(error);
  const stack = isError && error.stack ? error.stack : `${type}: ${message}`;
  // The level prefix makes the engine log the whole stack as an error.
  process.stderr.write(`ERROR ${stack}\n`);
  report(kind, type, message, stack);
}

async function main() {
  const path = resolve(file);
  if (!existsSync(path)) {
    process.stderr.write(`ERROR the flow's file ${displayName} was not found\n`);
    return report("file_not_found", "Error", `${displayName} was not found`);
  }
  const parameters = JSON.parse(readFileSync(parametersFile, "utf8"));

  let mod;
  try {
    mod = await import(pathToFileURL(path).href);
  } catch (error) {
    return reportError("load_failed", error);
  }
  const fn = functionName === "default" ? mod.default : mod[functionName] ?? mod.default?.[functionName];
  if (typeof fn !== "function") {
    const names = Object.keys(mod).filter((k) => typeof mod[k] === "function");
    const hint = names.length ? `; it exports: ${names.join(", ")}` : "; it exports no functions";
    const message = `function '${functionName}' was not found in ${displayName}${hint}`;
    process.stderr.write(`ERROR ${message}\n`);
    return report("function_not_found", "Error", message);
  }

  let result;
  try {
    result = await fn(parameters);
  } catch (error) {
    return reportError("exception", error);
  }
  let text;
  try {
    text = JSON.stringify({ value: result === undefined ? null : result });
  } catch (error) {
    const message = `the flow's return value cannot be stored as JSON: ${error instanceof Error ? error.message : String(error)}`;
    process.stderr.write(`ERROR ${message}\n`);
    return report("result_not_serializable", "TypeError", message);
  }
  writeFileSync(`${resultFile}.tmp`, text);
  renameSync(`${resultFile}.tmp`, resultFile);
}

await main();
// The function has returned: a keep-alive socket or a forgotten timer must not keep the run going.
setTimeout(() => process.exit(), 1000).unref();
