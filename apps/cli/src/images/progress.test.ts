import { describe, expect, it } from "vitest";
import { BuildLog, PushLog } from "./progress.js";

describe("BuildLog", () => {
  it("shows steps and install outcomes, hides layer ids, and keeps a tail for failures", () => {
    const shown: string[] = [];
    const log = new BuildLog((l) => shown.push(l));
    for (const stream of [
      "Step 1/3 : FROM ferry-engine:latest\n",
      " ---> fc8c338e8ac9\n",
      "Step 2/3 : RUN pip install six\n",
      " ---> Running in 1234\n",
      "Processing ./six.whl\nSuccessfully installed six-1.17.0\n",
      "Removing intermediate container 1234\n",
      "Step 3/3 : USER ferry\n",
      " ---> Using cache\n",
    ]) log.event({ stream });
    log.event({ aux: { ID: "sha256:abc" } });
    expect(shown).toEqual(["Step 1/3 : FROM ferry-engine:latest", "Step 2/3 : RUN pip install six", "Successfully installed six-1.17.0", "Step 3/3 : USER ferry", "(cached)"]);
    expect(log.imageId).toBe("sha256:abc");
    expect(log.error).toBeNull();
    expect(log.lastLines(2)).toEqual(["Successfully installed six-1.17.0", "Step 3/3 : USER ferry"]);

    log.event({ error: "x", errorDetail: { message: "The command '/bin/sh -c exit 3' returned a non-zero code: 3" } });
    expect(log.error).toMatch(/returned a non-zero code: 3/);
  });
});

describe("PushLog", () => {
  it("counts layers and takes the digest", () => {
    const log = new PushLog();
    log.event({ status: "The push refers to repository [127.0.0.1:5000/a]" });
    log.event({ status: "Preparing", id: "l1" });
    log.event({ status: "Pushed", id: "l1" });
    log.event({ status: "Layer already exists", id: "l2" });
    log.event({ status: "Layer already exists", id: "l3" });
    const digest = `sha256:${"c".repeat(64)}`;
    log.event({ status: `v1: digest: ${digest} size: 1234` });
    expect(log.digest).toBe(digest);
    log.event({ aux: { Tag: "v1", Digest: digest, Size: 1234 } });
    expect(log.summary()).toBe("1 layer pushed, 2 already there");
    log.event({ errorDetail: { message: "denied: requested access to the resource is denied" } });
    expect(log.error).toMatch(/denied/);
  });
});
