"""A driver that is idle in pure Python: prints its pid, its parent's pid and command line, arms
lakehouse_jobs' parent watchdog if argv[1] == "watch", then sleeps argv[2] seconds printing nothing
(a print would fail on the closed pipe once spark-submit is gone, and end it anyway)."""
import os
import sys
import time

from lakehouse_jobs.parentwatch import watch_parent

mode, seconds = sys.argv[1], float(sys.argv[2])
parent = os.getppid()
with open(f"/proc/{parent}/cmdline", "rb") as f:
    parent_cmd = f.read().replace(b"\0", b" ").decode(errors="replace")
armed = watch_parent() is not None if mode == "watch" else False
print(f"orphan_driver pid={os.getpid()} ppid={parent} watchdog={armed} parent_cmdline={parent_cmd[:4000]}",
      flush=True)
time.sleep(seconds)
