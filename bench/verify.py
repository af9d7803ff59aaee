"""The public authenticity check against a large record (issue 10): the shingle index picks a few candidates
with one grouped query, against a brute-force baseline that compares the pasted text with every published
text. Texts are synthetic (a fixed vocabulary of common characters), written straight into the index.

    python -m bench.verify [N]       # N published statements, default 20,000 (the issue's 100,000 takes
                                     # a few minutes and ~1 GB of SQLite on a small machine)
"""

from __future__ import annotations

import random
import sys
import time

from bench import common
from bench.checks import COMMON

QUERIES = 40


def statement(rng: random.Random) -> str:
    """A statement-sized text: sentences of common characters, 200–900 characters."""
    sentences = []
    for _ in range(rng.randint(8, 30)):
        sentences.append("".join(rng.choice(COMMON) for _ in range(rng.randint(12, 30))) + "。")
    return "\n\n".join(sentences)


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 20_000
    from sqlalchemy import insert

    from app import create_app
    from app.extensions import db
    from publishing import verify

    path = f"{common.os.environ['HUIYING_INSTANCE']}/verify-bench.db"
    app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{path}"})
    rng = random.Random(10)
    with app.app_context():
        db.metadata.create_all(db.engine, tables=[verify.VerifyText.__table__, verify.VerifyShingle.__table__])
        started = time.perf_counter()
        texts: list[str] = []
        for batch_start in range(0, n, 2000):
            docs, grams = [], []
            for i in range(batch_start + 1, min(n, batch_start + 2000) + 1):
                form = verify.statement_form(statement(rng))
                texts.append(verify.bare(form))
                docs.append({"statement_id": i, "revision_hash": f"{i:064x}", "normalized": form})
                grams.extend({"shingle": h, "statement_id": i} for h in verify.shingles(verify.bare(form)))
            db.session.execute(insert(verify.VerifyText), docs)
            db.session.execute(insert(verify.VerifyShingle), grams)
            db.session.commit()
        rows = db.session.scalar(db.select(db.func.count()).select_from(verify.VerifyShingle))
        print(f"indexed {n:,} statements, {rows:,} shingle rows in {time.perf_counter() - started:.0f} s")

        picks = [rng.randrange(n) for _ in range(QUERIES)]
        queries = []
        for k, i in enumerate(picks):
            text = texts[i]
            if k % 2:  # a doctored copy: a few characters changed
                chars = list(text)
                for j in rng.sample(range(len(chars)), 6):
                    chars[j] = rng.choice(COMMON)
                text = "".join(chars)
            queries.append(("转发：" + text, i + 1))

        def indexed(q: str) -> int | None:
            # the statements' titles and sources live in `revisions`, absent here: judge against the form alone
            found = None
            ids = verify.candidate_ids(verify.normalize(q))
            for doc in db.session.scalars(db.select(verify.VerifyText).where(verify.VerifyText.statement_id.in_(ids))):
                m = verify.judge(verify.normalize(q), doc.normalized, "", verify.bare(doc.normalized))
                if m is not None and (found is None or (m.rank, m.score) > (found[0].rank, found[0].score)):
                    found = (m, doc)
            return found[1].statement_id if found else None

        def brute(q: str) -> int | None:
            from rapidfuzz import fuzz

            norm = verify.normalize(q)
            best = max(range(n), key=lambda i: (texts[i] in norm, fuzz.ratio(texts[i], norm)))
            return best + 1

        fast, slow = [], []
        for q, expected in queries:
            t0 = time.perf_counter()
            assert indexed(q) == expected
            fast.append((time.perf_counter() - t0) * 1000)
        for q, expected in queries[:5]:
            t0 = time.perf_counter()
            assert brute(q) == expected
            slow.append((time.perf_counter() - t0) * 1000)
    p95, base = common.percentile(fast, 95), common.percentile(slow, 95)
    print(f"  shingle index   p50 {common.percentile(fast, 50):8.1f} ms  p95 {p95:8.1f} ms  ({QUERIES} queries)")
    print(f"  brute force     p50 {common.percentile(slow, 50):8.1f} ms  p95 {base:8.1f} ms  (5 queries)")
    print(f"  speed-up {base / p95:.0f}×; {'OK' if p95 < 200 else 'OVER BUDGET'}: p95 {p95:.1f} ms < 200 ms")


if __name__ == "__main__":
    main()
