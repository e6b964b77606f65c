"""Fails in the driver with a recognisable Python traceback."""
import sys


def transform(rows):
    raise ValueError(f"boom from the driver: {rows} rows is not enough")


print("about to fail", flush=True)
transform(int(sys.argv[1]) if len(sys.argv) > 1 else 3)
