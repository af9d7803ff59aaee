"""renderings: each channel's HTML of a revision's body, rendered once and reused

Revision ID: 0014_renderings
Revises: 0013_settings
"""
from alembic import op
import sqlalchemy as sa


revision = '0014_renderings'
down_revision = '0013_settings'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'renderings',
        sa.Column('body_hash', sa.String(length=64), nullable=False),
        sa.Column('renderer', sa.String(length=16), nullable=False),
        sa.Column('version', sa.String(length=16), nullable=False),
        sa.Column('html', sa.Text(), nullable=False),
        sa.Column('data', sa.JSON(), nullable=True),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint('body_hash', 'renderer', 'version'),
    )


def downgrade():
    op.drop_table('renderings')
