"""core/reports.py on a hand-built report: the HTML template escapes report text, the Markdown tables."""

import re
import xml.etree.ElementTree as ET
from html.parser import HTMLParser

from social_pipeline.core.reports import predicted_vs_actual_svg, render_html, render_markdown
from social_pipeline_tests.helpers import HOSTILE
from social_pipeline_tests.helpers import sample_report as report


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
    dom = parsed(
        render_html(
            report(top_posts=[], engagement_breakdown={}, recommendations=[], best_times=[], timezone="Asia/Kolkata")
        )
    )
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


def heatmap_cells(page: str) -> dict[str, dict]:
    """The heat map's cells of a rendered report, by tooltip start ("Thursday 18:00"): their SVG attributes."""
    svg = page[page.index('<svg xmlns="http://www.w3.org/2000/svg" role="img" aria-label="Engagement rate by day') :]
    root = ET.fromstring(svg[: svg.index("</svg>") + len("</svg>")])
    ns = "{http://www.w3.org/2000/svg}"
    return {
        " ".join(rect.find(f"{ns}title").text.split()[:2]): {**rect.attrib, "title": rect.find(f"{ns}title").text}
        for rect in root.iter(f"{ns}rect")
    }


def test_the_heat_map_mutes_slots_below_the_two_post_rule_so_the_best_slot_is_the_darkest():
    # alice_data's case: Thursday 18:00 has the highest rate from one post, Wednesday 19:00 is the best slot.
    best = {"day_name": "Wednesday", "hour": 19, "avg_engagement_rate": 9.0, "posts_count": 3}
    heat = [
        {"day_of_week": 3, "hour": 18, "avg_engagement_rate": 17.1, "posts_count": 1},
        {"day_of_week": 2, "hour": 19, "avg_engagement_rate": 9.0, "posts_count": 3},
        {"day_of_week": 0, "hour": 9, "avg_engagement_rate": 4.5, "posts_count": 2},
    ]
    page = render_html(report(best_times=[best], engagement_heatmap=heat))
    cells = heatmap_cells(page)
    one_post, best_cell, half = cells["Thursday 18:00"], cells["Wednesday 19:00"], cells["Monday 09:00"]
    # The colour scale tops out at the best ranked slot: it is the darkest blue, a slot at half its rate halfway.
    assert best_cell["fill"] == "rgb(31,81,158)" and best_cell.get("fill-opacity", "1") == "1"
    assert half["fill"] == "rgb(135,164,206)"  # 239 - 0.5 * 208 = 135, 246 - 0.5 * 165 = 163.5 -> 164, 206.5 -> 206
    # The one-post slot is drawn faded (30 % opacity) with a dashed border, and says why it is not ranked.
    assert one_post["fill-opacity"] == "0.3" and one_post["stroke-dasharray"] == "3 2" and "fill-opacity" not in half
    assert one_post["title"] == "Thursday 18:00 UTC: 17.10% over 1 post (below the 2-post rule, not ranked)"
    # The best slot carries an outline, and the legend explains both marks.
    assert best_cell["stroke"] == "#101828" and "stroke-dasharray" not in best_cell and "stroke" not in half
    assert "Faded, dashed cells: fewer than 2 posts, not ranked. Outlined: the best slot." in parsed(page).texts


def test_a_bluesky_report_names_its_network_and_its_per_follower_basis_and_an_x_report_stays_as_it_was():
    bluesky = report(network="bluesky", engagement_basis="followers", user_id="duckpond.bsky.social")
    note = (
        "Network: Bluesky; engagement rates are engagements per follower at posting time (the network counts "
        "no views), not comparable with rates per impression."
    )
    assert note in render_markdown(bluesky).splitlines()
    assert note in render_html(bluesky)
    assert "| Impressions                         | not counted |" in render_markdown(bluesky).splitlines()
    x = report(network="x", engagement_basis="impressions")
    assert "Network:" not in render_markdown(x) and 'id="network"' not in render_html(x)


def markdown_table(markdown: str, heading: str) -> list[list[str]]:
    """The cells of the pipe table under `heading`, header first (the alignment row left out)."""
    lines = markdown.splitlines()
    start = lines.index(heading) + 2
    rows = []
    for line in lines[start:]:
        if not line.startswith("|"):
            break
        rows.append([cell.strip() for cell in re.split(r"(?<!\\)\|", line.strip("|"))])
    return [rows[0], *rows[2:]]


def html_section(page: str, div_id: str) -> list[str]:
    """The texts of the element with id `div_id` (the report's tables sit in such divs)."""
    start = page.index(">", page.index(f'id="{div_id}"')) + 1
    return [t for t in parsed(page[start : page.index("</div>", start)]).texts if t.strip()]


BLUESKY_TOP_POSTS = [
    {"content": "Ducks", "content_type": "image", "impressions": None, "engagements": 75, "engagement_rate": 15.0},
    {"content": "Ponds", "content_type": "text", "impressions": None, "engagements": 10, "engagement_rate": 2.0},
]


def test_a_bluesky_reports_top_posts_show_engagements_per_follower_and_no_impressions():
    bluesky = report(
        network="bluesky",
        engagement_basis="followers",
        top_posts=BLUESKY_TOP_POSTS,
        engagement_breakdown={
            "image": {"posts": 1, "impressions": None, "engagements": 75, "avg_engagement_rate": 15.0}
        },
    )
    markdown = render_markdown(bluesky)
    assert markdown_table(markdown, "## Top posts") == [
        ["#", "post", "type", "engagements", "engagement rate per follower"],
        ["1", "Ducks", "image", "75", "15.00%"],
        ["2", "Ponds", "text", "10", "2.00%"],
    ]
    assert markdown_table(markdown, "## Engagement by content type") == [
        ["content type", "posts", "engagements", "avg engagement rate per follower"],
        ["image", "1", "75", "15.00%"],
    ]
    assert html_section(render_html(bluesky), "top-posts") == [
        "#", "post", "type", "engagements", "engagement rate per follower",
        "1", "Ducks", "image", "75", "15.00%",
        "2", "Ponds", "text", "10", "2.00%",
    ]  # fmt: skip


def test_an_x_reports_top_posts_keep_their_impressions():
    x = report(network="x", engagement_basis="impressions")
    table = markdown_table(render_markdown(x), "## Top posts")
    assert table[0] == ["#", "post", "type", "impressions", "engagements", "engagement rate"]
    assert [row[3:] for row in table[1:]] == [["1,000", "60", "6.00%"], ["400", "4", "1.00%"]]
    texts = html_section(render_html(x), "top-posts")
    assert texts[:6] == ["#", "post", "type", "impressions", "engagements", "engagement rate"]
    assert texts[-6:] == ["2", "Chart of the week", "image", "400", "4", "1.00%"]


def test_a_bluesky_report_says_its_lifecycle_and_alerts_need_impressions_instead_of_an_empty_chart():
    bluesky = render_html(report(network="bluesky", engagement_basis="followers"))
    assert 'id="lifecycle-not-counted"' in bluesky and 'id="lifecycle"' not in bluesky
    assert html_section(bluesky, "post-alerts") == ["Not available: this network counts no impressions."]
    x = render_html(report(network="x", engagement_basis="impressions"))
    assert 'id="lifecycle"' in x and "lifecycle-not-counted" not in x
    assert html_section(x, "post-alerts") == ["No post left its expected band this week."]
