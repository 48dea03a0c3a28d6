//! Extractors for routes a visitor may see and an organizer may run: filled in by the voting, live and streams areas.
