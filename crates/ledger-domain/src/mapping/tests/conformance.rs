//! Request bodies against Sage's published schema.
