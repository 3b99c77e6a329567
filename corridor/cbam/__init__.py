"""corridor.cbam: an importer's EU CBAM declaration on this node, from the events the
importer may read (corridor.query.imports) and the GreenMetalCredentials the node holds for
the lots (corridor.store.credentials), through the pure model of corridor.emissions.

service (importer_declaration, actual_values: a lot's communicated values from its valid
credential).
"""

from corridor.cbam.service import CredentialCheck, actual_values, importer_declaration, lots

__all__ = ["CredentialCheck", "actual_values", "importer_declaration", "lots"]
