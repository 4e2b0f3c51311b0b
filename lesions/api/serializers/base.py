"""What every writable serializer of the API shares."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

READ_ONLY_MESSAGE = "This field is read-only; the server sets it."


class RefusesReadOnlyFields(serializers.Serializer):
    """A write that names a read-only field is refused (400, under that field).

    DRF drops such fields without a word: a client PATCHing ``confirmed_diagnosis`` got 200
    and an unchanged record, and believed it had changed it.
    """

    def to_internal_value(self, data: Any) -> Any:
        if hasattr(data, "keys"):
            sent = [name for name in data if name in self.fields and self.fields[name].read_only]
            if sent:
                errors = {name: [READ_ONLY_MESSAGE] for name in sent}
                raise serializers.ValidationError(errors, code="read_only")
        return super().to_internal_value(data)
