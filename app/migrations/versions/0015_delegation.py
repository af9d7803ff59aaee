"""delegation: stand-ins (代理) for an absent expert or leader, requested reviewers, confirmation evidence

Revision ID: 0015_delegation
Revises: 0014_renderings
"""
from alembic import op
import sqlalchemy as sa


revision = '0015_delegation'
down_revision = '0014_renderings'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'delegations',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('principal_id', sa.Integer(), nullable=False),
        sa.Column('deputy_id', sa.Integer(), nullable=False),
        sa.Column('role', sa.String(length=16), nullable=False),
        sa.Column('starts_at', sa.DateTime(), nullable=False),
        sa.Column('ends_at', sa.DateTime(), nullable=False),
        sa.Column('note', sa.Text(), nullable=False, server_default=''),
        sa.Column('created_by_id', sa.Integer(), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('revoked_at', sa.DateTime(), nullable=True),
        sa.Column('revoked_by_id', sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(['principal_id'], ['users.id']),
        sa.ForeignKeyConstraint(['deputy_id'], ['users.id']),
        sa.ForeignKeyConstraint(['created_by_id'], ['users.id']),
        sa.ForeignKeyConstraint(['revoked_by_id'], ['users.id']),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_delegations_deputy', 'delegations', ['deputy_id', 'role', 'ends_at'])
    op.create_index('ix_delegations_principal', 'delegations', ['principal_id', 'ends_at'])
    op.create_table(
        'evidence',
        sa.Column('sha256', sa.String(length=64), nullable=False),
        sa.Column('ext', sa.String(length=4), nullable=False),
        sa.Column('mime', sa.String(length=32), nullable=False),
        sa.Column('size', sa.Integer(), nullable=False),
        sa.Column('name', sa.String(length=128), nullable=False, server_default=''),
        sa.Column('uploaded_by_id', sa.Integer(), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(['uploaded_by_id'], ['users.id']),
        sa.PrimaryKeyConstraint('sha256'),
    )
    with op.batch_alter_table('decisions') as batch:
        batch.add_column(sa.Column('on_behalf_of_id', sa.Integer(), nullable=True))
        batch.create_foreign_key('fk_decisions_on_behalf_of', 'users', ['on_behalf_of_id'], ['id'])
    with op.batch_alter_table('confirmations') as batch:
        batch.add_column(sa.Column('evidence_sha256', sa.String(length=64), nullable=True))
        batch.create_foreign_key('fk_confirmations_evidence', 'evidence', ['evidence_sha256'], ['sha256'])
    with op.batch_alter_table('statements') as batch:
        batch.add_column(sa.Column('requested_reviewers', sa.JSON(), nullable=True))


def downgrade():
    with op.batch_alter_table('statements') as batch:
        batch.drop_column('requested_reviewers')
    with op.batch_alter_table('confirmations') as batch:
        batch.drop_constraint('fk_confirmations_evidence', type_='foreignkey')
        batch.drop_column('evidence_sha256')
    with op.batch_alter_table('decisions') as batch:
        batch.drop_constraint('fk_decisions_on_behalf_of', type_='foreignkey')
        batch.drop_column('on_behalf_of_id')
    op.drop_table('evidence')
    op.drop_index('ix_delegations_principal', table_name='delegations')
    op.drop_index('ix_delegations_deputy', table_name='delegations')
    op.drop_table('delegations')
