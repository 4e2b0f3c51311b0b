"""Serializers describe JSON and check its types; the services do the writing."""
