"""one door: versions for compare-and-set, one published ledger entry per statement

Revision ID: 0005_one_door
Revises: 0004_drop_delivery_job_id
"""
from alembic import op
import sqlalchemy as sa


revision = '0005_one_door'
down_revision = '0004_drop_delivery_job_id'
branch_labels = None
depends_on = None


def upgrade():
    # The compare-and-set counter of every aggregate that has a lifecycle (app/door.py).
    with op.batch_alter_table('statements', schema=None) as batch_op:
        batch_op.add_column(sa.Column('version', sa.Integer(), nullable=False, server_default='0'))
    with op.batch_alter_table('deliveries', schema=None) as batch_op:
        batch_op.add_column(sa.Column('version', sa.Integer(), nullable=False, server_default='0'))
    # Separation of duties is checked by (reviewer, revision hash) across every round.
    op.create_index('ix_decisions_reviewer_hash', 'decisions', ['statement_id', 'reviewer_id', 'revision_hash'])
    # One `published` entry per statement is a fact of the schema, not of lock ordering.
    op.create_index('ux_ledger_published_once', 'ledger_entries', ['statement_id'], unique=True,
                    sqlite_where=sa.text("kind = 'published'"), postgresql_where=sa.text("kind = 'published'"))


def downgrade():
    op.drop_index('ux_ledger_published_once', table_name='ledger_entries')
    op.drop_index('ix_decisions_reviewer_hash', table_name='decisions')
    with op.batch_alter_table('deliveries', schema=None) as batch_op:
        batch_op.drop_column('version')
    with op.batch_alter_table('statements', schema=None) as batch_op:
        batch_op.drop_column('version')
