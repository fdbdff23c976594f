// @ts-check
// Every vitest config in the repository lists this reporter after "default". It prints, once per test
// file, what was skipped and why (the reason services.js attached, or a test's own ctx.skip(note)). With
// CI set, any skipped or todo test fails the run: CI provides every service, so a skip there means a
// suite silently stopped running.
import { relative } from "node:path";

/** @typedef {import("vitest/node").Reporter} Reporter */
/** @typedef {import("vitest/node").TestModule} TestModule */
/** @typedef {import("vitest/node").Vitest} Vitest */
/** @typedef {import("./services.js").ServiceCheck} ServiceCheck (its module declares the skipReason of a test's meta) */

/** @implements {Reporter} */
export default class SkipsReporter {
  /** @type {Vitest | undefined} */
  vitest;

  /** @param {Vitest} vitest */
  onInit(vitest) {
    this.vitest = vitest;
  }

  /** @param {ReadonlyArray<TestModule>} testModules */
  onTestRunEnd(testModules) {
    const vitest = this.vitest;
    if (!vitest) return;
    /** @type {Map<string, Map<string, string[]>>} file -> reason -> test names */
    const skipped = new Map();
    for (const module of testModules) {
      const file = relative(vitest.config.root, module.moduleId);
      for (const test of module.children.allTests()) {
        const result = test.result();
        if (result.state !== "skipped") continue;
        const reason =
          test.options.mode === "todo"
            ? "todo"
            : (result.note ?? test.meta().skipReason ?? "no reason given (skip through test-support/services.js, or ctx.skip(reason))");
        const byReason = skipped.get(file) ?? new Map();
        byReason.set(reason, [...(byReason.get(reason) ?? []), test.fullName]);
        skipped.set(file, byReason);
      }
    }
    if (skipped.size === 0) return;

    // A name filter (-t) skips what it does not match: that is the developer's choice, not a gap.
    const failing = onCi() && !vitest.config.testNamePattern;
    const total = [...skipped.values()].flatMap((m) => [...m.values()]).flat().length;
    const lines = [`${total} test${total === 1 ? "" : "s"} skipped or todo, and why:`];
    for (const [file, byReason] of skipped) {
      for (const [reason, names] of byReason) {
        lines.push(`  ${file}: ${names.length} skipped: ${reason}`);
        if (failing) for (const name of names) lines.push(`    - ${name}`);
      }
    }
    if (failing) {
      lines.push("CI is set, and CI provides every service: a skipped test fails the run. Provide the service, or remove the skip.");
      vitest.logger.error(lines.join("\n"));
      process.exitCode = 1;
    } else {
      vitest.logger.log(lines.join("\n"));
    }
  }
}

/** CI=true (or any value but "false" and "0"), as CI services set it and .ci/run does. */
function onCi() {
  const ci = (process.env.CI ?? "").toLowerCase();
  return ci !== "" && ci !== "false" && ci !== "0";
}
