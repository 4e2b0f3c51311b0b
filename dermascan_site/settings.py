"""DermaScan settings, read from the environment (django-environ).

With nothing set, DermaScan runs on a laptop: a SQLite file, local media, and
a Celery broker in a folder (no service needed). Each real component is
switched on by one variable:

- ``DATABASE_URL``  PostgreSQL (psycopg 3), e.g. ``postgres://postgres@127.0.0.1:5432/test``
- ``REDIS_URL``     Redis as the Celery broker, e.g. ``redis://127.0.0.1:6379/0``
- ``AWS_STORAGE_BUCKET_NAME`` (+ the usual ``AWS_*``)  media and model artifacts on S3
  (django-storages)
- ``DJANGO_ENV=production``  hardened settings that pass ``manage.py check --deploy``
"""

import datetime
from pathlib import Path

import environ
from csp.constants import NONE, SELF, UNSAFE_INLINE

BASE_DIR = Path(__file__).resolve().parent.parent
env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

DJANGO_ENV = env.str("DJANGO_ENV", default="development")
PRODUCTION = DJANGO_ENV == "production"
DEBUG = env.bool("DJANGO_DEBUG", default=not PRODUCTION)

# Writable state of a development install (SQLite file, media, broker folder).
VAR_DIR = Path(env.str("DERMASCAN_VAR_DIR", default=str(BASE_DIR / "var")))

if PRODUCTION:
    SECRET_KEY = env.str("DJANGO_SECRET_KEY")
else:
    SECRET_KEY = env.str(
        "DJANGO_SECRET_KEY",
        default="django-insecure-development-only-key-never-use-in-production-0123456789",
    )

ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "dermascan_site.apps.DermaScanAdminConfig",  # django.contrib.admin with the 2FA-aware site
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "knox",
    "django_filters",
    "drf_spectacular",
    "axes",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "csp",
    "drf_spectacular_sidecar",
    "classifier",
    "lesions",
    "training",
    "monitoring",
    "interop",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    # Before any body is read (CSRF's process_view, the views): needs request.user only.
    "dermascan_site.security.RequestBodyLimitMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "dermascan_site.security.NoStoreMiddleware",
    "axes.middleware.AxesMiddleware",  # last: turns a locked-out sign-in into the lockout page
]

ROOT_URLCONF = "dermascan_site.urls"
WSGI_APPLICATION = "dermascan_site.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

DATABASES = {
    "default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'db.sqlite3'}"),
}
DATABASES["default"]["ATOMIC_REQUESTS"] = False
DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("DATABASE_CONN_MAX_AGE", default=0))
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "lesions.User"
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "lesions:home"  # the worklist
LOGOUT_REDIRECT_URL = "login"

AUTHENTICATION_BACKENDS = [
    "dermascan_site.accounts.LockoutBackend",  # django-axes: refuses locked-out sign-ins
    "django.contrib.auth.backends.ModelBackend",
]

# Sign-in lockout (django-axes): after this many failures, counted by username and, apart,
# by client address, both are refused for the cool-off period. Staff unlock a user from the
# user list in the admin ("Unlock sign-in"), or with `manage.py axes_reset_username NAME`.
AXES_FAILURE_LIMIT = env.int("DERMASCAN_LOGIN_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = datetime.timedelta(
    minutes=env.int("DERMASCAN_LOGIN_COOLOFF_MINUTES", default=15)
)
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "dermascan_site.accounts.lockout_response"
AXES_CLIENT_IP_CALLABLE = "lesions.client_address.client_ip"  # the throttles use it too
AXES_VERBOSE = False  # attempts and lockouts are kept in the database (admin: Axes)
# Reverse proxies in front of the web process (1 in docker-compose.yml); 0: REMOTE_ADDR is
# the client.
DERMASCAN_TRUSTED_PROXIES = env.int("DERMASCAN_TRUSTED_PROXIES", default=0)

# Two-factor sign-in (django-otp, TOTP): any user may set it up at /accounts/two-factor/;
# with this on, staff must have passed it to use the admin.
DERMASCAN_STAFF_REQUIRE_2FA = env.bool("DERMASCAN_STAFF_REQUIRE_2FA", default=False)
OTP_TOTP_ISSUER = "DermaScan"

# A session ends after this many idle minutes (each request restarts the clock) or when the
# browser closes. The lesion page's status poller stops once no analysis is pending.
SESSION_COOKIE_AGE = env.int("DERMASCAN_SESSION_IDLE_MINUTES", default=30) * 60
SESSION_SAVE_EVERY_REQUEST = True
SESSION_EXPIRE_AT_BROWSER_CLOSE = True

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = env.str("DJANGO_TIME_ZONE", default="UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
# Production serves collected files (collectstatic) through WhiteNoise; development serves them
# straight from the app folders, so there is no STATIC_ROOT to keep in sync.
STATIC_ROOT = (
    Path(env.str("DJANGO_STATIC_ROOT", default=str(BASE_DIR / "staticfiles")))
    if PRODUCTION
    else None
)
WHITENOISE_USE_FINDERS = not PRODUCTION
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_URL = "media/"
MEDIA_ROOT = Path(env.str("DERMASCAN_MEDIA_ROOT", default=str(VAR_DIR / "media")))


def _private_s3(bucket: str) -> dict:
    """django-storages S3 options for a bucket nothing in it is ever public."""
    return {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": bucket,
            "region_name": env.str("AWS_S3_REGION_NAME", default="") or None,
            "endpoint_url": env.str("AWS_S3_ENDPOINT_URL", default="") or None,
            # "path" for an S3-compatible server without wildcard DNS (bucket.host names).
            "addressing_style": env.str("AWS_S3_ADDRESSING_STYLE", default="") or None,
            # Patient images and models are never public: every URL is signed and short-lived.
            "default_acl": "private",
            "querystring_auth": True,
            "querystring_expire": 300,
            "file_overwrite": False,
        },
    }


# Media: local folder by default, S3 (django-storages) when a bucket is named.
AWS_STORAGE_BUCKET_NAME = env.str("AWS_STORAGE_BUCKET_NAME", default="")
if AWS_STORAGE_BUCKET_NAME:
    _media_storage = _private_s3(AWS_STORAGE_BUCKET_NAME)
else:
    _media_storage = {"BACKEND": "django.core.files.storage.FileSystemStorage"}

# Model artifacts (classifier.artifact_store): registering a version uploads its files here;
# every machine that serves it downloads them once into DERMASCAN_MODEL_CACHE. A local folder
# by default (share it between machines, or run everything on one), S3 like the media when a
# bucket is named; the media bucket unless DERMASCAN_MODEL_BUCKET names another.
DERMASCAN_MODEL_BUCKET = env.str("DERMASCAN_MODEL_BUCKET", default="") or AWS_STORAGE_BUCKET_NAME
if DERMASCAN_MODEL_BUCKET:
    _model_storage = _private_s3(DERMASCAN_MODEL_BUCKET)
else:
    _model_storage = {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {
            "location": env.str("DERMASCAN_MODEL_STORE", default=str(VAR_DIR / "model-store"))
        },
    }
DERMASCAN_MODEL_CACHE = Path(env.str("DERMASCAN_MODEL_CACHE", default=str(VAR_DIR / "model-cache")))
# Copies of versions each machine keeps in its cache (0: all); the least recently used beyond
# this are evicted after a download, never one that a process on the machine is serving.
DERMASCAN_MODEL_CACHE_KEEP = env.int("DERMASCAN_MODEL_CACHE_KEEP", default=3)

STORAGES = {
    "default": _media_storage,
    "models": _model_storage,
    "staticfiles": {
        "BACKEND": (
            "whitenoise.storage.CompressedManifestStaticFilesStorage"
            if PRODUCTION
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}

# Uploads: an image may have 20 MB (lesions.uploads); a request body more than 1 MB above that
# is refused from its Content-Length before anything is read (dermascan_site.security), and the
# reverse proxy refuses it too. Django spools files above 5 MB to disk instead of memory;
# form fields other than files may have 2.5 MB in all (Django's default).
DERMASCAN_MAX_REQUEST_BYTES = 21 * 1024 * 1024
# Callers not signed in (no session, no Authorization header) send sign-in forms, nothing more.
DERMASCAN_ANONYMOUS_MAX_REQUEST_BYTES = 64 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
DATA_UPLOAD_MAX_MEMORY_SIZE = int(2.5 * 1024 * 1024)

# Content-Security-Policy (django-csp): scripts only from our own static files (no inline
# script anywhere; JSON data travels in <script type="application/json">, which is not run).
# Styles: 'unsafe-inline' is kept for style *attributes* (the probability bars' widths in the
# analysis card, the admin's thumbnails) and the small <style> blocks of Django's admin and
# the API docs page; CSS cannot run script, and everything else stays 'self'.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF, UNSAFE_INLINE],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    }
}

# Celery. Without REDIS_URL the broker is a folder on disk (kombu's filesystem
# transport), so a laptop runs a real worker process with no service running.
REDIS_URL = env.str("REDIS_URL", default="")
if REDIS_URL:
    CELERY_BROKER_URL = REDIS_URL
else:
    _broker_dir = VAR_DIR / "broker"
    CELERY_BROKER_URL = "filesystem://"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir / "queue"),
        "data_folder_out": str(_broker_dir / "queue"),
        "processed_folder": str(_broker_dir / "processed"),
        "control_folder": str(_broker_dir / "control"),
        "store_processed": False,
    }
    # kombu expects the folders to exist; web, worker and beat may each start first.
    for _folder in ("queue", "processed", "control"):
        (_broker_dir / _folder).mkdir(parents=True, exist_ok=True)
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = TIME_ZONE
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True

# The analysis pipeline (lesions.pipeline.tasks). A task is acknowledged only after it finished, and
# a worker that dies mid-task gives its message back, so no analysis is lost with a worker;
# the task itself is idempotent (a claim in the database), so a redelivered one does no harm.
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1  # one task at a time per process: no hoarding
CELERY_WORKER_CANCEL_LONG_RUNNING_TASKS_ON_CONNECTION_LOSS = True  # redelivered anyway
CELERY_TASK_ROUTES = {
    "lesions.tasks.run_analysis": {"queue": "inference"},
    "lesions.tasks.predict_image": {"queue": "inference"},
    # Sending to a PACS is network I/O, not inference: the default queue every worker takes.
    "interop.tasks.send_to_pacs": {"queue": "celery"},
}
# Only the API's quick check (predict_image) keeps a result, for the request waiting on it.
CELERY_RESULT_BACKEND = REDIS_URL or f"file://{VAR_DIR / 'results'}"
CELERY_RESULT_EXPIRES = 3600
if not REDIS_URL:
    (VAR_DIR / "results").mkdir(parents=True, exist_ok=True)
# How long POST /api/v1/predict/ waits for the worker before answering 202 with a status URL
# (0: answer 202 at once).
DERMASCAN_PREDICT_WAIT = env.float("DERMASCAN_PREDICT_WAIT", default=20.0)
# The model is loaded in worker_process_init, which may take longer than Celery's 4 s default.
CELERY_WORKER_PROC_ALIVE_TIMEOUT = 120
# A failed publish (broker down) gives up quickly: the upload must not hang; the sweeper
# re-sends the analysis once the broker is back.
CELERY_TASK_PUBLISH_RETRY_POLICY = {
    "max_retries": 2,
    "interval_start": 0,
    "interval_step": 0.2,
    "interval_max": 0.5,
}
if REDIS_URL:
    # Redis re-delivers a message that was taken but never acknowledged (a worker killed
    # with SIGKILL) after this many seconds. It must exceed the longest task.
    # Workers look for such messages every interval x throttle seconds (kombu's defaults).
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "visibility_timeout": env.int("CELERY_VISIBILITY_TIMEOUT", default=3600),
        "unacked_restore_interval": env.int("CELERY_UNACKED_RESTORE_INTERVAL", default=10),
        "unacked_restore_throttle": env.int("CELERY_UNACKED_RESTORE_THROTTLE", default=10),
        "socket_connect_timeout": 2,
    }

# Hard limit: the worker process running the task is killed. Soft limit: the task is told
# first and fails the analysis with a reason.
DERMASCAN_ANALYSIS_TIME_LIMIT = env.int("DERMASCAN_ANALYSIS_TIME_LIMIT", default=120)
DERMASCAN_ANALYSIS_SOFT_TIME_LIMIT = env.int(
    "DERMASCAN_ANALYSIS_SOFT_TIME_LIMIT", default=max(1, DERMASCAN_ANALYSIS_TIME_LIMIT - 15)
)
# The sweeper re-sends analyses left queued longer than this (seconds: e.g. the broker was
# down when they were sent), and those left running past the hard time limit plus a margin
# (their worker died), so a task that is still allowed to run is never sent twice.
DERMASCAN_ANALYSIS_QUEUED_TIMEOUT = env.int("DERMASCAN_ANALYSIS_QUEUED_TIMEOUT", default=300)
DERMASCAN_ANALYSIS_RUNNING_TIMEOUT = DERMASCAN_ANALYSIS_TIME_LIMIT + 10
DERMASCAN_ANALYSIS_MAX_ATTEMPTS = env.int("DERMASCAN_ANALYSIS_MAX_ATTEMPTS", default=5)
DERMASCAN_SWEEP_INTERVAL = env.float("DERMASCAN_SWEEP_INTERVAL", default=60.0)
# "auto": ONNX Runtime on CPU when the artifact carries an export, PyTorch otherwise/on CUDA.
DERMASCAN_INFERENCE_BACKEND = env.str("DERMASCAN_INFERENCE_BACKEND", default="auto")
# CPU threads per worker process (0: the runtime's default, i.e. every core). With several
# worker processes on one machine, cores / processes avoids oversubscription.
DERMASCAN_INFERENCE_THREADS = env.int("DERMASCAN_INFERENCE_THREADS", default=0)
# Follow-up: a lesion is flagged evolving when its malignant probability rises by more than
# this between two visits (besides a higher risk level or a benign -> malignant top class).
DERMASCAN_EVOLVING_MARGIN = env.float("DERMASCAN_EVOLVING_MARGIN", default=0.15)
# Monitoring (docs/monitoring.md): the periodic alert check looks at the trailing window
# (against the window before it) every DERMASCAN_MONITORING_INTERVAL seconds.
DERMASCAN_MONITORING_INTERVAL = env.float("DERMASCAN_MONITORING_INTERVAL", default=3600.0)
DERMASCAN_MONITORING_WINDOW_DAYS = env.int("DERMASCAN_MONITORING_WINDOW_DAYS", default=30)
CELERY_BEAT_SCHEDULE = {
    "sweep-stale-analyses": {
        "task": "lesions.tasks.sweep_stale_analyses",
        "schedule": DERMASCAN_SWEEP_INTERVAL,
        # A sweep that could not run in time is superseded by the next one.
        "options": {"expires": DERMASCAN_SWEEP_INTERVAL},
    },
    "monitoring-check-alerts": {
        "task": "monitoring.tasks.check_alerts",
        "schedule": DERMASCAN_MONITORING_INTERVAL,
        # Idempotent: a check that missed its slot is superseded by the next one.
        "options": {"expires": DERMASCAN_MONITORING_INTERVAL},
    },
}

# Interoperability (interop): the hospital PACS that "Send to PACS" stores DICOM objects in,
# through DICOMweb STOW-RS. Off while DERMASCAN_PACS_URL is unset (the button is hidden and
# the API answers 409). The URL is the DICOMweb root, e.g. https://pacs.example/dicom-web.
DERMASCAN_PACS_URL = env.str("DERMASCAN_PACS_URL", default="").rstrip("/")
DERMASCAN_PACS_USERNAME = env.str("DERMASCAN_PACS_USERNAME", default="")
DERMASCAN_PACS_PASSWORD = env.str("DERMASCAN_PACS_PASSWORD", default="")
# Seconds to connect and to wait for each answer; a PACS slower than that counts as down.
DERMASCAN_PACS_TIMEOUT = env.float("DERMASCAN_PACS_TIMEOUT", default=30.0)
# Retries of a send after a connection error, a timeout or a 5xx (exponential backoff from
# DERMASCAN_PACS_RETRY_DELAY seconds); a refusal (4xx) fails at once.
DERMASCAN_PACS_MAX_RETRIES = env.int("DERMASCAN_PACS_MAX_RETRIES", default=5)
DERMASCAN_PACS_RETRY_DELAY = env.float("DERMASCAN_PACS_RETRY_DELAY", default=10.0)
# CA bundle to verify the PACS's certificate with (empty: the system's).
DERMASCAN_PACS_CA_BUNDLE = env.str("DERMASCAN_PACS_CA_BUNDLE", default="")
# Institution named in DICOM objects; DICOM UIDs derive from the namespace (never change it
# once objects were sent: a resend would then add copies instead of replacing them).
DERMASCAN_DICOM_INSTITUTION = env.str("DERMASCAN_DICOM_INSTITUTION", default="")
DERMASCAN_DICOM_UID_NAMESPACE = env.str("DERMASCAN_DICOM_UID_NAMESPACE", default="dermascan")

# The API (lesions.api). Mobile devices sign in with a per-device token (django-rest-knox:
# hashed, expiring, revocable one device at a time); the pages' own calls use the session.
KNOX_TOKEN_MODEL = "lesions.DeviceToken"  # noqa: S105 (a model name, not a secret)
# knox's own token model is swapped out for DeviceToken; its migrations would still create
# an unused table whose foreign key to users blocks flushing the database (tests).
MIGRATION_MODULES = {"knox": None}
REST_KNOX = {
    "TOKEN_TTL": datetime.timedelta(days=env.int("DERMASCAN_API_TOKEN_DAYS", default=30)),
    "AUTH_HEADER_PREFIX": "Token",
}
# Signed-in devices a user may have at once; one more sign-in signs the oldest device out.
DERMASCAN_API_MAX_DEVICES = env.int("DERMASCAN_API_MAX_DEVICES", default=10)
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "lesions.api.authentication.DeviceTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["lesions.api.permissions.IsClinician"],
    # JSON in; the upload and predict endpoints declare multipart themselves.
    "DEFAULT_PARSER_CLASSES": ["lesions.api.parsers.BoundedJSONParser"],
    "DEFAULT_PAGINATION_CLASS": "lesions.api.pagination.PageNumberPagination",
    "PAGE_SIZE": 25,
    "DEFAULT_FILTER_BACKENDS": [
        "django_filters.rest_framework.DjangoFilterBackend",
        "lesions.api.ordering.StrictOrderingFilter",
    ],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "lesions.api.errors.exception_handler",
    "DEFAULT_THROTTLE_RATES": {
        "login_ip": env.str("DERMASCAN_API_LOGIN_IP_RATE", default="30/min"),
        "login_username": env.str("DERMASCAN_API_LOGIN_USERNAME_RATE", default="10/min"),
        "uploads": env.str("DERMASCAN_API_UPLOAD_RATE", default="60/min"),
        "predict": env.str("DERMASCAN_API_PREDICT_RATE", default="20/min"),
        "reports": env.str("DERMASCAN_API_REPORT_RATE", default="20/min"),
        "reanalysis": env.str("DERMASCAN_API_REANALYSIS_RATE", default="30/hour"),
        "reanalysis_image": env.str("DERMASCAN_API_REANALYSIS_IMAGE_RATE", default="3/hour"),
    },
    # Throttles count by lesions.client_address (DERMASCAN_TRUSTED_PROXIES); this keeps DRF's
    # own fallback from trusting X-Forwarded-For as a whole.
    "NUM_PROXIES": DERMASCAN_TRUSTED_PROXIES,
    # The browsable API only while developing (lesions.api.negotiation); JSON everywhere else.
    "DEFAULT_CONTENT_NEGOTIATION_CLASS": "lesions.api.negotiation.JSONUnlessDebug",
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "DermaScan API",
    "DESCRIPTION": (
        "Skin lesion tracking with AI-assisted analysis for the DermaScan mobile app. "
        "Not a diagnostic device: decision support for clinicians, not a diagnosis.\n\n"
        "Sign in with `POST /api/v1/auth/login/` and send `Authorization: Token <token>`. "
        'Every 4xx answer has the shape `{"error": {"code", "message", "fields"}}`.'
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SCHEMA_PATH_PREFIX": r"/api/(v1/)?",
    # Separate request and response components: uploads are multipart, reads are JSON.
    "COMPONENT_SPLIT_REQUEST": True,
    "SWAGGER_UI_DIST": "SIDECAR",  # served from our own static files, no CDN
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "ENUM_NAME_OVERRIDES": {
        "LesionStatusEnum": "lesions.models.LesionStatus",
        "AnalysisStatusEnum": "lesions.models.AnalysisStatus",
        "ResultStateEnum": "lesions.models.ResultState",
        "BodySiteEnum": "lesions.models.BodySite",
        "ConfirmedDiagnosisEnum": "lesions.models.ConfirmedDiagnosis",
        "ReviewDiagnosisEnum": "lesions.models.ReviewDiagnosis",
        "ReviewBasisEnum": "lesions.models.ReviewBasis",
        "ManagementDecisionEnum": "lesions.models.ManagementDecision",
        "WorklistSectionEnum": "lesions.api.serializers.worklist.SECTION_KEYS",
        # The health check's overall status and each component's (dermascan_site.health).
        "HealthStatusEnum": [("ok", "ok"), ("unhealthy", "unhealthy")],
        "HealthComponentStatusEnum": [("ok", "ok"), ("error", "error"), ("unknown", "unknown")],
    },
}

# Throttle counters (API logins, uploads) must be shared by all web processes: Redis when
# there is one, this process's memory on a laptop.
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "dermascan",
        }
    }

# Workers write a heartbeat row this often (seconds); the health check calls a worker gone
# after three missed beats, and never pings workers itself.
DERMASCAN_HEARTBEAT_INTERVAL = env.float("DERMASCAN_HEARTBEAT_INTERVAL", default=10.0)

# The model the workers serve when no ModelVersion is active in the database.
DERMASCAN_DEFAULT_MODEL = Path(
    env.str("DERMASCAN_DEFAULT_MODEL", default=str(BASE_DIR / "classifier" / "default_model"))
)
# Where shared data sets live (training, tests that use real images).
DERMASCAN_DATA_DIR = Path(
    env.str("DERMASCAN_DATA_DIR", default=str(BASE_DIR.parent / "shared" / "data" / "ham10000"))
)

if PRODUCTION:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env.bool("DJANGO_SECURE_SSL_REDIRECT", default=True)
    SECURE_HSTS_SECONDS = env.int("DJANGO_SECURE_HSTS_SECONDS", default=31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_CONTENT_TYPE_NOSNIFF = True
    X_FRAME_OPTIONS = "DENY"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.str("DJANGO_LOG_LEVEL", default="INFO")},
}
