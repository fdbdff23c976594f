/**
 * How the embedded PostgreSQL's `initdb` and `postgres` are started. PostgreSQL refuses to run as root,
 * so a root server has two ways:
 * - a user namespace (`unshare --user`) mapping a non-root uid inside to root outside: PostgreSQL sees a
 *   non-root user owning its data folder, while the kernel checks files as root's outside, so it reaches
 *   any folder root's own 0700 ones included (`/root/.ferry`, a mkdtemp home). `unshare` execs, so the
 *   child is PostgreSQL itself: signals and shutdown work as in a direct start;
 * - else another user (`postgres`, or `nobody`), which must be able to enter every folder up to its data
 *   and its binaries.
 */
export interface RunAs {
  uid: number;
  gid: number;
  /** For messages: the user's name, or `uid N`. */
  name: string;
}

export type PostgresLaunch =
  | { kind: "direct" }
  | { kind: "user-namespace"; unshare: string; uid: number }
  | { kind: "run-as"; user: RunAs };

/** The uid (and gid) PostgreSQL has inside the user namespace: any but 0 does. */
export const NAMESPACE_UID = 1000;

export interface LaunchFacts {
  /** This process's effective uid; undefined where there are none (Windows). */
  euid: number | undefined;
  /** The `unshare` command when `unshare --user` works here (probed), else null. */
  unshare: string | null;
  /** Owner of an existing data folder, or null when there is none yet. */
  dataOwner: { uid: number; gid: number } | null;
  /** The user to run as when no user namespace can be made: looked up only then. */
  fallbackUser: () => RunAs;
}

export function chooseLaunch(facts: LaunchFacts): PostgresLaunch {
  if (facts.euid !== 0) return { kind: "direct" };
  // A cluster made by the run-as path before is owned by that user outside: inside a namespace it would
  // belong to nobody, which PostgreSQL refuses. It keeps running as its owner.
  if (facts.dataOwner && facts.dataOwner.uid !== 0) {
    return { kind: "run-as", user: { uid: facts.dataOwner.uid, gid: facts.dataOwner.gid, name: `uid ${facts.dataOwner.uid}` } };
  }
  if (facts.unshare) return { kind: "user-namespace", unshare: facts.unshare, uid: NAMESPACE_UID };
  return { kind: "run-as", user: facts.fallbackUser() };
}

export interface LaunchCommand {
  file: string;
  args: string[];
  /** Set for run-as: the spawn's uid and gid. */
  uid?: number;
  gid?: number;
}

/** The command that runs `binary args` per the launch. */
export function launchCommand(launch: PostgresLaunch, binary: string, args: readonly string[]): LaunchCommand {
  switch (launch.kind) {
    case "direct":
      return { file: binary, args: [...args] };
    case "user-namespace":
      return {
        file: launch.unshare,
        args: ["--user", `--map-user=${launch.uid}`, `--map-group=${launch.uid}`, "--", binary, ...args],
      };
    case "run-as":
      return { file: binary, args: [...args], uid: launch.user.uid, gid: launch.user.gid };
  }
}
