"""Security headers on every response."""

from flask import Flask, Response, request

CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "connect-src 'self'",
        "font-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)
# Nothing here uses these; a script slipped in could not either. The clipboard stays (share.js).
PERMISSIONS_POLICY = ", ".join(
    f"{feature}=()"
    for feature in (
        "camera",
        "microphone",
        "geolocation",
        "payment",
        "usb",
        "serial",
        "bluetooth",
        "hid",
        "midi",
        "magnetometer",
        "gyroscope",
        "accelerometer",
        "display-capture",
        "browsing-topics",
    )
)
STRICT_TRANSPORT_SECURITY = "max-age=31536000"
# Pages that show a secret (a link that signs in or opens a map, a join code, a device code):
# no browser cache, proxy or back button keeps a copy of them.
SHOWS_SECRETS = frozenset(
    {
        "alumni.share",
        "alumni.shared_view",
        "alumni.shared_map",
        "alumni.use_sign_in_link",
        "alumni.secure_account",
        "moderate.training",
        "moderate.group_management",
        "moderate.sign_in_link",
        "moderate.sign_in_sheet",
        "moderate.add_co_moderator",
        "auth.show_device_code",
        "auth.reset_password",
        "moderate.facilitate.projector",
        "moderate.facilitate.projector_screen",
    }
)


def clear_site_data(response: Response) -> Response:
    """Signing out: the browser drops its caches and its storage for this site (the maps'
    copies in localStorage, the service worker and its cached pages); cookies are left to
    the sign-out itself, so the chosen language stays."""
    response.headers["Clear-Site-Data"] = '"cache", "storage"'
    return response


def init_app(app: Flask) -> None:
    @app.after_request
    def add_security_headers(response):
        response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        response.headers.setdefault("Permissions-Policy", PERMISSIONS_POLICY)
        if app.config["SESSION_COOKIE_SECURE"]:
            # Only with SECURE_COOKIES=1, which says the site is served over https.
            response.headers.setdefault("Strict-Transport-Security", STRICT_TRANSPORT_SECURITY)
        if request.endpoint in SHOWS_SECRETS:
            response.headers["Cache-Control"] = "no-store"
        return response
