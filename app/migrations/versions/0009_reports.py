"""reports: upward reports and generated bulletins

Revision ID: 0009_reports
Revises: 0008_checks
"""
from alembic import op
import sqlalchemy as sa


revision = '0009_reports'
down_revision = '0008_checks'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('upward_reports',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=True),
    sa.Column('period_first', sa.Date(), nullable=True),
    sa.Column('period_last', sa.Date(), nullable=True),
    sa.Column('recipient', sa.String(length=128), nullable=False),
    sa.Column('reported_at', sa.DateTime(), nullable=False),
    sa.Column('method', sa.String(length=16), nullable=False),
    sa.Column('reference', sa.String(length=128), nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('file_name', sa.String(length=255), nullable=True),
    sa.Column('file_sha256', sa.String(length=64), nullable=True),
    sa.Column('file_size', sa.Integer(), nullable=True),
    sa.Column('recorded_by', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['recorded_by'], ['users.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('upward_reports', schema=None) as batch_op:
        batch_op.create_index('ix_upward_reports_case_id', ['case_id'], unique=False)
        # the bulletin lists what went up in its period
        batch_op.create_index('ix_upward_reports_reported_at', ['reported_at'], unique=False)

    # one file per kind and period: two workers generating the same morning's log cannot both keep one
    op.create_table('report_files',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('period_first', sa.Date(), nullable=False),
    sa.Column('period_last', sa.Date(), nullable=False),
    sa.Column('content', sa.LargeBinary(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('kind', 'period_first', name='uq_report_files_kind_period')
    )
    # the figures of a period: its cases by lead unit, its ledger entries, its publications per channel
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.create_index('ix_cases_discovered', ['discovered_at', 'lead_unit_id'], unique=False)
    with op.batch_alter_table('ledger_entries', schema=None) as batch_op:
        batch_op.create_index('ix_ledger_entries_at', ['at'], unique=False)
    with op.batch_alter_table('deliveries', schema=None) as batch_op:
        batch_op.create_index('ix_deliveries_channel_published', ['channel', 'published_at'], unique=False)


def downgrade():
    with op.batch_alter_table('deliveries', schema=None) as batch_op:
        batch_op.drop_index('ix_deliveries_channel_published')
    with op.batch_alter_table('ledger_entries', schema=None) as batch_op:
        batch_op.drop_index('ix_ledger_entries_at')
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.drop_index('ix_cases_discovered')
    op.drop_table('report_files')
    with op.batch_alter_table('upward_reports', schema=None) as batch_op:
        batch_op.drop_index('ix_upward_reports_reported_at')
        batch_op.drop_index('ix_upward_reports_case_id')
    op.drop_table('upward_reports')
