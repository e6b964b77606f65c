"""Write deterministic synthetic silver (products, page_views, purchases) for a date range.

    generate_silver.py (--date D | --start D --end D) [--page-views-per-day N] [--seed S]
                       [--dirty-share F] [--catalog NAME]

Same seed + date => same rows; exactly the generated dates are replaced. See lakehouse_jobs.silver.
"""

from lakehouse_jobs.cli import main_generate

if __name__ == "__main__":
    main_generate()
