"""Render a weekly report dict (the analytics seed's shape) as Markdown and as one HTML file.

Pure functions: no I/O, no Dagster. The HTML is self-contained (inline CSS and SVG, no
scripts, fonts or images from elsewhere) so it opens from disk, in a mail client or as a
CI artifact. Extra keys beyond the seed's shape feed the charts:
`engagement_heatmap` (every day/hour slot of the 90-day window) and `weekly_history`
(the last weeks' totals, oldest first).
"""

from __future__ import annotations

import html

DAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


def _pct(value) -> str:
    return "n/a" if value is None else f"{float(value):.2f}%"


def _signed_pct(value) -> str:
    return "n/a (previous week was 0)" if value is None else f"{float(value):+.1f}%"


def _int(value) -> str:
    return "0" if value is None else f"{int(value):,}"


def _md_cell(text) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def _short(text, limit: int = 90) -> str:
    text = " ".join(str(text or "").split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _zone(report: dict) -> str:
    """The account's zone, in which the report's days and hours are read (weeks stay UTC)."""
    return str(report.get("timezone") or "UTC")


def trend_lines(trends: dict) -> list[tuple[str, str]]:
    """(label, formatted value) for the week-over-week trends, shared by both renderings."""
    return [
        ("Posts", f"{int(trends.get('posts_change') or 0):+d}"),
        ("Impressions", _signed_pct(trends.get("impressions_change_pct"))),
        ("Engagements", _signed_pct(trends.get("engagements_change_pct"))),
        ("Avg engagement rate", f"{float(trends.get('engagement_rate_change_pts') or 0.0):+.2f} pts"),
        ("Profile views", _signed_pct(trends.get("profile_views_change_pct"))),
    ]


def summary_lines(report: dict) -> list[tuple[str, str]]:
    summary, recruiter = report["summary"], report.get("recruiter_metrics") or {}
    return [
        ("Posts published", _int(summary.get("total_posts"))),
        ("Impressions", _int(summary.get("total_impressions"))),
        ("Engagements", _int(summary.get("total_engagements"))),
        ("Avg engagement rate", _pct(summary.get("avg_engagement_rate"))),
        ("Profile views (7 days)", _int(recruiter.get("profile_views_7d"))),
        ("Estimated recruiter reach (30 days)", _int(recruiter.get("estimated_recruiter_reach"))),
    ]


def render_markdown(report: dict) -> str:
    period = report["report_period"]
    lines = [
        f"# Weekly social media report: {report.get('user_id', '')}",
        "",
        f"Week of {period['start'][:10]} to {period['end'][:10]} (UTC, end exclusive). "
        f"Generated {report['generated_at']}.",
        *([] if _zone(report) == "UTC" else
          ["", f"Weeks run Monday to Monday in UTC; days and hours of posting times are in {_zone(report)}."]),
        "",
        "## Summary",
        "",
        "| metric | value |",
        "|---|---:|",
        *[f"| {label} | {value} |" for label, value in summary_lines(report)],
        "",
        "## Trends (week over week)",
        "",
        *[f"- {label}: {value}" for label, value in trend_lines(report.get("trends") or {})],
        "",
        "## Top posts",
        "",
    ]
    if report["top_posts"]:
        lines += ["| # | post | type | impressions | engagements | engagement rate |", "|---:|---|---|---:|---:|---:|"]
        for rank, post in enumerate(report["top_posts"], start=1):
            lines.append(
                f"| {rank} | {_md_cell(_short(post['content']))} | {_md_cell(post.get('content_type'))} | "
                f"{_int(post['impressions'])} | {_int(post['engagements'])} | {_pct(post['engagement_rate'])} |"
            )
    else:
        lines.append("_No posts this week._")
    lines += ["", "## Engagement by content type", ""]
    breakdown = report.get("engagement_breakdown") or {}
    if breakdown:
        lines += ["| content type | posts | impressions | engagements | avg engagement rate |", "|---|---:|---:|---:|---:|"]
        for content_type, row in breakdown.items():
            lines.append(
                f"| {_md_cell(content_type)} | {row['posts']} | {_int(row['impressions'])} | "
                f"{_int(row['engagements'])} | {_pct(row['avg_engagement_rate'])} |"
            )
    else:
        lines.append("_No posts this week._")
    lines += ["", "## Best posting times (last 90 days, slots with at least 2 posts)", ""]
    if report.get("best_times"):
        lines += [f"| rank | slot ({_zone(report)}) | avg engagement rate | posts |", "|---:|---|---:|---:|"]
        for rank, slot in enumerate(report["best_times"], start=1):
            lines.append(
                f"| {rank} | {slot['day_name']} {int(slot['hour']):02d}:00 | {_pct(slot['avg_engagement_rate'])} | "
                f"{slot['posts_count']} |"
            )
    else:
        lines.append("_Not enough posts yet: a slot needs at least 2 posts._")
    lines += ["", "## Recommendations", ""]
    lines += [f"- {r}" for r in report["recommendations"]] or ["_None this week._"]
    return "\n".join(lines) + "\n"


# ----- HTML ---------------------------------------------------------------------------
CSS = """
body{font-family:-apple-system,Segoe UI,Helvetica,Arial,sans-serif;margin:2rem auto;max-width:980px;color:#1f2933;padding:0 1rem}
h1{font-size:1.5rem;margin-bottom:.2rem}h2{font-size:1.15rem;margin-top:2rem;border-bottom:1px solid #e4e7eb;padding-bottom:.3rem}
.muted{color:#616e7c;font-size:.9rem}
.cards{display:flex;flex-wrap:wrap;gap:.75rem}.card{border:1px solid #e4e7eb;border-radius:8px;padding:.6rem .9rem;min-width:140px}
.card .v{font-size:1.3rem;font-weight:600}.card .l{font-size:.8rem;color:#616e7c}
table{border-collapse:collapse;width:100%;font-size:.9rem}th,td{padding:.35rem .5rem;border-bottom:1px solid #e4e7eb;text-align:left}
td.n,th.n{text-align:right;font-variant-numeric:tabular-nums}
ul.recs li{margin:.3rem 0}svg text{font-family:inherit}
"""


def _esc(value) -> str:
    return html.escape(str(value), quote=True)


def _heat_colour(rate: float, max_rate: float) -> str:
    """White to deep blue by engagement rate relative to the best slot."""
    share = 0.0 if max_rate <= 0 else max(0.0, min(1.0, rate / max_rate))
    r = round(239 - share * (239 - 31))
    g = round(246 - share * (246 - 81))
    b = round(255 - share * (255 - 158))
    return f"rgb({r},{g},{b})"


def heatmap_svg(slots: list[dict], zone: str = "UTC") -> str:
    """A 7 x 24 grid (Monday first, hours in `zone`); empty slots are grey, each cell has a tooltip."""
    cell, left, top = 28, 84, 22
    by_slot = {(int(s["day_of_week"]), int(s["hour"])): s for s in slots}
    max_rate = max((float(s["avg_engagement_rate"]) for s in slots), default=0.0)
    width, height = left + 24 * cell + 4, top + 7 * cell + 4
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" role="img" aria-label="Engagement rate by day and hour" '
             f'width="{width}" height="{height}" viewBox="0 0 {width} {height}" id="heatmap">']
    for hour in range(24):
        parts.append(f'<text x="{left + hour * cell + cell / 2}" y="14" font-size="10" text-anchor="middle">{hour:02d}</text>')
    for day in range(7):
        y = top + day * cell
        parts.append(f'<text x="{left - 6}" y="{y + cell * 0.65}" font-size="11" text-anchor="end">{DAY_NAMES[day][:3]}</text>')
        for hour in range(24):
            x = left + hour * cell
            slot = by_slot.get((day, hour))
            if slot is None:
                fill, tip = "#f5f7fa", f"{DAY_NAMES[day]} {hour:02d}:00 {zone}: no posts"
            else:
                rate = float(slot["avg_engagement_rate"])
                fill = _heat_colour(rate, max_rate)
                tip = f"{DAY_NAMES[day]} {hour:02d}:00 {zone}: {rate:.2f}% over {int(slot['posts_count'])} posts"
            parts.append(f'<rect x="{x}" y="{y}" width="{cell - 2}" height="{cell - 2}" rx="3" fill="{fill}">'
                         f'<title>{_esc(tip)}</title></rect>')
    parts.append("</svg>")
    return "".join(parts)


def trend_svg(history: list[dict]) -> str:
    """Posts per week as bars and the average engagement rate as a line, oldest week first."""
    width, height, left, bottom, top = 640, 220, 48, 36, 16
    plot_w, plot_h = width - left - 48, height - top - bottom
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" role="img" aria-label="Weekly trend" width="{width}" '
             f'height="{height}" viewBox="0 0 {width} {height}" id="trend">']
    if not history:
        parts.append(f'<text x="{width / 2}" y="{height / 2}" text-anchor="middle" font-size="12">no history yet</text></svg>')
        return "".join(parts)
    n = len(history)
    step = plot_w / n
    max_posts = max(max(int(w["total_posts"]) for w in history), 1)
    max_rate = max(max(float(w["avg_engagement_rate"]) for w in history), 0.01)
    baseline = top + plot_h
    parts.append(f'<line x1="{left}" y1="{baseline}" x2="{left + plot_w}" y2="{baseline}" stroke="#9aa5b1"/>')
    points = []
    for i, week in enumerate(history):
        x = left + i * step
        bar_h = plot_h * int(week["total_posts"]) / max_posts
        parts.append(f'<rect x="{x + step * 0.2:.1f}" y="{baseline - bar_h:.1f}" width="{step * 0.6:.1f}" height="{bar_h:.1f}" '
                     f'fill="#cbd2d9"><title>{_esc(week["week_start"])}: {int(week["total_posts"])} posts</title></rect>')
        cx = x + step / 2
        cy = baseline - plot_h * float(week["avg_engagement_rate"]) / max_rate
        points.append(f"{cx:.1f},{cy:.1f}")
        parts.append(f'<circle cx="{cx:.1f}" cy="{cy:.1f}" r="3.5" fill="#1f519e"><title>{_esc(week["week_start"])}: '
                     f'{float(week["avg_engagement_rate"]):.2f}% avg engagement</title></circle>')
        parts.append(f'<text x="{cx:.1f}" y="{baseline + 14}" font-size="10" text-anchor="middle">{_esc(str(week["week_start"])[5:10])}</text>')
    parts.append(f'<polyline points="{" ".join(points)}" fill="none" stroke="#1f519e" stroke-width="2"/>')
    parts.append(f'<text x="{left - 6}" y="{top + 8}" font-size="10" text-anchor="end">{max_posts}</text>')
    parts.append(f'<text x="{left + plot_w + 6}" y="{top + 8}" font-size="10">{max_rate:.1f}%</text>')
    parts.append(f'<text x="{left}" y="{height - 4}" font-size="10" fill="#616e7c">bars: posts per week · line: avg engagement rate</text>')
    parts.append("</svg>")
    return "".join(parts)


def predicted_vs_actual_svg(actual, predicted, title: str) -> str:
    """A scatter of held-out predictions on log10(1 + x) axes (counts span orders of magnitude),
    with the diagonal where prediction equals actual."""
    import math

    size, pad = 360, 44
    pairs = [(math.log10(1 + max(float(a), 0.0)), math.log10(1 + max(float(p), 0.0))) for a, p in zip(actual, predicted)]
    top = max([max(a, p) for a, p in pairs] + [1.0])
    scale = (size - 2 * pad) / top

    def x(v): return pad + v * scale
    def y(v): return size - pad - v * scale

    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" role="img" aria-label="{_esc(title)}" width="{size}" '
             f'height="{size}" viewBox="0 0 {size} {size}"><rect width="{size}" height="{size}" fill="#fff"/>',
             f'<text x="{size / 2}" y="16" font-size="12" text-anchor="middle">{_esc(title)}</text>',
             f'<line x1="{x(0)}" y1="{y(0)}" x2="{x(top):.1f}" y2="{y(top):.1f}" stroke="#9aa5b1" stroke-dasharray="4 3"/>',
             f'<line x1="{x(0)}" y1="{y(0)}" x2="{x(top):.1f}" y2="{y(0)}" stroke="#616e7c"/>',
             f'<line x1="{x(0)}" y1="{y(0)}" x2="{x(0)}" y2="{y(top):.1f}" stroke="#616e7c"/>']
    for decade in range(int(top) + 1):
        label = f"{10 ** decade:,}"
        parts.append(f'<text x="{x(decade):.1f}" y="{size - pad + 14}" font-size="9" text-anchor="middle">{label}</text>')
        parts.append(f'<text x="{pad - 4}" y="{y(decade) + 3:.1f}" font-size="9" text-anchor="end">{label}</text>')
    parts.append(f'<text x="{size / 2}" y="{size - 6}" font-size="10" text-anchor="middle">actual</text>')
    parts.append(f'<text x="10" y="{size / 2}" font-size="10" transform="rotate(-90 10 {size / 2})" '
                 f'text-anchor="middle">predicted</text>')
    parts.extend(f'<circle cx="{x(a):.1f}" cy="{y(p):.1f}" r="2.5" fill="#1f519e" fill-opacity="0.55"/>' for a, p in pairs)
    parts.append("</svg>")
    return "".join(parts)


def _table(headers: list[tuple[str, bool]], rows: list[list]) -> str:
    head = "".join(f'<th class="n">{_esc(h)}</th>' if numeric else f"<th>{_esc(h)}</th>" for h, numeric in headers)
    body = "".join(
        "<tr>" + "".join(f'<td class="n">{_esc(v)}</td>' if headers[i][1] else f"<td>{_esc(v)}</td>"
                         for i, v in enumerate(row)) + "</tr>"
        for row in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def render_html(report: dict) -> str:
    period = report["report_period"]
    user = report.get("user_id", "")
    title = f"Weekly social media report: {user}, week of {period['start'][:10]}"
    cards = "".join(f'<div class="card"><div class="v">{_esc(v)}</div><div class="l">{_esc(label)}</div></div>'
                    for label, v in summary_lines(report))
    trends = "".join(f"<li>{_esc(label)}: <strong>{_esc(v)}</strong></li>" for label, v in trend_lines(report.get("trends") or {}))
    if report["top_posts"]:
        top = _table(
            [("#", True), ("post", False), ("type", False), ("impressions", True), ("engagements", True), ("engagement rate", True)],
            [[i, _short(p["content"], 120), p.get("content_type") or "", _int(p["impressions"]), _int(p["engagements"]),
              _pct(p["engagement_rate"])] for i, p in enumerate(report["top_posts"], start=1)],
        )
    else:
        top = '<p class="muted">No posts this week.</p>'
    breakdown = report.get("engagement_breakdown") or {}
    by_type = _table(
        [("content type", False), ("posts", True), ("impressions", True), ("engagements", True), ("avg engagement rate", True)],
        [[t, r["posts"], _int(r["impressions"]), _int(r["engagements"]), _pct(r["avg_engagement_rate"])] for t, r in breakdown.items()],
    ) if breakdown else '<p class="muted">No posts this week.</p>'
    recs = "".join(f"<li>{_esc(r)}</li>" for r in report["recommendations"]) or "<li>None this week.</li>"
    best = report.get("best_times") or []
    zone = _zone(report)
    best_line = (f"Best slot: {best[0]['day_name']} {int(best[0]['hour']):02d}:00 {zone} "
                 f"({float(best[0]['avg_engagement_rate']):.2f}% over {best[0]['posts_count']} posts)."
                 if best else "No slot has 2 posts yet.")
    return (
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        f"<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>{_esc(title)}</title>"
        f"<style>{CSS}</style></head><body>"
        f"<h1>{_esc(title)}</h1>"
        f'<p class="muted">{_esc(period["start"])} to {_esc(period["end"])} UTC (end exclusive) · generated {_esc(report["generated_at"])}'
        f'{"" if zone == "UTC" else f" · weeks are UTC; days and hours below are {_esc(zone)}"}</p>'
        f'<h2>Summary</h2><div class="cards" id="summary">{cards}</div>'
        f'<h2>Trends (week over week)</h2><ul id="trends">{trends}</ul>'
        f'<h2>Last weeks</h2>{trend_svg(report.get("weekly_history") or [])}'
        f'<h2>Top posts</h2><div id="top-posts">{top}</div>'
        f'<h2>Recommendations</h2><ul class="recs" id="recommendations">{recs}</ul>'
        f'<h2>Engagement rate by day and hour ({_esc(zone)}, last 90 days)</h2><p class="muted">{_esc(best_line)}</p>'
        f'{heatmap_svg(report.get("engagement_heatmap") or [], zone)}'
        f'<h2>Engagement by content type</h2>{by_type}'
        "</body></html>\n"
    )
