"""A whole matching round through storage: propose, load the review, approve.

Enrolls N mentors and N mentees with random topics into a fresh database, then times
`pairing.propose` (pool query, scoring, optimal assignment, inserting proposals),
`pairing.load_proposal` (what each review page turn loads) and `pairing.approve`.

    python -m bench.bench_pairing [--size 5000] [--database-url postgresql+psycopg://…]
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time
from datetime import date
from pathlib import Path

from bench.databases import bench_database
from bot.domain import pairing
from bot.domain.programs import DEFAULT_TOPICS, ProgramForm, save_program, topic_id
from storage.db import Database
from storage.models import Participant, Program


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--size", type=int, default=5000, help="mentors and mentees each")
    parser.add_argument("--database-url", default=None, help="default: a temporary SQLite file")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    topics = [topic_id(label) for label in DEFAULT_TOPICS]

    with (
        tempfile.TemporaryDirectory() as folder,
        bench_database(args.database_url, Path(folder)) as url,
    ):
        db = Database(url)
        db.migrate()
        form = ProgramForm(
            name="Bench", goals=["g"], start_date=date(2027, 1, 1), end_date=date(2027, 6, 30)
        )
        with db.session() as session:
            program_id = save_program(session, form, admin_id="UBENCH").id
            people = []
            for index in range(2 * args.size):
                role = "mentor" if index < args.size else "mentee"
                chosen = rng.sample(topics, 3)
                people.append(
                    Participant(
                        program_id=program_id or 0,
                        slack_user_id=f"UB{args.seed}{index:06d}",
                        role=role,
                        department=f"Dept {index % 7}",
                        topics_offered=chosen if role == "mentor" else [],
                        topics_wanted=chosen[:2] if role == "mentee" else [],
                        utc_offset_minutes=60 * rng.randint(-5, 8),
                    )
                )
            session.add_all(people)

        started = time.perf_counter()
        with db.session() as session:
            program = session.get(Program, program_id)
            assert program is not None
            proposal = pairing.propose(session, program, "UBENCH")
        propose_seconds = time.perf_counter() - started

        started = time.perf_counter()
        with db.session() as session:
            loaded = pairing.load_proposal(session, proposal.run.id or 0)
        load_seconds = time.perf_counter() - started

        started = time.perf_counter()
        with db.session() as session:
            approved = pairing.approve(session, proposal.run.id or 0, "UBENCH")
        approve_seconds = time.perf_counter() - started
        db.dispose()

    assert loaded is not None
    print(f"{args.size} mentors x {args.size} mentees on {url.split(':')[0]}")
    print(f"  propose       {propose_seconds:6.2f} s  ({len(proposal.pairs)} pairs proposed)")
    print(f"  load review   {load_seconds:6.2f} s  (each page turn)")
    print(f"  approve       {approve_seconds:6.2f} s  ({len(approved)} pairs approved)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
