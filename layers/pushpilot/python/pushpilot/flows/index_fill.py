"""Fill the service index from every target: at stack creation, by each scheduled refresh, and by a push
that finds the index was never filled (services that ran before the install are otherwise unknown until
the first refresh, and a push in that window would deploy nothing and tell nobody)."""

from __future__ import annotations

from pushpilot.core.targets import TargetService
from pushpilot.flows.deploy_ports import DeployPorts


def discover(ports: DeployPorts) -> list[TargetService]:
    """Describe every service of every target, index each, then mark the index filled.

    The marker is written only once every target was listed: a discovery that failed part-way leaves
    it absent, so the next push (or refresh) discovers again."""
    described = [service for target in ports.targets.values() for service in target.list_services()]
    now = ports.now()
    for found in described:
        ports.index.upsert(found, now=now)
    ports.index.mark_filled(now=now)
    return described
