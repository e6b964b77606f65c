"""Synthetic silver: deterministic per (seed, date), at the requested scale, dirty on demand."""

import datetime as dt

from pyspark.sql import functions as F

from . import oracle
from .conftest import DIRTY_SHARE, PAGE_VIEWS_PER_DAY

D1, D2, D3 = dt.date(2024, 5, 1), dt.date(2024, 5, 2), dt.date(2024, 5, 3)


def rows(df):
    return sorted(df.collect(), key=lambda r: tuple((v is not None, str(v)) for v in r))


def test_same_seed_and_date_give_identical_rows_whatever_the_range(spark):
    from lakehouse_jobs import silver

    scale = silver.Scale.for_page_views(300)
    alone = silver.page_views_df(spark, D2, D2, scale, seed=5, dirty_share=0.2)
    in_range = silver.page_views_df(spark, D1, D3, scale, seed=5, dirty_share=0.2).where(F.col("event_date") == D2)
    assert rows(alone) == rows(in_range)
    pu_alone = silver.purchases_df(spark, D2, D2, scale, seed=5, dirty_share=0.2)
    pu_range = silver.purchases_df(spark, D1, D2, scale, seed=5, dirty_share=0.2).where(F.col("event_date") == D2)
    assert rows(pu_alone) == rows(pu_range) and len(rows(pu_alone)) > 0
    assert rows(silver.products_df(spark, scale, 5)) == rows(silver.products_df(spark, scale, 5))
    other_seed = silver.page_views_df(spark, D2, D2, scale, seed=6, dirty_share=0.2)
    assert rows(other_seed) != rows(alone)
    other_day = silver.page_views_df(spark, D3, D3, scale, seed=5, dirty_share=0.2)
    assert [r.customer_id for r in rows(other_day)] != [r.customer_id for r in rows(alone)]


def test_written_silver_has_the_requested_scale_and_shape(spark, silver, catalog):
    from lakehouse_jobs.silver import Scale

    scale = Scale.for_page_views(PAGE_VIEWS_PER_DAY)
    pv = spark.table("lakehouse.silver.page_views")
    per_day = {r["event_date"]: r["count"] for r in pv.groupBy("event_date").count().collect()}
    assert per_day == {silver["start"] + dt.timedelta(days=n): PAGE_VIEWS_PER_DAY for n in range(3)}
    assert spark.table("lakehouse.silver.products").count() == scale.products
    pu = spark.table("lakehouse.silver.purchases").where(F.col("event_date") == silver["start"])
    orders = pu.select("order_id").where("order_id IS NOT NULL").distinct().count()
    assert 0.9 * scale.orders <= orders <= scale.orders
    assert scale.orders <= pu.count() <= 4 * scale.orders
    # Events fall inside their UTC date; partitioning is identity(event_date).
    assert pv.where(F.to_date("event_time") != F.col("event_date")).count() == 0
    for table in ("silver.page_views", "silver.purchases"):
        spec = catalog.load_table(table).spec()
        assert [(f.name, str(f.transform)) for f in spec.fields] == [("event_date", "identity")]
    # Popularity is skewed: the top product gets several times a uniform share of product views.
    views = pv.where("page_type = 'product' AND product_id IS NOT NULL")
    top = views.groupBy("product_id").count().agg(F.max("count")).first()[0]
    assert top > 3 * views.count() / scale.products


def test_dirty_share_produces_every_invalid_kind_and_zero_share_none(spark, scratch):
    from lakehouse_jobs.silver import generate_silver

    name, _, pyi = scratch
    generate_silver(spark, D1, D1, 2_000, seed=3, dirty_share=0.3, catalog=name)
    dirty = oracle.expected_rejections(pyi, D1)
    assert all(n > 0 for n in dirty[oracle.PAGE_VIEWS].values()), dirty
    assert all(n > 0 for n in dirty[oracle.PURCHASES].values()), dirty
    assert sum(dirty[oracle.PAGE_VIEWS].values()) < 0.4 * 2_000

    generate_silver(spark, D2, D2, 2_000, seed=3, dirty_share=0.0, catalog=name)
    clean = oracle.expected_rejections(pyi, D2)
    assert not any(clean[oracle.PAGE_VIEWS].values()) and not any(clean[oracle.PURCHASES].values()), clean


def test_regenerating_a_date_replaces_only_that_date(spark, scratch):
    from lakehouse_jobs.silver import generate_silver

    name, _, pyi = scratch
    generate_silver(spark, D1, D2, 500, seed=1, catalog=name)
    day1 = rows(spark.table(f"{name}.silver.page_views").where(F.col("event_date") == D1))
    day2 = rows(spark.table(f"{name}.silver.page_views").where(F.col("event_date") == D2))
    generate_silver(spark, D2, D2, 500, seed=2, catalog=name)
    assert rows(spark.table(f"{name}.silver.page_views").where(F.col("event_date") == D1)) == day1
    new2 = rows(spark.table(f"{name}.silver.page_views").where(F.col("event_date") == D2))
    assert new2 != day2 and len(new2) == 500
    assert len(oracle.read_silver(pyi, oracle.PAGE_VIEWS, D2)) == 500
