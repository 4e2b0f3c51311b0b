"""The web container's health check: ``python -m dermascan_site.healthcheck [URL]``.

It asks for the sign-in page as the reverse proxy would pass it on (the site's host name,
``X-Forwarded-Proto: https``), so production's HTTPS redirect does not send it to plain
HTTP, and a missing ``collectstatic`` (every page 500) shows as unhealthy. Exit 0: healthy.
"""

from __future__ import annotations

import os
import sys
import urllib.error
import urllib.request

DEFAULT_URL = "http://127.0.0.1:8000/accounts/login/"


def check(url: str = DEFAULT_URL) -> int:
    host = os.environ.get("DJANGO_ALLOWED_HOSTS", "localhost").split(",")[0].strip()
    if not url.startswith("http://"):
        raise SystemExit("The health check asks the local web process over plain http.")
    headers = {"Host": host.lstrip("."), "X-Forwarded-Proto": "https"}
    request = urllib.request.Request(url, headers=headers)  # noqa: S310 (http only, checked above)
    try:
        with urllib.request.urlopen(request, timeout=5) as response:  # noqa: S310 (http only, checked above)
            return 0 if response.status == 200 else 1
    except (urllib.error.URLError, OSError) as error:
        print(f"unhealthy: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(check(*sys.argv[1:2]))
