"""opinion cases: cases, their events, deadlines and responses

Revision ID: 0007_cases
Revises: 0006_people_notifications
"""
from alembic import op
import sqlalchemy as sa


revision = '0007_cases'
down_revision = '0006_people_notifications'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('cases',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('title', sa.String(length=100), nullable=False),
    sa.Column('summary', sa.Text(), nullable=False),
    sa.Column('source', sa.String(length=16), nullable=False),
    sa.Column('source_url', sa.String(length=2000), nullable=True),
    sa.Column('discovered_at', sa.DateTime(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('version', sa.Integer(), server_default='0', nullable=False),
    sa.Column('level', sa.Integer(), nullable=True),
    sa.Column('must_respond', sa.Boolean(), nullable=False),
    sa.Column('lead_unit_id', sa.Integer(), nullable=False),
    sa.Column('created_by', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('closed_at', sa.DateTime(), nullable=True),
    sa.Column('outcome', sa.Text(), nullable=True),
    sa.Column('urgency_rank', sa.Integer(), nullable=False),
    sa.Column('next_due_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['created_by'], ['users.id'], ),
    sa.ForeignKeyConstraint(['lead_unit_id'], ['units.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.create_index('ix_cases_status', ['status'], unique=False)
        # the register's first page (most urgent first), per unit, and the overdue filter
        batch_op.create_index('ix_cases_register', ['urgency_rank', 'next_due_at', 'id'], unique=False)
        batch_op.create_index('ix_cases_lead_register', ['lead_unit_id', 'urgency_rank', 'next_due_at'], unique=False)
        batch_op.create_index('ix_cases_next_due', ['next_due_at'], unique=False)

    op.create_table('case_units',
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('unit_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['unit_id'], ['units.id'], ),
    sa.PrimaryKeyConstraint('case_id', 'unit_id')
    )
    with op.batch_alter_table('case_units', schema=None) as batch_op:
        batch_op.create_index('ix_case_units_unit', ['unit_id', 'case_id'], unique=False)

    op.create_table('case_assisting_units',
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('unit_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['unit_id'], ['units.id'], ),
    sa.PrimaryKeyConstraint('case_id', 'unit_id')
    )

    op.create_table('case_events',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=24), nullable=False),
    sa.Column('actor_id', sa.Integer(), nullable=True),
    sa.Column('at', sa.DateTime(), nullable=False),
    sa.Column('data', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['actor_id'], ['users.id'], ),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('case_events', schema=None) as batch_op:
        batch_op.create_index('ix_case_events_case_id', ['case_id'], unique=False)

    op.create_table('deadlines',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=24), nullable=False),
    sa.Column('spec', sa.String(length=16), nullable=False),
    sa.Column('started_at', sa.DateTime(), nullable=False),
    sa.Column('due_at', sa.DateTime(), nullable=False),
    sa.Column('met_at', sa.DateTime(), nullable=True),
    sa.Column('alerted', sa.Integer(), nullable=False),
    sa.Column('next_alert_at', sa.DateTime(), nullable=True),
    sa.Column('superseded_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('deadlines', schema=None) as batch_op:
        batch_op.create_index('ix_deadlines_case_id', ['case_id'], unique=False)
        # the sweep's one query: clocks whose next 50 %/80 %/100 % moment has come
        batch_op.create_index('ix_deadlines_next_alert', ['next_alert_at'], unique=False)

    op.create_table('case_responses',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('form', sa.String(length=24), nullable=False),
    sa.Column('statement_id', sa.Integer(), nullable=True),
    sa.Column('held_at', sa.DateTime(), nullable=True),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('evidence_url', sa.String(length=2000), nullable=True),
    sa.Column('counted', sa.Boolean(), nullable=False),
    sa.Column('recorded_by', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['recorded_by'], ['users.id'], ),
    sa.ForeignKeyConstraint(['statement_id'], ['statements.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('case_id', 'statement_id')
    )
    with op.batch_alter_table('case_responses', schema=None) as batch_op:
        batch_op.create_index('ix_case_responses_case_id', ['case_id'], unique=False)

    op.create_table('case_statements',
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('statement_id', sa.Integer(), nullable=False),
    sa.Column('linked_at', sa.DateTime(), nullable=False),
    sa.Column('published_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['statement_id'], ['statements.id'], ),
    sa.PrimaryKeyConstraint('case_id', 'statement_id')
    )
    with op.batch_alter_table('case_statements', schema=None) as batch_op:
        batch_op.create_index('ix_case_statements_statement', ['statement_id'], unique=False)


def downgrade():
    with op.batch_alter_table('case_statements', schema=None) as batch_op:
        batch_op.drop_index('ix_case_statements_statement')
    op.drop_table('case_statements')
    with op.batch_alter_table('case_responses', schema=None) as batch_op:
        batch_op.drop_index('ix_case_responses_case_id')
    op.drop_table('case_responses')
    with op.batch_alter_table('deadlines', schema=None) as batch_op:
        batch_op.drop_index('ix_deadlines_next_alert')
        batch_op.drop_index('ix_deadlines_case_id')
    op.drop_table('deadlines')
    with op.batch_alter_table('case_events', schema=None) as batch_op:
        batch_op.drop_index('ix_case_events_case_id')
    op.drop_table('case_events')
    op.drop_table('case_assisting_units')
    with op.batch_alter_table('case_units', schema=None) as batch_op:
        batch_op.drop_index('ix_case_units_unit')
    op.drop_table('case_units')
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.drop_index('ix_cases_next_due')
        batch_op.drop_index('ix_cases_lead_register')
        batch_op.drop_index('ix_cases_register')
        batch_op.drop_index('ix_cases_status')
    op.drop_table('cases')
