"""casework: the case ledger (问题台账): triage, clocks, assignment, confirmation."""
