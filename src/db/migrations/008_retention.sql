-- Retention (issue #15): an application may keep its events longer or shorter than
-- HOOKLINE_RETENTION_DAYS. NULL: the deployment's default. (A nullable column: no table rewrite.)
ALTER TABLE applications
  ADD COLUMN retention_days integer CHECK (retention_days BETWEEN 1 AND 3650);
