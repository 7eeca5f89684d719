from django.core.management.base import BaseCommand

from providers import crypto, demo
from providers.changes import save_provider, update_routing
from providers.models import ProviderConfig


class Command(BaseCommand):
    help = ("Add demo providers of each kind (Anthropic API, Amazon Bedrock, Claude Platform on AWS) that point at "
            "the fake servers of `run_demo_fakes` (kept if they exist).")

    def handle(self, *args, **options):
        created = []
        if not ProviderConfig.objects.filter(name="demo-anthropic").exists():
            save_provider(ProviderConfig(
                name="demo-anthropic", kind="anthropic", base_url=demo.anthropic_url(),
                # Stored, not an env var: `manage.py call` from any terminal reaches it, not only the launcher's children.
                api_key_env="", api_key_encrypted=crypto.encrypt(demo.ANTHROPIC_KEY),
            ), None, summary="Demo: added demo-anthropic (fake Anthropic API)")
            created.append("demo-anthropic")
        if not ProviderConfig.objects.filter(name="demo-bedrock").exists():
            save_provider(ProviderConfig(
                name="demo-bedrock", kind="bedrock", aws_region=demo.BEDROCK_REGION, auth_mode="static_keys",
                aws_access_key_id=demo.AWS_ACCESS_KEY_ID,
                aws_secret_access_key_encrypted=crypto.encrypt(demo.AWS_SECRET_ACCESS_KEY),
                endpoint_url=demo.bedrock_url(), control_endpoint_url=demo.bedrock_url(),
                sts_endpoint_url=demo.bedrock_url(), mantle_endpoint_url=demo.mantle_url(),
            ), None, summary="Demo: added demo-bedrock (fake Bedrock)")
            created.append("demo-bedrock")
        if not ProviderConfig.objects.filter(name="demo-aws-platform").exists():
            save_provider(ProviderConfig(
                name="demo-aws-platform", kind="aws_platform", aws_region=demo.BEDROCK_REGION,
                workspace_id=demo.AWS_PLATFORM_WORKSPACE_ID, auth_mode="static_keys",
                aws_access_key_id=demo.AWS_ACCESS_KEY_ID, api_key_env="ANTHROPIC_AWS_API_KEY",
                aws_secret_access_key_encrypted=crypto.encrypt(demo.AWS_SECRET_ACCESS_KEY),
                base_url=demo.aws_platform_url(),
            ), None, summary="Demo: added demo-aws-platform (fake Claude Platform on AWS)")
            created.append("demo-aws-platform")
        if created:
            update_routing(None, primary="demo-anthropic", fallbacks=["demo-bedrock", "demo-aws-platform"],
                           auto_fallback=True)
        self.stdout.write(f"Demo providers: {', '.join(created) or 'already present'}")
