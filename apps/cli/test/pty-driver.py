"""Runs a command on a pseudo-terminal and answers its prompts, as a person at a terminal would.

Usage: python3 pty-driver.py STEPS_JSON COMMAND ARGS...
STEPS_JSON is a list of [pattern, keys]: wait (up to 60 s) until the screen output, without its ANSI
sequences, matches the regular expression `pattern` since the previous step, then type `keys`.
Prints everything the command wrote (ANSI sequences removed) and exits with the command's exit code;
exit 124 when a pattern never appeared.
"""
import fcntl, json, os, pty, re, select, struct, sys, termios, time

ANSI = re.compile(rb"\x1b\[[0-9;?]*[A-Za-z]|\x1b[()][A-Z0-9]|\x1b[=>]")
steps = json.loads(sys.argv[1])
pid, fd = pty.fork()
if pid == 0:
    os.execvp(sys.argv[2], sys.argv[2:])
fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))

seen = b""
pending = b""


def read_some(timeout):
    global seen, pending
    ready, _, _ = select.select([fd], [], [], timeout)
    if not ready:
        return True  # nothing yet: the caller decides how long to wait
    try:
        data = os.read(fd, 65536)
    except OSError:
        return False
    if not data:
        return False
    seen += data
    pending += data
    return True


for pattern, keys in steps:
    deadline = time.time() + 60
    regex = re.compile(pattern.encode())
    while not regex.search(ANSI.sub(b"", pending)):
        if time.time() > deadline or not read_some(0.2):
            sys.stdout.write(ANSI.sub(b"", seen).decode("utf-8", "replace"))
            sys.stdout.write(f"\n[pty-driver] never saw /{pattern}/\n")
            os.kill(pid, 9)
            sys.exit(124)
    pending = b""
    time.sleep(0.1)
    os.write(fd, keys.encode())

deadline = time.time() + 120
while time.time() < deadline and read_some(1):
    pass
_, status = os.waitpid(pid, 0)
sys.stdout.write(ANSI.sub(b"", seen).decode("utf-8", "replace"))
sys.exit(os.waitstatus_to_exitcode(status) if hasattr(os, "waitstatus_to_exitcode") else status >> 8)
