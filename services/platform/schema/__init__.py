"""The platform's own tables, present in every service's database, and their Alembic scripts.

This directory is also the suite's shared Alembic environment: `env.py` and `script.py.mako`
here serve every service (see `services.platform.migrations`), so a service's migrations
directory holds nothing but revision files.
"""
