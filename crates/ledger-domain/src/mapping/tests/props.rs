//! Property tests of the mapping.
