"""The key schema of the stack's one table: every family of items the adapters keep there, named once.

| family          | pk                             | sk                        | adapter                     |
|-----------------|--------------------------------|---------------------------|-----------------------------|
| services        | `SERVICES`                     | service ARN               | service_index.ServiceIndex  |
| history         | `HISTORY#<service ARN>`        | `<since>#<release id>`    | service_index.ServiceIndex  |
| releases        | `REL#<repository>@<digest>`    | `META`                    | release_store.ReleaseStore  |
| public tags     | `PUBLICTAG#<image key>`        | `TAG`                     | public_tags.PublicTagStore  |
| Slack threads   | `THREAD#<thread key>`          | `SLACK`                   | threads.SlackThreads        |
| uncertain posts | `SLACKPOST#<post key>`         | `UNCERTAIN`               | threads.SlackThreads        |
| DNS outbox      | `DNSOUTBOX`                    | reconcile key             | dns_outbox.DnsNoticeOutbox  |
| pending domains | `DNSPENDING`                   | domain name               | pending_domains             |
| idempotency     | `idempotency#<function>`       | `<scope>#<hash of key>`   | idempotency (Powertools)    |

Every item may carry `expires_at` (epoch seconds), the table's TTL attribute. Only the services are also
read through a secondary index (`ByFollowedRepository` on `follows_repository`).
"""

from __future__ import annotations

from typing import Any, NamedTuple

PK = "pk"
SK = "sk"
TTL = "expires_at"

SERVICES = "SERVICES"
DNS_OUTBOX = "DNSOUTBOX"
DNS_PENDING = "DNSPENDING"
BY_FOLLOWED_REPOSITORY = "ByFollowedRepository"


class Key(NamedTuple):
    pk: str
    sk: str

    def item(self) -> dict[str, Any]:
        """As DynamoDB's `Key` parameter (and the key attributes of an item) want it."""
        return {PK: {"S": self.pk}, SK: {"S": self.sk}}


def service(arn: str) -> Key:
    return Key(SERVICES, arn)


def history_partition(arn: str) -> str:
    return f"HISTORY#{arn}"


def history(arn: str, since: str, release_id: str) -> Key:
    return Key(history_partition(arn), f"{since}#{release_id}")


def release(release_id: str) -> Key:
    return Key(f"REL#{release_id}", "META")


def public_tag(image_key: str) -> Key:
    return Key(f"PUBLICTAG#{image_key}", "TAG")


def slack_thread(thread_key: str) -> Key:
    return Key(f"THREAD#{thread_key}", "SLACK")


def uncertain_post(post_key: str) -> Key:
    return Key(f"SLACKPOST#{post_key}", "UNCERTAIN")


def dns_outbox(key: str) -> Key:
    return Key(DNS_OUTBOX, key)


def pending_domain(domain: str) -> Key:
    return Key(DNS_PENDING, domain)
