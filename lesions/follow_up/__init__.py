"""Follow-up: change across visits and the next review date (``changes``), the worklist, the risk
trend chart and the printable report."""
