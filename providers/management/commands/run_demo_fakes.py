import signal
import threading

from django.core.management.base import BaseCommand

from providers import demo


class Command(BaseCommand):
    help = "Serve the fake Anthropic and Bedrock APIs for demo mode until stopped."

    def handle(self, *args, **options):
        from providers.fakes import FakeAnthropic, FakeBedrock

        anthropic = FakeAnthropic(api_keys={demo.ANTHROPIC_KEY}, port=demo.ANTHROPIC_PORT).start()
        bedrock = FakeBedrock(credentials={demo.AWS_ACCESS_KEY_ID: demo.AWS_SECRET_ACCESS_KEY},
                              region=demo.BEDROCK_REGION, port=demo.BEDROCK_PORT).start()
        self.stdout.write(f"Fake Anthropic API on {anthropic.url}, fake Bedrock on {bedrock.url}")
        stopped = threading.Event()
        signal.signal(signal.SIGTERM, lambda *_: stopped.set())
        try:
            stopped.wait()
        except KeyboardInterrupt:
            pass
        finally:
            anthropic.stop()
            bedrock.stop()
