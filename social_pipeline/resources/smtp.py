"""Email over SMTP for failure notifications."""

import os
import smtplib
from email.message import EmailMessage

import dagster as dg
from pydantic import Field


class SmtpResource(dg.ConfigurableResource):
    """Email over SMTP. Notifications are off while `host` is empty."""

    host: str = Field(default="", description="SMTP server; empty disables email")
    port: int = 25
    sender: str = "social-pipeline@localhost"
    recipients: list[str] = Field(default_factory=list)
    username: str | None = None
    password: str | None = None
    use_starttls: bool = False

    @property
    def enabled(self) -> bool:
        return bool(self.host and self.recipients)

    def send(self, subject: str, body: str) -> None:
        message = EmailMessage()
        message["Subject"], message["From"], message["To"] = subject, self.sender, ", ".join(self.recipients)
        message.set_content(body)
        with smtplib.SMTP(self.host, self.port, timeout=10) as client:
            if self.use_starttls:
                client.starttls()
            if self.username and self.password:
                client.login(self.username, self.password)
            client.send_message(message)


def smtp_from_env() -> SmtpResource:
    recipients = [r.strip() for r in os.environ.get("SOCIAL_PIPELINE_SMTP_TO", "").split(",") if r.strip()]
    password = dg.EnvVar("SOCIAL_PIPELINE_SMTP_PASSWORD") if os.environ.get("SOCIAL_PIPELINE_SMTP_PASSWORD") else None
    return SmtpResource(
        host=os.environ.get("SOCIAL_PIPELINE_SMTP_HOST", ""),
        port=int(os.environ.get("SOCIAL_PIPELINE_SMTP_PORT", "25")),
        sender=os.environ.get("SOCIAL_PIPELINE_SMTP_FROM", "social-pipeline@localhost"),
        recipients=recipients,
        username=os.environ.get("SOCIAL_PIPELINE_SMTP_USER") or None,
        password=password,
        use_starttls=os.environ.get("SOCIAL_PIPELINE_SMTP_STARTTLS", "") == "1",
    )
