"""core/reports.py on a hand-built report: the HTML template escapes report text, the Markdown tables."""

import xml.etree.ElementTree as ET
from html.parser import HTMLParser

from social_pipeline.core.reports import predicted_vs_actual_svg, render_html, render_markdown

HOSTILE = "<script>alert('x')</script> Q&A | \"quoted\""


def report(**changes) -> dict:
    base = {
        "user_id": "ana<&>", "generated_at": "2026-03-09T01:00:00", "timezone": "UTC",
        "report_period": {"start": "2026-03-02T00:00:00", "end": "2026-03-09T00:00:00"},
        "summary": {"total_posts": 2, "total_impressions": 1400, "total_engagements": 64, "avg_engagement_rate": 3.5},
        "recruiter_metrics": {"profile_views_7d": 28, "estimated_recruiter_reach": 12},
        "trends": {"posts_change": 1, "impressions_change_pct": 40.0, "engagements_change_pct": None,
                   "engagement_rate_change_pts": -0.5, "profile_views_change_pct": 0.0},
        "top_posts": [{"content": HOSTILE, "content_type": "video & <i>", "impressions": 1000, "engagements": 60,
                       "engagement_rate": 6.0},
                      {"content": "Chart of the week", "content_type": "image", "impressions": 400,
                       "engagements": 4, "engagement_rate": 1.0}],
        "engagement_breakdown": {"video & <i>": {"posts": 1, "impressions": 1000, "engagements": 60,
                                                 "avg_engagement_rate": 6.0}},
        "best_times": [{"day_name": "Monday", "hour": 9, "avg_engagement_rate": 3.0, "posts_count": 2}],
        "recommendations": [f"Keep posting {HOSTILE}"],
        "weekly_history": [{"week_start": "2026-03-02", "total_posts": 2, "avg_engagement_rate": 3.5}],
        "engagement_heatmap": [{"day_of_week": 0, "hour": 9, "avg_engagement_rate": 3.0, "posts_count": 2}],
    }
    return {**base, **changes}


class TextAndTags(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.tags, self.texts = [], []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)

    def handle_data(self, data):
        self.texts.append(data)


def parsed(page: str) -> TextAndTags:
    parser = TextAndTags()
    parser.feed(page)
    return parser


def test_report_text_is_escaped_in_the_html_and_reads_back_unchanged():
    page = render_html(report())
    assert "<script" not in page and "<i>" not in page
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; Q&amp;A | &#34;quoted&#34;" in page
    dom = parsed(page)
    assert "script" not in dom.tags and "i" not in dom.tags
    # What a reader sees is the text as written: in the title, the top posts, the types and the recommendations.
    assert dom.texts.count(HOSTILE) == 1 and f"Keep posting {HOSTILE}" in dom.texts
    assert dom.texts.count("video & <i>") == 2  # top posts and engagement by content type
    assert "Weekly social media report: ana<&>, week of 2026-03-02" in dom.texts
    assert dom.tags.count("table") == 2 and dom.tags.count("svg") == 3  # trend, heat map, lifecycle


def test_the_html_sections_fall_back_when_the_week_is_empty():
    dom = parsed(render_html(report(top_posts=[], engagement_breakdown={}, recommendations=[], best_times=[],
                                    timezone="Asia/Kolkata")))
    assert dom.tags.count("table") == 0
    assert dom.texts.count("No posts this week.") == 2
    assert "None this week." in dom.texts and "No slot has 2 posts yet." in dom.texts
    assert any(text.endswith(" · weeks are UTC; days and hours below are Asia/Kolkata") for text in dom.texts)


def test_markdown_tables_are_aligned_pipe_tables_with_escaped_cells():
    markdown = render_markdown(report())
    assert (
        "| metric                              |   value |\n"
        "|:------------------------------------|--------:|\n"
        "| Posts published                     |       2 |\n"
        "| Impressions                         |   1,400 |\n"
        "| Engagements                         |      64 |\n"
        "| Avg engagement rate                 |   3.50% |\n"
        "| Profile views (7 days)              |      28 |\n"
        "| Estimated recruiter reach (30 days) |      12 |\n"
    ) in markdown
    top_post_row = next(line for line in markdown.splitlines() if "alert" in line)
    cells = [cell.strip() for cell in top_post_row.replace("\\|", "\0").split("|")[1:-1]]
    assert cells == ["1", "<script>alert('x')</script> Q&A \0 \"quoted\"", "video & <i>", "1,000", "60", "6.00%"]
    assert (
        "|   rank | slot (UTC)   |   avg engagement rate |   posts |\n"
        "|-------:|:-------------|----------------------:|--------:|\n"
        "|      1 | Monday 09:00 |                 3.00% |       2 |\n"
    ) in markdown


def test_predicted_vs_actual_chart_is_valid_svg_with_one_point_per_post_on_log_axes():
    svg = predicted_vs_actual_svg([9, 0, -3], [99, 0, 0], HOSTILE)
    root = ET.fromstring(svg)  # well-formed: the title is escaped, not markup
    ns = "{http://www.w3.org/2000/svg}"
    assert root.get("aria-label") == HOSTILE and root.find(f"{ns}text").text == HOSTILE
    points = [(c.get("cx"), c.get("cy")) for c in root.iter(f"{ns}circle")]
    # log10(1 + 9) = 1 and log10(1 + 99) = 2 on a 360 px square, 44 px padding, axes up to 2:
    # 136 px per decade, so (44 + 136, 360 - 44 - 272); a negative count is drawn at 0.
    assert points == [("180.0", "44.0"), ("44.0", "316.0"), ("44.0", "316.0")]
    labels = [t.text for t in root.iter(f"{ns}text")]
    assert labels.count("1") == labels.count("10") == labels.count("100") == 2 and "1,000" not in labels
