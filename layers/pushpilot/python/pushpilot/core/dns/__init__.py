"""Custom-domain DNS, pure: records and bindings, ownership markers, zones, planning, rendering, diagnosis.

The planner knows no deploy target: each target supplies its bindings."""

from __future__ import annotations

# What an installation's DNS owner id may be (it is written into every ownership marker). Here rather
# than in models.py so that the settings can check it without loading the DNS models at cold start.
OWNER_ID_PATTERN = r"^[A-Za-z0-9._:/-]{1,128}$"
