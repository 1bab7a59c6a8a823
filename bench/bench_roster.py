"""Importing a 10,000-row roster with emails against the simulated Slack's rate limits.

The simulated Slack runs in a process of its own (`bench.slack_process --slack-limits`: Tier 3
for users.lookupByEmail, Tier 2 for users.list, as Slack documents them) with 10,000 people.
Times the dry run (parse, resolve the emails, plan), the apply (the same, then one transaction)
and a re-import of the same file (nothing to change), each with the Slack calls it made; then
`--lookups` new emails looked up one by one (fewer than the directory-scan threshold), which
shows the Tier 3 pace a small import gets.

    python -m bench.bench_roster [--rows 10000] [--lookups 40] [--database-url postgresql+psycopg://…]
"""

from __future__ import annotations

import argparse
import contextlib
import tempfile
import time
from pathlib import Path

from bench.bench_http import _helper
from bench.databases import bench_database
from bench.slack_process import TOKEN, user_ids
from bot.services import build_services
from bot.settings import parse_settings
from bot.usecases.roster import (
    SCAN_ABOVE,
    RosterPreview,
    SlackDirectory,
    apply_roster,
    preview_roster,
)
from storage.db import Database


def _roster(users: list[str], unknown: int) -> bytes:
    """Email, department, manager (a tree ten wide), title, office, country, hire date, level;
    `unknown` emails nobody in Slack has."""
    lines = ["email,department,manager_email,title,office,country,hire_date,level"]
    for index, user in enumerate(users):
        manager = f"{users[(index - 1) // 10].lower()}@example.com" if index else ""
        lines.append(
            f"{user.lower()}@example.com,Dept {index % 40},{manager},Title {index % 12},"
            f"Office {index % 9},DE,2020-01-{1 + index % 28:02d},{index % 10}"
        )
    lines += [f"gone{n}@example.com,Dept 0,,,,,," for n in range(unknown)]
    return "\n".join(lines).encode()


def _line(label: str, seconds: float, preview: RosterPreview) -> str:
    f = preview.figures
    return (
        f"{label:<28} {seconds:7.1f} s  lookupByEmail {f.lookups:5d}  users.list {f.list_pages:3d}"
        f"  429s {f.rate_limited:3d}  waited {f.waited:6.1f} s"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--unknown", type=int, default=25, help="emails Slack does not know")
    parser.add_argument("--lookups", type=int, default=40, help="new emails looked up singly")
    parser.add_argument("--database-url", default=None, help="default: a temporary SQLite file")
    args = parser.parse_args()
    users = user_ids(args.rows + args.lookups)
    roster, extra = users[: args.rows], users[args.rows :]
    data = _roster(roster, args.unknown)

    with (
        tempfile.TemporaryDirectory() as folder,
        bench_database(args.database_url, Path(folder)) as url,
        contextlib.ExitStack() as stack,
    ):
        api_url, _pid = stack.enter_context(
            _helper(
                "bench.slack_process",
                *("--users", str(len(users)), "--latency", "0", "--slack-limits"),
            )
        )
        settings = parse_settings(
            {
                "SLACK_BOT_TOKEN": TOKEN,
                "SLACK_SIGNING_SECRET": "bench-signing-secret",
                "SLACK_API_URL": api_url,
                "DATABASE_URL": url,
            }
        )
        db = Database(url)
        db.migrate()
        services = build_services(settings, db=db)
        print(f"{args.rows} rows ({len(data) / 1e6:.1f} MB), {args.unknown} unknown emails")

        def preview(body: bytes, directory: SlackDirectory) -> tuple[float, RosterPreview]:
            started = time.perf_counter()
            result = preview_roster(db, directory, body, name="roster.csv", full=False)
            return time.perf_counter() - started, result

        seconds, dry = preview(data, SlackDirectory(services.client))
        print(_line("dry run", seconds, dry))
        assert not dry.plan.blocking, dry.plan.problems[:3]

        seconds, planned = preview(data, SlackDirectory(services.client))
        started = time.perf_counter()
        applied = apply_roster(
            services.delivery, planned, actor=None, source="bench", default_locale="en"
        )
        written = time.perf_counter() - started
        print(_line("apply: preview", seconds, planned))
        print(f"{'apply: one transaction':<28} {written:7.1f} s  created {applied.created}")

        seconds, again = preview(data, SlackDirectory(services.client))
        started = time.perf_counter()
        same = apply_roster(
            services.delivery, again, actor=None, source="bench", default_locale="en"
        )
        seconds += time.perf_counter() - started
        print(_line("re-import (no change)", seconds, again) + f"  import {same.import_id}")

        # A small import: new emails one by one at Tier 3's pace.
        small = b"email\n" + "\n".join(f"{u.lower()}@example.com" for u in extra).encode()
        assert len(extra) <= SCAN_ABOVE
        seconds, singly = preview(small, SlackDirectory(services.client))
        print(_line(f"{len(extra)} new emails singly", seconds, singly))
        per_minute = singly.figures.lookups / seconds * 60 if seconds else 0.0
        print(f"lookupByEmail pace: {per_minute:.0f} a minute (Tier 3: 50)")
        services.db.dispose()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
