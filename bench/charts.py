"""PNG charts of one bench run (matplotlib, Agg): written to bench/img/ (or --img-dir), shown in
bench/README.md and the README. Each chart shows figures measured side by side in that run."""

from __future__ import annotations

from pathlib import Path


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _bars(ax, labels, series: dict[str, list], colors=("#4c72b0", "#dd8452", "#55a868")) -> None:
    width = 0.8 / max(1, len(series))
    for i, (name, values) in enumerate(series.items()):
        xs = [x + (i - (len(series) - 1) / 2) * width for x in range(len(labels))]
        vals = [v or 0 for v in values]
        bars = ax.bar(xs, vals, width, label=name, color=colors[i % len(colors)])
        for bar, v in zip(bars, values):
            if v is not None:
                ax.annotate(f"{v:.1f}", (bar.get_x() + bar.get_width() / 2, bar.get_height()),
                            ha="center", va="bottom", fontsize=8)
    ax.set_xticks(range(len(labels)), labels)
    ax.legend(fontsize=8)


def _chart(plt, path: Path, figsize: tuple[float, float], labels, series: dict[str, list], ylabel: str,
           title: str) -> Path:
    """One bar chart (`_bars`) with its axis label and title, saved as `path`."""
    fig, ax = plt.subplots(figsize=figsize)
    _bars(ax, labels, series)
    ax.set_ylabel(ylabel)
    ax.set_title(title, fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def write_charts(results: dict, directory: Path, stamp: str) -> list[Path]:
    """The charts the results allow; returns the files written."""
    plt = _plt()
    directory.mkdir(parents=True, exist_ok=True)
    written = []

    scale = [r for r in results.get("scale", []) if r.get("gold_job_s") and r.get("floor_job_s")]
    if scale:
        labels = [f"{r['label'].split()[0]}\n{r['ratio']:.2f}x floor" + (f" (goal {r['goal']:g}x)" if r.get("goal") else "")
                  for r in scale]
        written.append(_chart(
            plt, directory / "gold_vs_floor.png", (7, 4), labels,
            {"gold job (validate, write, commit, checks)": [r["gold_job_s"] for r in scale],
             "floor job (group-bys, join, parquet)": [r["floor_job_s"] for r in scale]},
            "seconds in the Spark driver", f"gold.daily_customer_analytics vs the plain-Spark floor ({stamp})"))

    gen = results.get("generator")
    if gen and gen.get("range_s") and gen.get("gen_s"):
        written.append(_chart(
            plt, directory / "generator.png", (5, 3.5),
            [f"{gen['page_views'] / 1e6:g}M page views\ngenerator = {gen['ratio']:.2f}x (goal 2x)"],
            {"spark.range columns": [gen["range_s"]], "silver generator": [gen["gen_s"]]},
            "seconds to write (one driver)", f"Silver generator vs spark.range ({stamp})"))

    back = results.get("backfill")
    if back and back.get("range_s"):
        speed = f"{back['speedup']:.1f}x faster" if back.get("speedup") else "-"
        written.append(_chart(
            plt, directory / "backfill.png", (5, 3.5),
            [f"{back['job']}, 7 days\n{speed} (goal 3x), rows {'equal' if back['equal'] else 'DIFFER'}"],
            {"7 one-day runs": [back["singles_s"]], "one backfill run": [back["range_s"]]},
            "wall seconds (Dagster -> Livy)", f"7-day backfill ({stamp})"))

    med = results.get("gold_medians")
    if med and med.get("dag_wall") and med.get("sub_wall"):
        written.append(_chart(
            plt, directory / "one_partition.png", (5, 3.5), ["wall", "Spark job"],
            {"Dagster -> Livy": [med["dag_wall"], med["dag_job"]],
             "plain spark-submit": [med["sub_wall"], med["sub_job"]]},
            "seconds (median)", f"One gold partition, 20k page views ({stamp})"))
    return written
