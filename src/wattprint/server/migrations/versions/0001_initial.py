"""The first schema: projects, tokens, runs (accounted figures as columns), run_tags,
run_chunks; indexes for listing a project's runs by time, host and user.

Revision ID: 0001
Revises:
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

_PK = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "projects",
        sa.Column("id", _PK, primary_key=True),
        sa.Column("name", sa.String(256), nullable=False, unique=True),
        sa.Column("created_at", sa.DateTime(), nullable=False))
    op.create_table(
        "tokens",
        sa.Column("id", _PK, primary_key=True),
        sa.Column("prefix", sa.String(32), nullable=False, unique=True),
        sa.Column("secret_sha256", sa.String(64), nullable=False, unique=True),
        sa.Column("name", sa.String(256)),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("project_id", _PK, sa.ForeignKey("projects.id")),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("revoked_at", sa.DateTime()))
    op.create_table(
        "runs",
        sa.Column("pk", _PK, primary_key=True),
        sa.Column("project_id", _PK, sa.ForeignKey("projects.id"), nullable=False),
        sa.Column("run_id", sa.String(64), nullable=False),
        sa.Column("name", sa.String(256)),
        sa.Column("local_project", sa.String(256)),
        sa.Column("user", sa.String(256)),
        sa.Column("host", sa.String(256), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("mode", sa.String(16)),
        sa.Column("started_at", sa.DateTime(), nullable=False),
        sa.Column("ended_at", sa.DateTime()),
        sa.Column("duration_s", sa.Float(), nullable=False),
        sa.Column("exit_code", sa.Integer()),
        sa.Column("zone", sa.String(256)),
        sa.Column("energy_j", sa.Float(), nullable=False),
        sa.Column("energy_low_j", sa.Float(), nullable=False),
        sa.Column("energy_high_j", sa.Float(), nullable=False),
        sa.Column("measured_energy_j", sa.Float(), nullable=False),
        sa.Column("basis", sa.String(16), nullable=False),
        sa.Column("facility_energy_j", sa.Float(), nullable=False),
        sa.Column("co2e_g", sa.Float(), nullable=False),
        sa.Column("co2e_market_g", sa.Float(), nullable=False),
        sa.Column("cost", sa.Float()),
        sa.Column("currency", sa.String(8)),
        sa.Column("water_l", sa.Float()),
        sa.Column("accelerator", sa.String(512), nullable=False),
        sa.Column("job_id", sa.String(256)),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.Column("digest", sa.String(128), nullable=False),
        sa.Column("chunk_count", sa.Integer(), nullable=False),
        sa.Column("complete", sa.Boolean(), nullable=False),
        sa.Column("received_at", sa.DateTime(), nullable=False),
        sa.UniqueConstraint("project_id", "run_id", name="runs_project_run"))
    op.create_index("runs_project_started", "runs", ["project_id", "started_at"])
    op.create_index("runs_project_host", "runs", ["project_id", "host", "started_at"])
    op.create_index("runs_project_user", "runs", ["project_id", "user", "started_at"])
    op.create_index("runs_started", "runs", ["started_at"])
    op.create_index("runs_run_id", "runs", ["run_id"])
    op.create_table(
        "run_tags",
        sa.Column("run_pk", _PK, sa.ForeignKey("runs.pk", ondelete="CASCADE"),
                  primary_key=True),
        sa.Column("tag", sa.String(64), primary_key=True))
    op.create_index("run_tags_tag", "run_tags", ["tag", "run_pk"])
    op.create_table(
        "run_chunks",
        sa.Column("project_id", _PK, sa.ForeignKey("projects.id"), primary_key=True),
        sa.Column("run_id", sa.String(64), primary_key=True),
        sa.Column("idx", sa.Integer(), primary_key=True),
        sa.Column("digest", sa.String(128), nullable=False),
        sa.Column("points", sa.Integer(), nullable=False),
        sa.Column("power", sa.JSON(), nullable=False),
        sa.Column("received_at", sa.DateTime(), nullable=False))


def downgrade() -> None:
    for table in ("run_chunks", "run_tags", "runs", "tokens", "projects"):
        op.drop_table(table)
