//! judging: rules and queries (filled in by the redesign of issue 16).
