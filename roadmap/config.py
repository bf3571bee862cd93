"""Configuration: the defaults (Config and its subclasses) and the one reader of the environment,
`from_environment`, which create_app calls. README's Configuration table lists every variable."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import timedelta

from argon2 import Parameters, profiles
from limits import parse_many


class Config:
    READS_ENVIRONMENT = True
    SECRET_KEY = None  # generated and kept in the instance folder when unset
    SQLALCHEMY_DATABASE_URI = None  # SQLite in the instance folder when unset
    SOCKETIO_MESSAGE_QUEUE = None  # e.g. redis://127.0.0.1:6379/0
    # The processes of one deployment share a channel (and the dashboard feed's Redis keys named
    # after it); another deployment on the same Redis needs its own.
    SOCKETIO_CHANNEL = "flask-socketio"
    PUBLIC_ORIGIN = None  # e.g. https://roadmap.example.org
    INSTANCE_PATH = None  # default: ./instance
    # How many reverse proxies in front set X-Forwarded-For/-Proto/-Host (0: none).
    TRUSTED_PROXIES = 0
    HOST = "127.0.0.1"  # the server sets it to the address it listens on
    # The venue address phones use, when this machine has several networks and the found one is wrong.
    JOIN_HOST = None
    PORT = 5000

    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_SECURE = False
    REMEMBER_COOKIE_DURATION = timedelta(days=60)
    REMEMBER_COOKIE_HTTPONLY = True
    REMEMBER_COOKIE_SAMESITE = "Lax"
    REMEMBER_COOKIE_SECURE = False
    PERMANENT_SESSION_LIFETIME = timedelta(days=60)
    WTF_CSRF_TIME_LIMIT = None  # a form left open all day at a training must still submit

    # Every request that tries a join code, a password or a code from another device counts, success
    # or not, before its work is done (roadmap/views/limits.py). A room behind one venue address
    # fits: 30 people joining at once make at most 90 requests (start page, group page, join).
    RATELIMIT_STORAGE_URI = "memory://"  # REDIS_URL when set
    RATELIMIT_KEY_PREFIX = "roadmap-limits"
    JOIN_RATE_LIMIT = "150 per minute; 600 per hour"
    # New people (identities) a join may create from one address.
    JOIN_SUCCESS_RATE_LIMIT = "40 per minute; 200 per hour"
    # Passwords: sign-in, first-run setup and the current password on /account, counted together.
    SIGN_IN_RATE_LIMIT = "20 per minute; 100 per hour"
    # «Забыли пароль?»: every request counts, per client address and per e-mail address asked about.
    PASSWORD_RESET_RATE_LIMIT = "10 per minute; 30 per hour"
    PASSWORD_RESET_ADDRESS_RATE_LIMIT = "3 per hour"
    # Codes from another device; six characters of 31 take far more than this to guess.
    DEVICE_CODE_RATE_LIMIT = "10 per minute; 50 per hour"
    # Downloads (PDF, poster, DOCX, XLSX, CSV, JSON) per signed-in person, all formats together:
    # a long map's PDF or DOCX takes seconds of the server's time. Counted before the work.
    EXPORT_RATE_LIMIT = "10 per minute; 100 per hour"
    # A calendar feed per link, not per address: Google and Yandex fetch every subscriber's feed from a few.
    CALENDAR_FEED_RATE_LIMIT = "20 per minute; 300 per hour"

    # Outgoing mail. Without MAIL_SERVER mails are written to the log instead (make run).
    MAIL_SERVER = None
    MAIL_PORT = 587
    MAIL_USE_TLS = True  # STARTTLS on MAIL_PORT
    MAIL_USE_SSL = False  # TLS from the first byte (port 465)
    MAIL_USERNAME = None
    MAIL_PASSWORD = None
    MAIL_FROM = "Roadmap <roadmap@localhost>"
    MAIL_TIMEOUT_SECONDS = 20.0
    # A mail's send is retried after 1, 2, 4 … minutes (at most an hour apart), then given up on.
    MAIL_RETRY_SECONDS = 60.0
    MAIL_RETRY_MAX_SECONDS = 3600.0
    MAIL_MAX_ATTEMPTS = 10
    # How long a process that took a mail to send owns it; a crashed sender's mails go out after this.
    MAIL_LEASE_SECONDS = 300.0
    # Digests and reminders are sent from a loop in the server unless ROADMAP_REMINDERS=off
    # (then run `flask send-reminders` from cron).
    REMINDERS_IN_SERVER = True
    REMINDERS_CHECK_SECONDS = 60.0
    # A mention left unseen this long is mailed (people in the room see their top bar first).
    MENTION_MAIL_DELAY_SECONDS = 600.0
    # How long a personal sign-in link handed out at a training lets its person in.
    SIGN_IN_LINK_DAYS = 90
    # Argon2id parameters for new password hashes: a profile of argon2-cffi's argon2.profiles.
    ARGON2_PROFILE = "RFC_9106_LOW_MEMORY"

    BABEL_DEFAULT_LOCALE = "ru"
    BABEL_DEFAULT_TIMEZONE = "Europe/Moscow"
    LANGUAGES = ("ru", "en")

    MAX_CONTENT_LENGTH = 512 * 1024
    SOCKETIO_MAX_MESSAGE_BYTES = 256 * 1024
    # "gevent" in the server (roadmap.server); "threading" for CLI commands and in-process tests.
    SOCKETIO_ASYNC_MODE = "threading"
    # Short enough that a dropped phone disappears from presence within ~20 s.
    SOCKETIO_PING_INTERVAL = 10
    SOCKETIO_PING_TIMEOUT = 10
    # Each connection may send SOCKET_EVENT_BURST events at once and SOCKET_EVENTS_PER_SECOND
    # after that; more are answered `rate_limited`. A rate of 0 turns the limit off.
    SOCKET_EVENT_BURST = 60
    SOCKET_EVENTS_PER_SECOND = 20.0
    # Open connections, counted by each server process: per person, and per client address
    # (a venue's shared Wi-Fi: a whole training behind one address, several tabs each).
    SOCKET_CONNECTIONS_PER_PERSON = 20
    SOCKET_CONNECTIONS_PER_ADDRESS = 200
    CATCH_UP_MAX_OPS = 2000  # beyond this a rejoining client gets a snapshot instead of the ops
    PRESENCE_STALE_SECONDS = 90
    # How often each server process marks its connections as still there.
    PRESENCE_HEARTBEAT_SECONDS = 20.0
    # Added to the real time wherever the app asks for "now" (timeutil.utcnow), to try what
    # alumni see weeks after a training (tests, demos).
    CLOCK_OFFSET = timedelta(0)
    # The most often a dashboard is updated, however busy the groups.
    DASHBOARD_PUSH_SECONDS = 1.0
    # Exports, an import's parsing and the map at a past revision run in this many worker
    # processes (roadmap/heavy_work.py); 0 runs them inline on the event loop.
    HEAVY_WORK_PROCESSES = 2
    HEAVY_WORK_QUEUE = 20  # jobs waiting beyond this are refused
    HEAVY_WORK_TIMEOUT_SECONDS = 60.0
    # Files kept by the export cache (one per map, format, language and day; older revisions dropped).
    EXPORT_CACHE_FILES = 500
    SQLITE_BUSY_TIMEOUT_MS = 10_000
    # Set by the server (roadmap/server.py), which checkpoints the write-ahead log in a native thread.
    SQLITE_CHECKPOINT_IN_BACKGROUND = False


class TestConfig(Config):
    # A test's app is what the test says, whatever the shell running pytest has set
    # (DATABASE_URL there names the server the tests make their own databases on).
    READS_ENVIRONMENT = False
    TESTING = True
    ARGON2_PROFILE = "CHEAPEST"  # a real Argon2id hash at the lowest cost: tests sign people in by the hundred
    WTF_CSRF_ENABLED = False
    SECRET_KEY = "test-secret-key"


class ProductionConfig(Config):
    pass


class SettingError(ValueError):
    """Environment variables whose values cannot be read as their settings' types."""


@dataclass(frozen=True)
class Kind:
    """How a variable's text becomes a setting's value; `expects` says what is wrong when it cannot."""

    expects: str
    read: Callable[[str], object]


def _whole_number(text: str) -> int:
    number = int(text)
    if number < 0:
        raise ValueError(text)
    return number


def _amount(text: str) -> float:
    number = float(text)
    if not 0 <= number < float("inf"):  # also refuses nan
        raise ValueError(text)
    return number


def _flag(text: str) -> bool:
    word = text.strip().lower()
    if word in {"1", "true", "yes", "on"}:
        return True
    if word in {"0", "false", "no", "off"}:
        return False
    raise ValueError(text)


def _database_url(text: str) -> str:
    """postgresql:// URLs use psycopg 3, the driver this project installs."""
    if text.startswith(("postgresql://", "postgres://")):
        return "postgresql+psycopg://" + text.split("://", 1)[1]
    return text


def _argon2_profile(text: str) -> str:
    if not text.isupper() or not isinstance(getattr(profiles, text, None), Parameters):
        raise ValueError(text)
    return text


def _rate_limits(text: str) -> str:
    parse_many(text)  # refused at start, not at the first request it limits
    return text


TEXT = Kind("text", str)
DATABASE_URL = Kind("a database URL", _database_url)
WHOLE_NUMBER = Kind("a whole number, 0 or more", _whole_number)
SECONDS = Kind("a number of seconds, 0 or more", _amount)
RATE = Kind("a number, 0 or more", _amount)
DAYS = Kind("a number of days", lambda text: timedelta(days=float(text)))
FLAG = Kind("on or off (1, true, yes, on or 0, false, no, off)", _flag)
ARGON2_PROFILE = Kind(
    "a profile of argon2.profiles (RFC_9106_LOW_MEMORY, RFC_9106_HIGH_MEMORY, CHEAPEST)", _argon2_profile
)
RATE_LIMITS = Kind("rate limits such as '10 per minute; 100 per hour'", _rate_limits)


@dataclass(frozen=True)
class Setting:
    variable: str
    kind: Kind
    keys: tuple[str, ...] = ()  # the app.config entries it sets; () for the one named as the variable

    @property
    def config_keys(self) -> tuple[str, ...]:
        return self.keys or (self.variable,)


SETTINGS = (
    Setting("DATABASE_URL", DATABASE_URL, ("SQLALCHEMY_DATABASE_URI",)),
    Setting("SECRET_KEY", TEXT),
    Setting("ROADMAP_HOST", TEXT, ("HOST",)),
    Setting("ROADMAP_PORT", WHOLE_NUMBER, ("PORT",)),
    Setting("PUBLIC_ORIGIN", TEXT),
    Setting("ROADMAP_JOIN_HOST", TEXT, ("JOIN_HOST",)),
    Setting("SECURE_COOKIES", FLAG, ("SESSION_COOKIE_SECURE", "REMEMBER_COOKIE_SECURE")),
    Setting("SOCKETIO_MESSAGE_QUEUE", TEXT),
    Setting("SOCKETIO_CHANNEL", TEXT),
    Setting("REDIS_URL", TEXT, ("RATELIMIT_STORAGE_URI",)),
    Setting("RATELIMIT_KEY_PREFIX", TEXT),
    Setting("TRUSTED_PROXIES", WHOLE_NUMBER),
    Setting("JOIN_RATE_LIMIT", RATE_LIMITS),
    Setting("JOIN_SUCCESS_RATE_LIMIT", RATE_LIMITS),
    Setting("SIGN_IN_RATE_LIMIT", RATE_LIMITS),
    Setting("PASSWORD_RESET_RATE_LIMIT", RATE_LIMITS),
    Setting("PASSWORD_RESET_ADDRESS_RATE_LIMIT", RATE_LIMITS),
    Setting("DEVICE_CODE_RATE_LIMIT", RATE_LIMITS),
    Setting("EXPORT_RATE_LIMIT", RATE_LIMITS),
    Setting("CALENDAR_FEED_RATE_LIMIT", RATE_LIMITS),
    Setting("SIGN_IN_LINK_DAYS", WHOLE_NUMBER),
    Setting("ARGON2_PROFILE", ARGON2_PROFILE),
    Setting("SOCKET_EVENT_BURST", WHOLE_NUMBER),
    Setting("SOCKET_EVENTS_PER_SECOND", RATE),
    Setting("SOCKET_CONNECTIONS_PER_PERSON", WHOLE_NUMBER),
    Setting("SOCKET_CONNECTIONS_PER_ADDRESS", WHOLE_NUMBER),
    Setting("SOCKETIO_PING_INTERVAL", WHOLE_NUMBER),
    Setting("SOCKETIO_PING_TIMEOUT", WHOLE_NUMBER),
    Setting("SOCKETIO_ASYNC_MODE", TEXT),
    Setting("PRESENCE_HEARTBEAT_SECONDS", SECONDS),
    Setting("DASHBOARD_PUSH_SECONDS", SECONDS),
    Setting("ROADMAP_INSTANCE_PATH", TEXT, ("INSTANCE_PATH",)),
    Setting("MAIL_SERVER", TEXT),
    Setting("MAIL_PORT", WHOLE_NUMBER),
    Setting("MAIL_USE_TLS", FLAG),
    Setting("MAIL_USE_SSL", FLAG),
    Setting("MAIL_USERNAME", TEXT),
    Setting("MAIL_PASSWORD", TEXT),
    Setting("MAIL_FROM", TEXT),
    Setting("MAIL_TIMEOUT_SECONDS", SECONDS),
    Setting("MAIL_RETRY_SECONDS", SECONDS),
    Setting("MAIL_RETRY_MAX_SECONDS", SECONDS),
    Setting("MAIL_MAX_ATTEMPTS", WHOLE_NUMBER),
    Setting("MAIL_LEASE_SECONDS", SECONDS),
    Setting("ROADMAP_REMINDERS", FLAG, ("REMINDERS_IN_SERVER",)),
    Setting("ROADMAP_REMINDERS_CHECK_SECONDS", SECONDS, ("REMINDERS_CHECK_SECONDS",)),
    Setting("MENTION_MAIL_DELAY_SECONDS", SECONDS),
    Setting("HEAVY_WORK_PROCESSES", WHOLE_NUMBER),
    Setting("HEAVY_WORK_QUEUE", WHOLE_NUMBER),
    Setting("HEAVY_WORK_TIMEOUT_SECONDS", SECONDS),
    Setting("EXPORT_CACHE_FILES", WHOLE_NUMBER),
    Setting("ROADMAP_CLOCK_OFFSET_DAYS", DAYS, ("CLOCK_OFFSET",)),
)


def from_environment(environ: Mapping[str, str]) -> dict:
    """The app.config entries the variables set in `environ` give (an empty one counts as unset),
    each read as its kind. Raises SettingError naming every variable that cannot be read."""
    entries, malformed = {}, []
    for setting in SETTINGS:
        text = environ.get(setting.variable, "")
        if not text:
            continue
        try:
            value = setting.kind.read(text)
        except (ValueError, OverflowError):
            malformed.append(f"{setting.variable}={text!r} should be {setting.kind.expects}")
            continue
        entries.update(dict.fromkeys(setting.config_keys, value))
    if malformed:
        raise SettingError("; ".join(malformed))
    return entries
