"""Runs for a while (seconds in argv[1]), printing a heartbeat; no Spark needed."""
import sys
import time

seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 60
print(f"sleeper start {seconds}", flush=True)
end = time.time() + seconds
i = 0
while time.time() < end:
    print(f"sleeper tick {i}", flush=True)
    i += 1
    time.sleep(1)
print("sleeper done", flush=True)
