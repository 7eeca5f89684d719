"""Logging filters used by settings.LOGGING."""
import logging


class ForbiddenWithoutTraceback(logging.Filter):
    """Keep the record of a refused request (403), drop its traceback: an expected outcome, not a crash.
    Django logs it on django.request with the PermissionDenied attached; other records pass unchanged."""

    def filter(self, record):
        if getattr(record, "status_code", None) == 403:
            record.exc_info = None
            record.exc_text = None
        return True
