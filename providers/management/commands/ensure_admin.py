import os
import secrets

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Create a staff superuser if there is no user yet (MOMENTS_ADMIN_USER / MOMENTS_ADMIN_PASSWORD)."

    def handle(self, *args, **options):
        User = get_user_model()
        if User.objects.exists():
            return
        username = os.environ.get("MOMENTS_ADMIN_USER", "admin")
        password = os.environ.get("MOMENTS_ADMIN_PASSWORD")
        generated = not password
        password = password or secrets.token_urlsafe(12)
        User.objects.create_superuser(username, f"{username}@localhost", password)
        if generated:
            # Printed once, here only: it is not stored anywhere in clear text.
            self.stdout.write(self.style.WARNING(f"Created admin user '{username}' with password: {password}"))
        else:
            self.stdout.write(f"Created admin user '{username}' from MOMENTS_ADMIN_PASSWORD.")
