"""people and notifications: users' e-mail and phone, the units' responsibility register, inboxes

Revision ID: 0006_people_notifications
Revises: 0005_one_door
"""
from alembic import op
import sqlalchemy as sa


revision = '0006_people_notifications'
down_revision = '0005_one_door'
branch_labels = None
depends_on = None


def _person_of(column: str) -> str:
    """The user a free-text responsible name meant: its username, or a display name only one user has."""
    return (
        f"(SELECT MIN(u.id) FROM users u WHERE units.{column} <> '' AND (u.username = units.{column} OR "
        f"(u.display_name = units.{column} AND "
        f"(SELECT COUNT(*) FROM users v WHERE v.display_name = units.{column}) = 1)))"
    )


def upgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('email', sa.String(length=254), nullable=False, server_default=''))
        batch_op.add_column(sa.Column('phone', sa.String(length=32), nullable=False, server_default=''))

    with op.batch_alter_table('units', schema=None) as batch_op:
        batch_op.add_column(sa.Column('first_responsible_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('direct_responsible_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('duty_phone', sa.String(length=32), nullable=False, server_default=''))
    # The register used to be free text: keep the phone, and the names that match exactly one person.
    op.execute(
        "UPDATE units SET duty_phone = contact_phone, "
        f"first_responsible_id = {_person_of('first_responsible')}, "
        f"direct_responsible_id = {_person_of('direct_responsible')}"
    )
    with op.batch_alter_table('units', schema=None) as batch_op:
        batch_op.create_foreign_key('fk_units_first_responsible', 'users', ['first_responsible_id'], ['id'])
        batch_op.create_foreign_key('fk_units_direct_responsible', 'users', ['direct_responsible_id'], ['id'])
        batch_op.drop_column('first_responsible')
        batch_op.drop_column('direct_responsible')
        batch_op.drop_column('contact_phone')

    op.create_table('unit_spokespersons',
    sa.Column('unit_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['unit_id'], ['units.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('unit_id', 'user_id')
    )

    op.create_table('notifications',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('recipient_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('key', sa.String(length=200), nullable=False),
    sa.Column('subject', sa.String(length=200), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('url', sa.String(length=512), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('read_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['recipient_id'], ['users.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('key', 'recipient_id', name='uq_notifications_key_recipient')
    )
    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.create_index('ix_notifications_inbox', ['recipient_id', 'read_at', 'id'], unique=False)

    op.create_table('notification_sends',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('notification_id', sa.Integer(), nullable=False),
    sa.Column('channel', sa.String(length=8), nullable=False),
    sa.Column('state', sa.String(length=8), nullable=False),
    sa.Column('key', sa.String(length=36), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', sa.DateTime(), nullable=False),
    sa.Column('last_error', sa.String(length=500), nullable=False),
    sa.Column('sent_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['notification_id'], ['notifications.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('notification_id', 'channel', name='uq_notification_sends_channel')
    )
    with op.batch_alter_table('notification_sends', schema=None) as batch_op:
        batch_op.create_index('ix_notification_sends_due', ['state', 'next_attempt_at'], unique=False)


def downgrade():
    with op.batch_alter_table('notification_sends', schema=None) as batch_op:
        batch_op.drop_index('ix_notification_sends_due')
    op.drop_table('notification_sends')
    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.drop_index('ix_notifications_inbox')
    op.drop_table('notifications')
    op.drop_table('unit_spokespersons')

    with op.batch_alter_table('units', schema=None) as batch_op:
        batch_op.add_column(sa.Column('first_responsible', sa.String(length=64), nullable=False, server_default=''))
        batch_op.add_column(sa.Column('direct_responsible', sa.String(length=64), nullable=False, server_default=''))
        batch_op.add_column(sa.Column('contact_phone', sa.String(length=32), nullable=False, server_default=''))
    # Back to free text: the people's names (display name, else username) and the duty phone.
    name = "(SELECT COALESCE(NULLIF(u.display_name, ''), u.username) FROM users u WHERE u.id = units.{})"
    op.execute(
        "UPDATE units SET contact_phone = duty_phone, "
        f"first_responsible = COALESCE({name.format('first_responsible_id')}, ''), "
        f"direct_responsible = COALESCE({name.format('direct_responsible_id')}, '')"
    )
    with op.batch_alter_table('units', schema=None) as batch_op:
        batch_op.drop_constraint('fk_units_direct_responsible', type_='foreignkey')
        batch_op.drop_constraint('fk_units_first_responsible', type_='foreignkey')
        batch_op.drop_column('duty_phone')
        batch_op.drop_column('direct_responsible_id')
        batch_op.drop_column('first_responsible_id')

    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('phone')
        batch_op.drop_column('email')
