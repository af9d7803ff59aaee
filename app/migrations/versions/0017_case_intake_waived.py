"""case intake keys (Idempotency-Key of POST /cases) and waived deadlines (a case closed before they were due)

Revision ID: 0017_case_intake_waived
Revises: 0016_case_first_response
"""
from alembic import op
import sqlalchemy as sa


revision = '0017_case_intake_waived'
down_revision = '0016_case_first_response'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('case_intake_keys',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('actor_id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=128), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['actor_id'], ['users.id'], ),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    # exact across workers: a second submit of the same form loses the insert, not a race
    sa.UniqueConstraint('actor_id', 'key', name='uq_case_intake_keys_actor_key')
    )
    with op.batch_alter_table('deadlines', schema=None) as batch_op:
        batch_op.add_column(sa.Column('waived_at', sa.DateTime(), nullable=True))
    # interface §20: a clock still running when its case was closed is waived at the closing moment
    # (one already past due at closing stays overdue).
    op.execute(
        "UPDATE deadlines SET waived_at = (SELECT c.closed_at FROM cases c WHERE c.id = deadlines.case_id), "
        "next_alert_at = NULL "
        "WHERE met_at IS NULL AND superseded_at IS NULL AND EXISTS (SELECT 1 FROM cases c "
        "WHERE c.id = deadlines.case_id AND c.status = 'closed' AND c.closed_at IS NOT NULL "
        "AND c.closed_at < deadlines.due_at)"
    )


def downgrade():
    with op.batch_alter_table('deadlines', schema=None) as batch_op:
        batch_op.drop_column('waived_at')
    op.drop_table('case_intake_keys')
