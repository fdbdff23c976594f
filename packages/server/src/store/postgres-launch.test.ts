import { describe, expect, it } from "vitest";
import { chooseLaunch, launchCommand, NAMESPACE_UID, type LaunchFacts } from "./postgres-launch.js";

const postgresUser = { uid: 999, gid: 999, name: "postgres" };
const facts = (over: Partial<LaunchFacts>): LaunchFacts => ({
  euid: 0,
  unshare: "unshare",
  dataOwner: null,
  fallbackUser: () => postgresUser,
  ...over,
});

describe("chooseLaunch", () => {
  it("starts PostgreSQL directly when this process is not root", () => {
    const lookedUp: string[] = [];
    const launch = chooseLaunch(facts({ euid: 1000, fallbackUser: () => (lookedUp.push("user"), postgresUser) }));
    expect(launch).toEqual({ kind: "direct" });
    expect(chooseLaunch(facts({ euid: undefined }))).toEqual({ kind: "direct" });
    expect(lookedUp).toEqual([]);
  });

  it("as root, uses a user namespace when one can be made, for a new cluster or one root owns", () => {
    expect(chooseLaunch(facts({}))).toEqual({ kind: "user-namespace", unshare: "unshare", uid: NAMESPACE_UID });
    expect(chooseLaunch(facts({ dataOwner: { uid: 0, gid: 0 } }))).toEqual({ kind: "user-namespace", unshare: "unshare", uid: NAMESPACE_UID });
  });

  it("as root without user namespaces, runs as the fallback user", () => {
    expect(chooseLaunch(facts({ unshare: null }))).toEqual({ kind: "run-as", user: postgresUser });
  });

  it("as root, keeps a cluster made by another user running as its owner", () => {
    expect(chooseLaunch(facts({ dataOwner: { uid: 105, gid: 110 } }))).toEqual({ kind: "run-as", user: { uid: 105, gid: 110, name: "uid 105" } });
  });

  it("lets the fallback user's lookup error through (no user to run as)", () => {
    const fallbackUser = () => {
      throw new Error("no postgres or nobody user");
    };
    expect(() => chooseLaunch(facts({ unshare: null, fallbackUser }))).toThrow("no postgres or nobody user");
    expect(chooseLaunch(facts({ fallbackUser })).kind).toBe("user-namespace");
  });
});

describe("launchCommand", () => {
  it("runs the binary itself directly and as a user, and through unshare in a namespace", () => {
    expect(launchCommand({ kind: "direct" }, "/bin/postgres", ["-D", "/d"])).toEqual({ file: "/bin/postgres", args: ["-D", "/d"] });
    expect(launchCommand({ kind: "run-as", user: postgresUser }, "/bin/postgres", ["-D", "/d"])).toEqual({
      file: "/bin/postgres",
      args: ["-D", "/d"],
      uid: 999,
      gid: 999,
    });
    expect(launchCommand({ kind: "user-namespace", unshare: "/usr/bin/unshare", uid: 1000 }, "/bin/postgres", ["-D", "/d"])).toEqual({
      file: "/usr/bin/unshare",
      args: ["--user", "--map-user=1000", "--map-group=1000", "--", "/bin/postgres", "-D", "/d"],
    });
  });
});
