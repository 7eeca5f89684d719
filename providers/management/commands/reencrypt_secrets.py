from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from providers import crypto
from providers.models import SECRET_FIELDS, ConfigRevision, ProviderConfig


class Command(BaseCommand):
    help = ("Re-encrypt every stored secret (providers and revisions) under the first FIELD_ENCRYPTION_KEY, "
            "so older keys can be removed. See docs/providers/secrets.md.")

    def handle(self, *args, **options):
        unreadable, count = [], 0
        with transaction.atomic():
            for config in ProviderConfig.objects.select_for_update():
                changed = []
                for field in SECRET_FIELDS:
                    token = getattr(config, field)
                    if not token:
                        continue
                    rotated = crypto.rotate(token)
                    if rotated is None:
                        unreadable.append(f"provider {config.name} {field.removesuffix('_encrypted')}")
                        continue
                    setattr(config, field, rotated)
                    changed.append(field)
                    count += 1
                if changed:
                    config.save(update_fields=changed)
            for revision in ConfigRevision.objects.select_for_update():
                touched = False
                for provider in revision.snapshot.get("providers", []):
                    for field in SECRET_FIELDS:
                        if provider.get(field):
                            rotated = crypto.rotate(provider[field])
                            if rotated is None:
                                unreadable.append(f"revision #{revision.pk} {provider.get('name')}")
                                continue
                            provider[field] = rotated
                            touched = True
                            count += 1
                if touched:
                    revision.save(update_fields=["snapshot"])
        for item in unreadable:
            self.stderr.write(f"Cannot decrypt: {item}")
        self.stdout.write(self.style.SUCCESS(f"Re-encrypted {count} secret{'' if count == 1 else 's'} under the first key."))
        if unreadable:
            raise CommandError("Some secrets could not be decrypted with any configured key (listed above); "
                               "keep the old key until they are entered again.")
