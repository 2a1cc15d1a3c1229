#!/usr/bin/env python3
"""measure.py [--label L] [--out FILE.jsonl] [--stdout FILE] -- CMD [ARGS...]

Runs CMD once and records, as one JSON line (appended to FILE.jsonl, or printed):
  wall_s        elapsed time (monotonic clock)
  user_s, sys_s CPU time of CMD and every descendant it waited for
  maxrss_kib    peak resident set size: the largest of CMD and its waited-for
                descendants (wait4 rusage, ru_maxrss)
  write_bytes   bytes CMD and its waited-for descendants caused to be written to
                storage (/proc/PID/io write_bytes, read while CMD is a zombie:
                waitid(WNOWAIT) leaves it unreaped, so the counter is final and
                includes every descendant it reaped)
  cancelled_write_bytes, read_bytes   same source
  rc            exit status (128+N for signal N)
The exit status of measure.py is CMD's. stdout of CMD goes to --stdout FILE
(default: inherited); stderr is inherited.
"""
import json
import os
import sys
import time


def read_io(pid):
    io = {}
    try:
        with open(f"/proc/{pid}/io") as f:
            for line in f:
                k, _, v = line.partition(":")
                io[k.strip()] = int(v)
    except OSError:
        pass
    return io


def main(argv):
    label, out, stdout_path = "", None, None
    i = 1
    while i < len(argv) and argv[i] != "--":
        if argv[i] == "--label":
            label = argv[i + 1]; i += 2
        elif argv[i] == "--out":
            out = argv[i + 1]; i += 2
        elif argv[i] == "--stdout":
            stdout_path = argv[i + 1]; i += 2
        else:
            print(f"measure.py: unknown option {argv[i]}", file=sys.stderr)
            return 2
    cmd = argv[i + 1:]
    if not cmd:
        print(__doc__, file=sys.stderr)
        return 2
    t0 = time.monotonic()
    pid = os.fork()
    if pid == 0:
        try:
            if stdout_path:
                fd = os.open(stdout_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
                os.dup2(fd, 1)
                os.close(fd)
            os.execvp(cmd[0], cmd)
        except OSError as e:
            print(f"measure.py: {cmd[0]}: {e}", file=sys.stderr)
        os._exit(127)
    # Wait for exit without reaping: /proc/PID/io of the zombie is final.
    while True:
        try:
            os.waitid(os.P_PID, pid, os.WEXITED | os.WNOWAIT)
            break
        except InterruptedError:
            continue
    t1 = time.monotonic()
    io = read_io(pid)
    _, status, ru = os.wait4(pid, 0)
    rc = os.waitstatus_to_exitcode(status)
    if rc < 0:
        rc = 128 - rc
    rec = {
        "label": label,
        "cmd": " ".join(cmd),
        "rc": rc,
        "wall_s": round(t1 - t0, 4),
        "user_s": round(ru.ru_utime, 4),
        "sys_s": round(ru.ru_stime, 4),
        "maxrss_kib": ru.ru_maxrss,
        "write_bytes": io.get("write_bytes", -1),
        "cancelled_write_bytes": io.get("cancelled_write_bytes", -1),
        "read_bytes": io.get("read_bytes", -1),
    }
    line = json.dumps(rec)
    if out:
        with open(out, "a") as f:
            f.write(line + "\n")
    else:
        print(line)
    return rc


if __name__ == "__main__":
    sys.exit(main(sys.argv))
