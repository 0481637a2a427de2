"""analytics.post_follower_gain, refreshed from what changed since its last run.

A post's gain from the account's figures needs its figures around publication and 24 h later, and the
account's usual growth: the median of all its one-hour steps without a post. An agency's year of hourly
figures is millions of rows; reading them all each hour (steps, and a lookup per post) grew with the
history. So the run keeps, in `ops`:

- the one-hour steps counted by gain, and how many of them hold a post (`follower_steps`), with each
  account's newest figure (`follower_last_snapshots`) to continue from: new figures add their steps;
- each post's figures (`follower_post_windows`), read again only while its 24 h are open, or when the
  post is new or its publication time changed;
- the count and a hash sum of the figures read (`follower_gain_inputs`).

While the figures up to the newest one read still match that count and hash, only later figures are new.
Otherwise (figures added in the past, removed or changed, or the first run) every figure is read again.
The median comes from the counts, exactly as `median()` over the steps gives it. Rows are rewritten for
the posts whose figures were read, whose account's usual growth moved, whose export figure changed or
that are gone."""

from __future__ import annotations

from .sql_files import scalar, sql_loader

sql = sql_loader(__file__)

INPUTS_TABLE = "ops.follower_gain_inputs"
# The digest's modulus (follower_gain_figures_digest.sql): digests of two stretches add up modulo it.
HASH_MODULUS = 9223372036854775783
STATE_TABLES = ("ops.follower_steps", "ops.follower_last_snapshots", "ops.follower_post_windows", INPUTS_TABLE)
# The queries behind the table (part of the asset's code version).
FOLLOWER_GAIN_SQL = (
    "follower_gain_figures_digest",
    "follower_gain_rows",
    "follower_gain_new_steps",
    "follower_gain_dirty_posts",
    "follower_gain_windows",
    "follower_gain_steps_with_post",
    "follower_gain_baselines",
    "follower_gain_export",
    "follower_gain_recomputed_posts",
    "post_follower_gain",
)
_TEMP_TABLES = (
    "follower_rows",
    "follower_dirty_posts",
    "follower_removed_posts",
    "follower_changed_accounts",
    "follower_baselines_before",
    "follower_baselines",
    "follower_export",
)


def refresh_follower_gain(con) -> dict:
    """Bring the state up to date and rewrite the rows of analytics.post_follower_gain that change, in the
    caller's transaction. Returns `history_scanned` (every figure read again), `new_figures`,
    `posts_read` (the posts whose figures were looked up) and `posts_recomputed` (whose rows were
    replaced); leaves those posts in the temp table follower_gain_posts for the caller's metadata."""
    recorded = _recorded_inputs(con)
    history_scanned = not _unchanged(con, recorded)
    if history_scanned:
        recorded = (0, 0, None)
        for table in STATE_TABLES:
            con.execute(f"DELETE FROM {table}")
    newest_read = recorded[2]
    con.execute(f"CREATE OR REPLACE TEMP TABLE follower_baselines_before AS {sql('follower_gain_baselines')}")
    params = {"newest_collected_at": newest_read}
    con.execute(f"CREATE OR REPLACE TEMP TABLE follower_rows AS {sql('follower_gain_rows')}", params)
    new_figures = scalar(con, "SELECT count(*) FROM follower_rows") - scalar(
        con, "SELECT count(*) FROM ops.follower_last_snapshots"
    )
    _add_steps(con)
    _replace_last_snapshots(con)
    posts_read = _read_post_windows(con, newest_read)
    _count_steps_with_post(con)
    _record_inputs(con, recorded)
    recomputed = _rewrite_changed_rows(con, history_scanned)
    for table in _TEMP_TABLES:
        con.execute(f"DROP TABLE IF EXISTS {table}")
    return {
        "history_scanned": history_scanned,
        "new_figures": int(new_figures),
        "posts_read": posts_read,
        "posts_recomputed": recomputed,
    }


def _recorded_inputs(con) -> tuple:
    """(count, hash sum, newest time) of the figures read so far; nothing read: (0, 0, None)."""
    recorded = con.execute(f"SELECT snapshot_rows, snapshot_hash, newest_collected_at FROM {INPUTS_TABLE}").fetchall()
    return recorded[0] if len(recorded) == 1 else (0, 0, None)


def _unchanged(con, recorded: tuple) -> bool:
    """Whether every figure up to the newest one read is as it was then."""
    rows, digest, newest = recorded
    return newest is not None and _digest(con, after=None, up_to=newest) == (rows, digest)


def _digest(con, after, up_to) -> tuple:
    """(count, hash sum) of the follower figures after `after` and up to `up_to`."""
    return con.execute(sql("follower_gain_figures_digest"), {"after": after, "up_to": up_to}).fetchall()[0]


def _add_steps(con) -> None:
    """follower_rows' one-hour steps added to the counts by gain."""
    con.execute(f"CREATE OR REPLACE TEMP TABLE follower_new_steps AS {sql('follower_gain_new_steps')}")
    con.execute(
        "UPDATE ops.follower_steps AS s SET steps = s.steps + n.steps FROM follower_new_steps AS n "
        "WHERE s.user_id = n.user_id AND s.gain = n.gain"
    )
    con.execute(
        "INSERT INTO ops.follower_steps SELECT user_id, gain, steps, 0 FROM follower_new_steps AS n WHERE NOT EXISTS "
        "(SELECT 1 FROM ops.follower_steps AS s WHERE s.user_id = n.user_id AND s.gain = n.gain)"
    )
    con.execute("DROP TABLE follower_new_steps")


def _replace_last_snapshots(con) -> None:
    con.execute(
        "CREATE OR REPLACE TEMP TABLE follower_newest AS SELECT user_id, max(collected_at) AS collected_at, "
        "arg_max(followers, collected_at) AS followers FROM follower_rows GROUP BY user_id"
    )
    con.execute("DELETE FROM ops.follower_last_snapshots WHERE user_id IN (SELECT user_id FROM follower_newest)")
    con.execute("INSERT INTO ops.follower_last_snapshots SELECT * FROM follower_newest")
    con.execute("DROP TABLE follower_newest")


def _read_post_windows(con, newest_read) -> int:
    """Look up the figures of the posts that need it (follower_dirty_posts); drop the windows of posts no
    longer there (follower_removed_posts)."""
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE follower_dirty_posts AS {sql('follower_gain_dirty_posts')}",
        {"newest_collected_at": newest_read},
    )
    posts_read = scalar(con, "SELECT count(*) FROM follower_dirty_posts")
    if posts_read:
        read_from = scalar(con, "SELECT min(published_at) - INTERVAL 1 HOUR FROM follower_dirty_posts")
        con.execute(
            f"CREATE OR REPLACE TEMP TABLE follower_windows AS {sql('follower_gain_windows')}",
            {"read_from": read_from},
        )
        # The account a moved post had before counts its steps again too.
        con.execute(
            "CREATE OR REPLACE TEMP TABLE follower_changed_accounts AS SELECT DISTINCT user_id FROM "
            "(SELECT user_id FROM follower_dirty_posts UNION ALL SELECT user_id FROM ops.follower_post_windows "
            "WHERE post_id IN (SELECT post_id FROM follower_dirty_posts))"
        )
        con.execute("DELETE FROM ops.follower_post_windows WHERE post_id IN (SELECT post_id FROM follower_dirty_posts)")
        con.execute("INSERT INTO ops.follower_post_windows SELECT * FROM follower_windows")
        con.execute("DROP TABLE follower_windows")
    else:
        con.execute("CREATE OR REPLACE TEMP TABLE follower_changed_accounts (user_id VARCHAR)")
    con.execute("CREATE OR REPLACE TEMP TABLE follower_removed_posts (post_id VARCHAR)")
    # Every post now has a window; more windows than posts means posts were removed.
    if scalar(con, "SELECT count(*) FROM ops.follower_post_windows") > scalar(con, "SELECT count(*) FROM raw.posts"):
        con.execute(
            "INSERT INTO follower_removed_posts SELECT post_id FROM ops.follower_post_windows "
            "WHERE post_id NOT IN (SELECT post_id FROM raw.posts)"
        )
        con.execute(
            "INSERT INTO follower_changed_accounts SELECT DISTINCT user_id FROM ops.follower_post_windows "
            "WHERE post_id IN (SELECT post_id FROM follower_removed_posts)"
        )
        con.execute(
            "DELETE FROM ops.follower_post_windows WHERE post_id IN (SELECT post_id FROM follower_removed_posts)"
        )
    return int(posts_read)


def _count_steps_with_post(con) -> None:
    """steps_with_post counted again for the accounts whose posts' figures changed."""
    con.execute(f"CREATE OR REPLACE TEMP TABLE follower_steps_with_post AS {sql('follower_gain_steps_with_post')}")
    con.execute(
        "UPDATE ops.follower_steps SET steps_with_post = 0 "
        "WHERE steps_with_post > 0 AND user_id IN (SELECT user_id FROM follower_changed_accounts)"
    )
    con.execute(
        "UPDATE ops.follower_steps AS s SET steps_with_post = b.steps_with_post FROM follower_steps_with_post AS b "
        "WHERE s.user_id = b.user_id AND s.gain = b.gain"
    )
    con.execute("DROP TABLE follower_steps_with_post")


def _rewrite_changed_rows(con, history_scanned: bool) -> int:
    """Rewrite the rows of the posts whose figures were read or removed, whose account's usual growth moved
    or whose export figure changed (every post after a full read). Rewriting an agency's whole table each
    hour cost more than computing it."""
    con.execute(f"CREATE OR REPLACE TEMP TABLE follower_baselines AS {sql('follower_gain_baselines')}")
    con.execute(f"CREATE OR REPLACE TEMP TABLE follower_export AS {sql('follower_gain_export')}")
    if history_scanned:
        con.execute("CREATE OR REPLACE TEMP TABLE follower_gain_posts AS SELECT post_id FROM raw.posts")
        con.execute("DELETE FROM analytics.post_follower_gain")
    else:
        con.execute(f"CREATE OR REPLACE TEMP TABLE follower_gain_posts AS {sql('follower_gain_recomputed_posts')}")
        con.execute(
            "DELETE FROM analytics.post_follower_gain WHERE post_id IN (SELECT post_id FROM follower_gain_posts)"
        )
    con.execute(f"INSERT INTO analytics.post_follower_gain BY NAME {sql('post_follower_gain')}")
    return int(scalar(con, "SELECT count(*) FROM follower_gain_posts"))


def _record_inputs(con, recorded: tuple) -> None:
    """The digest of every figure read: the one recorded plus this run's new figures'. The newest figure
    read is follower_rows' newest (the accounts' last figures and the new ones)."""
    rows, digest, newest = recorded
    new_rows, new_digest = _digest(con, after=newest, up_to=None)
    con.execute(f"DELETE FROM {INPUTS_TABLE}")
    con.execute(
        f"INSERT INTO {INPUTS_TABLE} SELECT $rows, $digest, max(collected_at) FROM follower_rows "
        "HAVING max(collected_at) IS NOT NULL",
        {"rows": rows + new_rows, "digest": (digest + new_digest) % HASH_MODULUS},
    )
