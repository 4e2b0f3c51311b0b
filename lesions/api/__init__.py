"""The REST API for the mobile app (``/api/v1/``).

One module per resource under ``views/`` with its serializers in ``serializers/``; a new
resource is one module of views plus its lines in ``urls.py``. Every view derives from
``ClinicalAPIView`` (or its generic siblings in ``base``), which brings token or session
authentication, the clinician permission, device auditing and the error shape.
"""
