"""How the pages and the API scale with a clinic's size.

``python bench/scale.py --patients 2000,20000 --write-docs``

For each size: a scratch PostgreSQL database (``dermascan_scale_bench``, created, migrated,
dropped at the end) is filled with one clinic by bulk inserts (fixtures only: the per-row
services would take hours), ``VACUUM ANALYZE``d, and every page and endpoint of the scale
issue is timed warm, in this process through Django's test client and over HTTP through
gunicorn (started here, always stopped). Each request's queries are counted, and the
slowest query of each request is explained (``EXPLAIN ANALYZE``).
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import tempfile
import time
import urllib.request
from datetime import UTC, datetime
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

from bench import pipeline  # noqa: E402
from bench.report import command_without_notes, write_section  # noqa: E402
from bench.scale_data import fill  # noqa: E402

SECTION = "## Scale"
DATABASE = "dermascan_scale_bench"
TARGETS = {"page_ms": 150.0, "http_ms": 200.0, "report_ms": 1500.0}
BEFORE = (
    "Before (the scale issue's measurement of the same clinic at 20,000 patients over HTTP, "
    'with the "latest analysis per image" subqueries, patient figures annotated before '
    "paging and whole-table admin work): worklist 1,643 ms (web) / 1,644 ms (API); patient "
    "list 914 ms (page 1) / 931 ms (page 790); search 768 ms; patient page 753 ms; lesion "
    "page 861 ms; API patients 184-199 ms; admin analyses / patients / audit log 521 / 203 / "
    "120 ms; 11-17 queries a page, the worklist's growing from 11 to 14."
)


class Stack(pipeline.Stack):
    """The pipeline benchmark's stack with a fixed scratch database name."""

    def __init__(self, args: argparse.Namespace, workdir: Path) -> None:
        super().__init__(args, workdir)
        self.db_name = DATABASE
        self.database_url = self.database_url.rsplit("/", 1)[0] + f"/{DATABASE}"

    def env(self, **extra: str) -> dict[str, str]:
        return super().env(DJANGO_ALLOWED_HOSTS="testserver,127.0.0.1,localhost", **extra)

    def create_database(self) -> None:
        self.drop_database()  # a run that was killed may have left it
        super().create_database()


def requests_of(data: dict) -> list[tuple[str, str, str]]:
    """(label, who, path) of every request timed; who: web, api or admin."""
    return [
        ("worklist (home)", "web", "/"),
        ("worklist, API", "api", "/api/v1/worklist/"),
        ("patient list, page 1", "web", "/patients/"),
        ("patient list, last page", "web", f"/patients/?page={data['last_page']}"),
        ("patient search, name", "web", f"/patients/?q={data['search_name']}"),
        ("patient search, record number", "web", f"/patients/?q={data['search_record']}"),
        ("patient page", "web", f"/patients/{data['patient']}/"),
        ("lesion page", "web", f"/lesions/{data['lesion']}/"),
        ("API patients", "api", "/api/v1/patients/"),
        ("API patients, last page", "api", f"/api/v1/patients/?page={data['api_last_page']}"),
        ("API analysis", "api", f"/api/v1/analyses/{data['analysis']}/"),
        ("API lesion history", "api", f"/api/v1/lesions/{data['lesion']}/history/"),
        ("admin analyses", "admin", "/admin/lesions/analysis/"),
        ("admin patients", "admin", "/admin/lesions/patient/"),
        ("admin audit log", "admin", "/admin/lesions/auditevent/"),
        ("patient report (PDF)", "web", f"/patients/{data['patient']}/report.pdf"),
    ]


def explain(sql: str) -> list[str]:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY ON) " + sql)
        return [row[0] for row in cursor.fetchall()]


def time_in_process(clients: dict, path: str, who: str, repeat: int) -> dict:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client = clients[who]
    for _ in range(2):  # warm: first requests import lazily and fill caches
        status = client.get(path).status_code
        if status != 200:
            raise RuntimeError(f"{path} answered {status}")
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        response = client.get(path)
        if hasattr(response, "streaming_content"):
            b"".join(response.streaming_content)
        times.append(1000 * (time.perf_counter() - start))
    with CaptureQueriesContext(connection) as queries:
        client.get(path)
    slowest = max(queries.captured_queries, key=lambda query: float(query["time"]), default=None)
    plan = explain(slowest["sql"]) if slowest and slowest["sql"].startswith("SELECT") else []
    return {
        "median": statistics.median(times),
        "p95": sorted(times)[max(0, round(0.95 * len(times)) - 1)],
        "queries": len(queries.captured_queries),
        "slowest_ms": 1000 * float(slowest["time"]) if slowest else 0.0,
        "slowest_sql": slowest["sql"][:300] if slowest else "",
        "plan": plan,
    }


def time_over_http(base_url: str, path: str, headers: dict, repeat: int) -> float:
    def get() -> None:
        request = urllib.request.Request(base_url + path, headers=headers)
        with urllib.request.urlopen(request, timeout=60) as answer:
            answer.read()

    for _ in range(2):
        get()
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        get()
        times.append(1000 * (time.perf_counter() - start))
    return statistics.median(times)


def clients_for(data: dict) -> tuple[dict, dict]:
    """Test clients (in process) and HTTP headers of the clinician, the phone and staff."""
    from django.test import Client

    from lesions.models import User

    web, admin = Client(), Client()
    web.force_login(User.objects.get(pk=data["clinician"]))
    admin.force_login(User.objects.get(pk=data["staff"]))
    api = Client(headers={"Authorization": f"Token {data['token']}"})
    headers = {
        "web": {"Cookie": f"sessionid={web.cookies['sessionid'].value}"},
        "admin": {"Cookie": f"sessionid={admin.cookies['sessionid'].value}"},
        "api": {"Authorization": f"Token {data['token']}"},
    }
    return {"web": web, "admin": admin, "api": api}, headers


def measure_size(args: argparse.Namespace, patients: int) -> dict:
    workdir = Path(tempfile.mkdtemp(prefix="dermascan-scale-"))
    stack = Stack(args, workdir)
    stack.create_database()
    try:
        import django

        django.setup()
        started = time.monotonic()
        data = fill(patients, media_root=stack.media_root)
        fill_s = time.monotonic() - started
        clients, headers = clients_for(data)
        rows = []
        for label, who, path in requests_of(data):
            repeat = args.report_repeat if "report" in path else args.repeat
            rows.append(
                {"label": label, "path": path, **time_in_process(clients, path, who, repeat)}
            )
            print(f"{patients} {label}: {rows[-1]['median']:.1f} ms, {rows[-1]['queries']} q")
        stack.start_web()
        try:
            for row, (_, who, path) in zip(rows, requests_of(data), strict=True):
                repeat = args.report_repeat if "report" in path else args.repeat
                row["http"] = time_over_http(stack.base_url, path, headers[who], repeat)
        finally:
            stack.stop_all()
    finally:
        stack.drop_database()
    return {"patients": patients, "counts": data["counts"], "fill_s": fill_s, "rows": rows}


def verdict(ok: bool) -> str:
    return "met" if ok else "**missed**"


def report(args: argparse.Namespace, results: list[dict], load: tuple[float, float]) -> str:
    command = " ".join(["python", *command_without_notes(sys.argv)])
    small, large = results[0], results[-1]
    sizes = " / ".join(
        f"{r['patients']:,} patients ({r['counts']['analyses']:,} analyses, "
        f"{r['counts']['audit']:,} audit events; filled in {r['fill_s']:.0f} s)"
        for r in results
    )
    head = " | ".join(f"{r['patients']:,}: in process / HTTP ms | queries" for r in results)
    lines = [
        SECTION,
        "",
        f"Measured {datetime.now(UTC):%Y-%m-%d %H:%M} UTC with `{command}`.",
        f"Machine: {os.cpu_count()} CPU cores, Python {platform.python_version()}; load average "
        f"before/after: {load[0]:.1f} / {load[1]:.1f}. One clinic per size, bulk-inserted into "
        f"a scratch PostgreSQL database, `VACUUM ANALYZE`d: {sizes}. Each request warm, "
        f"median of {args.repeat} ({args.report_repeat} for the PDF), signed in; HTTP through "
        "gunicorn (2 processes x 4 threads) on this machine.",
        "",
        f"| request | {head} |",
        "| --- |" + " ---: | ---: |" * len(results),
    ]
    for index, row in enumerate(large["rows"]):
        cells = []
        for result in results:
            r = result["rows"][index]
            cells.append(f"{r['median']:.1f} / {r['http']:.1f} | {r['queries']}")
        lines.append(f"| {row['label']} | " + " | ".join(cells) + " |")
    pages = [r for r in large["rows"] if "PDF" not in r["label"]]
    pdf = next(r for r in large["rows"] if "PDF" in r["label"])
    worst = max(pages, key=lambda r: r["median"])
    worst_http = max(pages, key=lambda r: r["http"])
    same = all(
        a["queries"] == b["queries"] for a, b in zip(small["rows"], large["rows"], strict=True)
    )
    lines += [
        "",
        f"Targets at {large['patients']:,} patients:",
        "",
        f"- every page ≤ {TARGETS['page_ms']:.0f} ms median in process: slowest "
        f"{worst['median']:.1f} ms ({worst['label']}) — {verdict(worst['median'] <= 150)}",
        f"- every page ≤ {TARGETS['http_ms']:.0f} ms median over HTTP: slowest "
        f"{worst_http['http']:.1f} ms ({worst_http['label']}) — "
        f"{verdict(worst_http['http'] <= 200)}",
        f"- PDF report ≤ {TARGETS['report_ms']:.0f} ms: {pdf['median']:.0f} ms in process, "
        f"{pdf['http']:.0f} ms over HTTP — {verdict(max(pdf['median'], pdf['http']) <= 1500)}",
        f"- the same number of queries at both sizes: {verdict(same)}",
        "",
        BEFORE,
        "",
        f"Slowest query of each request at {large['patients']:,} patients "
        "(`EXPLAIN ANALYZE`, first lines):",
        "",
    ]
    for row in large["rows"]:
        plan = "\n".join(row["plan"][:8]) or "(not a SELECT: a session or audit write)"
        lines += [f"{row['label']}: {row['slowest_ms']:.1f} ms", "", "```text", plan, "```", ""]
    if args.notes:
        lines += [args.notes, ""]
    return "\n".join(lines).rstrip() + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patients", default="2000,20000", help="clinic sizes, comma-separated")
    parser.add_argument("--repeat", type=int, default=20, help="timed requests per page")
    parser.add_argument("--report-repeat", type=int, default=5, help="timed PDF reports")
    parser.add_argument("--web-workers", type=int, default=2)
    parser.add_argument("--database-url", default="postgres://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/14")
    parser.add_argument("--write-docs", action="store_true")
    parser.add_argument("--notes", default="", help="a paragraph added under the figures")
    args = parser.parse_args()
    load_before = os.getloadavg()[0]
    results = [measure_size(args, int(size)) for size in args.patients.split(",")]
    section = report(args, results, (load_before, os.getloadavg()[0]))
    print(section)
    if args.write_docs:
        write_section(SECTION, section)


if __name__ == "__main__":
    main()
