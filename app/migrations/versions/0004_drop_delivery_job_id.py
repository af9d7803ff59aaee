"""drop deliveries.job_id: the sweeper reads live jobs from RQ itself

Revision ID: 0004_drop_delivery_job_id
Revises: 0003_revision_author_index
"""
from alembic import op
import sqlalchemy as sa


revision = '0004_drop_delivery_job_id'
down_revision = '0003_revision_author_index'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('deliveries', schema=None) as batch_op:
        batch_op.drop_column('job_id')


def downgrade():
    with op.batch_alter_table('deliveries', schema=None) as batch_op:
        batch_op.add_column(sa.Column('job_id', sa.String(length=64), nullable=True))
