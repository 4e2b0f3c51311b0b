"""``/api/v1/monitoring/``: the monitoring page's figures as JSON (serializers, views, urls)."""
