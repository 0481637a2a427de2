"""The analytics seed's recommendation rules, as one pure function.

Rules (thresholds are the seed's; a value exactly at a threshold does not fire):
1. posting frequency: fewer than 3 posts in the week -> post 3-5 a week;
   more than 10 -> post less, for quality;
2. engagement rate: average below 2 % -> more engaging formats; above 5 % -> keep going;
3. content diversity: fewer than 3 content types -> diversify;
4. posting times: the top time slot, with its real figures, in the account's time zone;
5. profile views: fewer than 50 in the week -> more professional content.

As in the seed, every rule applies to every week: a week without posts has rate 0 and no
content types, so rules 2 and 3 fire too. Posts whose content type is unknown (X's export
files do not say) make the type count unknowable: rule 3 then stays silent.
"""

from __future__ import annotations

MIN_POSTS_PER_WEEK = 3
MAX_POSTS_PER_WEEK = 10
LOW_ENGAGEMENT_RATE_PCT = 2.0
HIGH_ENGAGEMENT_RATE_PCT = 5.0
MIN_CONTENT_TYPES = 3
MIN_PROFILE_VIEWS_PER_WEEK = 50
# engagement_by_content_type's name for posts whose source gives no content type.
UNKNOWN_CONTENT_TYPE = "unknown"


def recommendations(
    total_posts: int,
    avg_engagement_rate_pct: float,
    content_types: list[str] | tuple[str, ...],
    best_times: list[dict],
    profile_views_7d: int | None,
) -> list[str]:
    """Human-readable recommendations for one user and week, in the seed's rule order."""
    advice: list[str] = []
    posts = int(total_posts or 0)
    if posts < MIN_POSTS_PER_WEEK:
        advice.append(
            f"Post more consistently: {posts} post{'s' if posts != 1 else ''} this week; "
            f"aim for {MIN_POSTS_PER_WEEK}-5 posts per week."
        )
    elif posts > MAX_POSTS_PER_WEEK:
        advice.append(
            f"You published {posts} posts this week; consider fewer, higher-quality posts "
            f"(more than {MAX_POSTS_PER_WEEK} a week tends to dilute engagement)."
        )

    rate = float(avg_engagement_rate_pct or 0.0)
    if rate < LOW_ENGAGEMENT_RATE_PCT:
        advice.append(
            f"Average engagement rate is {rate:.2f}% (below {LOW_ENGAGEMENT_RATE_PCT:.0f}%): try more "
            "engaging formats such as questions, polls, threads and images."
        )
    elif rate > HIGH_ENGAGEMENT_RATE_PCT:
        advice.append(
            f"Excellent engagement rate of {rate:.2f}% (above {HIGH_ENGAGEMENT_RATE_PCT:.0f}%): "
            "keep up your current content strategy."
        )
    used = sorted({str(t) for t in content_types if t is not None and str(t) != UNKNOWN_CONTENT_TYPE})
    type_unknown = any(t is None or str(t) == UNKNOWN_CONTENT_TYPE for t in content_types)
    if len(used) < MIN_CONTENT_TYPES and not type_unknown:
        shown = ", ".join(used) if used else "none"
        advice.append(
            f"Diversify your content: only {len(used)} content type{'s' if len(used) != 1 else ''} "
            f"used ({shown}); mix in at least {MIN_CONTENT_TYPES} (e.g. images, threads, polls)."
        )

    if best_times:
        top = best_times[0]
        advice.append(
            f"Your best time to post is {top['day_name']} at {int(top['hour']):02d}:00 {top.get('timezone') or 'UTC'} "
            f"(avg engagement {float(top['avg_engagement_rate']):.2f}% over {int(top['posts_count'])} posts)."
        )

    if profile_views_7d is not None and int(profile_views_7d) < MIN_PROFILE_VIEWS_PER_WEEK:
        advice.append(
            f"Profile views were {int(profile_views_7d)} this week (below {MIN_PROFILE_VIEWS_PER_WEEK}): "
            "share more professional content (projects, lessons learned, industry insights) to attract recruiters."
        )
    return advice
