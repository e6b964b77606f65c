"""Batch names and the poll policy: pure pieces of the Dagster integration."""

import zipfile

import pytest

from dagster_livy.batches import PollPolicy
from dagster_livy.lakehouse.packaging import package_zip
from dagster_livy.naming import MAX_NAME_LEN, batch_name


def test_name_is_deterministic_and_url_safe():
    a = batch_name(["gold__daily_sales_summary", "2026-11-25"], "6d8b5c5a-1234-5678")
    assert a == batch_name(["gold__daily_sales_summary", "2026-11-25"], "6d8b5c5a-1234-5678")
    assert a == "gold__daily_sales_summary--2026-11-25--6d8b5c5a"
    assert batch_name(["My Asset/Key"], "ABCDEF0123") == "my-asset-key--abcdef01"


def test_retry_attempts_get_distinct_names():
    names = {batch_name(["a", "2026-01-01"], "run12345", n) for n in range(3)}
    assert len(names) == 3
    assert batch_name(["a"], "run12345", 2).endswith("-r2")
    with pytest.raises(ValueError):
        batch_name(["a"], "run12345", -1)


def test_long_names_are_cut_but_stay_unique():
    long_a = batch_name(["x" * 300, "p1"], "run12345")
    long_b = batch_name(["x" * 300, "p2"], "run12345")
    assert len(long_a) <= MAX_NAME_LEN and len(long_b) <= MAX_NAME_LEN
    assert long_a != long_b
    assert not long_a.isdigit()


def test_poll_policy_backs_off_and_resets_on_activity():
    p = PollPolicy(initial_s=0.25, max_s=1.0, factor=2)
    assert p.next(0.25, activity=False) == 0.5
    assert p.next(0.5, activity=False) == 1.0
    assert p.next(1.0, activity=False) == 1.0
    assert p.next(1.0, activity=True) == 0.25
    with pytest.raises(ValueError):
        PollPolicy(initial_s=2, max_s=1)


def test_package_zip_is_content_addressed_and_importable(tmp_path):
    pkg = tmp_path / "src" / "mypkg"
    pkg.mkdir(parents=True)
    (pkg / "__init__.py").write_text("X = 1\n")
    first = package_zip(tmp_path / "staging", pkg)
    assert first == package_zip(tmp_path / "staging", pkg)  # unchanged package: same zip
    assert zipfile.ZipFile(first).namelist() == ["mypkg/__init__.py"]
    (pkg / "__init__.py").write_text("X = 2\n")
    second = package_zip(tmp_path / "staging", pkg)
    assert second != first and first.exists()  # a running batch's zip is never overwritten


@pytest.mark.parametrize("bad, why", [
    ("", "non-empty"), ("   ", "non-empty"), (None, "non-empty"), ("12345", "all digits"),
    ("a/b", "'/'"), ("x" * (MAX_NAME_LEN + 1), f"{MAX_NAME_LEN + 1} characters"),
])
def test_one_name_rule_everywhere_naming_the_bad_name(bad, why):
    """naming.check_name is the rule of request bodies and by-name lookups alike."""
    from dagster_livy.bodies import build_batch_body
    from dagster_livy.client import LivyClient
    from dagster_livy.errors import LivyConfigError
    from dagster_livy.naming import check_name

    with pytest.raises(LivyConfigError) as direct:
        check_name(bad)
    with pytest.raises(LivyConfigError) as body:
        build_batch_body("/x.py", name=bad) if bad else check_name(bad, "name")
    with LivyClient("http://127.0.0.1:9") as client, pytest.raises(LivyConfigError) as lookup:
        client.find_batch_by_name(bad)  # refused before any request
    for err in (direct, body, lookup):
        assert why in str(err.value)
        assert repr(bad if not isinstance(bad, str) or len(bad) <= 80 else bad[:80] + "...") in str(err.value)
    assert check_name("x" * MAX_NAME_LEN) == "x" * MAX_NAME_LEN
