"""One module per resource; each view is thin (serializer in, service or selector, out)."""
