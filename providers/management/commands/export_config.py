from django.core.management.base import BaseCommand, CommandError

from providers.config_export import config_path, export_config, write_config


class Command(BaseCommand):
    help = "Print the provider configuration as config.yml (env-var references, never secret values)."

    def add_arguments(self, parser):
        parser.add_argument("-o", "--output", help="Write to this file instead of standard output.")
        parser.add_argument("--write", action="store_true",
                            help=f"Write to the configured path (MOMENTS_CONFIG_PATH, now {config_path()}).")

    def handle(self, *args, output=None, write=False, **options):
        if output or write:
            try:
                path = write_config(None, output)
            except OSError as exc:
                raise CommandError(f"Cannot write {output or config_path()}: {exc.strerror or exc}.") from None
            self.stdout.write(self.style.SUCCESS(f"Wrote {path}."))
            return
        self.stdout.write(export_config(), ending="")
