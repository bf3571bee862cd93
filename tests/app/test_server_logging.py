"""Running the migrations at start-up must not silence the application's loggers."""

import logging

from flask_migrate import upgrade


def test_loggers_stay_enabled_after_migrations_run(app):
    namespace_logger = logging.getLogger("roadmap.realtime.namespace")
    server_logger = logging.getLogger("roadmap.server")
    upgrade()
    assert not namespace_logger.disabled
    assert not server_logger.disabled
