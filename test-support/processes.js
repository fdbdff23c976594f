// Helpers about processes, shared by the test suites of several packages.

/** Whether a process with this pid exists (EPERM: it exists but belongs to another user). */
export function alive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return error.code === "EPERM";
  }
}
