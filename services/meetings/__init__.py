"""The meetings service: not built yet (see the issue tracker)."""
