"""Event store: logs, recorders, group commit, applications, projections and the leader that writes them."""
