"""pre-publication checks, read-back and the public verify index

Revision ID: 0008_checks
Revises: 0007_cases
"""
from alembic import op
import sqlalchemy as sa


revision = '0008_checks'
down_revision = '0007_cases'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('revisions', schema=None) as batch_op:
        # the findings of review/checks.py for exactly this text (null: not yet checked)
        batch_op.add_column(sa.Column('checks', sa.JSON(), nullable=True))

    with op.batch_alter_table('deliveries', schema=None) as batch_op:
        # what the channel showed when read back after publication: {state, at, detail}
        batch_op.add_column(sa.Column('readback', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('readback_due_at', sa.DateTime(), nullable=True))
        batch_op.create_index('ix_deliveries_readback_due_at', ['readback_due_at'], unique=False)

    if op.get_bind().dialect.name != 'sqlite':
        # room for `readback_mismatch`; SQLite does not enforce lengths, and rebuilding the ledger table
        # there would risk its partial unique index
        op.alter_column('ledger_entries', 'kind', existing_type=sa.String(length=16),
                        type_=sa.String(length=32), existing_nullable=False)

    op.create_table('term_lists',
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('items', sa.JSON(), nullable=False),
    sa.Column('version', sa.Integer(), server_default='0', nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.Column('updated_by_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['updated_by_id'], ['users.id'], ),
    sa.PrimaryKeyConstraint('kind')
    )

    op.create_table('verify_texts',
    sa.Column('statement_id', sa.Integer(), nullable=False),
    sa.Column('revision_hash', sa.String(length=64), nullable=False),
    sa.Column('normalized', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['statement_id'], ['statements.id'], ),
    sa.PrimaryKeyConstraint('statement_id')
    )
    with op.batch_alter_table('verify_texts', schema=None) as batch_op:
        batch_op.create_index('ix_verify_texts_hash', ['revision_hash'], unique=False)

    op.create_table('verify_shingles',
    sa.Column('shingle', sa.BigInteger(), nullable=False),
    sa.Column('statement_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['statement_id'], ['statements.id'], ),
    sa.PrimaryKeyConstraint('shingle', 'statement_id')
    )


def downgrade():
    op.drop_table('verify_shingles')
    with op.batch_alter_table('verify_texts', schema=None) as batch_op:
        batch_op.drop_index('ix_verify_texts_hash')
    op.drop_table('verify_texts')
    op.drop_table('term_lists')
    if op.get_bind().dialect.name != 'sqlite':
        op.alter_column('ledger_entries', 'kind', existing_type=sa.String(length=32),
                        type_=sa.String(length=16), existing_nullable=False)
    with op.batch_alter_table('deliveries', schema=None) as batch_op:
        batch_op.drop_index('ix_deliveries_readback_due_at')
        batch_op.drop_column('readback_due_at')
        batch_op.drop_column('readback')
    with op.batch_alter_table('revisions', schema=None) as batch_op:
        batch_op.drop_column('checks')
