"""Custom-domain DNS, pure: records and bindings, ownership markers, zones, planning, rendering, diagnosis.

The planner knows no deploy target: each target supplies its bindings."""
