"""security: token expiry, ledger checkpoints, account sessions

Revision ID: 0010_security
Revises: 0009_reports
"""
from alembic import op
import sqlalchemy as sa


revision = '0010_security'
down_revision = '0009_reports'
branch_labels = None
depends_on = None


def upgrade():
    # session_epoch: bumped on sign-out, password change and deactivation; a session naming another epoch is over.
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('session_epoch', sa.Integer(), nullable=False, server_default='0'))
        batch_op.add_column(sa.Column('must_change_password', sa.Boolean(), nullable=False,
                                      server_default=sa.false()))
    with op.batch_alter_table('api_tokens', schema=None) as batch_op:
        batch_op.add_column(sa.Column('expires_at', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('label', sa.String(length=64), nullable=False, server_default=''))


def downgrade():
    with op.batch_alter_table('api_tokens', schema=None) as batch_op:
        batch_op.drop_column('label')
        batch_op.drop_column('expires_at')
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('must_change_password')
        batch_op.drop_column('session_epoch')
