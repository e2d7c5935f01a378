"""Initial schema: users, recommendation_events, feedback.

Revision ID: 0001_initial
Revises:
Create Date: 2025-11-24
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001_initial"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Written by hand; the test suite compares it with db.models (alembic compare_metadata).
# Constraint names follow db.models.NAMING_CONVENTION.


def upgrade() -> None:
    op.create_table(
        "users",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("platform", sa.String(length=32), nullable=False),
        sa.Column("user_hash", sa.String(length=64), nullable=False),
        sa.Column("settings", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_users"),
        sa.UniqueConstraint("platform", "user_hash", name="uq_users_platform_user_hash"),
    )
    op.create_table(
        "recommendation_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("emotion", sa.String(length=32), nullable=True),
        sa.Column("probabilities", sa.JSON(), nullable=True),
        sa.Column("mood", sa.String(), nullable=False),
        sa.Column("strategy", sa.String(length=16), nullable=False),
        sa.Column("model_version", sa.String(), nullable=True),
        sa.Column("faces", sa.Integer(), nullable=False),
        sa.Column("track_ids", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_recommendation_events"),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name="fk_recommendation_events_user_id_users",
            ondelete="CASCADE",
        ),
    )
    op.create_index(
        "ix_recommendation_events_user_id_created_at",
        "recommendation_events",
        ["user_id", "created_at"],
    )
    op.create_table(
        "feedback",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("track_id", sa.String(length=64), nullable=False),
        sa.Column("value", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_feedback"),
        sa.ForeignKeyConstraint(
            ["event_id"],
            ["recommendation_events.id"],
            name="fk_feedback_event_id_recommendation_events",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name="fk_feedback_user_id_users",
            ondelete="CASCADE",
        ),
        sa.UniqueConstraint("event_id", "user_id", "track_id", name="uq_feedback_event_id_user_id_track_id"),
        sa.CheckConstraint("value IN (1, -1)", name="ck_feedback_value_is_plus_or_minus_one"),
    )
    op.create_index("ix_feedback_user_id_updated_at", "feedback", ["user_id", "updated_at"])


def downgrade() -> None:
    op.drop_index("ix_feedback_user_id_updated_at", table_name="feedback")
    op.drop_table("feedback")
    op.drop_index("ix_recommendation_events_user_id_created_at", table_name="recommendation_events")
    op.drop_table("recommendation_events")
    op.drop_table("users")
