"""Pipeline benchmark: uploads over HTTP through the real stack until their analyses are done.

    python bench/pipeline.py [--uploads 500] [--rate 10] [--workers 1,2] [--write-docs]

It starts its own stack and removes it afterwards: a scratch PostgreSQL database (created,
migrated, dropped), Redis on a dedicated database number (flushed), gunicorn on a free local
port, and one Celery worker with N pool processes (N = each of ``--workers``). For each N:

- steady: ``--uploads`` uploads at ``--rate`` per second, logged in like a clinician
  (session cookie, CSRF); latency = upload sent -> analysis done (p50 / p95);
- throughput: as many uploads sent as fast as the web server takes them; analyses per
  second sustained = completions per second between the 10th and 90th percentile finish.

Every phase has a deadline, so the run ends by itself; whatever is unfinished is reported.
Images come from the HAM10000 folder (``--data``), each uploaded once per lesion.
"""

from __future__ import annotations

import argparse
import hashlib
import http.cookiejar
import io
import json
import os
import platform
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

from bench.report import command_without_notes, write_section  # noqa: E402

SECTION = "## Pipeline"
TARGETS = {"analyses_per_s": 30.0, "p95_s": 1.0, "rate": 10.0}
PASSWORD = "bench-password-not-secret-0"


# --- the stack -----------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Stack:
    """Scratch database, Redis db, media folder, web server and worker processes."""

    def __init__(self, args: argparse.Namespace, workdir: Path) -> None:
        self.args = args
        self.workdir = workdir
        base = urllib.parse.urlsplit(args.database_url)
        self.db_name = f"dermascan_bench_{uuid.uuid4().hex[:8]}"
        self.maintenance_url = base._replace(path="/postgres").geturl()
        self.database_url = base._replace(path=f"/{self.db_name}").geturl()
        self.media_root = workdir / "media"
        self.port = free_port()
        self.processes: dict[str, subprocess.Popen] = {}

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def env(self, **extra: str) -> dict[str, str]:
        clean = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("DJANGO_", "DATABASE_", "REDIS_", "DERMASCAN_", "CELERY_"))
        }
        return {
            **clean,
            "DJANGO_SETTINGS_MODULE": "dermascan_site.settings",
            "DJANGO_DEBUG": "false",
            "DJANGO_LOG_LEVEL": "WARNING",
            "DATABASE_URL": self.database_url,
            "DATABASE_CONN_MAX_AGE": "60",
            "REDIS_URL": self.args.redis_url,
            "DERMASCAN_MEDIA_ROOT": str(self.media_root),
            # The API benchmark runs no worker, so it names no model.
            **({"DERMASCAN_DEFAULT_MODEL": str(self.args.model)} if "model" in self.args else {}),
            "DERMASCAN_VAR_DIR": str(self.workdir),
            **extra,
        }

    def create_database(self) -> None:
        import psycopg

        with psycopg.connect(self.maintenance_url, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{self.db_name}"')
        os.environ.update(self.env())  # this process uses the scratch database too
        subprocess.run(
            [sys.executable, "manage.py", "migrate", "--noinput"],
            cwd=REPO_ROOT,
            env=self.env(),
            check=True,
            stdout=subprocess.DEVNULL,
        )

    def drop_database(self) -> None:
        import psycopg

        try:
            from django.db import connections

            connections.close_all()
        except Exception:
            pass
        with psycopg.connect(self.maintenance_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{self.db_name}" WITH (FORCE)')

    def flush_redis(self) -> None:
        import redis

        redis.Redis.from_url(self.args.redis_url).flushdb()

    def start(self, name: str, command: list[str], **env: str) -> subprocess.Popen:
        log = (self.workdir / f"{name}.log").open("ab")
        process = subprocess.Popen(
            command,
            cwd=REPO_ROOT,
            env=self.env(**env),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.processes[name] = process
        return process

    def log(self, name: str) -> str:
        path = self.workdir / f"{name}.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def start_web(self) -> None:
        self.start(
            "web",
            [sys.executable, "-m", "gunicorn", "dermascan_site.wsgi"]
            + ["--bind", f"127.0.0.1:{self.port}", "--workers", str(self.args.web_workers)]
            + ["--threads", "4", "--timeout", "60"],
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                urllib.request.urlopen(self.base_url + "/accounts/login/", timeout=2)
                return
            except OSError:
                time.sleep(0.3)
        raise RuntimeError(f"the web server did not start:\n{self.log('web')[-2000:]}")

    def start_worker(self, processes: int) -> None:
        name = f"worker{processes}"
        threads = max(1, (os.cpu_count() or 1) // processes)
        self.start(
            name,
            [sys.executable, "-m", "celery", "-A", "dermascan_site", "worker"]
            + ["--queues", "inference,celery", "--concurrency", str(processes)]
            + ["--pool", "prefork", "--prefetch-multiplier", "1", "--without-gossip"]
            + ["--without-mingle", "--loglevel", "INFO", "--hostname", f"{name}@%h"],
            DERMASCAN_INFERENCE_THREADS=str(threads),
        )
        deadline = time.monotonic() + 120
        while self.log(name).count("Loaded model") < processes:
            if time.monotonic() > deadline or self.processes[name].poll() is not None:
                raise RuntimeError(f"the worker did not start:\n{self.log(name)[-2000:]}")
            time.sleep(0.3)

    def stop(self, name: str) -> None:
        process = self.processes.pop(name, None)
        if process is None:
            return
        try:
            os.killpg(process.pid, signal.SIGTERM)
            process.wait(timeout=20)
        except ProcessLookupError:
            pass
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)

    def stop_all(self) -> None:
        for name in list(self.processes):
            self.stop(name)


# --- the clinician's side: HTTP with a session -------------------------------------------


class NoRedirect(urllib.request.HTTPRedirectHandler):
    """A successful upload answers 302 to the lesion page; following it is not the upload."""

    def redirect_request(self, *args, **kwargs):
        return None


class Clinician:
    def __init__(self, base_url: str, username: str) -> None:
        self.base_url = base_url
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(self.jar), NoRedirect()
        )
        self.login(username)

    def csrf_token(self) -> str:
        return next(cookie.value for cookie in self.jar if cookie.name == "csrftoken")

    def request(self, path: str, data: bytes | None = None, headers: dict | None = None) -> int:
        request = urllib.request.Request(self.base_url + path, data=data, headers=headers or {})
        try:
            with self.opener.open(request, timeout=60) as response:
                response.read()
                return response.status
        except urllib.error.HTTPError as error:  # 302 arrives here (redirects not followed)
            return error.code

    def login(self, username: str) -> None:
        self.request("/accounts/login/")
        body = urllib.parse.urlencode(
            {"username": username, "password": PASSWORD, "csrfmiddlewaretoken": self.csrf_token()}
        ).encode()
        status = self.request("/accounts/login/", body)
        if status != 302:
            raise RuntimeError(f"login failed ({status})")

    def upload(self, lesion_pk: int, image: bytes, captured_on: str) -> int:
        boundary = uuid.uuid4().hex
        fields = {
            "csrfmiddlewaretoken": self.csrf_token(),
            "captured_on": captured_on,
            "modality": "dermoscopic",
        }
        body = io.BytesIO()
        for name, value in fields.items():
            body.write(
                f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'
                f"{value}\r\n".encode()
            )
        body.write(
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; '
            f'filename="lesion.jpg"\r\nContent-Type: image/jpeg\r\n\r\n'.encode()
        )
        body.write(image + f"\r\n--{boundary}--\r\n".encode())
        return self.request(
            f"/lesions/{lesion_pk}/images/",
            body.getvalue(),
            {"Content-Type": f"multipart/form-data; boundary={boundary}"},
        )


# --- one run ------------------------------------------------------------------------------


def load_images(data_dir: Path, count: int) -> list[bytes]:
    """``count`` distinct JPEGs: HAM10000 test-split images, else generated ones."""
    images: list[bytes] = []
    metadata = data_dir / "metadata.csv"
    if metadata.exists():
        import csv

        with metadata.open() as handle:
            rows = [row for row in csv.DictReader(handle) if row["split"] == "test"]
        for row in rows[:count]:
            path = data_dir / "images" / f"{row['image_id']}.jpg"
            if path.exists():
                images.append(path.read_bytes())
    if len(images) < count:
        import numpy as np
        from PIL import Image

        rng = np.random.default_rng(0)
        while len(images) < count:
            pixels = rng.integers(0, 255, (256, 256, 3), dtype=np.uint8)
            out = io.BytesIO()
            Image.fromarray(pixels).save(out, "JPEG", quality=90)
            images.append(out.getvalue())
    return images


def percentile(values: list[float], q: float) -> float:
    import numpy as np

    return float(np.percentile(values, q)) if values else float("nan")


def run_phase(
    clinician: Clinician,
    lesion_pk: int,
    images: list[bytes],
    *,
    rate: float | None,
    drain_timeout: float,
) -> dict:
    """Upload every image (steadily at ``rate``/s, or as fast as possible) and wait."""
    from lesions.models import Analysis

    sent_at: dict[str, float] = {}
    statuses: list[int] = []
    lock = threading.Lock()
    captured_on = datetime.now(UTC).date().isoformat()

    def upload(image: bytes) -> None:
        digest = hashlib.sha256(image).hexdigest()
        started = time.time()
        status = clinician.upload(lesion_pk, image, captured_on)
        with lock:
            sent_at[digest] = started
            statuses.append(status)

    t0 = time.monotonic()
    with ThreadPoolExecutor(max_workers=16 if rate else 4) as pool:
        for index, image in enumerate(images):
            if rate:
                delay = t0 + index / rate - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
            pool.submit(upload, image)
    send_seconds = time.monotonic() - t0

    deadline = time.monotonic() + drain_timeout
    finished = Analysis.objects.filter(image__lesion_id=lesion_pk, status__in=("done", "failed"))
    while finished.count() < len(images) and time.monotonic() < deadline:
        time.sleep(0.5)

    rows = list(
        Analysis.objects.filter(image__lesion_id=lesion_pk).values_list(
            "image__content_sha256", "status", "finished_at", "inference_ms"
        )
    )
    done = [(sha, at.timestamp(), ms) for sha, status, at, ms in rows if status == "done"]
    latencies = [at - sent_at[sha] for sha, at, _ in done if sha in sent_at]
    finish_times = sorted(at for _, at, _ in done)
    sustained = float("nan")
    if len(finish_times) >= 10:
        t10, t90 = percentile(finish_times, 10), percentile(finish_times, 90)
        sustained = 0.8 * len(finish_times) / (t90 - t10) if t90 > t10 else float("nan")
    overall = len(done) / (finish_times[-1] - min(sent_at.values())) if done and sent_at else 0.0
    return {
        "uploads": len(images),
        "rate": rate,
        "upload_ok": sum(status == 302 for status in statuses),
        "send_seconds": round(send_seconds, 1),
        "done": len(done),
        "failed": sum(status == "failed" for _, status, _, _ in rows),
        "unfinished": len(images) - sum(status in ("done", "failed") for _, status, _, _ in rows),
        "p50_s": percentile(latencies, 50),
        "p95_s": percentile(latencies, 95),
        "worker_ms_p50": percentile([ms for _, _, ms in done if ms], 50),
        "analyses_per_s_sustained": sustained,
        "analyses_per_s_overall": overall,
    }


def make_lesion(clinic_patient, label: str) -> int:
    from lesions.models import Lesion
    from lesions.services.lesions import allocate_lesion_number

    patient = clinic_patient
    return Lesion.objects.create(
        patient=patient,
        number=allocate_lesion_number(patient),
        label=label,
        body_site="back",
        body_view="back",
        map_x=0.5,
        map_y=0.3,
    ).pk


def with_onnx_export(model: Path, workdir: Path) -> Path:
    """The artifact as CPU workers should serve it: with its ONNX export (backend "auto").

    An artifact saved without the export is copied and exported here; the original stays
    untouched (``python manage.py export_onnx --model DIR`` adds it for good).
    """
    import shutil

    from classifier.artifact import read_card
    from classifier.export import add_export, usable_export

    if usable_export(model, read_card(model)) is not None:
        return model
    print(f"{model} has no ONNX export: benchmarking a copy with one added")
    copy = shutil.copytree(model, workdir / "model-with-onnx")
    add_export(copy)
    return copy


def load_average() -> float:
    return round(os.getloadavg()[0], 1)


def benchmark(args: argparse.Namespace) -> dict:
    started_at = time.monotonic()
    workdir = Path(tempfile.mkdtemp(prefix="dermascan-pipeline-bench-"))
    if args.model is None or not (args.model / "card.json").exists():
        from classifier.testing import build_untrained_artifact

        print("building an untrained artifact (timing does not depend on the weights)...")
        args.model = build_untrained_artifact(workdir / "model")
    args.model = with_onnx_export(args.model, workdir)
    stack = Stack(args, workdir)
    results = []
    load_before = load_average()
    try:
        stack.flush_redis()
        stack.create_database()
        import django

        django.setup()
        from lesions.models import Clinic, Patient, User

        clinic = Clinic.objects.create(name="Benchmark clinic")
        User.objects.create_user("bench", password=PASSWORD, clinic=clinic)
        patient = Patient.objects.create(
            clinic=clinic,
            medical_record_number="BENCH-1",
            family_name="Patient",
            given_names="Benchmark",
            date_of_birth="1970-01-01",
            sex="female",
        )
        images = load_images(args.data, args.uploads)
        stack.start_web()
        clinician = Clinician(stack.base_url, "bench")
        for processes in args.workers:
            stack.flush_redis()
            stack.start_worker(processes)
            for phase, rate in (("steady", args.rate), ("throughput", None)):
                if time.monotonic() - started_at > args.timeout:
                    print(f"time budget of {args.timeout} s used up: skipping the rest")
                    break
                lesion_pk = make_lesion(patient, f"{phase} with {processes} process(es)")
                print(f"{processes} worker process(es), {phase}: {len(images)} uploads...")
                result = run_phase(
                    clinician,
                    lesion_pk,
                    images,
                    rate=rate,
                    drain_timeout=args.drain_timeout,
                )
                result |= {"worker_processes": processes, "phase": phase}
                print(json.dumps(result))
                results.append(result)
            stack.stop(f"worker{processes}")
    finally:
        stack.stop_all()
        try:
            stack.drop_database()
        finally:
            stack.flush_redis()
    import onnxruntime

    return {
        "date": datetime.now(UTC).date().isoformat(),
        "command": "python bench/pipeline.py " + " ".join(command_without_notes(sys.argv[1:])),
        "machine": {
            "nproc": os.cpu_count(),
            "cpu": platform.processor() or platform.machine(),
            "python": platform.python_version(),
            "onnxruntime": onnxruntime.__version__,
        },
        "model": str(args.model.name),
        "web_workers": args.web_workers,
        "load_before": load_before,
        "load_after": load_average(),
        "results": results,
    }


# --- report -------------------------------------------------------------------------------


def fmt(value: float, digits: int = 2) -> str:
    return "-" if value != value else f"{value:.{digits}f}"  # NaN -> "-"


def docs_section(report: dict) -> str:
    m = report["machine"]
    lines = [
        SECTION,
        "",
        f"Measured {report['date']} with `{report['command']}`.",
        f"Machine: {m['nproc']} CPU cores, no GPU; Python {m['python']}, onnxruntime "
        f"{m['onnxruntime']}. Load average before/after: {report['load_before']} / "
        f"{report['load_after']}. Everything ran on this machine: gunicorn "
        f"({report['web_workers']} processes), PostgreSQL, Redis, one Celery worker with N "
        "pool processes (CPU threads per process = cores / N), and the client.",
        "",
        "| worker processes | phase | uploads | upload rate /s | done | failed | unfinished "
        "| latency p50 s | latency p95 s | analyses/s sustained | analyses/s overall "
        "| worker ms/analysis p50 |",
        "| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for r in report["results"]:
        rate = fmt(r["rate"], 1) if r["rate"] else "max"
        lines.append(
            f"| {r['worker_processes']} | {r['phase']} | {r['uploads']} | {rate} | {r['done']} "
            f"| {r['failed']} | {r['unfinished']} | {fmt(r['p50_s'])} | {fmt(r['p95_s'])} "
            f"| {fmt(r['analyses_per_s_sustained'], 1)} | {fmt(r['analyses_per_s_overall'], 1)} "
            f"| {fmt(r['worker_ms_p50'], 0)} |"
        )
    best_rate = max(
        (r["analyses_per_s_sustained"] for r in report["results"] if r["phase"] == "throughput"),
        default=float("nan"),
    )
    steady_p95 = min(
        (r["p95_s"] for r in report["results"] if r["phase"] == "steady"), default=float("nan")
    )

    def verdict(ok: bool) -> str:
        return "**met**" if ok else "**missed**"

    lines += [
        "",
        "Latency is from the client sending the upload to the analysis being marked done "
        "(database timestamp). Sustained throughput counts completions between the 10th and "
        "90th percentile finish times of the throughput phase.",
        "",
        f"Targets (2 CPU cores): ≥ {TARGETS['analyses_per_s']:.0f} analyses/s sustained: "
        f"{fmt(best_rate, 1)} — {verdict(best_rate >= TARGETS['analyses_per_s'])}; "
        f"p95 ≤ {TARGETS['p95_s']:.0f} s at {TARGETS['rate']:.0f} uploads/s: "
        f"{fmt(steady_p95)} s — {verdict(steady_p95 <= TARGETS['p95_s'])}.",
    ]
    if report.get("notes"):
        lines += ["", report["notes"]]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--uploads", type=int, default=500, help="uploads per phase")
    parser.add_argument("--rate", type=float, default=10.0, help="uploads/s in the steady phase")
    parser.add_argument("--workers", default="1,2", help="worker process counts to compare")
    parser.add_argument("--web-workers", type=int, default=2, help="gunicorn processes")
    parser.add_argument("--model", type=Path, help="artifact (default: the bundled model)")
    parser.add_argument(
        "--data", type=Path, default=REPO_ROOT.parent / "shared" / "data" / "ham10000"
    )
    parser.add_argument(
        "--database-url",
        default=os.environ.get("DATABASE_URL") or "postgres://postgres@127.0.0.1:5432/postgres",
        help="PostgreSQL server to create the scratch database on",
    )
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/13")
    parser.add_argument("--drain-timeout", type=float, default=300.0)
    parser.add_argument("--timeout", type=float, default=1800.0, help="overall time budget (s)")
    parser.add_argument("--write-docs", action="store_true", help="update docs/benchmarks.md")
    parser.add_argument("--notes", default="", help="free text appended to the docs section")
    args = parser.parse_args()
    args.workers = [int(n) for n in args.workers.split(",")]
    if args.model is None:
        args.model = REPO_ROOT / "classifier" / "default_model"
    report = benchmark(args)
    report["notes"] = args.notes
    section = docs_section(report)
    print(section)
    if args.write_docs:
        write_section(SECTION, section)


if __name__ == "__main__":
    main()
