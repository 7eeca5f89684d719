"""The provider layer: one interface over the Anthropic API and Amazon Bedrock.

Plain Python: no Django imports here, so scripts, tasks, views and the gateway
can all use it.
"""
