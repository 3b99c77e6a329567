"""Tables of the master-data concern: the attributes of EPCIS vocabulary elements (a business
location's name, country, coordinates...), as captured in a document's
`epcisHeader.epcisMasterData.vocabularyList` (EPCIS 2.0 section 7.5, CBV 2.0 master data
attributes). The location hierarchy (`children`) is kept apart, in `location_children`
(schema_events), where the WD_ query parameters read it.

`vocabulary_elements`: one row per (vocabulary type, element), the element under its canonical
key (corridor.epcis.identifiers.canonical) and as last written; `id` follows first-capture
order; `written_by` is the party whose capture first wrote it (NULL: not known, written before
this was recorded or without a party), the owner of an element that is no GS1 key
(corridor.capture.ownership).
`vocabulary_attributes`: the element's attributes, each value as JSON text (a string, a number
or an object, as the document gave it); a later capture of the same attribute replaces it.
"""

from corridor.store.migration import Migration

MIGRATIONS: list[Migration] = [
    Migration(
        "master-data-0001-vocabularies",
        """
CREATE TABLE vocabulary_elements (
  id {ID},
  vtype TEXT NOT NULL,
  element TEXT NOT NULL,
  written TEXT NOT NULL,
  UNIQUE (vtype, element)
);
CREATE TABLE vocabulary_attributes (
  element_id {BIGINT} NOT NULL REFERENCES vocabulary_elements (id),
  attribute TEXT NOT NULL,
  value TEXT NOT NULL,
  PRIMARY KEY (element_id, attribute)
);
""",
    ),
    Migration(
        "master-data-0002-written-by",
        """
ALTER TABLE vocabulary_elements ADD COLUMN written_by {BIGINT} REFERENCES parties (id)
""",
    ),
]
