"""review comments: a reviewer's remark kept when the stage moved on while they typed

Revision ID: 0011_review_comments
Revises: 0010_security
"""
from alembic import op
import sqlalchemy as sa



revision = '0011_review_comments'
down_revision = '0010_security'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'review_comments',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('statement_id', sa.Integer(), nullable=False),
        sa.Column('revision_id', sa.Integer(), nullable=False),
        sa.Column('revision_hash', sa.String(length=64), nullable=False),
        sa.Column('round', sa.Integer(), nullable=False),
        sa.Column('author_id', sa.Integer(), nullable=False),
        sa.Column('comment', sa.Text(), nullable=False),
        sa.Column('at', sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(['statement_id'], ['statements.id']),
        sa.ForeignKeyConstraint(['revision_id'], ['revisions.id']),
        sa.ForeignKeyConstraint(['author_id'], ['users.id']),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_review_comments_statement_id', 'review_comments', ['statement_id'])


def downgrade():
    op.drop_index('ix_review_comments_statement_id', table_name='review_comments')
    op.drop_table('review_comments')
