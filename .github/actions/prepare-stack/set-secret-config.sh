#!/usr/bin/env bash
# Writes the stack's secret config into this runner's copy of Pulumi.<stack>.yaml, encrypted with the
# stack's passphrase. The committed stack files hold no secrets; each value comes from a secret of the job's
# GitHub environment (README: What the repository needs) and reaches pulumi on stdin, never on a command
# line or in the log.
#
# Input: STACK, PULUMI_CONFIG_PASSPHRASE, and one V_<SECRET> variable per line of the table below.
# Every required value is checked before any is written, so a missing secret changes nothing. An optional
# one (third column) is written when its environment has it: only prod pages on-call, reads Fastly metrics
# and may manage registrations, and the program names it in one line if a stack that needs it lacks it.
set -euo pipefail

# config key            variable holding its value (the environment secret's name without V_)
KEYS='
digitaloceanToken       V_DIGITALOCEAN_TOKEN
awsAccessKeyId          V_AWS_ACCESS_KEY_ID
awsSecretAccessKey      V_AWS_SECRET_ACCESS_KEY
fastlyApiKey            V_FASTLY_API_KEY
datadogApiKey           V_DATADOG_API_KEY
datadogAppKey           V_DATADOG_APP_KEY
fastlyOriginToken       V_FASTLY_ORIGIN_TOKEN
fastlyCustomerId        V_FASTLY_CUSTOMER_ID
pagerdutyToken          V_PAGERDUTY_TOKEN           optional
onCallEmails            V_ON_CALL_EMAILS            optional
fastlyReadOnlyApiKey    V_FASTLY_READ_ONLY_API_KEY  optional
gandiToken              V_GANDI_TOKEN               optional
'

missing=""
[ -n "${STACK:-}" ] || missing="$missing (input stack)"
[ -n "${PULUMI_CONFIG_PASSPHRASE:-}" ] || missing="$missing PULUMI_CONFIG_PASSPHRASE"
while read -r key var optional; do
  [ -n "$key" ] || continue
  if [ -z "${!var:-}" ] && [ -z "$optional" ]; then
    missing="$missing ${var#V_}"
  fi
done <<< "$KEYS"
if [ -n "$missing" ]; then
  echo "::error::Missing secrets of this job's GitHub environment:$missing (README: What the repository needs)"
  exit 1
fi

count=0
while read -r key var _; do
  [ -n "$key" ] || continue
  [ -n "${!var:-}" ] || continue
  printf '%s' "${!var}" | pulumi config set --secret --stack "$STACK" "$key"
  count=$((count + 1))
done <<< "$KEYS"
echo "Set $count secret config values of stack $STACK"
