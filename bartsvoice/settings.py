"""One settings file, driven by environment variables (see the README's configuration table).

With no environment at all it runs the embedded default: SQLite, local-memory cache,
in-memory channel layer, a file-system Celery broker and the offline voice providers.
"""

from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import dj_database_url
from celery.schedules import crontab
from django.core.exceptions import ImproperlyConfigured

from bartsvoice.env import env_bool, env_float, env_int, env_json_object, env_list, env_str
from bartsvoice.log_format import logging_config
from bartsvoice.secret_key import load_or_create_secret_key

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env_str("VAR_DIR", str(BASE_DIR / "var")))

# Off unless asked for (`make run` asks): debug pages show settings and tracebacks to whoever reaches them.
DEBUG = env_bool("DEBUG", False)
# A DEBUG process listens on loopback only (bartsvoice.bind_guard) unless this says otherwise.
ALLOW_DEBUG_ON_NETWORK = env_bool("ALLOW_DEBUG_ON_NETWORK", False)
# Set it in production (the same on every host); without it each install makes its own random key once.
SECRET_KEY = env_str("SECRET_KEY") or load_or_create_secret_key(VAR_DIR)
# deploy/bartsvoice.env.example's placeholder, left unedited, is a secret anyone can read in the repository.
PLACEHOLDER = "change-me"
for _name in ("SECRET_KEY", "METRICS_TOKEN"):
    if env_str(_name).strip() == PLACEHOLDER:
        raise ImproperlyConfigured(f"{_name} is still the placeholder {PLACEHOLDER!r}: set a long random value.")

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "127.0.0.1,localhost")
DEFAULT_EXCEPTION_REPORTER_FILTER = "bartsvoice.error_reports.SettingsFilter"
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")
# The public URL Twilio calls; signatures are computed over it.
PUBLIC_BASE_URL = env_str("PUBLIC_BASE_URL").rstrip("/")
USE_X_FORWARDED_HOST = env_bool("USE_X_FORWARDED_HOST", False)
if env_bool("TRUST_X_FORWARDED_PROTO", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

# Behind TLS (see the README's production section); off by default so `make run` works over plain http.
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", False)
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$", r"^metrics$"]  # probes and scrapers on the private network
SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", False)
CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", False)
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", False)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", False)

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "channels",
    "crm",
    "scheduling",
    "calls",
    "privacy",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "bartsvoice.urls"
WSGI_APPLICATION = None
ASGI_APPLICATION = "bartsvoice.asgi.application"

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

# --- Database -------------------------------------------------------------------------
DATABASE_URL = env_str("DATABASE_URL", f"sqlite:///{VAR_DIR / 'bartsvoice.sqlite3'}")
DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=env_int("DB_CONN_MAX_AGE", 60))}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    # Wait for the other process (worker, beat) instead of failing with "database is locked".
    DATABASES["default"].setdefault("OPTIONS", {}).update({"timeout": 20, "transaction_mode": "IMMEDIATE"})
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Redis: cache, channel layer, Celery broker ------------------------------------------
REDIS_URL = env_str("REDIS_URL")
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": env_str("CACHE_KEY_PREFIX", "bartsvoice"),
            # A Redis outage degrades to database reads instead of failing calls; stream tokens, which
            # need an atomic cache.add, are refused meanwhile (safe side).
            "OPTIONS": {"SOCKET_CONNECT_TIMEOUT": 2, "SOCKET_TIMEOUT": 2, "IGNORE_EXCEPTIONS": True},
        }
    }
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {
                # redis-py's asyncio pool refuses (does not wait) beyond max_connections, 100 by default: at a turn
                # peak every call of a process publishes at once, so the cap sits well above the calls per process.
                "hosts": [{"address": REDIS_URL, "max_connections": env_int("CHANNELS_REDIS_MAX_CONNECTIONS", 1000)}],
                "prefix": env_str("CHANNELS_PREFIX", "bartsvoice"),
            },
        }
    }
    CELERY_BROKER_URL = REDIS_URL
    DJANGO_REDIS_LOG_IGNORED_EXCEPTIONS = True
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    # The file-system transport needs no server and is shared by the web, worker and beat processes.
    CELERY_BROKER_URL = "filesystem://"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(VAR_DIR / "broker"),
        "data_folder_out": str(VAR_DIR / "broker"),
        "control_folder": str(VAR_DIR / "broker-control"),
    }
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", False)
CELERY_TIMEZONE = "UTC"
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
CELERY_BEAT_SCHEDULE: dict = {}
# Workers log through Django's LOGGING (JSON in production, the call on each line) instead of Celery's own.
CELERY_WORKER_HIJACK_ROOT_LOGGER = False

# --- Reminder calls (scheduling.reminders, scheduling.tasks, calls.telephony.dialer) -------
# How often beat sweeps for reminders that are due; 0 schedules no sweep (reminders off).
REMINDER_DISPATCH_SECONDS = env_int("REMINDER_DISPATCH_SECONDS", 300)
if REMINDER_DISPATCH_SECONDS > 0:
    CELERY_BEAT_SCHEDULE["dispatch-reminders"] = {
        "task": "scheduling.tasks.dispatch_reminders",
        "schedule": float(REMINDER_DISPATCH_SECONDS),
        # A sweep that waited longer than its interval is stale: the next one does the same work.
        "options": {"expires": float(REMINDER_DISPATCH_SECONDS)},
    }
REMINDER_LEAD_HOURS = env_int("REMINDER_LEAD_HOURS", 24)  # call this long before the appointment starts
REMINDER_CALL_WINDOW = env_str("REMINDER_CALL_WINDOW", "09:00-20:00")  # in the shop's time zone
REMINDER_MAX_ATTEMPTS = env_int("REMINDER_MAX_ATTEMPTS", 2)  # dial attempts when nobody answers
REMINDER_RETRY_MINUTES = env_int("REMINDER_RETRY_MINUTES", 30)  # back-off before the 2nd attempt, doubling after
REMINDER_RING_SECONDS = env_int("REMINDER_RING_SECONDS", 30)  # how long a reminder call rings
# A claim older than this without a placed call is looked into (a worker died between claim and dial).
REMINDER_CLAIM_TIMEOUT_MINUTES = env_int("REMINDER_CLAIM_TIMEOUT_MINUTES", 10)
OUTBOUND_CALLS_PER_SECOND = env_float("OUTBOUND_CALLS_PER_SECOND", 1.0)  # across all workers (Redis)
# Texts after a booking, move or cancellation by phone, and after a reminder nobody answered.
SMS_CONFIRMATIONS = env_bool("SMS_CONFIRMATIONS", True)
if OUTBOUND_CALLS_PER_SECOND <= 0:
    raise ImproperlyConfigured("OUTBOUND_CALLS_PER_SECOND must be more than 0 (Twilio's default limit is 1).")
if REMINDER_MAX_ATTEMPTS < 1:
    raise ImproperlyConfigured("REMINDER_MAX_ATTEMPTS must be at least 1.")

SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"

# --- Auth, i18n, static -----------------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
LOGIN_URL = "admin:login"

LANGUAGE_CODE = "en-us"
USE_I18N = True
USE_TZ = True
SHOP_TIMEZONE = env_str("SHOP_TIMEZONE", "America/Chicago")
try:
    ZoneInfo(SHOP_TIMEZONE)
except (ZoneInfoNotFoundError, ValueError):
    raise ImproperlyConfigured(f"SHOP_TIMEZONE {SHOP_TIMEZONE!r} is not a known IANA time zone") from None
# Forms and admin show times in the shop's zone; storage is UTC.
TIME_ZONE = SHOP_TIMEZONE

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    # Our own call recordings (calls.recording_storage): MEDIA_ROOT unless the environment names another backend,
    # e.g. RECORDINGS_STORAGE_BACKEND=storages.backends.s3.S3Storage with its options as a JSON object.
    "recordings": {
        "BACKEND": env_str("RECORDINGS_STORAGE_BACKEND", "django.core.files.storage.FileSystemStorage"),
        "OPTIONS": env_json_object("RECORDINGS_STORAGE_OPTIONS"),
    },
}

# --- Shop rules -------------------------------------------------------------------------
SHOP_NAME = env_str("SHOP_NAME", "Bart's Auto Service")
PHONE_DEFAULT_REGION = env_str("PHONE_DEFAULT_REGION", "US")
SLOT_MINUTES = env_int("SLOT_MINUTES", 30)
BOOKING_LEAD_MINUTES = env_int("BOOKING_LEAD_MINUTES", 120)
BOOKING_HORIZON_DAYS = env_int("BOOKING_HORIZON_DAYS", 60)
CUSTOMER_LOOKUP_CACHE_SECONDS = env_int("CUSTOMER_LOOKUP_CACHE_SECONDS", 3600)
# Callers verifying by name, postal code and one more fact: this many attempts per calling number and per
# customer within the window (counted in the shared cache), then phone verification is locked.
VERIFY_MAX_ATTEMPTS = env_int("VERIFY_MAX_ATTEMPTS", 5)
VERIFY_WINDOW_HOURS = env_int("VERIFY_WINDOW_HOURS", 24)
# Wrong extra facts (a car's make, an appointment's day) for one name and postal code, across all numbers in the
# window; then phone verification for them is locked until an advisor reopens it. Small: the facts are guessable.
VERIFY_MAX_WRONG_FACTS = env_int("VERIFY_MAX_WRONG_FACTS", 2)
VIN_ONLINE_LOOKUP = env_bool("VIN_ONLINE_LOOKUP", False)
NHTSA_VPIC_BASE_URL = env_str("NHTSA_VPIC_BASE_URL", "https://vpic.nhtsa.dot.gov/api").rstrip("/")

# --- Telephony and voice providers (cloud when a key is set, offline otherwise) ----------
TWILIO_ACCOUNT_SID = env_str("TWILIO_ACCOUNT_SID")
TWILIO_AUTH_TOKEN = env_str("TWILIO_AUTH_TOKEN")
TWILIO_PHONE_NUMBER = env_str("TWILIO_PHONE_NUMBER")
TWILIO_API_BASE_URL = env_str("TWILIO_API_BASE_URL")  # tests point this at a local fake
SHOP_ADVISOR_NUMBER = env_str("SHOP_ADVISOR_NUMBER")
OUTBOUND_CALL_ALLOWLIST = env_list("OUTBOUND_CALL_ALLOWLIST")
DEEPGRAM_API_KEY = env_str("DEEPGRAM_API_KEY")
DEEPGRAM_BASE_URL = env_str("DEEPGRAM_BASE_URL", "https://api.deepgram.com").rstrip("/")
DEEPGRAM_STT_MODEL = env_str("DEEPGRAM_STT_MODEL", "nova-3")
DEEPGRAM_TTS_VOICE = env_str("DEEPGRAM_TTS_VOICE", "aura-2-thalia-en")
DEEPGRAM_ENDPOINTING_MS = env_int("DEEPGRAM_ENDPOINTING_MS", 300)  # silence that makes Deepgram end a segment
DEEPGRAM_UTTERANCE_END_MS = env_int("DEEPGRAM_UTTERANCE_END_MS", 1000)
OPENAI_API_KEY = env_str("OPENAI_API_KEY")
OPENAI_BASE_URL = env_str("OPENAI_BASE_URL")
OPENAI_MODEL = env_str("OPENAI_MODEL", "gpt-4o")
OPENAI_FIRST_TOKEN_MS = env_int("OPENAI_FIRST_TOKEN_MS", 4000)  # later than this, the rule brain takes over
OPENAI_TIMEOUT_SECONDS = env_int("OPENAI_TIMEOUT_SECONDS", 15)  # one request, start to end
OPENAI_MAX_RETRIES = env_int("OPENAI_MAX_RETRIES", 0)  # a caller is waiting: fall back rather than retry
GOOGLE_CALENDAR_ID = env_str("GOOGLE_CALENDAR_ID")
GOOGLE_APPLICATION_CREDENTIALS = env_str("GOOGLE_APPLICATION_CREDENTIALS")

# Which implementation serves each stage: "auto" picks the cloud one when its key is set, the offline one
# otherwise; "instant" answers at once and exists to measure the pipeline's own overhead in benchmarks.
# --- Provider prices (USD) for the per-call cost (calls.usage; offline providers cost nothing) ---------------
PRICE_TELEPHONY_PER_MINUTE = env_float("PRICE_TELEPHONY_PER_MINUTE", 0.0085)  # Twilio, US local inbound
PRICE_DEEPGRAM_STT_PER_MINUTE = env_float("PRICE_DEEPGRAM_STT_PER_MINUTE", 0.0077)  # nova-3 streaming
PRICE_DEEPGRAM_TTS_PER_1K_CHARACTERS = env_float("PRICE_DEEPGRAM_TTS_PER_1K_CHARACTERS", 0.030)  # Aura-2
PRICE_OPENAI_INPUT_PER_1M_TOKENS = env_float("PRICE_OPENAI_INPUT_PER_1M_TOKENS", 2.50)  # gpt-4o
PRICE_OPENAI_OUTPUT_PER_1M_TOKENS = env_float("PRICE_OPENAI_OUTPUT_PER_1M_TOKENS", 10.00)

# --- Call recording (calls.voice.recorder) ----------------------------------------------------------------------
# Our own stereo recording of every call's media stream (caller left, agent right), after a spoken notice; a
# caller who declines is not recorded. TWILIO_RECORD_CALLS also asks Twilio to record phone calls (dual channel,
# status callback to /twilio/voice/recording/). Files go to the 'recordings' storage (STORAGES: MEDIA_ROOT by default).
RECORD_CALLS = env_bool("RECORD_CALLS", False)
TWILIO_RECORD_CALLS = env_bool("TWILIO_RECORD_CALLS", False)
MEDIA_ROOT = env_str("MEDIA_ROOT", str(VAR_DIR / "media"))

VOICE_STT = env_str("VOICE_STT", "auto")  # auto | deepgram | sphinx | instant
VOICE_TTS = env_str("VOICE_TTS", "auto")  # auto | deepgram | espeak | instant
VOICE_BRAIN = env_str("VOICE_BRAIN", "auto")  # auto | openai | rules | instant
VOICE_WARMUP = env_bool("VOICE_WARMUP", True)  # load speech models when the web process starts
VOICE_ENDPOINT_SILENCE_MS = env_int("VOICE_ENDPOINT_SILENCE_MS", 600)
VOICE_BARGE_IN_MS = env_int("VOICE_BARGE_IN_MS", 250)
VOICE_REPROMPT_SECONDS = float(env_int("VOICE_REPROMPT_SECONDS", 8))
VOICE_MAX_REPROMPTS = env_int("VOICE_MAX_REPROMPTS", 2)
# Start the brain on the caller's stable interim words while the end of their turn is confirmed (preemptive replies):
# a brain that has slow work to start (the OpenAI one) answers sooner; words that change throw the work away.
VOICE_ANTICIPATE = env_bool("VOICE_ANTICIPATE", True)
VOICE_INSTANT_TRANSCRIPT = env_str("VOICE_INSTANT_TRANSCRIPT", "what are your hours")

# --- Data retention (privacy.retention) ---------------------------------------------------------
# Transcripts (turns, tool calls, summaries, whole phone numbers) of calls older than this are deleted; recordings
# may go sooner. Customers and appointments are kept.
RETENTION_DAYS = env_int("RETENTION_DAYS", 365)
RECORDING_RETENTION_DAYS = env_int("RECORDING_RETENTION_DAYS", RETENTION_DAYS)
RETENTION_BATCH_SIZE = env_int("RETENTION_BATCH_SIZE", 500)
if RETENTION_DAYS < 1 or not 1 <= RECORDING_RETENTION_DAYS <= RETENTION_DAYS:
    raise ImproperlyConfigured(
        "RETENTION_DAYS must be at least 1, and RECORDING_RETENTION_DAYS between 1 and RETENTION_DAYS "
        f"(got {RETENTION_DAYS} and {RECORDING_RETENTION_DAYS})"
    )
CELERY_BEAT_SCHEDULE["purge-old-call-data"] = {
    "task": "privacy.purge_old_call_data",
    "schedule": crontab(hour=3, minute=17),  # UTC, a quiet hour for a shop in the Americas
}

# --- Observability (see DEPLOYMENT.md) ----------------------------------------------------
# JSON lines for a log shipper in production, readable lines when debugging; both name the call of each line.
LOG_FORMAT = env_str("LOG_FORMAT", "text" if DEBUG else "json").strip().lower()
LOGGING = logging_config(fmt=LOG_FORMAT, level=env_str("LOG_LEVEL", "INFO"))
# GET /metrics answers a scraper presenting this bearer token; unset, the endpoint does not exist.
METRICS_TOKEN = env_str("METRICS_TOKEN")
SENTRY_DSN = env_str("SENTRY_DSN")
if SENTRY_DSN:
    from bartsvoice.sentry import init_sentry

    init_sentry(
        dsn=SENTRY_DSN,
        environment=env_str("SENTRY_ENVIRONMENT", "development" if DEBUG else "production"),
        release=env_str("SENTRY_RELEASE"),
        traces_sample_rate=env_float("SENTRY_TRACES_SAMPLE_RATE", 0.0),
    )
