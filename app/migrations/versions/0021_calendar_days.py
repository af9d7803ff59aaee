"""calendar days: the office's holidays and make-up working days over chinesecalendar (issue 29)

Revision ID: 0021_calendar_days
Revises: 0020_case_attachments
"""
from alembic import op
import sqlalchemy as sa


revision = '0021_calendar_days'
down_revision = '0020_case_attachments'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('calendar_days',
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('kind', sa.String(length=8), nullable=False),
    sa.Column('note', sa.String(length=64), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.Column('updated_by_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['updated_by_id'], ['users.id'], ),
    sa.PrimaryKeyConstraint('day')
    )


def downgrade():
    op.drop_table('calendar_days')
