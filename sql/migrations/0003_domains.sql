-- beambell warehouse, version 3: domains and organisations (issue #6). Portable DDL (SQLite, PostgreSQL).
-- Incremental: per landed partition, partial aggregates keyed (partition_key, registered_domain) are
-- replaced as a whole; profiles and organisations are recomputed only for the domains a partition holds.

-- Page evidence of one partition, summed per site (registrable domain, PSL private section included).
CREATE TABLE domain_partials (
    partition_key     TEXT NOT NULL,
    registered_domain TEXT NOT NULL,
    public_suffix     TEXT,
    is_private_suffix INTEGER NOT NULL,
    is_ip             INTEGER NOT NULL,
    n_pages           INTEGER NOT NULL,
    n_predicted       INTEGER NOT NULL,
    n_voted           INTEGER NOT NULL,
    page_mass_json    TEXT NOT NULL,
    pred_counts_json  TEXT NOT NULL,
    lf_votes_json     TEXT NOT NULL,
    mv_counts_json    TEXT NOT NULL,
    hosts_json        TEXT NOT NULL,
    paths_json        TEXT NOT NULL,
    page_task         TEXT NOT NULL,
    computed_at       TIMESTAMP NOT NULL,
    PRIMARY KEY (partition_key, registered_domain)
);
CREATE INDEX ix_domain_partials_domain ON domain_partials (registered_domain);

-- One row per site: its category in the page task's label space, the confidence and the evidence.
CREATE TABLE domain_profiles (
    registered_domain TEXT PRIMARY KEY,
    display_domain    TEXT NOT NULL,
    public_suffix     TEXT,
    is_private_suffix INTEGER NOT NULL,
    is_ip             INTEGER NOT NULL,
    n_pages           INTEGER NOT NULL,
    n_partitions      INTEGER NOT NULL,
    category          TEXT,
    confidence        DOUBLE PRECISION NOT NULL,
    baseline_category TEXT,
    class_mass_json   TEXT NOT NULL,
    evidence_json     TEXT NOT NULL,
    page_task         TEXT NOT NULL,
    first_partition   TEXT,
    last_partition    TEXT,
    updated_partition TEXT NOT NULL,
    updated_at        TIMESTAMP NOT NULL
);
CREATE INDEX ix_domain_profiles_category ON domain_profiles (category);

-- Organisation-name evidence of one partition, per site.
CREATE TABLE org_evidence (
    partition_key     TEXT NOT NULL,
    registered_domain TEXT NOT NULL,
    n_pages           INTEGER NOT NULL,
    n_html_pages      INTEGER NOT NULL,
    candidates_json   TEXT NOT NULL,
    schema_types_json TEXT NOT NULL,
    snippets_json     TEXT NOT NULL,
    computed_at       TIMESTAMP NOT NULL,
    PRIMARY KEY (partition_key, registered_domain)
);
CREATE INDEX ix_org_evidence_domain ON org_evidence (registered_domain);

-- Which organisation runs each site, and why.
CREATE TABLE organisation_domains (
    registered_domain TEXT PRIMARY KEY,
    org_id            TEXT NOT NULL,
    org_name          TEXT NOT NULL,
    normalised_name   TEXT NOT NULL,
    confidence        DOUBLE PRECISION NOT NULL,
    n_pages           INTEGER NOT NULL,
    n_html_pages      INTEGER NOT NULL,
    text_only         INTEGER NOT NULL,
    sources_json      TEXT NOT NULL,
    schema_types_json TEXT NOT NULL,
    snippets_json     TEXT NOT NULL,
    public_suffix     TEXT,
    is_private_suffix INTEGER NOT NULL,
    updated_partition TEXT NOT NULL,
    updated_at        TIMESTAMP NOT NULL
);
CREATE INDEX ix_organisation_domains_org ON organisation_domains (org_id);

-- One row per organisation (id = hash of the normalised name): the sites it owns, the evidence.
CREATE TABLE organisations (
    org_id            TEXT PRIMARY KEY,
    name              TEXT NOT NULL,
    normalised_name   TEXT NOT NULL,
    primary_domain    TEXT NOT NULL,
    n_domains         INTEGER NOT NULL,
    domains_json      TEXT NOT NULL,
    n_pages           INTEGER NOT NULL,
    confidence        DOUBLE PRECISION NOT NULL,
    text_only         INTEGER NOT NULL,
    sources_json      TEXT NOT NULL,
    schema_types_json TEXT NOT NULL,
    evidence_json     TEXT NOT NULL,
    updated_partition TEXT NOT NULL,
    updated_at        TIMESTAMP NOT NULL
);
CREATE INDEX ix_organisations_name ON organisations (normalised_name);

-- Organisations with their latest org-type prediction (task 'org_type', page_id = org_id).
CREATE VIEW organisation_profiles AS
SELECT o.org_id, o.name, o.normalised_name, o.primary_domain, o.n_domains, o.domains_json, o.n_pages,
       o.confidence AS name_confidence, o.text_only, t.label AS org_type, t.probability AS org_type_probability,
       t.model_version AS org_type_model_version
FROM organisations o
LEFT JOIN (
    SELECT page_id, label, probability, model_version,
           ROW_NUMBER() OVER (PARTITION BY page_id ORDER BY partition_key DESC) AS rn
    FROM predictions WHERE task = 'org_type'
) t ON t.page_id = o.org_id AND t.rn = 1;

-- Every site with its category, its organisation and that organisation's type.
CREATE VIEW site_directory AS
SELECT d.registered_domain, d.display_domain, d.category, d.confidence AS category_confidence, d.n_pages,
       od.org_id, op.name AS organisation, op.org_type, op.org_type_probability
FROM domain_profiles d
LEFT JOIN organisation_domains od ON od.registered_domain = d.registered_domain
LEFT JOIN organisation_profiles op ON op.org_id = od.org_id;
