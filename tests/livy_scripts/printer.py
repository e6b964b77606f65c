"""Prints N numbered lines (argv[1], default 5000), a little at a time, like a chatty job."""
import sys
import time

n = int(sys.argv[1]) if len(sys.argv) > 1 else 5000
for i in range(n):
    print(f"line {i:05d}", flush=True)
    if i % 100 == 99:
        time.sleep(0.05)
print("printer done", flush=True)
