"""The fairness audit as a file: histograms of the ensemble with the plan marked (HTML), or CSV."""

from __future__ import annotations

import html
from pathlib import Path

import numpy as np

from planner.balance.audit import AuditResult

__all__ = ["audit_histogram_svg", "write_audit_report"]

_LABELS = {
    "max_abs_deviation": "Largest workload deviation",
    "mean_abs_deviation": "Mean workload deviation",
    "polsby_popper_mean": "Compactness (mean Polsby-Popper)",
    "cut_edges": "Cut edges (unit borders between territories)",
    "dispersion_km_mean": "Mean distance to territory centre (km)",
}


def audit_histogram_svg(result: AuditResult, metric: str, *, bins: int = 24,
                        width: int = 420, height: int = 160) -> str:
    """Return an SVG histogram of one metric over the ensemble, the plan as a red line."""
    values = result.ensemble[metric].to_numpy(float)
    mine = result.plan[metric]
    lo = float(min(values.min(), mine))
    hi = float(max(values.max(), mine))
    if hi - lo < 1e-12:
        hi = lo + 1.0
    counts, edges = np.histogram(values, bins=bins, range=(lo, hi))
    top = max(int(counts.max()), 1)
    pad, base = 10, height - 24
    scale_x = (width - 2 * pad) / (hi - lo)
    bars = []
    for c, left, right in zip(counts.tolist(), edges[:-1].tolist(), edges[1:].tolist(),
                              strict=True):
        h = (base - pad) * c / top
        x = pad + (left - lo) * scale_x
        bar_w = max((right - left) * scale_x - 1, 1)
        bars.append(f'<rect x="{x:.1f}" y="{base - h:.1f}" width="{bar_w:.1f}" '
                    f'height="{h:.1f}" fill="#7a9cc6"/>')
    xm = pad + (mine - lo) * scale_x
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'role="img" aria-label="{html.escape(metric)}">'
        + "".join(bars)
        + f'<line x1="{xm:.1f}" y1="{pad - 4}" x2="{xm:.1f}" y2="{base}" stroke="#c0392b" '
        f'stroke-width="2"/>'
        f'<text x="{pad}" y="{height - 6}" font-size="11">{lo:.4g}</text>'
        f'<text x="{width - pad}" y="{height - 6}" font-size="11" text-anchor="end">{hi:.4g}</text>'
        f'<text x="{min(max(xm, 40), width - 40):.1f}" y="{pad + 4}" font-size="11" fill="#c0392b" '
        f'text-anchor="middle">plan</text></svg>'
    )


def write_audit_report(result: AuditResult, path: str | Path) -> Path:
    """Write the audit: ``.html`` (histograms, the plan marked, and the table) or ``.csv``.

    A CSV holds the ensemble (one row per sampled plan) with the plan as the
    first row (``plan`` column True).
    """
    out = Path(path)
    if out.suffix.lower() == ".csv":
        frame = result.ensemble.copy()
        frame.insert(0, "plan", False)
        first = {"plan": True, **result.plan}
        frame.loc[-1] = first
        frame.sort_index().to_csv(out, index=False)
        return out
    ranks = result.ranks()
    sections = []
    for row in ranks.to_dict(orient="records"):
        metric = str(row["metric"])
        label = _LABELS.get(metric, metric.replace("spread_", "Spread of "))
        sections.append(
            f"<section><h2>{html.escape(label)}</h2>"
            f"{audit_histogram_svg(result, metric)}"
            f"<p>Plan {row['plan']:.4g}; ensemble median {row['ensemble_median']:.4g} "
            f"(range {row['ensemble_min']:.4g} to {row['ensemble_max']:.4g}); {row['better']} "
            f"is better; the plan is as good as {row['as_good_as_share']:.0%} of the sampled "
            "plans.</p></section>")
    page = (
        "<!doctype html><html><head><meta charset='utf-8'><title>Fairness audit</title>"
        "<style>body{font-family:sans-serif;max-width:900px;margin:2em auto}"
        "section{display:inline-block;width:440px;vertical-align:top}</style></head><body>"
        f"<h1>Fairness audit</h1><p>{len(result.ensemble)} plans sampled with ReCom, "
        f"seed {result.seed}{', stopped early' if result.stopped else ''}. The red line is the "
        "audited plan; a share near 0 % means most sampled plans do better on that measure."
        "</p><p>Every sampled plan keeps these rules of the plan:</p><ul>"
        + "".join(f"<li>{html.escape(line)}</li>" for line in result.rules_text())
        + "</ul>" + "".join(sections)
        + ranks.to_html(index=False, float_format=lambda v: f"{v:.4g}")
        + "</body></html>"
    )
    out.write_text(page, encoding="utf-8")
    return out
