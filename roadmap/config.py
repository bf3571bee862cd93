"""Configuration. The only module that reads os.environ."""
import os
from datetime import timedelta


def _env_flag(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _database_url(raw: str | None) -> str | None:
    """postgresql:// URLs use psycopg 3, the driver this project installs."""
    if raw and raw.startswith(("postgresql://", "postgres://")):
        return "postgresql+psycopg://" + raw.split("://", 1)[1]
    return raw


class Config:
    SECRET_KEY = os.environ.get("SECRET_KEY")  # generated and kept in the instance folder when unset
    SQLALCHEMY_DATABASE_URI = _database_url(os.environ.get("DATABASE_URL"))  # SQLite in the instance folder when unset
    REDIS_URL = os.environ.get("REDIS_URL")
    SOCKETIO_MESSAGE_QUEUE = os.environ.get("SOCKETIO_MESSAGE_QUEUE")  # e.g. redis://127.0.0.1:6379/0
    # The processes of one deployment share a channel (and the dashboard feed's Redis keys named
    # after it); another deployment on the same Redis needs its own.
    SOCKETIO_CHANNEL = os.environ.get("SOCKETIO_CHANNEL", "flask-socketio")
    PUBLIC_ORIGIN = os.environ.get("PUBLIC_ORIGIN")  # e.g. https://roadmap.example.org
    INSTANCE_PATH = os.environ.get("ROADMAP_INSTANCE_PATH")  # default: ./instance
    # How many reverse proxies in front set X-Forwarded-For/-Proto/-Host (0: none).
    TRUSTED_PROXIES = int(os.environ.get("TRUSTED_PROXIES", "0"))
    HOST = os.environ.get("ROADMAP_HOST", "127.0.0.1")  # the server sets it to the address it listens on
    # The venue address phones use, when this machine has several networks and the found one is wrong.
    JOIN_HOST = os.environ.get("ROADMAP_JOIN_HOST")
    PORT = int(os.environ.get("ROADMAP_PORT", "5000"))

    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_SECURE = _env_flag("SECURE_COOKIES", False)
    REMEMBER_COOKIE_DURATION = timedelta(days=60)
    REMEMBER_COOKIE_HTTPONLY = True
    REMEMBER_COOKIE_SAMESITE = "Lax"
    REMEMBER_COOKIE_SECURE = SESSION_COOKIE_SECURE
    PERMANENT_SESSION_LIFETIME = timedelta(days=60)
    WTF_CSRF_TIME_LIMIT = None  # a form left open all day at a training must still submit

    # Every request that tries a join code, a password or a code from another device counts, success
    # or not, before its work is done (roadmap/views/limits.py). A room behind one venue address
    # fits: 30 people joining at once make at most 90 requests (start page, group page, join).
    RATELIMIT_STORAGE_URI = os.environ.get("REDIS_URL") or "memory://"
    RATELIMIT_KEY_PREFIX = os.environ.get("RATELIMIT_KEY_PREFIX", "roadmap-limits")
    JOIN_RATE_LIMIT = os.environ.get("JOIN_RATE_LIMIT", "150 per minute; 600 per hour")
    # New people (identities) a join may create from one address.
    JOIN_SUCCESS_RATE_LIMIT = os.environ.get("JOIN_SUCCESS_RATE_LIMIT", "40 per minute; 200 per hour")
    # Passwords: sign-in, first-run setup and the current password on /account, counted together.
    SIGN_IN_RATE_LIMIT = os.environ.get("SIGN_IN_RATE_LIMIT", "20 per minute; 100 per hour")
    # «Забыли пароль?»: every request counts, per client address and per e-mail address asked about.
    PASSWORD_RESET_RATE_LIMIT = os.environ.get("PASSWORD_RESET_RATE_LIMIT", "10 per minute; 30 per hour")
    PASSWORD_RESET_ADDRESS_RATE_LIMIT = os.environ.get("PASSWORD_RESET_ADDRESS_RATE_LIMIT", "3 per hour")
    # Codes from another device; six characters of 31 take far more than this to guess.
    DEVICE_CODE_RATE_LIMIT = os.environ.get("DEVICE_CODE_RATE_LIMIT", "10 per minute; 50 per hour")
    # Downloads (PDF, poster, DOCX, XLSX, CSV, JSON) per signed-in person, all formats together:
    # a long map's PDF or DOCX takes seconds of the server's time. Counted before the work.
    EXPORT_RATE_LIMIT = os.environ.get("EXPORT_RATE_LIMIT", "10 per minute; 100 per hour")
    # A calendar feed per link, not per address: Google and Yandex fetch every subscriber's feed from a few.
    CALENDAR_FEED_RATE_LIMIT = os.environ.get("CALENDAR_FEED_RATE_LIMIT", "20 per minute; 300 per hour")

    # Outgoing mail. Without MAIL_SERVER mails are written to the log instead (make run).
    MAIL_SERVER = os.environ.get("MAIL_SERVER")
    MAIL_PORT = int(os.environ.get("MAIL_PORT", "587"))
    MAIL_USE_TLS = _env_flag("MAIL_USE_TLS", True)  # STARTTLS on MAIL_PORT
    MAIL_USE_SSL = _env_flag("MAIL_USE_SSL", False)  # TLS from the first byte (port 465)
    MAIL_USERNAME = os.environ.get("MAIL_USERNAME")
    MAIL_PASSWORD = os.environ.get("MAIL_PASSWORD")
    MAIL_FROM = os.environ.get("MAIL_FROM", "Roadmap <roadmap@localhost>")
    MAIL_TIMEOUT_SECONDS = float(os.environ.get("MAIL_TIMEOUT_SECONDS", "20"))
    # A mail's send is retried after 1, 2, 4 … minutes (at most an hour apart), then given up on.
    MAIL_RETRY_SECONDS = float(os.environ.get("MAIL_RETRY_SECONDS", "60"))
    MAIL_RETRY_MAX_SECONDS = float(os.environ.get("MAIL_RETRY_MAX_SECONDS", "3600"))
    MAIL_MAX_ATTEMPTS = int(os.environ.get("MAIL_MAX_ATTEMPTS", "10"))
    # How long a process that took a mail to send owns it; a crashed sender's mails go out after this.
    MAIL_LEASE_SECONDS = float(os.environ.get("MAIL_LEASE_SECONDS", "300"))
    # Digests and reminders are sent from a loop in the server unless ROADMAP_REMINDERS=off
    # (then run `flask send-reminders` from cron).
    REMINDERS_IN_SERVER = _env_flag("ROADMAP_REMINDERS", True)
    REMINDERS_CHECK_SECONDS = float(os.environ.get("ROADMAP_REMINDERS_CHECK_SECONDS", "60"))
    # A mention left unseen this long is mailed (people in the room see their top bar first).
    MENTION_MAIL_DELAY_SECONDS = float(os.environ.get("MENTION_MAIL_DELAY_SECONDS", "600"))
    # How long a personal sign-in link handed out at a training lets its person in.
    SIGN_IN_LINK_DAYS = int(os.environ.get("SIGN_IN_LINK_DAYS", "90"))
    # Argon2id parameters for new password hashes: a profile of argon2-cffi's argon2.profiles.
    ARGON2_PROFILE = os.environ.get("ARGON2_PROFILE", "RFC_9106_LOW_MEMORY")

    BABEL_DEFAULT_LOCALE = "ru"
    BABEL_DEFAULT_TIMEZONE = "Europe/Moscow"
    LANGUAGES = ("ru", "en")

    MAX_CONTENT_LENGTH = 512 * 1024
    SOCKETIO_MAX_MESSAGE_BYTES = 256 * 1024
    # "gevent" in the server (roadmap.server); "threading" for CLI commands and in-process tests.
    SOCKETIO_ASYNC_MODE = os.environ.get("SOCKETIO_ASYNC_MODE", "threading")
    # Short enough that a dropped phone disappears from presence within ~20 s.
    SOCKETIO_PING_INTERVAL = int(os.environ.get("SOCKETIO_PING_INTERVAL", "10"))
    SOCKETIO_PING_TIMEOUT = int(os.environ.get("SOCKETIO_PING_TIMEOUT", "10"))
    # Each connection may send SOCKET_EVENT_BURST events at once and SOCKET_EVENTS_PER_SECOND
    # after that; more are answered `rate_limited`. A rate of 0 turns the limit off.
    SOCKET_EVENT_BURST = int(os.environ.get("SOCKET_EVENT_BURST", "60"))
    SOCKET_EVENTS_PER_SECOND = float(os.environ.get("SOCKET_EVENTS_PER_SECOND", "20"))
    # Open connections, counted by each server process: per person, and per client address
    # (a venue's shared Wi-Fi: a whole training behind one address, several tabs each).
    SOCKET_CONNECTIONS_PER_PERSON = int(os.environ.get("SOCKET_CONNECTIONS_PER_PERSON", "20"))
    SOCKET_CONNECTIONS_PER_ADDRESS = int(os.environ.get("SOCKET_CONNECTIONS_PER_ADDRESS", "200"))
    CATCH_UP_MAX_OPS = 2000  # beyond this a rejoining client gets a snapshot instead of the ops
    PRESENCE_STALE_SECONDS = 90
    # How often each server process marks its connections as still there.
    PRESENCE_HEARTBEAT_SECONDS = float(os.environ.get("PRESENCE_HEARTBEAT_SECONDS", "20"))
    # Moves the app's clock forward, to try what alumni see weeks after a training (tests, demos).
    CLOCK_OFFSET_DAYS = float(os.environ.get("ROADMAP_CLOCK_OFFSET_DAYS", "0"))
    # The most often a dashboard is updated, however busy the groups.
    DASHBOARD_PUSH_SECONDS = float(os.environ.get("DASHBOARD_PUSH_SECONDS", "1.0"))
    # Exports, an import's parsing and the map at a past revision run in this many worker
    # processes (roadmap/heavy_work.py); 0 runs them inline on the event loop.
    HEAVY_WORK_PROCESSES = int(os.environ.get("HEAVY_WORK_PROCESSES", "2"))
    HEAVY_WORK_QUEUE = int(os.environ.get("HEAVY_WORK_QUEUE", "20"))  # jobs waiting beyond this are refused
    HEAVY_WORK_TIMEOUT_SECONDS = float(os.environ.get("HEAVY_WORK_TIMEOUT_SECONDS", "60"))
    # Files kept by the export cache (one per map, format, language and day; older revisions dropped).
    EXPORT_CACHE_FILES = int(os.environ.get("EXPORT_CACHE_FILES", "500"))
    SQLITE_BUSY_TIMEOUT_MS = 10_000
    # Set by the server (roadmap/server.py), which checkpoints the write-ahead log in a native thread.
    SQLITE_CHECKPOINT_IN_BACKGROUND = False


class TestConfig(Config):
    TESTING = True
    RATELIMIT_STORAGE_URI = "memory://"  # each test app counts on its own
    ARGON2_PROFILE = "CHEAPEST"  # a real Argon2id hash at the lowest cost: tests sign people in by the hundred
    WTF_CSRF_ENABLED = False
    SECRET_KEY = "test-secret-key"
    SQLALCHEMY_DATABASE_URI = _database_url(os.environ.get("TEST_DATABASE_URL"))


class ProductionConfig(Config):
    pass
