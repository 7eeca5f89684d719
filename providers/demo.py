"""Demo mode: fixed, obviously fake credentials and ports for the offline fake providers."""
import os

ANTHROPIC_PORT = int(os.environ.get("DEMO_ANTHROPIC_PORT", "8101"))
BEDROCK_PORT = int(os.environ.get("DEMO_BEDROCK_PORT", "8102"))
MANTLE_PORT = int(os.environ.get("DEMO_MANTLE_PORT", "8103"))
AWS_PLATFORM_PORT = int(os.environ.get("DEMO_AWS_PLATFORM_PORT", "8104"))
AWS_PLATFORM_WORKSPACE_ID = "wrkspc_demo_not_real_0000"
ANTHROPIC_KEY = "sk-ant-demo-key-not-real-0000"
AWS_ACCESS_KEY_ID = "AKIADEMOFAKEKEY00000"
AWS_SECRET_ACCESS_KEY = "demo-secret-not-real-0000"
BEDROCK_REGION = "us-east-1"


def anthropic_url():
    return f"http://127.0.0.1:{ANTHROPIC_PORT}"


def bedrock_url():
    return f"http://127.0.0.1:{BEDROCK_PORT}"


def mantle_url():
    return f"http://127.0.0.1:{MANTLE_PORT}"


def aws_platform_url():
    return f"http://127.0.0.1:{AWS_PLATFORM_PORT}"
