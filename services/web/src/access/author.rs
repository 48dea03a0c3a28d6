//! `AuthorOf`: the author of the entry of the route (filled in by the entries redesign).
