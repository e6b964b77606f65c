"""Notebook assets' kernel-batch tags: one per step, so one asset's cleanup spares another's kernel."""

from __future__ import annotations

from dagster_livy.naming import batch_name
from dagster_livy.notebooks import DEFAULT_KERNEL, delete_kernel_batches, kernel_batch_tag

from .http_fake import FakeLivy


def _batch(i: int, name: str) -> dict:
    return {"id": i, "name": name, "owner": None, "proxyUser": None, "state": "running", "appId": None,
            "appInfo": {}, "log": []}


def test_two_steps_of_one_run_get_different_tags_and_cleanup_spares_the_other() -> None:
    run_id = "0f1e2d3c-aaaa-bbbb-cccc-000000000000"
    tag_a, tag_b = kernel_batch_tag(run_id, "notebooks/daily_report"), kernel_batch_tag(run_id, "notebooks/kpis")
    assert tag_a != tag_b and tag_a.startswith("run-0f1e2d3c-") and tag_b.startswith("run-0f1e2d3c-")
    assert kernel_batch_tag(run_id, "notebooks/kpis") == tag_b  # stable: a retry finds its batch
    # The names the provisioner gives (pyspark-livy--<tag>--<kernel id>--<random>).
    name_a = batch_name([DEFAULT_KERNEL, tag_a, "11112222"], "abcdef0123")
    name_b = batch_name([DEFAULT_KERNEL, tag_b, "33334444"], "fedcba9876")
    assert name_a.startswith(f"{DEFAULT_KERNEL}--{tag_a}--")
    with FakeLivy() as fake:
        fake.add("GET", "/batches", 200, {"from": 0, "total": 2, "sessions": [_batch(1, name_a), _batch(2, name_b)]})
        fake.add("DELETE", f"/batches/{name_a}", 200, {"msg": "deleted"})
        lines: list[str] = []
        assert delete_kernel_batches(None, fake.url, tag_a, lines.append) == [name_a]
        assert fake.calls("DELETE", f"/batches/{name_b}") == []
        assert len(fake.calls("DELETE", f"/batches/{name_a}")) == 1
    print(f"tags {tag_a} / {tag_b}: cleanup of one deleted 1 of 2 listed batches")
