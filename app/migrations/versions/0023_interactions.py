"""The interaction desk (互动回应, issue 20): messages from the public, their timeline and their replies

Revision ID: 0023_interactions
Revises: 0022_wechat_mass_send
"""
from alembic import op
import sqlalchemy as sa


revision = '0023_interactions'
down_revision = '0022_wechat_mass_send'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('interactions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('channel', sa.String(length=16), nullable=False),
    sa.Column('external_id', sa.String(length=128), nullable=False),
    sa.Column('author', sa.String(length=64), nullable=True),
    sa.Column('author_key', sa.String(length=64), nullable=True),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('received_at', sa.DateTime(), nullable=False),
    sa.Column('unit_id', sa.Integer(), nullable=True),
    sa.Column('statement_id', sa.Integer(), nullable=True),
    sa.Column('case_id', sa.Integer(), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('version', sa.Integer(), server_default='0', nullable=False),
    sa.Column('close_reason', sa.String(length=16), nullable=True),
    sa.Column('due_at', sa.DateTime(), nullable=False),
    sa.Column('due_spec', sa.String(length=16), nullable=False),
    sa.Column('alerted', sa.Integer(), server_default='0', nullable=False),
    sa.Column('next_alert_at', sa.DateTime(), nullable=True),
    sa.Column('reply_text', sa.Text(), nullable=True),
    sa.Column('reply_drafted_by', sa.Integer(), nullable=True),
    sa.Column('reply_approved_by', sa.Integer(), nullable=True),
    sa.Column('reply_sent_at', sa.DateTime(), nullable=True),
    sa.Column('reply_external_id', sa.String(length=128), nullable=True),
    sa.Column('reply_ledger_seq', sa.Integer(), nullable=True),
    sa.Column('created_by', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], ),
    sa.ForeignKeyConstraint(['created_by'], ['users.id'], ),
    sa.ForeignKeyConstraint(['reply_approved_by'], ['users.id'], ),
    sa.ForeignKeyConstraint(['reply_drafted_by'], ['users.id'], ),
    sa.ForeignKeyConstraint(['statement_id'], ['statements.id'], ),
    sa.ForeignKeyConstraint(['unit_id'], ['units.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('channel', 'external_id', name='uq_interactions_channel_external')
    )
    with op.batch_alter_table('interactions', schema=None) as batch_op:
        batch_op.create_index('ix_interactions_author', ['author_key', 'received_at'], unique=False)
        batch_op.create_index('ix_interactions_next_alert', ['next_alert_at'], unique=False)
        batch_op.create_index('ix_interactions_queue', ['status', 'due_at', 'id'], unique=False)
        batch_op.create_index('ix_interactions_unit', ['unit_id', 'status', 'due_at'], unique=False)

    op.create_table('interaction_events',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('interaction_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=24), nullable=False),
    sa.Column('actor_id', sa.Integer(), nullable=True),
    sa.Column('at', sa.DateTime(), nullable=False),
    sa.Column('data', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['actor_id'], ['users.id'], ),
    sa.ForeignKeyConstraint(['interaction_id'], ['interactions.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('interaction_events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_interaction_events_interaction_id'), ['interaction_id'], unique=False)



def downgrade():
    with op.batch_alter_table('interaction_events', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_interaction_events_interaction_id'))

    op.drop_table('interaction_events')
    with op.batch_alter_table('interactions', schema=None) as batch_op:
        batch_op.drop_index('ix_interactions_unit')
        batch_op.drop_index('ix_interactions_queue')
        batch_op.drop_index('ix_interactions_next_alert')
        batch_op.drop_index('ix_interactions_author')

    op.drop_table('interactions')
