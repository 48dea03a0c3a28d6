-- A withdrawal can be undone until results are published: the entry keeps the status it had
-- when its author withdrew it, and "restore" puts it back there.
alter table entry add column withdrawn_from entry_status;
