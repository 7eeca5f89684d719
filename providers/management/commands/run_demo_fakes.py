import signal
import threading

from django.core.management.base import BaseCommand

from providers import demo


class Command(BaseCommand):
    help = "Serve the fake Anthropic, Bedrock, bedrock-mantle and Claude Platform on AWS APIs for demo mode until stopped."

    def handle(self, *args, **options):
        from providers.fakes import FakeAnthropic, FakeAwsPlatform, FakeBedrock, FakeBedrockMantle

        anthropic = FakeAnthropic(api_keys={demo.ANTHROPIC_KEY}, port=demo.ANTHROPIC_PORT).start()
        bedrock = FakeBedrock(credentials={demo.AWS_ACCESS_KEY_ID: demo.AWS_SECRET_ACCESS_KEY},
                              region=demo.BEDROCK_REGION, port=demo.BEDROCK_PORT).start()
        mantle = FakeBedrockMantle(credentials={demo.AWS_ACCESS_KEY_ID: demo.AWS_SECRET_ACCESS_KEY},
                                   region=demo.BEDROCK_REGION, port=demo.MANTLE_PORT).start()
        platform = FakeAwsPlatform(credentials={demo.AWS_ACCESS_KEY_ID: demo.AWS_SECRET_ACCESS_KEY},
                                   workspace_ids={demo.AWS_PLATFORM_WORKSPACE_ID}, port=demo.AWS_PLATFORM_PORT).start()
        self.stdout.write(f"Fake Anthropic API on {anthropic.url}, fake Bedrock on {bedrock.url}, "
                          f"fake bedrock-mantle on {mantle.url}, fake Claude Platform on AWS on {platform.url}")
        stopped = threading.Event()
        signal.signal(signal.SIGTERM, lambda *_: stopped.set())
        try:
            stopped.wait()
        except KeyboardInterrupt:
            pass
        finally:
            for server in (anthropic, bedrock, mantle, platform):
                server.stop()
