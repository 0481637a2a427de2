"""Render a weekly report dict (the analytics seed's shape) as Markdown and as one HTML file.

Pure functions: no I/O, no Dagster. The HTML is self-contained (inline CSS and SVG, no
scripts, fonts or images from elsewhere) so it opens from disk, in a mail client or as a
CI artifact. Extra keys beyond the seed's shape feed the charts:
`engagement_heatmap` (every day/hour slot of the 90-day window) and `weekly_history`
(the last weeks' totals, oldest first).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import jinja2
import markupsafe
from tabulate import tabulate

from .lifecycle_report import lifecycle_layout
from .x_cost import spend_line

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


NETWORK_NAMES = {"x": "X", "bluesky": "Bluesky", "linkedin": "LinkedIn"}
# Why a network's posts have no weighted score.
NO_WEIGHTED_SCORE = {
    "linkedin": "LinkedIn's export does not split likes, reposts and comments, so there is no weighted score"
}


def network_note(report: dict) -> str | None:
    """Which network the report covers and what its rates divide by; None for X (the default)."""
    network = str(report.get("network") or "x")
    if network == "x":
        return None
    basis = (
        "engagement rates are engagements per follower at posting time (the network counts no views), "
        "not comparable with rates per impression"
        if report.get("engagement_basis") == "followers"
        else "engagement rates are engagements per impression"
    )
    why_unweighted = f"; {NO_WEIGHTED_SCORE[network]}" if network in NO_WEIGHTED_SCORE else ""
    return f"Network: {NETWORK_NAMES.get(network, network)}; {basis}{why_unweighted}."


def post_table(report: dict, text_limit: int) -> tuple[list[tuple[str, bool]], list[list]]:
    """The top posts as (column, numeric) headers and rows, shared by both renderings. On a network that
    counts no impressions (engagement_basis followers) the impressions column is left out, never shown
    as 0, and the rate is named per follower."""
    per_follower = report.get("engagement_basis") == "followers"
    columns = [("#", True), ("post", False), ("type", False)]
    columns += [] if per_follower else [("impressions", True)]
    columns += [("engagements", True), ("engagement rate per follower" if per_follower else "engagement rate", True)]
    rows = [
        [rank, _short(post["content"], text_limit), post.get("content_type") or ""]
        + ([] if per_follower else [_int(post["impressions"])])
        + [_int(post["engagements"]), _pct(post["engagement_rate"])]
        for rank, post in enumerate(report["top_posts"], start=1)
    ]
    return columns, rows


def content_type_table(report: dict) -> tuple[list[tuple[str, bool]], list[list]]:
    """Engagement by content type as (column, numeric) headers and rows; without impressions on a
    network that counts none, as `post_table`."""
    per_follower = report.get("engagement_basis") == "followers"
    columns = [("content type", False), ("posts", True)]
    columns += [] if per_follower else [("impressions", True)]
    columns += [
        ("engagements", True),
        ("avg engagement rate per follower" if per_follower else "avg engagement rate", True),
    ]
    rows = [
        [content_type, row["posts"]]
        + ([] if per_follower else [_int(row["impressions"])])
        + [_int(row["engagements"]), _pct(row["avg_engagement_rate"])]
        for content_type, row in (report.get("engagement_breakdown") or {}).items()
    ]
    return columns, rows


def _md_align(columns: list[tuple[str, bool]]) -> str:
    return "".join("r" if numeric else "l" for _, numeric in columns)


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
        # A network without view counts shows none, rather than a 0 that reads as a figure.
        (
            "Impressions",
            "not counted" if report.get("engagement_basis") == "followers" else _int(summary.get("total_impressions")),
        ),
        ("Engagements", _int(summary.get("total_engagements"))),
        ("Avg engagement rate", _pct(summary.get("avg_engagement_rate"))),
        ("Profile views (7 days)", _int(recruiter.get("profile_views_7d"))),
        ("Estimated recruiter reach (30 days)", _int(recruiter.get("estimated_recruiter_reach"))),
    ]


# Where a recruiter figure came from, as the report says it (None: the account has no source for it).
RECRUITER_SOURCE_TEXT = {
    ("profile_views", "profile_activity"): "profile-activity file",
    ("connections", "linkedin_archive"): "LinkedIn archive: Connections.csv (Connected On)",
    ("invitations", "linkedin_archive"): "LinkedIn archive: Invitations.csv (incoming)",
    ("inmails", "linkedin_archive"): "LinkedIn archive: messages.csv (InMail rule: a conversation whose first "
    "message was received and has a subject)",
}


def _source_text(figure: str, source: str | None) -> str:
    if source is None:
        return "no source (0)" if figure != "profile_views" else "no source: LinkedIn exports no profile views (0)"
    return RECRUITER_SOURCE_TEXT.get((figure, source), "profile-activity file")


def recruiter_lines(report: dict) -> list[tuple[str, str, str]]:
    """(figure, value, where it came from) for the recruiter figures, shared by both renderings."""
    seed, extra = report.get("recruiter_metrics") or {}, report.get("recruiter_figures") or {}
    sources = extra.get("sources") or {}
    views = _source_text("profile_views", sources.get("profile_views"))
    return [
        ("Profile views (7 days)", _int(seed.get("profile_views_7d")), views),
        ("Profile views (30 days)", _int(seed.get("profile_views_30d")), views),
        ("Estimated recruiter reach (30 days views x 0.10)", _int(seed.get("estimated_recruiter_reach")), views),
        (
            "New connections (7 days)",
            _int(extra.get("new_connections_7d")),
            _source_text("connections", sources.get("connections")),
        ),
        (
            "New connections (30 days)",
            _int(extra.get("new_connections_30d")),
            _source_text("connections", sources.get("connections")),
        ),
        (
            "Invitations received (7 days)",
            _int(extra.get("invitations_received_7d")),
            _source_text("invitations", sources.get("invitations")),
        ),
        (
            "Invitations received (30 days)",
            _int(extra.get("invitations_received_30d")),
            _source_text("invitations", sources.get("invitations")),
        ),
        (
            "InMails received (30 days)",
            _int(seed.get("inmails_received")),
            _source_text("inmails", sources.get("inmails")),
        ),
    ]


def _md_table(headers: list[str], align: str, rows: Sequence[Sequence]) -> list[str]:
    """A Markdown pipe table, one column per header; `align` is one letter a column, l(eft) or r(ight).
    The cells are formatted already. Plain printable ASCII (nearly every report) is laid out here, as
    tabulate's pipe format does, at a fraction of its cost; other text goes to tabulate, which
    measures wide and combining characters."""
    cells = [[_md_cell(cell) for cell in row] for row in rows]
    plain = all(text.isascii() and text.isprintable() for text in [*headers, *(c for row in cells for c in row)])
    if not (plain and cells):
        return tabulate(
            cells,
            headers=headers,
            tablefmt="pipe",
            colalign=[{"l": "left", "r": "right"}[a] for a in align],
            disable_numparse=True,
        ).splitlines()
    cells = [[c.strip() for c in row] for row in cells]
    # tabulate's pipe format: a column is as wide as its widest cell, and its header plus 2.
    widths = [max([len(h) + 2, *(len(row[i]) for row in cells)]) for i, h in enumerate(headers)]

    def line(texts) -> str:
        padded = (t.ljust(w) if a == "l" else t.rjust(w) for t, w, a in zip(texts, widths, align, strict=True))
        return "| " + " | ".join(padded) + " |"

    dashes = [":" + "-" * (w + 1) if a == "l" else "-" * (w + 1) + ":" for w, a in zip(widths, align, strict=True)]
    rule = "|" + "|".join(dashes) + "|"
    return [line(headers), rule, *(line(row) for row in cells)]


def render_markdown(report: dict) -> str:
    period = report["report_period"]
    lines = [
        f"# Weekly social media report: {report.get('user_id', '')}",
        "",
        f"Week of {period['start'][:10]} to {period['end'][:10]} (UTC, end exclusive). "
        f"Generated {report['generated_at']}.",
        *(
            []
            if _zone(report) == "UTC"
            else ["", f"Weeks run Monday to Monday in UTC; days and hours of posting times are in {_zone(report)}."]
        ),
        *([] if network_note(report) is None else ["", network_note(report)]),
        "",
        "## Summary",
        "",
        *_md_table(["metric", "value"], "lr", summary_lines(report)),
        "",
        "## Trends (week over week)",
        "",
        *[f"- {label}: {value}" for label, value in trend_lines(report.get("trends") or {})],
        "",
        "## Recruiter figures",
        "",
        *_md_table(["figure", "value", "source"], "lrl", [list(line) for line in recruiter_lines(report)]),
        "",
        "## Top posts",
        "",
    ]
    if report["top_posts"]:
        columns, rows = post_table(report, 90)
        lines += _md_table([name for name, _ in columns], _md_align(columns), rows)
    else:
        lines.append("_No posts this week._")
    lines += ["", "## Engagement by content type", ""]
    if report.get("engagement_breakdown"):
        columns, rows = content_type_table(report)
        lines += _md_table([name for name, _ in columns], _md_align(columns), rows)
    else:
        lines.append("_No posts this week._")
    lines += ["", "## Best posting times (last 90 days, slots with at least 2 posts)", ""]
    if report.get("best_times"):
        lines += _md_table(
            ["rank", f"slot ({_zone(report)})", "avg engagement rate", "posts"],
            "rlrr",
            [
                [
                    rank,
                    f"{slot['day_name']} {int(slot['hour']):02d}:00",
                    _pct(slot["avg_engagement_rate"]),
                    slot["posts_count"],
                ]
                for rank, slot in enumerate(report["best_times"], start=1)
            ],
        )
    else:
        lines.append("_Not enough posts yet: a slot needs at least 2 posts._")
    lines += ["", "## Recommendations", ""]
    lines += [f"- {r}" for r in report["recommendations"]] or ["_None this week._"]
    lines += ["", "## Early alerts", ""]
    alerts = alert_rows(report)
    lines += _md_table(ALERT_HEADERS, "llrrl", alerts) if alerts else ["_No post left its expected band this week._"]
    lines += ["", "## Posts that brought followers", ""]
    followers = follower_rows(report)
    lines += _md_table(FOLLOWER_HEADERS, "lrl", followers) if followers else ["_None this week (or not observed yet)._"]
    spend = spend_line(report.get("x_api_spend"))
    if spend:
        lines += ["", "---", "", f"_{spend}_"]
    return "\n".join(lines) + "\n"


ALERT_HEADERS = ["post", "direction", "at", "impressions", "expected"]
FOLLOWER_HEADERS = ["post", "followers gained", "from"]


def alert_rows(report: dict) -> list[list]:
    """The week's early alerts as table rows, shared by both renderings."""
    return [
        [
            _short(a["text"] or a["post_id"], 80),
            a["direction"],
            f"{a['age_hours']} h",
            _int(a["actual_impressions"]),
            f"{_int(a['expected_low'])}-{_int(a['expected_high'])}",
        ]
        for a in report.get("post_alerts") or []
    ]


def follower_rows(report: dict) -> list[list]:
    """The week's posts that brought followers, most first, as table rows."""
    methods = {"x_export_new_follows": "X's export", "account_snapshots": "follower figures"}
    return [
        [_short(p["text"] or p["post_id"], 80), f"{p['followers_gained']:,.0f}", methods.get(p["method"], p["method"])]
        for p in report.get("follower_posts") or []
    ]


# ----- HTML ---------------------------------------------------------------------------
def _heat_colour(rate: float, max_rate: float) -> str:
    """White to deep blue by engagement rate relative to the best slot."""
    share = 0.0 if max_rate <= 0 else max(0.0, min(1.0, rate / max_rate))
    r = round(239 - share * (239 - 31))
    g = round(246 - share * (246 - 81))
    b = round(255 - share * (255 - 158))
    return f"rgb({r},{g},{b})"


# The seed's rule for a ranked slot (best_posting_times.sql): a slot with fewer posts is drawn faded.
MIN_POSTS_PER_SLOT = 2
BELOW_RULE_OPACITY = "0.3"
BEST_SLOT_STROKE = "#101828"
BELOW_RULE_STROKE = "#9aa5b1"  # dashed, so a faded cell is not read as a ranked slot with a low rate


def heatmap_layout(slots: list[dict], zone: str = "UTC", best: tuple[int, int] | None = None) -> dict:
    """A 7 x 24 grid (Monday first, hours in `zone`); empty slots are grey, each cell has a tooltip.
    The colour scale tops out at the best ranked slot (`best`, (day_of_week, hour)), which is outlined;
    slots below the two-post rule are faded, so one lucky post never looks better than the best slot."""
    cell, left, top = 28, 84, 22
    by_slot = {(int(s["day_of_week"]), int(s["hour"])): s for s in slots}
    max_rate = max(
        (float(s["avg_engagement_rate"]) for s in slots if int(s["posts_count"]) >= MIN_POSTS_PER_SLOT), default=0.0
    )
    days = []
    for day in range(7):
        y = top + day * cell
        cells = []
        for hour in range(24):
            slot = by_slot.get((day, hour))
            opacity, stroke = "1", BEST_SLOT_STROKE if (day, hour) == best else None
            if slot is None:
                fill, tip = "#f5f7fa", f"{DAY_NAMES[day]} {hour:02d}:00 {zone}: no posts"
            else:
                rate, posts = float(slot["avg_engagement_rate"]), int(slot["posts_count"])
                fill = _heat_colour(rate, max_rate)
                tip = f"{DAY_NAMES[day]} {hour:02d}:00 {zone}: {rate:.2f}% over {posts} post{'s' * (posts != 1)}"
                if posts < MIN_POSTS_PER_SLOT:
                    opacity, stroke = BELOW_RULE_OPACITY, stroke or BELOW_RULE_STROKE
                    tip += f" (below the {MIN_POSTS_PER_SLOT}-post rule, not ranked)"
            cells.append(
                {"x": left + hour * cell, "y": y, "fill": fill, "opacity": opacity, "stroke": stroke, "tip": tip}
            )
        days.append({"label_x": left - 6, "label_y": y + cell * 0.65, "label": DAY_NAMES[day][:3], "cells": cells})
    return {
        "width": left + 24 * cell + 4,
        "height": top + 7 * cell + 22,
        "cell": cell - 2,
        "days": days,
        "hours": [(left + hour * cell + cell / 2, f"{hour:02d}") for hour in range(24)],
        "legend_x": left,
        "legend_y": top + 7 * cell + 14,
        "legend": f"Faded, dashed cells: fewer than {MIN_POSTS_PER_SLOT} posts, not ranked. Outlined: the best slot.",
    }


def heatmap_svg(h: dict) -> markupsafe.Markup:
    """heatmap_layout drawn as inline SVG. Built in Python, not in the template: its 168 cells per
    report were most of the time a report's HTML took (a template escapes and looks up every value)."""
    escaped: dict[str, str] = {}

    def esc(value) -> str:
        # Fills, opacities and strokes repeat across the 168 cells: each distinct value is escaped once.
        text = str(value)
        found = escaped.get(text)
        if found is None:
            found = escaped[text] = str(markupsafe.escape(text))
        return found

    hours = "".join(
        f'<text x="{x}" y="14" font-size="10" text-anchor="middle">{esc(label)}</text>' for x, label in h["hours"]
    )
    size = h["cell"]
    days = []
    for day in h["days"]:
        cells = []
        for c in day["cells"]:
            faded = c["opacity"] != "1"
            extra = f' fill-opacity="{esc(c["opacity"])}"' if faded else ""
            if c["stroke"]:
                extra += f' stroke="{esc(c["stroke"])}" stroke-width="{1 if faded else 2}"'
                extra += ' stroke-dasharray="3 2"' if faded else ""
            cells.append(
                f'<rect x="{c["x"]}" y="{c["y"]}" width="{size}" height="{size}" rx="3" fill="{esc(c["fill"])}"'
                f"{extra}><title>{esc(c['tip'])}</title></rect>"
            )
        days.append(
            f'\n<text x="{day["label_x"]}" y="{day["label_y"]}" font-size="11" text-anchor="end">'
            f"{esc(day['label'])}</text>\n{''.join(cells)}\n"
        )
    return markupsafe.Markup(
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" aria-label="Engagement rate by day and hour" '
        f'width="{h["width"]}" height="{h["height"]}" viewBox="0 0 {h["width"]} {h["height"]}" id="heatmap">\n'
        f"{hours}\n{''.join(days)}\n"
        f'<text x="{h["legend_x"]}" y="{h["legend_y"]}" font-size="10" fill="#616e7c">{esc(h["legend"])}</text>\n'
        "</svg>"
    )


def trend_layout(history: list[dict]) -> dict:
    """Posts per week as bars and the average engagement rate as a line, oldest week first."""
    width, height, left, bottom, top = 640, 220, 48, 36, 16
    plot_w, plot_h = width - left - 48, height - top - bottom
    layout = {
        "width": width,
        "height": height,
        "left": left,
        "right": left + plot_w,
        "top": top,
        "baseline": top + plot_h,
        "weeks": [],
    }
    if not history:
        return layout
    step = plot_w / len(history)
    max_posts = max(max(int(w["total_posts"]) for w in history), 1)
    max_rate = max(max(float(w["avg_engagement_rate"]) for w in history), 0.01)
    baseline = top + plot_h
    for i, week in enumerate(history):
        x = left + i * step
        bar_h = plot_h * int(week["total_posts"]) / max_posts
        cx, cy = x + step / 2, baseline - plot_h * float(week["avg_engagement_rate"]) / max_rate
        layout["weeks"].append(
            {
                "bar_x": f"{x + step * 0.2:.1f}",
                "bar_y": f"{baseline - bar_h:.1f}",
                "bar_width": f"{step * 0.6:.1f}",
                "bar_height": f"{bar_h:.1f}",
                "cx": f"{cx:.1f}",
                "cy": f"{cy:.1f}",
                "cx_cy": f"{cx:.1f},{cy:.1f}",
                "week_start": week["week_start"],
                "label": str(week["week_start"])[5:10],
                "posts": int(week["total_posts"]),
                "rate": f"{float(week['avg_engagement_rate']):.2f}",
            }
        )
    return {**layout, "max_posts": max_posts, "max_rate": f"{max_rate:.1f}"}


def predicted_vs_actual_layout(actual, predicted, title: str) -> dict:
    """A scatter of held-out predictions on log10(1 + x) axes (counts span orders of magnitude),
    with the diagonal where prediction equals actual: the points and ticks in pixels."""
    size, pad = 360, 44
    pairs = [
        (math.log10(1 + max(float(a), 0.0)), math.log10(1 + max(float(p), 0.0)))
        for a, p in zip(actual, predicted, strict=True)
    ]
    top = max([max(a, p) for a, p in pairs] + [1.0])
    scale = (size - 2 * pad) / top

    def x(v):
        return f"{pad + v * scale:.1f}"

    def y(v):
        return f"{size - pad - v * scale:.1f}"

    return {
        "title": title,
        "size": size,
        "middle": size / 2,
        "x0": x(0),
        "y0": y(0),
        "x_top": x(top),
        "y_top": y(top),
        "tick_y": size - pad + 14,
        "tick_x": pad - 4,
        "ticks": [(x(decade), f"{float(y(decade)) + 3:.1f}", f"{10**decade:,}") for decade in range(int(top) + 1)],
        "points": [(x(a), y(p)) for a, p in pairs],
    }


def predicted_vs_actual_svg(actual, predicted, title: str) -> str:
    """predicted_vs_actual_layout drawn as a standalone SVG (the models' asset metadata)."""
    charts = _TEMPLATES.get_template("report_charts.svg.j2").module
    # jinja2 makes a template's macros attributes of its module at run time: no stub can name them.
    chart = charts.predicted_vs_actual  # pyright: ignore[reportAttributeAccessIssue]
    return str(chart(predicted_vs_actual_layout(actual, predicted, title)))


_TEMPLATES = jinja2.Environment(
    loader=jinja2.PackageLoader("social_pipeline.core", "templates"),
    autoescape=True,  # report text (post content, user ids) is text, never markup
    undefined=jinja2.StrictUndefined,  # a value the template names but the report lacks fails loudly
    keep_trailing_newline=True,
)


def render_html(report: dict) -> str:
    period = report["report_period"]
    best = report.get("best_times") or []
    zone = _zone(report)
    best_line = (
        f"Best slot: {best[0]['day_name']} {int(best[0]['hour']):02d}:00 {zone} "
        f"({float(best[0]['avg_engagement_rate']):.2f}% over {best[0]['posts_count']} posts)."
        if best
        else "No slot has 2 posts yet."
    )
    columns, rows = post_table(report, 120)
    top_posts = {"columns": columns, "rows": rows}
    columns, rows = content_type_table(report)
    by_type = {"columns": columns, "rows": rows}
    return _TEMPLATES.get_template("weekly_report.html.j2").render(
        title=f"Weekly social media report: {report.get('user_id', '')}, week of {period['start'][:10]}",
        period=period,
        generated_at=report["generated_at"],
        zone=zone,
        network_note=network_note(report),
        summary=summary_lines(report),
        trends=trend_lines(report.get("trends") or {}),
        recruiter=recruiter_lines(report),
        top_posts=top_posts if top_posts["rows"] else None,
        by_type=by_type if by_type["rows"] else None,
        recommendations=report["recommendations"],
        best_line=best_line,
        trend=trend_layout(report.get("weekly_history") or []),
        heatmap=heatmap_svg(
            heatmap_layout(
                report.get("engagement_heatmap") or [],
                zone,
                (DAY_NAMES.index(best[0]["day_name"]), int(best[0]["hour"])) if best else None,
            )
        ),
        x_api_spend=spend_line(report.get("x_api_spend")),
        lifecycle=lifecycle_layout(report.get("lifecycle") or {}),
        # The lifecycle and the early alerts follow impressions, which a followers-basis network never counts.
        views_not_counted=report.get("engagement_basis") == "followers",
        post_alerts=_table(ALERT_HEADERS, "llrrl", alert_rows(report)),
        follower_posts=_table(FOLLOWER_HEADERS, "lrl", follower_rows(report)),
    )


def _table(headers: list[str], align: str, rows: list[list]) -> dict | None:
    """The HTML template's table: (header, numeric) columns and the rows; None without rows."""
    return {"columns": [(h, a == "r") for h, a in zip(headers, align, strict=True)], "rows": rows} if rows else None
