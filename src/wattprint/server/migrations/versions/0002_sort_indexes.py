"""Indexes for a project's runs sorted by energy or CO2e (the worst offenders first),
so those listings read the first page from an index instead of sorting every run.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-07
"""

from __future__ import annotations

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("runs_project_energy", "runs", ["project_id", "energy_j"])
    op.create_index("runs_project_co2e", "runs", ["project_id", "co2e_g"])


def downgrade() -> None:
    op.drop_index("runs_project_co2e", "runs")
    op.drop_index("runs_project_energy", "runs")
