"""Call loop state: storage state, AI outcome, sealed turn text, processing leases, escalation.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-24
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0002'
down_revision: str | None = '0001'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('calls', schema=None) as batch_op:
        batch_op.add_column(sa.Column('escalated_at', sa.DateTime(timezone=True), nullable=True))

    with op.batch_alter_table('recording_chunks', schema=None) as batch_op:
        batch_op.add_column(sa.Column('storage_state', sa.String(length=16), server_default='pending', nullable=False))
        batch_op.add_column(sa.Column('fetch_attempts', sa.Integer(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('responder', sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column('error_class', sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column('detected_language', sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column('turn_text_sealed', sa.LargeBinary(), nullable=True))
        batch_op.add_column(sa.Column('turn_text_key_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True))
        batch_op.add_column(sa.Column('processing_started_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('response_ready_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('lease_owner', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('lease_until', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('twilio_deleted_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index(batch_op.f('ix_recording_chunks_storage_state'), ['storage_state'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_recording_chunks_turn_text_key_id_data_keys'), 'data_keys', ['turn_text_key_id'], ['id'])
    # Chunks stored before this revision are in the store already.
    op.execute("UPDATE recording_chunks SET storage_state = 'stored' WHERE storage_key IS NOT NULL")


def downgrade() -> None:
    with op.batch_alter_table('recording_chunks', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_recording_chunks_turn_text_key_id_data_keys'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_recording_chunks_storage_state'))
        batch_op.drop_column('twilio_deleted_at')
        batch_op.drop_column('lease_until')
        batch_op.drop_column('lease_owner')
        batch_op.drop_column('response_ready_at')
        batch_op.drop_column('processing_started_at')
        batch_op.drop_column('turn_text_key_id')
        batch_op.drop_column('turn_text_sealed')
        batch_op.drop_column('detected_language')
        batch_op.drop_column('error_class')
        batch_op.drop_column('responder')
        batch_op.drop_column('fetch_attempts')
        batch_op.drop_column('storage_state')

    with op.batch_alter_table('calls', schema=None) as batch_op:
        batch_op.drop_column('escalated_at')

