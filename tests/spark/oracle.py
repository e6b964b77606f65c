"""Independent reference implementation of validity and the three gold tables (plain Python).

It deliberately imports nothing from lakehouse_jobs: it re-reads silver through pyiceberg and
re-derives every gold row from docs/data-contract.md, so a test comparing it with Spark-written
gold checks the contract, not the code against itself. Reusable by end-to-end tests against
Livy-written gold:

    catalog = SqlCatalog("lakehouse", uri="sqlite:///<dir>/catalog.db", warehouse="file://<dir>/warehouse")
    problems = oracle.compare_gold(catalog, datetime.date(2024, 1, 2))  # {} when all match
    expected = oracle.expected_gold(catalog, day)        # {gold table: [row dict, ...]}
    actual = oracle.actual_gold(catalog, table, day)     # rows read back through pyiceberg

Rows are dicts of Python values (date, str, int, Decimal, float, None) sorted by the table key.
"""

import datetime as dt
from collections import Counter, defaultdict
from decimal import Decimal
from fractions import Fraction

from pyiceberg.expressions import EqualTo

PRODUCTS, PAGE_VIEWS, PURCHASES = "silver.products", "silver.page_views", "silver.purchases"
CUSTOMER = "gold.daily_customer_analytics"
SALES = "gold.daily_sales_summary"
PRODUCT = "gold.product_performance_analytics"
GOLD_TABLES = (CUSTOMER, SALES, PRODUCT)

# The contract's gold schemas in pyiceberg's type spelling, in column order.
GOLD_SCHEMAS = {
    CUSTOMER: [("date", "date"), ("customer_id", "string"), ("page_views", "long"),
               ("sessions", "long"), ("products_viewed", "long"), ("orders", "long"),
               ("items", "long"), ("revenue", "decimal(18, 2)"),
               ("avg_order_value", "decimal(18, 2)"), ("customer_segment", "string")],
    SALES: [("date", "date"), ("category", "string"), ("orders", "long"), ("items", "long"),
            ("revenue", "decimal(18, 2)"), ("customers", "long"),
            ("avg_order_value", "decimal(18, 2)"), ("revenue_change_pct", "double")],
    PRODUCT: [("date", "date"), ("product_id", "string"), ("category", "string"),
              ("views", "long"), ("unique_viewers", "long"), ("orders", "long"), ("units", "long"),
              ("revenue", "decimal(18, 2)"), ("conversion_rate", "double"), ("revenue_rank", "int")],
}
GOLD_KEYS = {CUSTOMER: ("date", "customer_id"), SALES: ("date", "category"),
             PRODUCT: ("date", "product_id")}
PAGE_VIEW_REASONS = ("null_key", "unknown_product", "duplicate")
PURCHASE_REASONS = ("null_key", "non_positive_quantity", "negative_price", "unknown_product", "duplicate")
CENT = Decimal("0.01")


# ------------------------------------------------------------------------------- reading

def _rows(table, row_filter=None) -> list[dict]:
    arrow = table.scan(row_filter=row_filter).to_arrow() if row_filter is not None else table.scan().to_arrow()
    columns = arrow.to_pydict()
    names = list(columns)
    return [dict(zip(names, values)) for values in zip(*columns.values())]


def read_silver(catalog, table: str, day: dt.date | None = None) -> list[dict]:
    """All rows of a silver table, or of one event_date."""
    tbl = catalog.load_table(table)
    return _rows(tbl, None if day is None else EqualTo("event_date", day.isoformat()))


def actual_gold(catalog, table: str, day: dt.date) -> list[dict]:
    """Gold rows of one date as written (by Spark, Livy, ...), sorted by the table key."""
    rows = _rows(catalog.load_table(table), EqualTo("date", day.isoformat()))
    return sorted(rows, key=lambda r: _sort_key(r, GOLD_KEYS[table]))


# ------------------------------------------------------------------------------- helpers

def _nulls_first(value):
    return (value is not None, value)


def _sort_key(row: dict, columns) -> tuple:
    return tuple(_nulls_first(row[c]) for c in columns)


def _round_half_up(value: Fraction, places: int) -> Decimal:
    """Round away from zero on ties, like java.math.RoundingMode.HALF_UP."""
    scaled = abs(value) * 10 ** places
    whole = int(scaled + Fraction(1, 2))  # floor of a non-negative number
    sign = -1 if value < 0 else 1
    return Decimal(sign * whole).scaleb(-places).quantize(Decimal(1).scaleb(-places))


def product_categories(products: list[dict]) -> dict[str, str]:
    """product_id -> category; duplicates: latest updated_at, then smallest category/name/price."""
    by_id = defaultdict(list)
    for row in products:
        if row["product_id"] is not None:
            by_id[row["product_id"]].append(row)
    result = {}
    for pid, rows in by_id.items():
        stamped = [r for r in rows if r["updated_at"] is not None]
        if stamped:
            latest = max(r["updated_at"] for r in stamped)
            rows = [r for r in stamped if r["updated_at"] == latest]
        best = min(rows, key=lambda r: _sort_key(r, ("category", "product_name", "price")))
        result[pid] = best["category"] if best["category"] is not None else "uncategorized"
    return result


def _dedupe(candidates: list[dict], key: tuple, order: tuple, rejected: Counter) -> list[dict]:
    groups = defaultdict(list)
    for row in candidates:
        groups[tuple(row[k] for k in key)].append(row)
    kept = []
    for rows in groups.values():
        rows.sort(key=lambda r: _sort_key(r, order))
        kept.append(rows[0])
        rejected["duplicate"] += len(rows) - 1
    return kept


# ------------------------------------------------------------------------------- validity

def valid_page_views(rows: list[dict], categories: dict[str, str]) -> tuple[list[dict], Counter]:
    rejected, candidates = Counter(), []
    for row in rows:
        if row["event_id"] is None or row["customer_id"] is None:
            rejected["null_key"] += 1
        elif row["page_type"] == "product" and row["product_id"] not in categories:
            rejected["unknown_product"] += 1
        else:
            candidates.append(row)
    order = ("event_time", "session_id", "customer_id", "product_id", "page_type")
    return _dedupe(candidates, ("event_date", "event_id"), order, rejected), rejected


def valid_purchases(rows: list[dict], categories: dict[str, str]) -> tuple[list[dict], Counter]:
    rejected, candidates = Counter(), []
    for row in rows:
        if row["order_id"] is None or row["customer_id"] is None or row["product_id"] is None:
            rejected["null_key"] += 1
        elif row["quantity"] is None or row["quantity"] <= 0:
            rejected["non_positive_quantity"] += 1
        elif row["unit_price"] is None or row["unit_price"] < 0:
            rejected["negative_price"] += 1
        elif row["product_id"] not in categories:
            rejected["unknown_product"] += 1
        else:
            candidates.append(row)
    order = ("event_time", "customer_id", "quantity", "unit_price")
    return _dedupe(candidates, ("event_date", "order_id", "product_id"), order, rejected), rejected


def _revenue(line: dict) -> Decimal:
    return line["quantity"] * line["unit_price"]


# ------------------------------------------------------------------------------- gold

def customer_rows(day, views: list[dict], lines: list[dict]) -> list[dict]:
    customers = defaultdict(lambda: {"views": 0, "sessions": set(), "products": set(),
                                     "orders": set(), "items": 0, "revenue": Decimal("0.00")})
    for v in views:
        c = customers[v["customer_id"]]
        c["views"] += 1
        if v["session_id"] is not None:
            c["sessions"].add(v["session_id"])
        if v["page_type"] == "product" and v["product_id"] is not None:
            c["products"].add(v["product_id"])
    for line in lines:
        c = customers[line["customer_id"]]
        c["orders"].add(line["order_id"])
        c["items"] += line["quantity"]
        c["revenue"] += _revenue(line)
    out = []
    for cid, c in customers.items():
        orders, revenue = len(c["orders"]), c["revenue"].quantize(CENT)
        if revenue >= Decimal("500.00"):
            segment = "high_value"
        elif orders >= 1:
            segment = "buyer"
        elif c["views"] >= 10:
            segment = "engaged_browser"
        else:
            segment = "browser"
        out.append({
            "date": day, "customer_id": cid, "page_views": c["views"], "sessions": len(c["sessions"]),
            "products_viewed": len(c["products"]), "orders": orders, "items": c["items"],
            "revenue": revenue,
            "avg_order_value": _round_half_up(Fraction(revenue) / orders, 2) if orders else None,
            "customer_segment": segment,
        })
    return out


def _category_revenue(lines: list[dict], categories: dict[str, str]) -> dict[str, Decimal]:
    revenue = defaultdict(lambda: Decimal("0.00"))
    for line in lines:
        revenue[categories[line["product_id"]]] += _revenue(line)
    return revenue


def sales_rows(day, lines: list[dict], prev_lines: list[dict], categories) -> list[dict]:
    groups = defaultdict(lambda: {"orders": set(), "items": 0, "revenue": Decimal("0.00"), "customers": set()})
    for line in lines:
        g = groups[categories[line["product_id"]]]
        g["orders"].add(line["order_id"])
        g["items"] += line["quantity"]
        g["revenue"] += _revenue(line)
        g["customers"].add(line["customer_id"])
    previous = _category_revenue(prev_lines, categories)
    out = []
    for category, g in groups.items():
        revenue, prev = g["revenue"].quantize(CENT), previous.get(category)
        pct = None
        if prev:  # missing or zero previous revenue -> null
            pct = float(_round_half_up(Fraction(revenue - prev) * 100 / Fraction(prev), 2))
        out.append({
            "date": day, "category": category, "orders": len(g["orders"]), "items": g["items"],
            "revenue": revenue, "customers": len(g["customers"]),
            "avg_order_value": _round_half_up(Fraction(revenue) / len(g["orders"]), 2),
            "revenue_change_pct": pct,
        })
    return out


def product_rows(day, views: list[dict], lines: list[dict], categories) -> list[dict]:
    products = defaultdict(lambda: {"views": 0, "viewers": set(), "orders": set(), "units": 0,
                                    "revenue": Decimal("0.00"), "buyers": set()})
    for v in views:
        if v["page_type"] == "product":
            p = products[v["product_id"]]
            p["views"] += 1
            p["viewers"].add(v["customer_id"])
    for line in lines:
        p = products[line["product_id"]]
        p["orders"].add(line["order_id"])
        p["units"] += line["quantity"]
        p["revenue"] += _revenue(line)
        p["buyers"].add(line["customer_id"])
    distinct_revenues = sorted({p["revenue"] for p in products.values()}, reverse=True)
    rank = {revenue: n for n, revenue in enumerate(distinct_revenues, start=1)}
    out = []
    for pid, p in products.items():
        viewers = len(p["viewers"])
        out.append({
            "date": day, "product_id": pid, "category": categories[pid], "views": p["views"],
            "unique_viewers": viewers, "orders": len(p["orders"]), "units": p["units"],
            "revenue": p["revenue"].quantize(CENT),
            "conversion_rate": len(p["viewers"] & p["buyers"]) / viewers if viewers else None,
            "revenue_rank": rank[p["revenue"]],
        })
    return out


# ------------------------------------------------------------------------------- public API

def valid_silver(catalog, day: dt.date) -> dict:
    """{'page_views', 'purchases', 'prev_purchases': valid rows; 'rejected': {table: Counter};
    'categories': product_id -> category} for one date."""
    categories = product_categories(read_silver(catalog, PRODUCTS))
    views, rejected_views = valid_page_views(read_silver(catalog, PAGE_VIEWS, day), categories)
    lines, rejected_lines = valid_purchases(read_silver(catalog, PURCHASES, day), categories)
    prev_day = day - dt.timedelta(days=1)
    prev_lines, _ = valid_purchases(read_silver(catalog, PURCHASES, prev_day), categories)
    return {"page_views": views, "purchases": lines, "prev_purchases": prev_lines,
            "categories": categories,
            "rejected": {PAGE_VIEWS: rejected_views, PURCHASES: rejected_lines}}


def expected_rejections(catalog, day: dt.date) -> dict[str, dict[str, int]]:
    """{silver table: {reason: rows}} with every reason of the contract (zeros included)."""
    rejected = valid_silver(catalog, day)["rejected"]
    return {PAGE_VIEWS: {r: rejected[PAGE_VIEWS][r] for r in PAGE_VIEW_REASONS},
            PURCHASES: {r: rejected[PURCHASES][r] for r in PURCHASE_REASONS}}


def valid_silver_revenue(catalog, day: dt.date) -> Decimal:
    """Σ quantity × unit_price over the valid purchase lines of the date."""
    return sum((_revenue(line) for line in valid_silver(catalog, day)["purchases"]), Decimal("0.00"))


def expected_gold(catalog, day: dt.date) -> dict[str, list[dict]]:
    """{gold table: expected rows of `day`, sorted by key}."""
    s = valid_silver(catalog, day)
    tables = {
        CUSTOMER: customer_rows(day, s["page_views"], s["purchases"]),
        SALES: sales_rows(day, s["purchases"], s["prev_purchases"], s["categories"]),
        PRODUCT: product_rows(day, s["page_views"], s["purchases"], s["categories"]),
    }
    return {t: sorted(rows, key=lambda r: _sort_key(r, GOLD_KEYS[t])) for t, rows in tables.items()}


def diff_rows(table: str, expected: list[dict], actual: list[dict], limit: int = 10) -> list[str]:
    """Human-readable differences between expected and actual rows of one gold table."""
    key = GOLD_KEYS[table]
    exp = {tuple(r[k] for k in key): r for r in expected}
    act = {tuple(r[k] for k in key): r for r in actual}
    problems = []
    if len(act) != len(actual):
        problems.append(f"{table}: {len(actual) - len(act)} duplicate key(s) in actual rows")
    problems += [f"{table}: missing row {k}" for k in sorted(exp.keys() - act.keys(), key=str)]
    problems += [f"{table}: unexpected row {k}" for k in sorted(act.keys() - exp.keys(), key=str)]
    for k in sorted(exp.keys() & act.keys(), key=str):
        for column, value in exp[k].items():
            got = act[k].get(column)
            if got != value or type(got) is not type(value):
                problems.append(f"{table} {k}: {column} expected {value!r}, got {got!r}")
    return problems[:limit] + ([f"... {len(problems) - limit} more"] if len(problems) > limit else [])


def schema_problems(catalog, table: str) -> list[str]:
    """Differences between the table's Iceberg schema/partitioning and the contract."""
    tbl = catalog.load_table(table)
    actual = [(f.name, str(f.field_type)) for f in tbl.schema().fields]
    problems = [] if actual == GOLD_SCHEMAS[table] else [f"{table}: schema {actual} != {GOLD_SCHEMAS[table]}"]
    fields = [(tbl.schema().find_column_name(f.source_id), str(f.transform)) for f in tbl.spec().fields]
    if fields != [("date", "identity")]:
        problems.append(f"{table}: partition spec {fields} != [('date', 'identity')]")
    return problems


def compare_gold(catalog, day: dt.date, tables=GOLD_TABLES) -> dict[str, list[str]]:
    """{table: problems} for every gold table that differs from the oracle ({} = all match)."""
    expected = expected_gold(catalog, day)
    result = {}
    for table in tables:
        problems = schema_problems(catalog, table)
        problems += diff_rows(table, expected[table], actual_gold(catalog, table, day))
        if problems:
            result[table] = problems
    return result
