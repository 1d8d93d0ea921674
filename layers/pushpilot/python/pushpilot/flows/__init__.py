"""Use cases, written once for every deploy target: push, outcome, refresh, public images, DNS, builds,
notify, replay."""
