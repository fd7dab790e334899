"""Run rollups (``run_rollups``): counts and sums per project, UTC day, user/host/
accelerator, status and currency, kept at ingest for ``/summary``; backfilled from the
runs already stored.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    from wattprint.server._rollup import rebuild

    op.create_table(
        "run_rollups",
        sa.Column("dim", sa.String(16), primary_key=True),
        sa.Column("project_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
                  sa.ForeignKey("projects.id"), primary_key=True),
        sa.Column("day", sa.String(10), primary_key=True),
        sa.Column("value", sa.String(520), primary_key=True),
        sa.Column("status", sa.String(16), primary_key=True),
        sa.Column("currency", sa.String(16), primary_key=True),
        sa.Column("week", sa.String(10), nullable=False),
        sa.Column("runs", sa.Integer(), nullable=False),
        *(sa.Column(name, sa.Float(), nullable=False) for name in (
            "energy_j", "facility_energy_j", "co2e_g", "co2e_market_g", "cost")),
        sa.Column("priced", sa.Integer(), nullable=False),
        *(sa.Column(name, sa.Float(), nullable=False) for name in (
            "water_l", "measured_energy_j")))
    rebuild(op.get_bind())


def downgrade() -> None:
    op.drop_table("run_rollups")
