-- A category's own photo series size (issue 20): the most photos one series (bộ ảnh) of the
-- category takes; null: the contest's `max_series_photos`. Expand only.
alter table contest_category add column max_series_photos integer
    check (max_series_photos between 1 and 10);
