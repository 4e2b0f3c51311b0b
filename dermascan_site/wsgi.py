import gc
import os

from django.core.wsgi import get_wsgi_application
from django.urls import get_resolver

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dermascan_site.settings")
application = get_wsgi_application()

# Import the URLconf (every view, serializer and the API schema machinery) now rather than
# on the first request, then exempt everything loaded so far from garbage collection: these
# objects live as long as the process. Otherwise each full collection walks them all (about
# 120,000 objects: 50-150 ms with the interpreter lock held, so every request of the process
# waits), a few times a minute under load.
get_resolver().url_patterns  # noqa: B018 (imported for its side effect)
gc.freeze()
