"""The notifications service: not built yet (see the issue tracker)."""
