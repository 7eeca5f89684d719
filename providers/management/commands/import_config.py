from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from providers.config_yaml import ConfigFileError, import_config, parse_config


class Command(BaseCommand):
    help = "Validate config.yml and replace the provider configuration with it (all or nothing)."

    def add_arguments(self, parser):
        parser.add_argument("file", help="Path to config.yml ('-' reads standard input).")
        parser.add_argument("--check", action="store_true", help="Validate only; change nothing.")

    def handle(self, *args, file, check, **options):
        try:
            text = self.stdin.read() if file == "-" else Path(file).read_bytes()
        except OSError as exc:
            raise CommandError(f"Cannot read {file}: {exc.strerror or exc}.") from None
        try:
            if check:
                parse_config(text)
                self.stdout.write(self.style.SUCCESS(f"{file} is valid; nothing was changed."))
                return
            revision = import_config(text, None, source=f"manage.py import_config {file}"[:100])
        except ConfigFileError as exc:
            for issue in exc.issues:
                self.stderr.write(str(issue))
            raise CommandError(f"{file} was not imported ({len(exc.issues)} problem{'' if len(exc.issues) == 1 else 's'}); nothing changed.") from None
        self.stdout.write(self.style.SUCCESS(f"Imported {file} as revision #{revision.pk}."))
