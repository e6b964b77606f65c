"""Section 6 (last bullet) of issue 7: the Livy server log, which receives every driver-log line,
is size-bounded (log4j RollingFileAppender rendered by livyctl), and the JVM's redirected stdout
does not collect the driver lines instead.

`own_livy` runs with LIVY_LOG_MAX_SIZE=16KB and LIVY_LOG_BACKUPS=2; a batch printing 3000 lines
pushes far more than that through the server log.
"""

from __future__ import annotations

import pytest

from tests.conftest import REPO
from tests.reliability.conftest import LOG_BACKUPS, LOG_MAX_KB, submit, wait_state

pytestmark = pytest.mark.integration
PRINTER = REPO / "tests" / "livy_scripts" / "printer.py"
LINES = 3000
# log4j 1.x rolls after the write that crosses the limit: a file may exceed it by one event.
SLACK = 4096


def test_server_log_is_size_bounded(own_livy):
    own_livy.ensure_up()
    name = "log-rotation"
    submit(own_livy, name, PRINTER, str(LINES))
    batch = wait_state(own_livy, name, ("success", "dead", "killed"))
    assert batch["state"] == "success", batch
    logs = sorted(own_livy.log_dir.glob("livy-server.out*"))
    names = sorted(p.name for p in logs)
    # Rolled (the output was many times the limit), and no more backups than configured.
    assert names == ["livy-server.out"] + [f"livy-server.out.{i}" for i in range(1, LOG_BACKUPS + 1)], names
    sizes = {p.name: p.stat().st_size for p in logs}
    for file, size in sizes.items():
        assert size <= LOG_MAX_KB * 1024 + SLACK, f"{file} is {size} bytes, limit {LOG_MAX_KB}KB"
    # The driver's lines did reach the server log (the newest ones are kept)...
    text = "".join(p.read_text(errors="replace") for p in logs)
    assert "printer done" in text
    # ...and the JVM's own stdout file, outside log4j's control, did not collect them.
    jvm_out = own_livy.log_dir / "livy-server.stdout"
    assert "line 0" not in jvm_out.read_text(errors="replace")
    kept = sum(1 for i in range(LINES) if f"line {i:05d}" in text)
    print(f"\nFIGURE server log: {LINES} driver lines through it, {kept} still on disk; "
          f"{sum(sizes.values())} bytes in {len(sizes)} files "
          f"(limit {LOG_MAX_KB}KB x {LOG_BACKUPS + 1}); jvm stdout {jvm_out.stat().st_size} bytes")
