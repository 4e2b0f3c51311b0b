"""API benchmark: authenticated reads of the mobile API, and the health check, under load.

    python bench/api.py [--concurrency 16] [--seconds 15] [--web-workers 2] [--write-docs]

It starts its own stack and removes it afterwards: a scratch PostgreSQL database (created,
migrated, filled, dropped), gunicorn (gthread) on PostgreSQL on a local port, and the load
generator in a second process: a small asyncio HTTP/1.1 client with keep-alive (light, so
that it takes as little of the shared CPU as it can). Phases, each ``--seconds`` long with
``--concurrency`` callers:

- ``reads``: a device token reading the patient list (a page of 25), a lesion's history
  (10 images with their analyses) and an analysis, in turn;
- ``health``: anonymous GET /api/health/ (the load balancer's view), once with every caller
  calling back to back (saturation) and once with each calling every ``--pace`` seconds.

No Celery worker runs: the health check only reads the heartbeat rows, which this process
writes every few seconds the way a worker's bootstep does (``lesions.pipeline.heartbeat``).
Every phase has a deadline, so the run ends by itself.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request
from datetime import UTC, datetime
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

from bench import pipeline  # noqa: E402
from bench.report import command_without_notes, write_section  # noqa: E402

SECTION = "## API"
TARGETS = {"reads_rps": 200.0, "reads_p95_ms": 100.0, "health_p95_ms": 20.0}


# --- the load generator (runs in its own process: ``bench/api.py --client``) -------------


async def _caller(host, port, paths, headers, deadline, latencies, errors, index, pace):
    reader = writer = None
    n = index
    next_call = time.monotonic() + (pace * index / 16 if pace else 0)  # spread the callers
    while time.monotonic() < deadline:
        if pace:  # an open-loop caller: one call every ``pace`` seconds, however long it took
            await asyncio.sleep(max(0.0, next_call - time.monotonic()))
            next_call += pace
        path = paths[n % len(paths)]
        n += 1
        request = f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\n{headers}\r\n".encode()
        started = time.perf_counter()
        try:
            if writer is None:
                reader, writer = await asyncio.open_connection(host, port)
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            status = int(head.split(b" ", 2)[1])
            lower = head.lower()
            length = int(lower.split(b"content-length:")[1].split(b"\r\n")[0])
            await reader.readexactly(length)
            if b"connection: close" in lower:
                writer.close()
                writer = None
        except (OSError, asyncio.IncompleteReadError, ValueError, IndexError):
            errors.append("connection")
            writer = None
            continue
        elapsed = (time.perf_counter() - started) * 1000
        kind = path.split("?")[0]
        latencies.setdefault(kind, []).append(elapsed)
        if status != 200:
            errors.append(str(status))
    if writer is not None:
        writer.close()


async def _load(args) -> dict:
    paths = json.loads(args.paths)
    headers = "".join(f"{k}: {v}\r\n" for k, v in json.loads(args.headers).items())
    latencies: dict[str, list[float]] = {}
    errors: list[str] = []
    started = time.monotonic()
    deadline = started + args.seconds
    await asyncio.gather(
        *(
            _caller(
                "127.0.0.1", args.port, paths, headers, deadline, latencies, errors, i, args.pace
            )
            for i in range(args.concurrency)
        )
    )
    return {"seconds": time.monotonic() - started, "latencies": latencies, "errors": errors}


def client_main(args) -> None:
    print(json.dumps(asyncio.run(_load(args))))


def run_load(port: int, paths: list[str], headers: dict, args, pace: float = 0.0) -> dict:
    """Run the load generator in a second process and summarise what it measured."""
    command = [sys.executable, __file__, "--client", "--port", str(port), "--pace", str(pace)]
    command += ["--paths", json.dumps(paths), "--headers", json.dumps(headers)]
    command += ["--seconds", str(args.seconds), "--concurrency", str(args.concurrency)]
    done = subprocess.run(
        command, capture_output=True, text=True, timeout=args.seconds + 60, check=True
    )
    raw = json.loads(done.stdout)
    every = sorted(v for values in raw["latencies"].values() for v in values)
    return {
        "requests": len(every),
        "rps": len(every) / raw["seconds"],
        "p50": percentile(every, 50),
        "p95": percentile(every, 95),
        "p99": percentile(every, 99),
        "errors": len(raw["errors"]),
        "error_kinds": sorted(set(raw["errors"])),
        "per_path": {
            path: {"n": len(v), "p50": percentile(sorted(v), 50), "p95": percentile(sorted(v), 95)}
            for path, v in raw["latencies"].items()
        },
    }


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    return values[min(len(values) - 1, round(q / 100 * (len(values) - 1)))]


# --- the stack ------------------------------------------------------------------------------


class Stack(pipeline.Stack):
    """The pipeline benchmark's scratch stack, with a threaded gunicorn and no worker:
    health reads heartbeats that this process writes in a worker's place."""

    def __init__(self, args: argparse.Namespace, workdir: Path) -> None:
        super().__init__(args, workdir)
        self.port = args.port or self.port
        self.stop_beating = threading.Event()

    def env(self, **extra: str) -> dict[str, str]:
        return super().env(DERMASCAN_HEARTBEAT_INTERVAL="5", **extra)

    def start_web(self) -> None:
        self.start(
            "web",
            [sys.executable, "-m", "gunicorn", "dermascan_site.wsgi"]
            + ["--bind", f"127.0.0.1:{self.port}", "--workers", str(self.args.web_workers)]
            + ["--worker-class", "gthread", "--threads", str(self.args.threads)]
            + ["--worker-connections", str(connections_per_process(self.args))]
            + ["--keep-alive", "30", "--timeout", "60"],
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                urllib.request.urlopen(f"{self.base_url}/api/schema/", timeout=5)
                return
            except OSError:
                time.sleep(0.3)
        raise RuntimeError(f"the web server did not start:\n{self.log('web')[-2000:]}")

    def stop_web(self) -> None:
        self.stop("web")

    def beat_like_a_worker(self) -> None:
        from lesions.pipeline.heartbeat import write_heartbeat

        while True:
            write_heartbeat("bench-worker@localhost", "celery,inference")
            if self.stop_beating.wait(5):
                return


def connections_per_process(args: argparse.Namespace) -> int:
    """Each web process's share of the callers' keep-alive connections.

    A keep-alive connection stays with the process that accepted it, and a gthread process
    accepts as many as it is offered (gunicorn's default cap is 1,000): the 16 callers
    connecting at once ended up 13, 2 and 1 on three processes, and the 13 waited on one
    process while the others idled. With this cap a process takes no more than its share
    (and one more than its threads, so that it keeps some alive); a connection above the
    cap is closed after its answer and the caller reconnects to a process with room.
    """
    share = -(-args.concurrency // args.web_workers)
    return max(share, args.threads + 1)


def fill(patients: int, images: int) -> dict:
    """A clinician with ``patients`` patients; one lesion with ``images`` analysed images."""
    import django

    django.setup()
    from django.core.files.uploadedfile import SimpleUploadedFile

    from lesions.models import Clinic, DeviceToken, Patient, User
    from lesions.pipeline.inference import ServedModelInfo
    from lesions.services import add_lesion_image, create_lesion
    from lesions.services.analyses import claim_analysis, complete_analysis
    from lesions.tests.images import jpeg_bytes
    from lesions.tests.pipeline_data import heatmap_bytes, result_dict

    clinic = Clinic.objects.create(name="Bench clinic")
    user = User.objects.create_user("bench", password="bench-not-secret-0", clinic=clinic)
    Patient.objects.bulk_create(
        Patient(
            clinic=clinic,
            medical_record_number=f"B-{n:05d}",
            name=f"Bench Patient {n:05d}",
            date_of_birth="1970-01-01",
        )
        for n in range(patients)
    )
    patient = Patient.objects.filter(clinic=clinic).first()
    lesion = create_lesion(
        patient=patient,
        created_by=user,
        label="bench lesion",
        body_site="back",
        body_view="back",
        map_x=0.5,
        map_y=0.5,
    )
    model = ServedModelInfo(model_version_id=None, model_id="bench-model", sha256="ab" * 32)
    analysis_pks = []
    for n in range(images):
        image = add_lesion_image(
            lesion=lesion,
            uploaded_file=SimpleUploadedFile("x.jpg", jpeg_bytes((128, 96), seed=n)),
            captured_on=f"2026-0{1 + n % 9}-1{n % 10}",
            modality="dermoscopic",
            uploaded_by=user,
        )
        analysis = image.analyses.get()
        claim = claim_analysis(analysis_pk=analysis.pk, task_id=f"bench-{n}")
        complete_analysis(
            claim=claim,
            result=result_dict(uncertain=n % 2 == 0),
            heatmap_jpeg=heatmap_bytes(),
            model=model,
            inference_ms=100,
        )
        analysis_pks.append(analysis.pk)
    _, token = DeviceToken.objects.create(user=user, device_name="bench")
    return {"token": token, "lesion": lesion.pk, "analyses": analysis_pks}


def run(args) -> dict:
    workdir = Path(tempfile.mkdtemp(prefix="dermascan-apibench-"))
    stack = Stack(args, workdir)
    load_before = os.getloadavg()[0]
    stack.create_database()
    beater = None
    try:
        data = fill(args.patients, args.images)
        import redis

        redis.Redis.from_url(args.redis_url).flushdb()  # the tasks the filling queued
        beater = threading.Thread(target=stack.beat_like_a_worker, daemon=True)
        beater.start()
        stack.start_web()
        token = {"Authorization": f"Token {data['token']}"}
        reads = [
            "/api/v1/patients/",
            f"/api/v1/lesions/{data['lesion']}/history/",
            f"/api/v1/analyses/{data['analyses'][-1]}/",
        ]
        # A short warm-up: first requests open connections and import lazily.
        run_load(stack.port, reads, token, argparse.Namespace(**{**vars(args), "seconds": 2}))
        results = {
            "reads": run_load(stack.port, reads, token, args),
            "health": run_load(stack.port, ["/api/health/"], {}, args),
            "health_paced": run_load(stack.port, ["/api/health/"], {}, args, pace=args.pace),
        }
        with urllib.request.urlopen(f"http://127.0.0.1:{stack.port}/api/health/") as answer:
            results["health_status"] = json.loads(answer.read())["status"]
    finally:
        stack.stop_beating.set()
        stack.stop_web()
        stack.drop_database()
    results["load"] = (round(load_before, 1), round(os.getloadavg()[0], 1))
    results["measured"] = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    return results


def report(args, results: dict) -> str:
    command = " ".join(["python", *command_without_notes(sys.argv)])
    reads, health = results["reads"], results["health"]
    rows = []
    paced = results["health_paced"]
    phases = (
        ("reads (mix), callers at full speed", reads),
        ("health (anonymous), callers at full speed", health),
        (f"health (anonymous), each caller every {args.pace * 1000:.0f} ms", paced),
    )
    for name, r in phases:
        rows.append(
            f"| {name} | {r['requests']} | {r['rps']:.0f} | {r['p50']:.1f} | {r['p95']:.1f} "
            f"| {r['p99']:.1f} | {r['errors']} |"
        )
    for path, r in reads["per_path"].items():
        label = path.split("/api/v1/")[1].split("/")[0]
        rows.append(f"| · {label} ({path}) | {r['n']} | | {r['p50']:.1f} | {r['p95']:.1f} | | |")

    def verdict(ok: bool) -> str:
        return "met" if ok else "**missed**"

    reads_ok = (
        reads["rps"] >= TARGETS["reads_rps"]
        and reads["p95"] <= TARGETS["reads_p95_ms"]
        and reads["errors"] == 0
    )
    health_ok = health["p95"] <= TARGETS["health_p95_ms"] and health["errors"] == 0
    paced_ok = paced["p95"] <= TARGETS["health_p95_ms"] and paced["errors"] == 0
    notes = f"\n{args.notes}\n" if args.notes else ""
    return f"""{SECTION}

Measured {results["measured"]} with `{command}`.
Machine: {os.cpu_count()} CPU cores, Python {platform.python_version()}; load average \
before/after: {results["load"][0]} / {results["load"][1]}. gunicorn ({args.web_workers} \
processes x {args.threads} threads, gthread, at most \
{connections_per_process(args)} connections each) on PostgreSQL, and the load generator (asyncio, \
keep-alive, {args.concurrency} concurrent callers, {args.seconds} s per phase) in a second \
process, all on this machine. Data: {args.patients} patients, a lesion with {args.images} \
analysed images.

| phase | requests | requests/s | p50 ms | p95 ms | p99 ms | errors |
| --- | ---: | ---: | ---: | ---: | ---: | ---: |
{chr(10).join(rows)}

Reads: a device token reads the patient list (a page of 25), a lesion's history and one \
analysis, in turn. Health: anonymous `GET /api/health/`, which reads the workers' heartbeat \
rows (here written by the benchmark in place of a worker) and never pings a worker; it \
answered `{results["health_status"]}` at the end.

Targets (2 CPU cores): reads ≥ {TARGETS["reads_rps"]:.0f} requests/s with p95 ≤ \
{TARGETS["reads_p95_ms"]:.0f} ms and no errors: {reads["rps"]:.0f}/s, p95 \
{reads["p95"]:.1f} ms, {reads["errors"]} errors — {verdict(reads_ok)}; health p95 ≤ \
{TARGETS["health_p95_ms"]:.0f} ms under {args.concurrency} callers: {health["p95"]:.1f} ms with \
the callers at full speed — {verdict(health_ok)}; {paced["p95"]:.1f} ms with each calling every \
{args.pace * 1000:.0f} ms ({paced["rps"]:.0f} requests/s offered) — {verdict(paced_ok)}.
{notes}"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--client", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--paths", help=argparse.SUPPRESS)
    parser.add_argument("--headers", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, default=0, help="web server port (default: free)")
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument(
        "--pace", type=float, default=0.1, help="seconds between calls of a paced health caller"
    )
    parser.add_argument("--seconds", type=float, default=15.0, help="length of each phase")
    parser.add_argument("--web-workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--patients", type=int, default=60)
    parser.add_argument("--images", type=int, default=10)
    parser.add_argument(
        "--database-url",
        default=os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres"),
        help="a PostgreSQL server; a scratch database is created there and dropped",
    )
    parser.add_argument(
        "--redis-url",
        default=os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/15"),
        help="a Redis database of its own (it is flushed)",
    )
    parser.add_argument("--write-docs", action="store_true", help="update docs/benchmarks.md")
    parser.add_argument("--notes", default="", help="a paragraph added to the docs section")
    args = parser.parse_args()
    if args.client:
        client_main(args)
        return
    results = run(args)
    section = report(args, results)
    print(section)
    if args.write_docs:
        write_section(SECTION, section)


if __name__ == "__main__":
    main()
