"""corridor.cbam: an importer's EU CBAM declaration on this node, from the events the
importer may read (corridor.query.imports) and the GreenMetalCredentials the node holds for
the lots (corridor.store.credentials), through the pure model of corridor.emissions.

service (importer_declaration, actual_values: a lot's communicated values from its valid
credential; installation_communication; who may read), communication (an installation's
communication for a period, pure) and outputs (JSON, CSV, HTML, xlsx).
"""

from corridor.cbam.service import (
    CredentialCheck,
    NotAllowed,
    UnknownInstallation,
    actual_values,
    importer_declaration,
    installation_communication,
    lots,
)

__all__ = ["CredentialCheck", "NotAllowed", "UnknownInstallation", "actual_values",
           "importer_declaration", "installation_communication", "lots"]
