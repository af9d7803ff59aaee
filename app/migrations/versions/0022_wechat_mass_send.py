"""WeChat mass send (群发, issue 19): statements choose their WeChat mode, the quota per period, the waiting
statements, the mass sends, previews on people's own WeChat

Revision ID: 0022_wechat_mass_send
Revises: 0021_calendar_days
"""
from alembic import op
import sqlalchemy as sa


revision = '0022_wechat_mass_send'
down_revision = '0021_calendar_days'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('statements') as batch:
        batch.add_column(sa.Column('wechat_mode', sa.String(length=12), nullable=False, server_default='publish'))
        batch.add_column(sa.Column('comments_open', sa.Boolean(), nullable=False, server_default=sa.true()))
    with op.batch_alter_table('users') as batch:
        batch.add_column(sa.Column('wechat_id', sa.String(length=64), nullable=True))
    op.create_table('wechat_mass_periods',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('start', sa.DateTime(), nullable=False),
    sa.Column('end', sa.DateTime(), nullable=False),
    sa.Column('used', sa.Integer(), nullable=False),
    sa.Column('limit', sa.Integer(), nullable=False),
    sa.Column('spent_elsewhere_at', sa.DateTime(), nullable=True),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('start')
    )
    op.create_table('wechat_mass_sends',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('period_start', sa.DateTime(), nullable=False),
    sa.Column('state', sa.String(length=12), nullable=False),
    sa.Column('version', sa.Integer(), server_default='0', nullable=False),
    sa.Column('clientmsgid', sa.String(length=64), nullable=True),
    sa.Column('media_id', sa.String(length=128), nullable=True),
    sa.Column('msg_id', sa.String(length=32), nullable=True),
    sa.Column('msg_data_id', sa.String(length=32), nullable=True),
    sa.Column('sent_count', sa.Integer(), nullable=True),
    sa.Column('total_count', sa.Integer(), nullable=True),
    sa.Column('article_urls', sa.JSON(), nullable=False),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('submitted_at', sa.DateTime(), nullable=True),
    sa.Column('finished_at', sa.DateTime(), nullable=True),
    sa.Column('unconfirmed_notified_at', sa.DateTime(), nullable=True),
    sa.Column('driver_token', sa.String(length=36), nullable=True),
    sa.Column('driver_until', sa.DateTime(), nullable=True),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('clientmsgid')
    )
    op.create_index('ix_wechat_mass_sends_period_start', 'wechat_mass_sends', ['period_start'])
    op.create_index('ix_wechat_mass_sends_msg_id', 'wechat_mass_sends', ['msg_id'])
    op.create_table('wechat_mass_items',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('delivery_id', sa.Integer(), nullable=False),
    sa.Column('statement_id', sa.Integer(), nullable=False),
    sa.Column('state', sa.String(length=12), nullable=False),
    sa.Column('version', sa.Integer(), server_default='0', nullable=False),
    sa.Column('priority_rank', sa.Integer(), nullable=False),
    sa.Column('approved_at', sa.DateTime(), nullable=False),
    sa.Column('queued_at', sa.DateTime(), nullable=False),
    sa.Column('mass_send_id', sa.Integer(), nullable=True),
    sa.Column('article_idx', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['delivery_id'], ['deliveries.id'], ),
    sa.ForeignKeyConstraint(['statement_id'], ['statements.id'], ),
    sa.ForeignKeyConstraint(['mass_send_id'], ['wechat_mass_sends.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('delivery_id')
    )
    op.create_index('ix_wechat_mass_items_queue', 'wechat_mass_items', ['state', 'priority_rank', 'approved_at'])
    op.create_index('ix_wechat_mass_items_statement_id', 'wechat_mass_items', ['statement_id'])
    op.create_index('ix_wechat_mass_items_mass_send_id', 'wechat_mass_items', ['mass_send_id'])
    op.create_table('wechat_previews',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('statement_id', sa.Integer(), nullable=False),
    sa.Column('revision_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('towxname', sa.String(length=64), nullable=False),
    sa.Column('at', sa.DateTime(), nullable=False),
    sa.Column('msg_id', sa.String(length=32), nullable=True),
    sa.ForeignKeyConstraint(['statement_id'], ['statements.id'], ),
    sa.ForeignKeyConstraint(['revision_id'], ['revisions.id'], ),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_wechat_previews_statement_id', 'wechat_previews', ['statement_id'])
    op.create_index('ix_wechat_previews_at', 'wechat_previews', ['at'])


def downgrade():
    op.drop_table('wechat_previews')
    op.drop_table('wechat_mass_items')
    op.drop_table('wechat_mass_sends')
    op.drop_table('wechat_mass_periods')
    with op.batch_alter_table('users') as batch:
        batch.drop_column('wechat_id')
    with op.batch_alter_table('statements') as batch:
        batch.drop_column('comments_open')
        batch.drop_column('wechat_mode')
