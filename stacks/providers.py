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
import pulumiverse_gandi as gandi

from stacks.settings import Secret, Settings

# Route 53, CloudFront-style global services, ACM for Fastly-less edges and the KMS keys DNSSEC needs
# must all live in us-east-1; the PSF's buckets are there too.
AWS_GLOBAL_REGION = "us-east-1"


@dataclass(frozen=True)
class Providers:
    """One provider per cloud, passed down to every stack module and component.

    ``gandi`` (the registrar) exists only in a stack that manages a registration (``registrarDomains``): a
    stack that does not has no credentials for it and cannot change anything there.
    """

    digitalocean: digitalocean.Provider
    aws: aws.Provider
    fastly: fastly.Provider
    datadog: datadog.Provider
    # Only in a stack that pages on-call: staging has no PagerDuty token and makes no PagerDuty resource.
    pagerduty: pagerduty.Provider | None = None
    gandi: gandi.Provider | None = None


def _secret(value: Secret) -> pulumi.Output[str]:
    return pulumi.Output.secret(value.value)


def _gandi(settings: Settings) -> gandi.Provider | None:
    token = settings.secrets.gandi_token
    if not settings.registrar_domains or token is None:
        return None
    # A personal access token (the provider's `personal_access_token`; Gandi's API keys are deprecated). The
    # SDK fills the deprecated `key` from GANDI_KEY in the environment when it is not given; the provider then
    # still authenticates with the token, which takes precedence (go-gandi sends "Bearer <token>").
    return gandi.Provider("gandi", personal_access_token=_secret(token))


def make_providers(settings: Settings) -> Providers:
    """Create the providers from validated settings; PagerDuty's and the registrar's only where a stack uses them."""
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
        gandi=_gandi(settings),
    )
