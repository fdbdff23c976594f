/** Whether a process with this pid exists (EPERM: it exists but belongs to another user). */
export function alive(pid: number): boolean;
