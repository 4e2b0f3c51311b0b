"""Follow-up: change across visits and the next review date (``changes``), the worklist, the risk
trend chart, the printable report and each result's one headline (``headline``)."""
