"""Waits until the file argv[1] exists (at most argv[2] seconds), then sleeps argv[3] seconds; no Spark.

Lets a test hold batches alive until it has seen them side by side, then release them all."""
import os
import sys
import time

release, limit_s, sleep_s = sys.argv[1], float(sys.argv[2]), float(sys.argv[3])
print(f"held until {release} exists (at most {limit_s}s)", flush=True)
waited = 0.0
while not os.path.exists(release) and waited < limit_s:
    time.sleep(0.2)
    waited += 0.2
time.sleep(sleep_s)
print(f"released after {waited:.1f}s", flush=True)
