"""notifications in each reader's language: users.locale and notifications.texts (message ids and parameters)

Revision ID: 0019_notification_language
Revises: 0018_verify_reader_form
"""
from alembic import op
import sqlalchemy as sa


revision = '0019_notification_language'
down_revision = '0018_verify_reader_form'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('locale', sa.String(length=16), nullable=True))
    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.add_column(sa.Column('texts', sa.JSON(), nullable=True))


def downgrade():
    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.drop_column('texts')
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('locale')
