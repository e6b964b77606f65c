"""Deterministic synthetic silver data: same seed + date => same rows, whatever range is asked.

Every value is a pure function of (seed, day, row index) computed with xxhash64 on spark.range,
so 1M page views/day need no Python per row and no shuffle. Popularity is skewed: products are
drawn log-uniformly (Zipf-like, s~1) and customers with a squared uniform.

Per day, for N page views: ~N/6 sessions, N/10 customers in the pool, N/40 orders of 1-4
lines; max(20, N/200) products (a day-independent snapshot). With dirty_share f, a share f of
rows gets one fault each, spread evenly over the contract's rejection reasons.
"""

import datetime as dt
import math
from dataclasses import dataclass

from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F

from . import contract as c
from . import io

CATEGORIES = ("electronics", "books", "home", "fashion", "sports", "toys", "beauty", "grocery")
# Cumulative page-type mix in percent: product 55, search 15, home 12, cart 10, checkout 8.
PAGE_TYPES = ((55, "product"), (70, "search"), (82, "home"), (92, "cart"), (100, "checkout"))
DAY_SECONDS = 86_400
EPOCH = dt.date(1970, 1, 1)


@dataclass(frozen=True)
class Scale:
    page_views: int
    sessions: int
    customers: int
    orders: int
    products: int

    @classmethod
    def for_page_views(cls, n: int) -> "Scale":
        if n < 1:
            raise ValueError(f"page_views_per_day must be >= 1, got {n}")
        return cls(n, max(1, n // 6), max(10, n // 10), max(1, n // 40), max(20, n // 200))


def _h(seed: int, *parts) -> Column:
    """64-bit hash of the seed and the given columns/literals (deterministic across runs)."""
    return F.xxhash64(F.lit(seed), *[p if isinstance(p, Column) else F.lit(p) for p in parts])


def _uniform(seed: int, *parts) -> Column:
    """Uniform double in [0, 1)."""
    return F.pmod(_h(seed, *parts), F.lit(1 << 30)) / float(1 << 30)


def _pick(seed: int, n: int, *parts) -> Column:
    """Uniform long in [0, n)."""
    return F.pmod(_h(seed, *parts), F.lit(n))


def _zipf(seed: int, n: int, *parts) -> Column:
    """Log-uniform index in [0, n): P(k) ~ 1/(k+1), index 0 most popular."""
    idx = F.floor(F.exp(_uniform(seed, *parts) * math.log(n + 1))) - 1
    return F.least(F.greatest(idx, F.lit(0)), F.lit(n - 1)).cast("long")


def _product_id(idx: Column) -> Column:
    return F.concat(F.lit("P"), F.lpad(idx.cast("string"), 6, "0"))


def _price(seed: int, idx: Column) -> Column:
    # 0.99 .. 499.99, skewed towards cheap items; a function of the product only.
    cents = F.lit(99) + F.floor(F.pow(_uniform(seed, "price", idx), 2) * 49_901)
    return (cents.cast("decimal(10,0)") * F.lit(0.01).cast("decimal(2,2)")).cast(c.PRICE)


def _customer_of_session(seed: int, scale: Scale, day: Column, session: Column) -> Column:
    u = _uniform(seed, "customer", day, session)
    idx = F.least(F.floor(u * u * scale.customers), F.lit(scale.customers - 1))
    return F.concat(F.lit("C"), F.lpad(idx.cast("string"), 7, "0"))


def _date_str(day: Column) -> Column:
    """yyyyMMdd of `day` (days since epoch) by integer arithmetic: the same string as
    date_format(..., "yyyyMMdd") for years 1000-9999, without a formatter call per row (that
    call was the generator's costliest expression)."""
    date = F.date_add(F.lit(EPOCH), day)
    return (F.year(date) * 10_000 + F.month(date) * 100 + F.dayofmonth(date)).cast("string")


def _session_start(seed: int, day: Column, session: Column) -> Column:
    return _pick(seed, DAY_SECONDS - 3_600, "session_start", day, session)


def _days(spark: SparkSession, start: dt.date, end: dt.date, per_day: int) -> DataFrame:
    """Rows (day: days since epoch, i: index within the day) for every date in [start, end]."""
    n_days = (end - start).days + 1
    if n_days < 1:
        raise ValueError(f"start {start} is after end {end}")
    first = (start - EPOCH).days
    return spark.range(n_days * per_day).select(
        (F.lit(first) + F.floor(F.col("id") / per_day)).cast("int").alias("day"),
        F.pmod(F.col("id"), F.lit(per_day)).alias("i"),
    )


def _dirty_kind(seed: int, share: float, kinds: tuple[str, ...], *parts) -> Column:
    """The fault injected into a row (null = clean row)."""
    chosen = _uniform(seed, "dirty", *parts) < share
    kind = _pick(seed, len(kinds), "kind", *parts)
    expr = F.lit(None).cast("string")
    for n, name in reversed(list(enumerate(kinds))):
        expr = F.when(kind == n, F.lit(name)).otherwise(expr)
    return F.when(chosen, expr)


def products_df(spark: SparkSession, scale: Scale, seed: int) -> DataFrame:
    """The products snapshot: depends on seed and scale only, never on dates."""
    idx = F.col("id")
    pick = (_pick(seed, len(CATEGORIES), "cat", idx) + 1).cast("int")
    category = F.element_at(F.array(*map(F.lit, CATEGORIES)), pick)
    updated = F.timestamp_seconds(F.lit(1_672_531_200) + _pick(seed, 365 * DAY_SECONDS, "upd", idx))
    return spark.range(scale.products).select(
        _product_id(idx).alias("product_id"),
        F.concat(F.initcap(category), F.lit(" item "), idx.cast("string")).alias("product_name"),
        category.alias("category"),
        _price(seed, idx).alias("price"),
        updated.alias("updated_at"),
    )


def page_views_df(spark, start, end, scale: Scale, seed: int, dirty_share: float = 0.0) -> DataFrame:
    """Page views for [start, end]; exactly scale.page_views rows per day."""
    rows = _days(spark, start, end, scale.page_views)
    day, i = F.col("day"), F.col("i")
    kind = _dirty_kind(seed, dirty_share, c.PAGE_VIEW_REASONS, "pv", day, i)
    # A duplicate re-delivers row i-1: same event_id and content, one second later.
    src = F.when((kind == c.DUPLICATE) & (i > 0), i - 1).otherwise(i)
    session = _pick(seed, scale.sessions, "session", day, src)
    roll = _pick(seed, 100, "ptype", day, src)
    ptype = F.lit(PAGE_TYPES[-1][1])
    for bound, name in reversed(PAGE_TYPES[:-1]):
        ptype = F.when(roll < bound, F.lit(name)).otherwise(ptype)
    product = F.when(ptype == "product", _product_id(_zipf(seed, scale.products, "pv_product", day, src)))
    secs = _session_start(seed, day, session) + _pick(seed, 3_600, "offset", day, src)
    secs = secs + F.when(src != i, F.lit(1)).otherwise(F.lit(0))
    date_str = _date_str(day)
    event_id = F.concat(F.lit("E"), date_str, F.lit("-"), F.lpad(src.cast("string"), 9, "0"))
    session_id = F.concat(F.lit("S"), date_str, F.lit("-"), F.lpad(session.cast("string"), 8, "0"))
    # Faults: null_key nulls event_id or customer_id; unknown_product makes a product page with
    # an unknown or a null product_id.
    which = _pick(seed, 2, "null_which", day, i)
    null_key, unknown = kind == c.NULL_KEY, kind == c.UNKNOWN_PRODUCT
    unknown_id = F.when(which == 0, F.concat(F.lit("PX"), i.cast("string")))
    return rows.select(
        F.when(null_key & (which == 0), None).otherwise(event_id).alias("event_id"),
        session_id.alias("session_id"),
        F.when(null_key & (which == 1), None)
        .otherwise(_customer_of_session(seed, scale, day, session)).alias("customer_id"),
        F.when(unknown, unknown_id).otherwise(product).alias("product_id"),
        F.when(unknown, F.lit("product")).otherwise(ptype).alias("page_type"),
        F.timestamp_seconds(day.cast("long") * DAY_SECONDS + secs).alias("event_time"),
        F.date_add(F.lit(EPOCH), day).alias("event_date"),
    )


def purchases_df(spark, start, end, scale: Scale, seed: int, dirty_share: float = 0.0) -> DataFrame:
    """Purchase lines for [start, end]: scale.orders orders/day of 1-4 distinct products each."""
    slots = _days(spark, start, end, scale.orders * 4)
    day = F.col("day")
    order, line = F.floor(F.col("i") / 4).cast("long"), F.pmod(F.col("i"), F.lit(4))
    n_lines = 1 + F.floor(F.pow(_uniform(seed, "lines", day, order), 2) * 4)
    rows = slots.select(day, order.alias("order"), line.alias("line")).where(F.col("line") < n_lines)
    o, ln = F.col("order"), F.col("line")
    kind = _dirty_kind(seed, dirty_share, c.PURCHASE_REASONS, "pu", day, o, ln)
    # Lines of an order have distinct products; a duplicate repeats the previous line's product.
    first_product = _zipf(seed, scale.products, "pu_product", day, o)
    dup = (kind == c.DUPLICATE) & (ln > 0)
    p_idx = F.pmod(first_product + F.when(dup, ln - 1).otherwise(ln), F.lit(scale.products))
    session = _pick(seed, scale.sessions, "order_session", day, o)
    secs = _session_start(seed, day, session) + _pick(seed, 3_600, "order_offset", day, o)
    qty = (1 + F.floor(F.pow(_uniform(seed, "qty", day, o, ln), 3) * 5)).cast("int")
    date_str = _date_str(day)
    which = _pick(seed, 3, "null_which", day, o, ln)
    order_id = F.concat(F.lit("O"), date_str, F.lit("-"), F.lpad(o.cast("string"), 8, "0"))
    customer = _customer_of_session(seed, scale, day, session)
    null_key = kind == c.NULL_KEY
    price = _price(seed, p_idx)
    return rows.select(
        F.when(null_key & (which == 0), None).otherwise(order_id).alias("order_id"),
        F.when(null_key & (which == 1), None).otherwise(customer).alias("customer_id"),
        F.when(null_key & (which == 2), None)
        .when(kind == c.UNKNOWN_PRODUCT, F.concat(F.lit("PX"), o.cast("string")))
        .otherwise(_product_id(p_idx)).alias("product_id"),
        F.when(kind == c.NON_POSITIVE_QUANTITY, F.when(which == 0, 0).otherwise(-1))
        .otherwise(qty).cast("int").alias("quantity"),
        F.when(kind == c.NEGATIVE_PRICE, -price).otherwise(price).cast(c.PRICE).alias("unit_price"),
        F.timestamp_seconds(day.cast("long") * DAY_SECONDS + secs).alias("event_time"),
        F.date_add(F.lit(EPOCH), day).alias("event_date"),
    )


def generate_silver(
    spark: SparkSession,
    start: dt.date,
    end: dt.date,
    page_views_per_day: int,
    seed: int = 42,
    dirty_share: float = 0.0,
    catalog: str = c.CATALOG,
) -> dict[str, int | None]:
    """Write products (full snapshot) and the facts for [start, end]; returns snapshot ids."""
    if not 0.0 <= dirty_share <= 1.0:
        raise ValueError(f"dirty_share must be within [0, 1], got {dirty_share}")
    scale = Scale.for_page_views(page_views_per_day)
    frames = {
        c.PRODUCTS: products_df(spark, scale, seed),
        c.PAGE_VIEWS: page_views_df(spark, start, end, scale, seed, dirty_share),
        c.PURCHASES: purchases_df(spark, start, end, scale, seed, dirty_share),
    }
    return {
        table: io.write_table(spark, df, table, start, end, catalog=catalog)
        for table, df in frames.items()
    }
