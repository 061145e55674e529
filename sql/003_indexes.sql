-- Migration 003: an index for the health probe's "newest loaded_at", which otherwise scans
-- every monthly_figures row on each /api/v1/health request.
CREATE INDEX IF NOT EXISTS monthly_figures_loaded_at_idx ON monthly_figures (loaded_at);
