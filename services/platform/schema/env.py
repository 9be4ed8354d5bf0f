"""Shared Alembic environment of every service; see `services.platform.migrations`."""

from alembic import context

from services.platform.migrations import run_environment

run_environment(context)
