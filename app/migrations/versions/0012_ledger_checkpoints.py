"""ledger_checkpoints: the ledger head signed with a key kept outside the database

Revision ID: 0012_ledger_checkpoints
Revises: 0011_review_comments
"""
from alembic import op
import sqlalchemy as sa


revision = '0012_ledger_checkpoints'
down_revision = '0011_review_comments'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'ledger_checkpoints',
        sa.Column('seq', sa.Integer(), autoincrement=False, nullable=False),
        sa.Column('key_id', sa.String(length=16), nullable=False),
        sa.Column('hash', sa.String(length=64), nullable=False),
        sa.Column('at', sa.String(length=40), nullable=False),
        sa.Column('signature', sa.String(length=128), nullable=False),
        sa.PrimaryKeyConstraint('seq', 'key_id'),
    )


def downgrade():
    op.drop_table('ledger_checkpoints')
