-- Hisaab schema, migration 001: reference geography, monthly MGNREGA figures, derived
-- state figures, ETL bookkeeping. Applied by `hisaab-etl migrate` inside one transaction
-- under an advisory lock and recorded in schema_migrations; safe to re-run.
--
-- Codes: state_code and district_code are the NREGA MIS codes used by the data.gov.in
-- resource (Madhya Pradesh = 17, Niwari = 1752). LGD codes (lgdirectory.gov.in) are a
-- different numbering and are kept only as a crosswalk.

-- Reference: LGD states and districts with Devanagari names and centroids (loaded by 002).
CREATE TABLE IF NOT EXISTS ref_states (
    lgd_state_code    integer PRIMARY KEY,
    name_en           text NOT NULL,
    name_hi           text,
    nrega_state_code  integer UNIQUE         -- NULL where not known
);

CREATE TABLE IF NOT EXISTS ref_districts (
    lgd_district_code integer PRIMARY KEY,
    lgd_state_code    integer NOT NULL REFERENCES ref_states,
    name_en           text NOT NULL,
    name_hi           text,
    lat               double precision CHECK (lat BETWEEN -90 AND 90),
    lon               double precision CHECK (lon BETWEEN -180 AND 180),
    aliases           text[] NOT NULL DEFAULT '{}'   -- other spellings, lower case
);

-- States and districts as they appear in the MGNREGA data (created by the ETL when new).
CREATE TABLE IF NOT EXISTS states (
    state_code        integer PRIMARY KEY,
    name_en           text NOT NULL,
    name_hi           text,
    lgd_state_code    integer REFERENCES ref_states
);

CREATE TABLE IF NOT EXISTS districts (
    state_code        integer NOT NULL REFERENCES states,
    district_code     integer NOT NULL,
    name_en           text NOT NULL,          -- display form, e.g. 'Niwari'
    name_source       text NOT NULL,          -- trimmed, as the source spells it: 'NIWARI'
    name_hi           text,
    lgd_district_code integer REFERENCES ref_districts,
    lat               double precision,
    lon               double precision,
    aliases           text[] NOT NULL DEFAULT '{}',
    created_at        timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (state_code, district_code)
);
CREATE INDEX IF NOT EXISTS districts_code_idx ON districts (district_code);

-- One row per district, financial year and month: the most complete snapshot seen.
-- Figures are year-to-date (April to `month`) exactly as the source reports them; every
-- numeric field is nullable (NA, empty, garbage and out-of-range percentages are NULL).
-- Column names are the source's field names in lower case (including its typo
-- "gererated"). Money is in Rs lakh.
CREATE TABLE IF NOT EXISTS monthly_figures (
    state_code        integer NOT NULL,
    district_code     integer NOT NULL,
    fin_year          text NOT NULL CHECK (fin_year ~ '^[0-9]{4}-[0-9]{4}$'),
    month             smallint NOT NULL CHECK (month BETWEEN 1 AND 12),   -- calendar month
    fy_month          smallint NOT NULL CHECK (fy_month BETWEEN 1 AND 12), -- April = 1
    approved_labour_budget                                  bigint,
    average_wage_rate_per_day_per_person                    numeric,
    average_days_of_employment_provided_per_household       numeric,
    differently_abled_persons_worked                        bigint,
    material_and_skilled_wages                              numeric,
    number_of_completed_works                               bigint,
    number_of_gps_with_nil_exp                              bigint,
    number_of_ongoing_works                                 bigint,
    persondays_of_central_liability_so_far                  bigint,
    sc_persondays                                           bigint,
    sc_workers_against_active_workers                       bigint,
    st_persondays                                           bigint,
    st_workers_against_active_workers                       bigint,
    total_adm_expenditure                                   numeric,
    total_exp                                               numeric,
    total_households_worked                                 bigint,
    total_individuals_worked                                bigint,
    total_no_of_active_job_cards                            bigint,
    total_no_of_active_workers                              bigint,
    total_no_of_hhs_completed_100_days_of_wage_employment   bigint,
    total_no_of_jobcards_issued                             bigint,
    total_no_of_workers                                     bigint,
    total_no_of_works_takenup                               bigint,
    wages                                                   numeric,
    women_persondays                                        bigint,
    percent_of_category_b_works                             numeric,
    percent_of_expenditure_on_agriculture_allied_works      numeric,
    percent_of_nrm_expenditure                              numeric,
    percentage_payments_gererated_within_15_days            numeric,
    remarks                                                 text,
    -- provenance: which run and which record of its input this snapshot came from
    source_run_id     bigint NOT NULL,
    source_record     integer NOT NULL,       -- 1-based record number within that run's input
    loaded_at         timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (state_code, district_code, fin_year, month),
    FOREIGN KEY (state_code, district_code) REFERENCES districts
);
CREATE INDEX IF NOT EXISTS monthly_figures_fy_idx ON monthly_figures (fin_year, fy_month);

-- Values refused by the cleaning rules (e.g. a percentage above 100), kept for audit.
CREATE TABLE IF NOT EXISTS data_quality_flags (
    state_code        integer NOT NULL,
    district_code     integer NOT NULL,
    fin_year          text NOT NULL,
    month             smallint NOT NULL,
    field             text NOT NULL,
    raw_value         text,
    problem           text NOT NULL,          -- 'out_of_range', ...
    run_id            bigint NOT NULL,
    PRIMARY KEY (state_code, district_code, fin_year, month, field)
);

-- State figures derived from district sums for each (state, year, month). Ratios are
-- computed from sums (days per household = person-days / households; wage rate weighted
-- by person-days), never by averaging district averages. Rebuilt by the ETL after a run
-- that changed data.
CREATE TABLE IF NOT EXISTS state_monthly_figures (
    state_code        integer NOT NULL REFERENCES states,
    fin_year          text NOT NULL,
    month             smallint NOT NULL,
    fy_month          smallint NOT NULL,
    districts_reporting                     integer NOT NULL,
    total_households_worked                 bigint,
    total_individuals_worked                bigint,
    persondays_of_central_liability_so_far  bigint,
    women_persondays                        bigint,
    sc_persondays                           bigint,
    st_persondays                           bigint,
    total_no_of_hhs_completed_100_days_of_wage_employment bigint,
    number_of_completed_works               bigint,
    number_of_ongoing_works                 bigint,
    total_no_of_works_takenup               bigint,
    total_no_of_active_job_cards            bigint,
    total_no_of_active_workers              bigint,
    total_exp                               numeric,
    wages                                   numeric,
    avg_days_per_household                  numeric,   -- persondays / households
    avg_wage_rate                           numeric,   -- weighted by person-days
    payments_within_15_days_pct             numeric,   -- weighted by person-days
    computed_at                             timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (state_code, fin_year, month)
);

-- Monthly increments derived from year-to-date figures: this month minus the previous
-- month of the same financial year (April is itself); NULL when the previous month is
-- not loaded.
CREATE OR REPLACE VIEW monthly_increments AS
SELECT m.state_code, m.district_code, m.fin_year, m.month, m.fy_month,
       CASE WHEN m.fy_month = 1 THEN m.persondays_of_central_liability_so_far
            ELSE m.persondays_of_central_liability_so_far - p.persondays_of_central_liability_so_far
       END AS persondays,
       CASE WHEN m.fy_month = 1 THEN m.women_persondays
            ELSE m.women_persondays - p.women_persondays END AS women_persondays,
       CASE WHEN m.fy_month = 1 THEN m.sc_persondays
            ELSE m.sc_persondays - p.sc_persondays END AS sc_persondays,
       CASE WHEN m.fy_month = 1 THEN m.st_persondays
            ELSE m.st_persondays - p.st_persondays END AS st_persondays,
       CASE WHEN m.fy_month = 1 THEN m.total_households_worked
            ELSE m.total_households_worked - p.total_households_worked END AS households_worked,
       CASE WHEN m.fy_month = 1 THEN m.total_individuals_worked
            ELSE m.total_individuals_worked - p.total_individuals_worked END AS individuals_worked,
       CASE WHEN m.fy_month = 1 THEN m.total_exp
            ELSE m.total_exp - p.total_exp END AS total_exp,
       CASE WHEN m.fy_month = 1 THEN m.wages
            ELSE m.wages - p.wages END AS wages,
       CASE WHEN m.fy_month = 1 THEN m.number_of_completed_works
            ELSE m.number_of_completed_works - p.number_of_completed_works END AS works_completed,
       CASE WHEN m.fy_month = 1 THEN m.total_no_of_hhs_completed_100_days_of_wage_employment
            ELSE m.total_no_of_hhs_completed_100_days_of_wage_employment
                 - p.total_no_of_hhs_completed_100_days_of_wage_employment
       END AS hh_completed_100_days
FROM monthly_figures m
LEFT JOIN monthly_figures p
       ON p.state_code = m.state_code AND p.district_code = m.district_code
      AND p.fin_year = m.fin_year AND p.fy_month = m.fy_month - 1;

-- ETL bookkeeping.
CREATE TABLE IF NOT EXISTS etl_runs (
    id                bigserial PRIMARY KEY,
    started_at        timestamptz NOT NULL DEFAULT now(),
    finished_at       timestamptz,
    status            text NOT NULL DEFAULT 'running'
                      CHECK (status IN ('running', 'ok', 'partial', 'failed')),
    source            text NOT NULL,          -- file path or URL without the API key
    format            text NOT NULL,
    records_read      integer NOT NULL DEFAULT 0,
    records_rejected  integer NOT NULL DEFAULT 0,
    rows_changed      integer NOT NULL DEFAULT 0,  -- monthly_figures rows inserted or updated
    states_ok         text[] NOT NULL DEFAULT '{}',
    states_failed     text[] NOT NULL DEFAULT '{}',
    data_version      bigint,                 -- version published by this run, if any
    error             text
);

CREATE TABLE IF NOT EXISTS etl_fetch_log (
    id                bigserial PRIMARY KEY,
    run_id            bigint NOT NULL REFERENCES etl_runs ON DELETE CASCADE,
    fetched_at        timestamptz NOT NULL DEFAULT now(),
    url               text NOT NULL,          -- never contains the API key
    attempt           integer NOT NULL,
    http_status       integer,                -- NULL when no response (timeout, refused)
    bytes             bigint NOT NULL DEFAULT 0,
    duration_ms       integer NOT NULL DEFAULT 0,
    error             text
);
CREATE INDEX IF NOT EXISTS etl_fetch_log_run_idx ON etl_fetch_log (run_id);

-- The data version: bumped by every ETL run that changed data; servers key their caches
-- on it and refresh when the ETL publishes a new one on Redis.
CREATE TABLE IF NOT EXISTS data_version (
    id                integer PRIMARY KEY DEFAULT 1 CHECK (id = 1),
    version           bigint NOT NULL DEFAULT 0,
    updated_at        timestamptz
);
INSERT INTO data_version (id, version) VALUES (1, 0) ON CONFLICT (id) DO NOTHING;
