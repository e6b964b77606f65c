"""Hand-built silver with one row per fault and hand-computed expectations (see test_validity)."""

import datetime as dt
from decimal import Decimal as D

DAY = dt.date(2024, 2, 1)
PREV, NEXT = DAY - dt.timedelta(days=1), DAY + dt.timedelta(days=1)


def ts(day: dt.date, hh: int, mm: int = 0) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day, hh, mm, tzinfo=dt.timezone.utc)


PRODUCTS = [
    # product_id, product_name, category, price, updated_at
    ("P1", "Book", "books", D("10.00"), ts(PREV, 1)),
    ("P2", "Thing", None, D("5.00"), ts(PREV, 1)),          # null category -> 'uncategorized'
    ("P3", "Yo-yo", "toys", D("2.50"), ts(PREV, 2)),
    ("P3", "Yo-yo (old)", "old", D("2.00"), ts(PREV, 0)),   # older duplicate: ignored
]

PAGE_VIEWS = [
    # event_id, session_id, customer_id, product_id, page_type, event_time, event_date
    ("e1", "s1", "c1", "P1", "product", ts(DAY, 10), DAY),
    ("e2", "s1", "c1", None, "home", ts(DAY, 10, 1), DAY),
    ("e3", "s2", "c2", "P1", "product", ts(DAY, 10), DAY),
    (None, "s2", "c2", "P1", "product", ts(DAY, 10), DAY),      # null_key
    ("e4", "s2", None, "PX", "product", ts(DAY, 10), DAY),      # null_key (beats unknown_product)
    ("e5", "s3", "c3", "PX", "product", ts(DAY, 10), DAY),      # unknown_product
    ("e6", "s3", "c3", None, "product", ts(DAY, 10), DAY),      # unknown_product (null id)
    ("e7", "s4", "c4", "P2", "product", ts(DAY, 11, 5), DAY),   # duplicate (later copy)
    ("e7", "s4", "c4", "P2", "product", ts(DAY, 11), DAY),      # kept: earliest
    ("e8", "s5", None, "P3", "product", ts(DAY, 11, 59), DAY),  # null_key, so e8 below is unique
    ("e8", "s5", "c5", "P3", "product", ts(DAY, 12), DAY),
    ("e9", "s7", "c7", "P1", "product", ts(DAY, 13), DAY),
    ("e9", "s7", "c7", "P1", "product", ts(DAY, 13), DAY),      # duplicate
    ("e9", "s7", "c7", "P1", "product", ts(DAY, 13), DAY),      # duplicate
    ("e10", "s6", "c6", "PX", "cart", ts(DAY, 14), DAY),        # valid: not a product page
    ("e1", "s9", "c9", "P1", "product", ts(NEXT, 9), NEXT),     # same id, other day: valid
]
# e3 is kept too (c2 views P1); the null-id row above it is the null_key one.
PAGE_VIEW_REJECTS = {"null_key": 3, "unknown_product": 2, "duplicate": 3}
VALID_EVENTS_DAY = ["e1", "e10", "e2", "e3", "e7", "e8", "e9"]

PURCHASES = [
    # order_id, customer_id, product_id, quantity, unit_price, event_time, event_date
    ("o1", "c1", "P1", 2, D("10.00"), ts(DAY, 10, 30), DAY),
    ("o1", "c1", "P3", 1, D("2.50"), ts(DAY, 10, 30), DAY),
    ("o2", "c2", "P2", 3, D("5.00"), ts(DAY, 10), DAY),         # kept: earliest
    ("o2", "c2", "P2", 1, D("5.00"), ts(DAY, 10, 5), DAY),      # duplicate
    ("o12", "c2", "P2", 1, D("5.01"), ts(DAY, 15), DAY),
    (None, "c3", "P1", 1, D("10.00"), ts(DAY, 10), DAY),        # null_key
    ("o4", None, "P1", 1, D("10.00"), ts(DAY, 10), DAY),        # null_key
    ("o5", "c5", None, 1, D("10.00"), ts(DAY, 10), DAY),        # null_key
    ("o6", "c6", "P1", 0, D("10.00"), ts(DAY, 10), DAY),        # non_positive_quantity
    ("o7", "c7", "P1", -1, D("-10.00"), ts(DAY, 10), DAY),      # non_positive_quantity (first)
    ("o8", "c8", "P1", 1, D("-0.01"), ts(DAY, 10), DAY),        # negative_price
    ("o9", "c9", "PX", 1, D("1.00"), ts(DAY, 10), DAY),         # unknown_product
    ("o10", "c10", "PX", 0, D("1.00"), ts(DAY, 10), DAY),       # non_positive_quantity (first)
    ("o11", "c11", "P1", 1, D("0.00"), ts(DAY, 16), DAY),       # valid: free item
    ("o0", "c1", "P1", 1, D("16.00"), ts(PREV, 9), PREV),       # previous day, books
]
PURCHASE_REJECTS = {"null_key": 3, "non_positive_quantity": 3, "negative_price": 1,
                    "unknown_product": 1, "duplicate": 1}
REVENUE_DAY = D("42.51")  # 20.00 + 2.50 + 15.00 + 5.01 + 0.00

CUSTOMER_ROWS = [
    # customer_id, page_views, sessions, products_viewed, orders, items, revenue, aov, segment
    ("c1", 2, 1, 1, 1, 3, D("22.50"), D("22.50"), "buyer"),
    ("c11", 0, 0, 0, 1, 1, D("0.00"), D("0.00"), "buyer"),
    ("c2", 1, 1, 1, 2, 4, D("20.01"), D("10.01"), "buyer"),    # 10.005 rounds HALF_UP
    ("c4", 1, 1, 1, 0, 0, D("0.00"), None, "browser"),
    ("c5", 1, 1, 1, 0, 0, D("0.00"), None, "browser"),
    ("c6", 1, 1, 0, 0, 0, D("0.00"), None, "browser"),
    ("c7", 1, 1, 1, 0, 0, D("0.00"), None, "browser"),
]
SALES_ROWS = [
    # category, orders, items, revenue, customers, aov, revenue_change_pct
    ("books", 2, 3, D("20.00"), 2, D("10.00"), 25.0),          # previous day 16.00
    ("toys", 1, 1, D("2.50"), 1, D("2.50"), None),
    ("uncategorized", 2, 4, D("20.01"), 1, D("10.01"), None),
]
