"""Integration events: the only shapes other services and city systems may rely on."""
from shared.contracts.catalogue import CATALOGUE, Catalogue, Contract, ContractError, steps_of
from shared.contracts.envelope import IntegrationEvent, from_cloudevent, to_cloudevent

__all__ = [
    "CATALOGUE",
    "Catalogue",
    "Contract",
    "ContractError",
    "IntegrationEvent",
    "from_cloudevent",
    "steps_of",
    "to_cloudevent",
]
