"""verify_texts.normalized becomes the reader's form (interface §20): every indexed statement is read again

The authenticity index is derived data: each published statement's text as a reader sees it (list markers and
alt texts delimited) and its shingles are rebuilt from the revision that was published. No column changes.

Revision ID: 0018_verify_reader_form
Revises: 0017_case_intake_waived
"""
from alembic import op
import sqlalchemy as sa


revision = '0018_verify_reader_form'
down_revision = '0017_case_intake_waived'
branch_labels = None
depends_on = None


def upgrade():
    from publishing.verify import bare, reader_form, shingles, statement_form
    from review.renderings import body_hash

    conn = op.get_bind()
    rows = conn.execute(sa.text(
        "SELECT v.statement_id, r.body FROM verify_texts v "
        "JOIN revisions r ON r.statement_id = v.statement_id AND r.hash = v.revision_hash"
    )).all()
    for statement_id, body in rows:
        # the page shows the stored portal rendering (the oldest kept: what was approved), else today's renderer
        stored = conn.execute(sa.text(
            "SELECT html FROM renderings WHERE body_hash = :h AND renderer = 'portal' ORDER BY created_at LIMIT 1"
        ), {"h": body_hash(body)}).scalar()
        form = reader_form(stored) if stored is not None else statement_form(body)
        conn.execute(sa.text("UPDATE verify_texts SET normalized = :form WHERE statement_id = :id"),
                     {"form": form, "id": statement_id})
        conn.execute(sa.text("DELETE FROM verify_shingles WHERE statement_id = :id"), {"id": statement_id})
        grams = [{"shingle": h, "id": statement_id} for h in shingles(bare(form))]
        if grams:
            conn.execute(sa.text("INSERT INTO verify_shingles (shingle, statement_id) VALUES (:shingle, :id)"),
                         grams)


def downgrade():
    # the old form is not kept; `huiying verify reindex` after emptying both tables rebuilds whichever is current
    pass
