"""flask commands: create-moderator, seed-demo, send-reminders."""

import logging

import click
from flask import Flask

from roadmap.services import accounts, reminders


def init_app(app: Flask) -> None:
    @app.cli.command("create-moderator")
    @click.option("--email", prompt=True)
    @click.option("--name", "display_name", prompt="Display name")
    @click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True)
    def create_moderator(email: str, display_name: str, password: str):
        """Create a moderator account."""
        try:
            accounts.create_moderator(email, password, display_name)
        except accounts.AccountError as error:
            raise click.ClickException(error.code.replace("_", " ")) from None
        click.echo(f"Moderator {email} created.")

    @app.cli.command("seed-demo")
    def seed_demo():
        """Create the demo training once; print how to get in."""
        from roadmap import demo

        summary = demo.ensure_demo(app.instance_path)
        click.echo(summary)

    @app.cli.command("send-reminders")
    def send_reminders():
        """Send the weekly digests and day-before reminders owed now, once (for cron; see README)."""
        # Cron keeps what a pass prints: each mail sent (or, without MAIL_SERVER, the mail itself) and each failure.
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
        report = reminders.run_once()
        click.echo(
            f"scheduled {report.scheduled}, sent {report.sent}, skipped {report.skipped}, "
            f"retrying {report.retrying}, failed {report.failed}"
        )
