"""Batch tests: a local S3 (moto's server mode, no network), the fakes with their batch APIs, stored providers."""
import importlib

import boto3
import pytest
from django.apps import apps as django_apps

from providers.models import ProviderRouting
from tests.providers import conftest as provider_fixtures
from tests.providers.conftest import make_anthropic, make_bedrock, start_anthropic, start_bedrock
from usage.models import ModelPrice
from usage.pricing import forget_price_book

aws_env = provider_fixtures.aws_env
BUCKET = "moments-batch-test"
ROLE = "arn:aws:iam::123456789012:role/BedrockBatchRole"
# An application inference profile on the Bedrock fake, copying the us. Haiku 4.5 profile.
PROFILE_ARN = "arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/batchhaiku01"


@pytest.fixture(scope="session")
def s3_server():
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    url = f"http://{host}:{port}"
    boto3.client("s3", endpoint_url=url, region_name="us-east-1", aws_access_key_id="testing",
                 aws_secret_access_key="testing").create_bucket(Bucket=BUCKET)
    yield url
    server.stop()


@pytest.fixture(scope="module")
def anthropic_api():
    server = start_anthropic()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def bedrock_api(s3_server):
    server = start_bedrock(s3_endpoint_url=s3_server, application_profiles={
        "batchhaiku01": "us.anthropic.claude-haiku-4-5-20251001-v1:0"})
    yield server
    server.stop()


@pytest.fixture
def prices(db):
    """The published list prices the usage migrations load."""
    if not ModelPrice.objects.exists():
        for module, loader in (("0002_load_published_prices", "load_prices"),
                               ("0005_current_lineup_prices", "load_current_lineup")):
            getattr(importlib.import_module(f"usage.migrations.{module}"), loader)(django_apps, None)
    forget_price_book()
    yield
    forget_price_book()


@pytest.fixture
def direct_usage(settings):
    settings.USAGE_WRITE_BUFFER = False  # usage rows written at once, readable by the test


@pytest.fixture
def anthropic_active(db, aws_env, anthropic_api, prices, direct_usage):
    anthropic_api.reset()
    make_anthropic(server=anthropic_api)
    ProviderRouting.objects.create(pk=1, primary="anthropic", fallbacks=[])
    return anthropic_api


@pytest.fixture
def bedrock_active(db, aws_env, bedrock_api, s3_server, prices, direct_usage):
    bedrock_api.reset()
    make_bedrock(server=bedrock_api, batch_s3_bucket=BUCKET, batch_s3_prefix="jobs", batch_role_arn=ROLE,
                 s3_endpoint_url=s3_server)
    ProviderRouting.objects.create(pk=1, primary="bedrock", fallbacks=[])
    return bedrock_api


def request_line(custom_id, text, model="claude-haiku-4-5-20251001", **params):
    return {"custom_id": custom_id, "params": {"model": model, "max_tokens": 2000,
                                               "messages": [{"role": "user", "content": text}], **params}}
