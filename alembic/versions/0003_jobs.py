"""Jobs: PCM proof of archived chunks, superseded blobs, per-class deletion times, job run owner.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-24
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0003'
down_revision: str | None = '0002'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:

    with op.batch_alter_table('job_runs', schema=None) as batch_op:
        batch_op.add_column(sa.Column('owner', sa.String(length=160), nullable=True))

    with op.batch_alter_table('recording_chunks', schema=None) as batch_op:
        batch_op.add_column(sa.Column('pcm_sha256', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('superseded_key', sa.String(length=512), nullable=True))
        batch_op.add_column(sa.Column('reply_deleted_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('turn_text_deleted_at', sa.DateTime(timezone=True), nullable=True))



def downgrade() -> None:

    with op.batch_alter_table('recording_chunks', schema=None) as batch_op:
        batch_op.drop_column('turn_text_deleted_at')
        batch_op.drop_column('reply_deleted_at')
        batch_op.drop_column('superseded_key')
        batch_op.drop_column('pcm_sha256')

    with op.batch_alter_table('job_runs', schema=None) as batch_op:
        batch_op.drop_column('owner')

