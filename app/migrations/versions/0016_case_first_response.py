"""cases.first_response_at: the earliest counted response, kept by the services for the reports

Revision ID: 0016_case_first_response
Revises: 0015_delegation
"""
from alembic import op
import sqlalchemy as sa


revision = '0016_case_first_response'
down_revision = '0015_delegation'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.add_column(sa.Column('first_response_at', sa.DateTime(), nullable=True))
    op.execute(
        "UPDATE cases SET first_response_at = (SELECT min(r.held_at) FROM case_responses r "
        "WHERE r.case_id = cases.id AND r.counted AND r.held_at IS NOT NULL)"
    )


def downgrade():
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.drop_column('first_response_at')
