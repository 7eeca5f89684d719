#!/usr/bin/env python
import os
import sys

if __name__ == "__main__":
    from moments_admin import dotenv

    dotenv.load()  # .env at the project root; the real environment wins
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "moments_admin.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)
