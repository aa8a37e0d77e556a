"""The explicit provider instances every resource in the estate uses, made in one place.

Default providers are disabled in both stack files (``pulumi:disable-default-providers: ["*"]``), so a
resource that forgets ``provider=`` fails at preview instead of deploying with whatever credentials the
operator's shell happens to hold. Credentials come only from secret config and stay secret outputs.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws
import pulumi_datadog as datadog
import pulumi_digitalocean as digitalocean
import pulumi_fastly as fastly
import pulumi_pagerduty as pagerduty

from stacks.settings import Secret, Settings

# Route 53, CloudFront-style global services, ACM for Fastly-less edges and the KMS keys DNSSEC needs
# must all live in us-east-1; the PSF's buckets are there too.
AWS_GLOBAL_REGION = "us-east-1"


@dataclass(frozen=True)
class Providers:
    """One provider per cloud, passed down to every stack module and component."""

    digitalocean: digitalocean.Provider
    aws: aws.Provider
    fastly: fastly.Provider
    datadog: datadog.Provider
    # Only in a stack that pages on-call: staging has no PagerDuty token and makes no PagerDuty resource.
    pagerduty: pagerduty.Provider | None = None


def _secret(value: Secret) -> pulumi.Output[str]:
    return pulumi.Output.secret(value.value)


def make_providers(settings: Settings) -> Providers:
    """Create the providers from validated settings: four, and PagerDuty's where the stack pages on-call."""
    tags = {"environment": settings.environment.value, "managed-by": "pulumi", "project": "psf-infra"}
    return Providers(
        digitalocean=digitalocean.Provider(
            "digitalocean",
            token=_secret(settings.secrets.digitalocean_token),
            http_retry_max=8,
        ),
        aws=aws.Provider(
            "aws-global",
            region=AWS_GLOBAL_REGION,
            access_key=_secret(settings.secrets.aws_access_key_id),
            secret_key=_secret(settings.secrets.aws_secret_access_key),
            default_tags=aws.ProviderDefaultTagsArgs(tags=tags),
        ),
        fastly=fastly.Provider(
            "fastly",
            api_key=_secret(settings.secrets.fastly_api_key),
        ),
        datadog=datadog.Provider(
            "datadog",
            api_key=_secret(settings.secrets.datadog_api_key),
            app_key=_secret(settings.secrets.datadog_app_key),
            api_url=f"https://api.{settings.datadog_site}/",
            validate="true",
        ),
        pagerduty=(
            pagerduty.Provider("pagerduty", token=_secret(settings.paging.token))
            if settings.paging is not None
            else None
        ),
    )
